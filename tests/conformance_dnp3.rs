//! DNP3 against its oracles.
//!
//! * Suricata's own tests (`suricata-verify`, in the public corpus), each replayed with its own
//!   rules: every `filter` on `dnp3` events passes field for field, every filter on alerts
//!   (`dnp3_func`, `dnp3_ind`, `dnp3_obj`, `dnp3_data` and `app-layer-event` rules) counts the
//!   same alerts per sid, and `flow` filters pass too. What is not checked is listed, with why,
//!   and the list is asserted.
//! * tshark: on every DNP3 capture of the public corpus and the project's own, the number of
//!   application fragments per function code equals tshark's, but for differences listed here
//!   with the frames that prove tshark wrong, recomputed per frame.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use icsight_tests::verify::{tests_under, VerifyTest};
use icsight_tests::{
    manifest_captures, own_captures, par_map, replay, replay_with, root, shared_pcaps,
    tshark_fields,
};
use serde_json::Value;

fn config() -> PathBuf {
    root().join("tests/conformance.toml")
}

/// Suricata inspects a TCP direction's data once the other side acknowledges it, so its events
/// carry the `pcap_cnt` of that acknowledgement, and its alerts that of the next packet in the
/// data's direction; ours carry the packet that completed the data. Map ours onto Suricata's:
/// the first later packet of the same stream, the other way, whose ACK covers the end of our
/// packet's data (and for alerts, the next packet after it the data's way).
fn suricata_pcap_cnt(pcap: &Path, events: &mut [Value]) {
    let rows = tshark_fields(
        pcap,
        "tcp",
        &[
            "frame.number",
            "tcp.stream",
            "tcp.srcport",
            "tcp.nxtseq",
            "tcp.ack",
        ],
        &[],
    );
    let num = |v: &Vec<String>| v.first().and_then(|s| s.parse::<u64>().ok());
    let frames: Vec<[Option<u64>; 5]> = rows
        .iter()
        .map(|r| [num(&r[0]), num(&r[1]), num(&r[2]), num(&r[3]), num(&r[4])])
        .collect();
    for ev in events.iter_mut() {
        if !(ev["event_type"] == "dnp3" || ev["event_type"] == "alert") || ev["proto"] != "TCP" {
            continue;
        }
        let Some(n) = ev["pcap_cnt"].as_u64() else {
            continue;
        };
        let Some(at) = frames.iter().find(|f| f[0] == Some(n)) else {
            continue;
        };
        let (stream, port, end) = (at[1], at[2], at[3]);
        let ack = frames.iter().find(|f| {
            f[0] > Some(n) && f[1] == stream && f[2] != port && f[4] >= end && end.is_some()
        });
        let Some(k) = ack.and_then(|f| f[0]) else {
            continue;
        };
        // A transaction is logged on that acknowledgement, but a rule inspecting the
        // direction of the data runs on the next packet going that way.
        let k = if ev["event_type"] == "alert" {
            let next = frames
                .iter()
                .find(|f| f[0] > Some(k) && f[1] == stream && f[2] == port);
            match next.and_then(|f| f[0]) {
                Some(n) => n,
                None => continue,
            }
        } else {
            k
        };
        ev["pcap_cnt"] = Value::from(k);
    }
}

/// Filters not checked, with why: (test, filter index, reason).
const UNCHECKED: &[(&str, usize, &str)] = &[];

