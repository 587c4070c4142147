//! S7comm decode throughput over the TPKTs of the project's Snap7 captures: framing, COTP,
//! reassembly and the full S7 decode (functions, items, userdata), in bytes and in PDUs.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decoders::s7comm::{Cotp, Function, Plus, Reassembler, S7Pdu, S7commParser, Userdata};
use decoders::{Direction, Parsed, StreamParser};

/// TCP payloads to or from port 102 in a little-endian, Ethernet, IPv4 pcap file: just enough
/// of a reader for the project's own captures.
fn payloads(path: &Path) -> Vec<(Direction, Vec<u8>)> {
    let file = std::fs::read(path).expect("capture");
    assert_eq!(&file[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &file[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        // Ethernet II, IPv4, TCP.
        if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] || frame[23] != 6 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..total];
        let (sport, dport) = (
            u16::from_be_bytes([tcp[0], tcp[1]]),
            u16::from_be_bytes([tcp[2], tcp[3]]),
        );
        let data = &tcp[usize::from(tcp[12] >> 4) * 4..];
        if data.is_empty() {
            continue;
        }
        let dir = match (sport, dport) {
            (_, 102) => Direction::ToServer,
            (102, _) => Direction::ToClient,
            _ => continue,
        };
        out.push((dir, data.to_vec()));
    }
    out
}

/// Frame and decode every TPKT of every payload; the number of S7 PDUs decoded.
fn decode(segments: &[(Direction, Vec<u8>)], r: &mut Reassembler) -> usize {
    let mut parser = S7commParser;
    let mut n = 0;
    for (dir, seg) in segments {
        let mut rest = &seg[..];
        while let Parsed::Pdu { pdu, len } = parser.parse(*dir, rest) {
            rest = &rest[len..];
            let Ok(Cotp::Data { eot, payload, .. }) = Cotp::parse(&pdu) else {
                continue;
            };
            let Ok(Some(tsdu)) = r.push(*dir, eot, payload) else {
                continue;
            };
            if let Ok(s7) = S7Pdu::parse(tsdu) {
                n += 1;
                match Function::parse(&s7) {
                    Function::VarRequest { items, .. } => {
                        black_box(items.filter_map(|i| i.any()).count());
                    }
                    Function::ReadResponse { data, .. } => {
                        black_box(data.map(|d| d.data.len()).sum::<usize>());
                    }
                    f => {
                        black_box(f);
                    }
                }
                if let Ok(u) = Userdata::parse(&s7) {
                    black_box((u.szl(), u.block()));
                }
            } else if let Ok(p) = Plus::parse(tsdu) {
                n += 1;
                black_box(p);
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps");
    let segments: Vec<_> = [
        "s7comm_snap7.pcap",
        "s7comm_snap7_control.pcap",
        "s7comm_snap7_control_native.pcap",
    ]
    .iter()
    .flat_map(|f| payloads(&root.join(f)))
    .collect();
    let bytes: usize = segments.iter().map(|(_, s)| s.len()).sum();
    let pdus = decode(&segments, &mut Reassembler::default());
    assert!(pdus > 100, "only {pdus} S7 PDUs in the captures");
    let mut g = c.benchmark_group("s7comm");
    let mut r = Reassembler::default();
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("decode_bytes", |b| {
        b.iter(|| decode(black_box(&segments), &mut r))
    });
    g.throughput(Throughput::Elements(pdus as u64));
    g.bench_function("decode_pdus", |b| {
        b.iter(|| decode(black_box(&segments), &mut r))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
