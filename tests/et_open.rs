//! Emerging Threats Open (`../shared/rulesets/et-open-2020-05`), loaded as a user loads it:
//! `sensor rules check` on the folder. The count of rules loaded only rises; every refusal is
//! tallied by its reason and printed, so the table in a closing note is this test's output.

use std::collections::BTreeMap;
use std::process::Command;

use icsight_tests::{root, sensor_bin};

/// Rules of the 21,128 that must load.
const LOADED_AT_LEAST: usize = 20_807;

/// A refusal's reason without what varies from rule to rule (the expression, the value).
fn reason(message: &str) -> String {
    if let Some(rest) = message.strip_prefix("pcre: pcre `") {
        let why = rest.rsplit("`: ").next().unwrap_or(rest);
        return format!("pcre: {}", why.trim_start_matches("error: "));
    }
    if message.starts_with('`') && message.contains("`: not a") {
        return "a content modifier names a byte_extract variable".into();
    }
    message.to_owned()
}

#[test]
fn et_open_loads() {
    let dir = root().join("../shared/rulesets/et-open-2020-05");
    let out = Command::new(sensor_bin())
        .args(["rules", "check"])
        .arg(&dir)
        .output()
        .expect("run sensor rules check");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for line in stderr.lines().filter(|l| l.starts_with("rule error: ")) {
        // rule error: FILE:LINE: MESSAGE
        let message = line.splitn(4, ':').nth(3).unwrap_or(line).trim();
        *reasons.entry(reason(message)).or_default() += 1;
    }
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("rules: "))
        .unwrap_or_else(|| panic!("no summary:\n{stderr}"));
    let loaded: usize = summary["rules: ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("loaded count");
    let mut table: Vec<_> = reasons.iter().collect();
    table.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    eprintln!("{summary}");
    for (why, n) in &table {
        eprintln!("{n:>6}  {why}");
    }
    let refused: usize = reasons.values().sum();
    assert_eq!(loaded + refused, 21_128, "every rule is loaded or refused");
    assert!(
        loaded >= LOADED_AT_LEAST,
        "{loaded} rules load, fewer than {LOADED_AT_LEAST}"
    );
}
