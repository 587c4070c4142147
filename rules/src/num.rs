//! Numbers in rule options: Suricata's unsigned-integer match syntax (`dsize`, `s7comm.*`
//! ranges) and number literals in decimal or `0x` hex.

use crate::KeywordError;

/// A comparison against an unsigned value: `N`, `!N`, `<N`, `<=N`, `>N`, `>=N`, `N<>M` and
/// `N-M` (both exclusive, as Suricata's `dsize` has them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UintMatch {
    Eq(u64),
    Ne(u64),
    Lt(u64),
    Le(u64),
    Gt(u64),
    Ge(u64),
    /// Strictly between.
    Between(u64, u64),
}

impl UintMatch {
    pub fn parse(s: &str) -> Result<Self, KeywordError> {
        let s = s.trim();
        let num = |v: &str| parse_number(v.trim());
        if let Some((a, b)) = s.split_once("<>").or_else(|| {
            // `N-M`, but not a leading minus.
            s.get(1..)
                .and_then(|r| r.find('-'))
                .map(|i| (&s[..=i], &s[i + 2..]))
        }) {
            let (a, b) = (num(a)?, num(b)?);
            if a >= b {
                return Err(KeywordError::EmptyRange { range: s.into() });
            }
            return Ok(UintMatch::Between(a, b));
        }
        Ok(if let Some(v) = s.strip_prefix("<=") {
            UintMatch::Le(num(v)?)
        } else if let Some(v) = s.strip_prefix(">=") {
            UintMatch::Ge(num(v)?)
        } else if let Some(v) = s.strip_prefix('<') {
            UintMatch::Lt(num(v)?)
        } else if let Some(v) = s.strip_prefix('>') {
            UintMatch::Gt(num(v)?)
        } else if let Some(v) = s.strip_prefix('!') {
            UintMatch::Ne(num(v)?)
        } else {
            UintMatch::Eq(num(s.strip_prefix('=').unwrap_or(s))?)
        })
    }

    pub fn matches(self, v: u64) -> bool {
        match self {
            UintMatch::Eq(n) => v == n,
            UintMatch::Ne(n) => v != n,
            UintMatch::Lt(n) => v < n,
            UintMatch::Le(n) => v <= n,
            UintMatch::Gt(n) => v > n,
            UintMatch::Ge(n) => v >= n,
            UintMatch::Between(a, b) => a < v && v < b,
        }
    }
}

/// An inclusive range `N`, `N-M`, `<N`, `>N`: how our own ICS keywords write DB numbers,
/// addresses and block numbers (an operator reads `db 1-10` as DB 1 to DB 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusiveRange {
    pub min: u64,
    pub max: u64,
}

impl InclusiveRange {
    pub fn parse(s: &str) -> Result<Self, KeywordError> {
        let s = s.trim();
        let num = |v: &str| parse_number(v.trim());
        let r = if let Some(v) = s.strip_prefix('<') {
            let n = num(v)?;
            if n == 0 {
                return Err(KeywordError::MatchesNothing { value: s.into() });
            }
            (0, n - 1)
        } else if let Some(v) = s.strip_prefix('>') {
            (num(v)?.saturating_add(1), u64::MAX)
        } else if let Some((a, b)) = s.split_once('-') {
            (num(a)?, num(b)?)
        } else {
            let n = num(s)?;
            (n, n)
        };
        if r.0 > r.1 {
            return Err(KeywordError::EmptyRange { range: s.into() });
        }
        Ok(InclusiveRange { min: r.0, max: r.1 })
    }

    pub fn contains(self, v: u64) -> bool {
        self.min <= v && v <= self.max
    }

    /// Whether `[lo, hi]` overlaps this range.
    pub fn overlaps(self, lo: u64, hi: u64) -> bool {
        lo <= self.max && self.min <= hi
    }
}

/// A number in decimal or `0x` hex.
pub fn parse_number(s: &str) -> Result<u64, KeywordError> {
    let s = s.trim();
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|_| KeywordError::NotANumber { value: s.into() })
}

/// A yes/no keyword value (`yes`, `true`, `1`; `no`, `false`, `0`).
pub fn yes_no(keyword: &'static str, v: &str) -> Result<bool, KeywordError> {
    match v {
        "yes" | "true" | "1" => Ok(true),
        "no" | "false" | "0" => Ok(false),
        _ => Err(KeywordError::Form {
            keyword,
            form: "yes or no",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uint_forms() {
        assert!(UintMatch::parse("10").unwrap().matches(10));
        assert!(UintMatch::parse("!10").unwrap().matches(11));
        assert!(UintMatch::parse("<10").unwrap().matches(9));
        assert!(!UintMatch::parse("<10").unwrap().matches(10));
        assert!(UintMatch::parse(">=10").unwrap().matches(10));
        assert!(UintMatch::parse("5<>8").unwrap().matches(6));
        assert!(!UintMatch::parse("5<>8").unwrap().matches(8));
        assert!(UintMatch::parse("5-8").unwrap().matches(7));
        assert!(UintMatch::parse("0x10").unwrap().matches(16));
        assert!(UintMatch::parse("8<>5").is_err());
        assert!(UintMatch::parse("x").is_err());
    }

    #[test]
    fn inclusive_ranges() {
        let r = InclusiveRange::parse("1-10").unwrap();
        assert!(r.contains(1) && r.contains(10) && !r.contains(11));
        assert!(InclusiveRange::parse("<5").unwrap().contains(4));
        assert!(!InclusiveRange::parse("<5").unwrap().contains(5));
        assert!(InclusiveRange::parse(">5").unwrap().contains(6));
        assert!(r.overlaps(10, 20) && !r.overlaps(11, 20));
        assert!(InclusiveRange::parse("9-3").is_err());
        assert!(InclusiveRange::parse("<0").is_err());
    }
}
