//! Sampled Values: thousands of frames a second per merging unit, so not one event each. Each
//! stream (source MAC, APPID, svID) is followed: an `sv` event when it is first seen and when
//! its configuration revision or synchronisation changes, and as anomalies:
//!
//! * `sv.sync_lost`: a synchronised stream (`smpSynch` 1, 2 or a source's id) is no longer
//!   (protection that compares currents of two units then compares unaligned samples);
//! * `sv.conf_rev_changed`: the stream's configuration revision changed.
//!
//! Frames and ASDUs are counted in `stats.sv`. At most [`MAX_STREAMS`] streams are followed.

use decoders::sv::{Asdu, Sv};
use icsight_eve::EventType;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::app::ether::{error_event, Senders, Slot};
use crate::app::text::Text;
use crate::detect::{FrameAt, Stage};

/// Streams followed; a bay has a few merging units, each with a stream or two.
pub const MAX_STREAMS: usize = 1024;
/// ASDUs read from one frame.
const MAX_ASDUS: usize = 16;

const ERRORS: [&str; 4] = [
    "sv.truncated",
    "sv.invalid_length",
    "sv.invalid_pdu",
    "sv.missing_field",
];

/// The counters of `stats.sv`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SvStats {
    pub frames: u64,
    pub asdus: u64,
    /// Frames that did not read as Sampled Values.
    pub invalid: u64,
    /// Streams followed now.
    pub streams: u64,
    /// ASDUs of streams past the cap, not followed.
    pub streams_dropped: u64,
    pub anomalies: u64,
}

/// What a stream's `sv` event tells.
#[derive(Debug)]
struct Stream {
    conf_rev: u32,
    smp_synch: u8,
}

/// The streams followed, by source MAC, APPID and svID.
pub struct Streams(Senders<Stream>);

impl Default for Streams {
    fn default() -> Self {
        Streams(Senders::new(MAX_STREAMS))
    }
}

/// What one ASDU changed of its stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    New,
    Same,
    /// Configuration revision or synchronisation: the `smpSynch` of a stream that was
    /// synchronised and is no longer, the confRev changed from.
    Changed {
        sync_lost: Option<u8>,
        conf_rev: Option<u32>,
    },
}

impl Streams {
    fn observe(&mut self, mac: [u8; 6], appid: u16, a: &Asdu<'_>, stats: &mut SvStats) -> Change {
        let first = || Stream {
            conf_rev: a.conf_rev,
            smp_synch: a.smp_synch,
        };
        let s = match self.0.get(mac, appid, a.sv_id, first) {
            Slot::Known(s) => s,
            Slot::New => {
                stats.streams = self.0.count() as u64;
                return Change::New;
            }
            Slot::Dropped => {
                stats.streams_dropped += 1;
                return Change::Same;
            }
        };
        if (s.conf_rev, s.smp_synch) == (a.conf_rev, a.smp_synch) {
            return Change::Same;
        }
        let change = Change::Changed {
            sync_lost: (s.smp_synch != 0 && a.smp_synch == 0).then_some(s.smp_synch),
            conf_rev: (s.conf_rev != a.conf_rev).then_some(s.conf_rev),
        };
        s.conf_rev = a.conf_rev;
        s.smp_synch = a.smp_synch;
        change
    }
}

#[derive(Serialize)]
struct Body<'a> {
    sv: SvLog<'a>,
}

/// One ASDU of a frame, and what it changed.
struct SvLog<'a> {
    sv: &'a Sv<'a>,
    asdu: &'a Asdu<'a>,
    change: &'static str,
}

impl Serialize for SvLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (sv, a) = (self.sv, self.asdu);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("change", self.change)?;
        m.serialize_entry("appid", &sv.header.appid)?;
        if sv.header.simulated() {
            m.serialize_entry("simulated", &true)?;
        }
        m.serialize_entry("no_asdu", &sv.no_asdu)?;
        m.serialize_entry("sv_id", &Text(a.sv_id))?;
        if let Some(d) = a.dat_set {
            m.serialize_entry("dat_set", &Text(d))?;
        }
        m.serialize_entry("smp_cnt", &a.smp_cnt)?;
        m.serialize_entry("conf_rev", &a.conf_rev)?;
        m.serialize_entry("smp_synch", &a.smp_synch)?;
        if let Some(r) = a.smp_rate {
            m.serialize_entry("smp_rate", &r)?;
        }
        if let Some(r) = a.smp_mod {
            m.serialize_entry("smp_mod", &r)?;
        }
        m.serialize_entry("samples", &(a.samples.len() / 8))?;
        m.end()
    }
}

/// One Sampled Values frame (the payload after the ethertype).
pub fn frame(
    streams: &mut Streams,
    stats: &mut SvStats,
    out: &mut Stage,
    at: &FrameAt<'_>,
    payload: &[u8],
) {
    stats.frames += 1;
    let sv = match Sv::read(payload) {
        Ok(sv) => sv,
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
    let mac = at.macs.map_or([0; 6], |(src, _)| src);
    for a in sv.asdus().take(MAX_ASDUS) {
        stats.asdus += 1;
        let change = streams.observe(mac, sv.header.appid, &a, stats);
        let name = match change {
            Change::Same => continue,
            Change::New => "new",
            Change::Changed { .. } => "changed",
        };
        let body = Body {
            sv: SvLog {
                sv: &sv,
                asdu: &a,
                change: name,
            },
        };
        out.frame_event(at, EventType::Sv, &body);
        if let Change::Changed {
            sync_lost,
            conf_rev,
        } = change
        {
            if let Some(was) = sync_lost {
                stats.anomalies += 1;
                let msg = format!("stream lost its synchronisation (smpSynch {was} to 0)");
                out.frame_anomaly(at, "sv.sync_lost", &msg, &body);
            }
            if let Some(from) = conf_rev {
                stats.anomalies += 1;
                let msg = format!("confRev changed from {from} to {}", a.conf_rev);
                out.frame_anomaly(at, "sv.conf_rev_changed", &msg, &body);
            }
        }
    }
}
