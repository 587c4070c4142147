//! SMTP (RFC 5321): commands and replies as lines, and the message a `DATA` (or `BDAT`)
//! command sends, line by line until the lone `.` (dot-stuffing undone), or as `BDAT`'s
//! counted chunks (RFC 3030). After `STARTTLS` is accepted (220) the connection is TLS and
//! only counted.
//!
//! Lines are capped ([`MAX_LINE`] for commands and replies, [`MAX_DATA_LINE`] in a message);
//! a longer one is cut and marked, and the rest of it skipped, so nothing loses the stream its
//! framing. The message's MIME structure is read by the sensor once the message is whole.
//!
//! * [`tx`]: a mail transaction (envelope, message, what its MIME parts tell), what
//!   signatures inspect.

pub mod tx;

pub use tx::{path_arg, Attachment, Email, Progress, Transaction};

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};
use crate::line;

pub use crate::line::{Command, Reply};

/// The registered SMTP port.
pub const PORT: u16 = 25;

/// The longest command or reply line kept, line end excluded (Suricata's limit).
pub const MAX_LINE: usize = 4096;
/// The longest message line kept: RFC 5322 allows 998, real mail goes further.
pub const MAX_DATA_LINE: usize = 64 * 1024;

/// SMTP frames every byte it is given.
pub type Error = line::NoError;

/// One PDU of an SMTP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    Command(Command<'a>),
    Reply(Reply<'a>),
    /// A line of a message after `DATA`, its leading dot-stuffing removed, line end excluded.
    DataLine {
        line: &'a [u8],
        truncated: bool,
    },
    /// The lone `.` that ends a message.
    DataEnd,
    /// Bytes of a `BDAT` chunk; `end` on the last bytes of a `BDAT n LAST` chunk.
    Chunk {
        bytes: &'a [u8],
        end: bool,
    },
    /// The rest of a line cut at its cap, skipped.
    Skipped(usize),
    /// Bytes after TLS was agreed, counted only.
    Encrypted(usize),
}

/// What the client's bytes are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Client {
    #[default]
    Commands,
    /// A message after `DATA`, until the lone dot.
    Data,
    /// A `BDAT` chunk: bytes left, and whether it is the last.
    Bdat { left: u64, last: bool },
}

