//! The multi-pattern prefilter: one pass over a buffer finds every rule that could match it.
//!
//! Each rule contributes one literal, its fast pattern: the content marked `fast_pattern`, else
//! its longest positive content. All of them go into one Aho–Corasick automaton (a second one
//! for `nocase` patterns), so the cost of a scan depends on the buffer, not on how many rules
//! there are. A hit makes the rule a candidate, evaluated in full afterwards; rules with no
//! usable literal are always candidates. Identical patterns are stored once, with every rule
//! that uses them.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// One automaton and the rules behind each of its patterns.
#[derive(Debug, Clone)]
struct Automaton {
    ac: AhoCorasick,
    rules: Vec<Vec<u32>>,
}

impl Automaton {
    fn build(patterns: HashMap<Vec<u8>, Vec<u32>>, nocase: bool) -> Option<Self> {
        if patterns.is_empty() {
            return None;
        }
        let (pats, rules): (Vec<_>, Vec<_>) = patterns.into_iter().unzip();
        // A DFA is fastest but its size grows with the pattern set; past a few thousand
        // patterns the contiguous NFA keeps memory and build time in check.
        let kind = if pats.len() <= 2_000 {
            AhoCorasickKind::DFA
        } else {
            AhoCorasickKind::ContiguousNFA
        };
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(nocase)
            .kind(Some(kind))
            .build(&pats)
            .ok()?;
        Some(Automaton { ac, rules })
    }
}

/// Reusable memory for scans, so that a scan allocates nothing once warm.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    seen: Vec<u64>,
    pub(crate) candidates: Vec<u32>,
}

impl Scratch {
    fn mark(&mut self, rule: u32) {
        let (w, b) = ((rule / 64) as usize, rule % 64);
        if w >= self.seen.len() {
            self.seen.resize(w + 1, 0);
        }
        if self.seen[w] & (1 << b) == 0 {
            self.seen[w] |= 1 << b;
            self.candidates.push(rule);
        }
    }

    fn clear_marks(&mut self) {
        for &r in &self.candidates {
            self.seen[(r / 64) as usize] &= !(1 << (r % 64));
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    exact: Option<Automaton>,
    nocase: Option<Automaton>,
    always: Vec<u32>,
    patterns: usize,
}

/// What a rule gives the prefilter.
pub enum Entry<'a> {
    Pattern { bytes: &'a [u8], nocase: bool },
    Always,
}

impl Prefilter {
    pub fn build<'a>(entries: impl IntoIterator<Item = (u32, Entry<'a>)>) -> Self {
        let (mut exact, mut nocase, mut always) = (
            HashMap::<Vec<u8>, Vec<u32>>::new(),
            HashMap::new(),
            Vec::new(),
        );
        for (rule, e) in entries {
            match e {
                Entry::Pattern {
                    bytes,
                    nocase: false,
                } => exact.entry(bytes.to_vec()).or_default().push(rule),
                Entry::Pattern {
                    bytes,
                    nocase: true,
                } => nocase
                    .entry(bytes.to_ascii_lowercase())
                    .or_insert_with(Vec::new)
                    .push(rule),
                Entry::Always => always.push(rule),
            }
        }
        let patterns = exact.len() + nocase.len();
        Prefilter {
            exact: Automaton::build(exact, false),
            nocase: Automaton::build(nocase, true),
            always,
            patterns,
        }
    }

    /// Distinct literals in the automata.
    pub fn patterns(&self) -> usize {
        self.patterns
    }

    /// The candidate rules for `buf`, in ascending order, into `scratch.candidates`.
    pub fn candidates(&self, buf: &[u8], scratch: &mut Scratch) {
        scratch.candidates.clear();
        for a in [&self.exact, &self.nocase].into_iter().flatten() {
            if buf.is_empty() {
                break;
            }
            for m in a.ac.find_overlapping_iter(buf) {
                for &r in &a.rules[m.pattern().as_usize()] {
                    scratch.mark(r);
                }
            }
        }
        for &r in &self.always {
            scratch.mark(r);
        }
        scratch.clear_marks();
        scratch.candidates.sort_unstable();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_rules_whose_pattern_occurs() {
        let p = Prefilter::build([
            (
                0,
                Entry::Pattern {
                    bytes: b"PLC",
                    nocase: false,
                },
            ),
            (
                1,
                Entry::Pattern {
                    bytes: b"stop",
                    nocase: true,
                },
            ),
            (2, Entry::Always),
            (
                3,
                Entry::Pattern {
                    bytes: b"PLC",
                    nocase: false,
                },
            ),
            (
                4,
                Entry::Pattern {
                    bytes: b"never",
                    nocase: false,
                },
            ),
        ]);
        assert_eq!(p.patterns(), 3);
        let mut s = Scratch::default();
        p.candidates(b"xxPLC STOP PLC", &mut s);
        assert_eq!(s.candidates, [0, 1, 2, 3]);
        p.candidates(b"plc", &mut s);
        assert_eq!(s.candidates, [2]);
        p.candidates(b"", &mut s);
        assert_eq!(s.candidates, [2]);
    }
}
