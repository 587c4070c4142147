//! Threat bulletins against a stand-in collector (tiny_http) that serves
//! `GET /v1/bulletins/feed?after=N` as the collector does and takes the uplink's batches: the
//! sensor binary pulls before a replay and while capturing live, writes each bulletin's rules
//! file, loads its rules with the others, confirms by asking again with the new cursor, unloads
//! revoked ones, and refuses malformed answers without writing anything.

mod common;

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::veth::Veth;
use serde_json::{json, Value};

/// The rule a bulletin brings: it fires on each "read discrete inputs" request (10 in
/// `pcaps/modbus_normal_polling.pcap`, 10 in each [`session`]), which the built-in rules leave
/// alone.
const RULE: &str = "alert modbus any any -> any 502 (msg:\"BULLETIN TEST Modbus read discrete inputs\"; flow:established,to_server; modbus: function 2; sid:3000000001; rev:1;)";
const SID: u64 = 3_000_000_001;

#[derive(Default)]
struct State {
    /// What the feed serves, each with its `seq`.
    bulletins: Vec<Value>,
    /// Answer feed requests with this status and body instead.
    raw: Option<(u16, String)>,
    /// The `after` of every feed request, in order.
    asked: Vec<u64>,
    /// The headers of every feed request.
    headers: Vec<HashMap<String, String>>,
    /// Lines of the uplink's batches.
    ingested: Vec<String>,
}

