//! Classic-style rules (`tests/rules/classic.rules`: content with offset/depth, `pcre` with `R`,
//! `byte_test`, `byte_jump`, `isdataat`, `dsize`, `flow`, `threshold`, negated address
//! variables, `flags`, `ttl`, `ip_proto`) load and fire on the project's own captures exactly as often as tshark counts the
//! frames they describe. Keywords of Suricata/Snort rules the sensor refuses are listed with
//! why, and `sensor rules check` is asserted to refuse each with a reason naming it.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use icsight_tests::{replay_with, root, sensor_bin, tshark};

/// A configuration putting the loopback captures inside `$HOME_NET`.
fn config(dir: &Path) -> PathBuf {
    let p = dir.join("sensor.toml");
    std::fs::write(
        &p,
        "[sensor]\nid = \"classic-test\"\n[eve]\nflow = false\n[rules.address_groups]\nHOME_NET = \"[127.0.0.0/8]\"\n",
    )
    .unwrap();
    p
}

fn frames(pcap: &Path, filter: &str) -> usize {
    tshark(pcap, &["-Y", filter, "-T", "fields", "-e", "frame.number"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .count()
}

fn alerts(pcap: &Path, cfg: &Path) -> BTreeMap<u64, usize> {
    let rules = root().join("tests/rules/classic.rules");
    let r = replay_with(&[pcap], cfg, &[OsStr::new("--rules"), rules.as_os_str()]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("17 loaded from 1 file(s), 0 failed"),
        "{}",
        r.stderr
    );
    let mut counts = BTreeMap::new();
    for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
        *counts
            .entry(e["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    counts
}

#[test]
fn classic_rules_fire_as_tshark_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let pcaps = root().join("pcaps");
    let modbus = pcaps.join("modbus_pymodbus_libmodbus.pcap");
    let got = alerts(&modbus, &cfg);
    let req = "tcp.dstport == 502 && mbtcp";
    let want = [
        (
            8000001,
            frames(&modbus, &format!("{req} && modbus.func_code == 16")),
        ),
        (
            8000002,
            frames(&modbus, &format!("{req} && modbus.func_code == 43")),
        ),
        (
            8000003,
            frames(&modbus, "tcp.srcport == 502 && modbus.exception_code"),
        ),
        (
            8000004,
            frames(&modbus, &format!("{req} && modbus.func_code == 16")),
        ),
        (
            8000005,
            frames(&modbus, "tcp.dstport == 502 && tcp.len > 260"),
        ),
        (8000006, frames(&modbus, &format!("{req} && tcp.len == 12"))),
        (8000007, 1),
        (8000008, 0),
        (8000009, 1),
        (
            8000012,
            frames(
                &modbus,
                "tcp.dstport == 502 && tcp.flags.syn == 1 && tcp.flags.ack == 0",
            ),
        ),
        (
            8000013,
            frames(&modbus, "tcp.srcport == 502 && tcp.flags.fin == 1"),
        ),
        (
            8000014,
            frames(&modbus, "tcp.dstport == 502 && ip.ttl == 64 && tcp.len > 0"),
        ),
        (
            8000015,
            frames(&modbus, "tcp.dstport == 502 && ip.ttl < 64 && tcp.len > 0"),
        ),
        (
            8000016,
            frames(
                &modbus,
                "tcp.srcport == 502 && tcp.flags.syn == 1 && tcp.flags.ack == 1",
            ),
        ),
        (
            8000017,
            frames(
                &modbus,
                "tcp.dstport == 502 && tcp.flags.fin == 1 && tcp.seq > 1",
            ),
        ),
    ];
    for (sid, n) in want {
        assert_eq!(got.get(&sid).copied().unwrap_or(0), n, "sid {sid}: {got:?}");
    }
    assert!(want.iter().filter(|(_, n)| *n > 0).count() >= 10);

    let s7 = pcaps.join("s7comm_snap7_control.pcap");
    let got = alerts(&s7, &cfg);
    let stops = frames(
        &s7,
        "s7comm.param.func == 0x29 && s7comm.header.rosctr == 1",
    );
    assert!(stops >= 2);
    assert_eq!(got.get(&8000010).copied().unwrap_or(0), stops, "{got:?}");

    let dnp3 = pcaps.join("dnp3_opendnp3.pcap");
    let got = alerts(&dnp3, &cfg);
    let cold = frames(&dnp3, "tcp.dstport == 20000 && dnp3.al.func == 13");
    assert!(cold >= 1);
    assert_eq!(got.get(&8000011).copied().unwrap_or(0), cold, "{got:?}");
}

/// Keywords of Suricata and Snort rules that the sensor refuses, and why. Each is checked to be
/// refused with a message naming it; everything else in the classic rules loads.
const UNSUPPORTED: &[(&str, &str, &str)] = &[
    (
        "lua",
        "lua:script.lua;",
        "scripts run only with [rules] lua = true",
    ),
    (
        "byte_math",
        "byte_math:bytes 1, offset 0, oper +, rvalue 1, result x;",
        "not offered yet",
    ),
    ("dce_iface", "dce_iface:1234;", "DCE/RPC is not decoded"),
];

#[test]
fn unsupported_keywords_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("unsupported.rules");
    let text: String = UNSUPPORTED
        .iter()
        .enumerate()
        .map(|(i, (_, opt, _))| {
            format!(
                "alert tcp any any -> any any (msg:\"u\"; {opt} sid:{};)\n",
                i + 1
            )
        })
        .collect();
    std::fs::write(&file, text).unwrap();
    let out = Command::new(sensor_bin())
        .args(["rules", "check", "--config"])
        .arg(config(tmp.path()))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (i, (kw, _, why)) in UNSUPPORTED.iter().enumerate() {
        let line = format!("{}:{}: ", file.display(), i + 1);
        let msg = stderr
            .lines()
            .find(|l| l.contains(&line))
            .unwrap_or_else(|| panic!("{kw} ({why}) not refused:\n{stderr}"));
        assert!(msg.contains(kw), "{kw}: {msg}");
    }
    assert!(
        stderr.contains(&format!(
            "0 loaded from 1 file(s), {} failed",
            UNSUPPORTED.len()
        )),
        "{stderr}"
    );
}

/// ICMP header keywords on a public capture of an EtherNet/IP attack that pings its target:
/// each rule fires on exactly the frames tshark shows with the same header values.
#[test]
fn icmp_header_keywords_fire_as_tshark_counts() {
    let pcap = icsight_tests::shared_pcaps()
        .join("enip/ITI-ICS-Security-Tools/openics/EIP-IPAddressChangeAttempt.pcap");
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    let id = tshark(&pcap, &["-Y", "icmp", "-T", "fields", "-e", "icmp.ident"])
        .lines()
        .next()
        .expect("an ICMP message with an identifier")
        .trim()
        .to_owned();
    let rules = tmp.path().join("icmp.rules");
    std::fs::write(
        &rules,
        format!(
            "alert icmp any any -> any any (msg:\"echo reply\"; itype:0; icode:0; sid:1;)\n\
             alert icmp any any -> any any (msg:\"unreachable\"; itype:3; sid:2;)\n\
             alert icmp any any -> any any (msg:\"echo id\"; icmp_id:{id}; sid:3;)\n\
             alert ip any any -> any any (msg:\"icmp at ttl 64\"; ip_proto:icmp; ttl:64; sid:4;)\n\
             alert ip any any -> any any (msg:\"not icmp\"; ip_proto:!1; flags:S; sid:5;)\n"
        ),
    )
    .unwrap();
    let r = replay_with(&[&pcap], &cfg, &[OsStr::new("--rules"), rules.as_os_str()]);
    assert_eq!(r.status, 0, "{}", r.stderr);
    let mut got: BTreeMap<u64, usize> = BTreeMap::new();
    for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
        *got.entry(e["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    let want = [
        (1, frames(&pcap, "icmp.type == 0 && icmp.code == 0")),
        (2, frames(&pcap, "icmp.type == 3")),
        (3, frames(&pcap, &format!("icmp.ident == {id}"))),
        (4, frames(&pcap, "icmp && ip.ttl == 64")),
        (5, frames(&pcap, "tcp.flags.syn == 1 && tcp.flags.ack == 0")),
    ];
    for (sid, n) in want {
        assert_eq!(got.get(&sid).copied().unwrap_or(0), n, "sid {sid}: {got:?}");
    }
    assert!(want.iter().filter(|(_, n)| *n > 0).count() >= 3, "{want:?}");
}

/// A classic pcap of Ethernet/IPv4/UDP datagrams from 10.0.0.1:1234 to 10.0.0.2:5678, one a
/// payload.
fn udp_pcap(path: &Path, payloads: &[&[u8]]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0]);
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65_535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for (i, p) in payloads.iter().enumerate() {
        let mut frame = vec![0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (20 + 8 + p.len()) as u16;
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let sum = !ip
            .chunks(2)
            .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
            .fold(0u32, |a, b| {
                let s = a + b;
                (s & 0xffff) + (s >> 16)
            }) as u16;
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&1234u16.to_be_bytes());
        frame.extend_from_slice(&5678u16.to_be_bytes());
        frame.extend_from_slice(&((8 + p.len()) as u16).to_be_bytes());
        frame.extend_from_slice(&[0, 0]);
        frame.extend_from_slice(p);
        out.extend_from_slice(&(1_700_000_000u32 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out).unwrap();
}

/// Expressions the linear engine cannot run go to PCRE2, bounded by its match limit: a
/// catastrophically backtracking one on long payloads gives up (no alert, counted in
/// `stats.detect.pcre_limit_hits`), while backreferences and look-around that do match alert.
#[test]
fn backtracking_expressions_are_bounded_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path());
    // A run of a's, then a `b` out of reach: `(a+)+` tries every split of the run.
    let mut long = vec![b'a'; 1_400];
    long.extend_from_slice(b"cb");
    let pcap = tmp.path().join("pcre.pcap");
    udp_pcap(
        &pcap,
        &[&long, &long, b"user=\"x\" pass='x'", b"/admin.php?x"],
    );
    let rules = tmp.path().join("pcre.rules");
    std::fs::write(
        &rules,
        r#"alert udp any any -> any any (msg:"catastrophic"; content:"aaaa"; pcre:"/^(a+)+(?=b)/"; sid:1;)
alert udp any any -> any any (msg:"backreference"; pcre:"/pass=(['\"])x\1/"; sid:2;)
alert udp any any -> any any (msg:"look-ahead"; pcre:"/\.php(?=\?)/"; sid:3;)
alert udp any any -> any any (msg:"look-behind"; pcre:"/(?<!user=)\"x/"; sid:4;)
"#,
    )
    .unwrap();
    let r = replay_with(
        &[pcap.as_path()],
        &cfg,
        &[OsStr::new("--rules"), rules.as_os_str()],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let mut sids: Vec<u64> = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "alert")
        .filter_map(|e| e["alert"]["signature_id"].as_u64())
        .collect();
    sids.sort();
    assert_eq!(sids, [2, 3], "{}", r.stderr);
    let hits = r
        .events
        .iter()
        .filter(|e| e["event_type"] == "stats")
        .filter_map(|e| e["stats"]["detect"]["pcre_limit_hits"].as_u64())
        .max();
    assert_eq!(hits, Some(2), "one give-up per long payload");
}
