//! Emerging Threats Open (`../shared/rulesets/et-open-2020-05`), loaded as a user loads it:
//! `sensor rules check` on the folder. Its table — rules loaded and refused per file, and the
//! refusals per reason — is read back and held exactly: a rule that starts loading, or stops,
//! changes the table, and this test with it. The table in a closing note is this test's.

use std::collections::BTreeMap;
use std::process::Command;

use icsight_tests::{root, sensor_bin};

/// ET Open's 2020-05 snapshot.
const RULES: usize = 21_128;

/// Every refusal, by reason: what the sensor does not offer (yet).
const REFUSED: &[(&str, usize)] = &[
    ("byte_test: 0 bytes: must be 1 to 23", 7),
    ("keyword `dce_iface` is not supported", 1),
    (
        "pcre: digits missing after \\x or in \\x{} or \\o{} or \\N{U+} at offset 326",
        1,
    ),
];

/// `strict` refuses these too: keywords accepted without effect on a passive sensor.
const STRICT_ALSO: &[(&str, usize)] = &[(
    "keyword `rawbytes` has no effect on a passive sensor (refused when strict)",
    8,
)];

/// The table's parts: (file, loaded, refused) rows with the total, and the reasons.
struct Table {
    files: Vec<(String, usize, usize)>,
    reasons: BTreeMap<String, usize>,
}

fn check(strict: bool) -> Table {
    let dir = root().join("../shared/rulesets/et-open-2020-05");
    let mut cmd = Command::new(sensor_bin());
    cmd.args(["rules", "check"]).arg(&dir);
    if strict {
        cmd.arg("--strict");
    }
    let out = cmd.output().expect("run sensor rules check");
    assert_eq!(out.status.code(), Some(1), "some rules are refused");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (files, reasons) = stdout
        .split_once("\nrefused, by reason:\n")
        .unwrap_or_else(|| panic!("no reasons in:\n{stdout}"));
    let files = files
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let n = |i: usize| cols[cols.len() - i].parse::<usize>().expect(l);
            (cols[0].to_owned(), n(2), n(1))
        })
        .collect();
    let reasons = reasons
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (n, why) = l.trim_start().split_once("  ").expect(l);
            (why.to_owned(), n.parse().expect(l))
        })
        .collect();
    Table { files, reasons }
}

#[test]
fn et_open_loads_and_its_refusals_are_listed_exactly() {
    let t = check(false);
    for (why, n) in &t.reasons {
        eprintln!("{n:>6}  {why}");
    }
    let (total, files) = t.files.split_last().expect("a total row");
    assert_eq!(total.0, "total");
    assert_eq!(files.len(), 42, "every rules file of the folder");
    let refused: usize = REFUSED.iter().map(|(_, n)| n).sum();
    assert_eq!(total.1 + total.2, RULES, "every rule is loaded or refused");
    assert_eq!(total.2, refused);
    assert_eq!(files.iter().map(|f| f.1).sum::<usize>(), total.1);
    let expected: BTreeMap<String, usize> =
        REFUSED.iter().map(|(w, n)| ((*w).to_owned(), *n)).collect();
    assert_eq!(t.reasons, expected);
    // The ICS file loads whole.
    assert!(files
        .iter()
        .any(|f| f.0.ends_with("emerging-scada.rules") && f.2 == 0));
}

#[test]
fn strict_also_refuses_keywords_without_effect() {
    let t = check(true);
    let mut expected: BTreeMap<String, usize> =
        REFUSED.iter().map(|(w, n)| ((*w).to_owned(), *n)).collect();
    expected.extend(STRICT_ALSO.iter().map(|(w, n)| ((*w).to_owned(), *n)));
    assert_eq!(t.reasons, expected);
}
