//! HTTP in the sensor: requests and responses paired into transactions, inspected by the
//! signatures as they progress — request head, request body, response head, response body —
//! and logged as one `http` event each when the response is complete or the flow ends, with a
//! `fileinfo` event for a response that carried a body (its metadata: nothing is extracted).
//!
//! Bodies are kept up to Suricata's default limits, decompressed (`gzip`, `deflate`, `br`) as they
//! arrive, within the same limit: `http.request_body` and `file.data` see what the server and
//! the user would. The transactions of a flow are capped; a client that sends more requests
//! than are answered loses the oldest, with an anomaly.
//!
//! A request's `multipart/form-data` body is read for the files it uploads, each a `fileinfo`
//! event of its own.
//!
//! Responses that carry parts of one file (`206` with `Content-Range`) are followed as
//! Suricata follows them, within the flow: when the parts cover the whole, a `fileinfo` event
//! for the whole file follows the last part's.

mod eve;

use std::collections::VecDeque;
use std::io::Write;

use decoders::http::{multipart, Field, Framing, HttpParser, Message, Pdu, Progress, Transaction};
use decoders::{AppProto, Direction};
use icsight_eve::EventType;

use super::{AppCtx, Logged};

/// Request bytes kept for `http.request_body` (Suricata's `request-body-limit`).
pub const REQUEST_BODY_LIMIT: usize = 100 * 1024;
/// Response bytes kept for `file.data` (Suricata's `response-body-limit`).
pub const RESPONSE_BODY_LIMIT: usize = 100 * 1024;
/// Transactions a flow may have open; beyond, the oldest is closed unanswered.
pub const MAX_OPEN: usize = 32;
/// Compressed bytes fed to the decompressor at once: what one step can expand is bounded by
/// this times deflate's ratio, whatever the body.
const INFLATE_STEP: usize = 256;
/// Separate pieces of a file followed at once; a file sent in more scattered parts is given up.
const MAX_PIECES: usize = 64;

/// One transaction and how far it has come.
struct Open {
    tx: Transaction,
    /// The request body is complete (or will never be).
    request_done: bool,
    /// The response body is being received.
    responding: bool,
    /// Response body bytes as they came, before decompression.
    wire_length: u64,
}

/// A coded body's decoder, and how many coded bytes it was fed.
struct Coding {
    inflate: Inflate,
    fed: u64,
}

/// A body's content coding.
enum Inflate {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    Raw(flate2::write::DeflateDecoder<Vec<u8>>),
    /// Brotli can expand a few bytes into megabytes: its output goes through a writer that
    /// refuses more than the body's room.
    Brotli(Box<brotli_decompressor::DecompressorWriter<Capped>>),
    /// The body said it was coded but its first bytes are not: kept as it came, as Suricata
    /// keeps it.
    Plain,
    /// Decompression failed part way: nothing more is kept.
    Failed,
}

