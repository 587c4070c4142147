//! The per-packet path allocates nothing for in-order traffic: after a flow's first packets
//! (flow creation, protocol detection, the buffer a split PDU first needs), a counting global
//! allocator sees no allocation at all while thousands more packets go through decode, flow
//! lookup, reassembly, Modbus framing and EVE serialization — and none either with rules loaded
//! that match packets (Aho–Corasick and Hyperscan prefilters), transactions and thresholds and
//! write alerts — nor with a baseline watched: its facts checked, its envelopes and polling
//! periods judged. An OPC UA session, its sessions followed and its writes alerted on, allocates
//! nothing either; nor do GOOSE publishers followed, their spoofing reported and alerted on.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::counting::{
    allocations_after_warm_up, allocations_with, allocations_with_rules, Counting,
};
use common::{handshake, tcp_frame};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A Modbus/TCP session whose requests arrive whole, split over two segments, or two to a
/// segment, in turn; every response whole.
fn session(rounds: u16) -> Vec<Vec<u8>> {
    let c = ([10, 1, 1, 10], 40123);
    let s = ([10, 1, 1, 20], 502);
    let (mut cs, mut ss) = (7u32, 90_000u32);
    let mut out = handshake(c, s, cs, ss).to_vec();
    cs += 1;
    ss += 1;
    // Transactions cycle through function codes whose requests and responses differ in
    // layout and size: read holding registers, write multiple registers, read coils, an
    // exception, read device identification (with its objects).
    let adu = |tid: u16, pdu: &[u8]| {
        let t = tid.to_be_bytes();
        let len = (pdu.len() + 1) as u16;
        let l = len.to_be_bytes();
        let mut v = vec![t[0], t[1], 0, 0, l[0], l[1], 1];
        v.extend_from_slice(pdu);
        v
    };
    let req = |tid: u16| match tid % 5 {
        0 => adu(tid, &[3, 0, 0x10, 0, 2]),
        1 => adu(tid, &[16, 0, 0x20, 0, 2, 4, 0x12, 0x34, 0x56, 0x78]),
        2 => adu(tid, &[1, 0, 0, 0, 12]),
        3 => adu(tid, &[3, 0x01, 0xf4, 0, 4]),
        _ => adu(tid, &[43, 14, 1, 0]),
    };
    let resp = |tid: u16| match tid % 5 {
        0 => adu(tid, &[3, 4, 0, 1, 0, 2]),
        1 => adu(tid, &[16, 0, 0x20, 0, 2]),
        2 => adu(tid, &[1, 2, 0xcd, 0x01]),
        3 => adu(tid, &[0x83, 2]),
        _ => adu(
            tid,
            b"\x2b\x0e\x01\x01\x00\x00\x03\x00\x07icsight\x01\x04demo\x02\x031.0",
        ),
    };
    let mut tid = 0u16;
    for round in 0..rounds {
        let send = |bytes: &[u8], cs: &mut u32, out: &mut Vec<Vec<u8>>| {
            out.push(tcp_frame(c, s, *cs, ss, 0x18, bytes));
            *cs += bytes.len() as u32;
        };
        let n = match round % 3 {
            0 => {
                send(&req(tid), &mut cs, &mut out);
                1
            }
            1 => {
                let r = req(tid);
                send(&r[..5], &mut cs, &mut out);
                send(&r[5..], &mut cs, &mut out);
                1
            }
            _ => {
                let two = [req(tid), req(tid + 1)].concat();
                send(&two, &mut cs, &mut out);
                2
            }
        };
        for k in 0..n {
            let r = resp(tid + k);
            out.push(tcp_frame(s, c, ss, cs, 0x18, &r));
            ss += r.len() as u32;
        }
        tid = tid.wrapping_add(n);
    }
    out
}

