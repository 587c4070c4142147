//! S7comm and S7comm-plus against the oracles.
//!
//! * tshark: on every S7 capture of the public corpus (manifest column shows `s7comm`) and the
//!   project's `pcaps/s7comm_*`, the S7 PDUs per (ROSCTR, function) and per userdata (function
//!   group, subfunction, type) equal tshark's. tshark 4.0 has no S7comm-plus dissector, so
//!   S7comm-plus frames are counted per (opcode, function) from the COTP payloads tshark leaves
//!   undissected (`data.data` starting with 0x72).
//! * Zeek/ICSNPP: on the icsnpp-s7comm traces, our events carry the facts of `s7comm.log`,
//!   `s7comm_read_szl.log`, `s7comm_upload_download.log` and `s7comm_plus.log`, record for
//!   record and in order.
//!
//! Where an oracle is wrong, the difference is listed in [`TSHARK_KNOWN`] or [`ICSNPP_KNOWN`]
//! with the reason, and the test checks that exactly the listed differences occur.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use icsight_tests::{replay, root, shared_pcaps, tshark_fields};
use serde_json::Value;

/// S7 captures of the public corpus and of the project.
fn captures() -> Vec<PathBuf> {
    let dir = shared_pcaps();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the public corpus must sit beside the project)",
            dir.display()
        )
    });
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (path_col, proto_col) = (col("path"), col("ics_protocols_detected_tshark4.0"));
    let mut out: Vec<PathBuf> = lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.get(proto_col).is_some_and(|p| p.contains("s7comm")))
        .map(|f| dir.join(f[path_col]))
        .collect();
    let mut own: Vec<PathBuf> = std::fs::read_dir(root().join("pcaps"))
        .expect("pcaps/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("s7comm_") && n.ends_with(".pcap"))
        })
        .collect();
    own.sort();
    out.extend(own);
    out
}

/// A capture's short name: its path below the corpus or the project.
fn name(path: &Path) -> String {
    let s = path.to_string_lossy();
    match s.find("/pcaps/") {
        Some(i) => s[i + 7..].to_owned(),
        None => s.into_owned(),
    }
}

type Counts = BTreeMap<String, usize>;

/// Parse tshark's `0x..` or decimal value.
fn num(v: &str) -> u64 {
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap_or(u64::MAX),
        None => v.parse().unwrap_or(u64::MAX),
    }
}

fn s7_key(rosctr: u64, func: Option<u64>) -> String {
    match func {
        Some(f) => format!("s7 rosctr={rosctr} func=0x{f:02x}"),
        None => format!("s7 rosctr={rosctr}"),
    }
}

fn ud_key(group: u64, sub: u64, kind: u64) -> String {
    format!("userdata group={group} subfunc={sub} type={kind}")
}

fn plus_key(opcode: Option<u64>, function: Option<u64>) -> String {
    format!(
        "s7comm-plus opcode={} function={}",
        opcode.map_or("-".into(), |o| format!("0x{o:02x}")),
        function.map_or("-".into(), |f| format!("0x{f:04x}"))
    )
}

/// tshark's S7 PDUs and S7comm-plus frames of one capture.
fn tshark_counts(pcap: &Path) -> Counts {
    let mut c = Counts::new();
    let fields = [
        "s7comm.header.rosctr",
        "s7comm.param.func",
        "s7comm.param.userdata.funcgroup",
        "s7comm.param.userdata.subfunc",
        "s7comm.param.userdata.type",
        // Mode-transition pushes (group 0) carry the new mode in place of a subfunction.
        "s7comm.param.modetrans.subfunc",
    ];
    for row in tshark_fields(pcap, "s7comm", &fields, &[]) {
        let get = |i: usize| row.get(i).cloned().unwrap_or_default();
        let (mut funcs, mut groups, mut subs, mut kinds, mut modes) = (
            get(1).into_iter(),
            get(2).into_iter(),
            get(3).into_iter(),
            get(4).into_iter(),
            get(5).into_iter(),
        );
        for r in get(0) {
            let r = num(&r);
            let key = match r {
                1 | 3 => s7_key(r, funcs.next().map(|f| num(&f))),
                7 => {
                    let group = groups.next().map_or(u64::MAX, |v| num(&v));
                    let sub = if group == 0 {
                        modes.next()
                    } else {
                        subs.next()
                    };
                    ud_key(
                        group,
                        sub.map_or(u64::MAX, |v| num(&v)),
                        kinds.next().map_or(u64::MAX, |v| num(&v)),
                    )
                }
                _ => s7_key(r, None),
            };
            *c.entry(key).or_default() += 1;
        }
    }
    // S7comm-plus: COTP payloads tshark leaves to its data dissector.
    for row in tshark_fields(pcap, "cotp.type == 0x0f && data.data", &["data.data"], &[]) {
        for hex in row.into_iter().flatten() {
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect();
            if bytes.first() != Some(&0x72) {
                continue;
            }
            let (opcode, function) = plus_head(&bytes);
            *c.entry(plus_key(opcode, function)).or_default() += 1;
        }
    }
    c
}

