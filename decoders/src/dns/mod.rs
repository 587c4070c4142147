//! DNS (RFC 1035) over UDP and TCP.
//!
//! Over UDP a datagram is one message; over TCP each message follows its two-byte length
//! (RFC 1035 §4.2.2). The parser is told which by [`StreamParser::datagrams`]. A message is
//! checked whole before it is handed over ([`Message::parse`]); one that does not check is an
//! anomaly, and over TCP its length still frames the stream, so the next message is read.

pub mod message;

pub use message::{rcode_name, rrtype_name, Message, Name, Question, Record, Section};

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered DNS port, on UDP and TCP.
pub const PORT: u16 = 53;

/// Why bytes are not a DNS message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Shorter than its header, or a question or record runs past the end.
    Truncated,
    /// A name with a bad label type, a pointer that does not point back, or over 255 bytes.
    BadName,
    /// A section count beyond any real message.
    TooManyRecords,
    /// A TCP length prefix of 0, or shorter than a header.
    BadLength(u16),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("DNS message truncated"),
            Error::BadName => f.write_str("malformed or looping name"),
            Error::TooManyRecords => f.write_str("more records in a section than any real message"),
            Error::BadLength(n) => write!(f, "TCP length {n} too short for a DNS message"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::Truncated => "dns.malformed_data",
            Error::BadName => "dns.invalid_name",
            Error::TooManyRecords => "dns.too_many_records",
            Error::BadLength(_) => "dns.invalid_length",
        }
    }
}

/// Whether `bytes` look like the start of a DNS message: a checked header and question, sent
/// the right way (a query to the server, a response to the client). Tried as a datagram, then
/// behind a TCP length.
pub fn probe(dir: Direction, bytes: &[u8]) -> Probe {
    let plausible = |m: &[u8]| {
        let Ok(msg) = Message::parse(m) else {
            return false;
        };
        let expected = dir == Direction::ToClient;
        msg.is_response() == expected && msg.questions().count() == 1 && msg.trailing() == 0
    };
    if bytes.len() < message::HEADER_LEN {
        return Probe::NeedMore;
    }
    if plausible(bytes) {
        return Probe::Match;
    }
    let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
    // A header the right way round, with one question, behind the length: wait for the rest.
    let header_fits = |h: &[u8]| {
        let qr = h[2] & 0x80 != 0;
        qr == (dir == Direction::ToClient) && h[4..6] == [0, 1]
    };
    match bytes.get(2..2 + len) {
        Some(m) if plausible(m) => Probe::Match,
        None if len >= message::HEADER_LEN
            && bytes.len() >= 2 + message::HEADER_LEN
            && header_fits(&bytes[2..]) =>
        {
            Probe::NeedMore
        }
        _ => Probe::NoMatch,
    }
}

/// What the parser found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    Message(Message<'a>),
    /// A TCP-framed message whose body does not check: skipped, the stream still framed.
    Malformed(Error),
}

/// Frames DNS messages.
#[derive(Clone, Debug, Default)]
pub struct DnsParser {
    datagrams: bool,
}

impl StreamParser for DnsParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Dns;
    const MAX_PDU: usize = 2 + 65_535;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        if self.datagrams {
            return match Message::parse(buf) {
                Ok(m) => Parsed::Pdu {
                    pdu: Pdu::Message(m),
                    len: buf.len(),
                },
                Err(e) => Parsed::Invalid(e),
            };
        }
        let Some(prefix) = buf.get(..2) else {
            return Parsed::Incomplete {
                needed: 2 - buf.len(),
            };
        };
        let len = u16::from_be_bytes([prefix[0], prefix[1]]);
        if usize::from(len) < message::HEADER_LEN {
            return Parsed::Invalid(Error::BadLength(len));
        }
        Parsed::take(buf, 2 + usize::from(len), |m| {
            match Message::parse(&m[2..]) {
                Ok(msg) => Pdu::Message(msg),
                Err(e) => Pdu::Malformed(e),
            }
        })
    }

    fn datagrams(&mut self) {
        self.datagrams = true;
    }
}

#[cfg(test)]
mod tests;
