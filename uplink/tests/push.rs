//! The uplink crate on its own, as a collector forwarding upward uses it: every line pushed is
//! sent (no filter), `flush` sends the open segment at once, the caller's id and table name
//! are what requests and errors carry. (The sensor's tests, `sensor/tests/uplink.rs`, run
//! outages, crashes, splits, rejections and full disks through the same code.)

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use uplink::{Uplink, UplinkConfig};

/// What the stand-in collector saw of one request.
struct Seen {
    sender: String,
    lines: Vec<String>,
    at: Instant,
}

/// A collector on 127.0.0.1 that acknowledges every request and reports it on a channel.
fn collector() -> (String, mpsc::Receiver<Seen>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}",
        server.server_addr().to_ip().unwrap().port()
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let sender = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("X-Icsight-Sensor"))
                .map(|h| h.value.to_string())
                .unwrap_or_default();
            assert_eq!(req.url(), "/v1/ingest");
            let mut raw = Vec::new();
            req.as_reader().read_to_end(&mut raw).unwrap();
            let text = String::from_utf8(zstd::stream::decode_all(&raw[..]).unwrap()).unwrap();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let answer = format!(
                r#"{{"accepted":{n},"stored":{n},"duplicates":0}}"#,
                n = lines.len()
            );
            let _ = req.respond(tiny_http::Response::from_string(answer));
            if tx
                .send(Seen {
                    sender,
                    lines,
                    at: Instant::now(),
                })
                .is_err()
            {
                return;
            }
        }
    });
    (url, rx)
}

/// Segments that close only when flushed (or full, or at finish).
fn config(url: &str, spool: &Path) -> UplinkConfig {
    UplinkConfig {
        url: url.into(),
        spool_dir: spool.to_owned(),
        segment_seconds: 3600.0,
        retry_min_ms: 10,
        retry_max_s: 1,
        timeout_s: 5,
        ..Default::default()
    }
}

fn record(n: usize, kind: &str) -> Vec<u8> {
    format!("{{\"record\":\"{kind}\",\"event_id\":\"c1-{n}\"}}\n").into_bytes()
}

#[test]
fn flush_sends_the_open_segment_at_once() {
    let (url, rx) = collector();
    let dir = tempfile::tempdir().unwrap();
    let mut u = Uplink::start(&config(&url, dir.path()), "upstream", "prov-330000").unwrap();
    // Any line goes: the uplink does not look at what it carries.
    u.push(&record(1, "rollup"));
    u.push(&record(2, "whatever"));
    // Not flushed, the segment stays open for its hour.
    assert!(rx.recv_timeout(Duration::from_millis(400)).is_err());
    assert_eq!(u.stats().spool_segments, 1);
    u.push(&record(3, "incident"));
    let flushed = Instant::now();
    u.flush();
    let seen = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("sent on flush");
    let took = seen.at.duration_since(flushed);
    assert!(
        took < Duration::from_millis(500),
        "flush to request: {took:?}"
    );
    assert_eq!(seen.sender, "prov-330000");
    assert_eq!(seen.lines.len(), 3);
    assert!(seen.lines[2].contains("c1-3"));
    // Flushing with nothing open sends nothing.
    u.flush();
    u.push(&record(4, "rollup"));
    let s = u.finish(Duration::from_secs(5));
    let last = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("sent at finish");
    assert_eq!(last.lines.len(), 1);
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    assert_eq!(
        (s.spooled_events, s.sent_events, s.spool_segments),
        (4, 4, 0)
    );
}

#[test]
fn errors_name_the_callers_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = config("http://127.0.0.1:9", &d.join("spool"));
    let e = Uplink::start(
        &UplinkConfig {
            token_file: d.join("missing"),
            ..base.clone()
        },
        "upstream",
        "prov-330000",
    )
    .unwrap_err();
    assert_eq!(
        (e.key(), e.full_key().as_str()),
        ("token_file", "upstream.token_file")
    );
    assert!(e.to_string().starts_with("upstream.token_file: "), "{e}");
    // `start` checks the values as `validate` does.
    let e = Uplink::start(
        &UplinkConfig {
            retry_min_ms: 5000,
            ..base.clone()
        },
        "upstream",
        "prov-330000",
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "upstream.retry_min_ms: 5000 ms is more than upstream.retry_max_s = 1 s"
    );
    let e = Uplink::start(&UplinkConfig::default(), "uplink", "s1").unwrap_err();
    assert_eq!(e.full_key(), "uplink.url");
}