/// A decompressor's output, refused past `room` bytes: the write fails there, so the
/// decompressor stops rather than expanding what would be thrown away.
#[derive(Default)]
struct Capped {
    out: Vec<u8>,
    room: usize,
    full: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let take = buf.len().min(self.room.saturating_sub(self.out.len()));
        self.out.extend_from_slice(&buf[..take]);
        if take == 0 && !buf.is_empty() {
            self.full = true;
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The parts of one file that responses of the flow carried (Suricata's range container).
struct Pieces {
    /// The file: the request's host, then its target.
    key: Vec<u8>,
    size: u64,
    /// Byte ranges received, `[start, end)`, merged and in order.
    have: Vec<(u64, u64)>,
}

impl Pieces {
    /// Add `[start, end)`; whether the whole file is now there.
    fn add(&mut self, start: u64, end: u64) -> bool {
        let at = self.have.partition_point(|r| r.1 < start);
        let mut merged = (start, end);
        while let Some(&r) = self.have.get(at).filter(|r| r.0 <= merged.1) {
            merged = (merged.0.min(r.0), merged.1.max(r.1));
            self.have.remove(at);
        }
        self.have.insert(at, merged);
        self.have == [(0, self.size)]
    }
}

/// Per-flow HTTP state.
#[derive(Default)]
pub struct State {
    open: VecDeque<Open>,
    /// Transactions done with, their buffers kept for the next ones.
    spare: Vec<Transaction>,
    next_id: u64,
    /// The current request body's and response body's decoders, when they are coded; boxed: a
    /// decompressor is large and most bodies never need one.
    inflate: [Option<Box<Coding>>; 2],
    /// The file whose parts responses are carrying.
    pieces: Option<Box<Pieces>>,
    /// A `CONNECT` was answered 2xx: the connection is a tunnel from here.
    connected: bool,
    /// The tunnel's first bytes are not HTTP: this many bytes at the end of the last chunk
    /// start another protocol, for detection to find ([`Logged::handover`]).
    handover: Option<usize>,
}

impl State {
    fn begin(&mut self) -> Transaction {
        self.spare.pop().unwrap_or_default()
    }

    /// The transaction whose request is still arriving.
    fn receiving_request(&mut self) -> Option<&mut Open> {
        self.open.back_mut().filter(|o| !o.request_done)
    }

    /// The oldest transaction without its response yet.
    fn awaiting_response(&mut self) -> Option<usize> {
        self.open
            .iter()
            .position(|o| !o.tx.has_response || o.responding)
    }

    /// Count `tx`'s response toward the file it is a part of; the whole file's size when this
    /// part completes it.
    fn add_piece(&mut self, tx: &Transaction) -> Option<u64> {
        let (start, end, size) = eve::part_of(tx)?;
        let size = size?;
        let res = &tx.response;
        let whole = res.complete && !res.body_truncated && res.body_seen == end - start + 1;
        if !whole || (start == 0 && end + 1 == size) {
            return None;
        }
        let host = tx.request.field(Field::Host).unwrap_or_default();
        let same = |p: &Pieces| {
            p.size == size && p.key.len() == host.len() + tx.raw_uri().len() && {
                let (h, u) = p.key.split_at(host.len());
                h == host && u == tx.raw_uri()
            }
        };
        if !self.pieces.as_deref().is_some_and(same) {
            let key = [host, tx.raw_uri()].concat();
            self.pieces = Some(Box::new(Pieces {
                key,
                size,
                have: Vec::new(),
            }));
        }
        let pieces = self.pieces.as_deref_mut()?;
        if pieces.have.len() >= MAX_PIECES {
            self.pieces = None;
            return None;
        }
        if pieces.add(start, end + 1) {
            self.pieces = None;
            return Some(size);
        }
        None
    }
}

/// Inspect `o` at `progress`, seen going the way that point of the transaction goes.
fn inspect(ctx: &mut AppCtx<'_>, o: &Open, progress: Progress) {
    let dir = if progress.in_response() {
        Direction::ToClient
    } else {
        Direction::ToServer
    };
    let body = eve::Body {
        tx_id: o.tx.id,
        http: eve::Http::new(&o.tx, o.wire_length),
    };
    ctx.inspect(
        dir,
        decoders::Tx::Http {
            tx: &o.tx,
            progress,
        },
        &body,
    );
}

/// The transaction is over: inspect what it never reached, log it, recycle it.
fn finish(state: &mut State, ctx: &mut AppCtx<'_>, mut o: Open) {
    if !o.request_done {
        o.request_done = true;
        inspect(ctx, &o, Progress::RequestBody);
    }
    if o.tx.has_response {
        inspect(ctx, &o, Progress::ResponseBody);
    }
    let body = eve::Body {
        tx_id: o.tx.id,
        http: eve::Http::new(&o.tx, o.wire_length),
    };
    ctx.event(EventType::Http, &body);
    uploads(ctx, &o);
    if o.tx.has_response && o.tx.response.body_seen > 0 {
        let file = eve::FileBody {
            tx_id: o.tx.id,
            http: body.http,
            fileinfo: eve::response_file(&o.tx),
        };
        ctx.event(EventType::Fileinfo, &file);
        if let Some(size) = state.add_piece(&o.tx) {
            let whole = eve::FileBody {
                tx_id: o.tx.id,
                http: eve::Http::new(&o.tx, o.wire_length),
                fileinfo: eve::whole_file(&o.tx, size),
            };
            ctx.event(EventType::Fileinfo, &whole);
        }
    }
    state.spare.push(o.tx);
}

/// A `fileinfo` event for each file `o`'s request uploads in a `multipart/form-data` body,
/// as far as the body is kept (Suricata too reads the parts from its kept body).
fn uploads(ctx: &mut AppCtx<'_>, o: &Open) {
    let req = &o.tx.request;
    let Some(boundary) = req.field(Field::ContentType).and_then(multipart::boundary) else {
        return;
    };
    for part in multipart::Parts::new(req.body(), boundary) {
        let Some(name) = part
            .headers
            .clone()
            .get("content-disposition")
            .and_then(eve::disposition_filename)
        else {
            continue;
        };
        let file = eve::FileBody {
            tx_id: o.tx.id,
            http: eve::Http::new(&o.tx, o.wire_length),
            fileinfo: eve::Fileinfo::new(name, part.data.len() as u64, part.complete, o.tx.id),
        };
        ctx.event(EventType::Fileinfo, &file);
    }
}

/// The decoder for a body coded as `msg`'s `Content-Encoding` says; `None` for a body sent
/// as it is.
fn coding(msg: &Message) -> Option<Box<Coding>> {
    let enc = msg.field(Field::ContentEncoding)?;
    let last = enc.rsplit(|&c| c == b',').next().unwrap_or_default();
    let last = decoders::http::head::trim(last);
    let inflate = if last.eq_ignore_ascii_case(b"gzip") || last.eq_ignore_ascii_case(b"x-gzip") {
        Inflate::Gzip(flate2::write::GzDecoder::new(Vec::new()))
    } else if last.eq_ignore_ascii_case(b"deflate") {
        Inflate::Zlib(flate2::write::ZlibDecoder::new(Vec::new()))
    } else if last.eq_ignore_ascii_case(b"br") {
        Inflate::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
            Capped::default(),
            INFLATE_STEP,
        )))
    } else {
        return None;
    };
    Some(Box::new(Coding { inflate, fed: 0 }))
}

