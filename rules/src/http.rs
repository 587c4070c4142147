//! The HTTP keywords: the buffers of a transaction that contents and expressions inspect, in
//! both spellings Suricata accepts — sticky buffers (`http.uri; content:"x";`) and, as Emerging
//! Threats writes them for Suricata 4, content modifiers (`content:"x"; http_uri;`), `pcre`
//! flags (`/x/U`) and `uricontent` — plus `urilen`.
//!
//! A buffer that exists on both sides of a transaction (the header fields, the body, cookies)
//! is read from the side the rule looks at: the response when the rule says `to_client` or
//! needs a response-only buffer (the status code…), the request otherwise. A rule is inspected
//! once per transaction, as soon as every buffer it needs has arrived ([`Plan`]).

use decoders::http::{Field, Progress, Transaction};

use crate::num::UintMatch;
use crate::KeywordError;

/// A buffer of an HTTP transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    /// The normalized request target (`http.uri`, `http_uri`, `uricontent`, pcre `U`).
    Uri,
    /// The request target as sent (`http.uri.raw`, `http_raw_uri`, `I`).
    RawUri,
    Method,
    /// The request's `HTTP/1.x`.
    Protocol,
    RequestLine,
    ResponseLine,
    StatCode,
    StatMsg,
    /// `Name: value\r\n` per field, cookies left out (`http.header`, `H`).
    Header,
    /// The header block as sent (`http.header.raw`, `D`).
    RawHeader,
    HeaderNames,
    /// Start line and header block as sent (`http.start`).
    Start,
    Cookie,
    UserAgent,
    /// The `Host` field's host in lower case, without port (`http.host`, `W`).
    Host,
    RawHost,
    ContentType,
    ContentLen,
    Referer,
    Accept,
    AcceptEnc,
    AcceptLang,
    Connection,
    Location,
    Server,
    /// The request body (`http.request_body`, `http_client_body`, `P`).
    RequestBody,
    /// The response body (`http.response_body`, `http_server_body`).
    ResponseBody,
    /// The body of the side the rule looks at (`file.data`, `file_data`, `Q`).
    FileData,
    /// The head and body of the side the rule looks at, as the stream carried them (bodies
    /// de-chunked): what the payload keywords of a rule with HTTP keywords read, as Suricata
    /// reads such a rule's payload contents on the reassembled stream.
    Wire,
}

/// Which side of the transaction a buffer exists on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sides {
    Request,
    Response,
    Both,
}

impl Buf {
    /// The buffer a sticky-buffer keyword selects.
    pub fn sticky(name: &str) -> Option<Self> {
        Some(match name {
            "http.uri" | "http_uri" => Buf::Uri,
            "http.uri.raw" | "http_raw_uri" => Buf::RawUri,
            "http.method" | "http_method" => Buf::Method,
            "http.protocol" | "http_protocol" => Buf::Protocol,
            "http.request_line" | "http_request_line" => Buf::RequestLine,
            "http.response_line" | "http_response_line" => Buf::ResponseLine,
            "http.stat_code" | "http_stat_code" => Buf::StatCode,
            "http.stat_msg" | "http_stat_msg" => Buf::StatMsg,
            "http.header" | "http_header" => Buf::Header,
            "http.header.raw" | "http_raw_header" => Buf::RawHeader,
            "http.header_names" | "http_header_names" => Buf::HeaderNames,
            "http.start" | "http_start" => Buf::Start,
            "http.cookie" | "http_cookie" => Buf::Cookie,
            "http.user_agent" | "http_user_agent" => Buf::UserAgent,
            "http.host" | "http_host" => Buf::Host,
            "http.host.raw" | "http_raw_host" => Buf::RawHost,
            "http.content_type" | "http_content_type" => Buf::ContentType,
            "http.content_len" | "http_content_len" => Buf::ContentLen,
            "http.referer" | "http_referer" => Buf::Referer,
            "http.accept" | "http_accept" => Buf::Accept,
            "http.accept_enc" | "http_accept_enc" => Buf::AcceptEnc,
            "http.accept_lang" | "http_accept_lang" => Buf::AcceptLang,
            "http.connection" | "http_connection" => Buf::Connection,
            "http.location" => Buf::Location,
            "http.server" => Buf::Server,
            "http.request_body" | "http_client_body" => Buf::RequestBody,
            "http.response_body" | "http_server_body" => Buf::ResponseBody,
            "file.data" | "file_data" => Buf::FileData,
            _ => return None,
        })
    }

