//! The sensor against tshark, the decoding oracle.
//!
//! * Flows: for every capture in the public corpus whose manifest row shows Modbus, S7comm or
//!   DNP3, `sensor replay` exits 0 and its TCP and UDP flow counts equal tshark's conversation
//!   counts. tshark never ends a conversation for idleness, so the sensor runs with
//!   `tests/conformance.toml`, whose timeouts outlast any capture.
//! * Framing: on the project's own captures, the PDUs the sensor frames per protocol equal the
//!   PDUs tshark dissects.

use std::path::{Path, PathBuf};

use icsight_tests::{manifest_captures, par_map, replay, root, tshark, tshark_conversations};

fn flow_counts(events: &[serde_json::Value]) -> (usize, usize) {
    let count = |proto: &str| {
        events
            .iter()
            .filter(|e| e["event_type"] == "flow" && e["proto"] == proto)
            .count()
    };
    (count("TCP"), count("UDP"))
}

/// Manifest rows whose tshark column shows one of our protocols.
fn ics_captures() -> Vec<PathBuf> {
    manifest_captures(&["mbtcp=", "modbus=", "s7comm", "dnp3="])
}

#[test]
fn flow_counts_equal_tshark_on_public_ics_captures() {
    let captures = ics_captures();
    assert!(
        captures.len() >= 250,
        "only {} ICS captures in the manifest",
        captures.len()
    );
    let config = root().join("tests/conformance.toml");
    let mismatches: Vec<String> = par_map(&captures, |path| {
        let r = replay(&[path.as_path()], &config);
        let ours = flow_counts(&r.events);
        let theirs = tshark_conversations(path);
        (r.status != 0 || ours != theirs).then(|| {
            format!(
                "{}: sensor exit {} tcp/udp {:?}, tshark {:?}; {}",
                path.display(),
                r.status,
                ours,
                theirs,
                r.stderr.trim()
            )
        })
    })
    .into_iter()
    .flatten()
    .collect();
    assert!(
        mismatches.is_empty(),
        "{} of {} captures differ from tshark:\n{}",
        mismatches.len(),
        captures.len(),
        mismatches.join("\n")
    );
    eprintln!("{} captures: flow counts equal tshark's", captures.len());
}

/// How many times tshark sees `field` in `pcap` (a frame may hold several PDUs).
fn tshark_field_count(pcap: &Path, decode_as: &[&str], field: &str) -> u64 {
    let mut args: Vec<&str> = decode_as.iter().flat_map(|d| ["-d", *d]).collect();
    args.extend(["-T", "fields", "-e", field]);
    tshark(pcap, &args)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').count() as u64)
        .sum()
}

#[test]
fn pdu_framing_equals_tshark_on_project_captures() {
    let dir = root().join("pcaps");
    let config = root().join("tests/conformance.toml");
    let cases: [(&str, &[&str], &str, &str); 7] = [
        (
            "modbus_pymodbus_libmodbus.pcap",
            &[],
            "mbtcp.trans_id",
            "modbus",
        ),
        (
            "modbus_pymodbus_offport.pcap",
            &["tcp.port==5020,mbtcp"],
            "mbtcp.trans_id",
            "modbus",
        ),
        ("s7comm_snap7.pcap", &[], "tpkt.version", "s7comm"),
        ("s7comm_snap7_control.pcap", &[], "tpkt.version", "s7comm"),
        (
            "s7comm_snap7_control_native.pcap",
            &[],
            "tpkt.version",
            "s7comm",
        ),
        ("dnp3_opendnp3.pcap", &[], "dnp3.start", "dnp3"),
        ("dnp3_opendnp3_udp.pcap", &[], "dnp3.start", "dnp3"),
    ];
    for (file, decode_as, field, proto) in cases {
        let path = dir.join(file);
        let r = replay(&[path.as_path()], &config);
        assert_eq!(r.status, 0, "{file}: {}", r.stderr);
        let stats = r
            .events
            .iter()
            .rev()
            .find(|e| e["event_type"] == "stats")
            .expect("stats event");
        let ours = stats["stats"]["app_layer"][proto]["pdus"]
            .as_u64()
            .expect("pdu counter");
        let theirs = tshark_field_count(&path, decode_as, field);
        assert!(theirs > 0, "{file}: tshark saw no {field}");
        assert_eq!(
            ours, theirs,
            "{file}: sensor framed {ours} {proto} PDUs, tshark {theirs}"
        );
        assert_eq!(stats["stats"]["app_layer"][proto]["anomalies"], 0, "{file}");
        let flows_with_proto = r
            .events
            .iter()
            .filter(|e| e["event_type"] == "flow" && e["app_proto"] == proto)
            .count();
        assert!(flows_with_proto >= 1, "{file}: no flow detected as {proto}");
        if proto == "modbus" {
            let adus: u64 = r
                .events
                .iter()
                .filter(|e| e["event_type"] == "modbus")
                .map(|e| {
                    u64::from(e["modbus"].get("request").is_some())
                        + u64::from(e["modbus"].get("response").is_some())
                })
                .sum();
            assert_eq!(adus, theirs, "{file}: every ADU in a modbus event");
        }
    }
}
