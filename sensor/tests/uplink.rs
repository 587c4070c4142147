//! The uplink against a stand-in collector (plain HTTP, or TLS with client certificates) that
//! can be told how to answer: events arrive in order and exactly once through outages, crashes,
//! `413` splits, `400` rejections, `401`, a full spool and a full disk; the sensor binary sends
//! what it writes, each EVE line with its own `event_id`.

mod common;

use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::veth::Veth;
use icsight_eve::{EventType, SensorIdentity};
use sensor::config::{Compression, UplinkConfig, UplinkSection};
use sensor::uplink::{Uplink, UplinkStats};

/// One request as the stand-in collector saw it.
#[derive(Clone, Debug)]
struct Request {
    headers: HashMap<String, String>,
    /// The decompressed body, line by line (without `\n`).
    lines: Vec<String>,
    /// The decompressed body ends in `\n`.
    whole_lines: bool,
}

type Rule = Box<dyn FnMut(&Request) -> u16 + Send>;

#[derive(Default)]
struct Seen {
    requests: Vec<(Request, u16)>,
    /// Lines stored, in order of storing, each event_id once.
    stored: Vec<String>,
    ids: HashSet<String>,
}

/// A collector on 127.0.0.1 that answers each request by a rule (200 unless told otherwise)
/// and stores the lines of what it acknowledges, de-duplicated by `event_id`.
struct Collector {
    url: String,
    seen: Arc<Mutex<Seen>>,
    rule: Arc<Mutex<Rule>>,
    /// Answers queued ahead of the rule, one per request.
    script: Arc<Mutex<VecDeque<u16>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn event_id(line: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    v["event_id"].as_str().expect("an event_id").to_owned()
}

/// The event id of a line, or the line itself when it is no JSON object with one (a damaged
/// line is stored as it is, for the test to find).
fn id_or_line(line: &str) -> String {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["event_id"].as_str().map(str::to_owned))
        .unwrap_or_else(|| line.to_owned())
}

impl Collector {
    fn start() -> Collector {
        Collector::on(tiny_http::Server::http("127.0.0.1:0").unwrap())
    }

