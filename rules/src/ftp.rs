//! The FTP keywords. On the control connection: the sticky buffers `ftp.command`,
//! `ftp.command_data`, `ftp.reply` (each reply line in turn) and `ftp.completion_code` (each
//! code in turn), and the value keywords `ftp.dynamic_port`, `ftp.mode`,
//! `ftp.reply_received` and `ftpbounce`. On a data connection (`alert ftp-data`):
//! `ftpdata_command`, `file_data` (the bytes transferred) and `file.name`.
//!
//! A control-connection rule is inspected when the command arrives if it reads only the
//! command, else once the command's final reply is in.

use std::net::IpAddr;

use decoders::ftp::{DataCommand, Progress, Transaction};
use decoders::Direction;

use crate::num::UintMatch;
use crate::KeywordError;

/// A buffer of an FTP transaction, or of a data connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    Command,
    CommandData,
    /// Each reply line's text.
    Reply,
    /// Each reply line's code.
    CompletionCode,
    /// What a data connection carried (`file_data` in an `ftp-data` rule).
    Data,
    /// The file a data connection was opened for (`file.name` in an `ftp-data` rule).
    FileName,
    /// The command line as sent: what the payload keywords of a rule with FTP keywords read
    /// (`content:"PORT"; ftpbounce;`), as Suricata reads them on the stream.
    Line,
}

impl Buf {
    pub fn sticky(name: &str) -> Option<Self> {
        Some(match name {
            "ftp.command" => Buf::Command,
            "ftp.command_data" => Buf::CommandData,
            "ftp.reply" => Buf::Reply,
            "ftp.completion_code" => Buf::CompletionCode,
            _ => return None,
        })
    }

    /// Whether the buffer is a data connection's rather than the control connection's.
    pub fn on_data(self) -> bool {
        matches!(self, Buf::Data | Buf::FileName)
    }

    /// When the buffer is there to inspect.
    pub fn ready_at(self) -> Progress {
        match self {
            Buf::Command | Buf::CommandData | Buf::Data | Buf::FileName | Buf::Line => {
                Progress::Request
            }
            Buf::Reply | Buf::CompletionCode => Progress::Response,
        }
    }

    /// Each instance of the buffer in `tx`, in turn.
    pub fn instances(self, tx: &Transaction) -> impl Iterator<Item = &[u8]> {
        let single: Option<&[u8]> = match self {
            _ if tx.command.is_empty()
                && matches!(self, Buf::Command | Buf::CommandData | Buf::Line) =>
            {
                None
            }
            Buf::Command => Some(&tx.command),
            Buf::CommandData => Some(&tx.command_data),
            Buf::Line => Some(&tx.line),
            _ => None,
        };
        let replies: &[Vec<u8>] = if self == Buf::Reply { &tx.replies } else { &[] };
        let codes: &[[u8; 3]] = if self == Buf::CompletionCode {
            &tx.codes
        } else {
            &[]
        };
        single
            .into_iter()
            .chain(replies.iter().map(Vec::as_slice))
            .chain(codes.iter().map(|c| &c[..]))
    }
}

/// An FTP value keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `ftp.dynamic_port`: the data port the transaction announced.
    DynamicPort(UintMatch),
    /// `ftp.mode`: `active` (`PORT`, `EPRT`) or `passive` (`PASV`, `EPSV`).
    Mode { active: bool },
    /// `ftp.reply_received`: `yes` or `no`.
    ReplyReceived(bool),
    /// `ftpbounce`: a `PORT` naming an address other than the client's own.
    Bounce,
    /// `ftpdata_command`: what the data connection was opened for (`retr`, `stor`).
    DataCommand(DataCommand),
}

impl Field {
    pub const KEYWORDS: [&'static str; 5] = [
        "ftp.dynamic_port",
        "ftp.mode",
        "ftp.reply_received",
        "ftpbounce",
        "ftpdata_command",
    ];