/// Opcode and function of an S7comm-plus frame, read straight from its bytes: after the 4-byte
/// header, version 3 frames may carry a 33-byte integrity part (digest length 0x20 + digest);
/// requests and responses carry the function two bytes after the opcode.
fn plus_head(b: &[u8]) -> (Option<u64>, Option<u64>) {
    let mut at = 4;
    if b.get(1) == Some(&3) && b.get(4) == Some(&0x20) && b.len() >= 4 + 33 {
        at += 33;
    }
    let opcode = b.get(at).copied();
    let function = match opcode {
        Some(0x31 | 0x32 | 0x02) => match (b.get(at + 3), b.get(at + 4)) {
            (Some(h), Some(l)) => Some(u64::from(u16::from_be_bytes([*h, *l]))),
            _ => None,
        },
        _ => None,
    };
    (opcode.map(u64::from), function)
}

/// Our S7 PDUs and S7comm-plus frames, keyed as tshark's.
fn our_counts(events: &[Value]) -> Counts {
    let mut c = Counts::new();
    for e in events {
        let key = match e["event_type"].as_str() {
            Some("s7comm") => {
                let s = &e["s7comm"];
                let Some(r) = s["rosctr_raw"].as_u64() else {
                    continue; // a COTP connection event
                };
                match &s["userdata"] {
                    Value::Object(u) => ud_key(
                        u["group_raw"].as_u64().unwrap_or(u64::MAX),
                        u["subfunction_raw"].as_u64().unwrap_or(u64::MAX),
                        u["type_raw"].as_u64().unwrap_or(u64::MAX),
                    ),
                    _ if r == 7 => ud_key(u64::MAX, u64::MAX, u64::MAX),
                    _ => s7_key(r, s["function_raw"].as_u64()),
                }
            }
            Some("s7commplus") => {
                let p = &e["s7commplus"];
                let function = p["function_raw"]
                    .as_str()
                    .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok());
                plus_key(p["opcode_raw"].as_u64(), function)
            }
            _ => continue,
        };
        *c.entry(key).or_default() += 1;
    }
    c
}

/// Differences from tshark: (capture, key, ours, tshark's, why tshark is wrong).
const TSHARK_KNOWN: &[(&str, &str, usize, usize, &str)] = &[(
    "s7comm/ITI-ICS-Security-Tools/s7/S7Comm/s7comm_clean.pcap",
    "s7 rosctr=3 func=0x04",
    2637,
    2625,
    "12 read var ack_data (frames 398, 412, 1273, 1456, 1611, 1746, 2002, 2296, 2299, 2859, \
     3654, 4060) whose first transmission is missing from the capture: the client's ACK already \
     covers them, so tshark flags the only copy present as a spurious retransmission and does \
     not dissect it; the bytes are new in the stream and the PDU is whole",
)];