/// Whether the first payload of a direction looks like SMTP: a greeting that names SMTP to
/// the client, a greeting command to the server.
pub fn probe(dir: Direction, bytes: &[u8]) -> Probe {
    let Some(end) = bytes.iter().take(MAX_LINE).position(|&b| b == b'\n') else {
        let starts = match dir {
            Direction::ToClient => bytes.iter().take(3).all(u8::is_ascii_digit),
            Direction::ToServer => bytes.iter().take(4).all(u8::is_ascii_alphabetic),
        };
        return if starts && bytes.len() < MAX_LINE {
            Probe::NeedMore
        } else {
            Probe::NoMatch
        };
    };
    let line = &bytes[..end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match dir {
        Direction::ToClient => {
            let has = |n: &[u8]| line.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
            match line::reply_code(line) {
                Some((220, _, _)) if has(b"SMTP") => Probe::Match,
                Some((220, _, _)) if !has(b"FTP") => Probe::NeedMore,
                _ => Probe::NoMatch,
            }
        }
        Direction::ToServer => {
            let c = Command::read(line, false);
            if c.is(b"EHLO") || c.is(b"HELO") {
                Probe::Match
            } else {
                Probe::NoMatch
            }
        }
    }
}

/// The size and `LAST` of a `BDAT` argument.
pub fn bdat(arg: &[u8]) -> Option<(u64, bool)> {
    let mut words = arg.split(|&b| b == b' ').filter(|w| !w.is_empty());
    let size = core::str::from_utf8(words.next()?).ok()?.parse().ok()?;
    let last = match words.next() {
        None => false,
        Some(w) if w.eq_ignore_ascii_case(b"LAST") => true,
        Some(_) => return None,
    };
    Some((size, last))
}

/// Frames an SMTP connection.
#[derive(Clone, Debug, Default)]
pub struct SmtpParser {
    client: Client,
    skipping: [bool; 2],
    /// `DATA` was sent and its reply has not come: a reply other than 354 ends the message
    /// mode it began.
    data_reply_due: bool,
    starttls_pending: bool,
    encrypted: bool,
}

impl SmtpParser {
    fn client<'a>(&mut self, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        if let Client::Bdat { left, last } = self.client {
            let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
            let left = left - take as u64;
            self.client = if left == 0 {
                Client::Commands
            } else {
                Client::Bdat { left, last }
            };
            return Parsed::Pdu {
                pdu: Pdu::Chunk {
                    bytes: &buf[..take],
                    end: left == 0 && last,
                },
                len: take,
            };
        }
        let data = self.client == Client::Data;
        let max = if data { MAX_DATA_LINE } else { MAX_LINE };
        let skipping = &mut self.skipping[0];
        let (text, len, truncated) = match line::frame_text(buf, max, skipping, Pdu::Skipped) {
            Ok(l) => l,
            Err(answer) => return answer,
        };
        let pdu = if data {
            if text == b"." {
                self.client = Client::Commands;
                Pdu::DataEnd
            } else {
                Pdu::DataLine {
                    line: text.strip_prefix(b".").unwrap_or(text),
                    truncated,
                }
            }
        } else {
            let c = Command::read(text, truncated);
            if c.is(b"DATA") {
                self.client = Client::Data;
                self.data_reply_due = true;
            } else if c.is(b"BDAT") {
                // An empty chunk (`BDAT 0 LAST`) has no bytes to frame.
                if let Some((size @ 1.., last)) = bdat(c.arg) {
                    self.client = Client::Bdat { left: size, last };
                }
            } else if c.is(b"STARTTLS") {
                self.starttls_pending = true;
            }
            Pdu::Command(c)
        };
        Parsed::Pdu { pdu, len }
    }

    fn server<'a>(&mut self, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let skipping = &mut self.skipping[1];
        let (text, len, truncated) = match line::frame_text(buf, MAX_LINE, skipping, Pdu::Skipped) {
            Ok(l) => l,
            Err(answer) => return answer,
        };
        let r = Reply::read(text, truncated);
        if r.more {
            return Parsed::Pdu {
                pdu: Pdu::Reply(r),
                len,
            };
        }
        if std::mem::take(&mut self.data_reply_due) && r.code != Some(354) {
            // The server refused the message: the client's next lines are commands again.
            if self.client == Client::Data {
                self.client = Client::Commands;
            }
        }
        if std::mem::take(&mut self.starttls_pending) && r.code == Some(220) {
            self.encrypted = true;
        }
        Parsed::Pdu {
            pdu: Pdu::Reply(r),
            len,
        }
    }
}

impl StreamParser for SmtpParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Smtp;
    const MAX_PDU: usize = MAX_DATA_LINE + 2;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        if self.encrypted {
            return Parsed::Pdu {
                pdu: Pdu::Encrypted(buf.len()),
                len: buf.len(),
            };
        }
        match dir {
            Direction::ToServer => self.client(buf),
            Direction::ToClient => self.server(buf),
        }
    }

    /// After a gap: a message in progress cannot be trusted to end where it seems to, so the
    /// client's side resumes in command mode at the next line that looks like a command.
    fn resync(&mut self, dir: Direction, buf: &[u8]) -> bool {
        self.skipping[dir.index()] = false;
        if self.encrypted {
            return true;
        }
        match dir {
            Direction::ToServer => {
                let ok = buf.len() >= 4 && buf[..4].iter().all(u8::is_ascii_alphabetic);
                if ok {
                    self.client = Client::Commands;
                }
                ok
            }
            Direction::ToClient => buf.first().is_some_and(u8::is_ascii_digit),
        }
    }
}

#[cfg(test)]
mod tests;
