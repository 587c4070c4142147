//! The rule loader on arbitrary text: split it into rules, parse each with Suricata's default
//! variables, check classtypes and sids, compile what loads (prefilters included), then match
//! the ruleset on a Modbus, an S7 and a DNP3 payload, on their transactions, on an app-layer
//! event, and on the input itself as a payload. Nothing may panic, and every refusal must name
//! a line of the input.

use std::net::IpAddr;
use std::path::PathBuf;

use decoders::dnp3::Fragment;
use decoders::modbus::{Message, ModbusParser};
use decoders::s7comm::S7Pdu;
use decoders::s7comm::S7Tx;
use decoders::Tx;
use decoders::{AppProto, Direction, Parsed, StreamParser};
use rules::packet::{Ipv4Fields, TcpFields};
use rules::{
    Classification, Detector, FlowVars, IcmpFields, IpFields, PacketView, Transport, Vars,
};

/// A Modbus write-multiple-registers request (MBAP included).
const MODBUS: &[u8] = b"\x00\x01\x00\x00\x00\x0b\x01\x10\x00\x00\x00\x02\x04\x12\x34\x56\x78";
/// An S7 PI-service job: a cold start (`P_PROGRAM` with argument `C `).
const S7: &[u8] = b"\x32\x01\x00\x00\x00\x01\x00\x16\x00\x00\x28\x00\x00\x00\x00\x00\x00\xfd\x00\x02C \x09P_PROGRAM";
/// A DNP3 application fragment: direct operate, g12v1, one CROB.
const DNP3: &[u8] =
    b"\xc1\x05\x0c\x01\x28\x01\x00\x00\x00\x03\x01\x64\x00\x00\x00\x64\x00\x00\x00\x00";

pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let lines = text.lines().count().max(1);
    let loaded = rules::load_sources(
        &[(PathBuf::from("fuzz.rules"), text)],
        &Vars::suricata_defaults(),
        &Classification::builtin(),
    );
    for e in &loaded.errors {
        assert!(
            (1..=lines + 1).contains(&e.line),
            "line {} of {lines}",
            e.line
        );
    }
    let set = &loaded.ruleset;
    let (mut bits, mut det, mut alerts) = (FlowVars::default(), Detector::default(), Vec::new());
    for (dir, app, payload) in [
        (Direction::ToServer, AppProto::Modbus, MODBUS),
        (Direction::ToServer, AppProto::S7comm, S7),
        (Direction::ToClient, AppProto::Dnp3, DNP3),
        (Direction::ToServer, AppProto::Modbus, data),
    ] {
        let (c, s) = (IpAddr::from([192, 168, 1, 10]), IpAddr::from([10, 0, 0, 1]));
        let (src, sport, dst, dport) = match dir {
            Direction::ToServer => (c, 40000, s, 502),
            Direction::ToClient => (s, 502, c, 40000),
        };
        let view = PacketView {
            src,
            sport,
            dst,
            dport,
            transport: Transport::Tcp,
            dir,
            established: true,
            app_proto: Some(app),
            flow_id: 1,
            secs: 1,
            // A packet's own headers (a PSH+ACK segment, TTL from the input's first byte), and
            // an echo request's ICMP fields, an IPv4 header with its options and TCP numbers
            // read from the input itself.
            ip: Some(IpFields {
                ttl: data.first().copied().unwrap_or(64),
                proto: 6,
                tcp_flags: Some(0x18),
                icmp: IcmpFields::read(data, false),
                ipv4: Ipv4Fields::read(data),
                tcp: data.get(4..14).map(|b| TcpFields {
                    seq: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                    ack: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                    window: u16::from_be_bytes([b[8], b[9]]),
                }),
                same_addr: data.get(1) == Some(&0),
                stream: Some([1, data.len() as u64 + 1]),
            }),
        };
        for stream in [false, true] {
            set.match_packet(&view, payload, stream, &mut bits, &mut det, &mut alerts);
        }
        set.match_event(&view, "modbus.flooded", &mut bits, &mut det, &mut alerts);
        if let Parsed::Pdu { pdu, .. } = ModbusParser.parse(dir, payload) {
            let m = Message::decode(&pdu, dir);
            let tx = Tx::Modbus {
                request: Some(&m),
                response: None,
            };
            set.match_tx(&view, &tx, &mut bits, &mut det, &mut alerts);
        }
        if let Ok(pdu) = S7Pdu::parse(payload) {
            let tx = Tx::S7comm(S7Tx {
                pdu: &pdu,
                job_function: None,
            });
            set.match_tx(&view, &tx, &mut bits, &mut det, &mut alerts);
        }
        if let Ok(f) = Fragment::new(payload) {
            set.match_tx(&view, &Tx::Dnp3(&f), &mut bits, &mut det, &mut alerts);
        }
    }
    assert!(alerts.iter().all(|&i| (i as usize) < set.rules().len()));
}
