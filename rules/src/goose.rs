//! GOOSE keywords, icsight's (neither Suricata nor Snort reads GOOSE). A GOOSE rule has no
//! addresses or ports (`alert goose any any -> any any`); each keyword reads one field of the
//! frame:
//!
//! * `goose.appid:N` — the APPID (a number, range or comparison, as `modbus` values are);
//! * `goose.gocb_ref:"LD/LLN0$GO$gcb"`, `goose.dat_set:"…"`, `goose.go_id:"…"` — the control
//!   block, data set and GOOSE id, equal to the string;
//! * `goose.st_num:N`, `goose.sq_num:N`, `goose.conf_rev:N` — the counters;
//! * `goose.simulation:yes|no` — the simulation (test) flag, or Edition 2's simulation bit of
//!   the header: subscribers in test mode act on such frames, the others must not;
//! * `goose.nds_com:yes|no` — the control block needs commissioning.
//!
//! What the follower of each publisher finds (`goose.st_num_jump`, `goose.sq_num_reset` …) is
//! matched by `app-layer-event`.

use decoders::goose::Goose;

use crate::num::{yes_no, UintMatch};
use crate::KeywordError;

/// A GOOSE keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Appid(UintMatch),
    GocbRef(String),
    DatSet(String),
    GoId(String),
    StNum(UintMatch),
    SqNum(UintMatch),
    ConfRev(UintMatch),
    Simulation(bool),
    NdsCom(bool),
}

impl Field {
    pub const KEYWORDS: [&'static str; 9] = [
        "goose.appid",
        "goose.gocb_ref",
        "goose.dat_set",
        "goose.go_id",
        "goose.st_num",
        "goose.sq_num",
        "goose.conf_rev",
        "goose.simulation",
        "goose.nds_com",
    ];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        let text = |keyword: &'static str| {
            let t = v.trim_matches('"');
            if t.is_empty() {
                return Err(KeywordError::Form {
                    keyword,
                    form: "a quoted reference such as \"LD0/LLN0$GO$gcb01\"",
                });
            }
            Ok(t.to_owned())
        };
        Ok(match keyword {
            "goose.appid" => Field::Appid(UintMatch::parse(v)?),
            "goose.gocb_ref" => Field::GocbRef(text("goose.gocb_ref")?),
            "goose.dat_set" => Field::DatSet(text("goose.dat_set")?),
            "goose.go_id" => Field::GoId(text("goose.go_id")?),
            "goose.st_num" => Field::StNum(UintMatch::parse(v)?),
            "goose.sq_num" => Field::SqNum(UintMatch::parse(v)?),
            "goose.conf_rev" => Field::ConfRev(UintMatch::parse(v)?),
            "goose.simulation" => Field::Simulation(yes_no("goose.simulation", v)?),
            _ => Field::NdsCom(yes_no("goose.nds_com", v)?),
        })
    }

    pub fn matches(&self, g: &Goose<'_>) -> bool {
        match self {
            Field::Appid(m) => m.matches(u64::from(g.header.appid)),
            Field::GocbRef(s) => g.gocb_ref == s.as_bytes(),
            Field::DatSet(s) => g.dat_set == s.as_bytes(),
            Field::GoId(s) => g.go_id == Some(s.as_bytes()),
            Field::StNum(m) => m.matches(u64::from(g.st_num)),
            Field::SqNum(m) => m.matches(u64::from(g.sq_num)),
            Field::ConfRev(m) => m.matches(u64::from(g.conf_rev)),
            Field::Simulation(want) => (g.simulation || g.header.simulated()) == *want,
            Field::NdsCom(want) => g.nds_com == *want,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first GOOSE frame of `pcaps/iec61850_goose.pcap`, after the VLAN tag's ethertype.
    const FRAME: &str =
        "1000008500000000617b801c506c616e744c444c44302f4c4c4e3024474f246763624576656e7473\
        810207d08216506c616e744c444c44302f4c4c4e30244576656e747383096763624576656e747384\
        086b16d4b12624dd0a8501018601008701008801018901008a0106ab188301018403030000830100\
        84030300008301008403030000";

    fn frame() -> Vec<u8> {
        (0..FRAME.len() / 2)
            .map(|i| u8::from_str_radix(&FRAME[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn each_keyword_reads_its_field() {
        let b = frame();
        let g = Goose::read(&b).unwrap();
        for (k, v, want) in [
            ("goose.appid", "0x1000", true),
            ("goose.appid", ">0x3fff", false),
            ("goose.gocb_ref", "\"PlantLDLD0/LLN0$GO$gcbEvents\"", true),
            ("goose.gocb_ref", "\"PlantLDLD0/LLN0$GO$other\"", false),
            ("goose.dat_set", "\"PlantLDLD0/LLN0$Events\"", true),
            ("goose.go_id", "gcbEvents", true),
            ("goose.st_num", "1", true),
            ("goose.st_num", ">50", false),
            ("goose.sq_num", "0", true),
            ("goose.conf_rev", "1", true),
            ("goose.simulation", "no", true),
            ("goose.simulation", "yes", false),
            ("goose.nds_com", "no", true),
        ] {
            let f = Field::parse(k, v).unwrap();
            assert_eq!(f.matches(&g), want, "{k}:{v}");
        }
        // The header's simulation bit counts as the flag.
        let mut sim = b.clone();
        sim[4] = 0x80;
        let g = Goose::read(&sim).unwrap();
        assert!(Field::Simulation(true).matches(&g));
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Field::parse("goose.appid", "x").is_err());
        assert!(Field::parse("goose.gocb_ref", "\"\"").is_err());
        assert!(Field::parse("goose.simulation", "maybe").is_err());
    }
}
