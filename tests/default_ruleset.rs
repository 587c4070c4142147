//! The built-in ruleset (`rules/default/`): it loads whole, every rule carries an ATT&CK for
//! ICS technique, and every rule fires on some capture in `pcaps/` made by real stacks — but
//! for the rules listed as awaiting a capture, a list the test keeps exact.

use std::collections::{BTreeMap, BTreeSet};

use icsight_tests::{own_captures, replay_with, root};

/// Rules whose operation no capture in `pcaps/` performs yet.
const AWAITING_CAPTURE: &[u64] = &[9100106, 9100108, 9100202, 9100207, 9100208];

#[test]
fn every_default_rule_fires_on_a_real_capture() {
    let mut sids = BTreeSet::new();
    for f in ["modbus", "s7comm", "dnp3"] {
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
            sids.insert(sid.trim().parse::<u64>().unwrap());
        }
    }
    assert!(sids.len() >= 25, "{} rules", sids.len());
    let mut fired: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for pcap in own_captures("") {
        // No --rules: the built-in ruleset.
        let r = replay_with(
            &[pcap.as_path()],
            &root().join("tests/conformance.toml"),
            &[],
        );
        assert_eq!(r.status, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!("rules: {} loaded", sids.len())),
            "{}",
            r.stderr
        );
        for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
            let sid = e["alert"]["signature_id"].as_u64().unwrap();
            assert!(
                e["alert"]["metadata"]["mitre_attack_ics"][0].is_string(),
                "{e}"
            );
            let name = pcap.file_name().unwrap().to_string_lossy().into_owned();
            fired.entry(sid).or_default().insert(name);
        }
    }
    let silent: Vec<u64> = sids
        .iter()
        .filter(|s| !fired.contains_key(s))
        .copied()
        .collect();
    assert_eq!(silent, AWAITING_CAPTURE, "fired: {fired:?}");
    eprintln!(
        "{} default rules, {} fired on pcaps/: {fired:?}",
        sids.len(),
        fired.len()
    );
}
