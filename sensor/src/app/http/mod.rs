//! HTTP in the sensor: requests and responses paired into transactions, inspected by the
//! signatures as they progress — request head, request body, response head, response body —
//! and logged as one `http` event each when the response is complete or the flow ends, with a
//! `fileinfo` event for a response that carried a body (its metadata: nothing is extracted).
//!
//! Bodies are kept up to Suricata's default limits, response bodies decompressed (`gzip`,
//! `deflate`) as they arrive, within the same limit: `file.data` sees what the user would. The
//! transactions of a flow are capped; a client that sends more requests than are answered
//! loses the oldest, with an anomaly.

mod eve;

use std::collections::VecDeque;
use std::io::Write;

use decoders::http::{Field, Framing, HttpParser, Pdu, Progress, Transaction};
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

/// The response body's content coding.
enum Inflate {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Zlib(flate2::write::ZlibDecoder<Vec<u8>>),
    Raw(flate2::write::DeflateDecoder<Vec<u8>>),
    /// Not compressed, or the compressed data turned out bad: kept as it came.
    Identity,
    /// Decompression failed part way: nothing more is kept.
    Failed,
}

/// Per-flow HTTP state.
#[derive(Default)]
pub struct State {
    open: VecDeque<Open>,
    /// Transactions done with, their buffers kept for the next ones.
    spare: Vec<Transaction>,
    next_id: u64,
    /// The current response body's decoder, boxed: a decompressor is large and most flows
    /// never need one.
    inflate: Option<Box<Inflate>>,
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
    if o.tx.has_response && o.tx.response.body_seen > 0 {
        let file = eve::FileBody {
            tx_id: o.tx.id,
            http: body.http,
            fileinfo: eve::Fileinfo::new(&o.tx),
        };
        ctx.event(EventType::Fileinfo, &file);
    }
    state.spare.push(o.tx);
}

fn coding(tx: &Transaction) -> Inflate {
    let Some(enc) = tx.response.field(Field::ContentEncoding) else {
        return Inflate::Identity;
    };
    let last = enc.rsplit(|&c| c == b',').next().unwrap_or_default();
    let last = decoders::http::head::trim(last);
    if last.eq_ignore_ascii_case(b"gzip") || last.eq_ignore_ascii_case(b"x-gzip") {
        Inflate::Gzip(flate2::write::GzDecoder::new(Vec::new()))
    } else if last.eq_ignore_ascii_case(b"deflate") {
        Inflate::Zlib(flate2::write::ZlibDecoder::new(Vec::new()))
    } else {
        Inflate::Identity
    }
}

/// Add a piece of the response body to `o`, decompressing it as its coding says, within the
/// limit.
fn response_body(inflate: &mut Inflate, o: &mut Open, data: &[u8]) {
    let body = &mut o.tx.response;
    for step in data.chunks(INFLATE_STEP) {
        let out: std::io::Result<&mut Vec<u8>> = match inflate {
            // `add_body` keeps what fits and counts all of it.
            Inflate::Identity => {
                body.add_body(data, RESPONSE_BODY_LIMIT);
                return;
            }
            Inflate::Failed => return,
            // The limit is reached: nothing more is decompressed.
            _ if body.body().len() >= RESPONSE_BODY_LIMIT => {
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
                    *inflate = Inflate::Raw(flate2::write::DeflateDecoder::new(Vec::new()));
                    return response_body(inflate, o, data);
                }
                Err(e) => Err(e),
            },
            Inflate::Raw(d) => d
                .write_all(step)
                .and_then(|_| d.flush())
                .map(|_| d.get_mut()),
        };
        match out {
            Ok(plain) => {
                body.add_body(plain, RESPONSE_BODY_LIMIT);
                plain.clear();
            }
            Err(_) => {
                *inflate = Inflate::Failed;
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
                for name in head.oddities.names() {
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
                }
                state.open.push_back(o);
            }
            Pdu::Body { data, end } if dir == Direction::ToServer => {
                let Some(o) = state.receiving_request() else {
                    return;
                };
                o.tx.request.add_body(data, REQUEST_BODY_LIMIT);
                if end {
                    o.request_done = true;
                    o.tx.request.complete = true;
                    inspect(ctx, o, Progress::RequestBody);
                }
            }
            Pdu::Response(head) => {
                for name in head.oddities.names() {
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
                o.responding = head.framing != Framing::None;
                inspect(ctx, o, Progress::ResponseHead);
                if o.responding {
                    state.inflate = Some(Box::new(coding(&o.tx)));
                } else if let Some(o) = state.open.pop_front() {
                    finish(state, ctx, o);
                }
            }
            Pdu::Body { data, end } => {
                let Some(o) = state.open.front_mut().filter(|o| o.responding) else {
                    return;
                };
                let inflate = state
                    .inflate
                    .get_or_insert_with(|| Box::new(Inflate::Identity));
                o.wire_length += data.len() as u64;
                response_body(inflate, o, data);
                if end {
                    o.tx.response.complete = true;
                    o.responding = false;
                    state.inflate = None;
                    if let Some(o) = state.open.pop_front() {
                        finish(state, ctx, o);
                    }
                }
            }
            Pdu::Tunnel(_) => {}
        }
    }

    fn close(state: &mut State, ctx: &mut AppCtx<'_>) {
        state.inflate = None;
        while let Some(o) = state.open.pop_front() {
            finish(state, ctx, o);
        }
    }

    /// Bytes were lost: a body being received ends where the gap begins.
    fn gap(state: &mut State, dir: Direction) {
        match dir {
            Direction::ToServer => {
                if let Some(o) = state.receiving_request() {
                    o.tx.request.body_truncated = true;
                }
            }
            Direction::ToClient => {
                if let Some(o) = state.open.front_mut().filter(|o| o.responding) {
                    o.tx.response.body_truncated = true;
                }
                state.inflate = Some(Box::new(Inflate::Failed));
            }
        }
    }

    fn state_heap_bytes(state: &State) -> usize {
        state
            .open
            .iter()
            .map(|o| o.tx.heap_bytes())
            .chain(state.spare.iter().map(Transaction::heap_bytes))
            .sum()
    }
}
