//! HTTP/1.x (RFC 9112).
//!
//! Each direction is a sequence of messages: a head (`httparse` checks it and finds its end),
//! then a body delimited as the head says — `Content-Length` bytes, chunks, or the end of the
//! connection. The parser frames heads whole and hands bodies over piece by piece as they
//! arrive, de-chunked, so a body is never buffered here however large it is; what is kept of
//! it, and its decompression, is the caller's business within the caller's limits.
//!
//! Responses answer requests in order. The parser remembers the kind of each request still
//! awaiting its response (a bounded ring), since a response to `HEAD` has no body whatever its
//! headers say, and a 2xx to `CONNECT` (or a 101) turns the connection into a tunnel. A tunnel
//! opened by `CONNECT` whose first client bytes are a request again is HTTP again, from a
//! fresh start, as Suricata detects the protocol anew there.
//!
//! Where Suricata's HTTP library reads more leniently than the RFC, as browsers do, so does
//! the parser: a request line without a protocol keeps its header fields, a 204 or 304 that
//! announces a body has it, and a line after a response body that starts no response is more
//! of that body. Each leniency is reported (an oddity of the head, a [`BodyNote`]).
//!
//! * [`head`]: request and response heads, their header fields and framing;
//! * [`multipart`]: the parts of a `multipart/form-data` body, files among them;
//! * [`uri`]: the normalized request target that `http.uri` inspects.

mod error;
pub mod head;
pub mod multipart;
pub mod tx;
pub mod uri;

pub use error::{Error, HeadError};
pub use head::{ContentRange, Framing, Headers, Oddities, RequestHead, ResponseHead};
pub use tx::{Field, Message, Progress, Transaction};

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered HTTP port.
pub const PORT: u16 = 80;

/// The largest head (start line and header fields) accepted.
pub const MAX_HEAD: usize = 64 * 1024;

/// Header fields read per head; a head with more is not trusted.
const MAX_FIELDS: usize = 256;

/// The longest chunk-size line (with its extensions).
const MAX_CHUNK_LINE: usize = 1024;

/// Requests remembered while they await their response.
const PENDING: usize = 32;

/// The methods a request probe recognises.
const METHODS: [&[u8]; 19] = [
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"TRACE",
    b"CONNECT",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"SUBSCRIBE",
];

/// Probe the first payload of a direction: a known method and a space to the server, `HTTP/`
/// to the client.
pub fn probe(dir: Direction, bytes: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => {
            let word_end = bytes.iter().position(|&c| c == b' ' || c == b'\t');
            let word = &bytes[..word_end.unwrap_or(bytes.len())];
            match word_end {
                Some(_) if METHODS.contains(&word) => Probe::Match,
                None if word.len() < 10 && METHODS.iter().any(|m| m.starts_with(word)) => {
                    Probe::NeedMore
                }
                _ => Probe::NoMatch,
            }
        }
        Direction::ToClient => {
            let n = bytes.len().min(5);
            if bytes[..n] != b"HTTP/"[..n] {
                Probe::NoMatch
            } else if n < 5 {
                Probe::NeedMore
            } else {
                Probe::Match
            }
        }
    }
}

/// What the parser found at the front of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    Request(RequestHead<'a>),
    Response(ResponseHead<'a>),
    /// A piece of the current message's body, de-chunked (possibly empty: chunk framing);
    /// `end` when it completes the body; `note` when something about it is odd.
    Body {
        data: &'a [u8],
        end: bool,
        note: Option<BodyNote>,
    },
    /// Bytes of a tunnel (after `CONNECT` or a protocol switch): not HTTP.
    Tunnel(&'a [u8]),
}

impl<'a> Pdu<'a> {
    fn body(data: &'a [u8], end: bool) -> Self {
        Pdu::Body {
            data,
            end,
            note: None,
        }
    }
}

/// What is odd about a piece of body, reported as an anomaly while the body is still read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyNote {
    /// The chunk-size line before this data carries an extension (`4;name=value`).
    ChunkExtension,
    /// A line after a response's body that starts no response: more of the body, to
    /// Suricata as to browsers.
    Unexpected,
}

