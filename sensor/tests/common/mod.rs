//! Helpers shared by the sensor's integration tests: building frames and capture files.
#![allow(dead_code)]

pub mod counting;
pub mod veth;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use etherparse::PacketBuilder;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// A TCP handshake from client `c` to server `s` whose initial sequence numbers are `cs` and
/// `ss`: SYN, SYN-ACK, ACK. Data then starts at `cs + 1` and `ss + 1`.
pub fn handshake(c: ([u8; 4], u16), s: ([u8; 4], u16), cs: u32, ss: u32) -> [Vec<u8>; 3] {
    [
        tcp_frame(c, s, cs, 0, 0x02, &[]),
        tcp_frame(s, c, ss, cs + 1, 0x12, &[]),
        tcp_frame(c, s, cs + 1, ss + 1, 0x10, &[]),
    ]
}

/// A TCP segment from `src` to `dst` framed as Ethernet.
pub fn tcp_frame(
    src: ([u8; 4], u16),
    dst: ([u8; 4], u16),
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src.0, dst.0, 64)
        .tcp(src.1, dst.1, seq, 65535);
    if flags & 0x02 != 0 {
        b = b.syn();
    }
    if flags & 0x10 != 0 {
        b = b.ack(ack);
    }
    if flags & 0x01 != 0 {
        b = b.fin();
    }
    if flags & 0x08 != 0 {
        b = b.psh();
    }
    if flags & 0x04 != 0 {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).unwrap();
    out
}

/// Write frames (timestamp in microseconds, bytes) to a pcap file of link type `dlt`.
pub fn write_pcap(path: &Path, dlt: i32, frames: &[(u64, Vec<u8>)]) {
    let dead = pcap::Capture::dead(pcap::Linktype(dlt)).unwrap();
    let mut out = dead.savefile(path).unwrap();
    for (ts, data) in frames {
        let header = pcap::PacketHeader {
            ts: libc_timeval(*ts),
            caplen: data.len() as u32,
            len: data.len() as u32,
        };
        out.write(&pcap::Packet::new(&header, data));
    }
    out.flush().unwrap();
}

fn libc_timeval(us: u64) -> libc::timeval {
    libc::timeval {
        tv_sec: (us / 1_000_000) as _,
        tv_usec: (us % 1_000_000) as _,
    }
}

/// A complete Modbus/TCP session: handshake, `n` read-holding-registers transactions, FIN.
pub fn modbus_session(n: u16) -> Vec<(u64, Vec<u8>)> {
    let c = ([192, 168, 0, 10], 40001);
    let s = ([192, 168, 0, 20], 502);
    let (mut cs, mut ss) = (1000u32, 5000u32);
    let mut t = 1_700_000_000_000_000u64;
    let mut out = Vec::new();
    let mut push = |frame: Vec<u8>, out: &mut Vec<(u64, Vec<u8>)>| {
        t += 1000;
        out.push((t, frame));
    };
    for frame in handshake(c, s, cs, ss) {
        push(frame, &mut out);
    }
    cs += 1;
    ss += 1;
    for i in 0..n {
        let tid = i.to_be_bytes();
        let req = [tid[0], tid[1], 0, 0, 0, 6, 1, 3, 0, 0, 0, 2];
        push(tcp_frame(c, s, cs, ss, 0x18, &req), &mut out);
        cs += req.len() as u32;
        let resp = [tid[0], tid[1], 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2];
        push(tcp_frame(s, c, ss, cs, 0x18, &resp), &mut out);
        ss += resp.len() as u32;
    }
    push(tcp_frame(c, s, cs, ss, 0x11, &[]), &mut out);
    push(tcp_frame(s, c, ss, cs + 1, 0x11, &[]), &mut out);
    out
}

/// An EVE sink the test reads back while the pipeline still owns a clone of it.
#[derive(Clone, Default)]
pub struct Shared(pub Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The events of `sensor replay` on `pcap` with the example `sensor.toml`; the replay must
/// succeed.
pub fn replay_events(pcap: &Path) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sensor"))
        .args(["replay", "--no-progress", "--config"])
        .arg(root().join("sensor.toml"))
        .arg(pcap)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A request to a stand-in collector: its headers (names in lower case) and its body, decoded
/// by its `Content-Encoding` (zstd, gzip or none) as the collector does.
pub fn read_request(req: &mut tiny_http::Request) -> (HashMap<String, String>, Vec<u8>) {
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_owned(),
            )
        })
        .collect();
    let mut raw = Vec::new();
    req.as_reader().read_to_end(&mut raw).unwrap();
    let body = match headers.get("content-encoding").map(String::as_str) {
        Some("zstd") => zstd::stream::decode_all(&raw[..]).unwrap(),
        Some("gzip") => {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        _ => raw,
    };
    (headers, body)
}