/// Add a piece of a body to `body`, decompressing it as its coding says, within `limit`.
fn add_body(coding: Option<&mut Coding>, body: &mut Message, data: &[u8], limit: usize) {
    // `add_body` keeps what fits and counts all of it.
    let Some(c) = coding else {
        body.add_body(data, limit);
        return;
    };
    // Whether this is the body's first piece: a body that fails to decode from its first
    // bytes on was never coded.
    let first = c.fed == 0;
    c.fed += data.len() as u64;
    for step in data.chunks(INFLATE_STEP) {
        let out: std::io::Result<&mut Vec<u8>> = match &mut c.inflate {
            Inflate::Plain => {
                body.add_body(data, limit);
                return;
            }
            Inflate::Failed => return,
            // The limit is reached: nothing more is decompressed.
            _ if body.body().len() >= limit => {
                body.body_truncated = true;
                return;
            }
            Inflate::Gzip(d) => d
                .write_all(step)
                .and_then(|_| d.flush())
                .map(|_| d.get_mut()),
            Inflate::Zlib(d) => match d.write_all(step).and_then(|_| d.flush()) {
                Ok(()) => Ok(d.get_mut()),
                Err(_) if body.body_seen == 0 && d.total_in() <= step.len() as u64 => {
                    // `deflate` sent raw, without the zlib wrapper: common enough to allow.
                    c.inflate = Inflate::Raw(flate2::write::DeflateDecoder::new(Vec::new()));
                    c.fed = 0;
                    return add_body(Some(c), body, data, limit);
                }
                Err(e) => Err(e),
            },
            Inflate::Raw(d) => d
                .write_all(step)
                .and_then(|_| d.flush())
                .map(|_| d.get_mut()),
            Inflate::Brotli(d) => {
                d.get_mut().room = limit.saturating_sub(body.body().len());
                let r = d.write_all(step).and_then(|_| d.flush());
                let out = d.get_mut();
                if out.full {
                    // The body's room is full: keep what fit, decompress no more.
                    body.add_body(&out.out, limit);
                    body.body_truncated = true;
                    c.inflate = Inflate::Failed;
                    return;
                }
                r.map(|_| &mut out.out)
            }
        };
        match out {
            Ok(plain) => {
                body.add_body(plain, limit);
                plain.clear();
            }
            Err(_) if first && body.body_seen == 0 => {
                c.inflate = Inflate::Plain;
                body.add_body(data, limit);
                return;
            }
            Err(_) => {
                c.inflate = Inflate::Failed;
                return;
            }
        }
    }
}

