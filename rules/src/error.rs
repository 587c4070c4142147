//! What is wrong with an option's value (or with a header's address or port): [`KeywordError`].
//!
//! Each keyword parser returns one; a rule that fails is refused with a [`crate::Error`] that
//! names its line, holds the keyword error as its `kind` and renders it, after the keyword's
//! name where the rule text does not make it plain, as its `message`. Variants carry the
//! offending value and what was expected rather than a finished sentence, so that callers and
//! tests can tell one refusal from another without reading text.

use std::fmt;

/// Why a keyword's value (or a header field) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeywordError {
    /// The keyword was written without the value it needs.
    #[error("`{keyword}` needs a value")]
    MissingValue { keyword: String },
    /// A part of the value is missing: `threshold needs \`count\``.
    #[error("{keyword} needs {what}")]
    Missing { keyword: String, what: &'static str },
    /// A value given to a keyword that takes none.
    #[error("{keyword} takes no value (`{value}`)")]
    TakesNoValue {
        keyword: &'static str,
        value: String,
    },
    /// The value does not have the keyword's shape.
    #[error("{keyword} is `{form}`")]
    Form {
        keyword: &'static str,
        form: &'static str,
    },
    /// Neither decimal nor `0x` hex.
    #[error("`{value}` is not a number")]
    NotANumber { value: String },
    /// A number too large for what it counts.
    #[error("`{value}` is too large")]
    TooLarge { value: String },
    /// Not a number within `min..=max`.
    #[error("`{value}` is not a number from {min} to {max}")]
    OutOfRange { value: String, min: u64, max: u64 },
    /// `keyword:value` where the value must be an unsigned integer.
    #[error("`{keyword}:{value}`: not a whole number")]
    NotAWholeNumber { keyword: String, value: String },
    /// `keyword:value` where the value must be a (signed) integer.
    #[error("`{keyword}:{value}`: not a number")]
    NotAnInteger { keyword: String, value: String },
    /// A value that is not what its place requires, `name` being what the place is called.
    #[error("{}`{value}` is not {expected}", Named(*name))]
    Invalid {
        name: Option<&'static str>,
        value: String,
        expected: &'static str,
    },
    /// A value where something else was expected.
    #[error("{}`{value}`: expected {expected}", Named(*name))]
    Expected {
        name: Option<&'static str>,
        value: String,
        expected: &'static str,
    },
    /// A `byte_*` value or offset that is neither a literal nor a known variable.
    #[error("`{value}` is neither a number nor a byte_extract variable")]
    NotANumberOrVariable { value: String },
    /// Something left over.
    #[error("unexpected `{value}`")]
    Unexpected { value: String },
    /// A name (of a function, area, flag, setting…) the keyword does not know.
    #[error("unknown {what} `{value}`{}", Hint(*hint))]
    Unknown {
        what: &'static str,
        value: String,
        /// What would have been accepted, when the message says so.
        hint: Option<&'static str>,
    },
    /// A range with nothing in it: `8<>5`, `9-3`.
    #[error("`{range}`: the range is empty")]
    EmptyRange { range: String },
    /// `<0`.
    #[error("`{value}` matches nothing")]
    MatchesNothing { value: String },
    /// A port range `lo:hi` with `lo > hi`.
    #[error("range {lo}:{hi} is empty")]
    EmptyPortRange { lo: u16, hi: u16 },
    /// `byte_*` reading a number of bytes it cannot.
    #[error("{nbytes} bytes: must be 1 to {max}{}", StringHint(*max))]
    ByteCount { nbytes: usize, max: usize },
    /// More `byte_extract` variables than a rule may hold.
    #[error("more than {max} byte_extract variables")]
    TooManyVariables { max: usize },
    /// More flowbit names than a ruleset may hold.
    #[error("too many flowbit names")]
    TooManyFlowbits,
    /// A `$VARIABLE` the configuration does not define.
    #[error("variable ${name} is not defined")]
    UndefinedVariable { name: String },
    /// Variables defined in terms of each other.
    #[error("variables refer to each other in a loop")]
    VariableLoop,
    /// A `priority` outside 1–255.
    #[error("priority {value} is not 1–255")]
    Priority { value: u32 },
    /// `modbus: function 0`.
    #[error("function {code} is not a Modbus function")]
    NotAModbusFunction { code: u8 },
    /// `depth:0`.
    #[error("`depth:0` can never match")]
    DepthZero,
    /// A threshold of count 0.
    #[error("threshold count 0 never alerts")]
    CountZero,
    /// A regular expression that does not compile.
    #[error("pcre `/{expression}/`: {reason}")]
    Regex { expression: String, reason: String },
    /// `pcre` not written `/REGEX/FLAGS`.
    #[error("pcre must be written /REGEX/FLAGS")]
    PcreForm,
    /// `pcre:"/…"` without its closing slash.
    #[error("pcre has no closing `/`")]
    PcreUnclosed,
    /// Two pcre flags that each select an HTTP buffer.
    #[error("pcre flags select two HTTP buffers")]
    PcreTwoBuffers,
    /// The `dce` flag of the `byte_*` keywords.
    #[error("`dce` needs DCE/RPC, which this sensor does not decode")]
    Dce,
    /// A sticky buffer of a protocol the sensor does not decode (`http.uri`, `dns.query`…).
    #[error("`{keyword}`: this sensor does not decode that protocol")]
    UndecodedProtocol { keyword: String },
    /// A classtype the classification lacks.
    #[error("classtype `{classtype}` is not in the classification")]
    UnknownClasstype { classtype: String },
    /// A syntax error inside a content (or quoted) string.
    #[error("{0}")]
    Text(TextError),
    /// A syntax error in an address or port expression.
    #[error("{0}")]
    List(ListError),
    /// Options (or parts of one) that cannot go together.
    #[error("{0}")]
    Conflict(Conflict),
    /// An error in one part of a value, named by `context` (`multiplier: …`,
    /// `after \`unit\`: …`).
    #[error("{context}: {error}")]
    In {
        context: &'static str,
        error: Box<KeywordError>,
    },
}

