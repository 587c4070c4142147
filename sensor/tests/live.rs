//! Live capture for real: a veth pair whose far end sits in a network namespace the test
//! creates, traffic replayed onto it with tcpreplay, the sensor capturing inside the namespace.
//! Every packet sent must be accounted for, and the events must equal a replay of the same file.
//!
//! Needs root, iproute2 and tcpreplay (scripts/setup.sh installs them).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
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

#[test]
fn veth_capture_accounts_for_every_packet() {
    let dir = tempfile::tempdir().unwrap();
    let synthetic = dir.path().join("modbus_long.pcap");
    write_pcap(&synthetic, 1, &modbus_session(3000));
    let real = root().join("pcaps/modbus_pymodbus_libmodbus.pcap");
    let files: [&Path; 2] = [&real, &synthetic];
    let config = root().join("sensor.toml");
    let eve = dir.path().join("live.json");

    let ns = Netns::new();
    let mut sensor = Command::new("ip")
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
        .arg(&config)
        .arg("--eve")
        .arg(&eve)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(sensor.stderr.take().unwrap());
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

    // Reload the rules before the traffic: flows and counters carry over, and the reloaded
    // rules alert on the replayed traffic as replay does.
    run(&["kill", "-HUP", &sensor.id().to_string()]);
    let mut reloaded = String::new();
    for _ in 0..16 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        reloaded.push_str(&line);
        if line.starts_with("rules reloaded") {
            break;
        }
    }
    assert!(reloaded.contains("rules reloaded on SIGHUP"), "{reloaded}");

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
    let sent: u64 = report
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Actual: ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no packet count in tcpreplay's report:\n{report}"));

    std::thread::sleep(Duration::from_millis(500));
    run(&["kill", "-INT", &sensor.id().to_string()]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = sensor.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = sensor.kill();
            panic!("sensor did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(status.success(), "sensor failed: {rest}");
    assert!(
        rest.contains(&format!(
            "received {sent}, dropped by kernel 0, dropped by interface 0"
        )),
        "{rest}"
    );

    let live = events(&std::fs::read_to_string(&eve).unwrap());
    let stats = &live.last().unwrap()["stats"];
    let capture = &stats["capture"];
    let (received, dropped, processed) = (
        capture["kernel_packets"].as_u64().unwrap(),
        capture["kernel_drops"].as_u64().unwrap(),
        stats["decoder"]["pkts"].as_u64().unwrap(),
    );
    assert_eq!(received, sent, "the kernel handed over every packet sent");
    assert_eq!(
        processed + dropped,
        received,
        "every packet received was processed or counted as dropped"
    );
    assert_eq!(
        processed, sent,
        "the default ring (~14,000 frames) holds all of it"
    );
    assert_eq!(capture["kernel_ifdrops"], 0);
    assert_eq!(stats["detect"]["reloads"], 1);

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
