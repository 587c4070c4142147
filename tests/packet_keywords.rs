//! The IP and TCP header keywords (`id`, `fragbits`, `fragoffset`, `ipopts`, `sameip`, `seq`,
//! `ack`, `window`) end to end: a capture of hand-built packets — IPv4 with options, a
//! fragmented datagram, TCP with chosen numbers and window, a packet to itself, an IPv6 SYN —
//! is replayed through the sensor binary with one rule per case, and exactly the expected
//! rules alert, as often as expected.
//!
//! Raw fragments reach the packet rules as they travel (outside any flow, the first with its
//! transport header), and so does the datagram reassembled from them, whose header Suricata
//! rebuilds without fragment bits or offset: as Suricata inspects both.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use icsight_tests::replay_with;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const DONT_FRAGMENT: u16 = 0x4000;
const MORE_FRAGMENTS: u16 = 0x2000;

/// The one's-complement sum of `data`, folded, as IP checksums use it.
fn sum(data: &[u8], mut acc: u32) -> u32 {
    for pair in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
    }
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

fn checksum(data: &[u8], acc: u32) -> [u8; 2] {
    (!(sum(data, acc) as u16)).to_be_bytes()
}

/// An IPv4 packet: header (with `options`, padded to 4 bytes) and `payload`.
fn ipv4(
    (src, dst): ([u8; 4], [u8; 4]),
    proto: u8,
    (id, frag): (u16, u16),
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut opts = options.to_vec();
    while !opts.len().is_multiple_of(4) {
        opts.push(0);
    }
    let hlen = 20 + opts.len();
    let total = (hlen + payload.len()) as u16;
    let mut p = vec![0x40 | (hlen / 4) as u8, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&frag.to_be_bytes());
    p.extend_from_slice(&[64, proto, 0, 0]);
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&opts);
    let c = checksum(&p, 0);
    p[10..12].copy_from_slice(&c);
    p.extend_from_slice(payload);
    p
}

/// A TCP header without options (or payload), its checksum over the pseudo-header `pseudo`.
fn tcp(ports: (u16, u16), seq: u32, ack: u32, flags: u8, window: u16, pseudo: u32) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&ports.0.to_be_bytes());
    t.extend_from_slice(&ports.1.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    t.extend_from_slice(&[0x50, flags]);
    t.extend_from_slice(&window.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]);
    let c = checksum(&t, pseudo + 20);
    t[16..18].copy_from_slice(&c);
    t
}

/// The pseudo-header sum of TCP over IPv4 (its length added by [`tcp`]).
fn pseudo4(src: [u8; 4], dst: [u8; 4]) -> u32 {
    sum(&[&src[..], &dst[..]].concat(), 6)
}

/// The packets, in capture order, and what each is for.
fn packets() -> Vec<Vec<u8>> {
    let (a, b) = ([10, 1, 0, 1], [10, 1, 0, 2]);
    // Record route with room for one address, then the end of the options.
    let record_route = [7, 7, 4, 0, 0, 0, 0, 0];
    let syn = ipv4(
        (a, b),
        6,
        (4660, DONT_FRAGMENT),
        &record_route,
        &tcp((40001, 80), 1000, 0, SYN, 2048, pseudo4(a, b)),
    );

    let (c, d) = ([10, 1, 0, 3], [10, 1, 0, 4]);
    let ack = ipv4(
        (c, d),
        6,
        (1, 0),
        &[],
        &tcp((40002, 502), 5000, 7777, ACK, 1024, pseudo4(c, d)),
    );

    let e = [10, 1, 0, 5];
    let udp_to_itself = [0x13, 0x88, 0x13, 0x89, 0, 9, 0, 0, b'x'];
    let to_itself = ipv4((e, e), 17, (2, 0), &[], &udp_to_itself);

    // A UDP datagram of 24 bytes in two fragments of 16 and 8, identification 242.
    let (f, g) = ([10, 1, 0, 6], [10, 1, 0, 7]);
    let mut udp = vec![0x27, 0x10, 0x27, 0x11, 0, 24, 0, 0];
    udp.extend_from_slice(b"fragment datagram");
    udp.truncate(24);
    let first = ipv4((f, g), 17, (242, MORE_FRAGMENTS), &[], &udp[..16]);
    let last = ipv4((f, g), 17, (242, 16 / 8), &[], &udp[16..]);

    // An IPv6 SYN with the IPv4 SYN's numbers and window.
    let v6_addr = |last: u8| {
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        a[15] = last;
        a
    };
    let (s6, d6) = (v6_addr(1), v6_addr(2));
    let pseudo6 = sum(&[&s6[..], &d6[..]].concat(), 6);
    let segment = tcp((40003, 80), 1000, 0, SYN, 2048, pseudo6);
    let mut v6 = vec![0x60, 0, 0, 0];
    v6.extend_from_slice(&(segment.len() as u16).to_be_bytes());
    v6.extend_from_slice(&[6, 64]);
    v6.extend_from_slice(&s6);
    v6.extend_from_slice(&d6);
    v6.extend_from_slice(&segment);

    vec![syn, ack, to_itself, first, last, v6]
}