    /// The buffer a Suricata 4 content modifier moves the content before it into. These names
    /// follow a content; every other HTTP keyword starts a sticky buffer.
    pub fn modifier(name: &str) -> Option<Self> {
        match name {
            "http_uri" | "http_raw_uri" | "http_method" | "http_header" | "http_raw_header"
            | "http_cookie" | "http_user_agent" | "http_host" | "http_raw_host"
            | "http_client_body" | "http_server_body" | "http_stat_code" | "http_stat_msg" => {
                Self::sticky(name)
            }
            _ => None,
        }
    }

    /// The buffer a `pcre` flag selects.
    pub fn pcre_flag(flag: char) -> Option<Self> {
        Some(match flag {
            'U' => Buf::Uri,
            'I' => Buf::RawUri,
            'M' => Buf::Method,
            'H' => Buf::Header,
            'D' => Buf::RawHeader,
            'C' => Buf::Cookie,
            'V' => Buf::UserAgent,
            'W' => Buf::Host,
            'Z' => Buf::RawHost,
            'P' => Buf::RequestBody,
            'Q' => Buf::FileData,
            'S' => Buf::StatCode,
            'Y' => Buf::StatMsg,
            _ => return None,
        })
    }

    fn sides(self) -> Sides {
        match self {
            Buf::Uri
            | Buf::RawUri
            | Buf::Method
            | Buf::Protocol
            | Buf::RequestLine
            | Buf::UserAgent
            | Buf::Host
            | Buf::RawHost
            | Buf::Referer
            | Buf::Accept
            | Buf::AcceptEnc
            | Buf::AcceptLang
            | Buf::RequestBody => Sides::Request,
            Buf::ResponseLine
            | Buf::StatCode
            | Buf::StatMsg
            | Buf::Location
            | Buf::Server
            | Buf::ResponseBody => Sides::Response,
            Buf::Header
            | Buf::RawHeader
            | Buf::HeaderNames
            | Buf::Start
            | Buf::Cookie
            | Buf::ContentType
            | Buf::ContentLen
            | Buf::Connection
            | Buf::FileData
            | Buf::Wire => Sides::Both,
        }
    }

    fn is_body(self) -> bool {
        matches!(
            self,
            Buf::RequestBody | Buf::ResponseBody | Buf::FileData | Buf::Wire
        )
    }

    /// When the buffer is there to inspect, for a rule looking at the response or not.
    fn ready_at(self, response: bool) -> Progress {
        let response = match self.sides() {
            Sides::Request => false,
            Sides::Response => true,
            Sides::Both => response,
        };
        match (response, self.is_body()) {
            (false, false) => Progress::RequestHead,
            (false, true) => Progress::RequestBody,
            (true, false) => Progress::ResponseHead,
            (true, true) => Progress::ResponseBody,
        }
    }