    fn on(server: tiny_http::Server) -> Collector {
        let port = server.server_addr().to_ip().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let rule: Arc<Mutex<Rule>> = Arc::new(Mutex::new(Box::new(|_: &Request| 200)));
        let script = Arc::new(Mutex::new(VecDeque::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, rule, script, stop) = (
                Arc::clone(&seen),
                Arc::clone(&rule),
                Arc::clone(&script),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
                        continue;
                    };
                    let (headers, body) = common::read_request(&mut req);
                    let text = String::from_utf8(body).unwrap();
                    let request = Request {
                        headers,
                        lines: text.lines().map(str::to_owned).collect(),
                        whole_lines: text.ends_with('\n'),
                    };
                    let status = match script.lock().unwrap().pop_front() {
                        Some(s) => s,
                        None => (rule.lock().unwrap())(&request),
                    };
                    let mut s = seen.lock().unwrap();
                    let answer = if status == 200 {
                        let mut stored = 0;
                        for l in &request.lines {
                            if s.ids.insert(id_or_line(l)) {
                                s.stored.push(l.clone());
                                stored += 1;
                            }
                        }
                        let n = request.lines.len();
                        format!(
                            r#"{{"accepted":{n},"stored":{stored},"duplicates":{}}}"#,
                            n - stored
                        )
                    } else if status == 401 || status == 403 {
                        // As the collector: a credential refusal names no line.
                        format!(r#"{{"error":"answer {status} as told"}}"#)
                    } else {
                        format!(r#"{{"error":"answer {status} as told","line":1}}"#)
                    };
                    s.requests.push((request, status));
                    drop(s);
                    let _ = req
                        .respond(tiny_http::Response::from_string(answer).with_status_code(status));
                }
            })
        };
        Collector {
            url: format!("http://127.0.0.1:{port}"),
            seen,
            rule,
            script,
            stop,
            thread: Some(thread),
        }
    }

    /// Answer every later request by `rule`.
    fn answer(&self, rule: impl FnMut(&Request) -> u16 + Send + 'static) {
        *self.rule.lock().unwrap() = Box::new(rule);
    }

    /// Answer the next requests with these statuses, in order, before the rule.
    fn script(&self, statuses: &[u16]) {
        self.script.lock().unwrap().extend(statuses);
    }

    fn stored(&self) -> Vec<String> {
        self.seen.lock().unwrap().stored.clone()
    }

    fn requests(&self) -> Vec<(Request, u16)> {
        self.seen.lock().unwrap().requests.clone()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn identity() -> SensorIdentity {
    SensorIdentity {
        id: "test-sensor-01".into(),
        enterprise_id: None,
        province: None,
        industry: None,
        grade: None,
    }
}

/// Small segments, short waits: what a test can run through in a second or two; the event
/// types sent by default.
fn config(url: &str, spool: &Path) -> UplinkSection {
    UplinkSection {
        link: UplinkConfig {
            url: url.into(),
            spool_dir: spool.to_owned(),
            segment_max_events: 10,
            segment_seconds: 0.05,
            retry_min_ms: 10,
            retry_max_s: 1,
            timeout_s: 5,
            drain_seconds: 20.0,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// An alert line with event id `t-{n}`, padded to about `pad` bytes.
fn line(n: usize, pad: usize) -> Vec<u8> {
    let mut l = format!(r#"{{"event_type":"alert","event_id":"t-{n}","n":{n},"pad":""#);
    l.extend(std::iter::repeat_n('x', pad.saturating_sub(l.len() + 3)));
    l.push_str("\"}\n");
    l.into_bytes()
}

fn lines(range: std::ops::Range<usize>) -> Vec<String> {
    range
        .map(|n| String::from_utf8(line(n, 0)).unwrap().trim_end().to_owned())
        .collect()
}

fn push_range(u: &mut Uplink, range: std::ops::Range<usize>) {
    for n in range {
        u.push(EventType::Alert, &line(n, 0));
    }
}

/// Segment files (`.open` and `.ndjson`) in `dir`, sorted.
fn segments(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".open") || n.ends_with(".ndjson"))
        .collect();
    v.sort();
    v
}

/// Wait until `f` holds, for at most `secs`.
fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

fn finish(u: Uplink) -> UplinkStats {
    u.finish(Duration::from_secs(20))
}

#[test]
fn events_arrive_in_order_exactly_once() {
    let c = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "  s3cret-token\n").unwrap();
    let mut cfg = config(&c.url, &dir.path().join("spool"));
    cfg.link.token_file = token;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    for n in 0..95 {
        u.push(EventType::Alert, &line(n, 0));
        // Not among the types sent by default.
        u.push(
            EventType::Modbus,
            b"{\"event_type\":\"modbus\",\"event_id\":\"m\"}\n",
        );
    }
    let s = finish(u);
    assert_eq!(c.stored(), lines(0..95));
    assert_eq!(
        (
            s.spooled_events,
            s.sent_events,
            s.duplicates,
            s.spool_segments
        ),
        (95, 95, 0, 0)
    );
    assert_eq!(
        (s.spool_bytes, s.rejected_events, s.dropped_spool_full),
        (0, 0, 0)
    );
    assert!(s.connected && s.last_error.is_none(), "{s:?}");
    assert!(segments(&cfg.link.spool_dir).is_empty());
    let reqs = c.requests();
    assert!(reqs.len() >= 10, "segments of at most 10 events");
    for (r, status) in &reqs {
        assert_eq!(*status, 200);
        assert!(r.lines.len() <= 10 && r.whole_lines);
        let h = &r.headers;
        assert_eq!(h["content-type"], "application/x-ndjson");
        assert_eq!(h["content-encoding"], "zstd");
        assert_eq!(h["authorization"], "Bearer s3cret-token");
        assert_eq!(h["x-icsight-sensor"], "test-sensor-01");
    }
}

#[test]
fn gzip_bodies_and_no_token() {
    let c = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&c.url, &dir.path().join("spool"));
    cfg.link.compression = Compression::Gzip;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..25);
    let s = finish(u);
    assert_eq!(c.stored(), lines(0..25));
    assert_eq!(s.sent_events, 25);
    for (r, _) in c.requests() {
        assert_eq!(r.headers["content-encoding"], "gzip");
        assert!(!r.headers.contains_key("authorization"));
    }
}

