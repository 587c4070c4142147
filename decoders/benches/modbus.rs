//! Modbus/TCP framing and decoding speed over the ADUs of `pcaps/modbus_pymodbus_libmodbus.pcap`
//! (a real pymodbus client talking to a libmodbus server: every public function code the
//! capture holds, exceptions included), read at start by a small pcap reader of its own.
//!
//! Two throughputs for the same work: PDUs per second and bytes per second.

use std::path::Path;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use decoders::modbus::message::words;
use decoders::modbus::{Data, Message, ModbusParser, Read};
use decoders::{Direction, Parsed, StreamParser};

/// The TCP payloads of an Ethernet/IPv4 pcap (microsecond or nanosecond, either byte order),
/// with their direction: to port 502 is to the server.
fn payloads(path: &Path) -> Vec<(Direction, Vec<u8>)> {
    let file = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let magic = u32::from_le_bytes(file[..4].try_into().unwrap());
    let le = matches!(magic, 0xa1b2c3d4 | 0xa1b23c4d);
    let u32_at = |b: &[u8], i: usize| {
        let a: [u8; 4] = b[i..i + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    assert_eq!(u32_at(&file, 20), 1, "Ethernet link type");
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let caplen = u32_at(&file, at + 8) as usize;
        let frame = &file[at + 16..at + 16 + caplen];
        at += 16 + caplen;
        if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] || frame[14 + 9] != 6 {
            continue;
        }
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..total.min(ip.len())];
        let dport = u16::from_be_bytes([tcp[2], tcp[3]]);
        let off = usize::from(tcp[12] >> 4) * 4;
        let payload = &tcp[off..];
        if payload.is_empty() {
            continue;
        }
        let dir = if dport == 502 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        out.push((dir, payload.to_vec()));
    }
    out
}

/// Frame every ADU of a payload, decode it and read its values; a checksum of what was read.
fn frame_and_decode(dir: Direction, mut buf: &[u8]) -> usize {
    let mut parser = ModbusParser;
    let mut sum = 0;
    while let Parsed::Pdu { pdu, len } = parser.parse(dir, buf) {
        let m = Message::decode(&pdu, dir);
        sum += usize::from(m.function_raw) + usize::from(m.flags.0);
        if let Data::Read(Read::Response { data, .. }) = m.data {
            sum += words(data).map(usize::from).sum::<usize>();
        }
        buf = &buf[len..];
    }
    sum
}

fn frame_only(dir: Direction, mut buf: &[u8]) -> usize {
    let mut parser = ModbusParser;
    let mut n = 0;
    while let Parsed::Pdu { len, .. } = parser.parse(dir, buf) {
        n += 1;
        buf = &buf[len..];
    }
    n
}

fn bench(c: &mut Criterion) {
    let pcap =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../pcaps/modbus_pymodbus_libmodbus.pcap");
    let adus = payloads(&pcap);
    let pdus = adus
        .iter()
        .map(|(d, p)| frame_only(*d, p) as u64)
        .sum::<u64>();
    let bytes = adus.iter().map(|(_, p)| p.len() as u64).sum::<u64>();
    assert!(pdus > 0);
    for (unit, throughput) in [
        ("pdus", Throughput::Elements(pdus)),
        ("bytes", Throughput::Bytes(bytes)),
    ] {
        let mut g = c.benchmark_group(format!("modbus/{unit}"));
        g.throughput(throughput);
        g.bench_function("frame", |b| {
            b.iter(|| {
                adus.iter()
                    .map(|(d, p)| frame_only(*d, black_box(p)))
                    .sum::<usize>()
            })
        });
        g.bench_function("frame_decode", |b| {
            b.iter(|| {
                adus.iter()
                    .map(|(d, p)| frame_and_decode(*d, black_box(p)))
                    .sum::<usize>()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