impl Logged for HttpParser {
    type State = State;

    fn log(state: &mut State, ctx: &mut AppCtx<'_>, dir: Direction, pdu: Pdu<'_>) {
        match pdu {
            Pdu::Request(head) => {
                if head.after_tunnel {
                    // HTTP again inside a CONNECT tunnel: a new session, as Suricata starts
                    // one, its transactions counted from 0.
                    state.inflate = Default::default();
                    while let Some(o) = state.open.pop_front() {
                        finish(state, ctx, o);
                    }
                    state.next_id = 0;
                }
                for name in head.oddities.names(false) {
                    ctx.app_anomaly(AppProto::Http, dir, name, &name);
                }
                // A request arrives while the one before is still sending its body: that body
                // is over.
                if let Some(o) = state.receiving_request() {
                    o.request_done = true;
                    inspect(ctx, o, Progress::RequestBody);
                }
                if state.open.len() >= MAX_OPEN {
                    let msg = "too many requests without a response";
                    ctx.app_anomaly(AppProto::Http, dir, "http.too_many_transactions", &msg);
                    if let Some(o) = state.open.pop_front() {
                        finish(state, ctx, o);
                    }
                }
                let mut tx = state.begin();
                tx.set_request(state.next_id, &head);
                state.next_id += 1;
                let o = Open {
                    tx,
                    request_done: head.framing == Framing::None,
                    responding: false,
                    wire_length: 0,
                };
                inspect(ctx, &o, Progress::RequestHead);
                if o.request_done {
                    inspect(ctx, &o, Progress::RequestBody);
                } else {
                    state.inflate[0] = coding(&o.tx.request);
                }
                state.open.push_back(o);
            }
            Pdu::Body { data, end, note } if dir == Direction::ToServer => {
                if let Some(n) = note {
                    let name = n.name(false);
                    ctx.app_anomaly(AppProto::Http, dir, name, &name);
                }
                let Some(o) = state.open.back_mut().filter(|o| !o.request_done) else {
                    return;
                };
                add_body(
                    state.inflate[0].as_deref_mut(),
                    &mut o.tx.request,
                    data,
                    ctx.out.limits.http_request_body,
                );
                if end {
                    o.request_done = true;
                    o.tx.request.complete = true;
                    state.inflate[0] = None;
                    inspect(ctx, o, Progress::RequestBody);
                }
            }
            Pdu::Response(head) => {
                for name in head.oddities.names(true) {
                    ctx.app_anomaly(AppProto::Http, dir, name, &name);
                }
                if head.is_interim() {
                    return;
                }
                let i = match state.awaiting_response() {
                    Some(i) => i,
                    None => {
                        let msg = "a response without a request";
                        ctx.app_anomaly(AppProto::Http, dir, "http.unsolicited_response", &msg);
                        let mut tx = state.begin();
                        tx.set_request(state.next_id, &decoders::http::RequestHead::EMPTY);
                        state.next_id += 1;
                        state.open.push_back(Open {
                            tx,
                            request_done: true,
                            responding: false,
                            wire_length: 0,
                        });
                        state.open.len() - 1
                    }
                };
                // Transactions before it were never answered: they are over.
                for _ in 0..i {
                    if let Some(o) = state.open.pop_front() {
                        finish(state, ctx, o);
                    }
                }
                let Some(o) = state.open.front_mut() else {
                    return;
                };
                o.tx.set_response(&head);
                if o.tx.method() == b"CONNECT" && (200..300).contains(&o.tx.status) {
                    state.connected = true;
                }
                o.responding = head.framing != Framing::None;
                inspect(ctx, o, Progress::ResponseHead);
                if o.responding {
                    state.inflate[1] = coding(&o.tx.response);
                } else if let Some(o) = state.open.pop_front() {
                    finish(state, ctx, o);
                }
            }
            Pdu::Body { data, end, note } => {
                if let Some(n) = note {
                    let name = n.name(true);
                    ctx.app_anomaly(AppProto::Http, dir, name, &name);
                }
                let Some(o) = state.open.front_mut().filter(|o| o.responding) else {
                    return;
                };
                o.wire_length += data.len() as u64;
                add_body(
                    state.inflate[1].as_deref_mut(),
                    &mut o.tx.response,
                    data,
                    ctx.out.limits.http_response_body,
                );
                if end {
                    o.tx.response.complete = true;
                    o.responding = false;
                    state.inflate[1] = None;
                    if let Some(o) = state.open.pop_front() {
                        finish(state, ctx, o);
                    }
                }
            }
            // What a CONNECT tunnel carries, if not HTTP, is another protocol's, detected
            // anew as Suricata does (the flow's `app_proto_orig` then says `http`); what a
            // protocol switch (101) carries is only counted.
            Pdu::Tunnel(bytes) if std::mem::take(&mut state.connected) => {
                state.handover = Some(bytes.len());
            }
            Pdu::Tunnel(_) => {}
        }
    }

