//! The crates depend on each other one way, as `docs/architecture.md` draws them: the
//! contract (`eve`), the configuration reader (`config`), the decoders and the uplink depend on
//! nothing of ours; the rules only on the decoders; the sensor on all of those; the collector
//! never on capture code (the sensor) nor on the decoders directly. Read from each crate's own
//! manifest, so a dependency added against the flow fails here, naming it. And the sensor's
//! baseline takes its transactions from the decoders, not from the signature engine.

use std::collections::BTreeSet;

use icsight_tests::root;

/// Each crate (its folder) and the crates of ours it may name in `[dependencies]`.
const ALLOWED: [(&str, &[&str]); 7] = [
    ("eve", &[]),
    ("config", &[]),
    ("decoders", &[]),
    ("uplink", &[]),
    ("rules", &["icsight-decoders"]),
    (
        "sensor",
        &[
            "icsight-eve",
            "icsight-config",
            "icsight-decoders",
            "icsight-rules",
            "icsight-uplink",
        ],
    ),
    (
        "collector",
        &[
            "icsight-eve",
            "icsight-config",
            "icsight-rules",
            "icsight-uplink",
        ],
    ),
];

/// The crates of ours a manifest's `[dependencies]` names, by package name.
fn our_dependencies(folder: &str) -> BTreeSet<String> {
    let path = root().join(folder).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: toml::Table = toml::from_str(&text).unwrap_or_else(|e| panic!("{folder}: {e}"));
    let Some(deps) = manifest.get("dependencies").and_then(toml::Value::as_table) else {
        return BTreeSet::new();
    };
    deps.iter()
        .map(|(name, spec)| {
            spec.get("package")
                .and_then(toml::Value::as_str)
                .unwrap_or(name)
                .to_owned()
        })
        .filter(|p| p.starts_with("icsight-"))
        .collect()
}

#[test]
fn crates_depend_one_way() {
    let workspace: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    let members: BTreeSet<&str> = workspace["workspace"]["members"]
        .as_array()
        .expect("workspace members")
        .iter()
        .filter_map(toml::Value::as_str)
        .filter(|m| *m != "tests")
        .collect();
    let listed: BTreeSet<&str> = ALLOWED.iter().map(|(c, _)| *c).collect();
    assert_eq!(members, listed, "every crate has its place in the flow");
    let mut wrong = Vec::new();
    for (folder, allowed) in ALLOWED {
        for dep in our_dependencies(folder) {
            if !allowed.contains(&dep.as_str()) {
                wrong.push(format!("{folder} depends on {dep}"));
            }
        }
    }
    assert!(wrong.is_empty(), "against the flow: {wrong:?}");
}

#[test]
fn the_baseline_does_not_lean_on_the_signature_engine() {
    let dir = root().join("sensor/src/baseline");
    let mut offenders = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("sensor/src/baseline") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("source");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if code.contains("rules::") {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