#[test]
fn outage_then_recovery_loses_nothing() {
    let c = Collector::start();
    c.script(&[503; 6]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&c.url, &dir.path().join("spool"));
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..30);
    let s = finish(u);
    assert_eq!(c.stored(), lines(0..30));
    assert_eq!(s.sent_events, 30);
    let reqs = c.requests();
    assert_eq!(reqs.iter().filter(|(_, st)| *st == 503).count(), 6);
    // Retries resend the same segment: the first 7 requests carry the same first 10 events.
    for (r, _) in &reqs[..7] {
        assert_eq!(r.lines, lines(0..10));
    }
    assert!(s.last_error.unwrap().contains("503"));
}

#[test]
fn collector_down_then_up() {
    // A port nobody listens on, for a while.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &format!("http://127.0.0.1:{port}"),
        &dir.path().join("spool"),
    );
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..40);
    assert!(wait_for(5, || u.stats().last_error.is_some()));
    let s = u.stats();
    assert!(!s.connected && s.sent_events == 0, "{s:?}");
    assert!(s.oldest_unsent_age_seconds > 0.0 && s.spool_bytes > 0);
    let c = Collector::on(tiny_http::Server::http(("127.0.0.1", port)).unwrap());
    push_range(&mut u, 40..50);
    let s = finish(u);
    assert_eq!(c.stored(), lines(0..50));
    assert_eq!((s.sent_events, s.spool_segments), (50, 0));
    assert!(s.connected && s.send_lag_seconds > 0.0);
}

#[test]
fn lost_acknowledgement_is_a_duplicate_not_a_double() {
    let c = Collector::start();
    // The first request is stored, but its answer is "lost" (503): the segment is sent again.
    let mut first = true;
    let seen = Arc::clone(&c.seen);
    c.answer(move |r| {
        if first {
            first = false;
            let mut s = seen.lock().unwrap();
            for l in &r.lines {
                s.ids.insert(event_id(l));
                s.stored.push(l.clone());
            }
            503
        } else {
            200
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&c.url, &dir.path().join("spool"));
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..10);
    let s = finish(u);
    assert_eq!(c.stored(), lines(0..10));
    assert_eq!((s.sent_events, s.duplicates), (10, 10));
}

#[test]
fn restart_after_drop_sends_what_was_left() {
    let c = Collector::start();
    c.answer(|_| 503);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&c.url, &dir.path().join("spool"));
    cfg.link.segment_seconds = 3600.0;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..25);
    // No finish: as if the process died.
    drop(u);
    assert_eq!(
        segments(&cfg.link.spool_dir),
        [
            "000000000001.ndjson",
            "000000000002.ndjson",
            "000000000003.open"
        ]
    );
    // The crash came in the middle of a write.
    let open = cfg.link.spool_dir.join("000000000003.open");
    let mut partial = std::fs::read(&open).unwrap();
    partial.extend_from_slice(b"{\"event_type\":\"alert\",\"event_id\":\"t-2");
    std::fs::write(&open, partial).unwrap();
    c.answer(|_| 200);
    cfg.link.segment_seconds = 0.05;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 25..30);
    let s = finish(u);
    assert_eq!(c.stored(), lines(0..30));
    assert_eq!((s.sent_events, s.spooled_events), (30, 5));
    assert!(c.requests().iter().all(|(r, _)| r.whole_lines));
    assert!(segments(&cfg.link.spool_dir).is_empty());
}

#[test]
fn too_large_splits_in_halves() {
    let c = Collector::start();
    c.answer(|r| if r.lines.len() > 3 { 413 } else { 200 });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&c.url, &dir.path().join("spool"));
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..20);
    let s = finish(u);
    assert_eq!(c.stored(), lines(0..20));
    assert_eq!((s.sent_events, s.rejected_events, s.duplicates), (20, 0, 0));
    let reqs = c.requests();
    // 10 → 413, 5 → 413, 2 + 3 stored, 5 → 413, 2 + 3 stored; twice.
    assert_eq!(reqs.iter().filter(|(_, st)| *st == 413).count(), 6);
    let sizes: Vec<usize> = reqs
        .iter()
        .filter(|(_, st)| *st == 200)
        .map(|(r, _)| r.lines.len())
        .collect();
    assert_eq!(sizes, [2, 3, 2, 3, 2, 3, 2, 3]);
}

