//! False positives of the anomaly baseline on long public captures of normal operation: each
//! capture is cut in two halves by time (editcap), a baseline is learned on the first half and
//! the second half is replayed against it. Every anomaly alert there is a false positive. The
//! per-capture figures (minutes, transactions checked, alerts by kind, alerts per hour) go to
//! `target/baseline-fp.tsv` and the test output; over the normal set they must stay under
//! [`MAX_PER_HOUR`].
//!
//! `DNP3.pcap` is reported too but not bounded: it joins several recordings, and its second
//! half holds operations its first never had (warm restarts, stop application, integrity polls
//! of another outstation), which the baseline rightly reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use icsight_tests::{replay_with, root, sensor_bin, shared_pcaps};

/// Long captures (5 minutes and more) of routine polling.
const NORMAL: &[&str] = &[
    "modbus/Modbus_dataset-CSET16/channel_5d_3s.pcap",
    "modbus/Modbus_dataset-CSET16/channel_4d_5s.pcap",
    "modbus/Modbus_dataset-CSET16/channel_4d_9s.pcap",
    "modbus/Modbus_dataset-CSET16/channel_4d_12s.pcap",
    "s7comm/ITI-ICS-Security-Tools/s7/S7Comm/s7comm_clean.pcap",
    "s7comm/s7-pcaps/wincc_s400_production.pcapng",
];

/// Long captures that are not one plant's routine: reported, not bounded.
const MIXED: &[&str] = &["dnp3/Malcolm-Test-Artifacts/protocols/DNP3.pcap"];

/// Anomaly alerts per hour of the second halves, over the normal set.
const MAX_PER_HOUR: f64 = 2.0;

fn epoch(pcap: &Path, flag: &str) -> f64 {
    let out = Command::new("capinfos")
        .args([flag, "-S", "-T", "-r"])
        .arg(pcap)
        .output()
        .expect("capinfos (wireshark-common) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(1)
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("capinfos {flag} {}: {text}", pcap.display()))
}

fn editcap(flag: &str, at: f64, from: &Path, to: &Path) {
    let ok = Command::new("editcap")
        .arg(flag)
        .arg(format!("{at:.6}"))
        .arg(from)
        .arg(to)
        .status()
        .expect("editcap runs")
        .success();
    assert!(ok, "editcap {flag} {}", from.display());
}

struct Figures {
    minutes: f64,
    transactions: u64,
    kinds: BTreeMap<String, u64>,
}

impl Figures {
    fn alerts(&self) -> u64 {
        self.kinds.values().sum()
    }
}

/// Learn on the first half of `rel`, detect on the second.
fn halves(rel: &str, dir: &Path) -> Figures {
    let pcap = shared_pcaps().join(rel);
    let (first, last) = (epoch(&pcap, "-a"), epoch(&pcap, "-e"));
    let mid = (first + last) / 2.0;
    let name = Path::new(rel).file_name().unwrap().to_string_lossy();
    let (h1, h2, base): (PathBuf, PathBuf, PathBuf) = (
        dir.join(format!("{name}.1.pcap")),
        dir.join(format!("{name}.2.pcap")),
        dir.join(format!("{name}.json")),
    );
    editcap("-B", mid, &pcap, &h1);
    editcap("-A", mid, &pcap, &h2);
    let learned = Command::new(sensor_bin())
        .args(["learn", "--no-progress", "--out"])
        .arg(&base)
        .arg(&h1)
        .output()
        .unwrap();
    assert!(learned.status.success(), "{rel}: learn failed");
    let r = replay_with(
        &[&h2],
        &root().join("sensor.toml"),
        &["--baseline".as_ref(), base.as_os_str()],
    );
    assert_eq!(r.status, 0, "{rel}: {}", r.stderr);
    let transactions = r
        .stderr
        .lines()
        .filter(|l| l.contains("transactions checked"))
        .find_map(|l| {
            l.strip_prefix("baseline: ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("{rel}: no baseline summary in {}", r.stderr));
    let mut kinds = BTreeMap::new();
    for e in &r.events {
        if e["event_type"] == "alert" && e["anomaly"]["type"] == "baseline" {
            let k = e["anomaly"]["event"].as_str().unwrap().to_owned();
            *kinds.entry(k).or_insert(0) += 1;
        }
    }
    Figures {
        minutes: (last - mid) / 60.0,
        transactions,
        kinds,
    }
}

#[test]
fn false_positives_per_hour_after_learning_the_first_half() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = String::from("capture\tset\tminutes\ttransactions\talerts\tper_hour\tkinds\n");
    let (mut minutes, mut alerts) = (0.0, 0);
    let mut checked = 0;
    for (set, list) in [("normal", NORMAL), ("mixed", MIXED)] {
        for rel in list.iter() {
            if !shared_pcaps().join(rel).exists() {
                eprintln!("{rel}: not in the corpus here, skipped");
                continue;
            }
            let f = halves(rel, dir.path());
            assert!(
                f.transactions >= if set == "normal" { 100 } else { 1 },
                "{rel}: only {} transactions checked",
                f.transactions
            );
            let kinds: Vec<String> = f.kinds.iter().map(|(k, n)| format!("{k}={n}")).collect();
            report.push_str(&format!(
                "{rel}\t{set}\t{:.1}\t{}\t{}\t{:.2}\t{}\n",
                f.minutes,
                f.transactions,
                f.alerts(),
                f.alerts() as f64 / (f.minutes / 60.0),
                kinds.join(",")
            ));
            if set == "normal" {
                minutes += f.minutes;
                alerts += f.alerts();
                checked += 1;
            }
        }
    }
    let per_hour = alerts as f64 / (minutes / 60.0).max(1e-9);
    report.push_str(&format!(
        "normal set\tnormal\t{minutes:.1}\t-\t{alerts}\t{per_hour:.2}\t-\n"
    ));
    println!("{report}");
    let _ = std::fs::write(root().join("target/baseline-fp.tsv"), &report);
    assert!(
        checked > 0 || !shared_pcaps().exists(),
        "no normal capture found"
    );
    assert!(
        per_hour <= MAX_PER_HOUR,
        "{alerts} false positives in {minutes:.1} min ({per_hour:.2}/h):\n{report}"
    );
}
