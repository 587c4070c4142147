//! Suricata's own tests for the IT protocols (`../shared/pcaps/it/suricata-verify`), replayed
//! with their rules: every test is passed, failed, or skipped for a named reason, and the
//! tally is reported per protocol. `http-evader` (a corpus of HTTP evasions, one test each)
//! is counted on its own: how many evasions the HTTP parser sees through.
//!
//! A test is skipped, never failed, when it needs what the sensor does not claim: a protocol
//! it does not decode yet, a capture the shared set lacks, a rule it refuses (the refusal is
//! the reason), a DNS log layout it does not write, or what only file extraction gives. The
//! assertions hold the protocols the sensor claims to the bar.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use icsight_tests::verify::{tests_under, VerifyTest};
use icsight_tests::{par_map, replay_with, root, shared_pcaps};

/// What became of one test.
#[derive(Debug, Clone)]
enum Outcome {
    Passed,
    /// The filters that did not hold: (index, expected, actual).
    Failed(Vec<(usize, Option<u64>, u64)>),
    Skipped(String),
}

/// The protocol a test is about, from its folder (`dns/…`) or else its name.
fn group(path: &str) -> &'static str {
    let first = path.split('/').next().unwrap_or(path);
    let name = match first {
        "dns" | "firewall" | "http-evader" | "http-connect" => first,
        _ => path,
    };
    // `enip` before `uri`, which `enip-keywords-suricata8` also contains.
    const GROUPS: [(&str, &str); 11] = [
        ("firewall", "firewall"),
        ("dcerpc", "dcerpc"),
        ("enip", "enip"),
        ("http-evader", "http-evader"),
        ("http", "http"),
        ("uri", "http"),
        ("dns", "dns"),
        ("tls", "tls"),
        ("ftp", "ftp"),
        ("smtp", "smtp"),
        ("ssh", "ssh"),
    ];
    GROUPS
        .iter()
        .find(|(k, _)| name.contains(k))
        .map_or("detect", |(_, g)| g)
}

/// Protocols whose tests are skipped because the sensor does not decode them (DCERPC), and
/// Suricata 8's firewall mode (rules that drop), which a passive sensor has no use for.
const NOT_DECODED: [&str; 2] = ["dcerpc", "firewall"];

/// Whether the test gives the `dns` EVE logger options — in its `suricata.yaml` (`version: 2`,
/// which records, which types) or through Suricata's `SURICATA_EVE_DNS_VERSION` — a layout or a
/// filter the sensor's DNS log does not take.
fn dns_log_options(dir: &Path, test: &VerifyTest) -> bool {
    if dns_version_from_env(&test.yaml) {
        return true;
    }
    let Ok(yaml) = std::fs::read_to_string(dir.join("suricata.yaml")) else {
        return false;
    };
    let lines: Vec<&str> = yaml.lines().collect();
    lines.iter().enumerate().any(|(i, l)| {
        l.trim() == "- dns:"
            && lines[i + 1..].iter().take(12).any(|o| {
                let o = o.trim();
                [
                    "version:",
                    "requests:",
                    "responses:",
                    "types:",
                    "formats:",
                    "query:",
                    "answer:",
                ]
                .iter()
                .any(|k| o.starts_with(k))
            })
    })
}

/// Whether a check reads what only file extraction gives — a file's hashes, magic, storage —
/// which the sensor does not do: its `fileinfo` is the file's metadata.
fn reads_extraction(check: &serde_json::Value) -> bool {
    let f = &check["filter"];
    let keys = f["match"].as_object().into_iter().flat_map(|m| m.keys());
    let named = ["has-key", "not-has-key"]
        .into_iter()
        .flat_map(|k| match &f[k] {
            serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
            serde_json::Value::String(s) => vec![s.as_str()],
            _ => Vec::new(),
        });
    keys.map(String::as_str).chain(named).any(|k| {
        k.strip_prefix("fileinfo.")
            .is_some_and(|f| ["sha256", "sha1", "md5", "magic", "stored", "file_id"].contains(&f))
    })
}

/// Whether `test.yaml` sets the DNS log's version through Suricata's environment.
fn dns_version_from_env(yaml: &serde_json::Value) -> bool {
    yaml["env"].get("SURICATA_EVE_DNS_VERSION").is_some()
}

/// The test's own rules: the one `*.rules` file in its directory, or `test.rules` among
/// several.
fn rules_file(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rules"))
        .collect();
    match found.len() {
        1 => found.pop(),
        _ => Some(dir.join("test.rules")),
    }
}

