//! TCP reassembly end to end: a real Modbus/TCP session (pymodbus ↔ libmodbus, from `pcaps/`)
//! re-cut into 1-byte segments, shuffled, with duplicated and overlapping retransmissions,
//! yields exactly the ADUs of the original, in order, in each direction.

mod common;

use common::{replay_events, root, tcp_frame, write_pcap};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

type Endpoint = ([u8; 4], u16);

/// The first TCP connection of a capture: its endpoints, ISNs and the bytes each side sent.
struct Session {
    client: Endpoint,
    server: Endpoint,
    isn: [u32; 2],
    data: [Vec<u8>; 2],
}

fn first_session(path: &std::path::Path) -> Session {
    let mut cap = pcap::Capture::from_file(path).unwrap();
    let mut s: Option<Session> = None;
    while let Ok(p) = cap.next_packet() {
        let sliced = SlicedPacket::from_ethernet(p.data).unwrap();
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) =
            (&sliced.net, &sliced.transport)
        else {
            continue;
        };
        let src = (ip.header().source(), tcp.source_port());
        let dst = (ip.header().destination(), tcp.destination_port());
        match &mut s {
            None if tcp.syn() && !tcp.ack() => {
                s = Some(Session {
                    client: src,
                    server: dst,
                    isn: [tcp.sequence_number(), 0],
                    data: [Vec::new(), Vec::new()],
                })
            }
            Some(s) if (src, dst) == (s.client, s.server) || (src, dst) == (s.server, s.client) => {
                let d = usize::from(src == s.server);
                if tcp.syn() {
                    s.isn[d] = tcp.sequence_number();
                }
                // The capture is in order on loopback: append each new byte once.
                let payload = tcp.payload();
                let rel = tcp.sequence_number().wrapping_sub(s.isn[d].wrapping_add(1)) as usize;
                if rel + payload.len() > s.data[d].len() && rel <= s.data[d].len() {
                    let fresh = &payload[s.data[d].len() - rel..];
                    s.data[d].extend_from_slice(fresh);
                }
            }
            _ => {}
        }
    }
    s.expect("a TCP connection")
}

/// The same session on the wire again: handshake, then every byte in its own segment plus
/// duplicates and overlapping retransmissions, then FIN both ways. Even seeds shuffle all
/// segments; odd seeds shuffle within windows of 8, so that retransmissions often straddle the
/// point up to which the stream has been delivered.
fn recut(s: &Session, seed: u64) -> Vec<(u64, Vec<u8>)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let ends = [(s.client, s.server), (s.server, s.client)];
    let next = |d: usize| s.isn[d].wrapping_add(1);
    let mut frames = vec![
        tcp_frame(s.client, s.server, s.isn[0], 0, 0x02, &[]),
        tcp_frame(s.server, s.client, s.isn[1], next(0), 0x12, &[]),
        tcp_frame(s.client, s.server, next(0), next(1), 0x10, &[]),
    ];
    let mut segments = Vec::new();
    for (d, &(from, to)) in ends.iter().enumerate() {
        let ack = next(1 - d);
        let bytes = &s.data[d];
        for i in 0..bytes.len() {
            let seq = next(d).wrapping_add(i as u32);
            segments.push(tcp_frame(from, to, seq, ack, 0x18, &bytes[i..=i]));
            if rng.gen_bool(0.1) {
                segments.push(tcp_frame(from, to, seq, ack, 0x18, &bytes[i..=i]));
            }
            if rng.gen_bool(0.1) {
                let len = rng.gen_range(2..48).min(bytes.len() - i);
                segments.push(tcp_frame(from, to, seq, ack, 0x18, &bytes[i..i + len]));
            }
        }
    }
    if seed.is_multiple_of(2) {
        segments.shuffle(&mut rng);
    } else {
        segments.chunks_mut(8).for_each(|w| w.shuffle(&mut rng));
    }
    frames.extend(segments);
    let fin_seq = |d: usize| next(d).wrapping_add(s.data[d].len() as u32);
    frames.push(tcp_frame(
        s.client,
        s.server,
        fin_seq(0),
        fin_seq(1),
        0x11,
        &[],
    ));
    frames.push(tcp_frame(
        s.server,
        s.client,
        fin_seq(1),
        fin_seq(0).wrapping_add(1),
        0x11,
        &[],
    ));
    frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| (1_700_000_000_000_000 + i as u64 * 10, f))
        .collect()
}

/// The ADUs of the flow whose client port is `port`: (requests, responses).
fn adus(
    pcap: &std::path::Path,
    port: u16,
) -> (
    Vec<serde_json::Value>,
    Vec<serde_json::Value>,
    serde_json::Value,
) {
    let events = replay_events(pcap);
    // Sorted: once both directions are shuffled together, responses may be reassembled before
    // their requests, so transactions pair (and are logged) in another order, or not at all.
    let mine = |side: &str| {
        let mut v = events
            .iter()
            .filter(|e| e["event_type"] == "modbus" && e["src_port"] == port)
            .filter_map(|e| e["modbus"].get(side).cloned())
            .collect::<Vec<_>>();
        v.sort_by_key(|p| p.to_string());
        v
    };
    let stats = events.last().unwrap()["stats"].clone();
    (mine("request"), mine("response"), stats)
}

#[test]
fn one_byte_shuffled_segments_yield_the_original_adus() {
    let original = root().join("pcaps/modbus_pymodbus_libmodbus.pcap");
    let session = first_session(&original);
    assert!(session.data[0].len() > 500 && session.data[1].len() > 500);
    let (want_req, want_resp, _) = adus(&original, session.client.1);
    assert!(
        want_req.len() >= 40,
        "the original session has {} requests",
        want_req.len()
    );
    let dir = tempfile::tempdir().unwrap();
    for seed in 0..4 {
        let path = dir.path().join(format!("recut{seed}.pcap"));
        write_pcap(&path, 1, &recut(&session, seed));
        let (req, resp, stats) = adus(&path, session.client.1);
        assert_eq!(req, want_req, "seed {seed}: requests differ");
        assert_eq!(resp, want_resp, "seed {seed}: responses differ");
        let tcp = &stats["tcp"];
        assert!(
            tcp["queued"].as_u64().unwrap() > 100,
            "seed {seed}: segments were reordered"
        );
        assert!(
            tcp["retransmissions"].as_u64().unwrap() > 0 && tcp["overlaps"].as_u64().unwrap() > 0
        );
        assert_eq!(tcp["gaps"], 0);
        assert_eq!(tcp["overlap_diff"], 0);
        let modbus = &stats["app_layer"]["modbus"];
        let unpaired = ["modbus.unsolicited_response", "modbus.unanswered_request"]
            .iter()
            .map(|n| modbus["anomaly"][n].as_u64().unwrap_or(0))
            .sum::<u64>();
        assert_eq!(
            modbus["anomalies"].as_u64().unwrap(),
            unpaired,
            "seed {seed}: no anomaly but requests and responses reassembled out of each other's order"
        );
    }
}
