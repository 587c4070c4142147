//! What the suites share: where the binaries, the project's captures and the public corpus are,
//! and how to run the sensor and tshark.

pub mod cluster;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

/// The public capture corpus beside the project (`../shared/pcaps`).
pub fn shared_pcaps() -> PathBuf {
    std::env::var_os("ICSIGHT_SHARED_PCAPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/pcaps"))
}

/// The `sensor` binary of the profile these tests were built with. `cargo test --workspace`
/// builds it (the sensor package has tests of its own); `ICSIGHT_SENSOR` overrides.
pub fn sensor_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("ICSIGHT_SENSOR") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> → target/<profile>/sensor
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("sensor");
    assert!(
        bin.exists(),
        "{} not built: run `cargo build -p icsight-sensor` or the whole workspace's tests",
        bin.display()
    );
    bin
}

/// Events of one replay.
pub struct Replay {
    pub status: i32,
    pub events: Vec<serde_json::Value>,
    pub stderr: String,
}

/// Run `sensor replay` on `inputs` with `config`, EVE to stdout.
pub fn replay(inputs: &[&Path], config: &Path) -> Replay {
    replay_with(inputs, config, &[])
}

/// [`replay`] with more arguments (`--rules DIR`, …).
pub fn replay_with(inputs: &[&Path], config: &Path, args: &[&std::ffi::OsStr]) -> Replay {
    let out = Command::new(sensor_bin())
        .arg("replay")
        .arg("--no-progress")
        .arg("--config")
        .arg(config)
        .args(args)
        .args(inputs)
        .output()
        .expect("run sensor");
    let events = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("EVE line is not JSON ({e}): {l}"))
        })
        .collect();
    Replay {
        status: out.status.code().unwrap_or(-1),
        events,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run tshark with `args` on `pcap`; its stdout.
pub fn tshark(pcap: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(pcap)
        .args(args)
        .output()
        .expect("tshark is installed (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        pcap.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// tshark's TCP and UDP conversation counts (`-z conv,tcp -z conv,udp`).
pub fn tshark_conversations(pcap: &Path) -> (usize, usize) {
    let text = tshark(pcap, &["-q", "-z", "conv,tcp", "-z", "conv,udp"]);
    let (mut tcp, mut udp, mut section) = (0, 0, None);
    for line in text.lines() {
        if line.starts_with("TCP Conversations") {
            section = Some(true);
        } else if line.starts_with("UDP Conversations") {
            section = Some(false);
        } else if line.contains("<->") {
            match section {
                Some(true) => tcp += 1,
                Some(false) => udp += 1,
                None => {}
            }
        }
    }
    (tcp, udp)
}

pub mod verify;

/// A multiset of what was dissected, keyed by a line describing a PDU or a field's value.
pub type Counts = std::collections::BTreeMap<String, i64>;

/// Differences tshark and the sensor are known to have, per capture file name: the keys and
/// what the sensor's count minus tshark's is.
pub type Known<'a> = &'a [(&'a str, &'a [(&'a str, i64)])];

/// One capture as tshark and the sensor see it: what each counted, the frames tshark calls
/// malformed, the anomalies the sensor raised.
pub struct Sides {
    pub theirs: Counts,
    pub malformed: usize,
    pub ours: Counts,
    pub anomalies: usize,
}

impl Sides {
    /// tshark's count over the keys that start with `prefix`.
    pub fn theirs_of(&self, prefix: &str) -> i64 {
        self.theirs
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }
}

/// Each capture's two sides, compared (two captures at a time): `theirs` gives tshark's counts
/// and malformed frames, `ours` the sensor's counts and anomalies. Every difference from
/// `known`, and every malformed frame that raised no anomaly, fails the test, all named at
/// once. The sides come back for the caller's totals. `path` finds a capture's file in an item.
pub fn compare_captures<T: Sync>(
    captures: &[T],
    path: impl Fn(&T) -> &Path + Sync,
    known: Known<'_>,
    theirs: impl Fn(&T) -> (Counts, usize) + Sync,
    ours: impl Fn(&T) -> (Counts, usize) + Sync,
) -> Vec<Sides> {
    let all = par_map(captures, |c| {
        let ((theirs, malformed), (ours, anomalies)) = (theirs(c), ours(c));
        Sides {
            theirs,
            malformed,
            ours,
            anomalies,
        }
    });
    let problems: Vec<String> = captures
        .iter()
        .zip(&all)
        .flat_map(|(c, s)| {
            conformance_problems(path(c), &s.theirs, &s.ours, known, s.malformed, s.anomalies)
        })
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    all
}

/// What a capture's comparison with tshark found wrong: counts that differ other than as
/// `known` lists for it, and malformed frames tshark saw that raised no anomaly.
pub fn conformance_problems(
    pcap: &Path,
    theirs: &Counts,
    ours: &Counts,
    known: Known<'_>,
    malformed: usize,
    anomalies: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut diff = Counts::new();
    for (k, n) in theirs {
        *diff.entry(k.clone()).or_default() -= n;
    }
    for (k, n) in ours {
        *diff.entry(k.clone()).or_default() += n;
    }
    diff.retain(|_, n| *n != 0);
    let name = pcap.file_name().unwrap_or_default().to_string_lossy();
    let expected: Counts = known
        .iter()
        .filter(|(f, _)| *f == name)
        .flat_map(|(_, d)| d.iter().map(|(k, n)| ((*k).to_owned(), *n)))
        .collect();
    if diff != expected {
        problems.push(format!("{}: ours - tshark {diff:#?}", pcap.display()));
    }
    if malformed > 0 && anomalies == 0 {
        problems.push(format!(
            "{}: tshark calls {malformed} frames malformed, the sensor saw nothing wrong",
            pcap.display()
        ));
    }
    problems
}

/// A number as tshark prints a field: decimal, or hex after `0x`.
pub fn tshark_number(v: &str) -> u64 {
    let v = v.trim();
    v.strip_prefix("0x")
        .map_or_else(|| v.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("tshark value {v:?} is not a number"))
}

/// tshark's values of `fields` for every frame that `filter` selects: one row per frame, one
/// `Vec` per field holding each of its occurrences in that frame (a frame may carry several PDUs).
/// `extra` is passed before the fields, e.g. `["-d", "tcp.port==5020,mbtcp"]`.
pub fn tshark_fields(
    pcap: &Path,
    filter: &str,
    fields: &[&str],
    extra: &[&str],
) -> Vec<Vec<Vec<String>>> {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["-Y", filter, "-T", "fields", "-E", "separator=\t"]);
    args.extend(["-E", "occurrence=a", "-E", "aggregator=\u{1f}"]);
    for f in fields {
        args.extend(["-e", f]);
    }
    tshark(pcap, &args)
        .lines()
        .map(|line| {
            line.split('\t')
                .map(|v| {
                    if v.is_empty() {
                        Vec::new()
                    } else {
                        v.split('\u{1f}').map(str::to_owned).collect()
                    }
                })
                .collect()
        })
        .collect()
}

/// The corpus captures whose manifest row (column `ics_protocols_detected_tshark4.0`, tshark's
/// frame counts per dissector) contains any of `keys`, e.g. `["dnp3="]`, in manifest order.
pub fn manifest_captures(keys: &[&str]) -> Vec<PathBuf> {
    let dir = shared_pcaps();
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the public corpus must sit beside the project)",
            dir.display()
        )
    });
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().expect("manifest header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("manifest has no column {name}"))
    };
    let (path_col, proto_col) = (col("path"), col("ics_protocols_detected_tshark4.0"));
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| {
            let p = f.get(proto_col).copied().unwrap_or("");
            keys.iter().any(|k| p.contains(k))
        })
        .map(|f| dir.join(f[path_col]))
        .collect()
}

/// The project's own captures (`pcaps/`) whose name starts with `prefix`, sorted.
pub fn own_captures(prefix: &str) -> Vec<PathBuf> {
    let dir = root().join("pcaps");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "pcap")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect();
    out.sort();
    out
}

