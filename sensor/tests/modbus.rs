//! Modbus transactions through the pipeline: requests paired with their responses by
//! transaction id, unit and function, in any order; responses that answer nothing; requests
//! never answered, logged at flow end or pushed out of the capped pending table; a server that
//! opened the connection itself.

mod common;

use common::{tcp_frame, Shared};
use icsight_eve::Timestamp;
use sensor::app::modbus::MAX_PENDING;
use sensor::decode::LinkType;
use sensor::eve::EveWriter;
use sensor::{Config, Pipeline};
use serde_json::Value;

/// A TCP session (handshake done) into which ADUs are sent either way.
struct Session {
    pipeline: Pipeline,
    out: Shared,
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    seq: [u32; 2],
    t: u64,
}

impl Session {
    /// `client` opens the connection to `server`.
    fn new(client: u16, server: u16) -> Self {
        let config = Config::unregistered();
        let out = Shared::default();
        let mut pipeline = Pipeline::new(
            &config,
            EveWriter::new(Box::new(out.clone()), &config.sensor),
        );
        pipeline.begin_capture(LinkType::Ethernet, "test");
        let mut s = Session {
            pipeline,
            out,
            client: ([10, 0, 0, 1], client),
            server: ([10, 0, 0, 2], server),
            seq: [100, 900],
            t: 1_000_000,
        };
        let (c, v) = (s.client, s.server);
        s.frame(tcp_frame(c, v, 99, 0, 0x02, &[]));
        s.frame(tcp_frame(v, c, 899, 100, 0x12, &[]));
        s.frame(tcp_frame(c, v, 100, 900, 0x10, &[]));
        s
    }

    fn frame(&mut self, f: Vec<u8>) {
        self.t += 1000;
        self.pipeline.packet(Timestamp(self.t), &f, f.len() as u32);
    }

    /// Send `adu` from the client (`to_server`) or the server.
    fn send(&mut self, to_server: bool, adu: &[u8]) {
        let (src, dst, i) = if to_server {
            (self.client, self.server, 0)
        } else {
            (self.server, self.client, 1)
        };
        let f = tcp_frame(src, dst, self.seq[i], self.seq[1 - i], 0x18, adu);
        self.seq[i] += adu.len() as u32;
        self.frame(f);
    }