    fn handover(state: &State) -> Option<usize> {
        state.handover
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        state.inflate = Default::default();
        while let Some(o) = state.open.pop_front() {
            finish(state, ctx, o);
        }
    }

    /// Bytes were lost: a body being received has a hole (its file has gaps, and counts the
    /// bytes lost); what follows a hole in a compressed body cannot be decompressed.
    fn gap(state: &mut State, dir: Direction, len: u64) {
        let message = match dir {
            Direction::ToServer => state.receiving_request().map(|o| &mut o.tx.request),
            Direction::ToClient => state
                .open
                .front_mut()
                .filter(|o| o.responding)
                .map(|o| &mut o.tx.response),
        };
        if let Some(m) = message {
            m.body_truncated = true;
            m.gaps = true;
            m.body_seen += len;
        }
        // What follows the gap cannot be decompressed without what the gap took; a body sent
        // as it is goes on being kept.
        let coding = &mut state.inflate[dir.index()];
        if coding
            .as_ref()
            .is_some_and(|c| !matches!(c.inflate, Inflate::Plain))
        {
            *coding = Some(Box::new(Coding {
                inflate: Inflate::Failed,
                fed: 1,
            }));
        }
    }

    fn state_heap_bytes(state: &State) -> usize {
        state
            .open
            .iter()
            .map(|o| o.tx.heap_bytes())
            .chain(state.spare.iter().map(Transaction::heap_bytes))
            .sum::<usize>()
            + state
                .pieces
                .as_deref()
                .map_or(0, |p| p.key.capacity() + p.have.capacity() * 16)
    }
}

#[cfg(test)]
mod tests;
