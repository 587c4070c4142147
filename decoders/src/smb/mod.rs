//! SMB (MS-SMB2, over the NetBIOS session service of RFC 1002 or direct TCP 445): the session
//! framing, the SMB2/3 header of every message (compounds included), and the commands whose
//! fields a sensor logs and rules match — `NEGOTIATE`'s dialect, `TREE_CONNECT`'s share,
//! `CREATE`'s file name, the file ids, sizes and lengths of `CREATE`, `READ`, `WRITE` and
//! `CLOSE` ([`smb2`]). An SMB1 message is recognised by its header only ([`smb1`]).
//!
//! A session message may be megabytes long (a `READ` response, a `WRITE` request): only its
//! first [`MAX_KEPT`] bytes are framed and handed over — where every header and file name is —
//! and the rest is skipped as it streams by, so no message is ever buffered whole.
//!
//! * [`smb2`]: the SMB2/3 header and command bodies, borrowed;
//! * [`ntlmssp`]: who a `SESSION_SETUP` logs in;
//! * [`smb1`]: the SMB1 header;
//! * [`tx`]: a request and its response, what signatures inspect.

pub mod ntlmssp;
pub mod smb1;
pub mod smb2;
pub mod tx;

pub use tx::Transaction;

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// Direct-hosted SMB's port (TCP 445).
pub const PORT: u16 = 445;

/// Bytes of a session message framed and handed over; the rest is skipped.
pub const MAX_KEPT: usize = 16 * 1024;

/// The NetBIOS session service header.
pub const NBSS_LEN: usize = 4;

/// NetBIOS session packet types (RFC 1002 §4.3.1).
pub mod nbss {
    pub const SESSION_MESSAGE: u8 = 0x00;
    pub const SESSION_REQUEST: u8 = 0x81;
    pub const POSITIVE_RESPONSE: u8 = 0x82;
    pub const NEGATIVE_RESPONSE: u8 = 0x83;
    pub const RETARGET_RESPONSE: u8 = 0x84;
    pub const KEEP_ALIVE: u8 = 0x85;
}

/// The longest session service packet other than a message: a session request, two encoded
/// names (RFC 1002 §4.3.2).
const MAX_CONTROL: usize = 255;

/// Why the front of a direction is not a session packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// A session packet type RFC 1002 does not define.
    NbssType(u8),
    /// A control packet (not a message) longer than any real one.
    ControlLength(u32),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NbssType(t) => write!(f, "NetBIOS session packet type {t:#04x} is not defined"),
            Error::ControlLength(n) => {
                write!(f, "NetBIOS session control packet of {n} bytes")
            }
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::NbssType(_) => "smb.invalid_nbss_type",
            Error::ControlLength(_) => "smb.invalid_nbss_length",
        }
    }
}

/// One unit of a direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// A session message: its first bytes (all of it when `bytes.len() == len`).
    Message(Message<'a>),
    /// A session control packet (request, response, keep-alive), by type.
    Control(u8),
    /// The rest of a message past [`MAX_KEPT`], skipped.
    Skipped(usize),
}

/// A session message, as far as it is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// The message's first bytes, at most [`MAX_KEPT`].
    pub bytes: &'a [u8],
    /// The message's whole length.
    pub len: u32,
}

/// What a message holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Smb<'a> {
    /// SMB2/3 messages, compounds chained.
    Smb2(smb2::Messages<'a>),
    Smb1(smb1::Header),
    /// An SMB 3 transform header: the messages are encrypted.
    Encrypted,
    /// Not SMB.
    Unknown,
}

impl<'a> Message<'a> {
    /// Whether all of the message was kept.
    pub fn whole(&self) -> bool {
        self.bytes.len() as u64 == u64::from(self.len)
    }

