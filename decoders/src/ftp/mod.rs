//! FTP (RFC 959, RFC 2428): the control connection's command and reply lines, and the data
//! connections they announce.
//!
//! The control connection is lines both ways. A command is a verb and its argument; a reply
//! is a three-digit code and text, over several lines when the first writes `123-` (it ends
//! at the line that starts `123 `). Lines are framed one at a time and capped at
//! [`MAX_LINE`], or what [`FtpParser::set_max_line`] sets (Suricata's `max-line-length`): a
//! longer one is cut there and marked truncated, and the rest of it skipped, so a long line
//! never costs the stream its framing. After `AUTH TLS` is accepted (234) the
//! connection is TLS and only counted.
//!
//! The data connections are announced by `PASV` (227), `EPSV` (229), `PORT` and `EPRT`
//! ([`port`]); the sensor expects them, and `decoders::ftp_data` reads what they carry.
//!
//! * [`port`]: the addresses and ports of the data connection;
//! * [`tx`]: a command and its replies, what signatures inspect.

pub mod port;
pub mod tx;

pub use tx::{DataCommand, Progress, Transaction};

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};
use crate::line::{self, reply_code};

/// The registered FTP control port.
pub const PORT: u16 = 21;

/// The longest line kept, line end excluded: Suricata's default `max-line-length`.
pub const MAX_LINE: usize = 4096;

/// The most a configured line cap may be.
pub const MAX_LINE_LIMIT: usize = 65_536;

/// FTP frames every byte it is given (lines, whole or cut): nothing makes it lose framing.
pub type Error = line::NoError;

pub use line::{Command, Reply};

/// One PDU of a control connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    Command(Command<'a>),
    Reply(Reply<'a>),
    /// The rest of a line cut at [`MAX_LINE`], skipped.
    Skipped(usize),
    /// Bytes after TLS was agreed, counted only.
    Encrypted(usize),
}

/// Whether the first payload of a direction looks like FTP: a greeting that names FTP to the
/// client, a login command to the server. A bare `220` greeting is SMTP's too, so it is only
/// not contradicted.
pub fn probe(dir: Direction, bytes: &[u8]) -> Probe {
    let Some(end) = bytes.iter().take(MAX_LINE).position(|&b| b == b'\n') else {
        return if bytes.len() >= MAX_LINE {
            Probe::NoMatch
        } else {
            // Too short to tell, unless what is there already disagrees.
            let starts = match dir {
                Direction::ToClient => bytes.iter().take(3).all(u8::is_ascii_digit),
                Direction::ToServer => bytes.iter().take(4).all(u8::is_ascii_alphabetic),
            };
            if starts {
                Probe::NeedMore
            } else {
                Probe::NoMatch
            }
        };
    };
    let line = &bytes[..end];
    let has = |needle: &[u8]| {
        line.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    match dir {
        Direction::ToClient => match reply_code(line.strip_suffix(b"\r").unwrap_or(line)) {
            Some((220, _, _)) if has(b"FTP") => Probe::Match,
            Some((220, _, _)) if !has(b"SMTP") => Probe::NeedMore,
            _ => Probe::NoMatch,
        },
        Direction::ToServer => {
            let c = Command::read(line.strip_suffix(b"\r").unwrap_or(line), false);
            if [&b"USER"[..], b"AUTH", b"FEAT", b"OPTS"]
                .iter()
                .any(|v| c.is(v))
            {
                Probe::Match
            } else {
                Probe::NoMatch
            }
        }
    }
}

/// Frames a control connection into lines.
#[derive(Clone, Debug)]
pub struct FtpParser {
    /// The longest line kept.
    max_line: usize,
    /// Skipping the rest of a line cut at the cap, per direction.
    skipping: [bool; 2],
    /// `AUTH` was the last command; a 234 reply to it starts TLS.
    auth_pending: bool,
    encrypted: bool,
}

impl Default for FtpParser {
    fn default() -> Self {
        FtpParser {
            max_line: MAX_LINE,
            skipping: [false; 2],
            auth_pending: false,
            encrypted: false,
        }
    }
}

impl FtpParser {
    /// Keep lines up to `max` bytes (clamped to 1..=[`MAX_LINE_LIMIT`]).
    pub fn set_max_line(&mut self, max: usize) {
        self.max_line = max.clamp(1, MAX_LINE_LIMIT);
    }
}

impl StreamParser for FtpParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Ftp;
    const MAX_PDU: usize = MAX_LINE_LIMIT + 2;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let len = buf.len();
        if self.encrypted {
            return Parsed::Pdu {
                pdu: Pdu::Encrypted(len),
                len,
            };
        }
        let skipping = &mut self.skipping[dir.index()];
        let (line, len, truncated) =
            match line::frame_text(buf, self.max_line, skipping, Pdu::Skipped) {
                Ok(l) => l,
                Err(answer) => return answer,
            };
        let pdu = match dir {
            Direction::ToServer => {
                let c = Command::read(line, truncated);
                self.auth_pending = c.is(b"AUTH");
                Pdu::Command(c)
            }
            Direction::ToClient => {
                let reply = Reply::read(line, truncated);
                if reply.code == Some(234) && std::mem::take(&mut self.auth_pending) {
                    self.encrypted = true;
                }
                Pdu::Reply(reply)
            }
        };
        Parsed::Pdu { pdu, len }
    }

    /// After a gap: resume at the next chunk that starts a line of the right kind.
    fn resync(&mut self, dir: Direction, buf: &[u8]) -> bool {
        self.skipping[dir.index()] = false;
        self.encrypted
            || match dir {
                Direction::ToServer => buf.first().is_some_and(u8::is_ascii_alphabetic),
                Direction::ToClient => buf.first().is_some_and(u8::is_ascii_digit),
            }
    }
}

#[cfg(test)]
mod tests;