#[test]
fn one_event_too_large_is_rejected_with_its_segment() {
    let c = Collector::start();
    c.answer(|r| {
        if r.lines.iter().any(|l| l.len() > 1000) {
            413
        } else {
            200
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&c.url, &dir.path().join("spool"));
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    for n in 0..10 {
        u.push(EventType::Alert, &line(n, if n == 7 { 2000 } else { 0 }));
    }
    push_range(&mut u, 10..20);
    let s = finish(u);
    // Every other event was stored, in order; the one refused is kept alone in rejected/.
    let mut want = lines(0..7);
    want.extend(lines(8..20));
    assert_eq!(c.stored(), want);
    assert_eq!((s.sent_events, s.rejected_events), (19, 1));
    let kept = std::fs::read(cfg.link.spool_dir.join("rejected/000000000001.ndjson")).unwrap();
    assert_eq!(kept, line(7, 2000));
    assert!(segments(&cfg.link.spool_dir).is_empty());
}

#[test]
fn bad_request_rejects_the_segment_and_goes_on() {
    let c = Collector::start();
    c.answer(|r| {
        if r.lines.iter().any(|l| l.contains("\"t-13\"")) {
            400
        } else {
            200
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&c.url, &dir.path().join("spool"));
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..30);
    let s = finish(u);
    let mut want = lines(0..10);
    want.extend(lines(20..30));
    assert_eq!(c.stored(), want);
    assert_eq!((s.sent_events, s.rejected_events), (20, 10));
    let kept =
        std::fs::read_to_string(cfg.link.spool_dir.join("rejected/000000000002.ndjson")).unwrap();
    assert_eq!(kept.lines().collect::<Vec<_>>(), lines(10..20));
    assert!(segments(&cfg.link.spool_dir).is_empty());
    let e = s.last_error.unwrap();
    assert!(e.contains("400") && e.contains("answer 400 as told"), "{e}");
    // A refused segment is not sent again.
    assert_eq!(c.requests().iter().filter(|(_, st)| *st == 400).count(), 1);
}

#[test]
fn credentials_refused_keeps_the_data() {
    let c = Collector::start();
    c.script(&[401, 403]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&c.url, &dir.path().join("spool"));
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..10);
    assert!(wait_for(5, || u
        .stats()
        .last_error
        .is_some_and(|e| e.contains("401"))));
    let started = Instant::now();
    let s = finish(u);
    // Retried at the longest backoff (1 s here, ±20%), twice.
    assert!(started.elapsed() >= Duration::from_millis(1200));
    assert_eq!(c.stored(), lines(0..10));
    assert_eq!((s.sent_events, s.rejected_events), (10, 0));
}

#[test]
fn full_spool_drops_the_oldest() {
    let c = Collector::start();
    c.answer(|_| 503);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&c.url, &dir.path().join("spool"));
    cfg.link.spool_max_mb = 1;
    cfg.link.segment_max_kb = 64;
    cfg.link.segment_max_events = 1000;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    // About 2.5 MiB of events.
    let total = 5000;
    for n in 0..total {
        u.push(EventType::Alert, &line(n, 500));
    }
    let s = u.stats();
    assert!(s.dropped_spool_full > 0, "{s:?}");
    assert!(s.spool_bytes <= 1 << 20, "{s:?}");
    assert_eq!(s.spooled_events, total as u64);
    c.answer(|_| 200);
    let s = finish(u);
    let stored = c.stored();
    assert_eq!(stored.len() as u64 + s.dropped_spool_full, total as u64);
    assert_eq!(s.sent_events, stored.len() as u64);
    // What was dropped is older than what was kept, except the one segment being sent when
    // the spool filled (at most 64 KiB: about 130 events) — which one that is depends on how
    // far the sender got, so the kept events are a suffix and at most one older run of one
    // segment.
    let ns: Vec<usize> = stored
        .iter()
        .map(|l| event_id(l)[2..].parse().unwrap())
        .collect();
    assert!(ns.windows(2).all(|w| w[0] < w[1]), "in order");
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &n in &ns {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    assert!(
        runs.len() <= 2,
        "a suffix and at most one segment in flight: {runs:?}"
    );
    let (first, last) = *runs.last().expect("something kept");
    assert_eq!(last, total - 1, "the newest kept: {runs:?}");
    assert!(first > 1000, "{runs:?}");
    if let [(a, b), _] = runs[..] {
        assert!(b - a < 140, "one segment in flight, not more: {runs:?}");
    }
}

/// A small tmpfs mounted for the test, unmounted at the end.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Tmpfs(dir.to_owned()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_counts_and_recovers() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("full_disk_counts_and_recovers: skipped, mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    std::fs::create_dir(&spool).unwrap();
    let _fs = Tmpfs::mount(&spool, "60k").expect("mount -t tmpfs (as root)");
    let c = Collector::start();
    c.answer(|_| 503);
    let mut cfg = config(&c.url, &spool);
    // 15 pages: three full segments and the fourth cut off in the middle of a line.
    cfg.link.segment_max_kb = 16;
    cfg.link.segment_max_events = 1000;
    // The segment being written when the disk fills stays open while the disk frees up.
    cfg.link.segment_seconds = 3600.0;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    let pushed = 200;
    for n in 0..pushed {
        u.push(EventType::Alert, &line(n, 1100));
    }
    let s = u.stats();
    assert!(s.dropped_write_error > 0, "{s:?}");
    assert_eq!(s.spooled_events + s.dropped_write_error, pushed as u64);
    // The collector comes back, the closed segments drain, the disk has room again; the next
    // events go on in the open segment, after the last whole line.
    c.answer(|_| 200);
    assert!(wait_for(20, || {
        let s = u.stats();
        s.spool_segments == 1 && s.sent_events > 0
    }));
    for n in pushed..pushed + 10 {
        u.push(EventType::Alert, &line(n, 1100));
    }
    let s2 = finish(u);
    assert_eq!(s2.dropped_write_error, s.dropped_write_error);
    let stored = c.stored();
    assert_eq!(stored.len() as u64, s.spooled_events + 10);
    assert!(stored
        .iter()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    let tail: Vec<String> = stored[stored.len() - 10..].to_vec();
    let want: Vec<String> = (pushed..pushed + 10)
        .map(|n| {
            String::from_utf8(line(n, 1100))
                .unwrap()
                .trim_end()
                .to_owned()
        })
        .collect();
    assert_eq!(tail, want);
}

#[test]
fn start_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = config("http://127.0.0.1:9", &d.join("spool")).link;
    let err = |link: UplinkConfig| {
        let cfg = UplinkSection {
            link,
            ..Default::default()
        };
        Uplink::start(&cfg, &identity()).unwrap_err()
    };
    let e = err(UplinkConfig {
        token_file: d.join("missing-token"),
        ..base.clone()
    });
    assert_eq!(e.key(), "token_file");
    assert!(e.to_string().starts_with("uplink.token_file: "), "{e}");
    std::fs::write(d.join("empty"), "\n").unwrap();
    let e = err(UplinkConfig {
        token_file: d.join("empty"),
        ..base.clone()
    });
    assert!(e.to_string().contains("is empty"), "{e}");
    std::fs::write(d.join("junk.pem"), "not a certificate").unwrap();
    let https = UplinkConfig {
        url: "https://127.0.0.1:9".into(),
        ..base.clone()
    };
    let e = err(UplinkConfig {
        ca: d.join("junk.pem"),
        ..https.clone()
    });
    assert!(e.to_string().starts_with("uplink.ca: "), "{e}");
    assert!(e.to_string().contains("no PEM certificate"), "{e}");
    let e = err(UplinkConfig {
        ca: d.join("nope.pem"),
        ..https.clone()
    });
    assert!(e.to_string().contains("cannot read"), "{e}");
    std::fs::write(d.join("file"), "").unwrap();
    let e = err(UplinkConfig {
        spool_dir: d.join("file"),
        ..base.clone()
    });
    assert_eq!(e.key(), "spool_dir");
    // The event types are the sensor's to check.
    let e = Uplink::start(
        &UplinkSection {
            link: base.clone(),
            events: vec!["alert".into(), "krb5".into()],
        },
        &identity(),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("uplink.events: \"krb5\""), "{e}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate it signed, as PEM files.
fn pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["test-sensor-01".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();
    let ca_pem = dir.join("ca.pem");
    std::fs::write(&ca_pem, ca.pem()).unwrap();
    let (cert, key) = (dir.join("sensor.pem"), dir.join("sensor.key"));
    std::fs::write(&cert, client.pem()).unwrap();
    std::fs::write(&key, client_key.serialize_pem()).unwrap();
    (ca_pem, cert, key, server.pem(), server_key.serialize_pem())
}

/// A TLS collector that demands a client certificate from `ca`, answers 200 to each request and
/// returns the bodies' line counts.
fn tls_collector(ca: &Path, cert_pem: String, key_pem: String) -> (u16, JoinHandle<Vec<usize>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .unwrap();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        use std::io::{BufRead, BufReader, Write};
        let mut counts = Vec::new();
        listener.set_nonblocking(false).unwrap();
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let conn = rustls::ServerConnection::new(config).unwrap();
        let mut tls = BufReader::new(rustls::StreamOwned::new(conn, tcp));
        // Keep-alive: several requests on one connection, until the client closes it.
        loop {
            let mut len = None;
            let mut head = String::new();
            loop {
                head.clear();
                if tls.read_line(&mut head).unwrap_or(0) == 0 {
                    return counts;
                }
                let h = head.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = Some(v.trim().parse::<usize>().unwrap());
                }
            }
            assert!(tls.get_ref().conn.peer_certificates().is_some());
            let mut body = vec![0; len.unwrap()];
            tls.read_exact(&mut body).unwrap();
            let text = zstd::stream::decode_all(&body[..]).unwrap();
            let n = text.iter().filter(|&&b| b == b'\n').count();
            counts.push(n);
            let answer = format!(r#"{{"accepted":{n},"stored":{n},"duplicates":0}}"#);
            let s = tls.get_mut();
            write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            s.flush().unwrap();
        }
    });
    (port, thread)
}

#[test]
fn mutual_tls_with_the_configured_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key, server_cert, server_key) = pki(dir.path());
    let (port, server) = tls_collector(&ca, server_cert, server_key);
    let mut cfg = config(
        &format!("https://127.0.0.1:{port}"),
        &dir.path().join("spool"),
    );
    cfg.link.ca = ca;
    cfg.link.cert = cert;
    cfg.link.key = key.clone();
    cfg.link.segment_seconds = 3600.0;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..25);
    let s = finish(u);
    assert_eq!((s.sent_events, s.spool_segments), (25, 0), "{s:?}");
    let counts = server.join().unwrap();
    assert_eq!(counts, [10, 10, 5]);
    // A key that is not a key is named.
    std::fs::write(&key, "junk").unwrap();
    let e = Uplink::start(&cfg, &identity()).unwrap_err();
    assert!(e.to_string().starts_with("uplink.key: "), "{e}");
}

