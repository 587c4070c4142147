//! DNP3 decode throughput over the project's opendnp3 capture: link framing alone, and the
//! whole decode (framing, transport reassembly, application header, objects, points, fields).
//!
//! The capture is read at start with a minimal pcap reader (Ethernet, IPv4, TCP or UDP): each
//! direction's payloads on port 20000 are joined into one stream, as the sensor's reassembly
//! would hand them over.

use std::path::Path;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use decoders::dnp3::application::Fragment;
use decoders::dnp3::transport::Push;
use decoders::dnp3::{Dnp3Parser, Limits, Pdu, Reassembler};
use decoders::{Direction, Parsed, StreamParser};

/// Payloads to and from port 20000, joined per direction.
fn streams(pcap: &Path) -> [Vec<u8>; 2] {
    let data = std::fs::read(pcap).expect("capture");
    assert_eq!(&data[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "little-endian pcap");
    assert_eq!(
        u32::from_le_bytes(data[20..24].try_into().unwrap()),
        1,
        "Ethernet"
    );
    let mut out = [Vec::new(), Vec::new()];
    let mut at = 24;
    while at + 16 <= data.len() {
        let caplen = u32::from_le_bytes(data[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &data[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        if frame.len() < 34 || frame[12..14] != [0x08, 0x00] {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
        let l4 = &ip[ihl..total];
        let (ports, payload) = match ip[9] {
            6 => (&l4[..4], &l4[usize::from(l4[12] >> 4) * 4..]),
            17 => (&l4[..4], &l4[8..]),
            _ => continue,
        };
        let dst = u16::from_be_bytes([ports[2], ports[3]]);
        let src = u16::from_be_bytes([ports[0], ports[1]]);
        if dst == 20000 {
            out[0].extend_from_slice(payload);
        } else if src == 20000 {
            out[1].extend_from_slice(payload);
        }
    }
    out
}

/// Frame `stream`; with `full`, decode every layer. Returns the frames seen.
fn decode(stream: &[u8], dir: Direction, full: bool, reassembler: &mut Reassembler) -> usize {
    let mut parser = Dnp3Parser;
    let mut rest = stream;
    let mut frames = 0;
    while let Parsed::Pdu { pdu, len } = parser.parse(dir, rest) {
        rest = &rest[len..];
        let Pdu::Frame(frame) = pdu else { continue };
        frames += 1;
        if !full {
            continue;
        }
        let Push::Fragment(a) = reassembler.push(&frame) else {
            continue;
        };
        let Ok(fragment) = Fragment::new(a.data) else {
            continue;
        };
        for object in fragment.objects(Limits::default()) {
            for point in object.points() {
                for field in point.fields() {
                    std::hint::black_box(field);
                }
            }
        }
    }
    frames
}

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let [to_server, to_client] = streams(&root.join("pcaps/dnp3_opendnp3.pcap"));
    let bytes = (to_server.len() + to_client.len()) as u64;
    let mut r = Reassembler::default();
    let frames = (decode(&to_server, Direction::ToServer, false, &mut r)
        + decode(&to_client, Direction::ToClient, false, &mut r)) as u64;
    let mut group = c.benchmark_group("dnp3");
    for (name, full) in [("framing", false), ("full_decode", true)] {
        for (unit, throughput) in [
            ("bytes", Throughput::Bytes(bytes)),
            ("frames", Throughput::Elements(frames)),
        ] {
            group.throughput(throughput);
            group.bench_function(BenchmarkId::new(name, unit), |b| {
                let mut reassemblers = [Reassembler::default(), Reassembler::default()];
                b.iter(|| {
                    decode(&to_server, Direction::ToServer, full, &mut reassemblers[0])
                        + decode(&to_client, Direction::ToClient, full, &mut reassemblers[1])
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
