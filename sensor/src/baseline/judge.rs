//! Learning a fact, or checking it against what was learned: one place for both, so that
//! learning and detection cannot disagree about what a fact is.
//!
//! While learning, a fact is added. While detecting, a fact the baseline lacks is reported and
//! then taken in by the working copy, so each new function, address range or area is reported
//! once per run; value envelopes are never widened by detection, and their deviations are
//! paced by `realert_seconds` instead.

use serde::Serialize;

use super::anomaly::{Finding, Kind};
use super::envelope::Envelope;
use super::model::{insert_sorted, Activity, Dropped, Values};
use super::ranges::Ranges;
use crate::config::BaselineConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Learn,
    Detect,
}

/// A request, as the protocol-neutral part of the baseline sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub function: u16,
    pub activity: Activity,
    pub op: super::model::OpKey,
}

/// What a protocol module needs while it handles one transaction of one pair.
pub struct Judge<'a> {
    pub mode: Mode,
    pub cfg: &'a BaselineConfig,
    pub findings: &'a mut Vec<Finding>,
    pub dropped: &'a mut Dropped,
    /// Value points this pair may still add.
    pub points_left: usize,
    /// The client had only read (or identified) before: a write from it is the most severe.
    pub client_only_read: bool,
    /// This transaction's function was reported as new: its addresses are not reported again.
    pub fresh_function: bool,
    /// The values being judged come from the server (a response), not the client.
    pub from_server: bool,
}

impl Judge<'_> {
    pub fn detecting(&self) -> bool {
        self.mode == Mode::Detect
    }

    /// A function code of a request: learned, or reported when new (by what it does).
    pub fn function<T: Ord + Copy + Serialize + Into<u64>>(
        &mut self,
        functions: &mut Vec<T>,
        code: T,
        activity: Activity,
        fact: &'static str,
        describe: impl FnOnce() -> String,
    ) {
        if functions.binary_search(&code).is_ok() {
            return;
        }
        if self.detecting() {
            let kind = match activity {
                Activity::Control => Kind::PlcControl,
                Activity::Program => Kind::Programming,
                Activity::Write if self.client_only_read => Kind::ReadOnlyWrites,
                _ => Kind::NewFunction,
            };
            let d = detail(&[fact_key(fact), code.into()]);
            let f = Finding::new(kind, fact, d, describe()).values(code, &*functions);
            self.findings.push(f);
            self.fresh_function = true;
        }
        insert_sorted(functions, code);
    }

    /// Report a fact the baseline lacks, unless learning or this transaction's function was
    /// just reported (its details would only repeat it); `true` if reported.
    pub fn report(&mut self, finding: impl FnOnce() -> Finding) -> bool {
        if !self.detecting() || self.fresh_function {
            return false;
        }
        self.findings.push(finding());
        true
    }

    /// A member of a small learned set (S7 SZL ids, userdata functions, DNP3 objects…).
    pub fn member<T: Ord + Copy + Serialize + Into<u64>>(
        &mut self,
        set: &mut Vec<T>,
        x: T,
        kind: Kind,
        fact: &'static str,
        describe: impl FnOnce() -> String,
    ) {
        if set.binary_search(&x).is_ok() {
            return;
        }
        self.report(|| {
            let d = detail(&[fact_key(fact), x.into()]);
            Finding::new(kind, fact, d, describe()).values(x, &*set)
        });
        insert_sorted(set, x);
    }

    /// A name in a small learned set of names (users, files, policies): learned while there is
    /// room, or reported when new.
    pub fn name(
        &mut self,
        set: &mut Vec<String>,
        name: &str,
        max: usize,
        kind: Kind,
        fact: &'static str,
        describe: impl FnOnce() -> String,
    ) {
        if set.iter().any(|s| s == name) {
            return;
        }
        self.report(|| {
            let d = detail(&[fact_key(fact), fact_key(name)]);
            Finding::new(kind, fact, d, describe()).values(name, &*set)
        });
        if set.len() < max {
            set.push(name.to_owned());
        }
    }

    /// Addresses `first..=last` read or written: learned, or reported when outside the ranges.
    pub fn range(
        &mut self,
        ranges: &mut Ranges,
        first: u32,
        last: u32,
        fact: &'static str,
        detail: u64,
        describe: impl FnOnce() -> String,
    ) {
        if ranges.contains(first, last) {
            return;
        }
        self.report(|| {
            Finding::new(Kind::AddressOutsideRange, fact, detail, describe())
                .values([first, last], &*ranges)
        });
        ranges.add(first, last, self.cfg.max_ranges as usize);
    }

    /// A process value at `address`: enveloped while learning, checked while detecting.
    pub fn value(
        &mut self,
        values: &mut Values,
        address: u32,
        v: f64,
        fact: &'static str,
        detail: u64,
        describe: impl FnOnce() -> String,
    ) {
        if !v.is_finite() {
            return;
        }
        match (self.mode, values.get_mut(&address)) {
            (Mode::Learn, Some(e)) => e.add(v),
            (Mode::Learn, None) => {
                if self.points_left > 0 {
                    self.points_left -= 1;
                    values.insert(address, Envelope::new(v));
                } else {
                    self.dropped.points += 1;
                }
            }
            (Mode::Detect, Some(e)) => {
                if e.count >= u64::from(self.cfg.min_samples)
                    && e.excess(v, self.cfg.value_tolerance).is_some()
                {
                    let mut f = Finding::new(Kind::ValueOutsideEnvelope, fact, detail, describe())
                        .values(v, &*e);
                    f.by_server = self.from_server;
                    self.findings.push(f);
                }
            }
            (Mode::Detect, None) => {}
        }
    }
}

/// A fact's name as a suppression detail part.
pub fn fact_key(fact: &str) -> u64 {
    fnv(fact.bytes().map(u64::from))
}

/// A suppression detail from small parts (unit, table, address…).
pub fn detail(parts: &[u64]) -> u64 {
    fnv(parts.iter().copied())
}

/// FNV-1a over whole words: cheap, and stable from run to run.
fn fnv(parts: impl Iterator<Item = u64>) -> u64 {
    parts.fold(0xcbf2_9ce4_8422_2325u64, |h, p| {
        (h ^ p).wrapping_mul(0x100_0000_01b3)
    })
}