#[test]
fn in_order_packets_allocate_nothing() {
    let frames = session(6000);
    let warm_up = 30;
    let (mut pipeline, allocations) = allocations_after_warm_up(&frames, warm_up);
    let packets = (frames.len() - warm_up) as u64;
    let stats = pipeline.stats().clone();
    assert_eq!(
        stats.app_layer.modbus.pdus,
        2 * 8000,
        "every request and response was framed"
    );
    assert_eq!(
        pipeline.eve().counts.modbus,
        8000,
        "one event per request/response pair"
    );
    assert_eq!(stats.app_layer.modbus.anomalies, 0);
    assert_eq!(
        allocations, 0,
        "{allocations} allocations over {packets} in-order packets"
    );
}

/// The built-in ruleset and rules of every other kind, several of which fire on [`session`].
fn ruleset() -> Arc<rules::Ruleset> {
    let extra = r#"
alert tcp any any -> any 502 (msg:"MBAP then FC16"; flow:established,to_server; content:"|00 00|"; offset:2; depth:2; content:"|10|"; distance:3; within:1; sid:1;)
alert tcp any any -> any 502 (msg:"pcre only: read of 0x01f4"; pcre:"/^.{7}\x03\x01\xf4/s"; sid:2;)
alert tcp any 502 -> any any (msg:"exception, relative pcre"; content:"|00 00|"; offset:2; depth:2; pcre:"/^.{3}\x83/R"; sid:3;)
alert tcp any any -> any 502 (msg:"FC43 request"; content:"|2b 0e|"; byte_test:1,=,1,0,relative; flowbits:set,seen_mei; sid:4;)
alert tcp any 502 -> any any (msg:"MEI answer after request"; flowbits:isset,seen_mei; content:"icsight"; sid:5;)
alert modbus any any -> any any (msg:"reads, thresholded"; modbus: access read; threshold: type threshold, track by_src, count 100, seconds 1; sid:6;)
alert goose any any -> any any (msg:"tenth heartbeat"; goose.sq_num:10; goose.simulation:no; sid:7;)
"#;
    let mut sources: Vec<(PathBuf, String)> = rules::default::SOURCES
        .iter()
        .map(|(name, text)| (PathBuf::from(name), text.to_string()))
        .collect();
    sources.push((PathBuf::from("extra.rules"), extra.to_owned()));
    let loaded = rules::load_sources(
        &sources,
        &rules::Vars::suricata_defaults(),
        &rules::Classification::builtin(),
    );
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    assert_eq!(
        loaded.ruleset.counts().expressions,
        1,
        "sid 2 goes to Hyperscan"
    );
    Arc::new(loaded.ruleset)
}

#[test]
fn matching_and_alerts_allocate_nothing() {
    let frames = session(6000);
    let warm_up = 30;
    let (mut pipeline, allocations) = allocations_with_rules(&frames, warm_up, Some(ruleset()));
    let alerts = pipeline.eve().counts.alert;
    // Each extra rule fires on its fifth of the transactions; FC16 also fires the built-in
    // write rule and FC43 the device identification rule.
    assert!(alerts > 8000, "{alerts} alerts");
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} packets with rules, {alerts} alerts",
        frames.len() - warm_up
    );
}

#[test]
fn baseline_detection_allocates_nothing() {
    use sensor::baseline::model::Baseline;
    use sensor::baseline::Watch;
    let frames = session(6000);
    let cfg = sensor::Config::unregistered().baseline;
    // Learn on the same traffic, so detection finds it normal and writes nothing.
    let learner = Watch::learn(cfg.clone(), Baseline::default());
    let (mut p, _) = allocations_with(&frames, frames.len(), None, Some(learner));
    p.finish();
    let learned = p.take_watch().unwrap().into_baseline();
    assert_eq!(learned.pairs.len(), 1);
    let watch = Watch::detect(cfg, learned);
    let warm_up = 30;
    let (pipeline, allocations) = allocations_with(&frames, warm_up, None, Some(watch));
    let w = pipeline.watch().unwrap();
    assert_eq!(w.stats.transactions, 8000, "every transaction was checked");
    assert_eq!(w.stats.anomalies, 0);
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} packets checked against a baseline",
        frames.len() - warm_up
    );
}