/// A classic pcap of raw IP packets (LINKTYPE_RAW), one a second.
fn write_pcap(path: &Path, packets: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&101u32.to_le_bytes());
    for (i, p) in packets.iter().enumerate() {
        out.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
    }
    std::fs::write(path, out).unwrap();
}

/// One rule per case, and how many times it must alert on [`packets`].
const RULES: &[(u32, &str, usize)] = &[
    (1, "alert tcp any any -> any any (msg:\"id\"; id:4660;", 1),
    // Only the IPv4 SYN has a fragment bit (DF); IPv6 has none to test.
    (2, "alert ip any any -> any any (msg:\"DF\"; fragbits:D;", 1),
    // The first fragment, as it travels; the reassembled datagram has no MF.
    (3, "alert ip any any -> any any (msg:\"MF\"; fragbits:M;", 1),
    // The second fragment only: the datagram is rebuilt at offset 0.
    (
        15,
        "alert ip any any -> any any (msg:\"offset\"; fragoffset:>0; id:242;",
        1,
    ),
    (
        4,
        "alert udp any any -> any any (msg:\"reassembled\"; fragbits:!M; id:242;",
        1,
    ),
    // The first fragment (its UDP header whole) and the reassembled datagram.
    (
        5,
        "alert udp any any -> any any (msg:\"offset 0\"; fragoffset:0; id:242;",
        2,
    ),
    (6, "alert tcp any any -> any any (msg:\"rr\"; ipopts:rr;", 1),
    (
        7,
        "alert ip any any -> any any (msg:\"any option\"; ipopts:any;",
        1,
    ),
    (
        8,
        "alert ip any any -> any any (msg:\"lsrr\"; ipopts:lsrr;",
        0,
    ),
    // The IPv4 and the IPv6 SYN.
    (
        9,
        "alert tcp any any -> any any (msg:\"scan\"; flags:S; seq:1000; ack:0; window:2048;",
        2,
    ),
    (
        10,
        "alert tcp any any -> any any (msg:\"numbers\"; tcp.seq:5000; tcp.ack:7777; window:!2048;",
        1,
    ),
    (11, "alert ip any any -> any any (msg:\"same\"; sameip;", 1),
    // No IPv4 TCP packet has identification 0, and IPv6 has none.
    (12, "alert tcp any any -> any any (msg:\"id 0\"; id:0;", 0),
    // The IPv6 SYN has the sequence number but no fragment bits to be clear.
    (
        13,
        "alert tcp any any -> any any (msg:\"v4 only\"; fragbits:!R; seq:1000;",
        1,
    ),
    (
        14,
        "alert tcp any any -> any any (msg:\"window\"; tcp.window:1024;",
        1,
    ),
];

fn setup(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let pcap = dir.join("headers.pcap");
    write_pcap(&pcap, &packets());
    let rules = dir.join("headers.rules");
    let text: String = RULES
        .iter()
        .map(|(sid, rule, _)| format!("{rule} sid:{sid}; rev:1;)\n"))
        .collect();
    std::fs::write(&rules, text).unwrap();
    let config = dir.join("sensor.toml");
    std::fs::write(
        &config,
        "[sensor]\nid = \"packet-keywords\"\n[eve]\nflow = false\n",
    )
    .unwrap();
    (pcap, rules, config)
}

#[test]
fn header_keywords_alert_on_the_packets_they_describe() {
    let tmp = tempfile::tempdir().unwrap();
    let (pcap, rules, config) = setup(tmp.path());
    let r = replay_with(
        &[&pcap],
        &config,
        &[OsStr::new("--rules"), rules.as_os_str()],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("{} loaded from 1 file(s), 0 failed", RULES.len())),
        "{}",
        r.stderr
    );
    let mut got: BTreeMap<u64, usize> = BTreeMap::new();
    for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
        *got.entry(e["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    let want: BTreeMap<u64, usize> = RULES
        .iter()
        .filter(|(_, _, n)| *n > 0)
        .map(|(sid, _, n)| (u64::from(*sid), *n))
        .collect();
    assert_eq!(got, want);

    // The alerts stand on the packets they describe.
    let src_of = |sid: u64| -> Vec<String> {
        r.events
            .iter()
            .filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == sid)
            .map(|e| e["src_ip"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    assert_eq!(src_of(11), ["10.1.0.5"]);
    assert_eq!(src_of(4), ["10.1.0.6"]);
    assert_eq!(src_of(10), ["10.1.0.3"]);
    assert_eq!(src_of(9), ["10.1.0.1", "2001:db8::1"]);
    // A raw fragment belongs to no flow; the reassembled datagram to its flow.
    let flow_ids = |sid: u64| -> Vec<bool> {
        r.events
            .iter()
            .filter(|e| e["event_type"] == "alert" && e["alert"]["signature_id"] == sid)
            .map(|e| e.get("flow_id").is_some())
            .collect()
    };
    assert_eq!(flow_ids(3), [false]);
    assert_eq!(flow_ids(15), [false]);
    assert_eq!(flow_ids(4), [true]);
}
