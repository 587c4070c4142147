//! Firmware versions and the version ranges advisories write.
//!
//! A device reports `V3.2.6`; an advisory writes `vers:all/<V3.2.16`, `< V3.X.17`,
//! `All versions >= V2.0 and < V2.1.6`, `>=1.220|<=1.281`, `< 15.0 SP1` or just `V20.8`.
//! Both sides are read into the same [`Version`]: runs of digits and runs of letters, so
//! `V15.1 Upd4` is `15, 1, upd, 4` and compares above `V15.1`; an `X` or `*` segment is a
//! wildcard (Siemens' `V3.X.17` is "any 3.x before x.17"). A range is a list of intervals:
//! a lower bound opens one, an upper bound closes it, as the `vers:` specification reads its
//! sorted constraints. Text that is not a range at all is [`Range::Unknown`] and a match
//! against it says so, rather than guessing.

use std::cmp::Ordering;
use std::fmt;

/// Segments kept of one version; firmware strings are short, this bounds a hostile one.
const MAX_SEGMENTS: usize = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Num(u64),
    Text(String),
    /// `X`, `x` or `*`: equal to anything.
    Any,
}

impl Segment {
    fn cmp(&self, other: &Segment) -> Ordering {
        use Segment::*;
        match (self, other) {
            (Any, _) | (_, Any) => Ordering::Equal,
            (Num(a), Num(b)) => a.cmp(b),
            (Text(a), Text(b)) => a.cmp(b),
            // `1.0` < `1.0 SP1`, and `1.0a` > `1.0`: a qualifier ranks above a missing segment.
            (Num(_), Text(_)) => Ordering::Less,
            (Text(_), Num(_)) => Ordering::Greater,
        }
    }
}

/// A firmware or software version, compared segment by segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    segments: Vec<Segment>,
    text: String,
}

impl Version {
    /// Reads a version; `None` when it holds no digit (`GEH`, `all`, an empty string).
    pub fn parse(s: &str) -> Option<Version> {
        let text = s.trim();
        let body = text
            .strip_prefix(['V', 'v'])
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(text);
        if !body.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut segments = Vec::new();
        let mut chars = body.char_indices().peekable();
        while let Some(&(i, c)) = chars.peek() {
            if segments.len() == MAX_SEGMENTS {
                break;
            }
            if c.is_ascii_digit() {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if !d.is_ascii_digit() {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                // Digits beyond u64 compare as the largest number, not as an error.
                segments.push(Segment::Num(body[i..end].parse().unwrap_or(u64::MAX)));
            } else if c.is_ascii_alphabetic() {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if !d.is_ascii_alphabetic() {
                        break;
                    }
                    end = j + 1;
                    chars.next();
                }
                let word = body[i..end].to_ascii_lowercase();
                segments.push(if word == "x" {
                    Segment::Any
                } else {
                    Segment::Text(word)
                });
            } else {
                if c == '*' {
                    segments.push(Segment::Any);
                }
                chars.next();
            }
        }
        // Trailing zeros say nothing: `2.6` is `2.6.0`.
        while segments.last() == Some(&Segment::Num(0)) && segments.len() > 1 {
            segments.pop();
        }
        Some(Version {
            segments,
            text: text.to_owned(),
        })
    }

    /// Whether the version starts with a word (`GEH-1.1`, `MX-V4.0`): such a version only
    /// compares with another that starts with a word.
    fn prefixed(&self) -> bool {
        matches!(self.segments.first(), Some(Segment::Text(_)))
    }

    /// Orders two versions; a wildcard segment on either side equals anything.
    pub fn compare(&self, other: &Version) -> Ordering {
        let n = self.segments.len().max(other.segments.len());
        let zero = Segment::Num(0);
        for i in 0..n {
            let a = self.segments.get(i).unwrap_or(&zero);
            let b = other.segments.get(i).unwrap_or(&zero);
            match a.cmp(b) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// One interval of affected versions; `None` is unbounded on that side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval {
    low: Option<(Version, bool)>,
    high: Option<(Version, bool)>,
}

impl Interval {
    fn holds(&self, v: &Version) -> bool {
        let above = self.low.as_ref().is_none_or(|(l, inclusive)| {
            let o = v.compare(l);
            o == Ordering::Greater || (*inclusive && o == Ordering::Equal)
        });
        let below = self.high.as_ref().is_none_or(|(h, inclusive)| {
            let o = v.compare(h);
            o == Ordering::Less || (*inclusive && o == Ordering::Equal)
        });
        above && below
    }
}

/// The versions an advisory's product entry covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Range {
    /// Every version (`vers:all/*`, `All versions`).
    All,
    /// Intervals (an exact version is an interval of one) minus excluded versions.
    Within {
        intervals: Vec<Interval>,
        except: Vec<Version>,
    },
    /// Text that names no versions we can compare (`<= GEH-1.1 (…)` has no digits after the
    /// operator that belong to a version); kept for the explanation.
    Unknown(String),
}

/// What a version check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Affected,
    NotAffected,
    /// The range or the device's version cannot be compared.
    Unknown,
}

