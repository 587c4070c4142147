//! SSH (RFC 4253): the identification lines and the key exchange's binary packets, up to
//! `SSH_MSG_NEWKEYS`; after it a direction is encrypted and only counted.
//!
//! What a sensor learns of SSH is in the clear: each side's banner (`SSH-2.0-OpenSSH_9.2p1`)
//! and its `SSH_MSG_KEXINIT`, whose algorithm lists give HASSH, the client and server
//! fingerprints of Salesforce's HASSH ([`kex`]). Lengths are checked before anything is read;
//! a banner over 255 bytes or a packet over 35,000 bytes (the limits RFC 4253 sets) loses the
//! stream its framing.
//!
//! * [`kex`]: the KEXINIT name-lists and the HASSH strings built from them;
//! * [`tx`]: the per-flow summary signatures inspect.

pub mod kex;
pub mod tx;

pub use kex::KexInit;
pub use tx::{Progress, Side, Ssh};

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered SSH port.
pub const PORT: u16 = 22;

/// The longest identification line, CR LF included (RFC 4253 §4.2).
pub const MAX_BANNER: usize = 255;
/// The longest other line a server may send before its banner; Suricata allows these too.
const MAX_LINE: usize = 1024;
/// Lines a server may send before its banner before the stream is taken not to be SSH.
const MAX_LINES: u8 = 16;
/// The longest binary packet every implementation must accept (RFC 4253 §6.1), length word
/// included.
pub const MAX_PACKET: usize = 35_000;

/// Message numbers read here (RFC 4253 §12).
pub mod msg {
    pub const DISCONNECT: u8 = 1;
    pub const KEXINIT: u8 = 20;
    pub const NEWKEYS: u8 = 21;
}

/// Why bytes are not SSH.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// No line end within 255 bytes of a banner (or 1,024 of a line before it).
    LongBanner,
    /// A line that is not `SSH-proto-software` where the banner must be.
    InvalidBanner,
    /// A packet length under 5 or over 35,000.
    PacketLength(u32),
    /// Padding at least as long as the packet.
    Padding(u8),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LongBanner => write!(f, "identification line longer than {MAX_BANNER} bytes"),
            Error::InvalidBanner => f.write_str("identification line is not SSH-proto-software"),
            Error::PacketLength(n) => write!(f, "packet length {n} outside 5..={MAX_PACKET}"),
            Error::Padding(n) => write!(f, "padding length {n} leaves no payload"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::LongBanner => "ssh.long_banner",
            Error::InvalidBanner => "ssh.invalid_banner",
            Error::PacketLength(_) => "ssh.invalid_record_length",
            Error::Padding(_) => "ssh.invalid_padding",
        }
    }
}

/// An identification line, `SSH-protoversion-softwareversion SP comments`, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Banner<'a> {
    /// `2.0`, `1.99`, `1.5`.
    pub proto: &'a [u8],
    /// Up to the first space: `OpenSSH_9.2p1`.
    pub software: &'a [u8],
    /// After the space, possibly empty.
    pub comments: &'a [u8],
}

