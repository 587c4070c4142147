//! EtherNet/IP (ODVA, CIP Vol. 2): the encapsulation layer over TCP and UDP 44818, and the
//! CIP message a `SendRRData`/`SendUnitData` carries in its data item — service, path
//! (class, instance, attribute) and, for a response, the general status. Multiple Service
//! Packets (service 0x0A) are read into the services they bundle.
//!
//! Every encapsulation message is a 24-byte little-endian header and `length` bytes of data;
//! the header frames the stream, so a malformed CIP body never costs the stream its framing.
//!
//! * [`cip`]: the CIP message and its path, borrowed.

pub mod cip;

pub use cip::{Cip, Segment};

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered EtherNet/IP explicit-messaging port, on TCP and UDP.
pub const PORT: u16 = 44818;

/// Encapsulation header length.
pub const HEADER_LEN: usize = 24;

/// Encapsulation commands (CIP Vol. 2, 2-3.2), with the names Suricata's `enip_command`
/// accepts.
pub const COMMANDS: [(u16, &str); 10] = [
    (0x0000, "nop"),
    (0x0004, "list_services"),
    (0x0063, "list_identity"),
    (0x0064, "list_interfaces"),
    (0x0065, "register_session"),
    (0x0066, "unregister_session"),
    (0x006f, "send_rr_data"),
    (0x0070, "send_unit_data"),
    (0x0072, "indicate_status"),
    (0x0073, "cancel"),
];

/// The name of an encapsulation command, as EVE writes it.
pub fn command_name(c: u16) -> Option<&'static str> {
    COMMANDS.iter().find(|(n, _)| *n == c).map(|(_, s)| *s)
}

/// Why bytes are not an encapsulation message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// A command no EtherNet/IP device sends.
    Command(u16),
    /// Options other than zero (the specification requires zero).
    Options(u32),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Command(c) => write!(f, "encapsulation command {c:#06x} is not EtherNet/IP"),
            Error::Options(o) => write!(f, "encapsulation options {o:#x} are not zero"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::Command(_) => "enip.invalid_command",
            Error::Options(_) => "enip.invalid_options",
        }
    }
}

/// One encapsulation message, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// The 24-byte header as sent.
    pub header: &'a [u8],
    pub command: u16,
    pub session: u32,
    pub status: u32,
    pub context: [u8; 8],
    /// The command-specific data.
    pub data: &'a [u8],
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Common Packet Format item types that carry a CIP message.
const ITEM_UNCONNECTED_DATA: u16 = 0x00b2;
const ITEM_CONNECTED_DATA: u16 = 0x00b1;

impl<'a> Pdu<'a> {
    /// The CIP message in a `SendRRData`'s or `SendUnitData`'s data item, if it has one.
    pub fn cip(&self) -> Option<Cip<'a>> {
        if self.command != 0x006f && self.command != 0x0070 {
            return None;
        }
        // Interface handle (4), timeout (2), item count (2), then the items.
        let d = self.data;
        let count = u16_le(d, 6)?;
        let mut at = 8usize;
        for _ in 0..count.min(16) {
            let kind = u16_le(d, at)?;
            let len = usize::from(u16_le(d, at + 2)?);
            let body = d.get(at + 4..at + 4 + len)?;
            match kind {
                ITEM_UNCONNECTED_DATA => return Some(Cip::new(body)),
                // A connected data item starts with its sequence count.
                ITEM_CONNECTED_DATA => return body.get(2..).map(Cip::new),
                _ => at += 4 + len,
            }
        }
        None
    }
}

fn header(buf: &[u8]) -> Result<Option<(u16, usize)>, Error> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let command = u16_le(buf, 0).unwrap_or_default();
    let length = usize::from(u16_le(buf, 2).unwrap_or_default());
    if command_name(command).is_none() {
        return Err(Error::Command(command));
    }
    let options = u32_le(buf, 20).unwrap_or_default();
    if options != 0 {
        return Err(Error::Options(options));
    }
    Ok(Some((command, length)))
}

/// Whether the first payload of a direction starts an encapsulation message: a known
/// command and zero options.
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    match header(bytes) {
        Ok(Some(_)) => Probe::Match,
        Ok(None) => {
            // What has come of the command must be a known one.
            let known = match bytes {
                [] => true,
                [lo] => COMMANDS.iter().any(|(c, _)| (c & 0xff) as u8 == *lo),
                [lo, hi, ..] => command_name(u16::from_le_bytes([*lo, *hi])).is_some(),
            };
            if known {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            }
        }
        Err(_) => Probe::NoMatch,
    }
}

/// Frames encapsulation messages.
#[derive(Clone, Debug, Default)]
pub struct EnipParser;

impl StreamParser for EnipParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Enip;
    const MAX_PDU: usize = HEADER_LEN + u16::MAX as usize;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        match header(buf) {
            Err(e) => Parsed::Invalid(e),
            Ok(None) => Parsed::Incomplete {
                needed: HEADER_LEN - buf.len(),
            },
            Ok(Some((command, length))) => Parsed::take(buf, HEADER_LEN + length, |m| Pdu {
                header: &m[..HEADER_LEN],
                command,
                session: u32_le(m, 4).unwrap_or_default(),
                status: u32_le(m, 8).unwrap_or_default(),
                context: m[12..20].try_into().unwrap_or_default(),
                data: &m[HEADER_LEN..],
            }),
        }
    }
}

#[cfg(test)]
mod tests;
