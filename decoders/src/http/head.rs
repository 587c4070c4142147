//! Request and response heads: the start line and the header fields, borrowed from the stream.
//!
//! `httparse` validates a head and finds where it ends; the views here keep only the byte
//! range and walk the header lines again when asked, so a head costs no table of its own.

use core::fmt;

/// How the body after a head is delimited (RFC 9112 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body: a request without `Content-Length` or `Transfer-Encoding`, a response to
    /// `HEAD`, a 1xx, 204 or 304 response, or `Content-Length: 0`.
    None,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// A response delimited by the end of the connection.
    UntilClose,
}

/// What is odd about a head without costing it its framing, reported as anomalies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Oddities(u8);

impl Oddities {
    /// `Content-Length` is not a decimal number, or two of them disagree.
    pub const BAD_CONTENT_LENGTH: Oddities = Oddities(1);
    /// Both `Transfer-Encoding: chunked` and `Content-Length`: a request-smuggling tell.
    pub const LENGTH_AND_CHUNKED: Oddities = Oddities(2);
    /// A request line with a version other than HTTP/1.0 or HTTP/1.1.
    pub const VERSION: Oddities = Oddities(4);
    /// A request line without a protocol (`GET /`): read as HTTP/1.0 is, as Suricata 8 does.
    pub const MISSING_PROTOCOL: Oddities = Oddities(8);
    /// A header field named twice or more (Suricata's `*_HEADER_REPETITION`).
    pub const HEADER_REPETITION: Oddities = Oddities(16);
    /// A 204 or 304 response that announces a body all the same: it is read, as browsers
    /// (and Suricata) read it.
    pub const BODY_UNEXPECTED: Oddities = Oddities(32);
    /// An `Authorization` scheme other than Basic, Digest and Bearer: a custom or probing
    /// client (libhtp's `AUTH_UNRECOGNIZED`).
    pub const AUTH_UNRECOGNIZED: Oddities = Oddities(64);

    pub fn contains(self, o: Oddities) -> bool {
        self.0 & o.0 == o.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub(super) fn set(&mut self, o: Oddities) {
        self.0 |= o.0;
    }

    /// Each oddity's anomaly name, in a request's head or (`response`) a response's.
    pub fn names(self, response: bool) -> impl Iterator<Item = &'static str> {
        let repetition = if response {
            "http.response_header_repetition"
        } else {
            "http.request_header_repetition"
        };
        [
            (Self::BAD_CONTENT_LENGTH, "http.invalid_content_length"),
            (Self::LENGTH_AND_CHUNKED, "http.content_length_and_chunked"),
            (Self::VERSION, "http.unknown_version"),
            (Self::MISSING_PROTOCOL, "http.request_line_missing_protocol"),
            (Self::HEADER_REPETITION, repetition),
            (Self::BODY_UNEXPECTED, "http.response_body_unexpected"),
            (Self::AUTH_UNRECOGNIZED, "http.request_auth_unrecognized"),
        ]
        .into_iter()
        .filter(move |(o, _)| self.contains(*o))
        .map(|(_, n)| n)
    }
}

/// A request's head: `METHOD URI HTTP/1.x` and its header lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead<'a> {
    /// The whole head as sent, from the request line to the blank line that ends it.
    pub raw: &'a [u8],
    pub method: &'a [u8],
    /// The request target as sent (`http.uri.raw`).
    pub uri: &'a [u8],
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub protocol: &'a [u8],
    pub framing: Framing,
    pub oddities: Oddities,
    /// The first request inside a tunnel `CONNECT` opened: HTTP starts anew there.
    pub after_tunnel: bool,
}

/// A response's head: `HTTP/1.x CODE REASON` and its header lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHead<'a> {
    pub raw: &'a [u8],
    pub protocol: &'a [u8],
    pub status: u16,
    /// The status code's three digits as sent.
    pub status_text: &'a [u8],
    pub reason: &'a [u8],
    pub framing: Framing,
    pub oddities: Oddities,
}

impl RequestHead<'static> {
    /// No request at all: what a response that answers none is paired with.
    pub const EMPTY: Self = RequestHead {
        raw: &[],
        method: &[],
        uri: &[],
        protocol: &[],
        framing: Framing::None,
        oddities: Oddities(0),
        after_tunnel: false,
    };
}

impl RequestHead<'_> {
    /// The request line, without its line end.
    pub fn line(&self) -> &[u8] {
        first_line(self.raw)
    }

    pub fn headers(&self) -> Headers<'_> {
        Headers::after_start_line(self.raw)
    }
}

impl ResponseHead<'_> {
    pub fn line(&self) -> &[u8] {
        first_line(self.raw)
    }

    pub fn headers(&self) -> Headers<'_> {
        Headers::after_start_line(self.raw)
    }

    /// An interim (1xx) response other than 101: the final response is still to come.
    pub fn is_interim(&self) -> bool {
        is_interim(self.status)
    }
}

