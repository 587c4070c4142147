//! TLS (RFC 8446, RFC 5246): the record layer framed here, the handshake read with the
//! crates Suricata itself uses — `tls-parser` for the messages, `x509-parser` for the server's
//! certificate.
//!
//! Records frame the stream; the sensor gathers the handshake records of each direction into
//! whole handshake messages ([`Handshake`]) and reads the ClientHello, the ServerHello and the
//! Certificate into a [`Tls`] summary: versions, SNI, the certificate's subject, issuer,
//! serial, fingerprint and validity, and the JA3, JA3S and JA4 fingerprints of the hellos.
//! Everything after `ChangeCipherSpec` (or a TLS 1.3 ServerHello) is encrypted and only
//! counted.
//!
//! * [`hello`]: the hellos, and the fingerprints computed from them;
//! * [`cert`]: the certificate fields Suricata logs and matches;
//! * [`tx`]: the summary signatures inspect.

pub mod cert;
pub mod hello;
pub mod tx;

pub use tx::{Progress, Tls};

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered HTTPS port.
pub const PORT: u16 = 443;

/// Record header length.
pub const HEADER_LEN: usize = 5;
/// The largest record payload a peer may send (2^14 plus expansion, RFC 5246 §6.2.3).
pub const MAX_RECORD: usize = 16_384 + 2_048;

/// Record content types.
pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

/// Handshake message types read here.
pub mod handshake {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CLIENT_KEY_EXCHANGE: u8 = 16;
}

/// Why bytes are not a TLS record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// A content type outside 20..=24.
    ContentType(u8),
    /// A record version whose major byte is not 3.
    Version(u16),
    /// A record longer than TLS allows.
    Length(u16),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ContentType(t) => write!(f, "record content type {t} is not TLS"),
            Error::Version(v) => write!(f, "record version {v:#06x} is not TLS"),
            Error::Length(l) => write!(f, "record length {l} over {MAX_RECORD}"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::ContentType(_) => "tls.invalid_record_type",
            Error::Version(_) => "tls.invalid_record_version",
            Error::Length(_) => "tls.invalid_record_length",
        }
    }
}

/// One record, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub content_type: u8,
    pub version: u16,
    pub fragment: &'a [u8],
}

/// A record header's checks.
fn header(buf: &[u8]) -> Result<Option<(u8, u16, usize)>, Error> {
    let Some(h) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let (t, v, len) = (
        h[0],
        u16::from_be_bytes([h[1], h[2]]),
        u16::from_be_bytes([h[3], h[4]]),
    );
    if !(20..=24).contains(&t) {
        return Err(Error::ContentType(t));
    }
    if v >> 8 != 3 {
        return Err(Error::Version(v));
    }
    if usize::from(len) > MAX_RECORD {
        return Err(Error::Length(len));
    }
    Ok(Some((t, v, usize::from(len))))
}

/// Whether the first payload of a direction starts TLS: a handshake record of SSL 3.0 to TLS
/// 1.3 (`16 03 00` to `16 03 04`), either way, as Suricata's patterns take it. What follows is
/// the parser's to judge: a record that holds no hello is still TLS, malformed.
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    let prefix = [content::HANDSHAKE, 3];
    let n = bytes.len().min(prefix.len());
    if bytes[..n] != prefix[..n] {
        return Probe::NoMatch;
    }
    match bytes.get(2) {
        None => Probe::NeedMore,
        Some(&minor) if minor <= 4 => Probe::Match,
        Some(_) => Probe::NoMatch,
    }
}

/// Frames TLS records.
#[derive(Clone, Debug, Default)]
pub struct TlsParser;

impl StreamParser for TlsParser {
    type Pdu<'a> = Record<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Tls;
    const MAX_PDU: usize = HEADER_LEN + MAX_RECORD;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Record<'a>, Error> {
        match header(buf) {
            Err(e) => Parsed::Invalid(e),
            Ok(None) => Parsed::Incomplete {
                needed: HEADER_LEN - buf.len(),
            },
            Ok(Some((content_type, version, len))) => {
                Parsed::take(buf, HEADER_LEN + len, |r| Record {
                    content_type,
                    version,
                    fragment: &r[HEADER_LEN..],
                })
            }
        }
    }
}

/// Handshake messages gathered from the handshake records of one direction: a message may
/// span records and a record may hold several messages. The buffer is the caller's, capped.
#[derive(Clone, Debug, Default)]
pub struct Handshake {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out as messages.
    read: usize,
}

/// The most handshake bytes held for one direction (certificate chains are a few KiB).
pub const MAX_HANDSHAKE: usize = 64 * 1024;

impl Handshake {
    /// Add a handshake record's payload; `false` if the cap would be passed (nothing added).
    pub fn push(&mut self, fragment: &[u8]) -> bool {
        if self.read > 0 {
            self.buf.drain(..self.read);
            self.read = 0;
        }
        if self.buf.len() + fragment.len() > MAX_HANDSHAKE {
            return false;
        }
        self.buf.extend_from_slice(fragment);
        true
    }

    /// The next whole message: its type and the message with its four-byte header.
    pub fn next_message(&mut self) -> Option<(u8, &[u8])> {
        let rest = &self.buf[self.read..];
        let h = rest.get(..4)?;
        let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        let msg = rest.get(..4 + len)?;
        self.read += 4 + len;
        Some((h[0], msg))
    }

    pub fn clear(&mut self) {
        self.buf.clear();
        self.read = 0;
    }

    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests;