impl BodyNote {
    /// The anomaly's name, in a request's body or (`response`) a response's.
    pub fn name(self, response: bool) -> &'static str {
        match (self, response) {
            (BodyNote::ChunkExtension, false) => "http.request_chunk_extension",
            (BodyNote::ChunkExtension, true) => "http.response_chunk_extension",
            (BodyNote::Unexpected, _) => "http.response_body_unexpected",
        }
    }
}

/// Where a direction stands between messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Side {
    #[default]
    Head,
    /// This many body bytes remain.
    Length(u64),
    ChunkSize,
    /// This many bytes of the current chunk remain.
    ChunkData(u64),
    /// The line end after a chunk's data.
    ChunkEnd,
    /// The trailer section after the last chunk.
    Trailer,
    UntilClose,
    /// The client's side of a tunnel `CONNECT` opened, before its first byte: a request
    /// there starts HTTP anew.
    TunnelStart,
    Tunnel,
}

/// The kind of a request awaiting its response: what the response's framing depends on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Asked {
    #[default]
    Other,
    Head,
    Connect,
}

/// Frames both directions of an HTTP/1.x connection.
#[derive(Clone, Debug, Default)]
pub struct HttpParser {
    sides: [Side; 2],
    asked: [Asked; PENDING],
    first: usize,
    waiting: usize,
    /// The next request head is the first inside a `CONNECT` tunnel.
    restarted: bool,
    /// A gap took the rest of a direction's body: its end is reported before what follows.
    gap_ended: [bool; 2],
}

impl HttpParser {
    fn ask(&mut self, a: Asked) {
        if self.waiting == PENDING {
            // The oldest is forgotten: its response, if it ever comes, is read as `Other`.
            self.first = (self.first + 1) % PENDING;
            self.waiting -= 1;
        }
        self.asked[(self.first + self.waiting) % PENDING] = a;
        self.waiting += 1;
    }

    /// The request the next response answers; consumed unless the response is interim.
    fn answered(&mut self, consume: bool) -> Asked {
        if self.waiting == 0 {
            return Asked::Other;
        }
        let a = self.asked[self.first];
        if consume {
            self.first = (self.first + 1) % PENDING;
            self.waiting -= 1;
        }
        a
    }

