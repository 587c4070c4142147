//! GOOSE: each frame logged as a `goose` event, and each publisher followed as its subscribers
//! follow it, so that what a spoofer must do to be believed shows.
//!
//! A subscriber takes a frame with a higher `stNum` than it holds as the publisher's new state
//! and ignores the rest; a spoofer's frame is believed when its `stNum` is higher, and the
//! genuine publisher's next frames are then the stale ones. Per publisher (source MAC, APPID,
//! gocbRef) the follower holds the last `stNum`, `sqNum`, `confRev` and a digest of the data,
//! and reports as anomalies:
//!
//! * `goose.st_num_jump`: `stNum` grew by more than one (states skipped: a forged state, or
//!   lost frames);
//! * `goose.st_num_decrease`: `stNum` went back (frames of two sources under one identity,
//!   after a forged jump; or a publisher restarted);
//! * `goose.sq_num_reset`: `sqNum` went back within one state (a forged retransmission
//!   restarting the count);
//! * `goose.data_changed`: the data changed without a new `stNum` (a forged frame that does
//!   not announce itself; some publishers do it too);
//! * `goose.restart`: the count started again at `stNum` 1 with a new time of change `t` (the
//!   publisher restarted — or something wants it to look so);
//! * `goose.conf_rev_changed`: the control block's configuration revision changed.
//!
//! Each anomaly is reported once a minute at most per publisher, so that two sources
//! alternating under one identity are one finding a minute, not one a heartbeat. At most
//! [`MAX_PUBLISHERS`] are followed; frames of the rest are counted.

pub mod eve;

use std::fmt;
use std::hash::{BuildHasher, Hasher};

use decoders::goose::{Goose, UtcTime};
use icsight_eve::EventType;
use serde::Serialize;

use crate::app::ether::{error_event, Senders, Slot};
use crate::detect::{FrameAt, Stage};

/// Publishers followed by default; a substation has tens to hundreds.
pub const MAX_PUBLISHERS: usize = 4096;
/// Seconds between two reports of one anomaly of one publisher.
const REALERT_SECS: u64 = 60;
/// Kinds of [`Finding`].
const KINDS: usize = 6;

/// What the follower found about one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finding {
    StNumJump { from: u32, to: u32 },
    StNumDecrease { from: u32, to: u32 },
    SqNumReset { st_num: u32, from: u32, to: u32 },
    DataChanged { st_num: u32, sq_num: u32 },
    ConfRevChanged { from: u32, to: u32 },
    Restart { st_num: u32, sq_num: u32 },
}

impl Finding {
    /// The anomaly's name, as `app-layer-event` rules write it.
    pub fn event(self) -> &'static str {
        match self {
            Finding::StNumJump { .. } => "goose.st_num_jump",
            Finding::StNumDecrease { .. } => "goose.st_num_decrease",
            Finding::SqNumReset { .. } => "goose.sq_num_reset",
            Finding::DataChanged { .. } => "goose.data_changed",
            Finding::ConfRevChanged { .. } => "goose.conf_rev_changed",
            Finding::Restart { .. } => "goose.restart",
        }
    }

    fn index(self) -> usize {
        match self {
            Finding::StNumJump { .. } => 0,
            Finding::StNumDecrease { .. } => 1,
            Finding::SqNumReset { .. } => 2,
            Finding::DataChanged { .. } => 3,
            Finding::ConfRevChanged { .. } => 4,
            Finding::Restart { .. } => 5,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Finding::StNumJump { from, to } => {
                write!(f, "stNum jumped from {from} to {to}")
            }
            Finding::StNumDecrease { from, to } => {
                write!(f, "stNum went back from {from} to {to}")
            }
            Finding::SqNumReset { st_num, from, to } => {
                write!(
                    f,
                    "sqNum went back from {from} to {to} within stNum {st_num}"
                )
            }
            Finding::DataChanged { st_num, sq_num } => write!(
                f,
                "data changed without a state change (stNum {st_num}, sqNum {sq_num})"
            ),
            Finding::ConfRevChanged { from, to } => {
                write!(f, "confRev changed from {from} to {to}")
            }
            Finding::Restart { st_num, sq_num } => write!(
                f,
                "counting restarted (stNum {st_num}, sqNum {sq_num}) with a new time of change"
            ),
        }
    }
}

/// One publisher as its subscribers know it.
#[derive(Debug)]
struct Publisher {
    st_num: u32,
    sq_num: u32,
    conf_rev: u32,
    data: u64,
    /// The time of the last state change, as sent.
    t: Option<UtcTime>,
    /// When each finding was last reported (seconds), by [`Finding::index`].
    reported: [Option<u64>; KINDS],
}

/// The counters of `stats.goose`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct GooseStats {
    pub frames: u64,
    /// Frames that did not read as GOOSE.
    pub invalid: u64,
    /// Frames that began a new state (the first of a publisher's too).
    pub state_changes: u64,
    /// Publishers followed now.
    pub publishers: u64,
    /// Frames of publishers past the cap, not followed.
    pub publishers_dropped: u64,
    pub anomalies: u64,
}

/// The publishers followed, by source MAC, APPID and gocbRef.
pub struct Follower {
    publishers: Senders<Publisher>,
    /// Digests of the data sets.
    hasher: ahash::RandomState,
}

