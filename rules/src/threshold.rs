//! `threshold` and `detection_filter`: how many matches make how many alerts.
//!
//! Matches are counted per rule and per tracked key (source, destination, both, the rule, or
//! the flow) in windows of `seconds`, by packet time. The table of counters is capped: when it
//! is full and nothing in it has expired, a new key is not tracked and its matches alert (an
//! analyst would rather see too much than miss a scan), and [`Thresholds::untracked`] says how
//! often that happened.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::KeywordError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Alert on the first `count` matches of each window.
    Limit,
    /// Alert on every `count`-th match.
    Threshold,
    /// Alert once per window, at the `count`-th match.
    Both,
    /// `detection_filter`: alert on every match after the first `count` of the window.
    DetectionFilter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    BySrc,
    ByDst,
    ByBoth,
    ByRule,
    ByFlow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    pub kind: Kind,
    pub track: Track,
    pub count: u32,
    pub seconds: u32,
}

impl Threshold {
    /// Parse `threshold:` (`detection_filter` when `filter`).
    pub fn parse(value: &str, filter: bool) -> Result<Self, KeywordError> {
        let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
        if filter {
            kind = Some(Kind::DetectionFilter);
        }
        for part in value.split(',').map(str::trim) {
            let (k, v) = part
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
                .ok_or_else(|| KeywordError::invalid(None, part, "`NAME VALUE`"))?;
            let num = |name: &'static str| -> Result<u32, KeywordError> {
                v.parse()
                    .map_err(|_| KeywordError::invalid(Some(name), v, "a whole number"))
            };
            match k {
                "type" if !filter => {
                    kind = Some(match v {
                        "limit" => Kind::Limit,
                        "threshold" => Kind::Threshold,
                        "both" => Kind::Both,
                        _ => return Err(KeywordError::unknown("threshold type", v)),
                    })
                }
                "track" => {
                    track = Some(match v {
                        "by_src" => Track::BySrc,
                        "by_dst" => Track::ByDst,
                        "by_both" => Track::ByBoth,
                        "by_rule" => Track::ByRule,
                        "by_flow" => Track::ByFlow,
                        _ => return Err(KeywordError::unknown("track", v)),
                    })
                }
                "count" => count = Some(num("count")?),
                "seconds" => seconds = Some(num("seconds")?),
                _ => return Err(KeywordError::unknown("threshold setting", k)),
            }
        }
        let needs = |what| KeywordError::Missing {
            keyword: "threshold".into(),
            what,
        };
        let t = Threshold {
            kind: kind.ok_or_else(|| needs("`type`"))?,
            track: track.ok_or_else(|| needs("`track`"))?,
            count: count.ok_or_else(|| needs("`count`"))?,
            seconds: seconds.ok_or_else(|| needs("`seconds`"))?,
        };
        if t.count == 0 && t.kind != Kind::DetectionFilter {
            return Err(KeywordError::CountZero);
        }
        Ok(t)
    }
}

/// What a threshold is keyed by: rule, then the tracked addresses or flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    rule: u32,
    a: Option<IpAddr>,
    b: Option<IpAddr>,
    flow: u64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: u64,
    count: u32,
}

/// Counters for every thresholded rule of a ruleset.
#[derive(Debug)]
pub struct Thresholds {
    table: HashMap<Key, Window>,
    cap: usize,
    /// Matches whose key could not be tracked because the table was full.
    pub untracked: u64,
}

/// Keys tracked at once by default.
pub const DEFAULT_CAP: usize = 65_536;

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds::with_cap(DEFAULT_CAP)
    }
}

/// The packet a thresholded match happened on.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub flow: u64,
    /// Packet time, in seconds.
    pub now: u64,
}

impl Thresholds {
    pub fn with_cap(cap: usize) -> Self {
        Thresholds {
            table: HashMap::new(),
            cap,
            untracked: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Count a match of rule `rule`; whether it alerts.
    pub fn alert(&mut self, rule: u32, t: &Threshold, seen: Seen) -> bool {
        let (a, b, flow) = match t.track {
            Track::BySrc => (Some(seen.src), None, 0),
            Track::ByDst => (Some(seen.dst), None, 0),
            Track::ByBoth => (Some(seen.src), Some(seen.dst), 0),
            Track::ByRule => (None, None, 0),
            Track::ByFlow => (None, None, seen.flow),
        };
        let key = Key { rule, a, b, flow };
        let seconds = u64::from(t.seconds);
        if !self.table.contains_key(&key) && self.table.len() >= self.cap {
            self.table
                .retain(|_, w| seen.now.saturating_sub(w.start) < seconds.max(1));
            if self.table.len() >= self.cap {
                self.untracked += 1;
                return true;
            }
        }
        let w = self.table.entry(key).or_insert(Window {
            start: seen.now,
            count: 0,
        });
        if seen.now.saturating_sub(w.start) >= seconds {
            *w = Window {
                start: seen.now,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
        match t.kind {
            Kind::Limit => w.count <= t.count,
            Kind::Threshold => {
                if w.count >= t.count {
                    w.count = 0;
                    true
                } else {
                    false
                }
            }
            Kind::Both => w.count == t.count,
            Kind::DetectionFilter => w.count > t.count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(src: [u8; 4], now: u64) -> Seen {
        Seen {
            src: IpAddr::from(src),
            dst: IpAddr::from([10, 0, 0, 1]),
            flow: 1,
            now,
        }
    }

    fn run(t: &str, filter: bool, times: &[u64]) -> Vec<bool> {
        let t = Threshold::parse(t, filter).unwrap();
        let mut th = Thresholds::default();
        times
            .iter()
            .map(|&now| th.alert(7, &t, seen([10, 0, 0, 2], now)))
            .collect()
    }

    #[test]
    fn kinds() {
        let limit = "type limit, track by_src, count 2, seconds 60";
        assert_eq!(run(limit, false, &[0, 1, 2, 61]), [true, true, false, true]);
        let thr = "type threshold, track by_src, count 3, seconds 60";
        assert_eq!(
            run(thr, false, &[0, 1, 2, 3, 4, 5]),
            [false, false, true, false, false, true]
        );
        let both = "type both, track by_src, count 2, seconds 60";
        assert_eq!(run(both, false, &[0, 1, 2, 3]), [false, true, false, false]);
        let df = "track by_src, count 2, seconds 60";
        assert_eq!(run(df, true, &[0, 1, 2, 3]), [false, false, true, true]);
    }

    #[test]
    fn tracked_apart_and_capped() {
        let t = Threshold::parse("type both, track by_src, count 2, seconds 60", false).unwrap();
        let mut th = Thresholds::with_cap(1);
        assert!(!th.alert(1, &t, seen([10, 0, 0, 2], 0)));
        // A second source finds the table full: it alerts untracked.
        assert!(th.alert(1, &t, seen([10, 0, 0, 3], 0)));
        assert_eq!(th.untracked, 1);
        assert!(th.alert(1, &t, seen([10, 0, 0, 2], 1)));
        assert!(Threshold::parse("type limit, track by_src, count 2", false).is_err());
        assert!(
            Threshold::parse("type sometimes, track by_src, count 2, seconds 1", false).is_err()
        );
        assert!(Threshold::parse("type limit, track by_src, count 0, seconds 1", false).is_err());
    }
}