    fn request<'a>(&mut self, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut req = httparse::Request::new(&mut fields);
        let mut config = httparse::ParserConfig::default();
        config
            .allow_multiple_spaces_in_request_line_delimiters(true)
            .ignore_invalid_headers_in_requests(true);
        let len = match config.parse_request(&mut req, buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return incomplete(buf),
            Err(e @ (httparse::Error::Version | httparse::Error::Token)) => {
                return self.request_without_version(buf, e)
            }
            Err(e) => return Parsed::Invalid(Error::from(e)),
        };
        let (Some(method), Some(uri), Some(minor)) = (req.method, req.path, req.version) else {
            return incomplete(buf);
        };
        let raw = &buf[leading_blank_lines(buf)..len];
        let protocol = protocol(head::first_line(raw));
        let parts = (
            sub(buf, method.as_bytes()),
            sub(buf, uri.as_bytes()),
            protocol,
        );
        self.request_head(len, raw, parts, minor > 1)
    }

    /// A request head of `len` bytes, `raw` without the blank lines before it, with its
    /// method, target and protocol: the body it announces is what this direction reads next,
    /// and its method is remembered for the response's framing.
    fn request_head<'a>(
        &mut self,
        len: usize,
        raw: &'a [u8],
        (method, uri, protocol): (&'a [u8], &'a [u8], &'a [u8]),
        odd_version: bool,
    ) -> Parsed<Pdu<'a>, Error> {
        let mut oddities = Oddities::default();
        if odd_version {
            oddities.set(Oddities::VERSION);
        }
        if protocol.is_empty() {
            oddities.set(Oddities::MISSING_PROTOCOL);
        }
        if head::auth_unrecognized(Headers::after_start_line(raw)) {
            oddities.set(Oddities::AUTH_UNRECOGNIZED);
        }
        let framing = head::framing(Headers::after_start_line(raw), &mut oddities, true);
        self.ask(match method {
            b"HEAD" => Asked::Head,
            b"CONNECT" => Asked::Connect,
            _ => Asked::Other,
        });
        self.sides[0] = body_side(framing);
        Parsed::Pdu {
            pdu: Pdu::Request(RequestHead {
                raw,
                method,
                uri,
                protocol,
                framing,
                oddities,
                after_tunnel: core::mem::take(&mut self.restarted),
            }),
            len,
        }
    }

    /// `METHOD URI` and header fields, without `HTTP/1.x`: read as HTTP/1.0 is, as servers
    /// (and Suricata) do, rather than lost. A field line without a colon is skipped, as in
    /// any request.
    /// `e` is what httparse found wrong, the error if this is not such a request either.
    fn request_without_version<'a>(
        &mut self,
        buf: &'a [u8],
        e: httparse::Error,
    ) -> Parsed<Pdu<'a>, Error> {
        let start = leading_blank_lines(buf);
        let Some(nl) = buf[start..].iter().position(|&c| c == b'\n') else {
            return incomplete(buf);
        };
        let line = head::first_line(&buf[start..]);
        let mut words = line.split(|&c| c == b' ').filter(|w| !w.is_empty());
        let (Some(method), Some(uri), None) = (words.next(), words.next(), words.next()) else {
            return Parsed::Invalid(Error::from(e));
        };
        if !method.iter().all(u8::is_ascii_alphabetic) {
            return Parsed::Invalid(Error::from(e));
        }
        let fields_at = start + nl + 1;
        let fields = &buf[fields_at..];
        let end = match fields {
            [b'\r', b'\n', ..] => Some(2),
            [b'\n', ..] => Some(1),
            [] | [b'\r'] => None,
            _ => find_blank_line(fields),
        };
        let Some(end) = end else {
            return incomplete(buf);
        };
        let len = fields_at + end;
        self.request_head(len, &buf[start..len], (method, uri, &[]), false)
    }

    fn response<'a>(&mut self, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut res = httparse::Response::new(&mut fields);
        let mut config = httparse::ParserConfig::default();
        config
            .allow_spaces_after_header_name_in_responses(true)
            .allow_obsolete_multiline_headers_in_responses(true)
            .allow_multiple_spaces_in_response_status_delimiters(true)
            .ignore_invalid_headers_in_responses(true);
        let len = match config.parse_response(&mut res, buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return incomplete(buf),
            Err(e) => return Parsed::Invalid(Error::from(e)),
        };
        let (Some(status), Some(_)) = (res.code, res.version) else {
            return incomplete(buf);
        };
        let start = leading_blank_lines(buf);
        let raw = &buf[start..len];
        let line = head::first_line(raw);
        let mut oddities = Oddities::default();
        // HTTP/1.0 has no chunked coding: a 1.0 response that claims it is read as clients
        // read it, by its length or to the end of the connection.
        let chunked = res.version != Some(0);
        let announced = head::framing(Headers::after_start_line(raw), &mut oddities, chunked);
        let interim = head::is_interim(status);
        let asked = self.answered(!interim);
        let connected = asked == Asked::Connect && (200..300).contains(&status);
        let tunnel = status == 101 || connected;
        let bodiless = status == 204 || status == 304;
        let announces = has_length(raw, chunked);
        if bodiless && announces && asked != Asked::Head {
            oddities.set(Oddities::BODY_UNEXPECTED);
        }
        let framing = if interim || tunnel || asked == Asked::Head || (bodiless && !announces) {
            Framing::None
        } else if announced == Framing::None && !announces {
            Framing::UntilClose
        } else {
            announced
        };
        self.sides[1] = body_side(framing);
        if tunnel {
            self.sides = [Side::Tunnel; 2];
        }
        if connected {
            self.sides[0] = Side::TunnelStart;
        }
        let reason = res.reason.map_or(&b""[..], |r| sub(buf, r.as_bytes()));
        let head = ResponseHead {
            raw,
            protocol: protocol(line),
            status,
            status_text: status_text(line),
            reason,
            framing,
            oddities,
        };
        Parsed::Pdu {
            pdu: Pdu::Response(head),
            len,
        }
    }

    /// The end of a body: its last `n` bytes after `framing` bytes (a trailer) at the front of
    /// `buf`. After a response's body, a line already here that does not start a response
    /// (`\r\n`, junk) is read as more of that body, as Suricata reads it; what starts `HTTP`,
    /// or a line not here yet, is left for the next head.
    fn body_end<'a>(
        &self,
        dir: Direction,
        buf: &'a [u8],
        (framing, n): (usize, usize),
    ) -> Parsed<Pdu<'a>, Error> {
        let end = framing + n;
        let rest = &buf[end..];
        let more = match rest.iter().position(|&c| c == b'\n') {
            // A bare line end is judged with what follows it, any other line on its own.
            Some(0) if starts_response(rest) => 0,
            Some(nl) if dir == Direction::ToClient && !starts_response(&rest[..=nl]) => nl + 1,
            _ => 0,
        };
        Parsed::Pdu {
            pdu: Pdu::Body {
                data: &buf[framing..end + more],
                end: true,
                note: (more > 0).then_some(BodyNote::Unexpected),
            },
            len: end + more,
        }
    }

    fn chunk_size<'a>(&mut self, i: usize, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let Some(nl) = buf.iter().take(MAX_CHUNK_LINE).position(|&c| c == b'\n') else {
            return if buf.len() >= MAX_CHUNK_LINE {
                Parsed::Invalid(Error::ChunkLine)
            } else {
                Parsed::Incomplete { needed: 1 }
            };
        };
        // White space around the size, even vertical tabs and form feeds, and blank lines
        // before it are skipped, as browsers skip them.
        let line = trim_space(&buf[..nl]);
        if line.is_empty() {
            return Parsed::Pdu {
                pdu: Pdu::body(&[], false),
                len: nl + 1,
            };
        }
        // What follows the hex digits is ignored, extensions or not, as browsers ignore it:
        // `f;ext`, `fx` and `f,` are all chunks of 15 bytes to the client, so to us too. An
        // extension is noted, as Suricata notes it.
        let digits = line.iter().take_while(|c| c.is_ascii_hexdigit()).count();
        if digits == 0 || digits > 15 {
            return Parsed::Invalid(Error::ChunkSize);
        }
        let note = line[digits..]
            .contains(&b';')
            .then_some(BodyNote::ChunkExtension);
        let size = line[..digits].iter().fold(0u64, |n, &c| {
            n << 4 | u64::from(char::from(c).to_digit(16).unwrap_or(0))
        });
        let at = nl + 1;
        if size == 0 {
            self.sides[i] = Side::Trailer;
            return Parsed::Pdu {
                pdu: Pdu::Body {
                    data: &[],
                    end: false,
                    note,
                },
                len: at,
            };
        }
        self.sides[i] = Side::ChunkData(size);
        let (data, len) = self.chunk_data(i, &buf[at..]);
        Parsed::Pdu {
            pdu: Pdu::Body {
                data,
                end: false,
                note,
            },
            len: at + len,
        }
    }

    /// As much of the current chunk as `buf` holds, and its line end if that is there too.
    fn chunk_data<'a>(&mut self, i: usize, buf: &'a [u8]) -> (&'a [u8], usize) {
        let Side::ChunkData(left) = self.sides[i] else {
            return (&[], 0);
        };
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
        let left = left - n as u64;
        let mut len = n;
        self.sides[i] = if left > 0 {
            Side::ChunkData(left)
        } else {
            match &buf[n..] {
                [b'\r', b'\n', ..] => {
                    len += 2;
                    Side::ChunkSize
                }
                [b'\n', ..] => {
                    len += 1;
                    Side::ChunkSize
                }
                _ => Side::ChunkEnd,
            }
        };
        (&buf[..n], len)
    }
}