impl<'a> Banner<'a> {
    /// Read a line (without its line end); `None` unless it is `SSH-proto-software…`.
    pub fn parse(line: &'a [u8]) -> Option<Self> {
        let rest = line.strip_prefix(b"SSH-")?;
        let dash = rest.iter().position(|&b| b == b'-')?;
        let (proto, rest) = (&rest[..dash], &rest[dash + 1..]);
        if proto.is_empty() || rest.is_empty() {
            return None;
        }
        let (software, comments) = match rest.iter().position(|&b| b == b' ') {
            Some(sp) => (&rest[..sp], &rest[sp + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        Some(Banner {
            proto,
            software,
            comments,
        })
    }
}

/// One PDU of an SSH stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// A line a server sent before its banner.
    Line(&'a [u8]),
    Banner(Banner<'a>),
    /// A binary packet before `NEWKEYS`: its message number and payload (padding removed).
    Packet {
        msg_type: u8,
        payload: &'a [u8],
    },
    /// Bytes after `NEWKEYS`, counted only.
    Encrypted(usize),
}

/// Where a direction stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// Before the banner; the count of lines seen before it.
    #[default]
    Identification,
    Packets,
    Encrypted,
}

/// The line at the front of `buf`, without its line end, and its length with it.
fn line(buf: &[u8], max: usize) -> Result<Option<(&[u8], usize)>, Error> {
    match buf.iter().take(max).position(|&b| b == b'\n') {
        Some(nl) => {
            let text = &buf[..nl];
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            Ok(Some((text, nl + 1)))
        }
        None if buf.len() >= max => Err(Error::LongBanner),
        None => Ok(None),
    }
}

/// Whether the first payload of a direction starts an SSH banner. A server may send other
/// lines first; a probe sees only the start, so it asks for the banner up front, as
/// Suricata's does.
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    let n = bytes.len().min(4);
    if bytes[..n] != b"SSH-"[..n] {
        Probe::NoMatch
    } else if n < 4 {
        Probe::NeedMore
    } else {
        Probe::Match
    }
}

/// Frames SSH: lines until each side's banner, then binary packets until its `NEWKEYS`.
#[derive(Clone, Debug, Default)]
pub struct SshParser {
    phase: [Phase; 2],
    lines: [u8; 2],
}

impl SshParser {
    fn identification<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let i = dir.index();
        let max = if buf.starts_with(b"SSH-") {
            MAX_BANNER
        } else {
            MAX_LINE
        };
        let (text, len) = match line(buf, max) {
            Err(e) => return Parsed::Invalid(e),
            Ok(None) => {
                return Parsed::Incomplete {
                    needed: max - buf.len(),
                }
            }
            Ok(Some(l)) => l,
        };
        if let Some(b) = Banner::parse(text) {
            self.phase[i] = Phase::Packets;
            return Parsed::Pdu {
                pdu: Pdu::Banner(b),
                len,
            };
        }
        // Only a server may speak before its banner (RFC 4253 §4.2), and not for long.
        if dir == Direction::ToServer || text.starts_with(b"SSH-") || self.lines[i] >= MAX_LINES {
            return Parsed::Invalid(Error::InvalidBanner);
        }
        self.lines[i] += 1;
        Parsed::Pdu {
            pdu: Pdu::Line(text),
            len,
        }
    }

    fn packet<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let Some(h) = buf.get(..5) else {
            return Parsed::Incomplete {
                needed: 5 - buf.len(),
            };
        };
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let padding = h[4];
        if !(5..=MAX_PACKET as u32 - 4).contains(&len) {
            return Parsed::Invalid(Error::PacketLength(len));
        }
        // Bounded by MAX_PACKET just above.
        let len = len as usize;
        if usize::from(padding) + 1 >= len {
            return Parsed::Invalid(Error::Padding(padding));
        }
        let parsed = Parsed::take(buf, 4 + len, |p| {
            let payload = &p[5..4 + len - usize::from(padding)];
            Pdu::Packet {
                msg_type: payload[0],
                payload,
            }
        });
        if let Parsed::Pdu {
            pdu:
                Pdu::Packet {
                    msg_type: msg::NEWKEYS,
                    ..
                },
            ..
        } = parsed
        {
            self.phase[dir.index()] = Phase::Encrypted;
        }
        parsed
    }
}

impl StreamParser for SshParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Ssh;
    const MAX_PDU: usize = MAX_PACKET;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        match self.phase[dir.index()] {
            Phase::Identification => self.identification(dir, buf),
            Phase::Packets => self.packet(dir, buf),
            Phase::Encrypted => Parsed::Pdu {
                pdu: Pdu::Encrypted(buf.len()),
                len: buf.len(),
            },
        }
    }

    /// After a gap the packet boundaries are lost for good: the rest of the direction is
    /// counted as if encrypted, which it will be soon enough.
    fn resync(&mut self, dir: Direction, buf: &[u8]) -> bool {
        let i = dir.index();
        if self.phase[i] == Phase::Identification {
            return buf.starts_with(b"SSH-");
        }
        self.phase[i] = Phase::Encrypted;
        true
    }
}

#[cfg(test)]
mod tests;
