//! Rule text: from a file to rules, and from a rule to its header and options.
//!
//! As Suricata reads them: `#` starts a comment line, a line ending in `\` continues on the
//! next, and a rule is `HEADER (name; name:value; …)`. An option value runs to the first `;`
//! not escaped by `\`; quotes do not protect a `;` (Suricata writes `content:"a|3B|b"` or
//! `"a\;b"`). Values are kept as written, escapes included: each keyword unescapes its own.

use crate::Error;

/// One rule as written in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleText {
    /// The line the rule starts on, from 1.
    pub line: usize,
    /// The rule, continuation lines joined.
    pub text: String,
}

/// Cut a rules file into rules, skipping blank lines and comments.
pub fn split_rules(file: &str) -> Vec<RuleText> {
    let mut out = Vec::new();
    let mut pending: Option<RuleText> = None;
    for (i, line) in file.lines().enumerate() {
        let trimmed = line.trim();
        let (body, continues) = match trimmed.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (trimmed, false),
        };
        match pending.as_mut() {
            Some(rule) => {
                rule.text.push(' ');
                rule.text.push_str(body.trim());
            }
            None if trimmed.is_empty() || trimmed.starts_with('#') => continue,
            None => {
                pending = Some(RuleText {
                    line: i + 1,
                    text: body.trim().to_owned(),
                })
            }
        }
        if !continues {
            out.extend(pending.take());
        }
    }
    out.extend(pending);
    out
}

/// One option of a rule: `name` or `name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawOption {
    pub name: String,
    /// The value as written (trimmed), escapes included.
    pub value: Option<String>,
}

/// A rule cut into its header and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRule {
    pub line: usize,
    pub header: String,
    pub options: Vec<RawOption>,
}

impl RawRule {
    /// Cut `rule` into header and options.
    pub fn parse(rule: &RuleText) -> Result<Self, Error> {
        let err = |m: String| Error::new(rule.line, m);
        let text = rule.text.as_str();
        let open = text
            .find('(')
            .ok_or_else(|| err("no option list: a rule is `HEADER (OPTIONS)`".into()))?;
        let body = text[open + 1..].trim_end();
        let body = body
            .strip_suffix(')')
            .ok_or_else(|| err("the option list does not end with `)`".into()))?;
        let mut options = Vec::new();
        let mut rest = body;
        while !rest.trim().is_empty() {
            let end = unescaped(rest, b';').ok_or_else(|| {
                err(format!(
                    "option `{}` is not ended by `;`",
                    rest.trim().chars().take(40).collect::<String>()
                ))
            })?;
            let opt = rest[..end].trim();
            rest = &rest[end + 1..];
            let (name, value) = match opt.find(':') {
                Some(c) => (opt[..c].trim(), Some(opt[c + 1..].trim().to_owned())),
                None => (opt, None),
            };
            if name.is_empty() || !name.bytes().all(is_name_byte) {
                return Err(err(format!("`{opt}` is not an option")));
            }
            options.push(RawOption {
                name: name.to_owned(),
                value,
            });
        }
        Ok(RawRule {
            line: rule.line,
            header: text[..open].trim().to_owned(),
            options,
        })
    }

    /// The value of the first option called `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.name == name)
            .and_then(|o| o.value.as_deref())
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.'
}

/// Byte offset of the first `target` in `s` not preceded by an escaping `\`.
fn unescaped(s: &str, target: u8) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            _ if b == target => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_to_rules() {
        let file = "# a comment\n\nalert tcp any any -> any 502 (msg:\"a\"; \\\n  sid:1;)\n  \
                    # indented comment\nalert udp any any -> any any (sid:2;)\n";
        let rules = split_rules(file);
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].line, 3);
        assert_eq!(
            rules[0].text,
            "alert tcp any any -> any 502 (msg:\"a\"; sid:1;)"
        );
        assert_eq!(rules[1].line, 6);
    }

    #[test]
    fn options_with_escapes() {
        let r = RawRule::parse(&RuleText {
            line: 7,
            text: r#"alert modbus any any -> any 502 (msg:"semi\; colon: \"q\""; content:"|00 01|"; nocase; modbus: function 8, subfunction 1; sid:9;)"#.into(),
        })
        .unwrap();
        assert_eq!(r.header, "alert modbus any any -> any 502");
        let names: Vec<_> = r.options.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["msg", "content", "nocase", "modbus", "sid"]);
        assert_eq!(r.value("msg"), Some(r#""semi\; colon: \"q\"""#));
        assert_eq!(r.value("modbus"), Some("function 8, subfunction 1"));
        assert_eq!(r.options[2].value, None);
    }

    #[test]
    fn malformed_rules_name_their_line() {
        let bad = |t: &str| {
            RawRule::parse(&RuleText {
                line: 12,
                text: t.into(),
            })
            .unwrap_err()
        };
        assert_eq!(bad("alert tcp any any -> any any sid:1;").line, 12);
        assert!(bad("alert tcp any any -> any any (sid:1;")
            .message
            .contains("does not end"));
        assert!(bad("alert tcp any any -> any any (sid:1)")
            .message
            .contains("not ended by `;`"));
        assert!(bad("alert tcp any any -> any any (s id:1;)")
            .message
            .contains("is not an option"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            for r in split_rules(&s) {
                let _ = RawRule::parse(&r);
            }
        }
    }
}
