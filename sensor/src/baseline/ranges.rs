//! Sets of address ranges, as an engineer reads them in a baseline: `[[0, 9], [100, 104]]`.
//!
//! A set holds at most a configured number of ranges. Past that, the two ranges with the
//! smallest gap between them are joined, so a set's memory stays bounded however scattered the
//! addresses a master touches; joining only widens what counts as learned, never narrows it.

use serde::{Deserialize, Serialize};

/// Disjoint, sorted, inclusive ranges; adjacent ranges are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ranges(Vec<[u32; 2]>);

impl Ranges {
    /// Add `first..=last`, keeping at most `cap` ranges (at least 1).
    pub fn add(&mut self, first: u32, last: u32, cap: usize) {
        let (lo, hi) = (first.min(last), first.max(last));
        // The ranges that touch or overlap [lo, hi] are replaced by their union.
        let start = self.0.partition_point(|r| r[1].saturating_add(1) < lo);
        let end = self.0.partition_point(|r| r[0] <= hi.saturating_add(1));
        let merged = if start < end {
            [lo.min(self.0[start][0]), hi.max(self.0[end - 1][1])]
        } else {
            [lo, hi]
        };
        self.0.splice(start..end, [merged]);
        while self.0.len() > cap.max(1) {
            let i = (0..self.0.len() - 1)
                .min_by_key(|&i| self.0[i + 1][0] - self.0[i][1])
                .unwrap_or(0);
            self.0[i][1] = self.0[i + 1][1];
            self.0.remove(i + 1);
        }
    }

    /// Whether every address of `first..=last` is inside one learned range.
    pub fn contains(&self, first: u32, last: u32) -> bool {
        let i = self.0.partition_point(|r| r[1] < first);
        self.0.get(i).is_some_and(|r| r[0] <= first && last <= r[1])
    }

    /// Merge another set in (learning more into a baseline).
    pub fn extend(&mut self, other: &Ranges, cap: usize) {
        for r in &other.0 {
            self.add(r[0], r[1], cap);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.0.iter().map(|r| (r[0], r[1]))
    }

    /// Check what a hand-edited file holds: ranges in order, disjoint, first ≤ last.
    pub fn validate(&self) -> Result<(), String> {
        for (i, r) in self.0.iter().enumerate() {
            if r[0] > r[1] {
                return Err(format!("range [{}, {}] ends before it starts", r[0], r[1]));
            }
            if let Some(prev) = i.checked_sub(1).map(|p| self.0[p]) {
                if prev[1] >= r[0] {
                    return Err(format!(
                        "range [{}, {}] overlaps or precedes [{}, {}]",
                        r[0], r[1], prev[0], prev[1]
                    ));
                }
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for Ranges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (a, b)) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if a == b {
                write!(f, "{a}")?;
            } else {
                write!(f, "{a}-{b}")?;
            }
        }
        Ok(())
    }
}

/// The point ranges of a list of objects, each valid, or the first that is not, by place
/// (`objects[3].points`).
pub fn validate_objects<'a>(
    points: impl IntoIterator<Item = &'a Ranges>,
) -> Result<(), (String, String)> {
    for (i, r) in points.into_iter().enumerate() {
        r.validate()
            .map_err(|e| (format!("objects[{i}].points"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn merges_touching_and_overlapping() {
        let mut r = Ranges::default();
        r.add(10, 19, 8);
        r.add(0, 9, 8);
        r.add(30, 30, 8);
        r.add(25, 31, 8);
        assert_eq!(r.to_string(), "0-19,25-31");
        assert!(r.contains(0, 19) && r.contains(26, 30));
        assert!(
            !r.contains(18, 26),
            "a request across the gap is not learned"
        );
        assert!(!r.contains(20, 20));
        r.add(u32::MAX, u32::MAX, 8);
        assert!(r.contains(u32::MAX, u32::MAX));
    }

    #[test]
    fn the_cap_joins_the_closest_ranges() {
        let mut r = Ranges::default();
        for a in [0, 100, 105, 1000] {
            r.add(a, a, 3);
        }
        assert_eq!(r.to_string(), "0,100-105,1000");
        r.add(2000, 2000, 3);
        assert_eq!(r.to_string(), "0-105,1000,2000");
    }

    #[test]
    fn validate_names_the_bad_range() {
        let r: Ranges = serde_json::from_str("[[0, 9], [5, 20]]").unwrap();
        assert!(r.validate().unwrap_err().contains("[5, 20]"));
        let r: Ranges = serde_json::from_str("[[9, 0]]").unwrap();
        assert!(r.validate().is_err());
        let r: Ranges = serde_json::from_str("[[0, 9], [20, 29]]").unwrap();
        assert!(r.validate().is_ok());
    }

    proptest! {
        /// Whatever is added is contained afterwards, the set stays valid and within its cap.
        #[test]
        fn added_is_contained(adds in prop::collection::vec((0u32..5000, 0u32..50), 1..60), cap in 1usize..10) {
            let mut r = Ranges::default();
            for &(a, len) in &adds {
                r.add(a, a + len, cap);
            }
            prop_assert!(r.validate().is_ok());
            prop_assert!(r.0.len() <= cap);
            for &(a, len) in &adds {
                prop_assert!(r.contains(a, a + len), "{} lost {}-{}", r, a, a + len);
            }
        }
    }
}
