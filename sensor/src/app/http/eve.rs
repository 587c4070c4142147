//! The `http` event, as Suricata 7 writes it: one per transaction, when its response is
//! complete (or the flow ends), with the same object in the alerts the transaction raises.

use decoders::http::{ContentRange, Field, Transaction};
use serde::Serialize;

pub use crate::app::fileinfo::Fileinfo;

/// The top-level fields of an `http` event or alert: `tx_id` and the `http` object.
#[derive(Serialize)]
pub struct Body<'a> {
    pub tx_id: u64,
    pub http: Http<'a>,
}

/// A `fileinfo` event: the file a response carried, with its transaction's `http` object.
#[derive(Serialize)]
pub struct FileBody<'a> {
    pub tx_id: u64,
    pub http: Http<'a>,
    pub fileinfo: Fileinfo<'a>,
}

/// The file of `tx`'s response: named by `Content-Disposition`, else by the request's path.
pub fn response_file(tx: &Transaction) -> Fileinfo<'_> {
    let named = tx
        .response
        .field(Field::ContentDisposition)
        .and_then(disposition_filename);
    let path = tx.raw_uri();
    let path = &path[..path.iter().position(|&c| c == b'?').unwrap_or(path.len())];
    let complete = tx.response.complete && !tx.response.body_truncated;
    let part = part_of(tx);
    Fileinfo {
        gaps: tx.response.gaps || (tx.response.body_truncated && !tx.response.complete),
        start: part.map(|p| p.0),
        end: part.map(|p| p.1),
        ..Fileinfo::new(
            named.unwrap_or(path),
            tx.response.body_seen,
            complete,
            tx.id,
        )
    }
}

/// The whole file that `tx`'s part completed, `size` bytes in all.
pub fn whole_file(tx: &Transaction, size: u64) -> Fileinfo<'_> {
    Fileinfo {
        size,
        start: None,
        end: None,
        gaps: false,
        state: "CLOSED",
        ..response_file(tx)
    }
}

/// The first and last byte of the whole that `tx`'s response carries, when its
/// `Content-Range` says so consistently (a last byte after the first, inside the whole), as
/// Suricata checks it before it treats a file as a range.
pub fn part_of(tx: &Transaction) -> Option<(u64, u64, Option<u64>)> {
    let r = ContentRange::parse(tx.response.field(Field::ContentRange)?)?;
    let (start, end) = (r.start?, r.end?);
    let fits = start <= end && r.size.is_none_or(|size| end < size);
    (fits && end > 0).then_some((start, end, r.size))
}

/// The `filename` parameter of a `Content-Disposition` value, quoted or not.
pub fn disposition_filename(v: &[u8]) -> Option<&[u8]> {
    let at = v
        .windows(9)
        .position(|w| w.eq_ignore_ascii_case(b"filename="))?;
    let rest = &v[at + 9..];
    if let Some(q) = rest.strip_prefix(b"\"") {
        let end = q.iter().position(|&c| c == b'"').unwrap_or(q.len());
        return Some(&q[..end]);
    }
    let end = rest.iter().position(|&c| c == b';').unwrap_or(rest.len());
    Some(decoders::http::head::trim(&rest[..end]))
}

pub use crate::app::text::Text;

/// A response's `Content-Range`: as sent, and its numbers where they are numbers.
#[derive(Serialize)]
pub struct Range<'a> {
    pub raw: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl<'a> Range<'a> {
    fn new(raw: &'a [u8]) -> Self {
        let r = ContentRange::parse(raw);
        Range {
            raw: Text(raw),
            start: r.and_then(|r| r.start),
            end: r.and_then(|r| r.end),
            size: r.and_then(|r| r.size),
        }
    }
}

#[derive(Serialize)]
pub struct Http<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    pub url: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xff: Option<Text<'a>>,
    /// The response's `Content-Type` up to its parameters (`text/html`), as Suricata logs it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_range: Option<Range<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_refer: Option<Text<'a>>,
    pub http_method: Text<'a>,
    pub protocol: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<Text<'a>>,
    /// Response body bytes seen (de-chunked, before decompression).
    pub length: u64,
}

impl<'a> Http<'a> {
    /// The object for `tx`: the request's fields, and the response's once it has begun;
    /// `wire_length` is the response body as it came, before decompression.
    pub fn new(tx: &'a Transaction, wire_length: u64) -> Self {
        let req = |f| tx.request.field(f).map(Text);
        let res = |f| {
            if tx.has_response {
                tx.response.field(f).map(Text)
            } else {
                None
            }
        };
        let port = tx
            .request
            .field(Field::Host)
            .and_then(|h| {
                h.rsplit(|&c| c == b':')
                    .next()
                    .filter(|_| !h.ends_with(b"]"))
            })
            .filter(|p| p.len() < tx.request.field(Field::Host).map_or(0, <[u8]>::len))
            .and_then(|p| std::str::from_utf8(p).ok()?.parse().ok());
        Http {
            hostname: tx
                .request
                .field(Field::Host)
                .map(|_| Text(tx.host.as_slice())),
            http_port: port,
            url: Text(tx.raw_uri()),
            http_user_agent: req(Field::UserAgent),
            xff: req(Field::XForwardedFor),
            http_content_type: res(Field::ContentType).map(|t| {
                let v = t.0;
                Text(&v[..v.iter().position(|&c| c == b';').unwrap_or(v.len())])
            }),
            content_range: res(Field::ContentRange).map(|t| Range::new(t.0)),
            http_refer: req(Field::Referer),
            http_method: Text(tx.method()),
            protocol: Text(tx.protocol()),
            status: tx.has_response.then_some(tx.status),
            redirect: res(Field::Location),
            length: wire_length,
        }
    }
}
