//! `pcre:"/REGEX/FLAGS"`.
//!
//! Expressions run on `regex::bytes` where it can run them (linear time, so no rule can stall
//! the sensor on a hostile payload); the PCRE-only constructs it lacks — backreferences,
//! look-around, atomic groups — run on PCRE2 ([`backtrack`]) under match and depth limits, as
//! in Suricata. Suricata's flags: `i` `s` `m` `x` as in PCRE, `A` anchored at the start (of
//! the buffer, or of where the previous match ended with `R`), `E` `$` only at the very end,
//! `G` ungreedy, `R` relative to the previous match, `B`/`O` accepted and without effect here;
//! the HTTP flags (`U` the normalized URI, `H` the header fields, `P` the request body…) say
//! which buffer of a transaction the expression reads ([`crate::http::Buf::pcre_flag`]).

pub mod backtrack;

use std::sync::Arc;

use regex::bytes::{Regex, RegexBuilder};

use crate::KeywordError;
use backtrack::{Backtracking, Found};

/// The engine an expression runs on.
#[derive(Debug, Clone)]
pub enum Engine {
    /// `regex::bytes`: linear in the buffer.
    Linear(Regex),
    /// PCRE2, for what the linear engine cannot express, bounded by PCRE2's limits.
    Backtracking(Arc<Backtracking>),
}

/// A compiled `pcre` option.
#[derive(Debug, Clone)]
pub struct Pcre {
    /// The expression as written, for the prefilter.
    pub source: String,
    pub engine: Engine,
    pub negated: bool,
    pub relative: bool,
    pub anchored: bool,
    pub nocase: bool,
    pub dotall: bool,
    pub multiline: bool,
    pub extended: bool,
    /// The HTTP buffer a flag selects.
    pub http: Option<crate::http::Buf>,
}

impl PartialEq for Pcre {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
            && self.negated == other.negated
            && self.relative == other.relative
            && self.anchored == other.anchored
            && self.http == other.http
    }
}

impl Pcre {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        let (negated, v) = match v.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, v),
        };
        // Quoted as rules write it, or bare as Suricata also accepts.
        let inner = v
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .unwrap_or(v);
        let body = inner.strip_prefix('/').ok_or(KeywordError::PcreForm)?;
        let end = body.rfind('/').ok_or(KeywordError::PcreUnclosed)?;
        let (source, flags) = (&body[..end], &body[end + 1..]);
        // The rule text escapes `;` and `"`; the expression wants them plain.
        let source = source.replace("\\;", ";").replace("\\\"", "\"");
        let (mut nocase, mut dotall, mut multiline, mut extended) = (false, false, false, false);
        let (mut anchored, mut relative, mut ungreedy) = (false, false, false);
        let mut dollar_end = false;
        let mut http = None;
        for f in flags.chars() {
            match f {
                'i' => nocase = true,
                's' => dotall = true,
                'm' => multiline = true,
                'x' => extended = true,
                'A' => anchored = true,
                'R' => relative = true,
                'G' => ungreedy = true,
                // `$` only at the very end: the linear engine's `$` always is.
                'E' => dollar_end = true,
                // Raw bytes and match-limit overrides: nothing to change here.
                'B' | 'O' => {}
                f if crate::http::Buf::pcre_flag(f).is_some() => {
                    if http.is_some() {
                        return Err(KeywordError::PcreTwoBuffers);
                    }
                    http = crate::http::Buf::pcre_flag(f);
                }
                other => return Err(KeywordError::unknown("pcre flag", other)),
            }
        }
        let linear = RegexBuilder::new(&expression(&source, anchored, extended))
            .unicode(false)
            .case_insensitive(nocase)
            .dot_matches_new_line(dotall)
            .multi_line(multiline)
            .ignore_whitespace(extended)
            .swap_greed(ungreedy)
            .size_limit(1 << 22)
            .build();
        let engine = match linear {
            Ok(re) => Engine::Linear(re),
            Err(_) => {
                let mut options = 0;
                for (on, o) in [
                    (nocase, backtrack::PCRE2_CASELESS),
                    (dotall, backtrack::PCRE2_DOTALL),
                    (multiline, backtrack::PCRE2_MULTILINE),
                    (extended, backtrack::PCRE2_EXTENDED),
                    (ungreedy, backtrack::PCRE2_UNGREEDY),
                    (anchored, backtrack::PCRE2_ANCHORED),
                    (dollar_end, backtrack::PCRE2_DOLLAR_ENDONLY),
                ] {
                    if on {
                        options |= o;
                    }
                }
                let b =
                    Backtracking::new(&source, options).map_err(|reason| KeywordError::Regex {
                        expression: source.clone(),
                        reason,
                    })?;
                Engine::Backtracking(Arc::new(b))
            }
        };
        Ok(Pcre {
            source,
            engine,
            negated,
            relative,
            anchored,
            nocase,
            dotall,
            multiline,
            extended,
            http,
        })
    }

    /// The expression to compile: the source, held to the start with `A`.
    pub fn expression(&self) -> String {
        expression(&self.source, self.anchored, self.extended)
    }

    /// Where the expression matches in `buf[from..]`: the end of the match, as an index into
    /// `buf`.
    pub fn find(&self, buf: &[u8], from: usize) -> Option<usize> {
        match &self.engine {
            Engine::Linear(re) => {
                let hay = buf.get(from..)?;
                re.find(hay).map(|m| from + m.end())
            }
            // The whole buffer, from `from`: look-behind may see what comes before.
            Engine::Backtracking(b) => match b.find(buf, from) {
                Found::At(end) => Some(end),
                Found::No | Found::Limit => None,
            },
        }
    }

    /// Whether the expression runs on PCRE2.
    pub fn backtracks(&self) -> bool {
        matches!(self.engine, Engine::Backtracking(_))
    }
}