/// Capture workers share one spool: pushers on four threads, 500 lines each, and every line
/// reaches the collector once, each worker's in the order it pushed them.
#[test]
fn pushers_on_many_threads_share_one_spool() {
    let (url, rx) = collector();
    let dir = tempfile::tempdir().unwrap();
    let cfg = UplinkConfig {
        segment_max_events: 64,
        ..config(&url, dir.path())
    };
    let u = Uplink::start(&cfg, "uplink", "s1").unwrap();
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let mut p = u.pusher();
            std::thread::spawn(move || {
                for n in 0..500 {
                    p.push(format!("{{\"event_id\":\"w{w}-{n}\"}}\n").as_bytes());
                    if n % 100 == 0 {
                        p.tick();
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(u.pusher().stats().spooled_events, 2000);
    let s = u.finish(Duration::from_secs(20));
    assert_eq!((s.sent_events, s.spool_segments), (2000, 0), "{s:?}");
    let mut ids = Vec::new();
    while let Ok(seen) = rx.recv_timeout(Duration::from_millis(200)) {
        ids.extend(seen.lines);
    }
    assert_eq!(ids.len(), 2000, "every line once");
    for w in 0..4 {
        let order: Vec<usize> = ids
            .iter()
            .filter_map(|l| l.strip_prefix(&format!("{{\"event_id\":\"w{w}-")))
            .map(|rest| rest.trim_end_matches("\"}").parse().unwrap())
            .collect();
        assert_eq!(order, (0..500).collect::<Vec<_>>(), "worker {w} in order");
    }
}

/// A collector on 127.0.0.1 that answers `503` until `up` is set, then acknowledges every
/// request and reports it on a channel; failed requests are only counted.
fn collector_down_until(
    up: Arc<AtomicBool>,
    failed: Arc<AtomicUsize>,
) -> (String, mpsc::Receiver<Seen>) {
    let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
    let url = format!(
        "http://127.0.0.1:{}",
        server.server_addr().to_ip().unwrap().port()
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for mut req in server.incoming_requests() {
            let mut raw = Vec::new();
            req.as_reader().read_to_end(&mut raw).unwrap();
            if !up.load(Ordering::SeqCst) {
                failed.fetch_add(1, Ordering::SeqCst);
                let _ = req.respond(tiny_http::Response::from_string("down").with_status_code(503));
                continue;
            }
            let text = String::from_utf8(zstd::stream::decode_all(&raw[..]).unwrap()).unwrap();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let answer = format!(
                r#"{{"accepted":{n},"stored":{n},"duplicates":0}}"#,
                n = lines.len()
            );
            let _ = req.respond(tiny_http::Response::from_string(answer));
            let seen = Seen {
                sender: String::new(),
                lines,
                at: Instant::now(),
            };
            if tx.send(seen).is_err() {
                return;
            }
        }
    });
    (url, rx)
}

/// An outage leaves a backlog of small segments (each closed on its own, as by age while the
/// collector is away). Once the collector answers again the backlog goes back to back, as many
/// segments a request as fit in one segment's limits: in order, every line once, and in as
/// few requests as the limits allow rather than one round trip per segment.
#[test]
fn after_an_outage_the_backlog_drains_in_full_requests() {
    let up = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let (url, rx) = collector_down_until(Arc::clone(&up), Arc::clone(&failed));
    let dir = tempfile::tempdir().unwrap();
    let cfg = UplinkConfig {
        segment_max_events: 100,
        ..config(&url, dir.path())
    };
    let mut u = Uplink::start(&cfg, "uplink", "s1").unwrap();
    for n in 0..250 {
        u.push(&record(n, "alert"));
        u.flush();
    }
    // Down until the sender has failed a few times, its backoff grown.
    let deadline = Instant::now() + Duration::from_secs(120);
    while failed.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "the sender never tried");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(u.stats().spool_segments, 250);
    up.store(true, Ordering::SeqCst);
    let s = u.finish(Duration::from_secs(120));
    assert_eq!((s.sent_events, s.spool_segments), (250, 0), "{s:?}");
    let requests: Vec<Seen> = rx.try_iter().collect();
    let ids: Vec<String> = requests.iter().flat_map(|r| r.lines.clone()).collect();
    assert_eq!(
        ids,
        (0..250)
            .map(|n| String::from_utf8(record(n, "alert"))
                .unwrap()
                .trim_end()
                .to_owned())
            .collect::<Vec<_>>(),
        "every line once, in order"
    );
    let sizes: Vec<usize> = requests.iter().map(|r| r.lines.len()).collect();
    assert_eq!(
        sizes,
        [100, 100, 50],
        "250 one-line segments, 100 a request"
    );
}