#[test]
fn pdu_counts_equal_tshark() {
    let captures = captures();
    assert!(captures.len() >= 40, "only {} S7 captures", captures.len());
    let config = root().join("tests/conformance.toml");
    let queue = Mutex::new(captures.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(path) = queue.lock().unwrap().next() else {
                    break;
                };
                let r = replay(&[path.as_path()], &config);
                assert_eq!(r.status, 0, "{}: {}", path.display(), r.stderr);
                let ours = our_counts(&r.events);
                let theirs = tshark_counts(path);
                results.lock().unwrap().push((name(path), ours, theirs));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut matched, mut found) = (0usize, Vec::new());
    for (cap, ours, theirs) in &results {
        let keys: std::collections::BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
        for k in keys {
            let (o, t) = (
                ours.get(k).copied().unwrap_or(0),
                theirs.get(k).copied().unwrap_or(0),
            );
            matched += o.min(t);
            if o != t {
                found.push((cap.clone(), k.clone(), o, t));
            }
        }
    }
    let expected: Vec<(String, String, usize, usize)> = TSHARK_KNOWN
        .iter()
        .map(|(c, k, o, t, _)| (c.to_string(), k.to_string(), *o, *t))
        .collect();
    eprintln!(
        "{} captures, {matched} PDUs and S7comm-plus frames matched, {} known differences",
        results.len(),
        expected.len()
    );
    let unexpected: Vec<_> = found.iter().filter(|d| !expected.contains(d)).collect();
    let gone: Vec<_> = expected.iter().filter(|d| !found.contains(d)).collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "differences from tshark (capture, key, ours, tshark):\n{}\nlisted but no longer seen:\n{}",
        unexpected
            .iter()
            .map(|d| format!("  {d:?}"))
            .collect::<Vec<_>>()
            .join("\n"),
        gone.iter()
            .map(|d| format!("  {d:?}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(matched > 20_000, "only {matched} PDUs matched");
}

/// One Zeek log: rows of named fields (`#fields` header).
fn zeek_log(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut fields: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("#fields\t") {
            fields = f.split('\t').map(str::to_owned).collect();
        } else if !line.starts_with('#') && !line.is_empty() {
            rows.push(
                fields
                    .iter()
                    .cloned()
                    .zip(line.split('\t').map(str::to_owned))
                    .collect(),
            );
        }
    }
    rows
}

/// ICSNPP's names of functions, as `s7comm_functions` in its `consts.zeek` spells them.
fn icsnpp_function(name: &str) -> Option<u64> {
    Some(match name {
        "CPU services" => 0x00,
        "Read Variable" => 0x04,
        "Write Variable" => 0x05,
        "Request Download" => 0x1a,
        "Download Block" => 0x1b,
        "Download Ended" => 0x1c,
        "Start Upload" => 0x1d,
        "Upload" => 0x1e,
        "End Upload" => 0x1f,
        "PLC Control" => 0x28,
        "PLC Stop" => 0x29,
        "Setup Communication" => 0xf0,
        _ => return None,
    })
}

/// ICSNPP's names of block types (`s7comm_block_types`).
fn icsnpp_block_type(name: &str) -> &'static str {
    match name {
        "Organization Block" => "ob",
        "Data Block" => "db",
        "System Data Block" => "sdb",
        "Function" => "fc",
        "System Function" => "sfc",
        "Function Block" => "fb",
        "System Function Block" => "sfb",
        _ => "unknown",
    }
}

fn dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

/// ICSNPP reads the PDU reference little-endian; Wireshark and we read it big-endian.
fn icsnpp_pdu_ref(ours: u64) -> u64 {
    u64::from((ours as u16).swap_bytes())
}