/// Words around versions in free-text ranges, mapped to the comparison they mean after the
/// version (`V2.3 and prior` is `<= V2.3`); `None`: a filler word.
const TRAILING: [(&str, Op); 7] = [
    ("and prior", Op::Le),
    ("and earlier", Op::Le),
    ("and older", Op::Le),
    ("and before", Op::Le),
    ("and below", Op::Le),
    ("and later", Op::Ge),
    ("and newer", Op::Ge),
];

/// Leading words that mean a comparison.
const LEADING: [(&str, Op); 6] = [
    ("prior to", Op::Lt),
    ("before", Op::Lt),
    ("earlier than", Op::Lt),
    ("up to", Op::Le),
    ("through", Op::Le),
    ("from", Op::Ge),
];

impl Range {
    /// Reads a `product_version_range` (or a `product_version`, which is one exact version
    /// unless it is written as a range).
    pub fn parse(text: &str) -> Range {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix("vers:") {
            // `vers:<scheme>/<constraints>`; the scheme says nothing we use.
            let constraints = rest.split_once('/').map_or("", |(_, c)| c).trim();
            if constraints == "*" {
                return Range::All;
            }
            return Self::constraints(constraints, text);
        }
        let lower = t.to_ascii_lowercase();
        let lower = lower.trim();
        if matches!(
            lower,
            "*" | "all" | "all versions" | "all versions." | "any"
        ) {
            return Range::All;
        }
        Self::constraints(t, text)
    }

    /// Reads comparator/version pairs in order, whatever separates them (`|`, `,`, `and`,
    /// spaces) and whatever words sit before the first one (`All versions`, a model name).
    fn constraints(s: &str, original: &str) -> Range {
        let mut pairs: Vec<(Op, Version)> = Vec::new();
        let lower = s.to_ascii_lowercase();
        for part in s.split(['|', ',', ';']) {
            let mut rest = part.trim();
            let mut pending: Option<Op> = None;
            while !rest.is_empty() {
                let l = rest.to_ascii_lowercase();
                if let Some((op, n)) = operator(rest) {
                    pending = Some(op);
                    rest = rest[n..].trim_start();
                    continue;
                }
                if let Some((word, op)) = LEADING.iter().find(|(w, _)| l.starts_with(w)) {
                    pending = Some(*op);
                    rest = rest[word.len()..].trim_start();
                    continue;
                }
                if let Some((word, op)) = TRAILING.iter().find(|(w, _)| l.starts_with(w)) {
                    if let Some((Op::Eq, v)) = pairs.pop() {
                        pairs.push((*op, v));
                    }
                    rest = rest[word.len()..].trim_start();
                    continue;
                }
                // The next word: a version when an operator waits for it or it looks like
                // one (starts with a digit, or V + digit); otherwise a filler word.
                let end = rest
                    .find(|c: char| {
                        c.is_whitespace() || matches!(c, '<' | '>' | '=' | '!' | '(' | ')')
                    })
                    .unwrap_or(rest.len());
                // A separator alone is a word of one character (of however many bytes).
                let end = if end == 0 {
                    rest.chars().next().map_or(0, char::len_utf8)
                } else {
                    end
                };
                let (word, after) = rest.split_at(end);
                let versionish = word.starts_with(|c: char| c.is_ascii_digit())
                    || (word.len() > 1
                        && word.starts_with(['V', 'v', 'R', 'r'])
                        && word[1..].starts_with(|c: char| c.is_ascii_digit()));
                if versionish || (pending.is_some() && word.chars().any(|c| c.is_ascii_digit())) {
                    // A qualifier written apart (`< 15.0 SP1`, `V15.1 Upd 4`) belongs to it.
                    let mut text = word.to_owned();
                    let mut tail = after.trim_start();
                    loop {
                        let q = tail.split_whitespace().next().unwrap_or("");
                        let ql = q.to_ascii_lowercase();
                        let qualifier = ["sp", "upd", "update", "hf", "r", "build", "patch"]
                            .iter()
                            .any(|p| {
                                ql.starts_with(p)
                                    && ql[p.len()..].chars().all(|c| c.is_ascii_digit())
                            });
                        let number = ql.chars().all(|c| c.is_ascii_digit())
                            && !q.is_empty()
                            && text.ends_with(|c: char| c.is_ascii_alphabetic());
                        if q.is_empty() || !(qualifier || number) {
                            break;
                        }
                        text.push(' ');
                        text.push_str(q);
                        tail = tail[q.len()..].trim_start();
                    }
                    let Some(v) = Version::parse(text.trim_start_matches(['R', 'r']).trim()) else {
                        return Range::Unknown(original.to_owned());
                    };
                    pairs.push((pending.take().unwrap_or(Op::Eq), v));
                    rest = tail;
                } else {
                    if pending.is_some() {
                        // `<= GEH-1.1`: an operator followed by something that is no version.
                        return Range::Unknown(original.to_owned());
                    }
                    rest = after.trim_start();
                }
            }
            if pending.is_some() {
                return Range::Unknown(original.to_owned());
            }
        }
        if pairs.is_empty() {
            // One word with digits is one version, whatever it starts with (`MX-V4.0.1.15`).
            let word = s.trim();
            if let Some(v) = Version::parse(word).filter(|_| !word.contains(char::is_whitespace)) {
                pairs.push((Op::Eq, v));
            }
        }
        if pairs.is_empty() {
            return if lower.contains("all versions") {
                Range::All
            } else {
                Range::Unknown(original.to_owned())
            };
        }
        let mut intervals = Vec::new();
        let mut except = Vec::new();
        let mut open: Option<Interval> = None;
        for (op, v) in pairs {
            match op {
                Op::Gt | Op::Ge => {
                    if let Some(i) = open.take() {
                        intervals.push(i);
                    }
                    open = Some(Interval {
                        low: Some((v, op == Op::Ge)),
                        high: None,
                    });
                }
                Op::Lt | Op::Le => {
                    let mut i = open.take().unwrap_or(Interval {
                        low: None,
                        high: None,
                    });
                    i.high = Some((v, op == Op::Le));
                    intervals.push(i);
                }
                Op::Eq => {
                    if let Some(i) = open.take() {
                        intervals.push(i);
                    }
                    intervals.push(Interval {
                        low: Some((v.clone(), true)),
                        high: Some((v, true)),
                    });
                }
                Op::Ne => except.push(v),
            }
        }
        intervals.extend(open);
        Range::Within { intervals, except }
    }

