//! Suricata-compatible rules for icsight.
//!
//! A rules file is read in two steps. [`text`] cuts it into rules (comments, continuation
//! lines, the line each rule starts on) and each rule into its header and its options, without
//! knowing any keyword. [`header`] then gives the header meaning: the action, the protocol,
//! address and port expressions (with `$VARIABLES` from the configuration) and the direction;
//! [`signature`] the identity options and the contents with their modifiers.
//! Every error names the line it comes from, and one bad rule never stops the others.

pub mod content;
pub mod header;
pub mod signature;
pub mod text;
pub mod vars;

pub use content::Content;
pub use header::{Action, AddrExpr, Direction, Header, PortExpr, Protocol};
pub use signature::{parse_rules, Signature};
pub use text::{split_rules, RawOption, RawRule, RuleText};
pub use vars::Vars;

/// What is wrong with one rule, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct Error {
    /// The line the rule starts on, from 1.
    pub line: usize,
    pub message: String,
}

impl Error {
    pub fn new(line: usize, message: impl Into<String>) -> Self {
        Error {
            line,
            message: message.into(),
        }
    }
}
