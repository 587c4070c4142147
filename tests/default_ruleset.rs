//! The built-in ruleset (`rules/default/`): it loads whole, has at least 60 rules, every rule
//! carries an ATT&CK for ICS technique, every rule fires exactly as often as
//! `rules/default/expected.tsv` says on the capture in `pcaps/` (made by real stacks) named
//! there — the ICS rules on the ICS captures, the IT-side rules on the IT captures — and the
//! normal-polling captures fire none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use icsight_tests::{replay_with, root};

/// Routine operation of each protocol: reads, polls, setup. No default rule may fire on them.
const NORMAL: &[&str] = &[
    "modbus_normal_polling.pcap",
    "s7comm_normal_polling.pcap",
    "dnp3_normal_polling.pcap",
    "iec104_c104.pcap",
    "opcua_asyncua_nodeopcua.pcap",
    "opcua_encrypted.pcap",
    "iec61850_mms.pcap",
    "iec61850_goose.pcap",
];

/// The sids of `rules/default/*.rules`, each checked for its technique.
fn default_sids() -> BTreeSet<u64> {
    let mut sids = BTreeSet::new();
    for f in [
        "modbus", "s7comm", "dnp3", "enip", "iec104", "opcua", "mms", "goose", "it",
    ] {
        let text =
            std::fs::read_to_string(root().join(format!("rules/default/{f}.rules"))).unwrap();
        for line in text.lines().filter(|l| l.starts_with("alert")) {
            assert!(line.contains("mitre_attack_ics T0"), "no technique: {line}");
            let sid = line
                .split("sid:")
                .nth(1)
                .unwrap()
                .split(';')
                .next()
                .unwrap();
            assert!(sids.insert(sid.trim().parse::<u64>().unwrap()), "{line}");
        }
    }
    sids
}

/// `(sid, capture, alerts)` rows of `expected.tsv`.
fn expected() -> Vec<(u64, String, usize)> {
    let text = std::fs::read_to_string(root().join("rules/default/expected.tsv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sid\tcapture\talerts"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "{l}");
            (
                f[0].parse().unwrap(),
                f[1].to_owned(),
                f[2].parse().unwrap(),
            )
        })
        .collect()
}

/// Alerts per sid when the built-in ruleset (no `--rules`) reads `capture`.
fn alerts(capture: &str, loaded: usize) -> BTreeMap<u64, usize> {
    let pcap = root().join("pcaps").join(capture);
    let r = replay_with(
        &[pcap.as_path()],
        &root().join("tests/conformance.toml"),
        &[],
    );
    assert_eq!(r.status, 0, "{capture}: {}", r.stderr);
    assert!(
        r.stderr.contains(&format!("rules: {loaded} loaded")),
        "{}",
        r.stderr
    );
    let mut counts = BTreeMap::new();
    for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
        assert!(
            e["alert"]["metadata"]["mitre_attack_ics"][0].is_string(),
            "{e}"
        );
        *counts
            .entry(e["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    counts
}

#[test]
fn every_default_rule_fires_on_its_capture() {
    let sids = default_sids();
    assert!(sids.len() >= 60, "{} rules", sids.len());
    let rows = expected();
    let listed: BTreeSet<u64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(listed, sids, "expected.tsv lists each rule once");
    assert_eq!(rows.len(), sids.len(), "expected.tsv lists each rule once");

    let captures: BTreeSet<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let fired: BTreeMap<&str, BTreeMap<u64, usize>> = captures
        .iter()
        .map(|c| (*c, alerts(c, sids.len())))
        .collect();
    let wrong: Vec<String> = rows
        .iter()
        .filter_map(|(sid, capture, want)| {
            let got = fired[capture.as_str()].get(sid).copied().unwrap_or(0);
            (got != *want).then(|| format!("{sid} on {capture}: {got} alerts, want {want}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}\nfired: {fired:?}");
}

#[test]
fn normal_polling_fires_no_default_rule() {
    let loaded = default_sids().len();
    for capture in NORMAL {
        assert!(Path::new(&root().join("pcaps").join(capture)).exists());
        let fired = alerts(capture, loaded);
        assert!(fired.is_empty(), "{capture}: {fired:?}");
    }
}
