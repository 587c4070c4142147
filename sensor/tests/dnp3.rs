//! DNP3 through the whole pipeline: fragments split over TCP segments and link frames, junk
//! between frames, and the allocation-free steady state.

mod common;

use common::counting::{allocations_after_warm_up, Counting};
use common::{handshake, tcp_frame};
use decoders::dnp3::link::crc;
use icsight_eve::Timestamp;
use sensor::decode::LinkType;
use sensor::eve::EveWriter;
use sensor::{Config, Pipeline};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Link frames carrying `app` (an application fragment) in transport segments.
fn frames(control: u8, dst: u16, src: u16, app: &[u8], seq: &mut u8) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = app.chunks(249).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut th = *seq & 0x3f;
        *seq = seq.wrapping_add(1);
        if i == 0 {
            th |= 0x40;
        }
        if i + 1 == chunks.len() {
            th |= 0x80;
        }
        let mut user = vec![th];
        user.extend_from_slice(chunk);
        let len = (user.len() + 5) as u8;
        let mut f = vec![0x05, 0x64, len, control];
        f.extend_from_slice(&dst.to_le_bytes());
        f.extend_from_slice(&src.to_le_bytes());
        f.extend_from_slice(&crc(&f).to_le_bytes());
        for block in user.chunks(16) {
            f.extend_from_slice(block);
            f.extend_from_slice(&crc(block).to_le_bytes());
        }
        out.extend(f);
    }
    out
}

/// A master polling an outstation: a read of class 0, answered by 10 analog inputs (g30v1);
/// every third answer also carries 60 counters (g20v1) and spans two link frames; every
/// other request is split over two TCP segments; every 50th round puts junk before the request.
fn session(rounds: u16) -> Vec<Vec<u8>> {
    let c = ([10, 1, 1, 10], 40123);
    let s = ([10, 1, 1, 20], 20000);
    let (mut cs, mut ss) = (7u32, 90_000u32);
    let mut out = handshake(c, s, cs, ss).to_vec();
    cs += 1;
    ss += 1;
    let (mut mseq, mut oseq) = (0u8, 0u8);
    for round in 0..rounds {
        let app_seq = (round & 0x0f) as u8;
        let mut req = frames(
            0xc4,
            10,
            1,
            &[0xc0 | app_seq, 0x01, 0x3c, 0x01, 0x06],
            &mut mseq,
        );
        if round % 50 == 49 {
            let mut junk = b"\x05\x64junk".to_vec();
            junk.extend(req);
            req = junk;
        }
        let parts: Vec<&[u8]> = if round % 2 == 0 {
            vec![&req[..]]
        } else {
            vec![&req[..7], &req[7..]]
        };
        for p in parts {
            out.push(tcp_frame(c, s, cs, ss, 0x18, p));
            cs += p.len() as u32;
        }
        let mut app = vec![0xc0 | app_seq, 0x81, 0x00, 0x00, 30, 1, 0x00, 0, 9];
        for i in 0..10u8 {
            app.extend([0x01, i, 0, 0, 0]);
        }
        if round % 3 == 0 {
            app.extend([20, 1, 0x00, 0, 59]);
            for i in 0..60u8 {
                app.extend([0x01, i, 1, 0, 0]);
            }
        }
        let resp = frames(0x44, 1, 10, &app, &mut oseq);
        out.push(tcp_frame(s, c, ss, cs, 0x18, &resp));
        ss += resp.len() as u32;
    }
    out
}

#[test]
fn polls_decode_and_allocate_nothing() {
    let rounds = 3000;
    let frames = session(rounds);
    // Warm up past the first two-frame response and the first junk.
    let warm_up = 200;
    let (mut pipeline, allocations) = allocations_after_warm_up(&frames, warm_up);
    let stats = pipeline.stats().clone();
    let dnp3 = &stats.app_layer.dnp3;
    let junk = u64::from(rounds / 50);
    assert_eq!(
        dnp3.anomaly.get("dnp3.bad_start_bytes") + dnp3.anomaly.get("dnp3.bad_link_crc"),
        junk,
        "one anomaly per run of junk"
    );
    assert_eq!(dnp3.anomalies, junk, "nothing else is odd");
    let counts = &pipeline.eve().counts;
    assert_eq!(
        counts.dnp3,
        2 * u64::from(rounds),
        "one dnp3 event per request and per response"
    );
    assert_eq!(counts.anomaly, junk);
    assert_eq!(
        allocations,
        0,
        "{allocations} allocations over {} packets",
        frames.len() - warm_up
    );
}

#[test]
fn a_gap_drops_the_fragment_being_gathered() {
    // A response of two link frames whose TCP segments a hole separates, then a whole response:
    // the second half must not complete the first, though its transport sequence follows on.
    let c = ([10, 1, 1, 10], 40123);
    let s = ([10, 1, 1, 20], 20000);
    let (mut cs, mut ss) = (7u32, 90_000u32);
    let mut out = handshake(c, s, cs, ss).to_vec();
    cs += 1;
    ss += 1;
    let mut app = vec![0xc0, 0x81, 0x00, 0x00, 20, 1, 0x00, 0, 59];
    for i in 0..60u8 {
        app.extend([0x01, i, 1, 0, 0]);
    }
    let mut oseq = 0u8;
    let split = frames(0x44, 1, 10, &app, &mut oseq);
    // The first link frame: a 10-byte header, then user data in CRC'd blocks of 16.
    let user = usize::from(split[2]) - 5;
    let first_len = 10 + user / 16 * 18 + if user % 16 > 0 { user % 16 + 2 } else { 0 };
    assert!(
        first_len < split.len(),
        "the response spans two link frames"
    );
    let whole = frames(0x44, 1, 10, &[0xc1, 0x81, 0x00, 0x00], &mut oseq);
    out.push(tcp_frame(s, c, ss, cs, 0x18, &split[..first_len]));
    ss += first_len as u32 + 100; // a hole of 100 bytes
    out.push(tcp_frame(s, c, ss, cs, 0x18, &split[first_len..]));
    ss += (split.len() - first_len) as u32;
    out.push(tcp_frame(s, c, ss, cs, 0x18, &whole));

    let config = Config::unregistered();
    let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
    let mut pipeline = Pipeline::new(&config, eve);
    pipeline.begin_capture(LinkType::Ethernet, "test");
    let mut ts = 1_700_000_000_000_000u64;
    for f in &out {
        ts += 100;
        pipeline.packet(Timestamp(ts), f, f.len() as u32);
    }
    pipeline.finish();
    assert_eq!(pipeline.stats().app_layer.dnp3.gaps, 1);
    assert_eq!(
        pipeline.eve().counts.dnp3,
        1,
        "only the whole response after the gap is logged"
    );
}