/// A syntax error in a content string (`content:"…"`) or a quoted text (`msg:"…"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("empty content")]
    Empty,
    #[error("odd number of hex digits")]
    OddHexDigits,
    #[error("a hex byte split by a space")]
    SplitHexByte,
    #[error("`{0}` is not a hex digit")]
    NotHexDigit(char),
    #[error("`\\{0}` is not an escape (\\\" \\; \\\\ \\:)")]
    NotAnEscape(char),
    #[error("a lone `\\` at the end")]
    LoneBackslash,
    /// `"` or `;` that should have been escaped.
    #[error("an unescaped `{0}` inside the content")]
    Unescaped(char),
    #[error("a hex section `|…` is not closed")]
    UnclosedHex,
}

/// A syntax error in an address or port expression: its brackets, or nothing where a member
/// or a port should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// An unmatched `[` or `]`.
    #[error("unbalanced `{0}`")]
    Unbalanced(char),
    #[error("empty list member")]
    EmptyMember,
    #[error("empty port")]
    EmptyPort,
}

/// Options, or parts of one option, that cannot go together: no traffic could match them, or
/// they contradict each other.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error("flow: both directions given")]
    BothDirections,
    #[error("flowbits names mix `&` and `|`")]
    FlowbitsAndOr,
    #[error("`startswith` cannot be combined with `offset` or `distance`")]
    StartswithOffset,
    #[error("`unit` given twice")]
    UnitTwice,
    #[error("byte_extract variable `{name}` is defined twice")]
    VariableTwice { name: String },
    #[error("a subfunction needs a numeric function")]
    SubfunctionWithoutFunction,
    #[error("a value needs a single address, not a range")]
    ValueWithRange,
    #[error("a value can only be matched on write access")]
    ValueWithRead,
    /// A write to a Modbus table that can only be read.
    #[error("{table} can only be read")]
    ReadOnly { table: &'static str },
    #[error("only one threshold or detection_filter")]
    TwoThresholds,
    #[error("keywords of more than one application protocol")]
    IcsProtocols,
    #[error("ICS keywords in an icmp rule")]
    IcsInIcmp,
    /// A GOOSE or Sampled Values rule that reads anything but the frame's fields or the
    /// follower's events.
    #[error("a {rule} rule reads its frame's fields ({rule}.* keywords) or app-layer-event, nothing else")]
    FrameRule { rule: &'static str },
    /// A packet-header keyword (`flags`, `ttl`, `itype`…) with ICS transaction keywords or
    /// `flow:only_stream`: one looks at a packet, the other at a transaction or a stream.
    #[error("packet header keywords with transaction or stream-only keywords")]
    HeaderNotPacket,
    /// Keywords of one protocol in a rule whose header names another.
    #[error("{keywords} keywords in a {rule} rule")]
    Protocol {
        keywords: &'static str,
        rule: &'static str,
    },
    #[error("s7comm keywords in an s7commplus rule")]
    S7InPlus,
    #[error("s7commplus keywords in an s7comm rule")]
    PlusInS7,
    #[error("s7comm.param looks at S7comm PDUs, not at S7comm-plus frames")]
    S7ParamInPlus,
    #[error("app-layer-event cannot be combined with transaction keywords")]
    EventWithTransaction,
    #[error("app-layer-event cannot be combined with payload keywords")]
    EventWithPayload,
    #[error("dsize looks at packets, not at transactions")]
    DsizeWithTransaction,
    #[error("payload keywords with transaction keywords: put them after a sticky buffer (dnp3_data, s7comm.param)")]
    PayloadWithTransaction,
}

impl From<TextError> for KeywordError {
    fn from(e: TextError) -> Self {
        KeywordError::Text(e)
    }
}

impl From<ListError> for KeywordError {
    fn from(e: ListError) -> Self {
        KeywordError::List(e)
    }
}

impl From<Conflict> for KeywordError {
    fn from(e: Conflict) -> Self {
        KeywordError::Conflict(e)
    }
}

impl KeywordError {
    /// This error as part of the value named `context`.
    pub fn inside(self, context: &'static str) -> Self {
        KeywordError::In {
            context,
            error: Box::new(self),
        }
    }

    /// [`KeywordError::Unknown`] without a hint.
    pub fn unknown(what: &'static str, value: impl Into<String>) -> Self {
        KeywordError::Unknown {
            what,
            value: value.into(),
            hint: None,
        }
    }

    /// [`KeywordError::Invalid`]: `value` (in the place called `name`) is not `expected`.
    pub fn invalid(
        name: Option<&'static str>,
        value: impl Into<String>,
        expected: &'static str,
    ) -> Self {
        KeywordError::Invalid {
            name,
            value: value.into(),
            expected,
        }
    }
}

/// `name ` before a value, or nothing.
struct Named(Option<&'static str>);

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(n) => write!(f, "{n} "),
            None => Ok(()),
        }
    }
}

