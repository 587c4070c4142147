//! IEC 60870-5-104 against tshark, on every IEC 104 capture of the public corpus and the
//! project's own (`pcaps/iec104_*`):
//!
//! * every U-frame function and every ASDU — type id, cause of transmission, P/N bit, common
//!   address, and its objects' addresses — tshark dissects in a frame it does not call
//!   malformed is in the sensor's `iec104` events, and nothing else is;
//! * measured values and command states of the project's captures equal tshark's, object for
//!   object;
//! * where tshark calls frames malformed (types no standard defines, lengths that do not fit)
//!   or finds an APDU past bytes that are not one, the sensor raised `iec104` anomalies.

use std::path::{Path, PathBuf};

use icsight_tests::{
    compare_captures, manifest_captures, own_captures, replay, root, tshark_fields, tshark_number,
    Counts,
};
use serde_json::Value;

fn config() -> PathBuf {
    root().join("tests/conformance.toml")
}

fn captures() -> Vec<PathBuf> {
    let mut out = manifest_captures(&["iec60870_104="]);
    out.extend(own_captures("iec104_"));
    out
}

const U_FUNCTIONS: [(&str, u64); 6] = [
    ("startdt_act", 0x01),
    ("startdt_con", 0x02),
    ("stopdt_act", 0x04),
    ("stopdt_con", 0x08),
    ("testfr_act", 0x10),
    ("testfr_con", 0x20),
];

fn asdu_key(ty: u64, cause: u64, negative: bool, ca: u64, ioas: &[u64]) -> String {
    format!("I type {ty} cot {cause} pn {negative} ca {ca} ioa {ioas:?}")
}

/// What tshark dissects, malformed frames apart, and how many malformed frames it saw (or
/// frames it read past bytes that are not an APDU).
fn theirs(pcap: &Path) -> (Counts, usize) {
    let mut counts = Counts::new();
    let rows = tshark_fields(
        pcap,
        "iec60870_104 && !_ws.malformed",
        &[
            "iec60870_104.type",
            "iec60870_104.utype",
            "iec60870_asdu.typeid",
            "iec60870_asdu.causetx",
            "iec60870_asdu.nega",
            "iec60870_asdu.addr",
            "iec60870_asdu.ioa",
            "iec60870_asdu.numix",
            "tcp.payload",
            "_ws.col.Info",
        ],
        &[],
    );
    let mut skipped = 0;
    for row in rows {
        // tshark looks for a start byte inside a segment that begins with other bytes; the
        // sensor resumes at the next segment that begins with one (and names the bytes it
        // dropped). What tshark found past such bytes is not compared.
        let info = row[9].join(" ");
        let starts = row[8].first().is_some_and(|p| p.starts_with("68"));
        if info.contains("<ERR prefix") && !starts {
            skipped += 1;
            continue;
        }
        for u in &row[1] {
            let bits = tshark_number(u);
            let name = U_FUNCTIONS
                .iter()
                .find(|(_, b)| *b == bits)
                .map_or("invalid", |(n, _)| n);
            *counts.entry(format!("U {name}")).or_default() += 1;
        }
        // A frame's ASDUs in order; their objects' addresses come in one list, each ASDU
        // taking as many as its qualifier counts (with SQ too: tshark names each element's).
        let mut ioas = row[6].iter().map(|v| tshark_number(v));
        for (i, ty) in row[2].iter().enumerate() {
            let field = |c: usize| row[c].get(i).map(|v| tshark_number(v)).unwrap_or(0);
            let list: Vec<u64> = ioas.by_ref().take(field(7) as usize).collect();
            let negative = row[4].get(i).is_some_and(|v| v == "1" || v == "True");
            let key = asdu_key(tshark_number(ty), field(3), negative, field(5), &list);
            *counts.entry(key).or_default() += 1;
        }
    }
    let malformed = tshark_fields(
        pcap,
        "iec60870_104 && _ws.malformed",
        &["frame.number"],
        &[],
    );
    (counts, malformed.len() + skipped)
}

struct Ours {
    counts: Counts,
    anomalies: usize,
    events: Vec<Value>,
}