fn run(base: &Path, dir: &Path) -> Outcome {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let rel = dir
        .strip_prefix(base)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let g = group(&rel);
    if NOT_DECODED.contains(&g) {
        return Outcome::Skipped(format!("{g} is not decoded yet"));
    }
    let test = VerifyTest::load(dir);
    if g == "dns" && (dns_log_options(dir, &test) || rel.starts_with("dns/v2/")) {
        return Outcome::Skipped(
            "its suricata.yaml sets the DNS log's version 2 layout or filters it".into(),
        );
    }
    // A `stats:` check reads Suricata's own counters by their names (`flow_bypassed.*`);
    // passing the test's filters alone would claim what was not checked.
    let checks = test.yaml.get("checks").and_then(|c| c.as_array());
    let reads_stats = |c: &serde_json::Value| {
        c.get("stats").is_some()
            || c["filter"]["match"]
                .as_object()
                .is_some_and(|m| m.keys().any(|k| k.starts_with("stats.")))
    };
    if checks.is_some_and(|c| c.iter().any(reads_stats)) {
        return Outcome::Skipped("it checks Suricata's own stats counters".into());
    }
    if checks.is_some_and(|c| c.iter().any(reads_extraction)) {
        return Outcome::Skipped(
            "it checks a file's hash, magic or storage: the sensor extracts no files".into(),
        );
    }
    let Some(pcap) = test.pcap().filter(|p| p.exists()) else {
        return Outcome::Skipped("its capture is not in the shared set".into());
    };
    // `rules:` names another test's rules; else the test's own rules file, whatever its
    // name, as suricata-verify finds it (`test.rules` where there are several).
    let named = test
        .yaml
        .get("rules")
        .and_then(|r| r.as_str())
        .map(|r| dir.join(r));
    let own = rules_file(dir);
    let rules = named
        .into_iter()
        .chain(own)
        .find(|r| r.exists())
        .map_or_else(|| "/dev/null".into(), |r| r.into_os_string());
    // The replay reports each rule it refuses as it loads them; the limits the test's
    // `suricata.yaml` sets are the sensor's.
    let tmp = tempfile::tempdir().unwrap();
    let r = replay_with(
        &[pcap.as_path()],
        &test.config(&root().join("tests/conformance.toml"), tmp.path()),
        &[OsStr::new("--rules"), &rules],
    );
    if let Some(line) = r.stderr.lines().find(|l| l.starts_with("rule error")) {
        let reason = line.splitn(4, ':').nth(3).unwrap_or(line).trim();
        return Outcome::Skipped(format!("a rule is refused: {reason}"));
    }
    if r.status != 0 {
        return Outcome::Failed(vec![(usize::MAX, None, r.status as u64)]);
    }
    let checks = test.check(&r.events);
    if checks.is_empty() {
        return Outcome::Skipped(format!("{name} has no filter checks"));
    }
    let failed: Vec<_> = checks
        .iter()
        .filter(|c| !c.passed())
        .map(|c| (c.index, c.expected, c.actual))
        .collect();
    if failed.is_empty() {
        Outcome::Passed
    } else {
        Outcome::Failed(failed)
    }
}

/// One protocol's results.
#[derive(Default)]
struct Tally {
    passed: usize,
    /// Each failed test with the filters that did not hold.
    failed: Vec<String>,
    /// Skips by reason.
    skipped: BTreeMap<String, usize>,
}

/// What must pass today, per protocol the sensor claims: (group, tests passed at least). The
/// bar only rises; the is 90% of the tests run.
const PASSING: [(&str, usize); 5] = [
    ("http", 68),
    ("http-evader", 161),
    ("dns", 20),
    ("ftp", 15),
    ("enip", 3),
];

#[test]
fn suricata_verify_it_tests() {
    let base = shared_pcaps().join("it/suricata-verify");
    let dirs = tests_under(&base);
    assert!(dirs.len() >= 400, "only {} tests found", dirs.len());
    let outcomes = par_map(&dirs, |d| run(&base, d));
    let mut tally: BTreeMap<&str, Tally> = BTreeMap::new();
    for (d, o) in dirs.iter().zip(&outcomes) {
        let name = d
            .strip_prefix(&base)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let t = tally.entry(group(&name)).or_default();
        match o {
            Outcome::Passed => t.passed += 1,
            Outcome::Failed(f) => t.failed.push(format!("{name} {f:?}")),
            Outcome::Skipped(why) => *t.skipped.entry(why.clone()).or_default() += 1,
        }
    }
    for (g, t) in &tally {
        let skips: usize = t.skipped.values().sum();
        eprintln!(
            "{g}: {} passed, {} failed, {skips} skipped",
            t.passed,
            t.failed.len()
        );
        for f in &t.failed {
            eprintln!("  failed {f}");
        }
        for (why, n) in &t.skipped {
            eprintln!("  skipped {n}: {why}");
        }
    }
    for (g, least) in PASSING {
        let passed = tally.get(g).map_or(0, |t| t.passed);
        assert!(
            passed >= least,
            "{g}: {passed} tests pass, fewer than {least}"
        );
    }
}

#[test]
fn harness_choices() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(rules_file(dir.path()), Some(dir.path().join("test.rules")));
    std::fs::write(dir.path().join("dns-events.rules"), "").unwrap();
    assert_eq!(
        rules_file(dir.path()),
        Some(dir.path().join("dns-events.rules"))
    );
    std::fs::write(dir.path().join("other.rules"), "").unwrap();
    assert_eq!(rules_file(dir.path()), Some(dir.path().join("test.rules")));

    let env: serde_json::Value =
        serde_yaml_ng::from_str("env:\n  SURICATA_EVE_DNS_VERSION: 2\n").unwrap();
    assert!(dns_version_from_env(&env));
    assert!(!dns_version_from_env(
        &serde_json::json!({"args": ["-k none"]})
    ));

    let check = |m: serde_json::Value| serde_json::json!({ "filter": m });
    assert!(reads_extraction(&check(
        serde_json::json!({"count": 1, "match": {"fileinfo.sha256": "00"}})
    )));
    assert!(reads_extraction(&check(
        serde_json::json!({"count": 1, "has-key": "fileinfo.md5"})
    )));
    assert!(!reads_extraction(&check(
        serde_json::json!({"count": 1, "match": {"fileinfo.size": 3, "fileinfo.state": "CLOSED"}})
    )));
}
