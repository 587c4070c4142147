//! S7comm end to end through the sensor binary: COTP data TPDUs split into fragments give the
//! same events as the whole TPDU (and tshark sees the same PDUs), an overlong fragment sequence
//! is dropped with an anomaly, and each malformed PDU raises its named, counted anomaly.

mod common;

use std::process::Command;

use common::counting::{counted, Counting};
use common::{handshake, replay_events, tcp_frame, write_pcap};
use serde_json::Value;

#[global_allocator]
static GLOBAL: Counting = Counting;

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40100);
const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 102);

/// COTP CR from a Snap7 client (TSAPs 0x0100 / 0x0102, TPDU size 1024).
const CR: [u8; 18] = [
    0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2, 0x02,
    0x01, 0x02,
];
/// Read var job: DB1.DBB0, 64 bytes, PDU reference 0x0b00 (Snap7).
const READ_JOB: [u8; 24] = [
    0x32, 0x01, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x0e, 0x00, 0x00, //
    0x04, 0x01, 0x12, 0x0a, 0x10, 0x02, 0x00, 0x40, 0x00, 0x01, 0x84, 0x00, 0x00, 0x00,
];

fn read_ack() -> Vec<u8> {
    let mut b = vec![
        0x32, 0x03, 0x00, 0x00, 0x0b, 0x00, 0x00, 0x02, 0x00, 0x44, 0x00, 0x00, //
        0x04, 0x01, 0xff, 0x04, 0x02, 0x00,
    ];
    b.extend((0..64).map(|i| i as u8));
    b
}

/// A TPKT around a COTP TPDU.
fn tpkt(cotp: &[u8]) -> Vec<u8> {
    let len = (cotp.len() + 4) as u16;
    let mut b = vec![3, 0];
    b.extend(len.to_be_bytes());
    b.extend_from_slice(cotp);
    b
}

/// A TPKT around a COTP DT TPDU carrying `payload`.
fn dt(eot: bool, payload: &[u8]) -> Vec<u8> {
    let mut c = vec![0x02, 0xf0, if eot { 0x80 } else { 0x00 }];
    c.extend_from_slice(payload);
    tpkt(&c)
}

/// A TCP session on port 102: handshake, then each (to server?, bytes) as one segment.
fn session(segments: &[(bool, Vec<u8>)]) -> Vec<(u64, Vec<u8>)> {
    session_with_hole(segments, usize::MAX, 0)
}

/// As [`session`], but `hole` bytes of the client's stream are never sent before segment `at`.
fn session_with_hole(segments: &[(bool, Vec<u8>)], at: usize, hole: u32) -> Vec<(u64, Vec<u8>)> {
    let (mut cs, mut ss) = (100u32, 9000u32);
    let mut t = 1_700_000_000_000_000u64;
    let mut out = Vec::new();
    let mut push = |f: Vec<u8>| {
        t += 1000;
        out.push((t, f));
    };
    for frame in handshake(CLIENT, SERVER, cs, ss) {
        push(frame);
    }
    cs += 1;
    ss += 1;
    for (i, (up, bytes)) in segments.iter().enumerate() {
        if i == at {
            cs += hole;
        }
        if *up {
            push(tcp_frame(CLIENT, SERVER, cs, ss, 0x18, bytes));
            cs += bytes.len() as u32;
        } else {
            push(tcp_frame(SERVER, CLIENT, ss, cs, 0x18, bytes));
            ss += bytes.len() as u32;
        }
    }
    push(tcp_frame(CLIENT, SERVER, cs, ss, 0x11, &[]));
    push(tcp_frame(SERVER, CLIENT, ss, cs + 1, 0x11, &[]));
    out
}

/// The `s7comm` bodies of S7 PDUs, without the TPDU count.
fn pdus(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["event_type"] == "s7comm" && e["s7comm"].get("rosctr").is_some())
        .map(|e| {
            let mut b = e["s7comm"].clone();
            b.as_object_mut().unwrap().remove("tpdus");
            b
        })
        .collect()
}

