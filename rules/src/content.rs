//! `content` and its modifiers.
//!
//! A content string mixes text and hex: `"USER|20|root"`, `"|00 01 ff|"`. In text, `\"`, `\;`,
//! `\\` and `\:` stand for the character; `|` toggles hex, whose bytes may be separated by
//! spaces. A leading `!` negates the match. The modifiers that follow a content (`nocase`,
//! `offset`, `depth`, `distance`, `within`, `fast_pattern`, `startswith`, `endswith`) apply to
//! it.

use crate::{Conflict, KeywordError, TextError};

/// One `content` match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Content {
    pub bytes: Vec<u8>,
    pub negated: bool,
    pub nocase: bool,
    pub offset: Option<u32>,
    pub depth: Option<u32>,
    /// Relative to the end of the previous match; may be negative.
    pub distance: Option<i32>,
    pub within: Option<u32>,
    pub fast_pattern: bool,
    pub startswith: bool,
    pub endswith: bool,
    /// A `byte_extract` variable (its index) standing for `offset`, `depth`, `distance`,
    /// `within`, in that order, read when the rule is matched; the field beside it is then
    /// `Some(0)`, so the content is still known relative or anchored.
    pub vars: [Option<u8>; 4],
}

/// The place in [`Content::vars`] of each modifier that may name a variable.
const VAR_SLOTS: [&str; 4] = ["offset", "depth", "distance", "within"];

impl Content {
    /// Parse the value of a `content` option.
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        let (negated, v) = match v.strip_prefix('!') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, v),
        };
        let inner = v
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .ok_or_else(|| KeywordError::invalid(Some("content"), value, "in double quotes"))?;
        let bytes = content_bytes(inner)?;
        if bytes.is_empty() {
            return Err(TextError::Empty.into());
        }
        Ok(Content {
            bytes,
            negated,
            ..Content::default()
        })
    }

    /// Apply one modifier keyword that follows this content; `false` if `name` is not one.
    pub fn modify(&mut self, name: &str, value: Option<&str>) -> Result<bool, KeywordError> {
        self.modify_with(name, value, &[])
    }

    /// [`Content::modify`], where `offset`, `depth`, `distance` and `within` may name one of
    /// the rule's `byte_extract` variables (`names`, in index order).
    pub fn modify_with(
        &mut self,
        name: &str,
        value: Option<&str>,
        names: &[String],
    ) -> Result<bool, KeywordError> {
        let slot = VAR_SLOTS.iter().position(|s| *s == name);
        if let (Some(slot), Some(v)) = (slot, value.map(str::trim)) {
            if let Some(var) = names.iter().position(|n| n == v) {
                self.vars[slot] = Some(var as u8);
                match slot {
                    0 => self.offset = Some(0),
                    1 => self.depth = Some(1),
                    2 => self.distance = Some(0),
                    _ => self.within = Some(0),
                }
                return self.checked();
            }
        }
        let need = || {
            value
                .map(str::trim)
                .ok_or_else(|| KeywordError::MissingValue {
                    keyword: name.into(),
                })
        };
        let unsigned = || -> Result<u32, KeywordError> {
            let v = need()?;
            v.parse().map_err(|_| KeywordError::NotAWholeNumber {
                keyword: name.into(),
                value: v.into(),
            })
        };
        match name {
            "nocase" => self.nocase = true,
            "offset" => self.offset = Some(unsigned()?),
            "depth" => self.depth = Some(unsigned()?),
            "within" => self.within = Some(unsigned()?),
            "distance" => {
                let v = need()?;
                self.distance = Some(v.parse().map_err(|_| KeywordError::NotAnInteger {
                    keyword: name.into(),
                    value: v.into(),
                })?);
            }
            "fast_pattern" => self.fast_pattern = true,
            "startswith" => self.startswith = true,
            "endswith" => self.endswith = true,
            "rawbytes" => {}
            _ => return Ok(false),
        }
        if let Some(slot) = slot {
            self.vars[slot] = None;
        }
        self.checked()
    }

    fn checked(&self) -> Result<bool, KeywordError> {
        if self.depth == Some(0) {
            return Err(KeywordError::DepthZero);
        }
        if self.startswith && (self.offset.is_some() || self.distance.is_some()) {
            return Err(Conflict::StartswithOffset.into());
        }
        Ok(true)
    }
}

