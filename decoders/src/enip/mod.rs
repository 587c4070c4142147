//! EtherNet/IP (ODVA, CIP Vol. 2): the encapsulation layer over TCP and UDP 44818, and the
//! CIP message a `SendRRData`/`SendUnitData` carries in its data item — service, path
//! (class, instance, attribute) and, for a response, the general status. Multiple Service
//! Packets (service 0x0A) are read into the services they bundle.
//!
//! Every encapsulation message is a 24-byte little-endian header and `length` bytes of data;
//! the header frames the stream, so a malformed CIP body never costs the stream its framing.
//!
//! * [`cip`]: the CIP message and its path, borrowed.
//! * [`identity`]: what `ListIdentity`, `ListServices` and `RegisterSession` say of a device.

pub mod cip;
pub mod identity;

pub use cip::{Cip, ForwardOpen, Segment};
pub use identity::{Identity, ListService, Session};

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

/// Encapsulation status codes (CIP Vol. 2, 2-3.3), as Suricata 8 names them.
pub const STATUSES: [(u32, &str); 8] = [
    (0x0000, "success"),
    (0x0001, "invalid_cmd"),
    (0x0002, "no_resources"),
    (0x0003, "incorrect_data"),
    (0x0064, "invalid_session"),
    (0x0065, "invalid_length"),
    (0x0069, "unsupported_prot_rev"),
    (0x006a, "encap_header_error"),
];

/// The name of an encapsulation status.
pub fn status_name(s: u32) -> Option<&'static str> {
    STATUSES
        .iter()
        .find(|(n, _)| *n == s)
        .map(|(_, name)| *name)
}

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

/// Common Packet Format item types.
const ITEM_IDENTITY: u16 = 0x000c;
const ITEM_UNCONNECTED_DATA: u16 = 0x00b2;
const ITEM_CONNECTED_DATA: u16 = 0x00b1;
const ITEM_LIST_SERVICES: u16 = 0x0100;
/// Items read from one message at most.
const MAX_ITEMS: usize = 16;

/// A message's Common Packet Format items: (type, data), in order, as far as they fit.
fn items(cpf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let count = u16_le(cpf, 0).map_or(0, usize::from).min(MAX_ITEMS);
    let mut rest = cpf.get(2..).unwrap_or_default();
    (0..count).map_while(move |_| {
        let kind = u16_le(rest, 0)?;
        let len = usize::from(u16_le(rest, 2)?);
        let body = rest.get(4..4 + len)?;
        rest = &rest[4 + len..];
        Some((kind, body))
    })
}

impl<'a> Pdu<'a> {
    /// The CIP message in a `SendRRData`'s or `SendUnitData`'s data item, if it has one.
    pub fn cip(&self) -> Option<Cip<'a>> {
        if self.command != 0x006f && self.command != 0x0070 {
            return None;
        }
        // Interface handle (4) and timeout (2) precede the items.
        items(self.data.get(6..)?).find_map(|(kind, body)| match kind {
            ITEM_UNCONNECTED_DATA => Some(Cip::new(body)),
            // A connected data item starts with its sequence count.
            ITEM_CONNECTED_DATA => body.get(2..).map(Cip::new),
            _ => None,
        })
    }

    /// The identity a `ListIdentity` reply carries.
    pub fn identity(&self) -> Option<Identity<'a>> {
        if self.command != 0x0063 {
            return None;
        }
        items(self.data)
            .find(|(kind, _)| *kind == ITEM_IDENTITY)
            .and_then(|(_, d)| Identity::read(d))
    }

    /// The service a `ListServices` reply announces.
    pub fn list_service(&self) -> Option<ListService<'a>> {
        if self.command != 0x0004 {
            return None;
        }
        items(self.data)
            .find(|(kind, _)| *kind == ITEM_LIST_SERVICES)
            .and_then(|(_, d)| ListService::read(d))
    }

    /// A `RegisterSession`'s protocol version and options.
    pub fn session(&self) -> Option<Session> {
        (self.command == 0x0065)
            .then(|| Session::read(self.data))
            .flatten()
    }
}

/// The highest command a stream already known to be EtherNet/IP may carry and still be framed:
/// the defined ones are below it (0xc8 starts DTLS), and an unknown one in range is named by
/// the sensor rather than costing the stream its framing.
const MAX_FRAMED_COMMAND: u16 = 0x00ff;

fn header(buf: &[u8], known_only: bool) -> Result<Option<(u16, usize)>, Error> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let command = u16_le(buf, 0).unwrap_or_default();
    let length = usize::from(u16_le(buf, 2).unwrap_or_default());
    let known = command_name(command).is_some();
    if !known && (known_only || command > MAX_FRAMED_COMMAND) {
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
    match header(bytes, true) {
        Ok(Some(_)) => Probe::Match,
        // An undefined command that still frames: not enough to claim a flow off port, and
        // no reason to refuse one on it.
        Err(Error::Command(_)) if header(bytes, false).is_ok() => Probe::NeedMore,
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

    /// After lost framing, only a known command is trusted to start a message.
    fn resync(&mut self, _dir: Direction, buf: &[u8]) -> bool {
        header(buf, true).is_ok()
    }

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        match header(buf, false) {
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