/// The record one of our events gives in an ICSNPP log, or `None` if that log has no row for it.
fn our_record(log: &str, e: &Value) -> Option<String> {
    let orig =
        if e["s7comm"]["direction"] == "to_server" || e["s7commplus"]["direction"] == "to_server" {
            "T"
        } else {
            "F"
        };
    let s = &e["s7comm"];
    let u = &s["userdata"];
    let pdu_ref = s["pdu_reference"].as_u64().map(icsnpp_pdu_ref);
    match log {
        "s7comm.log" => {
            let r = s["rosctr_raw"].as_u64()?;
            let (function, sub, error) = if u.is_object() {
                let code = (u["type_raw"].as_u64()? << 4) | u["group_raw"].as_u64()?;
                let error = u["error_code"]
                    .as_str()
                    .map(|c| format!("0x{:02x}", u64::from_str_radix(&c[2..], 16).unwrap_or(0)));
                (
                    Some(format!("0x{code:02x}")),
                    Some(format!("0x{:02x}", u["subfunction_raw"].as_u64()?)),
                    error,
                )
            } else {
                (
                    s["function_raw"].as_u64().map(|f| format!("0x{f:02x}")),
                    // ICSNPP puts the PI service name where userdata has its subfunction (but
                    // not PLC stop's).
                    s["pi_service"]["service"]
                        .as_str()
                        .filter(|_| s["function_raw"] == 0x28)
                        .map(str::to_owned),
                    s["error_code_raw"].as_u64().map(|c| format!("0x{c:02x}")),
                )
            };
            Some(format!(
                "{orig} rosctr={r} ref={} function={} subfunction={} error={}",
                pdu_ref?,
                dash(function),
                dash(sub),
                dash(error)
            ))
        }
        "s7comm_read_szl.log" => {
            let szl = &u["szl"];
            if !szl.is_object() {
                return None;
            }
            Some(format!(
                "{orig} ref={} id={} index={} return=0x{:02x}",
                pdu_ref?,
                szl["id"].as_str()?,
                szl["index"].as_str()?,
                u["return_code_raw"].as_u64()?
            ))
        }
        "s7comm_upload_download.log" => {
            let f = s["function_raw"].as_u64()?;
            if !(0x1a..=0x1f).contains(&f) {
                return None;
            }
            let b = &s["block_control"];
            let block = &b["block"];
            Some(format!(
                "{orig} rosctr={} ref={} function=0x{f:02x} status={} session={} filename={} block={} {}",
                s["rosctr_raw"].as_u64()?,
                pdu_ref?,
                dash(b["function_status"].as_u64().map(|v| format!("0x{v:02x}"))),
                dash(b["upload_id"].as_u64().map(|v| v.to_string())),
                dash(b["filename"].as_str().map(str::to_owned)),
                dash(block["type"].as_str().map(str::to_owned)),
                dash(block["number"].as_u64().map(|v| v.to_string())),
            ))
        }
        "s7comm_plus.log" => {
            let p = &e["s7commplus"];
            let opcode = p["opcode_raw"].as_u64()?;
            let function = matches!(opcode, 0x31 | 0x32)
                .then(|| p["function_raw"].as_str().map(str::to_owned))
                .flatten();
            Some(format!(
                "{orig} version={} opcode=0x{opcode:02x} function={}",
                p["version"].as_u64()?,
                dash(function)
            ))
        }
        _ => None,
    }
}

/// An ICSNPP row as the same record.
fn icsnpp_record(log: &str, r: &BTreeMap<String, String>) -> String {
    let f = |k: &str| r.get(k).cloned().unwrap_or_else(|| "-".into());
    match log {
        "s7comm.log" => format!(
            "{} rosctr={} ref={} function={} subfunction={} error={}",
            f("is_orig"),
            f("rosctr_code"),
            f("pdu_reference"),
            f("function_code"),
            f("subfunction_code"),
            f("error_code")
        ),
        "s7comm_read_szl.log" => format!(
            "{} ref={} id={} index={} return={}",
            f("is_orig"),
            f("pdu_reference"),
            f("szl_id"),
            f("szl_index"),
            f("return_code")
        ),
        "s7comm_upload_download.log" => {
            let rosctr = match f("rosctr").as_str() {
                "Job-Request" => "1",
                "ACK-Data" => "3",
                _ => "?",
            };
            let function = icsnpp_function(&f("function_name")).unwrap_or(u64::MAX);
            let number = f("block_number");
            format!(
                "{} rosctr={rosctr} ref={} function=0x{function:02x} status={} session={} filename={} block={} {}",
                f("is_orig"),
                f("pdu_reference"),
                f("function_status"),
                f("session_id"),
                f("filename"),
                if f("block_type") == "-" { "-".into() } else { icsnpp_block_type(&f("block_type")).to_owned() },
                if number == "-" { number } else { number.parse::<u64>().map_or(number, |n| n.to_string()) },
            )
        }
        "s7comm_plus.log" => format!(
            "{} version={} opcode={} function={}",
            f("is_orig"),
            f("version"),
            f("opcode"),
            f("function_code")
        ),
        _ => String::new(),
    }
}

