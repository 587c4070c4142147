//! An HTTP transaction as signatures inspect it: a request and, once it has come, its response.
//!
//! A transaction outlives the segments it came in, so unlike the other views of this crate it
//! holds copies: each head once, the normalized URI, and the bodies as far as the caller's
//! limits let them be kept. Everything a rule's buffer reads is a slice of these — the header
//! fields rules name most are found once, when the head is stored — and the buffers are
//! reused from one transaction to the next.

use core::ops::Range;

use super::head::{first_line, Headers};
use super::{uri, RequestHead, ResponseHead};

/// The header fields rules read by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Host,
    UserAgent,
    /// `Cookie` in a request, `Set-Cookie` in a response.
    Cookie,
    ContentType,
    ContentLength,
    ContentEncoding,
    Referer,
    Accept,
    AcceptEncoding,
    AcceptLanguage,
    Connection,
    Location,
    Server,
    XForwardedFor,
    ContentDisposition,
    /// The part of the whole a response carries (`bytes 500-1000/146515`).
    ContentRange,
}

const FIELDS: [(Field, &str); 16] = [
    (Field::Host, "host"),
    (Field::UserAgent, "user-agent"),
    (Field::Cookie, "cookie"),
    (Field::ContentType, "content-type"),
    (Field::ContentLength, "content-length"),
    (Field::ContentEncoding, "content-encoding"),
    (Field::Referer, "referer"),
    (Field::Accept, "accept"),
    (Field::AcceptEncoding, "accept-encoding"),
    (Field::AcceptLanguage, "accept-language"),
    (Field::Connection, "connection"),
    (Field::Location, "location"),
    (Field::Server, "server"),
    (Field::XForwardedFor, "x-forwarded-for"),
    (Field::ContentDisposition, "content-disposition"),
    (Field::ContentRange, "content-range"),
];

/// One side of a transaction: a head and what is kept of its body, one after the other in one
/// buffer — what the payload keywords of an HTTP rule read.
#[derive(Clone, Debug, Default)]
pub struct Message {
    /// The head as sent, start line to blank line, then the body as kept: de-chunked,
    /// decompressed, up to the caller's limit.
    wire: Vec<u8>,
    head_len: usize,
    /// `Name: value\r\n` for every field but cookies (`http.header`).
    pub header: Vec<u8>,
    /// `\r\nName\r\nName…\r\n\r\n` (`http.header_names`).
    pub names: Vec<u8>,
    /// Body bytes that arrived (after de-chunking), kept or not.
    pub body_seen: u64,
    /// The body was longer than what is kept, or has a hole.
    pub body_truncated: bool,
    /// Part of the body was lost to a gap in the capture (counted in `body_seen`).
    pub gaps: bool,
    /// The whole body has arrived.
    pub complete: bool,
    /// Start-line parts: request method, target, protocol; or response protocol, status, reason.
    parts: [Range<u32>; 3],
    fields: [Option<Range<u32>>; FIELDS.len()],
}

impl Message {
    /// Reset for a new head (`raw`), keeping the buffers' memory; `parts` are slices of `raw`.
    fn set_head(&mut self, raw: &[u8], parts: [&[u8]; 3], response: bool) {
        self.wire.clear();
        self.wire.extend_from_slice(raw);
        self.head_len = raw.len();
        self.header.clear();
        self.names.clear();
        self.body_seen = 0;
        self.body_truncated = false;
        self.gaps = false;
        self.complete = false;
        self.parts = parts.map(|p| range_in(raw, p));
        self.fields = Default::default();
        self.names.extend_from_slice(b"\r\n");
        for (name, value) in Headers::after_start_line(raw) {
            self.names.extend_from_slice(name);
            self.names.extend_from_slice(b"\r\n");
            let field = FIELDS.iter().position(|(_, n)| {
                let n = if response && *n == "cookie" {
                    "set-cookie"
                } else {
                    n
                };
                name.eq_ignore_ascii_case(n.as_bytes())
            });
            if let Some(i) = field {
                if self.fields[i].is_none() {
                    self.fields[i] = Some(range_in(raw, value));
                }
                if FIELDS[i].0 == Field::Cookie {
                    continue;
                }
            }
            self.header.extend_from_slice(name);
            self.header.extend_from_slice(b": ");
            self.header.extend_from_slice(value);
            self.header.extend_from_slice(b"\r\n");
        }
        self.names.extend_from_slice(b"\r\n");
    }

