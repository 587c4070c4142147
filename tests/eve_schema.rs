//! The EVE contract checked against Suricata's: every event icsight writes of a type Suricata
//! also writes (`flow`, `alert`, `anomaly`, `stats`, `modbus`, `dnp3`) is validated against
//! Suricata's own EVE schema (`../shared/schemas/suricata-eve.schema.json`). A field Suricata
//! does not have is an extension and must be listed in `docs/eve/extensions.md`; a field both
//! write must have Suricata's type. So a type conflict fails, and so does a renamed field (it
//! shows up as an unlisted extension), and so does a listed extension nothing writes any more.
//!
//! The events: every capture in `pcaps/` with the example configuration and rules, and the
//! baseline's attack capture against a baseline learned from the normal recording (baseline
//! alerts, `asset` events).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use icsight_tests::{replay, replay_with, root, sensor_bin, shared_pcaps};
use jsonschema::error::ValidationErrorKind;
use serde_json::Value;

/// Event types Suricata writes too: the ones its schema speaks for.
const SHARED_TYPES: [&str; 14] = [
    "flow", "alert", "anomaly", "stats", "modbus", "dnp3", "http", "tls", "fileinfo", "ssh", "ftp",
    "ftp_data", "smtp", "smb",
];

/// The extensions listed in `docs/eve/extensions.md`: each a `- \`PATH\`` line, PATH a JSON
/// pointer whose array indices are `*`.
fn listed_extensions() -> BTreeSet<String> {
    let doc = root().join("docs/eve/extensions.md");
    let text = std::fs::read_to_string(&doc).unwrap_or_else(|e| panic!("{}: {e}", doc.display()));
    text.lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .filter(|p| p.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

/// A JSON pointer with array indices made `*`, so one listing covers every element.
fn generic(pointer: &str) -> String {
    pointer
        .split('/')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every event of the project's captures and of the baseline attack.
fn events() -> Vec<Value> {
    let pcaps = root().join("pcaps");
    let config = root().join("sensor.toml");
    let mut all = replay(&[&pcaps], &config);
    assert_eq!(all.status, 0, "{}", all.stderr);

    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline.json");
    let learn = Command::new(sensor_bin())
        .args(["learn", "--no-progress", "--fresh", "--config"])
        .arg(&config)
        .arg(pcaps.join("baseline_normal_a.pcap"))
        .arg("--out")
        .arg(&baseline)
        .output()
        .expect("run sensor learn");
    assert!(
        learn.status.success(),
        "{}",
        String::from_utf8_lossy(&learn.stderr)
    );
    let attack = replay_with(
        &[&pcaps.join("baseline_attack.pcap")],
        &config,
        &["--baseline".as_ref(), baseline.as_os_str()],
    );
    assert_eq!(attack.status, 0, "{}", attack.stderr);
    all.events.extend(attack.events);
    all.events
}

fn schema() -> Value {
    let path: PathBuf = shared_pcaps()
        .parent()
        .expect("shared/")
        .join("schemas/suricata-eve.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// What one event broke: conflicts (anything but an extra field) and the extra fields.
fn check(validator: &jsonschema::Validator, event: &Value) -> (Vec<String>, Vec<String>) {
    let (mut conflicts, mut extra) = (Vec::new(), Vec::new());
    for e in validator.iter_errors(event) {
        let at = e.instance_path().to_string();
        match e.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                extra.extend(unexpected.iter().map(|u| generic(&format!("{at}/{u}"))));
            }
            _ => conflicts.push(format!("{at}: {e}")),
        }
    }
    (conflicts, extra)
}

#[test]
fn events_suricata_also_writes_follow_its_schema() {
    let validator = jsonschema::validator_for(&schema()).expect("Suricata's schema compiles");
    let listed = listed_extensions();
    assert!(!listed.is_empty(), "docs/eve/extensions.md lists nothing");
    let events = events();

    let mut checked: BTreeMap<&str, usize> = BTreeMap::new();
    let mut conflicts: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut unlisted: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for ev in &events {
        let Some(t) = ev["event_type"].as_str() else {
            panic!("an event without event_type: {ev}");
        };
        let Some(t) = SHARED_TYPES.iter().find(|s| **s == t) else {
            continue;
        };
        *checked.entry(t).or_default() += 1;
        let (c, extra) = check(&validator, ev);
        for c in c {
            let key = generic(c.split(':').next().unwrap_or(""));
            conflicts.entry(key).or_insert((0, c)).0 += 1;
        }
        for x in extra {
            if listed.contains(&x) {
                seen.insert(x);
            } else {
                *unlisted.entry(x).or_default() += 1;
            }
        }
    }
    for t in SHARED_TYPES {
        assert!(
            checked.get(t).copied().unwrap_or(0) > 0,
            "no {t} event to check: {checked:?}"
        );
    }
    assert!(
        conflicts.is_empty(),
        "fields whose type or value differs from Suricata's schema (events, first error):\n{conflicts:#?}"
    );
    assert!(
        unlisted.is_empty(),
        "fields Suricata's schema does not have and docs/eve/extensions.md does not list \
         (an extension to document, or a field renamed away from Suricata's name), with counts:\n{unlisted:#?}"
    );
    let stale: Vec<_> = listed.difference(&seen).collect();
    assert!(
        stale.is_empty(),
        "docs/eve/extensions.md lists extensions no checked event carries: {stale:?}"
    );
}

/// The check itself: a field typed other than Suricata types it is a conflict, an unknown one
/// is an extension, and a renamed one (Suricata's name gone, ours new) is an unlisted extension.
#[test]
fn the_check_tells_conflicts_from_extensions() {
    let validator = jsonschema::validator_for(&schema()).expect("Suricata's schema compiles");
    let good = serde_json::json!({
        "timestamp": "2026-11-21T17:40:25.572007+0000", "event_type": "modbus",
        "modbus": {"id": 1, "request": {"transaction_id": 1, "write": {"address": 5, "data": 550}}}
    });
    assert_eq!(check(&validator, &good), (vec![], vec![]));

    let mut conflict = good.clone();
    conflict["modbus"]["request"]["write"]["data"] = Value::from("\\xbe\\xef");
    let (c, x) = check(&validator, &conflict);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].starts_with("/modbus/request/write/data:"), "{c:?}");
    assert!(x.is_empty());

    let mut renamed = good.clone();
    let w = renamed["modbus"]["request"]["write"]
        .as_object_mut()
        .unwrap();
    let v = w.remove("data").unwrap();
    w.insert("value".into(), v);
    assert_eq!(
        check(&validator, &renamed),
        (vec![], vec!["/modbus/request/write/value".to_owned()])
    );
    assert!(!listed_extensions().contains("/modbus/request/write/value"));
}