impl Default for Follower {
    fn default() -> Self {
        Follower::new(MAX_PUBLISHERS)
    }
}

impl Follower {
    pub fn new(max: usize) -> Self {
        Follower {
            publishers: Senders::new(max),
            hasher: ahash::RandomState::with_seeds(1, 2, 3, 4),
        }
    }

    fn digest(&self, g: &Goose<'_>) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(g.all_data());
        h.finish()
    }

    /// Follow one frame from `mac`; what it breaks goes to `found` (at most one finding of each
    /// kind). `false` when the publisher is past the cap.
    pub fn observe(
        &mut self,
        mac: [u8; 6],
        g: &Goose<'_>,
        secs: u64,
        found: &mut Findings,
        stats: &mut GooseStats,
    ) -> bool {
        let data = self.digest(g);
        let first = || Publisher {
            st_num: g.st_num,
            sq_num: g.sq_num,
            conf_rev: g.conf_rev,
            data,
            t: g.t,
            reported: [None; KINDS],
        };
        let p = match self.publishers.get(mac, g.header.appid, g.gocb_ref, first) {
            Slot::Known(p) => p,
            Slot::New => {
                stats.publishers = self.publishers.count() as u64;
                stats.state_changes += 1;
                return true;
            }
            Slot::Dropped => {
                stats.publishers_dropped += 1;
                return false;
            }
        };
        let (st, sq) = (g.st_num, g.sq_num);
        let mut report = |f: Finding| {
            let last = &mut p.reported[f.index()];
            if last.is_none_or(|t| secs >= t + REALERT_SECS) {
                *last = Some(secs);
                found.push(f);
            }
        };
        if g.conf_rev != p.conf_rev {
            report(Finding::ConfRevChanged {
                from: p.conf_rev,
                to: g.conf_rev,
            });
        }
        // stNum wraps from 2^32-1 to 1.
        let next = if p.st_num == u32::MAX {
            1
        } else {
            p.st_num + 1
        };
        // A publisher starts at stNum 1 with sqNum 0 (Edition 1: 1), stamping a new `t`.
        let restart = st == 1 && sq <= 1 && g.t != p.t && st != next;
        if restart && (st < p.st_num || sq < p.sq_num) {
            report(Finding::Restart {
                st_num: st,
                sq_num: sq,
            });
            if st != p.st_num {
                stats.state_changes += 1;
            }
        } else if st == p.st_num {
            // A duplicate (the same frame captured twice) says nothing.
            if sq < p.sq_num && p.sq_num != u32::MAX {
                report(Finding::SqNumReset {
                    st_num: st,
                    from: p.sq_num,
                    to: sq,
                });
            } else if data != p.data {
                report(Finding::DataChanged {
                    st_num: st,
                    sq_num: sq,
                });
            }
        } else {
            stats.state_changes += 1;
            if st < p.st_num && st != next {
                report(Finding::StNumDecrease {
                    from: p.st_num,
                    to: st,
                });
            } else if st != next {
                report(Finding::StNumJump {
                    from: p.st_num,
                    to: st,
                });
            }
        }
        p.st_num = st;
        p.sq_num = sq;
        p.conf_rev = g.conf_rev;
        p.data = data;
        p.t = g.t;
        true
    }
}

/// The findings of one frame: at most one of each kind, held without allocating.
#[derive(Debug, Default)]
pub struct Findings {
    list: [Option<Finding>; KINDS],
    len: usize,
}

impl Findings {
    fn push(&mut self, f: Finding) {
        if self.len < self.list.len() {
            self.list[self.len] = Some(f);
            self.len += 1;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = Finding> + '_ {
        self.list[..self.len].iter().flatten().copied()
    }
}

/// The anomaly names of the frames that do not read.
const ERRORS: [&str; 4] = [
    "goose.truncated",
    "goose.invalid_length",
    "goose.invalid_pdu",
    "goose.missing_field",
];

/// One GOOSE frame (the payload after the ethertype): logged, followed, its anomalies reported.
pub fn frame(
    follower: &mut Follower,
    stats: &mut GooseStats,
    out: &mut Stage,
    at: &FrameAt<'_>,
    payload: &[u8],
) {
    stats.frames += 1;
    let g = match Goose::read(payload) {
        Ok(g) => g,
        Err(e) => {
            stats.invalid += 1;
            stats.anomalies += 1;
            out.frame_anomaly(
                at,
                error_event(e, &ERRORS),
                &e,
                &crate::app::ether::Empty {},
            );
            return;
        }
    };
    let body = eve::Body {
        goose: eve::GooseLog(&g),
    };
    out.frame_event(at, EventType::Goose, &body);
    out.goose(at, &g, &body);
    let mut found = Findings::default();
    // Without a source MAC (a cooked capture), publishers are told apart by APPID and gocbRef.
    let mac = at.macs.map_or([0; 6], |(src, _)| src);
    follower.observe(mac, &g, at.ts.secs(), &mut found, stats);
    for f in found.iter() {
        stats.anomalies += 1;
        out.frame_anomaly(at, f.event(), &f, &body);
    }
}

#[cfg(test)]
mod tests;
