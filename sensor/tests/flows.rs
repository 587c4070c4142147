//! Flow table behaviour through the pipeline: caps with eviction that still logs the evicted
//! flow, per-state idle timeouts, VLANs in the key, and anomaly events for bad input.

mod common;

use common::{tcp_frame, Shared};
use etherparse::PacketBuilder;
use icsight_eve::Timestamp;
use sensor::decode::LinkType;
use sensor::eve::EveWriter;
use sensor::{Config, Pipeline};

struct Run {
    pipeline: Pipeline,
    out: Shared,
}

impl Run {
    fn new(edit: impl FnOnce(&mut Config)) -> Run {
        let mut config = Config::unregistered();
        edit(&mut config);
        let out = Shared::default();
        let mut pipeline = Pipeline::new(
            &config,
            EveWriter::new(Box::new(out.clone()), &config.sensor),
        );
        pipeline.begin_capture(LinkType::Ethernet, "test");
        Run { pipeline, out }
    }

    fn packet(&mut self, secs: u64, frame: &[u8]) {
        self.pipeline
            .packet(Timestamp(secs * 1_000_000), frame, frame.len() as u32);
    }

    fn events(&mut self) -> Vec<serde_json::Value> {
        self.pipeline.eve().flush().unwrap();
        let bytes = self.out.0.lock().unwrap();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn udp(src_port: u16, vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2([1; 6], [2; 6]);
    let mut out = Vec::new();
    match vlan {
        Some(v) => eth
            .single_vlan(v.try_into().unwrap())
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(src_port, 20000)
            .write(&mut out, payload)
            .unwrap(),
        None => eth
            .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(src_port, 20000)
            .write(&mut out, payload)
            .unwrap(),
    }
    out
}

fn flows(events: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "flow")
        .collect()
}

#[test]
fn flow_cap_evicts_the_least_recent_and_logs_it() {
    let mut run = Run::new(|c| c.flow.max_flows = 10);
    for port in 0..50u16 {
        run.packet(1000 + u64::from(port), &udp(30000 + port, None, b"x"));
    }
    run.pipeline.refresh_stats(None);
    assert_eq!(run.pipeline.stats().flow.active, 10);
    let ev = run.events();
    let evicted = flows(&ev);
    assert_eq!(evicted.len(), 40, "every evicted flow is logged");
    for (i, f) in evicted.iter().enumerate() {
        assert_eq!(f["flow"]["reason"], "forced");
        assert_eq!(f["src_port"], 30000 + i as u64, "oldest first");
    }
    run.pipeline.finish();
    let ev = run.events();
    let all = flows(&ev);
    assert_eq!(all.len(), 50);
    assert_eq!(
        all.iter()
            .filter(|f| f["flow"]["reason"] == "shutdown")
            .count(),
        10
    );
    assert_eq!(run.pipeline.stats().flow.end_forced, 40);
}

#[test]
fn memcap_evicts_and_logs() {
    // One MiB holds a few thousand flows' fixed state: send many more.
    let mut run = Run::new(|c| c.flow.memcap_mb = 1);
    for port in 0..20_000u16 {
        run.packet(1000, &udp(port, None, b"x"));
    }
    run.pipeline.refresh_stats(None);
    let s = run.pipeline.stats().flow;
    assert!(s.memuse <= 1 << 20, "memuse {} over the cap", s.memuse);
    assert!(s.memcap_evictions > 10_000, "{s:?}");
    assert_eq!(s.end_forced, s.memcap_evictions);
    let ev = run.events();
    assert_eq!(flows(&ev).len() as u64, s.memcap_evictions);
}

#[test]
fn timeouts_follow_protocol_and_state() {
    let mut run = Run::new(|_| {});
    let c = ([10, 0, 0, 1], 40000);
    let s = ([10, 0, 0, 2], 502);
    // A TCP flow closed by FIN both ways (closed: 60 s), one left established (600 s),
    // a UDP flow seen one way only (new: 30 s).
    let closed = [
        tcp_frame(c, s, 1, 0, 0x02, &[]),
        tcp_frame(s, c, 100, 2, 0x12, &[]),
        tcp_frame(c, s, 2, 101, 0x10, &[]),
        tcp_frame(c, s, 2, 101, 0x11, &[]),
        tcp_frame(s, c, 101, 3, 0x11, &[]),
    ];
    for f in &closed {
        run.packet(1000, f);
    }
    let c2 = ([10, 0, 0, 1], 40001);
    for f in [
        tcp_frame(c2, s, 1, 0, 0x02, &[]),
        tcp_frame(s, c2, 100, 2, 0x12, &[]),
        tcp_frame(c2, s, 2, 101, 0x10, &[]),
    ] {
        run.packet(1000, &f);
    }
    run.packet(1000, &udp(5555, None, b"x"));
    let other = udp(6666, None, b"y");
    let reasons = |run: &mut Run| {
        let ev = run.events();
        flows(&ev)
            .iter()
            .map(|f| {
                (
                    f["src_port"].as_u64().unwrap(),
                    f["flow"]["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect::<Vec<_>>()
    };
    run.packet(1031, &other); // 31 s later: only the one-way UDP flow has timed out
    assert_eq!(reasons(&mut run), vec![(5555, "new".into())]);
    run.packet(1061, &other); // the closed TCP flow goes at 60 s
    assert_eq!(
        reasons(&mut run),
        vec![(5555, "new".into()), (40000, "closed".into())]
    );
    run.packet(1400, &other);
    let r = reasons(&mut run);
    assert!(
        !r.iter().any(|(port, _)| *port == 40001),
        "established TCP lives 600 s: {r:?}"
    );
    run.packet(1601, &other);
    let r = reasons(&mut run);
    assert!(r.contains(&(40001, "established".into())), "{r:?}");
    let ev = run.events();
    assert!(flows(&ev).iter().all(|f| f["flow"]["reason"] == "timeout"));
}

#[test]
fn vlan_is_part_of_the_key() {
    let mut run = Run::new(|_| {});
    run.packet(1, &udp(1111, None, b"a"));
    run.packet(1, &udp(1111, Some(10), b"a"));
    run.packet(1, &udp(1111, Some(20), b"a"));
    run.packet(1, &udp(1111, Some(20), b"a"));
    run.pipeline.finish();
    let ev = run.events();
    let f = flows(&ev);
    assert_eq!(f.len(), 3);
    let vlans: Vec<_> = f.iter().map(|f| f.get("vlan").cloned()).collect();
    assert!(vlans.contains(&None));
    assert!(vlans.contains(&Some(serde_json::json!([20]))));
}

#[test]
fn bad_input_becomes_anomaly_events() {
    let mut run = Run::new(|_| {});
    // An Ethernet frame announcing IPv4 whose header is cut short.
    let mut frame = udp(1, None, b"x");
    frame.truncate(14 + 10);
    run.packet(1, &frame);
    // A Modbus flow whose second ADU has protocol id 7.
    let c = ([10, 0, 0, 1], 40000);
    let s = ([10, 0, 0, 2], 502);
    let good = [0u8, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
    let mut bad = good;
    bad[3] = 7;
    run.packet(2, &tcp_frame(c, s, 1, 1, 0x18, &good));
    run.packet(2, &tcp_frame(c, s, 13, 1, 0x18, &bad));
    run.packet(2, &tcp_frame(c, s, 25, 1, 0x18, &good)); // framing found again
    run.pipeline.finish();
    let ev = run.events();
    let name = |e: &serde_json::Value| icsight_eve::anomaly_name_of(e).unwrap_or_default();
    let unanswered = |e: &&serde_json::Value| name(e) == "modbus.unanswered_request";
    let anomalies: Vec<_> = ev
        .iter()
        .filter(|e| e["event_type"] == "anomaly")
        .filter(|e| !unanswered(e))
        .collect();
    assert_eq!(anomalies.len(), 2, "{anomalies:?}");
    assert_eq!(
        ev.iter().filter(unanswered).count(),
        2,
        "neither request is answered"
    );
    assert_eq!(anomalies[0]["anomaly"]["type"], "decode");
    assert_eq!(anomalies[0]["anomaly"]["event"], "decoder.ip.invalid");
    assert_eq!(name(anomalies[1]), "modbus.invalid_protocol_id");
    assert_eq!(
        (
            &anomalies[1]["anomaly"]["app_proto"],
            &anomalies[1]["anomaly"]["event"]
        ),
        (
            &serde_json::json!("modbus"),
            &serde_json::json!("invalid_protocol_id")
        ),
        "Suricata's layout"
    );
    assert_eq!(
        anomalies[1]["anomaly"]["message"],
        "MBAP protocol id 7 is not 0"
    );
    assert_eq!(anomalies[1]["app_proto"], "modbus");
    assert_eq!(ev.iter().filter(|e| e["event_type"] == "modbus").count(), 2);
    let f = flows(&ev)[0];
    assert_eq!(f["tcp"]["midstream"], true);
}