#[test]
fn fragmented_tpdus_give_the_whole_pdu() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.pcap");
    let split = dir.path().join("split.pcap");
    let cc = {
        let mut c = CR;
        c[1] = 0xd0;
        c
    };
    let head = [(true, tpkt(&CR)), (false, tpkt(&cc))];
    let mut a = head.to_vec();
    a.extend([(true, dt(true, &READ_JOB)), (false, dt(true, &read_ack()))]);
    let ack = read_ack();
    let mut b = head.to_vec();
    b.extend([
        (true, dt(false, &READ_JOB[..10])),
        (true, dt(true, &READ_JOB[10..])),
        (false, dt(false, &ack[..20])),
        (false, dt(false, &ack[20..50])),
        (false, dt(true, &ack[50..])),
    ]);
    write_pcap(&whole, 1, &session(&a));
    write_pcap(&split, 1, &session(&b));
    let (ea, eb) = (replay_events(&whole), replay_events(&split));
    let (pa, pb) = (pdus(&ea), pdus(&eb));
    assert_eq!(pa.len(), 2);
    assert_eq!(pa, pb);
    assert_eq!(pb[0]["items"][0]["db"], 1);
    assert_eq!(pb[1]["job_function"], "read_var");
    let tpdus: Vec<_> = eb
        .iter()
        .filter(|e| e["event_type"] == "s7comm" && e["s7comm"].get("rosctr").is_some())
        .map(|e| e["s7comm"]["tpdus"].as_u64().unwrap_or(1))
        .collect();
    assert_eq!(tpdus, [2, 3]);
    // tshark reassembles the same two PDUs, with the same item.
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&split)
        .args(["-Y", "s7comm", "-T", "fields", "-e", "s7comm.header.rosctr"])
        .args(["-e", "s7comm.param.item.db"])
        .output()
        .expect("tshark");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows, ["1\t1", "3\t"]);
    let stats = &eb.last().unwrap()["stats"]["app_layer"]["s7comm"];
    assert_eq!(stats["anomalies"], 0);
}

#[test]
fn anomalies_are_named_and_counted() {
    let mut segs = vec![(true, tpkt(&CR))];
    // 70 fragments of 1000 bytes, EOT clear, then the last: beyond the 64 KiB cap.
    for _ in 0..70 {
        segs.push((true, dt(false, &[0u8; 1000])));
    }
    segs.push((true, dt(true, &[0u8; 10])));
    // After it, PDUs are decoded again.
    segs.push((true, dt(true, &READ_JOB)));
    let mut reserved = READ_JOB;
    reserved[1] = 5;
    segs.push((true, dt(true, &reserved)));
    let mut unknown = READ_JOB;
    unknown[10] = 0x99;
    segs.push((true, dt(true, &unknown)));
    let mut mismatch = READ_JOB;
    mismatch[11] = 2;
    segs.push((true, dt(true, &mismatch)));
    let mut long = READ_JOB;
    long[7] = 100;
    segs.push((true, dt(true, &long)));
    let mut many = READ_JOB[..10].to_vec();
    many.extend([0x04, 21]);
    for _ in 0..21 {
        many.extend_from_slice(&READ_JOB[12..]);
    }
    let plen = (many.len() - 10) as u16;
    many[6..8].copy_from_slice(&plen.to_be_bytes());
    segs.push((true, dt(true, &many)));
    let mut orphan = read_ack();
    orphan[4] = 0x77;
    segs.push((false, dt(true, &orphan)));
    segs.push((true, dt(true, &[0x55, 1, 2, 3])));
    segs.push((true, tpkt(&[0x02, 0x30, 0x00])));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anomalies.pcap");
    write_pcap(&path, 1, &session(&segs));
    let events = replay_events(&path);
    let stats = &events.last().unwrap()["stats"]["app_layer"]["s7comm"];
    let named = [
        "s7comm.fragment_too_long",
        "s7comm.reserved_rosctr",
        "s7comm.unknown_function",
        "s7comm.item_count_mismatch",
        "s7comm.invalid_length",
        "s7comm.too_many_items",
        "s7comm.ack_data_without_job",
        "s7comm.unknown_protocol_id",
        "s7comm.invalid_cotp_type",
    ];
    for name in named {
        assert_eq!(stats["anomaly"][name], 1, "{name}: {stats}");
        assert!(
            events.iter().any(|e| e["event_type"] == "anomaly"
                && icsight_eve::anomaly_name_of(e).as_deref() == Some(name)),
            "no anomaly event {name}"
        );
    }
    assert_eq!(stats["anomalies"], named.len() as u64);
    let p = pdus(&events);
    assert_eq!(p.len(), 7, "{p:?}");
    assert_eq!(p[0]["function"], "read_var");
    assert_eq!(p[1]["rosctr"], "unknown");
    assert_eq!(p[2]["function"], "unknown");
    assert_eq!(p[5]["item_count"], 21);
}

#[test]
fn a_gap_drops_the_open_fragment_sequence() {
    // A fragment whose sequence the gap cuts, then a whole job after the gap: the job must not
    // be joined to the stale fragment.
    let segs = [
        (true, tpkt(&CR)),
        (true, dt(false, &READ_JOB[..10])),
        (true, dt(true, &READ_JOB)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gap.pcap");
    write_pcap(&path, 1, &session_with_hole(&segs, 2, 100));
    let events = replay_events(&path);
    let stats = &events.last().unwrap()["stats"]["app_layer"]["s7comm"];
    assert_eq!(stats["gaps"], 1, "{stats}");
    let p = pdus(&events);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0]["items"][0]["db"], 1);
    assert_eq!(p[0]["param_length"], 14);
    assert_eq!(stats["anomalies"], 0, "{stats}");
}

