//! FTP (RFC 959, RFC 2428): the control connection's command and reply lines, and the data
//! connections they announce.
//!
//! The control connection is lines both ways. A command is a verb and its argument; a reply
//! is a three-digit code and text, over several lines when the first writes `123-` (it ends
//! at the line that starts `123 `). Lines are framed one at a time and capped at
//! [`MAX_LINE`]: a longer one is cut there and marked truncated, and the rest of it skipped,
//! so a long line never costs the stream its framing. After `AUTH TLS` is accepted (234) the
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

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered FTP control port.
pub const PORT: u16 = 21;

/// The longest line kept, line end excluded: Suricata's default `max-line-length`.
pub const MAX_LINE: usize = 4096;

/// FTP frames every byte it is given (lines, cut or whole): nothing makes it lose framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {}

impl fmt::Display for Error {
    fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {}
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match *self {}
    }
}

/// A command line: its verb, upper-cased by the reader, and its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    /// As sent; compare with [`Command::is`].
    pub verb: &'a [u8],
    /// After the first space; empty when there is none.
    pub arg: &'a [u8],
    /// The whole line, line end excluded.
    pub line: &'a [u8],
    /// The line was longer than [`MAX_LINE`] and is cut there.
    pub truncated: bool,
}

impl Command<'_> {
    /// Whether the verb is `v` (upper case), as FTP compares verbs: without case.
    pub fn is(&self, v: &[u8]) -> bool {
        self.verb.eq_ignore_ascii_case(v)
    }

    /// Whether the verb is letters, as every FTP command is (RFC 959 §5.3.1).
    pub fn well_formed(&self) -> bool {
        (3..=4).contains(&self.verb.len()) && self.verb.iter().all(u8::is_ascii_alphabetic)
    }
}

/// A reply line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The code the line starts with; `None` for a line inside a multi-line reply that does
    /// not start with one.
    pub code: Option<u16>,
    /// `123-`: more lines follow, up to the one starting `123 `.
    pub more: bool,
    /// The line after the code and its separator (the whole line when there is no code).
    pub text: &'a [u8],
    /// The whole line, line end excluded.
    pub line: &'a [u8],
    pub truncated: bool,
}

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

/// A reply line's code: three digits and a space, a dash or the line's end.
fn reply_code(line: &[u8]) -> Option<(u16, bool, &[u8])> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = d.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0'));
    match line.get(3) {
        None => Some((code, false, &line[3..])),
        Some(b' ') => Some((code, false, &line[4..])),
        Some(b'-') => Some((code, true, &line[4..])),
        Some(_) => None,
    }
}

fn command(line: &[u8], truncated: bool) -> Command<'_> {
    let (verb, arg) = match line.iter().position(|&b| b == b' ') {
        Some(sp) => (&line[..sp], &line[sp + 1..]),
        None => (line, &line[line.len()..]),
    };
    Command {
        verb,
        arg,
        line,
        truncated,
    }
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
            let c = command(line.strip_suffix(b"\r").unwrap_or(line), false);
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
#[derive(Clone, Debug, Default)]
pub struct FtpParser {
    /// Skipping the rest of a line cut at [`MAX_LINE`], per direction.
    skipping: [bool; 2],
    /// `AUTH` was the last command; a 234 reply to it starts TLS.
    auth_pending: bool,
    encrypted: bool,
}

impl StreamParser for FtpParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Ftp;
    const MAX_PDU: usize = MAX_LINE + 2;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let len = buf.len();
        if self.encrypted {
            return Parsed::Pdu {
                pdu: Pdu::Encrypted(len),
                len,
            };
        }
        let i = dir.index();
        let nl = buf.iter().take(MAX_LINE + 2).position(|&b| b == b'\n');
        if self.skipping[i] {
            let (skip, done) = match buf.iter().position(|&b| b == b'\n') {
                Some(nl) => (nl + 1, true),
                None => (len, false),
            };
            self.skipping[i] = !done;
            return Parsed::Pdu {
                pdu: Pdu::Skipped(skip),
                len: skip,
            };
        }
        let (line, len, truncated) = match nl {
            Some(nl) => {
                let l = &buf[..nl];
                (l.strip_suffix(b"\r").unwrap_or(l), nl + 1, false)
            }
            None if len >= MAX_LINE + 2 => {
                self.skipping[i] = true;
                (&buf[..MAX_LINE], MAX_LINE, true)
            }
            None => {
                return Parsed::Incomplete {
                    needed: MAX_LINE + 2 - len,
                }
            }
        };
        let truncated = truncated || line.len() > MAX_LINE;
        let line = &line[..line.len().min(MAX_LINE)];
        let pdu = match dir {
            Direction::ToServer => {
                let c = command(line, truncated);
                self.auth_pending = c.is(b"AUTH");
                Pdu::Command(c)
            }
            Direction::ToClient => {
                let reply = match reply_code(line) {
                    Some((code, more, text)) => Reply {
                        code: Some(code),
                        more,
                        text,
                        line,
                        truncated,
                    },
                    None => Reply {
                        code: None,
                        more: true,
                        text: line,
                        line,
                        truncated,
                    },
                };
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