    pub fn parse(keyword: &str, value: Option<&str>) -> Result<Self, KeywordError> {
        let v = value.unwrap_or("").trim();
        let word = |expected: &'static str| KeywordError::invalid(None, v, expected);
        Ok(match keyword {
            "ftp.dynamic_port" => Field::DynamicPort(UintMatch::parse(v)?),
            "ftp.mode" => match v {
                "active" => Field::Mode { active: true },
                "passive" => Field::Mode { active: false },
                _ => return Err(word("active or passive")),
            },
            "ftp.reply_received" => match v {
                "yes" | "true" | "on" => Field::ReplyReceived(true),
                "no" | "false" | "off" => Field::ReplyReceived(false),
                _ => return Err(word("yes or no")),
            },
            "ftpbounce" => Field::Bounce,
            _ => match v.to_ascii_uppercase().as_str() {
                "RETR" => Field::DataCommand(DataCommand::Retr),
                "STOR" => Field::DataCommand(DataCommand::Stor),
                _ => return Err(word("retr or stor")),
            },
        })
    }

    /// Whether the keyword reads a data connection rather than the control connection.
    pub fn on_data(&self) -> bool {
        matches!(self, Field::DataCommand(_))
    }

    pub fn ready_at(&self) -> Progress {
        match self {
            Field::Bounce | Field::DataCommand(_) => Progress::Request,
            _ => Progress::Response,
        }
    }

    /// Whether a control-connection transaction matches; `client` is the control
    /// connection's client.
    pub fn matches(&self, tx: &Transaction, client: IpAddr) -> bool {
        match *self {
            Field::DynamicPort(m) => tx.dynamic_port.is_some_and(|p| m.matches(p.into())),
            Field::Mode { active } => tx.active == Some(active),
            Field::ReplyReceived(want) => tx.reply_received == want,
            Field::Bounce => tx.is(b"PORT") && tx.data_addr.is_some_and(|a| a != client),
            Field::DataCommand(_) => false,
        }
    }

    /// Whether a data connection opened for `command` matches, inspected going `dir`: a
    /// download is seen going to the client and an upload going to the server, whichever
    /// end opened the connection (as Suricata has it).
    pub fn matches_data(&self, command: Option<DataCommand>, dir: Direction) -> bool {
        match *self {
            Field::DataCommand(c) => {
                command == Some(c)
                    && match c {
                        DataCommand::Retr => dir == Direction::ToClient,
                        _ => dir == Direction::ToServer,
                    }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_keywords() {
        let mut tx =
            Transaction::request(b"PORT 10,0,0,9,7,138", b"PORT", b"10,0,0,9,7,138", false);
        tx.dynamic_port = Some(1930);
        tx.active = Some(true);
        tx.data_addr = Some(IpAddr::from([10, 0, 0, 9]));
        let client = IpAddr::from([10, 0, 0, 2]);
        let f = |k: &str, v: Option<&str>| Field::parse(k, v).unwrap().matches(&tx, client);
        assert!(f("ftp.dynamic_port", Some("1930")));
        assert!(f("ftp.dynamic_port", Some(">1024")));
        assert!(!f("ftp.dynamic_port", Some("21")));
        assert!(f("ftp.mode", Some("active")));
        assert!(!f("ftp.mode", Some("passive")));
        assert!(f("ftp.reply_received", Some("no")));
        assert!(f("ftpbounce", None));
        assert!(!Field::parse("ftpbounce", None)
            .unwrap()
            .matches(&tx, IpAddr::from([10, 0, 0, 9])));
        assert!(Field::parse("ftp.mode", Some("sideways")).is_err());
        let retr = Field::parse("ftpdata_command", Some("retr")).unwrap();
        assert!(retr.matches_data(Some(DataCommand::Retr), Direction::ToClient));
        assert!(!retr.matches_data(Some(DataCommand::Retr), Direction::ToServer));
        assert!(!retr.matches_data(Some(DataCommand::Stor), Direction::ToClient));
        assert!(Field::parse("ftpdata_command", Some("list")).is_err());
        tx.reply(Some(200), b"PORT command successful", false);
        assert!(Buf::CompletionCode.instances(&tx).any(|c| c == b"200"));
        assert!(Buf::Reply.instances(&tx).any(|r| r.starts_with(b"PORT")));
        assert_eq!(Buf::Command.instances(&tx).collect::<Vec<_>>(), [b"PORT"]);
        assert_eq!(Buf::Command.instances(&Transaction::default()).count(), 0);
    }
}