/// `f` over `items` on two threads (one per core: each call runs the sensor or tshark, which
/// are single-threaded), results in the order of `items`.
pub fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Assert that the differences `found` between the sensor and an oracle are exactly those
/// `listed` (each listed with the reason the oracle is wrong): none new, none gone. `what`
/// names the tuples in the message, e.g. "(capture, key, ours, tshark)".
pub fn assert_only_listed<T: PartialEq + std::fmt::Debug>(what: &str, found: &[T], listed: &[T]) {
    let unexpected: Vec<_> = found.iter().filter(|d| !listed.contains(d)).collect();
    let gone: Vec<_> = listed.iter().filter(|d| !found.contains(d)).collect();
    let show = |v: &[&T]| {
        v.iter()
            .take(60)
            .map(|d| format!("  {d:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "{} unlisted differences {what}:\n{}\nlisted but no longer seen:\n{}",
        unexpected.len(),
        show(&unexpected),
        show(&gone),
    );
}

/// Rules of `protocol`, one a `(options, tshark filter)` pair (sids 100, 101 …), replayed over
/// each of `captures` with `config`: each must fire on exactly the frames tshark's filter
/// selects. `extra` is appended to the rules file (rules meant to be refused); `check` sees
/// each replay. Returns how many alerts were compared.
pub fn rules_against_tshark(
    captures: &[PathBuf],
    config: &Path,
    protocol: &str,
    rules: &[(&str, &str)],
    extra: &str,
    check: impl Fn(&Replay),
) -> usize {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join(format!("{protocol}.rules"));
    let mut text: String = rules
        .iter()
        .enumerate()
        .map(|(i, (opts, _))| {
            let sid = 100 + i;
            format!(
                "alert {protocol} any any -> any any (msg:\"{protocol} {i}\"; {opts} sid:{sid};)\n"
            )
        })
        .collect();
    text.push_str(extra);
    std::fs::write(&file, text).expect("rules file written");
    let mut compared = 0;
    for capture in captures {
        let r = replay_with(&[capture], config, &["--rules".as_ref(), file.as_os_str()]);
        assert_eq!(r.status, 0, "{}: {}", capture.display(), r.stderr);
        check(&r);
        for (i, (_, filter)) in rules.iter().enumerate() {
            let theirs = tshark_fields(capture, filter, &["frame.number"], &[]).len();
            let ours = r
                .events
                .iter()
                .filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == 100 + i)
                .count();
            assert_eq!(ours, theirs, "{}: rule {i} ({filter})", capture.display());
            compared += ours;
        }
    }
    compared
}
