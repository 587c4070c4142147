//! The multi-pattern prefilter: one pass over a buffer finds every rule that could match it.
//!
//! Each rule contributes one literal, its fast pattern: the content marked `fast_pattern`, else
//! its longest positive content. All of them go into one Aho–Corasick DFA (a second one for
//! `nocase` patterns), so the cost of a scan depends on the buffer, not on how many rules there
//! are; past [`LARGE_LITERAL_SET`] literals they go to Hyperscan instead, which is faster
//! there. A hit makes the rule a candidate, evaluated in full afterwards. Identical patterns are
//! stored once, with every rule that uses them.
//!
//! A rule with no literal but a `pcre` gives its expression instead: all of them are compiled
//! into one Hyperscan database in prefilter mode (which may match more than the expression,
//! never less), so a pcre-only rule is a candidate only where its expression could match.
//! Rules with neither, and expressions Hyperscan cannot take, are always candidates.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use hyperscan::prelude::*;
use hyperscan::{BlockDatabase, Matching, PatternFlags};

use crate::pcre::Pcre;

/// Literal sets larger than this go to Hyperscan rather than Aho–Corasick.
const LARGE_LITERAL_SET: usize = 2_000;

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
        // At most LARGE_LITERAL_SET patterns: a DFA is fastest and stays small enough.
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .ascii_case_insensitive(nocase)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&pats)
            .ok()?;
        Some(Automaton { ac, rules })
    }
}

/// The rules' regular expressions in one Hyperscan database.
#[derive(Clone)]
struct Regexes {
    db: Arc<BlockDatabase>,
    /// The rules behind each expression id.
    rules: Vec<Vec<u32>>,
    /// Rules whose expression is in `db`, all made candidates should a scan fail.
    all: Vec<u32>,
    /// Tells databases apart, so a scratch made for one is never used with another.
    id: u64,
}

impl fmt::Debug for Regexes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Regexes")
            .field("expressions", &self.rules.len())
            .field("id", &self.id)
            .finish()
    }
}

impl Regexes {
    /// Compile what Hyperscan accepts; an expression it refuses leaves its rules to `always`.
    fn build(mut entries: Vec<(Pattern, Vec<u32>)>, always: &mut Vec<u32>) -> Option<Self> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        while !entries.is_empty() {
            for (i, (p, _)) in entries.iter_mut().enumerate() {
                p.id = Some(i);
            }
            let patterns = Patterns(entries.iter().map(|(p, _)| p.clone()).collect());
            match patterns.build::<hyperscan::BlockMode>() {
                Ok(db) => {
                    let rules: Vec<Vec<u32>> = entries.into_iter().map(|(_, r)| r).collect();
                    let mut all: Vec<u32> = rules.iter().flatten().copied().collect();
                    all.sort_unstable();
                    all.dedup();
                    return Some(Regexes {
                        db: Arc::new(db),
                        rules,
                        all,
                        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                    });
                }
                Err(hyperscan::Error::Hyperscan(hyperscan::HsError::CompileError(e))) => {
                    match e.expression() {
                        Some(i) if i < entries.len() => always.extend(entries.remove(i).1),
                        _ => break,
                    }
                }
                Err(_) => break,
            }
        }
        for (_, rules) in entries {
            always.extend(rules);
        }
        None
    }
}

/// The Hyperscan form of a pcre: its flags as Hyperscan's, `x` and `A` written into the
/// expression. Prefilter mode lets Hyperscan approximate what it cannot match exactly;
/// single-match, since one hit is enough to make the rule a candidate.
fn hyperscan_pattern(re: &Pcre) -> Option<Pattern> {
    let mut flags = PatternFlags::PREFILTER | PatternFlags::SINGLEMATCH | PatternFlags::ALLOWEMPTY;
    for (on, f) in [
        (re.nocase, PatternFlags::CASELESS),
        (re.dotall, PatternFlags::DOTALL),
        (re.multiline, PatternFlags::MULTILINE),
    ] {
        if on {
            flags |= f;
        }
    }
    let mut expr = re.expression();
    if re.extended {
        expr.insert_str(0, "(?x)");
    }
    // Hyperscan takes C strings.
    if expr.contains('\0') {
        return None;
    }
    Pattern::with_flags(expr, flags).ok()
}