/// Past 8 bytes, what `string` would allow.
struct StringHint(usize);

impl fmt::Display for StringHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 8 {
            f.write_str(" (or up to 23 with `string`)")
        } else {
            Ok(())
        }
    }
}

/// ` (hint)` after an unknown name, or nothing.
struct Hint(Option<&'static str>);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(h) => write!(f, " ({h})"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::byte::ByteJump;
    use crate::modbus::ModbusMatch;
    use crate::s7comm::S7Match;
    use crate::{dnp3, parse_rules, Vars};

    #[test]
    fn display_renders_the_rule_writers_messages() {
        let unknown = KeywordError::unknown("S7 area", "nonsense");
        assert_eq!(unknown.to_string(), "unknown S7 area `nonsense`");
        let hinted = KeywordError::Unknown {
            what: "function",
            value: "sometimes".into(),
            hint: Some("a number or a category"),
        };
        assert_eq!(
            hinted.to_string(),
            "unknown function `sometimes` (a number or a category)"
        );
        let range = KeywordError::OutOfRange {
            value: "70000".into(),
            min: 0,
            max: 65535,
        };
        assert_eq!(range.to_string(), "`70000` is not a number from 0 to 65535");
        assert_eq!(
            KeywordError::invalid(Some("isdataat"), "x", "a whole number").to_string(),
            "isdataat `x` is not a whole number"
        );
        assert_eq!(
            KeywordError::invalid(None, "70000", "a port (0–65535)").to_string(),
            "`70000` is not a port (0–65535)"
        );
        let bytes = |max| KeywordError::ByteCount { nbytes: 30, max };
        assert_eq!(
            bytes(8).to_string(),
            "30 bytes: must be 1 to 8 (or up to 23 with `string`)"
        );
        assert_eq!(bytes(23).to_string(), "30 bytes: must be 1 to 23");
        let nested = KeywordError::NotANumber { value: "x".into() }.inside("multiplier");
        assert_eq!(nested.to_string(), "multiplier: `x` is not a number");
        assert_eq!(
            KeywordError::from(TextError::NotAnEscape('n')).to_string(),
            r#"`\n` is not an escape (\" \; \\ \:)"#
        );
        assert_eq!(
            KeywordError::from(TextError::Unescaped(';')).to_string(),
            "an unescaped `;` inside the content"
        );
        let mixed = Conflict::Protocol {
            keywords: "modbus",
            rule: "dnp3",
        };
        assert_eq!(
            KeywordError::from(mixed).to_string(),
            "modbus keywords in a dnp3 rule"
        );
        assert_eq!(
            Conflict::S7InPlus.to_string(),
            "s7comm keywords in an s7commplus rule"
        );
    }

    #[test]
    fn bad_values_give_their_variant() {
        assert_eq!(
            ModbusMatch::parse("unit 70000"),
            Err(KeywordError::OutOfRange {
                value: "70000".into(),
                min: 0,
                max: 65535
            })
        );
        // Not a Modbus function code (1–255): refused as neither a number nor a category.
        assert_eq!(
            ModbusMatch::parse("function 300"),
            Err(KeywordError::Unknown {
                what: "function",
                value: "300".into(),
                hint: Some("a number or a category"),
            })
        );
        assert_eq!(
            ModbusMatch::parse("function 0"),
            Err(KeywordError::NotAModbusFunction { code: 0 })
        );
        assert_eq!(
            ModbusMatch::parse("unit 1, unit 2"),
            Err(Conflict::UnitTwice.into())
        );
        assert_eq!(
            ModbusMatch::parse("unit 1, function 0"),
            Err(KeywordError::NotAModbusFunction { code: 0 }.inside("after `unit`"))
        );
        assert_eq!(
            S7Match::parse("s7comm.area", Some("nonsense")),
            Err(KeywordError::unknown("S7 area", "nonsense"))
        );
        assert_eq!(
            S7Match::parse("s7comm.szl", Some("0x1ffff")),
            Err(KeywordError::TooLarge {
                value: "0x1ffff".into()
            })
        );
        assert_eq!(
            S7Match::parse("s7comm.function", None),
            Err(KeywordError::MissingValue {
                keyword: "s7comm.function".into()
            })
        );
        assert_eq!(
            dnp3::parse_obj("300,1"),
            Err(KeywordError::OutOfRange {
                value: "300".into(),
                min: 0,
                max: 255
            })
        );
        assert_eq!(
            ByteJump::parse("1,0,multiplier x", &[]),
            Err(KeywordError::NotANumber { value: "x".into() }.inside("multiplier"))
        );
    }

    #[test]
    fn a_refused_rule_carries_its_keyword_error() {
        let text = "\
alert tcp any any -> any 502 (modbus: function 300; sid:1;)
alert tcp any any -> any any (content:\"|0|\"; sid:2;)
alert tcp any any -> any any (byte_math:bytes 1, offset 0, oper +, rvalue 1, result x; sid:3;)
alert tcp any any -> any any (msg:\"fine\"; sid:4;)
alert tcp any 70000 -> any any (sid:5;)
";
        let (sigs, errs) = parse_rules(text, &Vars::suricata_defaults());
        assert_eq!(sigs.iter().map(|s| s.sid).collect::<Vec<_>>(), [4]);
        assert_eq!(errs.len(), 4);
        assert_eq!(
            errs[0].to_string(),
            "line 1: modbus: unknown function `300` (a number or a category)"
        );
        assert!(matches!(
            errs[0].kind,
            Some(KeywordError::Unknown {
                what: "function",
                ..
            })
        ));
        assert_eq!(errs[1].message, "content: odd number of hex digits");
        assert_eq!(
            errs[1].kind,
            Some(KeywordError::Text(TextError::OddHexDigits))
        );
        assert_eq!(errs[2].message, "keyword `byte_math` is not supported");
        assert_eq!(errs[2].kind, None);
        assert_eq!(
            errs[3].message,
            "port `70000`: `70000` is not a port (0–65535)"
        );
        assert!(matches!(
            errs[3].kind,
            Some(KeywordError::Invalid { name: None, .. })
        ));
    }
}
