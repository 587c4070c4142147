use serde_json::Value;

use super::*;
use crate::app::testing::TestFlow;
use crate::app::Driver;
use crate::reassembly::Chunk;
use icsight_eve::Proto;

use Direction::{ToClient as Up, ToServer as Down};

fn string(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as i32).to_le_bytes().to_vec();
    v.extend_from_slice(s);
    v
}

const NULL: [u8; 4] = [0xff; 4];

/// A `MSG` chunk on channel 6, token 13, around `body`.
fn chunk(kind: &[u8; 3], body: &[u8]) -> Vec<u8> {
    let mut v = kind.to_vec();
    v.push(b'F');
    v.extend_from_slice(&(24 + body.len() as u32).to_le_bytes());
    for n in [6u32, 13, 1, 1] {
        v.extend_from_slice(&n.to_le_bytes());
    }
    v.extend_from_slice(body);
    v
}

/// Service `id`'s request in session `auth` (a numeric token in namespace 1).
fn request(id: u16, auth: u32, handle: u32, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![0x01, 0x00];
    v.extend_from_slice(&id.to_le_bytes());
    v.extend_from_slice(&[0x02, 1, 0]);
    v.extend_from_slice(&auth.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&handle.to_le_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&NULL);
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&[0, 0, 0]);
    v.extend_from_slice(rest);
    chunk(b"MSG", &v)
}

fn response(id: u16, handle: u32, result: u32) -> Vec<u8> {
    let mut v = vec![0x01, 0x00];
    v.extend_from_slice(&id.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&handle.to_le_bytes());
    v.extend_from_slice(&result.to_le_bytes());
    v.push(0);
    v.extend_from_slice(&NULL);
    v.extend_from_slice(&[0, 0, 0]);
    chunk(b"MSG", &v)
}

/// An ActivateSession request presenting an anonymous or a user name token.
fn activate(auth: u32, handle: u32, user: Option<&[u8]>) -> Vec<u8> {
    let mut b = [NULL, NULL, NULL, NULL].concat();
    let (id, token) = match user {
        None => (321u16, string(b"anonymous")),
        Some(u) => (
            324,
            [
                string(b"username"),
                string(u),
                string(b"secret"),
                NULL.to_vec(),
            ]
            .concat(),
        ),
    };
    b.extend_from_slice(&[0x01, 0x00]);
    b.extend_from_slice(&id.to_le_bytes());
    b.push(0x01);
    b.extend_from_slice(&string(&token));
    b.extend_from_slice(&[NULL, NULL].concat());
    request(467, auth, handle, &b)
}

fn write(auth: u32, handle: u32, x: f64) -> Vec<u8> {
    let mut b = 1i32.to_le_bytes().to_vec();
    b.extend_from_slice(&[0x03, 2, 0]);
    b.extend_from_slice(&string(b"Setpoint"));
    b.extend_from_slice(&13u32.to_le_bytes());
    b.extend_from_slice(&NULL);
    b.extend_from_slice(&[0x01, 11]);
    b.extend_from_slice(&x.to_le_bytes());
    request(673, auth, handle, &b)
}