    /// The head as sent, start line to blank line (`http.start`).
    pub fn head(&self) -> &[u8] {
        &self.wire[..self.head_len]
    }

    /// The body as kept (`file.data`).
    pub fn body(&self) -> &[u8] {
        &self.wire[self.head_len..]
    }

    /// The head and the body as kept.
    pub fn wire(&self) -> &[u8] {
        &self.wire
    }

    fn part(&self, i: usize) -> &[u8] {
        let r = &self.parts[i];
        self.head()
            .get(r.start as usize..r.end as usize)
            .unwrap_or_default()
    }

    /// A header field's value, if the head has it.
    pub fn field(&self, f: Field) -> Option<&[u8]> {
        let i = FIELDS.iter().position(|(g, _)| *g == f)?;
        let r = self.fields[i].as_ref()?;
        self.head().get(r.start as usize..r.end as usize)
    }

    /// The start line, without its line end.
    pub fn line(&self) -> &[u8] {
        first_line(self.head())
    }

    /// The header block as sent: the head after its start line (`http.header.raw`).
    pub fn raw_header(&self) -> &[u8] {
        let head = self.head();
        let line = self.line().len();
        let start = head[line..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(head.len(), |i| line + i + 1);
        &head[start..]
    }

    /// Keep `data` of the body, up to `limit` bytes in all.
    pub fn add_body(&mut self, data: &[u8], limit: usize) {
        self.body_seen += data.len() as u64;
        let room = limit.saturating_sub(self.body().len());
        if data.len() > room {
            self.body_truncated = true;
        }
        self.wire.extend_from_slice(&data[..data.len().min(room)]);
    }

    pub fn heap_bytes(&self) -> usize {
        self.wire.capacity() + self.header.capacity() + self.names.capacity()
    }
}

/// Where `part` (a slice of `raw`) lies in `raw`, as the compact range a message keeps.
fn range_in(raw: &[u8], part: &[u8]) -> Range<u32> {
    super::head::range_in(raw, part).map_or(0..0, |r| r.start as u32..r.end as u32)
}

/// How far a transaction has come: what a rule may inspect of it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Progress {
    /// The request line and header fields.
    RequestHead,
    /// The request body, whole or as far as it is kept.
    RequestBody,
    /// The response's status line and header fields.
    ResponseHead,
    /// The response body.
    ResponseBody,
}

impl Progress {
    pub const ALL: [Progress; 4] = [
        Progress::RequestHead,
        Progress::RequestBody,
        Progress::ResponseHead,
        Progress::ResponseBody,
    ];

    /// Whether the response has begun at this point.
    pub fn in_response(self) -> bool {
        self >= Progress::ResponseHead
    }
}

/// A request and its response, as far as they have come.
#[derive(Clone, Debug, Default)]
pub struct Transaction {
    /// Position in the connection, from 0 (EVE's `tx_id`).
    pub id: u64,
    pub request: Message,
    pub response: Message,
    /// Whether a response head has been stored.
    pub has_response: bool,
    pub status: u16,
    /// The normalized request target (`http.uri`).
    pub uri: Vec<u8>,
    /// The `Host` field's host, without port, in lower case (`http.host`).
    pub host: Vec<u8>,
}

impl Transaction {
    /// Start transaction `id` with a request head.
    pub fn set_request(&mut self, id: u64, head: &RequestHead<'_>) {
        self.id = id;
        self.request
            .set_head(head.raw, [head.method, head.uri, head.protocol], false);
        uri::normalize(head.uri, &mut self.uri);
        self.host.clear();
        if let Some(h) = self.request.field(Field::Host) {
            let end = if h.first() == Some(&b'[') {
                h.iter().position(|&c| c == b']').map_or(h.len(), |i| i + 1)
            } else {
                h.iter().position(|&c| c == b':').unwrap_or(h.len())
            };
            self.host
                .extend(h[..end].iter().map(u8::to_ascii_lowercase));
        }
        self.has_response = false;
        self.status = 0;
        self.response.set_head(&[], [&[]; 3], true);
    }