/// An OPC UA client's anonymous session after its activation: Writes (which the built-in
/// rules alert on, the session being anonymous) and Reads, each answered.
fn opcua_session(rounds: u32) -> Vec<Vec<u8>> {
    let c = ([10, 1, 1, 10], 40124);
    let s = ([10, 1, 1, 30], 4840);
    let (mut cs, mut ss) = (11u32, 70_000u32);
    let mut out = handshake(c, s, cs, ss).to_vec();
    cs += 1;
    ss += 1;
    let string = |b: &[u8]| [&(b.len() as i32).to_le_bytes()[..], b].concat();
    let chunk = |body: &[u8], seq: u32| {
        let mut v = b"MSGF".to_vec();
        v.extend_from_slice(&(24 + body.len() as u32).to_le_bytes());
        for n in [5u32, 1, seq, seq] {
            v.extend_from_slice(&n.to_le_bytes());
        }
        v.extend_from_slice(body);
        v
    };
    let request = |id: u16, handle: u32, rest: &[u8]| {
        let mut v = vec![0x01, 0x00];
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&[0x02, 1, 0, 0x2a, 0, 0, 0]);
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&handle.to_le_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
        v.extend_from_slice(rest);
        chunk(&v, handle)
    };
    let response = |id: u16, handle: u32, rest: &[u8]| {
        let mut v = vec![0x01, 0x00];
        v.extend_from_slice(&id.to_le_bytes());
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&handle.to_le_bytes());
        v.extend_from_slice(&[0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0]);
        v.extend_from_slice(rest);
        chunk(&v, handle)
    };
    let node = [&[0x03, 2, 0][..], &string(b"Setpoint")].concat();
    let activate = {
        let mut b = [[0xff; 4]; 4].concat();
        b.extend_from_slice(&[0x01, 0x00, 0x41, 0x01, 0x01]);
        b.extend_from_slice(&string(&string(b"anonymous")));
        b.extend_from_slice(&[0xff; 8]);
        request(467, 1, &b)
    };
    let mut send = |bytes: &[u8], up: bool, out: &mut Vec<Vec<u8>>| {
        if up {
            out.push(tcp_frame(s, c, ss, cs, 0x18, bytes));
            ss += bytes.len() as u32;
        } else {
            out.push(tcp_frame(c, s, cs, ss, 0x18, bytes));
            cs += bytes.len() as u32;
        }
    };
    send(&activate, false, &mut out);
    send(&response(470, 1, &[]), true, &mut out);
    for round in 0..rounds {
        let h = 2 + 2 * round;
        let mut w = 1i32.to_le_bytes().to_vec();
        w.extend_from_slice(&node);
        w.extend_from_slice(&[13, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x01, 11]);
        w.extend_from_slice(&(500.0 + f64::from(round % 7)).to_le_bytes());
        send(&request(673, h, &w), false, &mut out);
        send(&response(676, h, &[1, 0, 0, 0, 0, 0, 0, 0]), true, &mut out);
        let mut r = vec![0; 8];
        r.extend_from_slice(&[0, 0, 0, 0, 1, 0, 0, 0]);
        r.extend_from_slice(&node);
        r.extend_from_slice(&[
            13, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff,
        ]);
        send(&request(631, h + 1, &r), false, &mut out);
        let mut v = vec![1, 0, 0, 0, 0x01, 11];
        v.extend_from_slice(&497.5f64.to_le_bytes());
        send(&response(634, h + 1, &v), true, &mut out);
    }
    out
}

#[test]
fn opcua_sessions_with_rules_allocate_nothing() {
    let rounds = 4000;
    let frames = opcua_session(rounds);
    let warm_up = 40;
    let (mut pipeline, allocations) = allocations_with_rules(&frames, warm_up, Some(ruleset()));
    let events = pipeline.eve().counts.opcua;
    let alerts = pipeline.eve().counts.alert;
    assert_eq!(events, 2 + 4 * u64::from(rounds), "one event per chunk");
    assert_eq!(pipeline.stats().app_layer.opcua.anomalies, 0);
    // The built-in rule on Writes in anonymous sessions fires on every one.
    assert!(alerts >= u64::from(rounds), "{alerts} alerts");
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} OPC UA packets, {alerts} alerts",
        frames.len() - warm_up
    );
}

