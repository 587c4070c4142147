//! Live capture for real: a veth pair whose far end sits in a network namespace the test
//! creates, traffic replayed onto it with tcpreplay, the sensor capturing inside the namespace.
//! Every packet sent must be accounted for, and the events must equal a replay of the same file.
//!
//! Needs root, iproute2 and tcpreplay (scripts/setup.sh installs them).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{modbus_session, root, write_pcap};

/// A namespace with one end of a veth pair; both go away on drop.
struct Netns {
    name: String,
    outside: String,
    inside: String,
}

fn run(cmd: &[&str]) {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    fn new() -> Netns {
        // Tests run side by side in one process: each takes its own number.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = (std::process::id() % 10_000) * 10 + n % 10;
        let ns = Netns {
            name: format!("icsight-live-{id}"),
            outside: format!("icso{id}"),
            inside: format!("icsi{id}"),
        };
        run(&["ip", "netns", "add", &ns.name]);
        run(&[
            "ip",
            "link",
            "add",
            &ns.outside,
            "type",
            "veth",
            "peer",
            "name",
            &ns.inside,
        ]);
        run(&["ip", "link", "set", &ns.inside, "netns", &ns.name]);
        // No IPv6 on either end: the kernel would otherwise send router solicitations and MLD
        // reports of its own, which are not ours to count.
        run(&[
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{}.disable_ipv6=1", ns.outside),
        ]);
        run(&[
            "ip",
            "netns",
            "exec",
            &ns.name,
            "sysctl",
            "-qw",
            &format!("net.ipv6.conf.{}.disable_ipv6=1", ns.inside),
        ]);
        run(&["ip", "link", "set", &ns.outside, "up"]);
        run(&[
            "ip", "netns", "exec", &ns.name, "ip", "link", "set", &ns.inside, "up",
        ]);
        ns
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        let _ = Command::new("ip")
            .args(["link", "del", &self.outside])
            .stderr(Stdio::null())
            .status();
    }
}

fn events(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn count(events: &[serde_json::Value], event_type: &str) -> usize {
    events
        .iter()
        .filter(|e| e["event_type"] == event_type)
        .count()
}

/// Busy loops on twice as many threads as there are cores, for as long as it lives: the sensor
/// must account for every packet while the machine is loaded.
struct CpuHog {
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl CpuHog {
    fn start() -> CpuHog {
        let stop = Arc::new(AtomicBool::new(false));
        let n = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
        let threads = (0..n)
            .map(|_| {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                })
            })
            .collect();
        CpuHog { stop, threads }
    }
}

impl Drop for CpuHog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// `sensor live` inside `ns`, past its rules summary and capturing.
struct Live {
    child: Child,
    stderr: BufReader<ChildStderr>,
}

impl Live {
    fn start(ns: &Netns, config: &Path, eve: &Path) -> Live {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                env!("CARGO_BIN_EXE_sensor"),
                "live",
                "-i",
                &ns.inside,
            ])
            .args(["--bpf", "tcp or udp", "--config"])
            .arg(config)
            .arg("--eve")
            .arg(eve)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        // The rules summary comes first, then the capture starts.
        let mut lines = String::new();
        for _ in 0..8 {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 || line.starts_with("capturing on") {
                lines.push_str(&line);
                break;
            }
            lines.push_str(&line);
        }
        assert!(
            lines.contains("rules: ")
                && lines
                    .lines()
                    .last()
                    .unwrap_or("")
                    .starts_with("capturing on"),
            "sensor did not start: {lines}"
        );
        Live { child, stderr }
    }

    fn signal(&self, sig: &str) {
        run(&["kill", sig, &self.child.id().to_string()]);
    }

    /// Wait for the sensor to exit (the bound only catches a hang); its status and the rest
    /// of its stderr.
    fn wait(mut self) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + Duration::from_secs(600);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("sensor did not stop on its signal");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).unwrap();
        (status, rest)
    }
}