#[test]
fn suricata_verify_dnp3_tests_pass() {
    let dirs = tests_under(&shared_pcaps().join("dnp3/suricata-verify"));
    let tmp = tempfile::tempdir().unwrap();
    assert!(dirs.len() >= 19, "only {} tests found", dirs.len());
    let (mut checked, mut events_checked) = (0, 0);
    let mut failures = Vec::new();
    let mut unchecked = BTreeSet::new();
    for dir in &dirs {
        let test = VerifyTest::load(dir);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let pcap = test.pcap().expect("capture");
        // The test's rules (or none: not the sensor's default ruleset).
        let has_rules = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "rules"));
        let rules = if has_rules {
            test.rules_dir(tmp.path()).into_os_string()
        } else {
            "/dev/null".into()
        };
        let r = replay_with(
            &[pcap.as_path()],
            &test.config(&config(), tmp.path()),
            &[OsStr::new("--rules"), &rules],
        );
        assert_eq!(r.status, 0, "{name}: {}", r.stderr);
        assert!(
            !r.stderr.contains("rule error"),
            "{name}: a rule is refused: {}",
            r.stderr
        );
        let mut events = r.events;
        suricata_pcap_cnt(&pcap, &mut events);
        for check in test.check(&events) {
            let listed = UNCHECKED
                .iter()
                .any(|(t, i, _)| *t == name && *i == check.index);
            let sid = check
                .matcher
                .get("alert.signature_id")
                .and_then(Value::as_u64);
            let verdict = match (check.event_type(), sid) {
                (Some("dnp3"), _) => Some(check.passed()),
                (Some("flow"), _) => Some(check.passed()),
                (_, Some(_)) => Some(check.passed()),
                _ => None,
            };
            match verdict {
                _ if listed => {
                    unchecked.insert((name.clone(), check.index));
                }
                Some(true) => {
                    checked += 1;
                    if check.event_type() == Some("dnp3") {
                        events_checked += 1;
                    }
                }
                Some(false) => failures.push(format!(
                    "{name} #{}: expected {:?}, got {}: {}",
                    check.index, check.expected, check.actual, check.matcher
                )),
                None => failures.push(format!(
                    "{name} #{}: not checkable and not listed: {}",
                    check.index, check.matcher
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let listed: BTreeSet<_> = UNCHECKED
        .iter()
        .map(|(t, i, _)| (t.to_string(), *i))
        .collect();
    assert_eq!(unchecked, listed, "the unchecked filters changed");
    assert!(
        events_checked >= 80,
        "only {events_checked} dnp3 filters checked"
    );
    eprintln!(
        "{} tests: {checked} filters pass ({events_checked} on dnp3 events), {} not checked",
        dirs.len(),
        unchecked.len()
    );
}

/// Every DNP3 capture: the manifest rows whose tshark column counts DNP3, and ours.
fn dnp3_captures() -> Vec<PathBuf> {
    let mut out = manifest_captures(&["dnp3="]);
    out.extend(own_captures("dnp3_"));
    out
}

type Counts = BTreeMap<u64, i64>;

/// What one capture gave: our counts, tshark's, and tshark's view of each frame.
struct Compared {
    ours: Counts,
    theirs: Counts,
    /// The differences the per-frame reasons below account for.
    explained: BTreeMap<&'static str, Counts>,
}

const NOT_USER_DATA: &str = "tshark decodes application data in link frames whose function \
    code is not user data (3 or 4); a DNP3 link layer discards them, as Suricata does";
const RETRANSMISSION: &str = "tshark dissects TCP retransmissions again; the stream carries \
    their bytes once";
const OFF_PORT: &str = "tshark dissects DNP3 on port 20000 only; the sensor finds it on any \
    port by its start bytes and header CRC";
const SEQUENCE_WRAP: &str = "tshark does not reassemble a fragment whose transport sequence \
    wraps from 63 to 0";
const STALE_FRAGMENT: &str = "tshark appends a one-segment fragment (FIR and FIN) to an older \
    unreassembled one with the same sequence number and reports the wrong function";
const REUSED_PORTS: &str = "two connections interleave on one 5-tuple; tshark marks segments \
    of one of them retransmissions and does not dissect them, the sensor's reassembly \
    delivers their bytes once";

fn compare(pcap: &Path) -> Compared {
    let r = replay(&[pcap], &config());
    assert_eq!(r.status, 0, "{}: {}", pcap.display(), r.stderr);
    let dnp3: Vec<&Value> = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "dnp3")
        .collect();
    let fc = |e: &Value| e["dnp3"]["application"]["function_code"].as_u64().unwrap();
    let mut ours = Counts::new();
    for e in &dnp3 {
        *ours.entry(fc(e)).or_default() += 1;
    }
    let fields = [
        "frame.number",
        "tcp.stream",
        "tcp.srcport",
        "tcp.dstport",
        "udp.port",
        "dnp3.ctl",
        "dnp3.tr.ctl",
        "dnp3.al.func",
        "tcp.analysis.retransmission",
        "tcp.analysis.fast_retransmission",
        "tcp.analysis.reused_ports",
    ];
    let rows = tshark_fields(pcap, "dnp3 || tcp.analysis.reused_ports", &fields, &[]);
    let int = |s: &str| {
        s.strip_prefix("0x")
            .map_or_else(|| s.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
    };
    let ints = |v: &Vec<String>| v.iter().filter_map(|s| int(s)).collect::<Vec<u64>>();
    let mut theirs = Counts::new();
    let mut explained: BTreeMap<&'static str, Counts> = BTreeMap::new();
    let mut add = |why: &'static str, fc: u64, n: i64| {
        *explained.entry(why).or_default().entry(fc).or_default() += n;
    };
    let mut reused_streams = BTreeSet::new();
    let mut stream_counts: BTreeMap<u64, Counts> = BTreeMap::new();
    let mut by_frame: BTreeMap<u64, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for row in &rows {
        let frame = ints(&row[0]).first().copied().unwrap_or(0);
        let stream = ints(&row[1]).first().copied();
        let funcs: Vec<u64> = ints(&row[7]).into_iter().filter(|&f| f != 0).collect();
        let link: Vec<u64> = ints(&row[5]);
        let tr: Vec<u64> = ints(&row[6]);
        if !row[10].is_empty() {
            reused_streams.extend(stream);
        }
        let retrans = !row[8].is_empty() || !row[9].is_empty();
        for &f in &funcs {
            *theirs.entry(f).or_default() += 1;
            if let Some(s) = stream {
                *stream_counts.entry(s).or_default().entry(f).or_default() += 1;
            }
            if retrans {
                add(RETRANSMISSION, f, -1);
            } else if link.len() == 1 && !matches!(link[0] & 0x0f, 3 | 4) {
                add(NOT_USER_DATA, f, -1);
            }
        }
        by_frame.insert(frame, (tr, ints(&row[7])));
    }
    let mut flow_counts: BTreeMap<(u64, u64), Counts> = BTreeMap::new();
    for e in &dnp3 {
        let f = fc(e);
        let ports = (
            e["src_port"].as_u64().unwrap_or(0),
            e["dest_port"].as_u64().unwrap_or(0),
        );
        if ports.0 != 20000 && ports.1 != 20000 {
            add(OFF_PORT, f, 1);
            continue;
        }
        *flow_counts.entry(ports).or_default().entry(f).or_default() += 1;
        let n = e["pcap_cnt"].as_u64().unwrap_or(0);
        let (tr, funcs) = by_frame.get(&n).cloned().unwrap_or_default();
        // A FIN segment with sequence 0 that is not a first: the end of a wrapped fragment.
        if tr.iter().any(|&t| t & 0xc0 == 0x80 && t & 0x3f == 0) && !funcs.contains(&f) {
            add(SEQUENCE_WRAP, f, 1);
        } else if tr.len() == 1 && tr[0] & 0xc0 == 0xc0 && !funcs.is_empty() && !funcs.contains(&f)
        {
            add(STALE_FRAGMENT, f, 1);
        }
    }
    // Streams with reused ports: what we log there beyond tshark.
    if !reused_streams.is_empty() {
        let port_of_stream: BTreeMap<u64, u64> = rows
            .iter()
            .filter_map(|r| Some((ints(&r[1]).first().copied()?, ints(&r[2]).first().copied()?)))
            .filter(|(_, p)| *p != 20000)
            .collect();
        let ports: BTreeSet<u64> = reused_streams
            .iter()
            .filter_map(|s| port_of_stream.get(s).copied())
            .collect();
        for port in ports {
            let mine = flow_counts.get(&(port, 20000)).cloned().unwrap_or_default();
            // tshark splits the 5-tuple into several streams: all of them together.
            let mut tsh = Counts::new();
            for (s, counts) in &stream_counts {
                if port_of_stream.get(s) == Some(&port) {
                    for (k, n) in counts {
                        *tsh.entry(*k).or_default() += n;
                    }
                }
            }
            let keys: BTreeSet<u64> = mine.keys().chain(tsh.keys()).copied().collect();
            for k in keys {
                let d = mine.get(&k).copied().unwrap_or(0) - tsh.get(&k).copied().unwrap_or(0);
                if d != 0 {
                    add(REUSED_PORTS, k, d);
                }
            }
        }
    }
    for counts in explained.values_mut() {
        counts.retain(|_, n| *n != 0);
    }
    explained.retain(|_, c| !c.is_empty());
    Compared {
        ours,
        theirs,
        explained,
    }
}

/// The captures where our counts differ from tshark's, and why (each reason is recomputed
/// from the frames and must account for the whole difference).
const DIFFERENCES: &[(&str, &[&str])] = &[
    (
        "ITI-ICS-Security-Tools/dnp3/opendnp3-3/conformance/6.6.2.2/dump.pcap",
        &[NOT_USER_DATA],
    ),
    (
        "ITI-ICS-Security-Tools/dnp3/opendnp3-3/conformance/6.6.2.5/dump.pcap",
        &[NOT_USER_DATA],
    ),
    (
        "Malcolm-Test-Artifacts/protocols/DNP3.pcap",
        &[OFF_PORT, SEQUENCE_WRAP, STALE_FRAGMENT, REUSED_PORTS],
    ),
    (
        "icsnpp-dnp3/traces/dnp3_example.pcap",
        &[SEQUENCE_WRAP, STALE_FRAGMENT],
    ),
    ("nDPI/pcap/dnp3.pcap", &[RETRANSMISSION]),
];

#[test]
fn function_codes_equal_tshark_on_every_dnp3_capture() {
    let captures = dnp3_captures();
    assert!(captures.len() >= 200, "only {} captures", captures.len());
    let results = par_map(&captures, |path| (path.clone(), compare(path)));
    let mut problems = Vec::new();
    let (mut fragments, mut equal) = (0i64, 0);
    let mut differing = BTreeSet::new();
    for (path, c) in &results {
        fragments += c.theirs.values().sum::<i64>();
        let keys: BTreeSet<u64> = c.ours.keys().chain(c.theirs.keys()).copied().collect();
        let mut delta = Counts::new();
        for k in keys {
            let d = c.ours.get(&k).copied().unwrap_or(0) - c.theirs.get(&k).copied().unwrap_or(0);
            if d != 0 {
                delta.insert(k, d);
            }
        }
        if delta.is_empty() {
            equal += 1;
            continue;
        }
        let name = path.to_string_lossy().into_owned();
        let listed = DIFFERENCES.iter().find(|(p, _)| name.ends_with(p));
        let mut sum = Counts::new();
        for counts in c.explained.values() {
            for (k, n) in counts {
                *sum.entry(*k).or_default() += n;
            }
        }
        sum.retain(|_, n| *n != 0);
        let reasons: BTreeSet<&str> = c.explained.keys().copied().collect();
        match listed {
            Some((p, why)) if sum == delta && reasons == why.iter().copied().collect() => {
                differing.insert(*p);
            }
            _ => problems.push(format!(
                "{name}: ours - tshark per function code {delta:?}; explained {:?}",
                c.explained
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let listed: BTreeSet<&str> = DIFFERENCES.iter().map(|(p, _)| *p).collect();
    assert_eq!(differing, listed, "listed differences no longer occur");
    eprintln!(
        "{} captures, {fragments} fragments by tshark: {equal} equal, {} differ as listed",
        results.len(),
        differing.len()
    );
}