/// A VLAN-tagged GOOSE frame of publisher `p` (its MAC and control block), with `stNum`,
/// `sqNum` and a time of change of second `st`.
fn goose_frame(p: u8, st: u32, sq: u32) -> Vec<u8> {
    fn tlv(tag: u8, v: &[u8]) -> Vec<u8> {
        let mut out = vec![tag, v.len() as u8];
        out.extend_from_slice(v);
        out
    }
    let mut pdu = Vec::new();
    pdu.extend(tlv(0x80, format!("IED{p:03}LD0/LLN0$GO$gcb01").as_bytes()));
    pdu.extend(tlv(0x81, &2000u16.to_be_bytes()));
    pdu.extend(tlv(0x82, format!("IED{p:03}LD0/LLN0$Trips").as_bytes()));
    let mut t = st.to_be_bytes().to_vec();
    t.extend_from_slice(&[0, 0, 0, 0x0a]);
    pdu.extend(tlv(0x84, &t));
    pdu.extend(tlv(0x85, &st.to_be_bytes()));
    pdu.extend(tlv(0x86, &sq.to_be_bytes()));
    pdu.extend(tlv(0x87, &[0]));
    pdu.extend(tlv(0x88, &[1]));
    pdu.extend(tlv(0x89, &[0]));
    pdu.extend(tlv(0x8a, &[2]));
    let mut members = tlv(0x83, &[u8::from(st > 1)]);
    members.extend(tlv(0x84, &[0x03, 0x00, 0x00]));
    pdu.extend(tlv(0xab, &members));
    let apdu = tlv(0x61, &pdu);
    let mut f = vec![
        0x01, 0x0c, 0xcd, 0x01, 0x00, 0x01, 0x00, 0x1b, 0x1b, 0x00, 0x00, p,
    ];
    f.extend_from_slice(&[0x81, 0x00, 0x80, 0x0a, 0x88, 0xb8, 0x10, p]);
    f.extend_from_slice(&(8 + apdu.len() as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend(apdu);
    f
}

#[test]
fn goose_publishers_followed_and_alerted_on_allocate_nothing() {
    const PUBLISHERS: u8 = 200;
    let every = |st: u32, sq: u32| (0..PUBLISHERS).map(move |p| goose_frame(p, st, sq));
    // The publishers first seen (their state allocated) in the warm-up; then heartbeats, a
    // spoofer jumping each stNum, the genuine frames behind it, a forged sqNum reset, and
    // heartbeats again.
    let mut frames: Vec<Vec<u8>> = every(1, 0).collect();
    let warm_up = frames.len();
    for sq in 1..=20 {
        frames.extend(every(1, sq));
    }
    frames.extend(every(101, 0));
    frames.extend(every(1, 21));
    frames.extend(every(1, 0));
    for sq in 1..=20 {
        frames.extend(every(1, sq));
    }
    let (mut pipeline, allocations) = allocations_with_rules(&frames, warm_up, Some(ruleset()));
    let stats = pipeline.stats().goose;
    assert_eq!(stats.frames, frames.len() as u64);
    assert_eq!(stats.publishers, u64::from(PUBLISHERS));
    assert_eq!(stats.anomalies, 3 * u64::from(PUBLISHERS), "{stats:?}");
    let eve = &pipeline.eve().counts;
    assert_eq!(eve.goose, frames.len() as u64);
    // Each publisher's three findings, by the built-in rules, and its two tenth heartbeats.
    assert_eq!(eve.alert, 5 * u64::from(PUBLISHERS));
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} GOOSE frames, {} alerts",
        frames.len() - warm_up,
        eve.alert
    );
}
