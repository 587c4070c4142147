use serde_json::Value;

use super::*;
use crate::app::testing::TestFlow;
use crate::app::Driver;
use crate::reassembly::Chunk;
use icsight_eve::Proto;

/// An encapsulation message of `command` around `data`.
fn message(command: u16, data: &[u8]) -> Vec<u8> {
    let mut m = command.to_le_bytes().to_vec();
    m.extend_from_slice(&(data.len() as u16).to_le_bytes());
    m.extend_from_slice(&7u32.to_le_bytes());
    m.extend_from_slice(&[0; 16]);
    m.extend_from_slice(data);
    m
}

/// A `SendRRData` carrying `cip` in an unconnected data item.
fn rr(cip: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 0, 0x0a, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0];
    d.extend_from_slice(&(cip.len() as u16).to_le_bytes());
    d.extend_from_slice(cip);
    message(0x6f, &d)
}

fn run(rules: &str, stream: &[(Direction, Vec<u8>)]) -> Vec<Value> {
    let mut flow = TestFlow::new(AppProto::Enip, Proto::TCP, 44818, rules);
    let mut driver = Driver::<EnipParser>::default();
    for (dir, bytes) in stream {
        driver.chunk(*dir, Chunk::Data(bytes), &mut flow.packet());
    }
    driver.close(&mut flow.packet());
    flow.events()
}

#[test]
fn a_nop_is_not_taken_for_a_request_awaiting_its_reply() {
    use Direction::{ToClient as Up, ToServer as Down};
    // Get Attribute Single of the Identity object's attribute 7, and its reply.
    let get = rr(&[0x0e, 3, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07]);
    let reply = rr(&[0x8e, 0, 0, 0, 4, b'P', b'L', b'C', b'1']);
    let ev = run("", &[(Down, message(0, &[])), (Down, get), (Up, reply)]);
    let enip: Vec<&Value> = ev.iter().filter(|e| e["event_type"] == "enip").collect();
    assert_eq!(enip.len(), 2, "{enip:#?}");
    assert_eq!(enip[0]["enip"]["request"]["command"], "nop");
    let pair = &enip[1]["enip"];
    assert_eq!(pair["request"]["cip"]["service"], "Get Attribute Single");
    assert_eq!(pair["response"]["cip"]["service"], "Get Attribute Single");
    assert_eq!(pair["response"]["cip"]["status"], "Success");
}

#[test]
fn deeply_nested_services_are_logged_and_matched_to_a_bound() {
    use Direction::ToServer as Down;
    // Ten thousand Multiple Service Packets, each bundling the next; a Reset at the bottom.
    let mut cip = vec![0x05, 2, 0x20, 0x01, 0x24, 0x01];
    for _ in 0..10_000 {
        let mut outer = vec![0x0a, 0, 1, 0, 4, 0];
        outer.extend_from_slice(&cip);
        cip = outer;
    }
    let deep = rr(&cip[..cip.len().min(60_000)]);
    // The same Reset two levels down is found.
    let mut shallow = vec![0x05, 2, 0x20, 0x01, 0x24, 0x01];
    for _ in 0..2 {
        let mut outer = vec![0x0a, 0, 1, 0, 4, 0];
        outer.extend_from_slice(&shallow);
        shallow = outer;
    }
    let rules = r#"alert enip any any -> any any (msg:"reset"; cip_service:5,1; sid:1;)"#;
    let ev = run(rules, &[(Down, deep), (Down, rr(&shallow))]);
    let alerts = ev.iter().filter(|e| e["event_type"] == "alert").count();
    assert_eq!(alerts, 1);
    let logged: Vec<&Value> = ev.iter().filter(|e| e["event_type"] == "enip").collect();
    assert_eq!(logged.len(), 2);
    // Four levels of bundled services are logged, no more.
    let mut level = &logged[0]["enip"]["request"]["cip"];
    let mut depth = 0;
    while let Some(next) = level["multiple"].get(0) {
        level = next;
        depth += 1;
    }
    assert_eq!(depth, 4);
}