/// A literal as a Hyperscan expression: every byte escaped.
fn literal_pattern(bytes: &[u8], nocase: bool) -> Option<Pattern> {
    use std::fmt::Write;
    let mut expr = String::with_capacity(bytes.len() * 4);
    for b in bytes {
        let _ = write!(expr, "\\x{b:02x}");
    }
    let mut flags = PatternFlags::SINGLEMATCH;
    if nocase {
        flags |= PatternFlags::CASELESS;
    }
    Pattern::with_flags(expr, flags).ok()
}

/// Reusable memory for scans, so that a scan allocates nothing once warm.
#[derive(Default, Clone)]
pub struct Scratch {
    seen: Vec<u64>,
    pub(crate) candidates: Vec<u32>,
    /// Hyperscan's scratch, and the database it was made for.
    hs: Option<(u64, hyperscan::Scratch)>,
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scratch")
            .field("candidates", &self.candidates)
            .field("hyperscan", &self.hs.as_ref().map(|h| h.0))
            .finish()
    }
}

fn mark(seen: &mut Vec<u64>, candidates: &mut Vec<u32>, rule: u32) {
    let (w, b) = ((rule / 64) as usize, rule % 64);
    if w >= seen.len() {
        seen.resize(w + 1, 0);
    }
    if seen[w] & (1 << b) == 0 {
        seen[w] |= 1 << b;
        candidates.push(rule);
    }
}

impl Scratch {
    /// Room for every rule to be a candidate, made once: a packet matching more patterns than
    /// any before it must not allocate.
    fn reserve(&mut self, rules: u32) {
        let words = rules.div_ceil(64) as usize;
        if self.seen.len() < words {
            self.seen.resize(words, 0);
        }
        self.candidates.reserve(rules as usize);
    }

    fn mark(&mut self, rule: u32) {
        mark(&mut self.seen, &mut self.candidates, rule);
    }

    fn clear_marks(&mut self) {
        for &r in &self.candidates {
            self.seen[(r / 64) as usize] &= !(1 << (r % 64));
        }
    }

