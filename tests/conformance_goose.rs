//! GOOSE and Sampled Values against tshark, on every GOOSE capture of the public corpus and the
//! project's own (`pcaps/iec61850_*`):
//!
//! * every GOOSE frame tshark dissects in a frame it does not call malformed is one `goose`
//!   event with the same APPID, gocbRef, datSet, goID, stNum, sqNum, confRev, time allowed to
//!   live, number of entries and simulation flag — compared as one key per frame — and
//!   nothing else is;
//! * the data set members per type (booleans, bit strings, integers …) equal tshark's;
//! * Sampled Values frames and ASDUs equal tshark's in `stats.sv`, and each stream (svID) is
//!   announced once by an `sv` event;
//! * every difference is listed in `KNOWN`, with the frames that prove which side is right.

use std::path::{Path, PathBuf};

use icsight_tests::{
    compare_captures, manifest_captures, own_captures, replay, root, rules_against_tshark,
    tshark_fields, tshark_number, Counts, Known,
};

fn config() -> PathBuf {
    root().join("tests/conformance.toml")
}

fn captures() -> Vec<PathBuf> {
    let mut out = manifest_captures(&["goose=", "sv="]);
    out.extend(own_captures("iec61850_"));
    out
}

/// Where the sensor and tshark differ, and why: per capture, ours minus tshark's. None so far.
const KNOWN: Known<'static> = &[];

/// tshark's name of each member type, by the `mms`/`goose` events' `type`.
const TYPES: [(&str, &str); 8] = [
    ("boolean", "goose.boolean"),
    ("bit_string", "goose.bit_string"),
    ("integer", "goose.integer"),
    ("unsigned", "goose.unsigned"),
    ("floating_point", "goose.floating_point"),
    ("octet_string", "goose.octet_string"),
    ("visible_string", "goose.visible_string"),
    ("utc_time", "goose.utc_time"),
];

/// The anomalies of frames that do not read.
const UNREAD: [&str; 4] = [
    "truncated",
    "invalid_length",
    "invalid_pdu",
    "missing_field",
];

const FIELDS: [&str; 10] = [
    "goose.appid",
    "goose.gocbRef",
    "goose.datSet",
    "goose.goID",
    "goose.stNum",
    "goose.sqNum",
    "goose.confRev",
    "goose.timeAllowedtoLive",
    "goose.numDatSetEntries",
    "goose.simulation",
];

/// One frame's key: every field compared at once.
fn key(v: [String; 10]) -> String {
    format!(
        "goose appid={} gocb={} datset={} goid={} st={} sq={} rev={} ttl={} n={} sim={}",
        v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]
    )
}

fn theirs(pcap: &Path) -> (Counts, usize) {
    let mut counts = Counts::new();
    for row in tshark_fields(
        pcap,
        "goose.goosePdu_element && !_ws.malformed",
        &FIELDS,
        &[],
    ) {
        let one = |i: usize| row[i].first().cloned().unwrap_or_default();
        let num = |i: usize| row[i].first().map_or(0, |v| tshark_number(v)).to_string();
        let sim = row[9].first().is_some_and(|v| v == "1" || v == "True");
        *counts
            .entry(key([
                num(0),
                one(1),
                one(2),
                one(3),
                num(4),
                num(5),
                num(6),
                num(7),
                num(8),
                sim.to_string(),
            ]))
            .or_default() += 1;
    }
    for (name, field) in TYPES {
        for row in tshark_fields(
            pcap,
            &format!("goose.goosePdu_element && {field} && !_ws.malformed"),
            &[field],
            &[],
        ) {
            *counts.entry(format!("member {name}")).or_default() += row[0].len() as i64;
        }
    }
    let sv = tshark_fields(pcap, "sv && !_ws.malformed", &["sv.svID"], &[]);
    if !sv.is_empty() {
        *counts.entry("sv frames".into()).or_default() += sv.len() as i64;
        let mut ids = std::collections::BTreeSet::new();
        for row in &sv {
            *counts.entry("sv asdus".into()).or_default() += row[0].len() as i64;
            ids.extend(row[0].iter().cloned());
        }
        for id in ids {
            *counts.entry(format!("sv stream {id}")).or_default() += 1;
        }
    }
    let malformed = tshark_fields(
        pcap,
        "(goose || sv) && _ws.malformed",
        &["frame.number"],
        &[],
    );
    (counts, malformed.len())
}

