//! `sensor replay` as a user runs it: damaged and odd inputs, formats, configuration errors.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{modbus_session, root, write_pcap};

fn sensor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args(args)
        .output()
        .unwrap()
}

fn events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn config() -> String {
    root().join("sensor.toml").display().to_string()
}

#[test]
fn damaged_inputs_each_fail_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_pcap(&d.join("a_good.pcap"), 1, &modbus_session(10));
    let good = std::fs::read(d.join("a_good.pcap")).unwrap();
    // Cut inside the 10th record: 9 whole packets precede it.
    let mut cut = 24;
    for _ in 0..9 {
        let caplen = u32::from_le_bytes(good[cut + 8..cut + 12].try_into().unwrap()) as usize;
        cut += 16 + caplen;
    }
    std::fs::write(d.join("b_truncated.pcap"), &good[..cut + 20]).unwrap();
    let mut corrupt = good[..24 + 16].to_vec();
    corrupt[24 + 8..24 + 12].copy_from_slice(&0xfff0_0000u32.to_le_bytes());
    std::fs::write(d.join("c_corrupt.pcap"), corrupt).unwrap();
    std::fs::write(d.join("d_empty.pcap"), b"").unwrap();
    std::fs::write(
        d.join("e_wrong_magic.pcap"),
        b"this is not a capture file at all, just text\n",
    )
    .unwrap();
    write_pcap(&d.join("f_usb.pcap"), 189, &[(1, vec![0; 64])]);

    let out = sensor(&[
        "replay",
        "--no-progress",
        "--config",
        &config(),
        d.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "some input failed: {stderr}");
    let error_lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(error_lines.len(), 5, "one error per bad file:\n{stderr}");
    for (file, says) in [
        ("b_truncated.pcap", "after packet 9"),
        ("c_corrupt.pcap", "after packet 0"),
        ("d_empty.pcap", "cannot open"),
        ("e_wrong_magic.pcap", "cannot open"),
        ("f_usb.pcap", "unsupported link type 189 (USB_LINUX"),
    ] {
        let line = error_lines
            .iter()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("no error names {file}:\n{stderr}"));
        assert!(line.contains(says), "{line}");
    }
    assert!(stderr.contains("6 file(s), 5 failed"), "{stderr}");
    let ev = events(&out);
    // The good file's whole session, and the truncated file's first 9 packets.
    let flows: Vec<_> = ev.iter().filter(|e| e["event_type"] == "flow").collect();
    assert_eq!(flows.len(), 2);
    assert_eq!(
        flows[0]["flow"]["pkts_toserver"].as_u64().unwrap()
            + flows[0]["flow"]["pkts_toclient"].as_u64().unwrap(),
        25
    );
    assert_eq!(
        flows[1]["flow"]["pkts_toserver"].as_u64().unwrap()
            + flows[1]["flow"]["pkts_toclient"].as_u64().unwrap(),
        9
    );
    let modbus = ev.iter().filter(|e| e["event_type"] == "modbus").count();
    assert_eq!(
        modbus,
        10 + 3,
        "10 transactions in the good file, 3 in the 9 packets of the truncated one"
    );
    let stats = ev.last().unwrap();
    assert_eq!(stats["event_type"], "stats");
    assert_eq!(stats["stats"]["decoder"]["pkts"], 25 + 9);
}

#[test]
fn missing_input_is_named() {
    let out = sensor(&[
        "replay",
        "--no-progress",
        "--config",
        &config(),
        "/nonexistent/x.pcap",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.pcap: no such file"));
}

#[test]
fn pcapng_reads_like_pcap() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("s.pcap");
    let ng = dir.path().join("s.pcapng");
    write_pcap(&pcap, 1, &modbus_session(5));
    let status = Command::new("editcap")
        .args(["-F", "pcapng"])
        .arg(&pcap)
        .arg(&ng)
        .status()
        .expect("editcap (wireshark-common)");
    assert!(status.success());
    let strip = |out: &Output| {
        events(out)
            .into_iter()
            .filter(|e| e["event_type"] != "stats")
            .map(|mut e| {
                let o = e.as_object_mut().unwrap();
                o.remove("flow_id");
                // Each run numbers its events afresh.
                o.remove("event_id");
                e
            })
            .collect::<Vec<_>>()
    };
    let a = sensor(&[
        "replay",
        "--no-progress",
        "--config",
        &config(),
        pcap.to_str().unwrap(),
    ]);
    let b = sensor(&[
        "replay",
        "--no-progress",
        "--config",
        &config(),
        ng.to_str().unwrap(),
    ]);
    assert!(a.status.success() && b.status.success());
    let (a, b) = (strip(&a), strip(&b));
    assert_eq!(a.len(), 5 + 1, "5 transactions and the flow");
    assert_eq!(a, b);
}

#[test]
fn events_carry_the_sensor_block() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("s.pcap");
    write_pcap(&pcap, 1, &modbus_session(2));
    let eve = dir.path().join("eve.json");
    let out = sensor(&[
        "replay",
        "--no-progress",
        "--config",
        &config(),
        "--eve",
        eve.to_str().unwrap(),
        pcap.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&eve).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 2 + 1 + 1);
    for e in &events {
        let s = &e["sensor"];
        assert_eq!(s["id"], "demo-plant-s01");
        assert_eq!(s["enterprise_id"], "91330100MA27XY1235");
        assert_eq!(s["province"], "330000");
        assert_eq!(s["industry"], "petrochemical");
        assert_eq!(s["grade"], 2);
        assert!(e["timestamp"].as_str().unwrap().ends_with("+0000"));
    }
    let m = events.iter().find(|e| e["event_type"] == "modbus").unwrap();
    assert_eq!(m["app_proto"], "modbus");
    assert_eq!(
        (m["src_ip"].as_str(), m["dest_port"].as_u64()),
        (Some("192.168.0.10"), Some(502))
    );
    assert_eq!(m["modbus"]["request"]["function_raw"], 3);
    let f = events.iter().find(|e| e["event_type"] == "flow").unwrap();
    assert_eq!(f["flow_id"], m["flow_id"]);
    assert_eq!(f["flow"]["state"], "closed");
    assert_eq!(f["tcp"]["tcp_flags"], "1b");
    assert_eq!(f["flow"]["pkts_toserver"], 5);
    assert_eq!(f["flow"]["pkts_toclient"], 4);
}

#[test]
fn bad_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sensor.toml");
    std::fs::write(&cfg, "[sensor]\nid = \"s1\"\ngrade = 7\n").unwrap();
    let out = sensor(&[
        "replay",
        "--config",
        cfg.to_str().unwrap(),
        Path::new("x.pcap").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("key `sensor.grade`") && stderr.contains(cfg.to_str().unwrap()),
        "{stderr}"
    );
}