fn run(rules: &str, stream: &[(Direction, Vec<u8>)]) -> Vec<Value> {
    let mut flow = TestFlow::new(AppProto::Opcua, Proto::TCP, 4840, rules);
    let mut driver = Driver::<OpcuaParser>::default();
    for (dir, bytes) in stream {
        driver.chunk(*dir, Chunk::Data(bytes), &mut flow.packet());
    }
    driver.close(&mut flow.packet());
    flow.events()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

const RULES: &str = r#"
alert opcua any any -> any any (msg:"anonymous write"; flow:to_server; opcua.service:Write; opcua.session:anonymous; sid:1;)
alert opcua any any -> any any (msg:"refused"; flow:to_client; opcua.status:BadUserAccessDenied; sid:2;)
alert opcua any any -> any any (msg:"node"; opcua.node:"ns=2\;s=Setpoint"; sid:3;)
"#;

#[test]
fn sessions_are_followed_to_their_identity() {
    let stream = [
        // A refused user: its session's requests run as nobody known.
        (Down, activate(7, 1, Some(b"operator"))),
        (Up, response(397, 1, 0x801f_0000)),
        (Down, write(7, 2, 1.0)),
        (Up, response(676, 2, 0x8027_0000)),
        // An accepted anonymous session.
        (Down, activate(8, 3, None)),
        (Up, response(470, 3, 0)),
        (Down, write(8, 4, 9999.0)),
        (Up, response(676, 4, 0)),
        // Closed: forgotten.
        (Down, request(473, 8, 5, &[1])),
        (Down, write(8, 6, 5.0)),
    ];
    let ev = run(RULES, &stream);
    let tx = of_type(&ev, "opcua");
    assert_eq!(tx.len(), stream.len(), "{ev:#?}");
    let svc = |i: usize| &tx[i]["opcua"]["service"];
    assert_eq!(svc(0)["name"], "ActivateSession");
    assert_eq!(svc(0)["identity_token"]["type"], "username");
    assert_eq!(svc(0)["identity_token"]["user"], "operator");
    assert_eq!(svc(1)["name"], "ServiceFault");
    assert_eq!(svc(1)["result"]["name"], "BadUserAccessDenied");
    assert!(svc(2).get("session").is_none(), "{}", tx[2]);
    assert_eq!(svc(2)["nodes"][0]["node_id"], "ns=2;s=Setpoint");
    assert_eq!(svc(2)["nodes"][0]["attribute"], "Value");
    assert_eq!(svc(2)["nodes"][0]["value"], 1.0);
    assert_eq!(svc(6)["session"]["identity"], "anonymous");
    assert_eq!(svc(6)["nodes"][0]["value"], 9999.0);
    assert!(svc(9).get("session").is_none());
    assert_eq!(tx[6]["opcua"]["direction"], "to_server");
    assert_eq!(tx[6]["opcua"]["encrypted"], false);
    assert_eq!(tx[6]["opcua"]["channel_id"], 6);
    assert_eq!(tx[6]["opcua"]["token_id"], 13);

    let alerts = of_type(&ev, "alert");
    let sids: Vec<u64> = alerts
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sids.iter().filter(|&&s| s == 1).count(), 1, "{sids:?}");
    assert_eq!(sids.iter().filter(|&&s| s == 2).count(), 1, "{sids:?}");
    assert_eq!(sids.iter().filter(|&&s| s == 3).count(), 3, "{sids:?}");
    let a = alerts
        .iter()
        .find(|a| a["alert"]["signature_id"] == 1)
        .unwrap();
    assert_eq!(a["opcua"]["service"]["session"]["identity"], "anonymous");
}

#[test]
fn what_is_held_is_bounded() {
    // More activations than are held, never answered, then one accepted.
    let mut stream: Vec<(Direction, Vec<u8>)> = (0..20)
        .map(|i| (Down, activate(100 + i, 100 + i, None)))
        .collect();
    for i in 0..20u32 {
        stream.push((Down, activate(i, i, Some(b"operator"))));
        stream.push((Up, response(470, i, 0)));
    }
    stream.push((Down, write(19, 500, 1.0)));
    stream.push((Down, write(0, 501, 1.0)));
    let ev = run("", &stream);
    let tx = of_type(&ev, "opcua");
    let n = tx.len();
    assert_eq!(tx[n - 2]["opcua"]["service"]["session"]["user"], "operator");
    // The oldest sessions made way for the newer.
    assert!(tx[n - 1]["opcua"]["service"].get("session").is_none());
}

#[test]
fn malformed_chunks_are_anomalies_and_keep_the_framing() {
    let mut short = chunk(b"MSG", &[0x01, 0x00, 0xa1, 0x02, 0x02]);
    short.truncate(short.len());
    let unknown = chunk(b"MSG", &[0x01, 0x00, 0x10, 0x27]);
    let stream = [(Down, short), (Down, unknown), (Down, write(1, 1, 2.0))];
    let ev = run("", &stream);
    let anomalies: Vec<&str> = of_type(&ev, "anomaly")
        .iter()
        .map(|a| a["anomaly"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(anomalies, ["truncated", "unknown_service"], "{ev:#?}");
    assert_eq!(of_type(&ev, "opcua").len(), 3);
}