    pub fn smb(&self) -> Smb<'a> {
        match self.bytes.get(..4) {
            Some(smb2::MAGIC) => Smb::Smb2(smb2::Messages::new(self.bytes)),
            Some(smb2::TRANSFORM_MAGIC) => Smb::Encrypted,
            Some(smb1::MAGIC) => smb1::Header::parse(self.bytes).map_or(Smb::Unknown, Smb::Smb1),
            _ => Smb::Unknown,
        }
    }
}

/// Whether the first payload of a direction is SMB: a session message that starts with an
/// SMB1, SMB2 or SMB3 transform magic, or a NetBIOS session request (port 139).
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    let Some(&kind) = bytes.first() else {
        return Probe::NeedMore;
    };
    match kind {
        nbss::SESSION_MESSAGE => {}
        nbss::SESSION_REQUEST => {
            return match bytes.get(1..4) {
                Some([0, 0, 68]) => Probe::Match,
                Some(_) => Probe::NoMatch,
                None => Probe::NeedMore,
            }
        }
        _ => return Probe::NoMatch,
    }
    let magic = bytes.get(NBSS_LEN..).unwrap_or_default();
    let n = magic.len().min(4);
    let known = [smb2::MAGIC, smb2::TRANSFORM_MAGIC, smb1::MAGIC]
        .iter()
        .any(|m| m[..n] == magic[..n]);
    match (known, n) {
        (false, _) => Probe::NoMatch,
        (true, 4) => Probe::Match,
        (true, _) => Probe::NeedMore,
    }
}

/// Frames the session service packets of both directions.
#[derive(Clone, Debug, Default)]
pub struct SmbParser {
    /// Bytes of the current message still to skip, per direction.
    skipping: [u32; 2],
}

impl StreamParser for SmbParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Smb;
    const MAX_PDU: usize = NBSS_LEN + MAX_KEPT;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let skipping = &mut self.skipping[dir.index()];
        if *skipping > 0 {
            let n = buf.len().min(*skipping as usize);
            *skipping -= n as u32;
            return Parsed::Pdu {
                pdu: Pdu::Skipped(n),
                len: n,
            };
        }
        let Some(h) = buf.get(..NBSS_LEN) else {
            return Parsed::Incomplete {
                needed: NBSS_LEN - buf.len(),
            };
        };
        let kind = h[0];
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]);
        match kind {
            nbss::SESSION_MESSAGE => {}
            nbss::SESSION_REQUEST..=nbss::KEEP_ALIVE => {
                if len as usize > MAX_CONTROL {
                    return Parsed::Invalid(Error::ControlLength(len));
                }
                let total = NBSS_LEN + len as usize;
                if buf.len() < total {
                    return Parsed::Incomplete {
                        needed: total - buf.len(),
                    };
                }
                return Parsed::Pdu {
                    pdu: Pdu::Control(kind),
                    len: total,
                };
            }
            t => return Parsed::Invalid(Error::NbssType(t)),
        }
        let kept = (len as usize).min(MAX_KEPT);
        let end = NBSS_LEN + kept;
        if buf.len() < end {
            return Parsed::Incomplete {
                needed: end - buf.len(),
            };
        }
        *skipping = len - kept as u32;
        Parsed::Pdu {
            pdu: Pdu::Message(Message {
                bytes: &buf[NBSS_LEN..end],
                len,
            }),
            len: end,
        }
    }

    /// After a gap: resume at a chunk that starts a session message with an SMB magic.
    fn resync(&mut self, dir: Direction, buf: &[u8]) -> bool {
        self.skipping[dir.index()] = 0;
        buf.first() == Some(&nbss::SESSION_MESSAGE) && probe(dir, buf) != Probe::NoMatch
    }

    /// Inside a message's skipped tail, a gap is more of what is skipped.
    fn gap(&mut self, dir: Direction, len: u64) -> Option<u64> {
        let skipping = &mut self.skipping[dir.index()];
        if u64::from(*skipping) < len {
            return None;
        }
        *skipping -= len as u32;
        Some(len)
    }
}

#[cfg(test)]
mod tests;
