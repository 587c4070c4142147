use serde_json::Value;

use super::*;
use crate::app::testing::TestFlow;
use crate::app::Driver;
use icsight_eve::Proto;

/// The events of a UDP flow whose datagrams are `datagrams`, each going the way it says.
fn events(datagrams: &[(Direction, &[u8])]) -> Vec<Value> {
    let mut flow = TestFlow::new(AppProto::Dns, Proto::UDP, 53, "");
    let mut driver = Driver::<DnsParser>::default();
    for (dir, bytes) in datagrams {
        driver.datagram(*dir, bytes, &mut flow.packet());
    }
    flow.events()
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
            "anomaly" => icsight_eve::anomaly_name_of(e).unwrap(),
            t => t.to_owned(),
        })
        .collect();
    assert_eq!(kinds, ["dns", "dns.invalid_additionals", "dns"]);
    assert_eq!(ev[2]["dns"]["answers"][0]["rdata"], "10.0.0.1");
    assert!(ev[2]["dns"].get("additionals").is_none());
}