#[test]
fn a_collector_with_an_unknown_ca_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, _, server_cert, server_key) = pki(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (other_ca, cert, key, _, _) = pki(other.path());
    let (port, _server) = tls_collector(&other_ca, server_cert, server_key);
    let mut cfg = config(
        &format!("https://127.0.0.1:{port}"),
        &dir.path().join("spool"),
    );
    cfg.link.ca = other_ca;
    cfg.link.cert = cert;
    cfg.link.key = key;
    let mut u = Uplink::start(&cfg, &identity()).unwrap();
    push_range(&mut u, 0..3);
    let s = u.finish(Duration::from_millis(500));
    assert_eq!(s.sent_events, 0);
    assert!(s.spool_segments > 0, "kept for later: {s:?}");
    assert!(!s.connected);
}

/// `sensor replay` with an uplink: the collector gets exactly the EVE lines of the types sent,
/// byte for byte, and every EVE line has its own `event_id`.
#[test]
fn sensor_replay_sends_its_eve_lines() {
    let c = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("sensor.toml");
    let metrics = d.join("sensor.prom");
    std::fs::write(
        &cfg,
        format!(
            "[sensor]\nid = \"replay-s01\"\n\n[uplink]\nurl = \"{}\"\nspool_dir = \"{}\"\nevents = [\"alert\", \"anomaly\", \"asset\", \"flow\", \"stats\", \"modbus\", \"s7comm\", \"s7commplus\", \"dnp3\"]\nsegment_max_events = 50\nsegment_seconds = 0.1\nretry_min_ms = 10\nretry_max_s = 1\ndrain_seconds = 20\n\n[metrics]\nfile = \"{}\"\n",
            c.url,
            d.join("spool").display(),
            metrics.display()
        ),
    )
    .unwrap();
    let pcaps = common::root().join("pcaps");
    let replay = |eve: &Path| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sensor"))
            .args(["replay", "--no-progress", "--config"])
            .arg(&cfg)
            .arg("--eve")
            .arg(eve)
            .arg(pcaps.join("modbus_normal_polling.pcap"))
            .arg(pcaps.join("s7comm_snap7.pcap"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (std::fs::read_to_string(eve).unwrap(), stderr)
    };
    let (eve, stderr) = replay(&d.join("eve1.json"));
    let eve_lines: Vec<String> = eve.lines().map(str::to_owned).collect();
    assert!(eve_lines.len() > 20);
    // Every line has an id; one run, numbered 1, 2, 3 …
    let ids: Vec<String> = eve_lines.iter().map(|l| event_id(l)).collect();
    let run = &ids[0][..16];
    assert!(run.bytes().all(|b| b.is_ascii_hexdigit()));
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(*id, format!("{run}-{}", i + 1));
    }
    assert_eq!(c.stored(), eve_lines, "the collector has the EVE output");
    let n = eve_lines.len();
    assert!(
        stderr.contains(&format!(
            "uplink: spooled {n}, sent {n}, duplicates 0, dropped (spool full) 0, dropped (write error) 0, rejected 0, left in spool 0 segments"
        )),
        "{stderr}"
    );
    let stats: serde_json::Value = serde_json::from_str(eve_lines.last().unwrap()).unwrap();
    assert_eq!(stats["event_type"], "stats");
    assert_eq!(stats["stats"]["uplink"]["spooled_events"], (n - 1) as u64);
    let prom = std::fs::read_to_string(&metrics).unwrap();
    for want in [
        format!("icsight_uplink_sent_events_total{{sensor=\"replay-s01\"}} {n}"),
        "icsight_uplink_spool_segments{sensor=\"replay-s01\"} 0".to_owned(),
        "icsight_uplink_dropped_events_total{sensor=\"replay-s01\",reason=\"spool_full\"} 0"
            .to_owned(),
        "# TYPE icsight_sensor_packets_total counter".to_owned(),
    ] {
        assert!(prom.lines().any(|l| l == want), "{want} not in\n{prom}");
    }
    // A second run numbers its events under a run of its own: no id is seen twice.
    let (eve2, _) = replay(&d.join("eve2.json"));
    let ids2: HashSet<String> = eve2.lines().map(event_id).collect();
    assert!(ids.iter().all(|id| !ids2.contains(id)));
    assert_eq!(c.stored().len(), n + eve2.lines().count());
}

