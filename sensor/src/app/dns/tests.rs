use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::*;
use crate::app::{AppStats, Detection, Driver};
use crate::detect::Stage;
use crate::eve::EveWriter;
use crate::flow::FlowMeta;
use icsight_eve::{Proto, Timestamp};

#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The events of a UDP flow whose datagrams are `datagrams`, each going the way it says.
fn events(datagrams: &[(Direction, &[u8])]) -> Vec<Value> {
    let config = crate::Config::unregistered();
    let lines = Lines::default();
    let mut stage = Stage {
        eve: EveWriter::new(Box::new(lines.clone()), &config.sensor),
        detect: Default::default(),
        watch: None,
        detection: Detection::new(&config.app),
        expected: Default::default(),
        limits: Default::default(),
    };
    let mut meta = FlowMeta {
        id: 1,
        client: (IpAddr::from([10, 0, 0, 2]), 40000),
        server: (IpAddr::from([10, 0, 0, 1]), 53),
        proto: Proto::UDP,
        vlan: [0; 2],
        vlan_len: 0,
        app_proto: Some(AppProto::Dns),
        app_failed: false,
        alerted: false,
        macs: [None; 2],
    };
    let mut bits = rules::FlowBits::default();
    let mut stats = AppStats::default();
    let mut driver = Driver::<DnsParser>::default();
    for (n, (dir, bytes)) in datagrams.iter().enumerate() {
        let parts = (&mut meta, &mut bits, true);
        let mut ctx = AppCtx::new(Timestamp(1), n as u64 + 1, parts, &mut stats, &mut stage);
        driver.datagram(*dir, bytes, &mut ctx);
    }
    stage.eve.flush().unwrap();
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_bad_additional_section_is_dropped_not_the_message() {
    // A query for a.example A, then its answer with an additional record cut short.
    let mut query = vec![0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    query.extend_from_slice(b"\x01a\x07example\x00\x00\x01\x00\x01");
    let mut answer = query.clone();
    answer[2] = 0x81;
    answer[3] = 0x80;
    answer[7] = 1;
    answer[11] = 1;
    answer.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
    answer.extend_from_slice(&[0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 12, 0, 10]);
    let ev = events(&[
        (Direction::ToServer, &query),
        (Direction::ToClient, &answer),
    ]);
    let kinds: Vec<_> = ev
        .iter()
        .map(|e| match e["event_type"].as_str().unwrap() {
            "anomaly" => e["anomaly"]["event"].as_str().unwrap().to_owned(),
            t => t.to_owned(),
        })
        .collect();
    assert_eq!(kinds, ["dns", "dns.invalid_additionals", "dns"]);
    assert_eq!(ev[2]["dns"]["answers"][0]["rdata"], "10.0.0.1");
    assert!(ev[2]["dns"].get("additionals").is_none());
}