/// Differences from ICSNPP: (trace, log, our record ICSNPP lacks, why ICSNPP is wrong).
const ICSNPP_KNOWN: &[(&str, &str, &str, &str)] = &[
    (
        "snap7",
        "s7comm.log",
        "F rosctr=7 ref=2 function=0x84 subfunction=0x01 error=0x00",
        "frame 6, the first of two data units of the Read SZL 0x001c response (data unit \
         reference 213, last data unit: no); ICSNPP writes no row for it, while tshark decodes \
         it as fragment 1 of the response it reassembles in frame 8",
    ),
    (
        "snap7",
        "s7comm.log",
        "T rosctr=7 ref=3 function=0x44 subfunction=0x01 error=0x00",
        "frame 7, the client's request for the next data unit (method 0x12, return code \
         0x0a, no data); ICSNPP's Read_SZL record reads an SZL id and index that are not \
         there, the parse fails and the PDU is dropped",
    ),
    (
        "snap7",
        "s7comm_read_szl.log",
        "F ref=2 id=0x001c index=0x0000 return=0xff",
        "the same first data unit (frame 6), whose data starts with SZL id 0x001c index 0; \
         ICSNPP drops it as above and skips the last unit as a fragment, so the response to \
         its own 0x001c request row is missing",
    ),
    (
        "snap7",
        "s7comm.log",
        "F rosctr=2 ref=21 function=- subfunction=- error=0x0c",
        ACK,
    ),
    (
        "s7ident",
        "s7comm.log",
        "F rosctr=2 ref=6 function=- subfunction=- error=0x41",
        ACK,
    ),
    (
        "s7ident",
        "s7comm.log",
        "F rosctr=2 ref=7 function=- subfunction=- error=0x41",
        ACK,
    ),
    (
        "s7ident",
        "s7comm.log",
        "F rosctr=2 ref=8 function=- subfunction=- error=0x41",
        ACK,
    ),
    (
        "s7ident",
        "s7comm.log",
        "F rosctr=2 ref=9 function=- subfunction=- error=0x41",
        ACK,
    ),
];

const ACK: &str =
    "ICSNPP's ROSCTR_ACK record reads a function code after the 12-byte header, but an Ack \
     (ROSCTR 2) has parameter length 0 and ends there: the parse fails and no row is written \
     (tshark decodes it: Ack, error class 0xd2)";

#[test]
fn events_carry_icsnpp_facts() {
    let base = shared_pcaps().join("s7comm/icsnpp-s7comm");
    let config = root().join("tests/conformance.toml");
    let mut found: Vec<(String, String, String)> = Vec::new();
    let (mut compared, mut logs) = (0usize, 0usize);
    for trace in ["snap7", "s7ident", "s7comm_plus"] {
        let pcap = base.join(format!("traces/{trace}.pcap"));
        let r = replay(&[pcap.as_path()], &config);
        assert_eq!(r.status, 0, "{trace}: {}", r.stderr);
        for log in [
            "s7comm.log",
            "s7comm_read_szl.log",
            "s7comm_upload_download.log",
            "s7comm_plus.log",
        ] {
            let path = base.join(format!("baseline/analyzer.{trace}/{log}"));
            let theirs: Vec<String> = if path.exists() {
                logs += 1;
                zeek_log(&path)
                    .iter()
                    .map(|r| icsnpp_record(log, r))
                    .collect()
            } else {
                Vec::new()
            };
            let ours: Vec<String> = r.events.iter().filter_map(|e| our_record(log, e)).collect();
            // Walk both in order: every ICSNPP row must match one of ours, in sequence; ours
            // that ICSNPP skips are differences.
            let mut it = ours.iter();
            for t in &theirs {
                loop {
                    let o = it.next().unwrap_or_else(|| {
                        panic!("{trace} {log}: ICSNPP row `{t}` matches none of our records")
                    });
                    if o == t {
                        compared += 1;
                        break;
                    }
                    found.push((trace.into(), log.into(), o.clone()));
                }
            }
            // Without a log ICSNPP records nothing of this kind: nothing to compare.
            if path.exists() {
                found.extend(it.map(|o| (trace.into(), log.into(), o.clone())));
            }
        }
    }
    let expected: Vec<(String, String, String)> = ICSNPP_KNOWN
        .iter()
        .map(|(t, l, o, _)| (t.to_string(), l.to_string(), o.to_string()))
        .collect();
    eprintln!(
        "{logs} ICSNPP logs, {compared} records matched, {} known differences",
        expected.len()
    );
    let unexpected: Vec<_> = found.iter().filter(|d| !expected.contains(d)).collect();
    let gone: Vec<_> = expected.iter().filter(|d| !found.contains(d)).collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "our records ICSNPP lacks:\n{}\nlisted but no longer seen:\n{}",
        unexpected
            .iter()
            .map(|d| format!("  {d:?}"))
            .collect::<Vec<_>>()
            .join("\n"),
        gone.iter()
            .map(|d| format!("  {d:?}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(compared >= 250, "only {compared} ICSNPP records matched");
}