fn ours(pcap: &Path) -> Ours {
    let r = replay(&[pcap], &config());
    assert_eq!(r.status, 0, "{}: {}", pcap.display(), r.stderr);
    let mut counts = Counts::new();
    let mut anomalies = 0;
    for e in &r.events {
        if e["event_type"] == "anomaly" && e["anomaly"]["app_proto"] == "iec104" {
            anomalies += 1;
        }
        if e["event_type"] != "iec104" {
            continue;
        }
        let x = &e["iec104"];
        if x["apci"]["format"] == "U" {
            let f = x["apci"]["function"].as_str().unwrap_or("?");
            *counts.entry(format!("U {f}")).or_default() += 1;
        }
        let a = &x["asdu"];
        if a.is_object() && a["type"].is_string() {
            let ioas: Vec<u64> = a["objects"]
                .as_array()
                .map(|o| o.iter().filter_map(|o| o["ioa"].as_u64()).collect())
                .unwrap_or_default();
            let key = asdu_key(
                a["type_id"].as_u64().unwrap_or(0),
                a["cot"].as_u64().unwrap_or(0),
                a["negative"] == true,
                a["common_address"].as_u64().unwrap_or(0),
                &ioas,
            );
            *counts.entry(key).or_default() += 1;
        }
    }
    Ours {
        counts,
        anomalies,
        events: r.events,
    }
}

#[test]
fn frames_and_asdus_equal_tshark() {
    let captures = captures();
    assert!(captures.len() >= 6, "only {} captures", captures.len());
    let sides = compare_captures(
        &captures,
        |p| p,
        &[],
        |p| theirs(p),
        |p| {
            let o = ours(p);
            (o.counts, o.anomalies)
        },
    );
    let asdus: i64 = sides.iter().map(|s| s.theirs_of("I")).sum();
    let malformed_captures = sides.iter().filter(|s| s.malformed > 0).count();
    assert!(asdus > 300, "only {asdus} ASDUs compared");
    eprintln!(
        "{} captures, {asdus} ASDUs equal; {malformed_captures} with malformed frames, each raising anomalies",
        captures.len()
    );
}

/// The project's captures: values and command states, object by object, in order.
#[test]
fn values_equal_tshark_on_the_projects_captures() {
    let captures = own_captures("iec104_");
    assert!(!captures.is_empty(), "no pcaps/iec104_* captures");
    for pcap in &captures {
        let rows = tshark_fields(
            pcap,
            "iec60870_asdu",
            &[
                "iec60870_asdu.typeid",
                "iec60870_asdu.float",
                "iec60870_asdu.scalval",
                "iec60870_asdu.sco.on",
                "iec60870_asdu.dco.on",
                "iec60870_asdu.siq.spi",
            ],
            &[],
        );
        let mut theirs: Vec<(String, String)> = Vec::new();
        for row in rows {
            for (col, name) in [
                (1, "float"),
                (2, "scaled"),
                (3, "sco"),
                (4, "dco"),
                (5, "spi"),
            ] {
                for v in &row[col] {
                    theirs.push((name.to_owned(), v.clone()));
                }
            }
        }
        let ours = ours(pcap);
        let mut mine: Vec<(String, String)> = Vec::new();
        for e in ours.events.iter().filter(|e| e["event_type"] == "iec104") {
            let a = &e["iec104"]["asdu"];
            let ty = a["type_id"].as_u64().unwrap_or(0);
            for o in a["objects"].as_array().into_iter().flatten() {
                let v = &o["value"];
                let entry = match ty {
                    13 | 14 | 36 | 50 | 63 => v.as_f64().map(|x| ("float", format!("{x}"))),
                    11 | 12 | 35 | 49 | 62 => v.as_i64().map(|x| ("scaled", x.to_string())),
                    45 | 58 => v.as_bool().map(|b| ("sco", u8::from(b).to_string())),
                    46 | 59 => v.as_u64().map(|d| ("dco", d.to_string())),
                    1 | 2 | 30 => v.as_bool().map(|b| ("spi", u8::from(b).to_string())),
                    _ => None,
                };
                if let Some((k, v)) = entry {
                    mine.push((k.to_owned(), v));
                }
            }
        }
        // tshark prints floats to six significant digits; compare at that.
        let norm = |v: &Vec<(String, String)>| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, x)| match k.as_str() {
                    "float" => (
                        k.clone(),
                        format!("{:.5e}", x.parse::<f64>().unwrap_or(f64::NAN)),
                    ),
                    "sco" | "spi" => (k.clone(), x.replace("True", "1").replace("False", "0")),
                    _ => (k.clone(), x.clone()),
                })
                .collect()
        };
        let (mut a, mut b) = (norm(&mine), norm(&theirs));
        a.sort();
        b.sort();
        assert_eq!(a, b, "{}", pcap.display());
        assert!(!a.is_empty(), "{}: no values compared", pcap.display());
    }
}