/// Read SZL 0x0011 request (Snap7 client).
const SZL_REQ: [u8; 26] = [
    0x32, 0x07, 0x00, 0x00, 0x01, 0x00, 0x00, 0x08, 0x00, 0x08, //
    0x00, 0x01, 0x12, 0x04, 0x11, 0x44, 0x01, 0x00, //
    0xff, 0x09, 0x00, 0x04, 0x00, 0x11, 0x00, 0x00,
];

#[test]
fn in_order_s7_traffic_allocates_nothing() {
    use icsight_eve::Timestamp;
    use sensor::decode::LinkType;
    use sensor::eve::EveWriter;
    use sensor::{Config, Pipeline};

    let ack = read_ack();
    let mut segs = vec![(true, tpkt(&CR))];
    for _ in 0..2000 {
        segs.extend([
            (true, dt(true, &READ_JOB)),
            (false, dt(true, &ack)),
            (true, dt(false, &READ_JOB[..10])),
            (true, dt(true, &READ_JOB[10..])),
            (false, dt(false, &ack[..30])),
            (false, dt(true, &ack[30..])),
            (true, dt(true, &SZL_REQ)),
        ]);
    }
    let frames = session(&segs);
    let config = Config::unregistered();
    let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
    let mut pipeline = Pipeline::new(&config, eve);
    pipeline.begin_capture(LinkType::Ethernet, "test");
    let warm_up = 40;
    let (head, tail) = frames.split_at(warm_up);
    let (body, _fin) = tail.split_at(tail.len() - 2);
    for (ts, f) in head {
        pipeline.packet(Timestamp(*ts), f, f.len() as u32);
    }
    let ((), allocations) = counted(|| {
        for (ts, f) in body {
            pipeline.packet(Timestamp(*ts), f, f.len() as u32);
        }
    });
    let stats = pipeline.stats().clone();
    assert_eq!(stats.app_layer.s7comm.pdus, 1 + 2000 * 7);
    assert_eq!(stats.app_layer.s7comm.anomalies, 0);
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} in-order packets",
        body.len()
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Arbitrary COTP TPDUs and S7 / S7comm-plus bodies in a session: the logger never panics
    /// and every TPKT is counted.
    #[test]
    fn arbitrary_tpdus_never_panic(
        tpdus in proptest::collection::vec(
            (proptest::bool::ANY, 0u8..4, proptest::collection::vec(proptest::num::u8::ANY, 0..80)),
            1..40,
        ),
    ) {
        use sensor::decode::LinkType;
        use icsight_eve::Timestamp;
use sensor::eve::EveWriter;
        use sensor::{Config, Pipeline};

        let segs: Vec<(bool, Vec<u8>)> = tpdus
            .into_iter()
            .map(|(up, kind, mut body)| {
                let bytes = match kind {
                    0 => {
                        // An S7 header with random lengths and body.
                        let mut b = READ_JOB[..10].to_vec();
                        b.append(&mut body);
                        dt(true, &b)
                    }
                    1 => {
                        body.insert(0, 0x72);
                        dt(up, &body)
                    }
                    2 => {
                        body.insert(0, 0x32);
                        dt(body.len() % 3 != 0, &body)
                    }
                    _ => {
                        // Any COTP TPDU with a length indicator that fits.
                        let li = body.len().saturating_sub(1).min(usize::from(*body.first().unwrap_or(&0)));
                        if let Some(b) = body.first_mut() {
                            *b = li as u8;
                        } else {
                            body = vec![0, 0xf0];
                        }
                        if body.len() < 3 {
                            body.resize(3, 0);
                        }
                        tpkt(&body)
                    }
                };
                (up, bytes)
            })
            .collect();
        let n = segs.len() as u64;
        let frames = session(&[vec![(true, tpkt(&CR))], segs].concat());
        let config = Config::unregistered();
        let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
        let mut pipeline = Pipeline::new(&config, eve);
        pipeline.begin_capture(LinkType::Ethernet, "test");
        for (ts, f) in &frames {
            pipeline.packet(Timestamp(*ts), f, f.len() as u32);
        }
        pipeline.finish();
        let stats = pipeline.stats().clone();
        proptest::prop_assert!(stats.app_layer.s7comm.pdus <= n + 1);
    }
}
