use serde_json::Value;

use super::*;
use crate::app::testing::TestFlow;
use crate::app::Driver;
use crate::reassembly::Chunk;
use icsight_eve::Proto;

use Direction::{ToClient as Up, ToServer as Down};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// TPKT and COTP DT around `user` (the last TPDU of its TSDU when `eot`).
fn dt(user: &[u8], eot: bool) -> Vec<u8> {
    let len = (7 + user.len()) as u16;
    let mut v = vec![3, 0];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&[2, 0xf0, if eot { 0x80 } else { 0 }]);
    v.extend_from_slice(user);
    v
}

/// A data TSDU (Give Tokens, Data Transfer, fully-encoded data) around an MMS PDU.
fn data(mms: &[u8]) -> Vec<u8> {
    let mut pdv = vec![0x02, 0x01, 0x03, 0xa0, mms.len() as u8];
    pdv.extend_from_slice(mms);
    let mut list = vec![0x30, pdv.len() as u8];
    list.extend_from_slice(&pdv);
    let mut v = vec![0x01, 0x00, 0x01, 0x00, 0x61, list.len() as u8];
    v.extend_from_slice(&list);
    v
}

fn run(rules: &str, stream: &[(Direction, Vec<u8>)]) -> Vec<Value> {
    let mut flow = TestFlow::new(AppProto::Mms, Proto::TCP, 102, rules);
    let mut driver = Driver::<MmsParser>::default();
    for (dir, bytes) in stream {
        driver.chunk(*dir, Chunk::Data(bytes), &mut flow.packet());
    }
    driver.close(&mut flow.packet());
    flow.events()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

#[test]
fn requests_responses_and_their_objects() {
    // nDPI's getVariableAccessAttributes of a report control block, split over two TPDUs,
    // and its access error; ITI's identify response.
    let gvaa = data(&unhex("a02c020304a273a625a023a1211a0e41413145315130314650324c44301a0f4c4c4e30244252247263625f423032"));
    let (a, b) = gvaa.split_at(20);
    let err = data(&unhex("a20c800304a273a205a003870102"));
    let ident = data(&unhex("a130020101a22b801541524556412054264420436f72706f726174696f6e810b652d7465727261636f6d6d8205322e332e31"));
    let stream = [
        (Down, [dt(a, false), dt(b, true)].concat()),
        (Up, dt(&err, true)),
        (Up, dt(&ident, true)),
    ];
    let rules = r#"alert mms any any -> any any (msg:"rcb"; mms_func:get_variable_access_attributes; mms.fc:BR; sid:1;)"#;
    let ev = run(rules, &stream);
    let tx = of_type(&ev, "mms");
    assert_eq!(tx.len(), 3, "{ev:#?}");
    let m = &tx[0]["mms"];
    assert_eq!(m["direction"], "to_server");
    assert_eq!(m["session"], "data");
    assert_eq!(m["pdu"], "confirmed_request");
    assert_eq!(m["invoke_id"], 0x04a273);
    assert_eq!(m["service"], "get_variable_access_attributes");
    assert_eq!(m["objects"][0]["domain"], "AA1E1Q01FP2LD0");
    assert_eq!(m["objects"][0]["item"], "LLN0$BR$rcb_B02");
    assert_eq!(m["objects"][0]["fc"], "BR");
    assert_eq!(tx[1]["mms"]["error_class"], "access");
    assert_eq!(tx[2]["mms"]["vendor"], "AREVA T&D Corporation");
    let alerts = of_type(&ev, "alert");
    assert_eq!(alerts.len(), 1, "{ev:#?}");
    assert_eq!(
        alerts[0]["mms"]["service"],
        "get_variable_access_attributes"
    );
}

#[test]
fn what_is_not_mms_is_an_anomaly() {
    let stream = [
        (Down, dt(&[0x32, 0x01, 0, 0, 0, 0, 0, 0, 0, 0], true)),
        (Down, dt(&data(&[0x30, 0x00]), true)),
        (Down, dt(&data(&unhex("8b00")), true)),
    ];
    let ev = run("", &stream);
    let names: Vec<&str> = of_type(&ev, "anomaly")
        .iter()
        .map(|a| a["anomaly"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["invalid_session", "invalid_pdu"], "{ev:#?}");
    let tx = of_type(&ev, "mms");
    assert_eq!(tx.len(), 2);
    assert_eq!(tx[1]["mms"]["pdu"], "conclude_request");
}
