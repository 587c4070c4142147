//! Suricata-compatible rules for icsight, with keywords for Modbus, DNP3, S7comm and
//! S7comm-plus.
//!
//! A rules file is read in layers. [`text`] cuts it into rules and each rule into header and
//! options; [`header`] gives the header meaning (action, protocol, addresses, ports, with
//! `$VARIABLES`); [`signature`] every option, through the module of its concept — [`content`],
//! [`pcre`], [`byte`], [`payload`] for bytes, [`flow`], [`flowint`], [`threshold`], and one module per
//! protocol ([`modbus`], [`dnp3`], [`s7comm`]). [`engine`] compiles the rules into a
//! [`Ruleset`] that packets, transactions and events are matched against, through the
//! multi-pattern [`prefilter`]; [`load`] reads files and directories, holding bulletins' rules
//! to [`bulletin`]'s limits. Every error names the line it comes from, and one bad rule never
//! stops the others; what is wrong with an option's value
//! is a typed [`KeywordError`] ([`error`]).

pub mod asn1;
pub mod attack;
pub mod base64;
pub mod bulletin;
pub mod byte;
pub mod classification;
pub mod content;
pub mod dataset;
pub mod default;
pub mod dnp3;
pub mod dns;
pub mod engine;
pub mod enip;
pub mod error;
pub mod flow;
pub mod flowint;
pub mod ftp;
pub mod goose;
pub mod header;
pub mod http;
pub mod iec104;
pub mod load;
pub mod lua;
pub mod mms;
pub mod modbus;
pub mod num;
pub mod opcua;
pub mod packet;
pub mod payload;
pub mod pcre;
pub mod prefilter;
pub mod s7comm;
pub mod signature;
pub mod smb;
pub mod smtp;
pub mod ssh;
pub mod tag;
pub mod text;
pub mod threshold;
pub mod tls;
pub mod vars;
pub mod xbits;

pub use classification::Classification;
pub use content::Content;
pub use engine::{Detector, PacketView, Rule, Ruleset, Transport};
pub use error::{Conflict, KeywordError, ListError, TextError};
pub use flow::FlowVars;
pub use header::{Action, AddrExpr, Direction, Header, PortExpr, Protocol};
pub use load::{load, load_layered, load_sources, LoadError, LoadOptions, Loaded};
pub use packet::{IcmpFields, IpFields};
pub use signature::{parse_rules, parse_rules_with, Signature};
pub use text::{split_rules, RawOption, RawRule, RuleText};
pub use vars::Vars;

/// What is wrong with one rule, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Error {
    /// The line the rule starts on, from 1.
    pub line: usize,
    pub message: String,
    /// The keyword error behind `message`, when the rule was refused for an option's value (or
    /// a header's address or port); `None` for the rule's own structure (fields, `sid`, an
    /// unsupported keyword…).
    pub kind: Option<KeywordError>,
}

impl Error {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        Error {
            line,
            message: message.into(),
            kind: None,
        }
    }

    /// A rule refused for `kind`; the message is its text.
    pub fn keyword(line: usize, kind: KeywordError) -> Self {
        Error {
            line,
            message: kind.to_string(),
            kind: Some(kind),
        }
    }

    /// A rule refused for `kind`, in what `context` names: the message is `context: kind`.
    pub fn keyword_in(line: usize, context: &str, kind: KeywordError) -> Self {
        Error {
            line,
            message: format!("{context}: {kind}"),
            kind: Some(kind),
        }
    }
}