/// A collector on 127.0.0.1: the bulletin feed and the ingest endpoint.
struct Feed {
    url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    fn start() -> Feed {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
                        continue;
                    };
                    let (status, body) = answer(&state, &mut req);
                    let _ = req.respond(
                        tiny_http::Response::from_string(body)
                            .with_status_code(status)
                            .with_header(
                                "Content-Type: application/json"
                                    .parse::<tiny_http::Header>()
                                    .unwrap(),
                            ),
                    );
                }
            })
        };
        Feed {
            url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
            thread: Some(thread),
        }
    }

    fn publish(&self, b: Value) {
        self.state.lock().unwrap().bulletins.push(b);
    }

    /// Answer feed requests with `status` and `body` from now on.
    fn answer_raw(&self, status: u16, body: &str) {
        self.state.lock().unwrap().raw = Some((status, body.to_owned()));
    }

    fn asked(&self) -> Vec<u64> {
        self.state.lock().unwrap().asked.clone()
    }

    fn ingested(&self, what: impl Fn(&Value) -> bool) -> usize {
        let s = self.state.lock().unwrap();
        s.ingested
            .iter()
            .filter(|l| what(&serde_json::from_str(l).unwrap()))
            .count()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How the stand-in answers one request.
fn answer(state: &Mutex<State>, req: &mut tiny_http::Request) -> (u16, String) {
    let url = req.url().to_owned();
    let (headers, body) = common::read_request(req);
    let mut s = state.lock().unwrap();
    if url == "/v1/ingest" {
        let text = String::from_utf8(body).unwrap();
        let n = text.lines().count();
        s.ingested.extend(text.lines().map(str::to_owned));
        return (
            200,
            format!(r#"{{"accepted":{n},"stored":{n},"duplicates":0}}"#),
        );
    }
    let Some(after) = url
        .strip_prefix("/v1/bulletins/feed?after=")
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return (404, format!(r#"{{"error":"no {url} here"}}"#));
    };
    s.asked.push(after);
    s.headers.push(headers);
    if let Some((status, body)) = &s.raw {
        return (*status, body.clone());
    }
    let newer: Vec<&Value> = s
        .bulletins
        .iter()
        .filter(|b| b["seq"].as_u64().unwrap() > after)
        .collect();
    let last = newer
        .iter()
        .map(|b| b["seq"].as_u64().unwrap())
        .max()
        .unwrap_or(after);
    (200, json!({ "bulletins": newer, "last": last }).to_string())
}

/// A bulletin as the collector's feed carries it.
fn bulletin(id: &str, seq: u64, rules: &str, revoked: u8) -> Value {
    json!({
        "bulletin_id": id,
        "seq": seq,
        "issuer": "national",
        "issued": 1_795_000_000u64,
        "title": "Modbus reconnaissance campaign",
        "severity": 1,
        "description": "Discrete inputs read from outside the plant.",
        "scope": "{\"industries\":[\"petrochemical\"]}",
        "indicators": "{\"ips\":[],\"domains\":[],\"hashes\":[],\"sids\":[]}",
        "rules": rules,
        "actions": "[\"block\"]",
        "deadline": 1_796_000_000u64,
        "revoked": revoked,
        "version": 100 + seq,
    })
}

/// A sensor.toml for sensor `id` with an uplink to `feed` (a token, batches of alerts and
/// modbus events) and bulletins in `dir`.
fn config(d: &Path, id: &str, feed: &Feed, extra: &str) -> PathBuf {
    let token = d.join("token");
    std::fs::write(&token, "bulletin-token\n").unwrap();
    let cfg = d.join("sensor.toml");
    std::fs::write(
        &cfg,
        format!(
            "[sensor]\nid = \"{id}\"\n\n[eve]\nstats_interval = 0\n\n[uplink]\nurl = \"{}\"\ntoken_file = \"{}\"\nspool_dir = \"{}\"\nevents = [\"alert\", \"modbus\"]\nsegment_seconds = 0.1\nretry_min_ms = 10\nretry_max_s = 1\ndrain_seconds = 10\n\n[bulletins]\ndir = \"{}\"\n{extra}",
            feed.url,
            token.display(),
            d.join("spool").display(),
            d.join("bulletins").display(),
        ),
    )
    .unwrap();
    cfg
}

fn replay(cfg: &Path, eve: &Path) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args(["replay", "--no-progress", "--config"])
        .arg(cfg)
        .arg("--eve")
        .arg(eve)
        .arg(common::root().join("pcaps/modbus_normal_polling.pcap"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    (out, stderr)
}

fn events(eve: &Path) -> Vec<Value> {
    std::fs::read_to_string(eve)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn alerts(events: &[Value], sid: u64) -> usize {
    events
        .iter()
        .filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == sid)
        .count()
}

/// The files in `dir` (none when it does not exist), sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `sensor replay` pulls before it loads the rules: the bulletin's file is written, its rule
/// alerts (a bad rule beside it is reported, the rest load), and the feed is asked again with
/// the new cursor, which confirms the bulletin to the collector.
#[test]
fn replay_pulls_loads_and_confirms() {
    let feed = Feed::start();
    let rules = format!(
        "{RULE}\nalert tcp any any -> any 502 (msg:\"BULLETIN TEST bad\"; no_such_keyword; sid:3000000002; rev:1;)\n"
    );
    feed.publish(bulletin("national-000001", 1, &rules, 0));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config(d, "bulletin-s01", &feed, "");
    let eve = d.join("eve.json");
    let (_, stderr) = replay(&cfg, &eve);

    let bdir = d.join("bulletins");
    assert_eq!(files(&bdir), ["feed.cursor", "national-000001.rules"]);
    let text = std::fs::read_to_string(bdir.join("national-000001.rules")).unwrap();
    assert!(
        text.starts_with("# icsight bulletin national-000001, version 101 (seq 1 at the collector)\n# title: Modbus reconnaissance campaign\n# issuer: national; severity 1; issued 2026-11-18T"),
        "{text}"
    );
    assert!(text.ends_with(&rules), "{text}");
    assert_eq!(
        std::fs::read_to_string(bdir.join("feed.cursor")).unwrap(),
        "1\n"
    );
    assert_eq!(
        feed.asked(),
        [0, 1],
        "asked again with after=1: the confirmation"
    );
    for h in &feed.state.lock().unwrap().headers {
        assert_eq!(h["x-icsight-sensor"], "bulletin-s01");
        assert_eq!(h["authorization"], "Bearer bulletin-token");
    }
    assert!(
        stderr.contains(&format!(
            "bulletins: 1 new, 0 revoked; holding 1 in {} (cursor 1)",
            bdir.display()
        )),
        "{stderr}"
    );
    // The bad rule is reported with its file and line; the others load.
    assert!(
        stderr.contains(&format!(
            "rule error: {}:6:",
            bdir.join("national-000001.rules").display()
        )) && stderr.contains(", 1 failed ("),
        "{stderr}"
    );

    let ev = events(&eve);
    assert_eq!(alerts(&ev, SID), 10, "one per read-discrete-inputs request");
    assert_eq!(alerts(&ev, 3_000_000_002), 0);
    let stats = &ev.last().unwrap()["stats"];
    assert_eq!(stats["bulletins"]["held"], 1, "{stats}");
    assert_eq!(stats["bulletins"]["cursor"], 1);
    assert_eq!(stats["bulletins"]["pulls_ok"], 1);
    assert_eq!(stats["bulletins"]["pulls_failed"], 0);
    // The built-in ruleset still loads beside the bulletin's rules.
    let builtin = Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args(["rules", "check"])
        .output()
        .unwrap();
    let summary = |s: &str| -> u64 {
        s.lines()
            .find_map(|l| l.strip_prefix("rules: ")?.split(' ').next()?.parse().ok())
            .unwrap()
    };
    assert_eq!(
        summary(&stderr),
        summary(&String::from_utf8_lossy(&builtin.stderr)) + 1
    );
    // Asked again with nothing new: nothing changes.
    let (_, stderr) = replay(&cfg, &d.join("eve2.json"));
    assert!(
        stderr.contains("bulletins: 0 new, 0 revoked; holding 1"),
        "{stderr}"
    );
    assert_eq!(feed.asked(), [0, 1, 1]);
    assert_eq!(alerts(&events(&d.join("eve2.json")), SID), 10);
}

/// A revoked bulletin (the collector numbers the revocation anew) loses its file, and its rule
/// no longer fires.
#[test]
fn a_revoked_bulletin_is_unloaded() {
    let feed = Feed::start();
    feed.publish(bulletin("national-000001", 1, RULE, 0));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config(d, "bulletin-s02", &feed, "");
    let bdir = d.join("bulletins");
    replay(&cfg, &d.join("eve1.json"));
    assert_eq!(alerts(&events(&d.join("eve1.json")), SID), 10);
    assert!(bdir.join("national-000001.rules").exists());

    feed.state.lock().unwrap().bulletins = vec![bulletin("national-000001", 2, "", 1)];
    let (_, stderr) = replay(&cfg, &d.join("eve2.json"));
    assert!(
        stderr.contains("bulletins: 0 new, 1 revoked; holding 0"),
        "{stderr}"
    );
    assert_eq!(files(&bdir), ["feed.cursor"]);
    assert_eq!(
        std::fs::read_to_string(bdir.join("feed.cursor")).unwrap(),
        "2\n"
    );
    assert_eq!(feed.asked(), [0, 1, 1, 2]);
    let ev = events(&d.join("eve2.json"));
    assert_eq!(alerts(&ev, SID), 0);
    assert_eq!(ev.last().unwrap()["stats"]["bulletins"]["held"], 0);
}

/// A bulletin cannot blind the sensor: `pass` rules for the S7 functions the built-in rules
/// alert on (PLC stop, request download), a `noalert` rule and one clearing a flowbit of the
/// sensor's are each refused whole when loaded, naming the file, and every built-in alert
/// still fires on the captures.
#[test]
fn a_bulletin_cannot_silence_the_sensors_own_rules() {
    const PLC_STOP: u64 = 9_100_101;
    const DOWNLOAD: u64 = 9_100_104;
    let captures: Vec<PathBuf> = ["s7comm_snap7_control.pcap", "s7comm_attack_control.pcap"]
        .iter()
        .map(|n| common::root().join("pcaps").join(n))
        .collect();
    let run = |cfg: &Path, eve: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_sensor"))
            .args(["replay", "--no-progress", "--config"])
            .arg(cfg)
            .arg("--eve")
            .arg(eve)
            .args(&captures)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        (events(eve), stderr)
    };
    let feed = Feed::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config(d, "bulletin-s09", &feed, "");
    let (before, _) = run(&cfg, &d.join("before.json"));
    let stops = alerts(&before, PLC_STOP);
    let downloads = alerts(&before, DOWNLOAD);
    assert!(stops > 0 && downloads > 0, "{stops} {downloads}");

    let blinding = [
        "pass s7comm any any -> any any (msg:\"quiet\"; s7comm.function: plc_stop; sid:3000000101; rev:1;)",
        "pass s7comm any any -> any any (msg:\"quiet\"; s7comm.function: request_download; sid:3000000102; rev:1;)",
        "alert tcp any any -> any any (msg:\"quiet\"; flowbits:noalert; sid:3000000103; rev:1;)",
        "alert tcp any any -> any any (msg:\"quiet\"; flowbits:unset,s7.session; sid:3000000104; rev:1;)",
    ];
    for (i, rule) in blinding.iter().enumerate() {
        let seq = i as u64 + 1;
        feed.publish(bulletin(&format!("national-00000{seq}"), seq, rule, 0));
    }
    let (after, stderr) = run(&cfg, &d.join("after.json"));
    for seq in 1..=blinding.len() {
        let file = d.join(format!("bulletins/national-00000{seq}.rules"));
        assert!(
            stderr.contains(&format!("{}:", file.display()))
                && stderr.contains("the bulletin is refused whole"),
            "{stderr}"
        );
    }
    assert_eq!(alerts(&after, PLC_STOP), stops, "PLC stop still alerts");
    assert_eq!(
        alerts(&after, DOWNLOAD),
        downloads,
        "request download still alerts"
    );
}

/// Malformed answers are errors naming what is wrong: no file is written, the cursor stays
/// where it was, nothing escapes the directory; a replay warns and goes on with what it holds.
#[test]
fn malformed_answers_change_nothing() {
    let feed = Feed::start();
    feed.publish(bulletin("national-000001", 1, RULE, 0));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = config(d, "bulletin-s03", &feed, "");
    let bdir = d.join("bulletins");
    let config = sensor::Config::load(&cfg).unwrap();
    let fetch = uplink::Fetch::new(&config.uplink.link, "uplink", &config.sensor.id).unwrap();
    // A first, good pull: one bulletin held, cursor 1.
    let p = sensor::bulletin::pull(&fetch, &bdir).unwrap();
    assert_eq!((p.new, p.revoked, p.cursor), (1, 0, 1));
    let held = std::fs::read(bdir.join("national-000001.rules")).unwrap();

    let good = bulletin("national-000002", 2, RULE, 0);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = good.clone();
        f(&mut b);
        json!({ "bulletins": [b], "last": 2 }).to_string()
    };
    for (status, body, want) in [
        (
            200,
            "{\"bulletins\": [".to_owned(),
            "the feed's answer is not {\"bulletins\": [...], \"last\": N}: EOF while parsing",
        ),
        (200, "[]".to_owned(), "the feed's answer is not"),
        (
            200,
            "{\"bulletins\": []}".to_owned(),
            "missing field `last`",
        ),
        (
            200,
            with(&|b| b["bulletin_id"] = "../x".into()),
            "bulletin 1: \"../x\" is not a bulletin id",
        ),
        (
            200,
            with(&|b| b["bulletin_id"] = "a/b".into()),
            "bulletin 1: \"a/b\" is not a bulletin id",
        ),
        (
            200,
            with(&|b| {
                b.as_object_mut().unwrap().remove("rules");
            }),
            "bulletin 1 (\"national-000002\"): missing field `rules`",
        ),
        (
            200,
            with(&|b| {
                b.as_object_mut().unwrap().remove("bulletin_id");
            }),
            "bulletin 1: missing field `bulletin_id`",
        ),
        (
            200,
            with(&|b| b["seq"] = json!("2")),
            "bulletin 1 (\"national-000002\"): invalid type: string \"2\", expected u64",
        ),
        (
            200,
            with(&|b| b["seq"] = json!(1)),
            "seq 1 is not after 1, the cursor asked with",
        ),
        (
            200,
            json!({ "bulletins": [good.clone(), bulletin("..", 3, RULE, 0)], "last": 3 })
                .to_string(),
            "bulletin 2: \"..\" is not a bulletin id",
        ),
        (503, "{\"error\":\"down\"}".to_owned(), "503"),
    ] {
        feed.answer_raw(status, &body);
        let e = sensor::bulletin::pull(&fetch, &bdir).unwrap_err();
        assert!(e.contains(want), "{body}: {e}");
        assert_eq!(
            files(&bdir),
            ["feed.cursor", "national-000001.rules"],
            "{body}"
        );
        assert_eq!(
            std::fs::read_to_string(bdir.join("feed.cursor")).unwrap(),
            "1\n"
        );
        assert_eq!(
            std::fs::read(bdir.join("national-000001.rules")).unwrap(),
            held
        );
        assert_eq!(files(d), ["bulletins", "sensor.toml", "token"], "{body}");
    }

    // The binary: a warning, and the replay goes on with the bulletin it holds.
    feed.answer_raw(200, &with(&|b| b["bulletin_id"] = "../x".into()));
    let eve = d.join("eve.json");
    let (_, stderr) = replay(&cfg, &eve);
    assert!(
        stderr.contains(&format!(
            "warning: bulletins: pull failed: bulletin 1: \"../x\" is not a bulletin id: 1-64 letters, digits, '-', '_' or '.', not starting with '.'; going on with the 1 held in {}",
            bdir.display()
        )),
        "{stderr}"
    );
    assert_eq!(files(&bdir), ["feed.cursor", "national-000001.rules"]);
    let ev = events(&eve);
    assert_eq!(alerts(&ev, SID), 10, "the bulletin held still loads");
    let b = &ev.last().unwrap()["stats"]["bulletins"];
    assert_eq!(
        (b["pulls_ok"].as_u64(), b["pulls_failed"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(b["last_error"].as_str().unwrap().contains("../x"), "{b}");
}

/// An unreachable collector: the replay warns and runs with no bulletins.
#[test]
fn an_unreachable_collector_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let feed = Feed::start();
    let cfg = config(d, "bulletin-s04", &feed, "");
    drop(feed);
    let text = std::fs::read_to_string(&cfg).unwrap();
    // Port 9 (discard): nothing listens.
    let text = text.replace(
        text.lines().find(|l| l.starts_with("url = ")).unwrap(),
        "url = \"http://127.0.0.1:9\"",
    );
    std::fs::write(
        &cfg,
        text.replace("drain_seconds = 10", "drain_seconds = 0"),
    )
    .unwrap();
    let eve = d.join("eve.json");
    let (_, stderr) = replay(&cfg, &eve);
    assert!(
        stderr.contains("warning: bulletins: pull failed: GET /v1/bulletins/feed?after=0:")
            && stderr.contains("going on with the 0 held in"),
        "{stderr}"
    );
    assert!(!d.join("bulletins").exists());
    assert_eq!(
        events(&eve).last().unwrap()["stats"]["bulletins"]["pulls_failed"],
        1
    );
}

/// Bulletins without an uplink: a configuration error naming the key.
#[test]
fn bulletins_without_an_uplink_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sensor.toml");
    std::fs::write(&cfg, "[sensor]\nid = \"s1\"\n[bulletins]\ndir = \"b\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args(["replay", "--no-progress", "--config"])
        .arg(&cfg)
        .arg(common::root().join("pcaps/modbus_normal_polling.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains(&format!("{}: key `bulletins.dir`", cfg.display()))
            && e.contains("[uplink] url is not set"),
        "{e}"
    );
}

/// Wait until `f` holds, for at most `secs`.
fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < until {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// A Modbus/TCP session from client port `port`: handshake, 10 "read discrete inputs"
/// transactions (what [`RULE`] alerts on), FIN; written to a pcap in `dir`.
fn session(dir: &Path, port: u16) -> PathBuf {
    let c = ([192, 168, 0, 10], port);
    let s = ([192, 168, 0, 20], 502);
    let (mut cs, mut ss) = (1000u32, 5000u32);
    let mut frames: Vec<Vec<u8>> = common::handshake(c, s, cs, ss).into();
    cs += 1;
    ss += 1;
    for i in 0..10u16 {
        let tid = i.to_be_bytes();
        let req = [tid[0], tid[1], 0, 0, 0, 6, 1, 2, 0, 0, 0, 8];
        frames.push(common::tcp_frame(c, s, cs, ss, 0x18, &req));
        cs += req.len() as u32;
        let resp = [tid[0], tid[1], 0, 0, 0, 4, 1, 2, 1, 0x55];
        frames.push(common::tcp_frame(s, c, ss, cs, 0x18, &resp));
        ss += resp.len() as u32;
    }
    frames.push(common::tcp_frame(c, s, cs, ss, 0x11, &[]));
    frames.push(common::tcp_frame(s, c, ss, cs + 1, 0x11, &[]));
    let path = dir.join(format!("fc2-{port}.pcap"));
    let timed: Vec<(u64, Vec<u8>)> = frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (1_700_000_000_000_000 + i as u64 * 1000, f))
        .collect();
    common::write_pcap(&path, 1, &timed);
    path
}

fn tcpreplay(iface: &str, pcap: &Path) {
    let out = Command::new("tcpreplay")
        .args(["--topspeed", "-i", iface])
        .arg(pcap)
        .output()
        .expect("tcpreplay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `sensor live` picks up a bulletin published after it started, without a restart: the puller
/// writes it, the capture loop reloads the rules, the rule alerts on the traffic that follows;
/// a revocation unloads it the same way.
#[test]
fn live_picks_up_bulletins_without_restart() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("live_picks_up_bulletins_without_restart: skipped, a veth pair needs root");
        return;
    }
    let feed = Feed::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let metrics = d.join("sensor.prom");
    let cfg = config(
        d,
        "live-b01",
        &feed,
        &format!(
            "poll_seconds = 1\n\n[metrics]\nfile = \"{}\"\ninterval = 1\n",
            metrics.display()
        ),
    );
    let veth = Veth::new('b');
    let eve = d.join("eve.json");
    let mut sensor = Command::new(env!("CARGO_BIN_EXE_sensor"))
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
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Everything the sensor says, as it says it.
    let said = Arc::new(Mutex::new(String::new()));
    let reader = {
        let said = Arc::clone(&said);
        let mut stderr = std::io::BufReader::new(sensor.stderr.take().unwrap());
        std::thread::spawn(move || {
            let mut line = String::new();
            while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
                said.lock().unwrap().push_str(&line);
                line.clear();
            }
        })
    };
    let says = |what: &str| said.lock().unwrap().matches(what).count();
    let modbus = || feed.ingested(|e| e["event_type"] == "modbus");
    let fired = || feed.ingested(|e| e["alert"]["signature_id"] == SID);
    let check = |ok: bool, what: &str| {
        if !ok {
            let _ = Command::new("kill")
                .args(["-KILL", &sensor.id().to_string()])
                .status();
            panic!("{what}:\n{}", said.lock().unwrap());
        }
    };
    check(wait_for(20, || says("capturing on") == 1), "did not start");
    // The first pull found nothing: the traffic raises no bulletin alert.
    check(wait_for(10, || !feed.asked().is_empty()), "no first pull");
    tcpreplay(&veth.replay, &session(d, 40001));
    check(wait_for(20, || modbus() == 10), "first traffic not seen");
    assert_eq!(fired(), 0);

    // Published while the sensor runs: pulled within poll_seconds, confirmed, reloaded.
    feed.publish(bulletin("national-000001", 1, RULE, 0));
    check(
        wait_for(20, || says("rules reloaded: bulletins changed") == 1),
        "no reload after the bulletin",
    );
    assert!(d.join("bulletins/national-000001.rules").exists());
    check(
        wait_for(10, || feed.asked().contains(&1)),
        "no confirmation (after=1)",
    );
    tcpreplay(&veth.replay, &session(d, 40002));
    check(wait_for(20, || modbus() == 20), "second traffic not seen");
    check(
        wait_for(10, || fired() == 10),
        "the bulletin's rule did not fire",
    );
    check(
        wait_for(10, || {
            std::fs::read_to_string(&metrics).is_ok_and(|p| {
                p.contains("icsight_bulletins_held{sensor=\"live-b01\"} 1")
                    && p.contains("icsight_bulletins_cursor{sensor=\"live-b01\"} 1")
            })
        }),
        "the metrics file does not count the bulletin",
    );

    // Revoked: unloaded the same way; the same traffic no longer alerts.
    feed.publish(bulletin("national-000001", 2, "", 1));
    check(
        wait_for(20, || says("rules reloaded: bulletins changed") == 2),
        "no reload after the revocation",
    );
    assert!(!d.join("bulletins/national-000001.rules").exists());
    tcpreplay(&veth.replay, &session(d, 40003));
    check(wait_for(20, || modbus() == 30), "third traffic not seen");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fired(), 10, "no alert after the revocation");

    let _ = Command::new("kill")
        .args(["-INT", &sensor.id().to_string()])
        .status();
    let status = sensor.wait().unwrap();
    reader.join().unwrap();
    let said = said.lock().unwrap().clone();
    assert!(status.success(), "{said}");
    assert_eq!(says("rules reloaded on SIGHUP"), 0);
    let ev = events(&eve);
    assert_eq!(alerts(&ev, SID), 10);
    let stats = &ev.last().unwrap()["stats"];
    assert_eq!(stats["detect"]["reloads"], 2, "{stats}");
    let b = &stats["bulletins"];
    assert_eq!(
        (b["held"].as_u64(), b["cursor"].as_u64()),
        (Some(0), Some(2)),
        "{b}"
    );
    assert!(b["pulls_ok"].as_u64().unwrap() >= 3, "{b}");
    assert_eq!(b["pulls_failed"], 0, "{b}");
    assert!(b["last_pull_age_seconds"].as_f64().unwrap() < 5.0, "{b}");
}