/// Whether `status` is interim (1xx) but not 101, which switches protocols for good.
pub fn is_interim(status: u16) -> bool {
    (100..200).contains(&status) && status != 101
}

/// The first line of a head, without `\r\n`.
pub fn first_line(raw: &[u8]) -> &[u8] {
    let end = memchr(b'\n', raw).unwrap_or(raw.len());
    trim_cr(&raw[..end])
}

fn memchr(b: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&c| c == b)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The header fields of a head, as `(name, value)`, the value without surrounding white
/// space. A folded continuation line (obsolete, RFC 9112 §5.2) is skipped.
#[derive(Clone, Debug)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Headers<'a> {
    /// The fields of a head that starts with a request or status line.
    pub fn after_start_line(raw: &'a [u8]) -> Self {
        let rest = match memchr(b'\n', raw) {
            Some(i) => &raw[i + 1..],
            None => &[],
        };
        Headers { rest }
    }

    /// The fields of a bare header block (a chunked body's trailer).
    pub fn block(raw: &'a [u8]) -> Self {
        Headers { rest: raw }
    }

    /// The value of the first field called `name` (any case).
    pub fn get(self, name: &str) -> Option<&'a [u8]> {
        self.filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
            .next()
    }
}

impl<'a> Iterator for Headers<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let end = memchr(b'\n', self.rest).unwrap_or(self.rest.len());
            let line = trim_cr(&self.rest[..end]);
            self.rest = self.rest.get(end + 1..).unwrap_or_default();
            if line.is_empty() {
                self.rest = &[];
                return None;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                continue;
            }
            let Some(colon) = memchr(b':', line) else {
                continue;
            };
            let name = trim(&line[..colon]);
            let value = trim(&line[colon + 1..]);
            return Some((name, value));
        }
    }
}

/// Where `part`, a slice of `outer`, lies in it; `None` if it is not inside.
pub(super) fn range_in(outer: &[u8], part: &[u8]) -> Option<core::ops::Range<usize>> {
    let start = (part.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize);
    let end = start.checked_add(part.len())?;
    (end <= outer.len()).then_some(start..end)
}

/// `s` without leading and trailing spaces and tabs.
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t'))
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// The framing announced by a message's header fields, and what is odd about it;
/// `Transfer-Encoding` counts only where `chunked_allowed` (not in HTTP/1.0).
pub(super) fn framing(
    headers: Headers<'_>,
    oddities: &mut Oddities,
    chunked_allowed: bool,
) -> Framing {
    let (mut chunked, mut length) = (false, None::<u64>);
    if repeats_a_name(headers.clone()) {
        oddities.set(Oddities::HEADER_REPETITION);
    }
    for (name, value) in headers {
        if name.eq_ignore_ascii_case(b"transfer-encoding") && chunked_allowed {
            // Chunked counts only as the last coding (RFC 9112 §6.1).
            let last = value.rsplit(|&c| c == b',').next().map(trim);
            chunked |= last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        } else if name.eq_ignore_ascii_case(b"content-length") {
            match decimal(value) {
                Some(n) if length.is_none_or(|l| l == n) => length = Some(n),
                _ => oddities.set(Oddities::BAD_CONTENT_LENGTH),
            }
        }
    }
    if chunked {
        if length.is_some() {
            oddities.set(Oddities::LENGTH_AND_CHUNKED);
        }
        return Framing::Chunked;
    }
    match length {
        Some(0) => Framing::None,
        Some(n) => Framing::Length(n),
        None => Framing::None,
    }
}

/// Whether a request's `Authorization` names a scheme libhtp does not know; schemes are
/// matched by prefix, as libhtp does.
pub(super) fn auth_unrecognized(headers: Headers<'_>) -> bool {
    headers
        .filter(|(name, _)| name.eq_ignore_ascii_case(b"authorization"))
        .any(|(_, value)| {
            let v = trim(value);
            ![&b"basic"[..], b"digest", b"bearer"]
                .iter()
                .any(|s| v.len() >= s.len() && v[..s.len()].eq_ignore_ascii_case(s))
        })
}

/// Whether two header fields have the same name (any case), among the first
/// [`super::MAX_FIELDS`]. The names are gathered once, on the stack, then compared pairwise:
/// quadratic in the fields of one head, but over names only.
fn repeats_a_name(headers: Headers<'_>) -> bool {
    let mut names: [&[u8]; super::MAX_FIELDS] = [&[]; super::MAX_FIELDS];
    for (n, (name, _)) in headers.take(super::MAX_FIELDS).enumerate() {
        if names[..n]
            .iter()
            .any(|seen| seen.eq_ignore_ascii_case(name))
        {
            return true;
        }
        names[n] = name;
    }
    false
}

/// A decimal number of at most 18 digits.
fn decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 18 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0')))
}

/// A `Content-Range` value (RFC 9110 §14.4): which bytes of how large a whole a response
/// carries. `None` where the value says `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContentRange {
    pub start: Option<u64>,
    pub end: Option<u64>,
    pub size: Option<u64>,
}