/// Bytes `s` borrowed from `buf`, found again by their place (httparse hands out `&str`s into
/// `buf`).
fn sub<'a>(buf: &'a [u8], s: &[u8]) -> &'a [u8] {
    head::range_in(buf, s).map_or(&[], |r| &buf[r])
}

fn leading_blank_lines(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&c| c != b'\r' && c != b'\n')
        .unwrap_or(buf.len())
}

/// The `HTTP/1.x` of a request line (last word) or status line (first word).
fn protocol(line: &[u8]) -> &[u8] {
    let words = || line.split(|&c| c == b' ').filter(|w| !w.is_empty());
    if line.starts_with(b"HTTP/") {
        words().next().unwrap_or_default()
    } else {
        words().next_back().unwrap_or_default()
    }
}

fn status_text(line: &[u8]) -> &[u8] {
    line.split(|&c| c == b' ')
        .filter(|w| !w.is_empty())
        .nth(1)
        .unwrap_or_default()
}

/// Whether a head announces its body's length (so `Framing::None` means an empty body, not one
/// delimited by the connection's end).
fn has_length(raw: &[u8], chunked_allowed: bool) -> bool {
    Headers::after_start_line(raw).any(|(n, _)| {
        n.eq_ignore_ascii_case(b"content-length")
            || (chunked_allowed && n.eq_ignore_ascii_case(b"transfer-encoding"))
    })
}