#[test]
fn sensor_names_the_uplink_key_at_fault() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sensor.toml");
    let run = |text: &str| {
        std::fs::write(&cfg, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sensor"))
            .args(["replay", "--no-progress", "--config"])
            .arg(&cfg)
            .arg(common::root().join("pcaps/modbus_normal_polling.pcap"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = run("[sensor]\nid = \"s1\"\n[uplink]\nurl = \"https://c.example\"\n");
    assert!(e.contains("key `uplink.ca`"), "{e}");
    let e = run(&format!(
        "[sensor]\nid = \"s1\"\n[uplink]\nurl = \"http://127.0.0.1:9\"\ntoken_file = \"{}\"\n",
        dir.path().join("no-token").display()
    ));
    assert!(
        e.contains(&format!("{}: key `uplink.token_file`", cfg.display())),
        "{e}"
    );
}

/// `sensor live` with an uplink and a metrics file: events go out while the capture runs (the
/// loop's tick closes a quiet segment), the metrics file is rewritten as it goes, and SIGINT
/// drains the spool.
#[test]
fn sensor_live_sends_while_capturing() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("sensor_live_sends_while_capturing: skipped, a veth pair needs root");
        return;
    }
    let c = Collector::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("sensor.toml");
    let metrics = d.join("sensor.prom");
    std::fs::write(
        &cfg,
        format!(
            "[sensor]\nid = \"live-s01\"\n\n[eve]\nstats_interval = 0\n\n[uplink]\nurl = \"{}\"\nspool_dir = \"{}\"\nevents = [\"modbus\", \"flow\", \"stats\"]\nsegment_seconds = 0.2\nretry_min_ms = 10\nretry_max_s = 1\n\n[metrics]\nfile = \"{}\"\ninterval = 1\n",
            c.url,
            d.join("spool").display(),
            metrics.display()
        ),
    )
    .unwrap();
    let pcap = d.join("modbus.pcap");
    common::write_pcap(&pcap, 1, &common::modbus_session(50));
    let veth = Veth::new('u');
    let eve = d.join("eve.json");
    let mut sensor = std::process::Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args([
            "live",
            "-i",
            &veth.capture,
            "--bpf",
            "tcp or udp",
            "--config",
        ])
        .arg(&cfg)
        .arg("--eve")
        .arg(&eve)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(sensor.stderr.take().unwrap());
    let mut head = String::new();
    while !head.contains("capturing on") {
        let mut l = String::new();
        if std::io::BufRead::read_line(&mut stderr, &mut l).unwrap() == 0 {
            let _ = sensor.kill();
            panic!("sensor did not start: {head}");
        }
        head.push_str(&l);
    }
    let out = std::process::Command::new("tcpreplay")
        .args(["--topspeed", "-i", &veth.replay])
        .arg(&pcap)
        .output()
        .expect("tcpreplay");
    assert!(out.status.success());
    // 50 transactions, sent while the capture still runs.
    let sent_live = wait_for(20, || {
        c.stored()
            .iter()
            .filter(|l| l.contains("\"event_type\":\"modbus\""))
            .count()
            == 50
    });
    let prom_live = wait_for(10, || {
        std::fs::read_to_string(&metrics)
            .is_ok_and(|p| p.contains("icsight_uplink_sent_events_total{sensor=\"live-s01\"} 50"))
    });
    let _ = std::process::Command::new("kill")
        .args(["-INT", &sensor.id().to_string()])
        .status();
    let status = sensor.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{head}{rest}");
    assert!(
        sent_live,
        "modbus events reached the collector during the capture"
    );
    assert!(
        prom_live,
        "the metrics file was rewritten during the capture"
    );
    let eve_lines: Vec<String> = std::fs::read_to_string(&eve)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    // Modbus, the flow at exit, the stats at exit: all sent, in order.
    assert_eq!(eve_lines.len(), 50 + 1 + 1);
    assert_eq!(c.stored(), eve_lines);
    assert!(
        rest.contains("uplink: spooled 52, sent 52, duplicates 0, dropped (spool full) 0, dropped (write error) 0, rejected 0, left in spool 0 segments"),
        "{rest}"
    );
    let prom = std::fs::read_to_string(&metrics).unwrap();
    for want in [
        "icsight_uplink_sent_events_total{sensor=\"live-s01\"} 52",
        "icsight_sensor_kernel_drops_total{sensor=\"live-s01\"} 0",
        "icsight_sensor_events_total{sensor=\"live-s01\",type=\"modbus\"} 50",
    ] {
        assert!(prom.lines().any(|l| l == want), "{want} not in\n{prom}");
    }
}