/// `source`, held to the start when `anchored`. The group closes on a line of its own under
/// `extended`, since there a comment would run on over it.
fn expression(source: &str, anchored: bool, extended: bool) -> String {
    if !anchored {
        return source.to_owned();
    }
    let close = if extended { "\n)" } else { ")" };
    format!(r"\A(?:{source}{close}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_matching() {
        let p = Pcre::parse(r#""/^\x00\x01.{2}\x00/s""#).unwrap();
        assert_eq!(p.find(b"\x00\x01\n\n\x00rest", 0), Some(5));
        let p = Pcre::parse(r#""/user\s+root/i""#).unwrap();
        assert!(p.find(b"xx USER  root", 0).is_some());
        let p = Pcre::parse(r#""/ab/AR""#).unwrap();
        assert!(p.anchored && p.relative);
        assert_eq!(p.find(b"xxab", 2), Some(4));
        assert_eq!(p.find(b"xxcab", 2), None);
        let p = Pcre::parse(r#"!"/a\;b/""#).unwrap();
        assert!(p.negated);
        assert_eq!(p.find(b"a;b", 0), Some(3));
        let back = Pcre::parse(r#""/(a)\1/""#).unwrap();
        assert!(back.backtracks());
        assert_eq!(back.find(b"xaa", 0), Some(3));
        assert_eq!(back.find(b"xab", 0), None);
        let look = Pcre::parse(r#""/\.php(?!\?)/iR""#).unwrap();
        assert_eq!(look.find(b"a.php?x b.PHP", 2), Some(13));
        assert!(!Pcre::parse(r#""/a+b/""#).unwrap().backtracks());
        assert!(Pcre::parse(r#""/(a/""#).is_err());
        assert_eq!(
            Pcre::parse(r#""/a/Ui""#).unwrap().http,
            Some(crate::http::Buf::Uri)
        );
        assert!(Pcre::parse(r#""/a/UH""#).is_err());
        assert!(Pcre::parse(r#""/a/q""#).is_err());
        assert!(Pcre::parse(r#""a""#).is_err());
        assert!(Pcre::parse("/a/U").unwrap().http.is_some(), "unquoted");
        // Under `x`, a trailing comment does not swallow the anchoring group's end.
        let p = Pcre::parse(r#""/stop \s+ now # the command/xA""#).unwrap();
        assert_eq!(p.find(b"stop  now!", 0), Some(9));
        assert_eq!(p.find(b"xstop now", 0), None);
    }
}
