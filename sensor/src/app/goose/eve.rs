//! The `goose` event: the frame's APPID and simulation bit, and its GOOSE PDU — control block,
//! data set and id, time allowed to live, the time of the last state change, `stNum`, `sqNum`,
//! test, configuration revision, needs-commissioning, and the data set's members (as the
//! `mms` event writes Data). Written from the borrowed frame, allocating nothing.

use decoders::goose::{Goose, UtcTime};
use icsight_eve::Timestamp;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::app::mms::eve::{Value, MAX_LISTED};
use crate::app::text::Text;

#[derive(Serialize)]
pub struct Body<'a> {
    pub goose: GooseLog<'a>,
}

pub struct GooseLog<'a>(pub &'a Goose<'a>);

impl Serialize for GooseLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("appid", &g.header.appid)?;
        if g.header.simulated() {
            m.serialize_entry("simulated", &true)?;
        }
        m.serialize_entry("gocb_ref", &Text(g.gocb_ref))?;
        m.serialize_entry("dat_set", &Text(g.dat_set))?;
        if let Some(id) = g.go_id {
            m.serialize_entry("go_id", &Text(id))?;
        }
        m.serialize_entry("time_allowed_to_live", &g.time_allowed_to_live)?;
        if let Some(t) = g.t {
            m.serialize_entry("t", &Time(t))?;
        }
        m.serialize_entry("st_num", &g.st_num)?;
        m.serialize_entry("sq_num", &g.sq_num)?;
        m.serialize_entry("simulation", &g.simulation)?;
        m.serialize_entry("conf_rev", &g.conf_rev)?;
        m.serialize_entry("nds_com", &g.nds_com)?;
        m.serialize_entry("num_entries", &g.num_entries)?;
        m.serialize_entry("data", &Members(g))?;
        m.end()
    }
}

struct Members<'a>(&'a Goose<'a>);

impl Serialize for Members<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.data().take(MAX_LISTED).map(Value))
    }
}

/// A UtcTime as EVE writes its timestamps (`2026-12-04T08:15:02.123456+0000`).
pub struct Time(pub UtcTime);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        Timestamp::from_timeval(i64::from(t.seconds), i64::from(t.micros())).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_eve_timestamps() {
        let t = UtcTime {
            seconds: 1_733_299_200,
            fraction: 1 << 23,
            quality: 0x0a,
        };
        assert_eq!(
            serde_json::to_string(&Time(t)).unwrap(),
            "\"2024-12-04T08:00:00.500000+0000\""
        );
    }
}
