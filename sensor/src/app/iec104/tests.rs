use serde_json::Value;

use super::*;
use crate::app::testing::TestFlow;
use crate::app::Driver;
use crate::reassembly::Chunk;
use icsight_eve::Proto;

fn i_frame(ns: u16, nr: u16, asdu: &[u8]) -> Vec<u8> {
    let mut v = vec![0x68, (4 + asdu.len()) as u8];
    v.extend_from_slice(&(ns << 1).to_le_bytes());
    v.extend_from_slice(&(nr << 1).to_le_bytes());
    v.extend_from_slice(asdu);
    v
}

const STARTDT_ACT: [u8; 6] = [0x68, 4, 0x07, 0, 0, 0];
const STARTDT_CON: [u8; 6] = [0x68, 4, 0x0b, 0, 0, 0];

fn s_frame(nr: u16) -> Vec<u8> {
    let mut v = vec![0x68, 4, 1, 0];
    v.extend_from_slice(&(nr << 1).to_le_bytes());
    v
}

fn run<'a>(rules: &str, stream: impl IntoIterator<Item = (Direction, Chunk<'a>)>) -> Vec<Value> {
    let mut flow = TestFlow::new(AppProto::Iec104, Proto::TCP, 2404, rules);
    let mut driver = Driver::<Iec104Parser>::default();
    for (dir, chunk) in stream {
        driver.chunk(dir, chunk, &mut flow.packet());
    }
    driver.close(&mut flow.packet());
    flow.events()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

#[test]
fn a_session_is_logged_frame_by_frame() {
    use Direction::{ToClient as Up, ToServer as Down};
    let gi = i_frame(0, 0, &[100, 1, 6, 0, 1, 0, 0, 0, 0, 20]);
    let mut data = vec![13, 0x82, 20, 0, 1, 0, 0x10, 0x27, 0];
    data.extend_from_slice(&21.5f32.to_le_bytes());
    data.push(0);
    data.extend_from_slice(&f32::NAN.to_le_bytes());
    data.push(0x80);
    let reply = i_frame(1, 1, &data);
    let con = i_frame(0, 1, &[100, 1, 7, 0, 1, 0, 0, 0, 0, 20]);
    // Several APDUs in one segment, and one split over two.
    let both = [con.clone(), reply.clone()].concat();
    let ack = s_frame(2);
    let stream = [
        (Down, Chunk::Data(&STARTDT_ACT)),
        (Up, Chunk::Data(&STARTDT_CON)),
        (Down, Chunk::Data(&gi[..5])),
        (Down, Chunk::Data(&gi[5..])),
        (Up, Chunk::Data(&both)),
        (Down, Chunk::Data(&ack)),
    ];
    let ev = run("", stream);
    let logged = of_type(&ev, "iec104");
    assert_eq!(logged.len(), 5, "{ev:#?}");
    assert_eq!(logged[0]["iec104"]["apci"]["function"], "startdt_act");
    assert_eq!(logged[0]["dest_port"], 2404);
    let gi = &logged[2]["iec104"];
    assert_eq!(gi["apci"]["format"], "I");
    assert_eq!(gi["asdu"]["type"], "C_IC_NA_1");
    assert_eq!(gi["asdu"]["cause"], "activation");
    assert_eq!(gi["asdu"]["objects"][0]["qualifier"], 20);
    let m = &logged[4]["iec104"]["asdu"];
    assert_eq!(m["type"], "M_ME_NC_1");
    assert_eq!(m["sq"], true);
    assert_eq!(m["cause"], "interrogated_station");
    assert_eq!(m["objects"][0]["ioa"], 10000);
    assert_eq!(m["objects"][0]["value"], 21.5);
    assert_eq!(m["objects"][1]["ioa"], 10001);
    assert_eq!(m["objects"][1]["value"], Value::Null);
    assert_eq!(m["objects"][1]["quality"], serde_json::json!(["IV"]));
    assert_eq!(logged[0]["iec104"]["direction"], "to_server");
    assert_eq!(logged[4]["iec104"]["direction"], "to_client");
    assert!(of_type(&ev, "anomaly").is_empty(), "{ev:#?}");
}

#[test]
fn sequence_gaps_and_unsent_acknowledgements() {
    use Direction::{ToClient as Up, ToServer as Down};
    let gi = |ns| i_frame(ns, 0, &[100, 1, 6, 0, 1, 0, 0, 0, 0, 20]);
    let (a, b, c) = (gi(0), gi(1), gi(5));
    // The outstation acknowledges 9 I-frames of the 3 the master sent.
    let bad_ack = s_frame(9);
    let good_ack = s_frame(2);
    let stream = [
        (Down, Chunk::Data(&a)),
        (Down, Chunk::Data(&b)),
        (Up, Chunk::Data(&good_ack)),
        (Down, Chunk::Data(&c)),
        (Up, Chunk::Data(&bad_ack)),
    ];
    let ev = run("", stream);
    let names: Vec<_> = of_type(&ev, "anomaly")
        .iter()
        .map(|e| e["anomaly"]["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["sequence_gap", "unsent_acknowledged"]);
    // A capture gap forgets the numbers: no sequence anomaly for what follows it.
    let stream = [
        (Down, Chunk::Data(&a)),
        (Down, Chunk::Gap(16)),
        (Down, Chunk::Data(&c)),
    ];
    let ev = run("", stream);
    let anomalies = of_type(&ev, "anomaly");
    assert_eq!(anomalies.len(), 1, "{anomalies:#?}");
    assert_eq!(anomalies[0]["anomaly"]["event"], "stream.reassembly_gap");
}

#[test]
fn malformed_frames_are_named_and_the_stream_goes_on() {
    use Direction::ToServer as Down;
    let unknown = i_frame(0, 0, &[42, 1, 3, 0, 1, 0, 1, 0, 0, 0]);
    let short = i_frame(1, 0, &[45, 1, 6, 0, 1, 0, 1, 0]);
    let next = i_frame(2, 0, &[45, 1, 6, 0, 1, 0, 1, 0, 0, 1]);
    let all = [unknown, short, next].concat();
    let ev = run("", [(Down, Chunk::Data(&all))]);
    let names: Vec<_> = of_type(&ev, "anomaly")
        .iter()
        .map(|e| e["anomaly"]["event"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["unknown_type_id", "invalid_asdu_length"]);
    let logged = of_type(&ev, "iec104");
    assert_eq!(logged.len(), 3);
    assert_eq!(logged[2]["iec104"]["asdu"]["objects"][0]["value"], true);
}

#[test]
fn rules_see_commands_and_acknowledgements() {
    use Direction::{ToClient as Up, ToServer as Down};
    let rules = r#"
alert iec104 any any -> any any (msg:"single command"; iec104_asdu_func:C_SC_NA_1; sid:1;)
alert iec104 any any -> any any (msg:"s frame"; iec104_apci_type:s; sid:2;)
"#;
    let cmd = i_frame(0, 0, &[45, 1, 6, 0, 1, 0, 0x88, 0x13, 0, 0x81]);
    let ack = s_frame(1);
    let ev = run(rules, [(Down, Chunk::Data(&cmd)), (Up, Chunk::Data(&ack))]);
    let sids: Vec<_> = of_type(&ev, "alert")
        .iter()
        .map(|e| e["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sids, [1, 2]);
    let alert = of_type(&ev, "alert")[0];
    assert_eq!(alert["iec104"]["asdu"]["objects"][0]["ioa"], 5000);
    assert_eq!(alert["iec104"]["asdu"]["objects"][0]["select"], true);
}
