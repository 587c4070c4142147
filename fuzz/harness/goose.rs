//! GOOSE and Sampled Values frames (the payload after the ethertype), several in a row, each
//! prefixed by a 2-byte length: every field, member and ASDU is read, each frame's `goose` or
//! `sv` block is written as JSON, and the GOOSE frames go through one publisher follower, so its
//! arithmetic on hostile counters and times runs too. Nothing may panic.

use decoders::goose::Goose;
use decoders::sv::Sv;
use sensor::app::goose::eve::GooseLog;
use sensor::app::goose::{Findings, Follower, GooseStats};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let mut follower = Follower::new(4);
    let mut stats = GooseStats::default();
    let mut rest = data;
    let mut secs = 0;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        secs += 7;
        if let Ok(g) = Goose::read(frame) {
            for d in g.data() {
                let _ = (d.number(), d.type_name());
            }
            let _ = g.t.map(|t| t.micros());
            let _ = serde_json::to_vec(&GooseLog(&g));
            let mut found = Findings::default();
            let mac = [frame.first().copied().unwrap_or(0) & 3; 6];
            follower.observe(mac, &g, secs, &mut found, &mut stats);
            for f in found.iter() {
                let _ = f.to_string();
            }
        }
        if let Ok(sv) = Sv::read(frame) {
            for a in sv.asdus() {
                let _ = (a.refr_tm.map(|t| t.micros()), a.values().count());
            }
        }
    }
}