impl ContentRange {
    /// Read as Suricata reads it: a unit word (whichever), then `first-last/size` or
    /// `*/size`, the size possibly `*`.
    pub fn parse(value: &[u8]) -> Option<Self> {
        let v = trim(value);
        let unit = v.iter().position(|&c| c == b' ')?;
        let spec = trim(&v[unit..]);
        let (range, size) = split_once(spec, b'/')?;
        let size = if size == b"*" {
            None
        } else {
            Some(decimal(size)?)
        };
        if range == b"*" {
            return size.map(|size| ContentRange {
                start: None,
                end: None,
                size: Some(size),
            });
        }
        let (start, end) = split_once(range, b'-')?;
        Some(ContentRange {
            start: Some(decimal(start)?),
            end: Some(decimal(end)?),
            size,
        })
    }
}

fn split_once(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
    let i = memchr(sep, s)?;
    Some((&s[..i], &s[i + 1..]))
}

/// Writes bytes as text, escaping what is not printable ASCII.
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.escape_ascii() {
            fmt::Write::write_char(f, char::from(c))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines() {
        let raw = b"GET / HTTP/1.1\r\nHost:  a.example \r\n folded\r\nX-Empty:\r\nbogus\r\nUser-Agent: t\r\n\r\nbody";
        let h: Vec<_> = Headers::after_start_line(raw).collect();
        assert_eq!(
            h,
            [
                (&b"Host"[..], &b"a.example"[..]),
                (b"X-Empty", b""),
                (b"User-Agent", b"t")
            ]
        );
        assert_eq!(
            Headers::after_start_line(raw).get("user-agent"),
            Some(&b"t"[..])
        );
        assert_eq!(first_line(raw), b"GET / HTTP/1.1");
    }

    #[test]
    fn content_ranges() {
        let r = |v: &[u8]| ContentRange::parse(v);
        let full = |start, end, size| ContentRange {
            start: Some(start),
            end: Some(end),
            size,
        };
        assert_eq!(
            r(b"bytes 500-1000/146515"),
            Some(full(500, 1000, Some(146515)))
        );
        assert_eq!(r(b" bytes 0-9/*"), Some(full(0, 9, None)));
        assert_eq!(
            r(b"bytes */77"),
            Some(ContentRange {
                start: None,
                end: None,
                size: Some(77)
            })
        );
        for bad in [
            &b"bytes"[..],
            b"500-1000/146515",
            b"bytes 5-/9",
            b"bytes */*",
            b"",
        ] {
            assert_eq!(r(bad), None, "{}", Escaped(bad));
        }
    }

    #[test]
    fn framing_rules() {
        let f = |h: &[u8]| {
            let mut o = Oddities::default();
            (framing(Headers::block(h), &mut o, true), o)
        };
        assert_eq!(f(b"Content-Length: 12\r\n\r\n").0, Framing::Length(12));
        assert_eq!(f(b"Content-Length: 0\r\n\r\n").0, Framing::None);
        let (fr, o) = f(b"Transfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n\r\n");
        assert_eq!(fr, Framing::Chunked);
        assert!(o.contains(Oddities::LENGTH_AND_CHUNKED));
        assert_eq!(
            f(b"Transfer-Encoding: chunked, gzip\r\n\r\n").0,
            Framing::None
        );
        let (fr, o) = f(b"Content-Length: 4\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(fr, Framing::Length(4));
        assert!(o.contains(Oddities::BAD_CONTENT_LENGTH));
        assert!(o.contains(Oddities::HEADER_REPETITION));
        let (_, o) = f(b"Accept-CH: a\r\nX: 1\r\naccept-ch: b\r\n\r\n");
        assert!(o.contains(Oddities::HEADER_REPETITION));
        assert_eq!(
            o.names(true).collect::<Vec<_>>(),
            ["http.response_header_repetition"]
        );
        assert_eq!(
            o.names(false).collect::<Vec<_>>(),
            ["http.request_header_repetition"]
        );
        let (_, o) = f(b"Accept: a\r\nAccept-CH: b\r\n\r\n");
        assert!(o.is_empty());
        let auth = |h: &[u8]| auth_unrecognized(Headers::block(h));
        assert!(auth(b"Authorization: Turbo customAuthDataHere\r\n\r\n"));
        assert!(auth(b"Host: x\r\nauthorization: \r\n\r\n"));
        for known in ["Basic dXNlcjpwYXNz", "digest username=x", "Bearer abc.def"] {
            let head = format!("Authorization: {known}\r\n\r\n");
            assert!(!auth(head.as_bytes()), "{known}");
        }
        assert!(!auth(b"Host: x\r\n\r\n"));
        assert!(f(b"Content-Length: -1\r\n\r\n")
            .1
            .contains(Oddities::BAD_CONTENT_LENGTH));
    }
}