fn body_side(framing: Framing) -> Side {
    match framing {
        Framing::None => Side::Head,
        Framing::Length(n) => Side::Length(n),
        Framing::Chunked => Side::ChunkSize,
        Framing::UntilClose => Side::UntilClose,
    }
}

fn incomplete<P>(buf: &[u8]) -> Parsed<P, Error> {
    if buf.len() >= MAX_HEAD {
        Parsed::Invalid(Error::HeadTooLong)
    } else {
        // Ask for all there is: the head is re-read once per segment, not once per byte.
        Parsed::Incomplete {
            needed: MAX_HEAD - buf.len(),
        }
    }
}

impl StreamParser for HttpParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Http;
    const MAX_PDU: usize = MAX_HEAD;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let i = dir.index();
        if std::mem::take(&mut self.gap_ended[i]) {
            return Parsed::Pdu {
                pdu: Pdu::body(&[], true),
                len: 0,
            };
        }
        match self.sides[i] {
            Side::Head => match dir {
                Direction::ToServer => self.request(buf),
                Direction::ToClient => self.response(buf),
            },
            Side::Length(left) => {
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                let left = left - n as u64;
                if left > 0 {
                    self.sides[i] = Side::Length(left);
                    return Parsed::Pdu {
                        pdu: Pdu::body(&buf[..n], false),
                        len: n,
                    };
                }
                self.sides[i] = Side::Head;
                self.body_end(dir, buf, (0, n))
            }
            Side::ChunkSize => self.chunk_size(i, buf),
            Side::ChunkData(_) => {
                let (data, len) = self.chunk_data(i, buf);
                Parsed::Pdu {
                    pdu: Pdu::body(data, false),
                    len,
                }
            }
            Side::ChunkEnd => {
                let len = match buf {
                    [b'\r', b'\n', ..] => 2,
                    [b'\n', ..] => 1,
                    [b'\r'] | [] => return Parsed::Incomplete { needed: 1 },
                    _ => return Parsed::Invalid(Error::ChunkFraming),
                };
                self.sides[i] = Side::ChunkSize;
                Parsed::Pdu {
                    pdu: Pdu::body(&[], false),
                    len,
                }
            }
            Side::Trailer => {
                let len = match buf {
                    [b'\r', b'\n', ..] => 2,
                    [b'\n', ..] => 1,
                    _ => match find_blank_line(buf) {
                        Some(end) => end,
                        None if buf.len() >= MAX_HEAD => {
                            return Parsed::Invalid(Error::HeadTooLong)
                        }
                        None => return incomplete(buf),
                    },
                };
                self.sides[i] = Side::Head;
                self.body_end(dir, buf, (len, 0))
            }
            Side::UntilClose => Parsed::Pdu {
                pdu: Pdu::body(buf, false),
                len: buf.len(),
            },
            Side::TunnelStart => match probe(dir, buf) {
                Probe::Match => {
                    // HTTP inside the tunnel: a new session, nothing carried over.
                    *self = HttpParser {
                        restarted: true,
                        ..HttpParser::default()
                    };
                    self.request(buf)
                }
                Probe::NeedMore => Parsed::Incomplete { needed: 1 },
                Probe::NoMatch => {
                    self.sides[i] = Side::Tunnel;
                    Parsed::Pdu {
                        pdu: Pdu::Tunnel(buf),
                        len: buf.len(),
                    }
                }
            },
            Side::Tunnel => Parsed::Pdu {
                pdu: Pdu::Tunnel(buf),
                len: buf.len(),
            },
        }
    }

    /// Inside a body whose length is known (a `Content-Length`, a chunk's size) or that runs
    /// to the connection's end, a hole of `len` bytes is body lost: the framing holds, and a
    /// hole that takes the rest of the body ends it before the next message is read.
    fn gap(&mut self, dir: Direction, len: u64) -> Option<u64> {
        let i = dir.index();
        match self.sides[i] {
            Side::Length(n) if len < n => self.sides[i] = Side::Length(n - len),
            // A hole past the body's end took what lay between messages too (a stray line end
            // after the body): the next message is read from the hole's end, and a head that
            // does not start there loses the framing then. Only the body's part was body.
            Side::Length(n) => {
                self.sides[i] = Side::Head;
                self.gap_ended[i] = true;
                return Some(n);
            }
            Side::ChunkData(n) if len < n => self.sides[i] = Side::ChunkData(n - len),
            Side::UntilClose => {}
            _ => return None,
        }
        Some(len)
    }

    fn end_of_stream(&self, dir: Direction) -> &'static [u8] {
        match self.sides[dir.index()] {
            // What came of the head is read as if it had ended: a line cut short is dropped as
            // an invalid field.
            Side::Head => b"\r\n\r\n",
            _ => &[],
        }
    }

    fn resync(&mut self, dir: Direction, buf: &[u8]) -> bool {
        // Whatever the direction was in the middle of is lost; a new message may start here.
        self.sides[dir.index()] = Side::Head;
        probe(dir, buf) != Probe::NoMatch
    }
}

/// Whether `line` starts as a status line does to a browser: white space, then `http` in any
/// case (Firefox's test, and Suricata's).
fn starts_response(line: &[u8]) -> bool {
    let space = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c | 0);
    let word = &line[line.iter().position(|c| !space(c)).unwrap_or(line.len())..];
    word.len() >= 4 && word[..4].eq_ignore_ascii_case(b"http")
}

/// `s` without leading and trailing ASCII white space (`\v` and `\f` included).
fn trim_space(s: &[u8]) -> &[u8] {
    let space = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c);
    let start = s.iter().position(|c| !space(c)).unwrap_or(s.len());
    let end = s.iter().rposition(|c| !space(c)).map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// The end of the first blank line (`\r\n\r\n` or `\n\n`) in `buf`.
fn find_blank_line(buf: &[u8]) -> Option<usize> {
    buf.windows(2).enumerate().find_map(|(i, w)| match w {
        b"\n\n" => Some(i + 2),
        b"\n\r" if buf.get(i + 2) == Some(&b'\n') => Some(i + 3),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