    /// The buffer's bytes in `tx`, or `None` if the transaction has no such thing (a missing
    /// header field, a response not yet seen): a rule needing it does not match.
    pub fn get(self, tx: &Transaction, response: bool) -> Option<&[u8]> {
        let side = match self.sides() {
            Sides::Request => &tx.request,
            Sides::Response => &tx.response,
            Sides::Both if response => &tx.response,
            Sides::Both => &tx.request,
        };
        if std::ptr::eq(side, &tx.response) && !tx.has_response {
            return None;
        }
        let field = |f| side.field(f);
        match self {
            Buf::Uri => Some(&tx.uri),
            Buf::RawUri => Some(tx.raw_uri()),
            Buf::Method => Some(tx.method()),
            Buf::Protocol => Some(tx.protocol()),
            Buf::RequestLine | Buf::ResponseLine => Some(side.line()),
            Buf::StatCode => Some(tx.status_text()),
            Buf::StatMsg => Some(tx.reason()),
            Buf::Header => Some(&side.header),
            Buf::RawHeader => Some(side.raw_header()),
            Buf::HeaderNames => Some(&side.names),
            Buf::Start => Some(side.head()),
            Buf::Wire => Some(side.wire()),
            Buf::Cookie => field(Field::Cookie),
            Buf::UserAgent => field(Field::UserAgent),
            Buf::Host => side.field(Field::Host).map(|_| tx.host.as_slice()),
            Buf::RawHost => field(Field::Host),
            Buf::ContentType => field(Field::ContentType),
            Buf::ContentLen => field(Field::ContentLength),
            Buf::Referer => field(Field::Referer),
            Buf::Accept => field(Field::Accept),
            Buf::AcceptEnc => field(Field::AcceptEncoding),
            Buf::AcceptLang => field(Field::AcceptLanguage),
            Buf::Connection => field(Field::Connection),
            Buf::Location => field(Field::Location),
            Buf::Server => field(Field::Server),
            Buf::RequestBody | Buf::ResponseBody | Buf::FileData => Some(side.body()),
        }
    }
}

/// `urilen:[<>!]N[<>M][,norm|raw]`: the length of the normalized (default) or raw URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Urilen {
    pub len: UintMatch,
    pub raw: bool,
}

impl Urilen {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let (len, form) = match value.split_once(',') {
            Some((l, f)) => (l, f.trim()),
            None => (value, "norm"),
        };
        let raw = match form {
            "norm" => false,
            "raw" => true,
            other => return Err(KeywordError::unknown("urilen form", other)),
        };
        Ok(Urilen {
            len: UintMatch::parse(len)?,
            raw,
        })
    }

    pub fn matches(&self, tx: &Transaction) -> bool {
        let uri = if self.raw { tx.raw_uri() } else { &tx.uri };
        self.len.matches(uri.len() as u64)
    }
}

/// When and on which side a rule inspects a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// The point at which every buffer the rule reads has arrived.
    pub stage: Progress,
    /// Whether the buffers found on both sides are read from the response.
    pub response: bool,
}

impl Plan {
    /// The plan of a rule reading `bufs`; `to_client` when its `flow` says so.
    pub fn new(bufs: impl Iterator<Item = Buf> + Clone, to_client: Option<bool>) -> Self {
        // Without a direction, `file.data` reads the response, as in Suricata 4.
        let response = to_client.unwrap_or_else(|| {
            bufs.clone()
                .any(|b| b.sides() == Sides::Response || b == Buf::FileData)
        });
        let stage = bufs
            .map(|b| b.ready_at(response))
            .max()
            .unwrap_or(Progress::RequestHead);
        Plan { stage, response }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans() {
        let p = Plan::new([Buf::Uri, Buf::Header].into_iter(), None);
        assert_eq!(
            p,
            Plan {
                stage: Progress::RequestHead,
                response: false
            }
        );
        let p = Plan::new([Buf::Method, Buf::FileData].into_iter(), Some(true));
        assert_eq!(p.stage, Progress::ResponseBody);
        let p = Plan::new([Buf::StatCode, Buf::Header].into_iter(), None);
        assert_eq!(
            p,
            Plan {
                stage: Progress::ResponseHead,
                response: true
            }
        );
        let p = Plan::new([Buf::FileData].into_iter(), Some(false));
        assert_eq!(p.stage, Progress::RequestBody);
        assert_eq!(Buf::modifier("http_content_type"), None);
        assert_eq!(Buf::sticky("http_content_type"), Some(Buf::ContentType));
    }

    #[test]
    fn urilen_forms() {
        assert_eq!(
            Urilen::parse("<10,raw").unwrap(),
            Urilen {
                len: UintMatch::Lt(10),
                raw: true
            }
        );
        assert_eq!(Urilen::parse("5<>9").unwrap().len, UintMatch::Between(5, 9));
        assert!(Urilen::parse("3,cooked").is_err());
    }
}