/// Replay `files` onto the outside end of `ns` as fast as possible: the packets sent.
fn replay_onto(ns: &Netns, files: &[&Path]) -> u64 {
    let out = Command::new("tcpreplay")
        .args(["--topspeed", "-i", &ns.outside])
        .args(files)
        .output()
        .expect("tcpreplay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Actual: ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no packet count in tcpreplay's report:\n{report}"))
}

/// The final `stats` event's (received, dropped by the kernel, dropped at shutdown, processed).
fn accounting(live: &[serde_json::Value]) -> (u64, u64, u64, u64) {
    let stats = &live.last().unwrap()["stats"];
    let capture = &stats["capture"];
    assert_eq!(capture["kernel_ifdrops"], 0);
    (
        capture["kernel_packets"].as_u64().unwrap(),
        capture["kernel_drops"].as_u64().unwrap(),
        capture["shutdown_drops"].as_u64().unwrap(),
        stats["decoder"]["pkts"].as_u64().unwrap(),
    )
}

/// The example configuration with `capture.drain_seconds` set to `seconds`.
fn config_draining(dir: &Path, seconds: u32) -> PathBuf {
    let text = std::fs::read_to_string(root().join("sensor.toml")).unwrap();
    let mut in_capture = false;
    let mut replaced = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.starts_with('[') {
                in_capture = l.starts_with("[capture]");
            }
            if in_capture && l.starts_with("drain_seconds") {
                replaced = true;
                format!("drain_seconds = {seconds}")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert!(replaced, "sensor.toml has no capture.drain_seconds");
    let path = dir.join("sensor.toml");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// The sensor is held still (SIGSTOP) while the traffic lands in its ring and is told to stop
/// before it may go on, with the machine busy: the worst case of being behind at SIGINT. It
/// must still process every packet the kernel received before it exits.
#[test]
fn veth_capture_accounts_for_every_packet() {
    let _hog = CpuHog::start();
    let dir = tempfile::tempdir().unwrap();
    let synthetic = dir.path().join("modbus_long.pcap");
    write_pcap(&synthetic, 1, &modbus_session(3000));
    let real = root().join("pcaps/modbus_pymodbus_libmodbus.pcap");
    let files: [&Path; 2] = [&real, &synthetic];
    let config = root().join("sensor.toml");
    // A bound far beyond what draining takes even on a loaded machine: what is checked here
    // is that the ring is drained, not how fast.
    let draining = config_draining(dir.path(), 600);
    let eve = dir.path().join("live.json");

    let ns = Netns::new();
    let mut sensor = Live::start(&ns, &draining, &eve);

    // Reload the rules before the traffic: flows and counters carry over, and the reloaded
    // rules alert on the replayed traffic as replay does.
    sensor.signal("-HUP");
    let mut reloaded = String::new();
    for _ in 0..16 {
        let mut line = String::new();
        if sensor.stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        reloaded.push_str(&line);
        if line.starts_with("rules reloaded") {
            break;
        }
    }
    assert!(reloaded.contains("rules reloaded on SIGHUP"), "{reloaded}");

    sensor.signal("-STOP");
    let sent = replay_onto(&ns, &files);
    sensor.signal("-INT");
    sensor.signal("-CONT");
    let (status, rest) = sensor.wait();
    assert!(status.success(), "sensor failed: {rest}");
    assert!(
        rest.contains(&format!(
            "received {sent}, dropped by kernel 0, dropped by interface 0, dropped at shutdown 0;"
        )),
        "{rest}"
    );

    let live = events(&std::fs::read_to_string(&eve).unwrap());
    let (received, dropped, at_shutdown, processed) = accounting(&live);
    eprintln!(
        "under load: sent {sent}, received {received}, processed {processed}, dropped by the kernel {dropped}, at shutdown {at_shutdown}"
    );
    assert_eq!(received, sent, "the kernel handed over every packet sent");
    assert_eq!(
        processed + dropped + at_shutdown,
        received,
        "every packet received was processed or counted as dropped"
    );
    assert_eq!(
        processed, sent,
        "the default ring (~14,000 frames) holds all of it, and it was drained at the stop"
    );
    assert_eq!(live.last().unwrap()["stats"]["detect"]["reloads"], 1);

    // The same events as replaying the files.
    let replayed = Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args(["replay", "--no-progress", "--config"])
        .arg(&config)
        .args(files)
        .output()
        .unwrap();
    assert!(replayed.status.success());
    let replayed = events(&String::from_utf8_lossy(&replayed.stdout));
    assert_eq!(count(&live, "modbus"), count(&replayed, "modbus"));
    assert_eq!(
        count(&live, "modbus"),
        100 + 3000,
        "one event per transaction"
    );
    assert_eq!(count(&live, "flow"), count(&replayed, "flow"));
    assert_eq!(count(&live, "alert"), count(&replayed, "alert"));
    assert_eq!(count(&live, "anomaly"), 0);
}

/// With `capture.drain_seconds = 0` a stop does not wait for the ring: what it still holds is
/// counted as dropped at shutdown, so the accounting stays exact.
#[test]
fn a_stop_without_draining_counts_what_the_ring_held() {
    let _hog = CpuHog::start();
    let dir = tempfile::tempdir().unwrap();
    let synthetic = dir.path().join("modbus_long.pcap");
    write_pcap(&synthetic, 1, &modbus_session(3000));
    let config = config_draining(dir.path(), 0);
    let eve = dir.path().join("live.json");

    let ns = Netns::new();
    let sensor = Live::start(&ns, &config, &eve);
    sensor.signal("-STOP");
    let sent = replay_onto(&ns, &[&synthetic]);
    sensor.signal("-TERM");
    sensor.signal("-CONT");
    let (status, rest) = sensor.wait();
    assert!(status.success(), "sensor failed: {rest}");

    let live = events(&std::fs::read_to_string(&eve).unwrap());
    let (received, dropped, at_shutdown, processed) = accounting(&live);
    eprintln!(
        "no drain: sent {sent}, received {received}, processed {processed}, dropped by the kernel {dropped}, at shutdown {at_shutdown}"
    );
    assert_eq!(received, sent, "the kernel handed over every packet sent");
    assert_eq!(processed + dropped + at_shutdown, received);
    // Held still while all of it arrived, it reads at most one batch after the signal.
    assert!(
        at_shutdown > 0 && processed < sent,
        "processed {processed}, dropped at shutdown {at_shutdown}"
    );
    assert!(
        rest.contains(&format!(
            "received {sent}, dropped by kernel {dropped}, dropped by interface 0, dropped at shutdown {at_shutdown};"
        )),
        "{rest}"
    );
}

/// `sensor learn --interface` learns for the period asked and stops by itself, with what the
/// traffic showed: the plant's hosts, their roles and pairs.
#[test]
fn live_learning_stops_after_its_period() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("live.json");
    let ns = Netns::new();
    let started = Instant::now();
    let mut sensor = Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_sensor")])
        .args(["learn", "-i", &ns.inside, "--seconds", "4", "--out"])
        .arg(&out)
        .arg("--config")
        .arg(root().join("sensor.toml"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(sensor.stderr.take().unwrap());
    let mut lines = String::new();
    for _ in 0..4 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        lines.push_str(&line);
        if line.starts_with("capturing on") {
            break;
        }
    }
    assert!(
        lines.contains("capturing on"),
        "sensor did not start: {lines}"
    );
    let replayed = Command::new("tcpreplay")
        .args(["--topspeed", "-i", &ns.outside])
        .arg(root().join("pcaps/baseline_normal_a.pcap"))
        .output()
        .expect("tcpreplay");
    assert!(replayed.status.success());
    // No signal: it stops when its four seconds are over.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = sensor.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "still learning after 20 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "{lines}{rest}");
    assert!(started.elapsed() >= Duration::from_secs(4));
    let b: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(b["pairs"].as_array().unwrap().len(), 2, "{rest}");
    let hmi = b["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ip"] == "127.0.0.5")
        .expect("the HMI");
    assert_eq!(hmi["roles"], serde_json::json!(["hmi"]));
    assert!(b["learned"]["sources"][0]
        .as_str()
        .unwrap()
        .starts_with("interface "));
}