/// The bytes a content string stands for.
pub fn content_bytes(s: &str) -> Result<Vec<u8>, TextError> {
    let mut out = Vec::with_capacity(s.len());
    let mut hex = false;
    let mut nibble: Option<u8> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if hex {
            match c {
                '|' => {
                    if nibble.is_some() {
                        return Err(TextError::OddHexDigits);
                    }
                    hex = false;
                }
                c if c.is_ascii_whitespace() => {
                    if nibble.is_some() {
                        return Err(TextError::SplitHexByte);
                    }
                }
                c => {
                    let d = c.to_digit(16).ok_or(TextError::NotHexDigit(c))? as u8;
                    match nibble.take() {
                        Some(hi) => out.push(hi << 4 | d),
                        None => nibble = Some(d),
                    }
                }
            }
            continue;
        }
        match c {
            '|' => hex = true,
            '\\' => match chars.next() {
                Some(e @ ('"' | ';' | '\\' | ':')) => out.push(e as u8),
                Some(e) => return Err(TextError::NotAnEscape(e)),
                None => return Err(TextError::LoneBackslash),
            },
            c @ ('"' | ';') => return Err(TextError::Unescaped(c)),
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    if hex {
        return Err(TextError::UnclosedHex);
    }
    Ok(out)
}

/// The text of a quoted string option (`msg`, `classtype`'s friends): quotes removed, escapes
/// resolved.
pub fn quoted_text(value: &str) -> Result<String, TextError> {
    let v = value.trim();
    let inner = v
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(v);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(e) => out.push(e),
                None => return Err(TextError::LoneBackslash),
            }
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_hex_and_escapes() {
        assert_eq!(content_bytes("USER|20|root").unwrap(), b"USER root");
        assert_eq!(content_bytes("|00 01 ff|").unwrap(), [0, 1, 0xff]);
        assert_eq!(content_bytes("|0001FF|").unwrap(), [0, 1, 0xff]);
        assert_eq!(content_bytes(r#"a\;b\"c\\d\:e"#).unwrap(), br#"a;b"c\d:e"#);
        assert!(content_bytes("|0 1|").is_err());
        assert!(content_bytes("|001|").is_err());
        assert!(content_bytes("|zz|").is_err());
        assert!(content_bytes("|00").is_err());
        assert!(content_bytes(r"a\nb").is_err());
        assert!(content_bytes("a;b").is_err());
    }

    #[test]
    fn modifiers_apply_to_the_content() {
        let mut c = Content::parse(r#"!"|32 01|""#).unwrap();
        assert!(c.negated);
        assert_eq!(c.bytes, [0x32, 1]);
        assert!(c.modify("offset", Some("2")).unwrap());
        assert!(c.modify("depth", Some(" 4")).unwrap());
        assert!(c.modify("nocase", None).unwrap());
        assert!(c.modify("distance", Some("-3")).unwrap());
        assert!(!c.modify("sid", Some("1")).unwrap());
        assert_eq!(
            (c.offset, c.depth, c.distance, c.nocase),
            (Some(2), Some(4), Some(-3), true)
        );
        assert!(c.modify("depth", Some("x")).is_err());
        assert!(c.modify("depth", Some("0")).is_err());
        assert!(c.modify("within", None).is_err());
        assert!(Content::parse("abc").is_err());
        assert!(Content::parse(r#""""#).is_err());
    }

    #[test]
    fn quoted_text_unescapes() {
        assert_eq!(
            quoted_text(r#""Modbus \"write\"\; unit 1""#).unwrap(),
            r#"Modbus "write"; unit 1"#
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,64}") {
            let _ = content_bytes(&s);
            let _ = quoted_text(&s);
            let _ = Content::parse(&s);
        }
    }
}