    /// Whether `version` (as the device reports it) lies in the range.
    pub fn check(&self, version: Option<&Version>) -> Verdict {
        match (self, version) {
            (Range::All, _) => Verdict::Affected,
            (Range::Unknown(_), _) | (_, None) => Verdict::Unknown,
            (Range::Within { intervals, except }, Some(v)) => {
                let bounds = intervals
                    .iter()
                    .flat_map(|i| i.low.iter().chain(&i.high).map(|(b, _)| b))
                    .chain(except);
                if bounds.clone().any(|b| b.prefixed() != v.prefixed()) {
                    return Verdict::Unknown;
                }
                let excluded = except.iter().any(|e| v.compare(e) == Ordering::Equal);
                if !excluded && intervals.iter().any(|i| i.holds(v)) {
                    Verdict::Affected
                } else {
                    Verdict::NotAffected
                }
            }
        }
    }

    /// The lowest version above every interval, when there is one: what to upgrade to.
    pub fn fixed_in(&self) -> Option<&Version> {
        let Range::Within { intervals, .. } = self else {
            return None;
        };
        let last = intervals.last()?;
        match &last.high {
            Some((v, false)) => Some(v),
            _ => None,
        }
    }
}

/// The comparison operator at the start of `s` and its length.
fn operator(s: &str) -> Option<(Op, usize)> {
    const OPS: [(&str, Op); 9] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("!=", Op::Ne),
        ("==", Op::Eq),
        ("≤", Op::Le),
        ("≥", Op::Ge),
        ("<", Op::Lt),
        (">", Op::Gt),
        ("=", Op::Eq),
    ];
    OPS.iter()
        .find(|(p, _)| s.starts_with(p))
        .map(|(p, op)| (*op, p.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn affected(range: &str, version: &str) -> Verdict {
        Range::parse(range).check(Some(&v(version)))
    }

    #[test]
    fn versions_compare_as_firmware_reads() {
        assert_eq!(v("V2.6.1").compare(&v("2.6.1")), Ordering::Equal);
        assert_eq!(v("V2.6").compare(&v("2.6.0")), Ordering::Equal);
        assert_eq!(v("V3.2.6").compare(&v("V3.2.16")), Ordering::Less);
        assert_eq!(v("V15.1 Upd4").compare(&v("V15.1")), Ordering::Greater);
        assert_eq!(v("15.0 SP1").compare(&v("15.0")), Ordering::Greater);
        assert_eq!(v("V3.2.6").compare(&v("V3.X.17")), Ordering::Less);
        assert_eq!(v("V3.3.18").compare(&v("V3.X.17")), Ordering::Greater);
        assert_eq!(v("V0209_0105").compare(&v("V0209_0104")), Ordering::Greater);
        assert!(Version::parse("GEH").is_none());
        assert!(Version::parse("").is_none());
    }

    #[test]
    fn vers_ranges_as_csaf_writes_them() {
        assert_eq!(Range::parse("vers:all/*"), Range::All);
        assert_eq!(affected("vers:all/<V3.2.16", "V3.2.6"), Verdict::Affected);
        assert_eq!(
            affected("vers:all/<V3.2.16", "V3.2.16"),
            Verdict::NotAffected
        );
        assert_eq!(
            affected("vers:all/>=V7.80<V9.40", "V8.0"),
            Verdict::Affected
        );
        assert_eq!(
            affected("vers:all/>=V7.80<V9.40", "V9.40"),
            Verdict::NotAffected
        );
        assert_eq!(
            affected("vers:all/>=V7.80<V9.40", "V7.7"),
            Verdict::NotAffected
        );
        assert_eq!(
            affected("vers:all/>=V21.9<V21.9.4", "V21.9.3"),
            Verdict::Affected
        );
        assert_eq!(affected(">=1.220|<=1.281", "1.281"), Verdict::Affected);
        assert_eq!(affected(">=1.220|<=1.281", "1.282"), Verdict::NotAffected);
    }

    #[test]
    fn free_text_ranges() {
        assert_eq!(affected("< V3.X.16", "V3.2.6"), Verdict::Affected);
        assert_eq!(affected("< V3.X.16", "V3.2.16"), Verdict::NotAffected);
        assert_eq!(
            affected("All versions < V15.1 Upd4", "V15.1 Upd3"),
            Verdict::Affected
        );
        assert_eq!(
            affected("All versions < V15.1 Upd4", "V15.1 Upd4"),
            Verdict::NotAffected
        );
        assert_eq!(
            affected("All versions >= V2.0 and < V2.1.6", "V2.1.5"),
            Verdict::Affected
        );
        assert_eq!(
            affected("All versions >= V2.0 and < V2.1.6", "V1.9"),
            Verdict::NotAffected
        );
        assert_eq!(affected(">= V2.0 < V2.1.6", "2.1.6"), Verdict::NotAffected);
        assert_eq!(affected("NMC2 <= 6.9.6", "6.9.6"), Verdict::Affected);
        assert_eq!(affected("< 15.0 SP1", "15.0"), Verdict::Affected);
        assert_eq!(affected("< 15.0 SP1", "15.0 SP1"), Verdict::NotAffected);
        assert_eq!(affected("V20.8", "V20.8"), Verdict::Affected);
        assert_eq!(affected("V20.8", "V20.9"), Verdict::NotAffected);
        assert_eq!(affected("V2.3 and prior", "2.3"), Verdict::Affected);
        assert_eq!(affected("prior to V2.3", "2.3"), Verdict::NotAffected);
        assert_eq!(
            affected("All versions < V0209_0105", "V0209_0104"),
            Verdict::Affected
        );
        assert_eq!(Range::parse("All versions"), Range::All);
        // Ideographic spaces and brackets, as a translated advisory writes them.
        assert_eq!(
            affected("\u{3000}< V2.0\u{3000}（全部）", "1.9"),
            Verdict::Affected
        );
        assert_eq!(affected("MX-V4.0.1.15", "MX-V4.0.1.15"), Verdict::Affected);
        assert_eq!(
            Range::parse("<= GEH-1.1 (foo)").check(Some(&v("1.0"))),
            Verdict::Unknown
        );
    }

    #[test]
    fn the_fix_is_the_upper_bound() {
        assert_eq!(
            Range::parse("vers:all/<V3.2.16")
                .fixed_in()
                .map(ToString::to_string),
            Some("V3.2.16".to_owned())
        );
        assert_eq!(Range::parse("<= 2.0").fixed_in(), None);
        assert_eq!(Range::All.fixed_in(), None);
    }
}