    fn finish(mut self) -> Vec<Value> {
        self.pipeline.finish();
        self.pipeline.eve().flush().unwrap();
        let bytes = self.out.0.lock().unwrap();
        String::from_utf8_lossy(&bytes)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Read holding registers 0x006b, 3 registers (the specification's example), transaction `tid`.
fn read_req(tid: u16, unit: u8) -> Vec<u8> {
    let t = tid.to_be_bytes();
    vec![t[0], t[1], 0, 0, 0, 6, unit, 3, 0, 0x6b, 0, 3]
}

/// Its response: 555, 0, 100.
fn read_resp(tid: u16, unit: u8) -> Vec<u8> {
    let t = tid.to_be_bytes();
    vec![
        t[0], t[1], 0, 0, 0, 9, unit, 3, 6, 0x02, 0x2b, 0, 0, 0, 0x64,
    ]
}

fn of_type<'a>(ev: &'a [Value], t: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["event_type"] == t).collect()
}

fn anomaly_names(ev: &[Value]) -> Vec<String> {
    of_type(ev, "anomaly")
        .iter()
        .map(|e| icsight_eve::anomaly_name_of(e).unwrap())
        .collect()
}

#[test]
fn pairs_out_of_order_by_transaction_and_unit() {
    let mut s = Session::new(40000, 502);
    s.send(true, &read_req(1, 1));
    s.send(true, &read_req(1, 2));
    s.send(true, &read_req(2, 1));
    s.send(false, &read_resp(2, 1));
    s.send(false, &read_resp(1, 2));
    s.send(false, &read_resp(1, 1));
    let ev = s.finish();
    let tx = of_type(&ev, "modbus");
    assert_eq!(tx.len(), 3);
    // Logged as answered, each under the id its request was given.
    let got: Vec<(u64, u64, u64)> = tx
        .iter()
        .map(|e| {
            let m = &e["modbus"];
            assert_eq!(
                m["request"]["transaction_id"],
                m["response"]["transaction_id"]
            );
            assert_eq!(m["request"]["unit_id"], m["response"]["unit_id"]);
            (
                m["id"].as_u64().unwrap(),
                m["request"]["transaction_id"].as_u64().unwrap(),
                m["request"]["unit_id"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(3, 2, 1), (2, 1, 2), (1, 1, 1)]);
    let r = &tx[0]["modbus"]["response"];
    assert_eq!(r["function_code"], "RdHoldRegs");
    assert_eq!(r["access_type"], "READ | HOLDING");
    assert_eq!(r["read"]["values"], serde_json::json!([555, 0, 100]));
    assert!(anomaly_names(&ev).is_empty(), "{ev:?}");
}

#[test]
fn unsolicited_and_unanswered() {
    let mut s = Session::new(40000, 502);
    s.send(false, &read_resp(7, 1));
    s.send(true, &read_req(8, 1));
    // A response to transaction 8 but another function: not its answer.
    let mut other = read_resp(8, 1);
    other[7] = 4;
    s.send(false, &other);
    let ev = s.finish();
    let tx = of_type(&ev, "modbus");
    assert_eq!(tx.len(), 3);
    assert!(tx[0]["modbus"].get("request").is_none());
    assert_eq!(tx[0]["modbus"]["id"], 1);
    assert_eq!(
        tx[1]["modbus"]["id"], 3,
        "the second response begins transaction 3"
    );
    assert_eq!(
        tx[2]["modbus"]["id"], 2,
        "request 8, never answered, logged at flow end"
    );
    assert!(tx[2]["modbus"].get("response").is_none());
    assert_eq!(
        anomaly_names(&ev),
        [
            "modbus.unsolicited_response",
            "modbus.unsolicited_response",
            "modbus.unanswered_request"
        ]
    );
}

#[test]
fn mismatched_response_is_flagged() {
    let mut s = Session::new(40000, 502);
    s.send(true, &read_req(1, 1));
    // Two registers where three were asked.
    s.send(false, &[0, 1, 0, 0, 0, 7, 1, 3, 4, 0, 1, 0, 2]);
    let ev = s.finish();
    let tx = of_type(&ev, "modbus");
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0]["modbus"]["response"]["error_flags"], "DATA_VALUE");
    assert_eq!(anomaly_names(&ev), ["modbus.value_mismatch"]);
}

#[test]
fn flood_pushes_out_the_oldest() {
    let mut s = Session::new(40000, 502);
    let n = MAX_PENDING as u16 + 10;
    for tid in 0..n {
        s.send(true, &read_req(tid, 1));
    }
    s.send(false, &read_resp(n - 1, 1));
    let ev = s.finish();
    let names = anomaly_names(&ev);
    let count = |n: &str| names.iter().filter(|x| *x == n).count();
    assert_eq!(count("modbus.flooded"), 1);
    assert_eq!(count("modbus.unanswered_request"), usize::from(n) - 1);
    let tx = of_type(&ev, "modbus");
    assert_eq!(tx.len(), usize::from(n));
    // The first ten were pushed out before the answer came, in order.
    let first: Vec<u64> = tx[..10]
        .iter()
        .map(|e| e["modbus"]["request"]["transaction_id"].as_u64().unwrap())
        .collect();
    assert_eq!(first, (0..10).collect::<Vec<_>>());
    assert_eq!(tx[10]["modbus"]["response"]["transaction_id"], n - 1);
}

#[test]
fn server_that_opened_the_connection() {
    // The device on 502 sends the SYN; its PDUs are still the responses.
    let mut s = Session::new(502, 4446);
    s.send(false, &read_req(5, 1));
    s.send(true, &read_resp(5, 1));
    let ev = s.finish();
    let tx = of_type(&ev, "modbus");
    assert_eq!(tx.len(), 1, "{ev:?}");
    assert_eq!(tx[0]["modbus"]["request"]["read"]["quantity"], 3);
    assert_eq!(tx[0]["modbus"]["response"]["read"]["byte_count"], 6);
    assert!(anomaly_names(&ev).is_empty());
}