    /// Mark the rules whose expression may match `buf`; all of them if Hyperscan fails.
    fn scan_regexes(&mut self, re: &Regexes, buf: &[u8]) {
        if self.hs.as_ref().is_none_or(|(id, _)| *id != re.id) {
            self.hs = re.db.alloc_scratch().ok().map(|s| (re.id, s));
        }
        let Scratch {
            seen,
            candidates,
            hs,
        } = self;
        let scanned = hs.as_ref().is_some_and(|(_, hs)| {
            re.db
                .scan(buf, hs, |id: u32, _from: u64, _to: u64, _flags: u32| {
                    for &r in &re.rules[id as usize] {
                        mark(seen, candidates, r);
                    }
                    Matching::Continue
                })
                .is_ok()
        });
        if !scanned {
            for &r in &re.all {
                self.mark(r);
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    exact: Option<Automaton>,
    nocase: Option<Automaton>,
    regexes: Option<Regexes>,
    always: Vec<u32>,
    patterns: usize,
    /// One past the highest rule index: what bounds the candidates of one scan.
    rules: u32,
}

/// What a rule gives the prefilter.
pub enum Entry<'a> {
    Pattern { bytes: &'a [u8], nocase: bool },
    Regex(&'a Pcre),
    Always,
}

impl Prefilter {
    pub fn build<'a>(entries: impl IntoIterator<Item = (u32, Entry<'a>)>) -> Self {
        let (mut exact, mut nocase, mut always) = (
            HashMap::<Vec<u8>, Vec<u32>>::new(),
            HashMap::new(),
            Vec::new(),
        );
        let mut regexes = Vec::new();
        let mut rules = 0;
        for (rule, e) in entries {
            rules = rules.max(rule + 1);
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
                Entry::Regex(re) => regexes.push((re, vec![rule])),
                Entry::Always => always.push(rule),
            }
        }
        let patterns = exact.len() + nocase.len();
        let mut hs: Vec<(Pattern, Vec<u32>)> = Vec::new();
        for (re, rules) in regexes {
            match hyperscan_pattern(re) {
                Some(p) => hs.push((p, rules)),
                None => always.extend(rules),
            }
        }
        // Past a few thousand literals Hyperscan's literal matcher outruns a contiguous
        // Aho–Corasick NFA, and they share one scan with the expressions.
        if patterns > LARGE_LITERAL_SET {
            for (set, nocase) in [
                (std::mem::take(&mut exact), false),
                (std::mem::take(&mut nocase), true),
            ] {
                for (bytes, rules) in set {
                    match literal_pattern(&bytes, nocase) {
                        Some(p) => hs.push((p, rules)),
                        None => always.extend(rules),
                    }
                }
            }
        }
        let regexes = Regexes::build(hs, &mut always);
        Prefilter {
            exact: Automaton::build(exact, false),
            nocase: Automaton::build(nocase, true),
            regexes,
            always,
            patterns,
            rules,
        }
    }

    /// Expressions in the Hyperscan database (pcres, and literals when the set is large).
    pub fn regexes(&self) -> usize {
        self.regexes.as_ref().map_or(0, |r| r.rules.len())
    }

    /// Rules that are candidates for every buffer.
    pub fn always(&self) -> usize {
        self.always.len()
    }

    /// Distinct literals in the automata.
    pub fn patterns(&self) -> usize {
        self.patterns
    }

    /// The candidate rules for `buf`, in ascending order, into `scratch.candidates`.
    pub fn candidates(&self, buf: &[u8], scratch: &mut Scratch) {
        scratch.candidates.clear();
        scratch.reserve(self.rules);
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
        if let Some(re) = &self.regexes {
            scratch.scan_regexes(re, buf);
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

    fn pcre(rule: &str) -> Pcre {
        Pcre::parse(rule).unwrap()
    }

    #[test]
    fn expressions_make_candidates_only_where_they_may_match() {
        let res = [
            pcre(r#""/^\x05\x00.{2}[\x01-\x10]/s""#),
            pcre(r#""/PLC/iA""#),
            pcre(r#""/(?-u:\xff)unsupported/""#),
            pcre(r#""/stop \s+ now  # a comment/xA""#),
            pcre(r#""/user\s+root/""#),
        ];
        let p = Prefilter::build(
            res.iter()
                .enumerate()
                .map(|(i, re)| (i as u32, Entry::Regex(re))),
        );
        assert_eq!(p.regexes(), 4, "Hyperscan refuses one expression");
        assert_eq!(p.always(), 1);
        let mut s = Scratch::default();
        p.candidates(b"\x05\x00ab\x03", &mut s);
        assert_eq!(s.candidates, [0, 2]);
        p.candidates(b"plc stop", &mut s);
        assert_eq!(s.candidates, [1, 2]);
        p.candidates(b"x plc", &mut s);
        assert_eq!(s.candidates, [2], "`A` anchors at the start");
        p.candidates(b"stop   now", &mut s);
        assert_eq!(s.candidates, [2, 3]);
        p.candidates(b"su user  root", &mut s);
        assert_eq!(s.candidates, [2, 4]);
        // A scratch survives a rebuilt prefilter: it is made anew for the new database.
        let abc = pcre(r#""/abc/""#);
        let q = Prefilter::build([(7, Entry::Regex(&abc))]);
        q.candidates(b"xabc", &mut s);
        assert_eq!(s.candidates, [7]);
        p.candidates(b"plc", &mut s);
        assert_eq!(s.candidates, [1, 2]);
    }

    #[test]
    fn large_literal_sets_go_to_hyperscan() {
        let words: Vec<Vec<u8>> = (0..3_000u32)
            .map(|i| format!("w{i:05}|").into_bytes())
            .collect();
        let entries = words.iter().enumerate().map(|(i, w)| {
            (
                i as u32,
                Entry::Pattern {
                    bytes: w,
                    nocase: i % 2 == 1,
                },
            )
        });
        let zeros = pcre(r#""/^\x00+$/""#);
        let p = Prefilter::build(entries.chain([(3_000, Entry::Regex(&zeros))]));
        assert_eq!((p.patterns(), p.regexes(), p.always()), (3_000, 3_001, 0));
        let mut s = Scratch::default();
        p.candidates(b"..w00007|..W00010|..W00011|.w02999|", &mut s);
        assert_eq!(s.candidates, [7, 11, 2_999], "w00010 is case-sensitive");
        p.candidates(b"\0\0\0", &mut s);
        assert_eq!(s.candidates, [3_000]);
    }
}