/// The sensor's counts, and its anomalies of frames that do not read.
fn ours(pcap: &Path) -> (Counts, usize) {
    let r = replay(&[pcap], &config());
    assert_eq!(r.status, 0, "{}: {}", pcap.display(), r.stderr);
    let mut counts = Counts::new();
    let (mut anomalies, mut last_stats) = (0, None);
    let s = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    };
    for e in &r.events {
        let mut add = |k: String, n: i64| {
            if n != 0 {
                *counts.entry(k).or_default() += n;
            }
        };
        match e["event_type"].as_str() {
            // Frames that do not read (the follower's findings are about frames that do).
            Some("anomaly")
                if matches!(e["app_proto"].as_str(), Some("goose" | "sv"))
                    && UNREAD.contains(&e["anomaly"]["event"].as_str().unwrap_or("")) =>
            {
                anomalies += 1;
            }
            Some("goose") => {
                let g = &e["goose"];
                add(
                    key([
                        s(&g["appid"]),
                        s(&g["gocb_ref"]),
                        s(&g["dat_set"]),
                        s(&g["go_id"]),
                        s(&g["st_num"]),
                        s(&g["sq_num"]),
                        s(&g["conf_rev"]),
                        s(&g["time_allowed_to_live"]),
                        s(&g["num_entries"]),
                        s(&g["simulation"]),
                    ]),
                    1,
                );
                for m in g["data"].as_array().into_iter().flatten() {
                    let t = m["type"].as_str().unwrap_or("");
                    if TYPES.iter().any(|(n, _)| *n == t) {
                        add(format!("member {t}"), 1);
                    }
                }
            }
            Some("sv") if e["sv"]["change"] == "new" => {
                add(format!("sv stream {}", s(&e["sv"]["sv_id"])), 1);
            }
            Some("stats") => last_stats = Some(&e["stats"]["sv"]),
            _ => {}
        }
    }
    // The counters are cumulative: the last stats event has them all.
    if let Some(sv) = last_stats {
        for (k, f) in [("sv frames", "frames"), ("sv asdus", "asdus")] {
            let n = sv[f].as_i64().unwrap_or(0);
            if n != 0 {
                *counts.entry(k.into()).or_default() += n;
            }
        }
    }
    (counts, anomalies)
}

#[test]
fn goose_frames_and_sv_streams_equal_tshark() {
    let captures = captures();
    assert!(captures.len() >= 5, "only {} captures", captures.len());
    let sides = compare_captures(&captures, |p| p, KNOWN, |p| theirs(p), |p| ours(p));
    let frames: i64 = sides.iter().map(|s| s.theirs_of("goose ")).sum();
    let sv: i64 = sides.iter().map(|s| s.theirs_of("sv frames")).sum();
    assert!(frames > 500, "only {frames} GOOSE frames compared");
    assert!(sv >= 80, "only {sv} Sampled Values frames compared");
    eprintln!(
        "{} captures, {frames} GOOSE frames and {sv} Sampled Values frames equal",
        captures.len()
    );
}

/// Rules on GOOSE fields fire on exactly the frames tshark's filter on the same fields selects,
/// and their alerts carry the frame's MACs and no addresses; a GOOSE rule with addresses, or
/// with anything but frame fields and events, is refused with its line.
#[test]
fn goose_rules_fire_on_the_frames_tshark_selects() {
    let rules = [
        (
            r#"goose.gocb_ref:"PlantLDLD0/LLN0$GO$gcbEvents"; goose.st_num:>1;"#,
            r#"goose.gocbRef == "PlantLDLD0/LLN0$GO$gcbEvents" && goose.stNum > 1"#,
        ),
        ("goose.sq_num:0;", "goose.sqNum == 0"),
        (
            "goose.appid:0x1000; goose.simulation:no;",
            "goose.appid == 0x1000 && goose.simulation == 0",
        ),
        (
            "goose.conf_rev:>=1; goose.nds_com:no;",
            "goose.confRev >= 1 && goose.ndsCom == 0",
        ),
        (
            r#"goose.dat_set:"PlantLDLD0/LLN0$Events";"#,
            r#"goose.datSet == "PlantLDLD0/LLN0$Events""#,
        ),
    ];
    let refused = "alert goose 10.0.0.1 any -> any any (msg:\"address\"; goose.sq_num:0; sid:200;)
alert goose any any -> any any (msg:\"payload\"; content:\"x\"; sid:201;)
alert tcp any any -> any any (msg:\"tcp\"; goose.sq_num:0; sid:202;)
";
    let compared = rules_against_tshark(
        &own_captures("iec61850_"),
        &config(),
        "goose",
        &rules,
        refused,
        |r| {
            for line in [6, 7, 8] {
                let at = format!("goose.rules:{line}:");
                assert!(
                    r.stderr.contains(&at),
                    "line {line} not refused: {}",
                    r.stderr
                );
            }
            for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
                if e["app_proto"] == "goose" {
                    assert!(
                        e["src_ip"].is_null() && e["ether"]["dest_mac"].is_string(),
                        "{e}"
                    );
                }
            }
        },
    );
    assert!(compared > 50, "only {compared} alerts compared");
}