    /// Its response's head.
    pub fn set_response(&mut self, head: &ResponseHead<'_>) {
        self.response.set_head(
            head.raw,
            [head.protocol, head.status_text, head.reason],
            true,
        );
        self.has_response = true;
        self.status = head.status;
    }

    pub fn method(&self) -> &[u8] {
        self.request.part(0)
    }

    /// The request target as sent.
    pub fn raw_uri(&self) -> &[u8] {
        self.request.part(1)
    }

    /// `HTTP/1.x` of the request.
    pub fn protocol(&self) -> &[u8] {
        self.request.part(2)
    }

    /// `HTTP/1.x` of the response.
    pub fn response_protocol(&self) -> &[u8] {
        self.response.part(0)
    }

    /// The status code's digits as sent.
    pub fn status_text(&self) -> &[u8] {
        self.response.part(1)
    }

    pub fn reason(&self) -> &[u8] {
        self.response.part(2)
    }

    pub fn heap_bytes(&self) -> usize {
        self.request.heap_bytes()
            + self.response.heap_bytes()
            + self.uri.capacity()
            + self.host.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{HttpParser, Pdu};
    use crate::{Direction, Parsed, StreamParser};

    #[test]
    fn buffers_from_heads() {
        let mut p = HttpParser::default();
        let req = b"GET /a/../b%41?q=%41 HTTP/1.1\r\nHost: WWW.Example.com:8080\r\nCookie: s=1\r\nUser-Agent: curl/8\r\n\r\n";
        let Parsed::Pdu {
            pdu: Pdu::Request(h),
            ..
        } = p.parse(Direction::ToServer, req)
        else {
            panic!()
        };
        let mut tx = Transaction::default();
        tx.set_request(0, &h);
        assert_eq!(tx.method(), b"GET");
        assert_eq!(tx.raw_uri(), b"/a/../b%41?q=%41");
        assert_eq!(tx.uri, b"/bA?q=%41");
        assert_eq!(tx.protocol(), b"HTTP/1.1");
        assert_eq!(tx.request.field(Field::UserAgent), Some(&b"curl/8"[..]));
        assert_eq!(tx.request.field(Field::Cookie), Some(&b"s=1"[..]));
        assert_eq!(
            tx.request.header,
            b"Host: WWW.Example.com:8080\r\nUser-Agent: curl/8\r\n"
        );
        assert_eq!(
            tx.request.names,
            b"\r\nHost\r\nCookie\r\nUser-Agent\r\n\r\n"
        );
        assert_eq!(
            tx.request.raw_header(),
            b"Host: WWW.Example.com:8080\r\nCookie: s=1\r\nUser-Agent: curl/8\r\n\r\n"
        );
        assert_eq!(tx.host, b"www.example.com");
        let res = b"HTTP/1.1 404 Not Found\r\nSet-Cookie: t=2\r\nContent-Length: 0\r\n\r\n";
        let Parsed::Pdu {
            pdu: Pdu::Response(r),
            ..
        } = p.parse(Direction::ToClient, res)
        else {
            panic!()
        };
        tx.set_response(&r);
        assert_eq!(tx.status, 404);
        assert_eq!(tx.status_text(), b"404");
        assert_eq!(tx.reason(), b"Not Found");
        assert_eq!(tx.response.line(), b"HTTP/1.1 404 Not Found");
        assert_eq!(tx.response.field(Field::Cookie), Some(&b"t=2"[..]));
        assert_eq!(tx.response.header, b"Content-Length: 0\r\n");
        tx.response.add_body(b"0123456789", 4);
        assert_eq!(tx.response.body(), b"0123");
        assert!(tx.response.wire().ends_with(b"\r\n\r\n0123"));
        assert!(tx.response.body_truncated);
        assert_eq!(tx.response.body_seen, 10);
    }
}
