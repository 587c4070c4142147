use super::*;

mod samples;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Parses `bytes` (each chunk in turn, with one parser, as one direction of a flow) and
/// returns the last message.
fn parse_all(p: &mut OpcuaParser, dir: Direction, bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut at = 0;
    let mut spans = Vec::new();
    while at < bytes.len() {
        match p.parse(dir, &bytes[at..]) {
            Parsed::Pdu { len, .. } => {
                spans.push((at, len));
                at += len;
            }
            other => panic!("at {at}: {other:?}"),
        }
    }
    spans
}

fn message<'a>(p: &mut OpcuaParser, dir: Direction, bytes: &'a [u8]) -> Message<'a> {
    match p.parse(dir, bytes) {
        Parsed::Pdu {
            pdu: Pdu::Message(m),
            len,
        } => {
            assert_eq!(len, bytes.len());
            m
        }
        other => panic!("{other:?}"),
    }
}

fn one(hex: &str) -> Vec<u8> {
    unhex(hex)
}

fn text(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap()
}

#[test]
fn hello_and_acknowledge() {
    let b = one(samples::HELLO);
    let m = message(&mut OpcuaParser::default(), Direction::ToServer, &b);
    assert_eq!(m.kind, MessageType::Hello);
    let h = m.hello().unwrap();
    assert_eq!(h.version, 0);
    assert_eq!(text(h.endpoint_url), "opc.tcp://127.0.0.10:4840/icsight/");
    assert_eq!(m.anomaly(), None);
    assert_eq!(probe(Direction::ToServer, &b), Probe::Match);

    let b = one(samples::ACK);
    let m = message(&mut OpcuaParser::default(), Direction::ToClient, &b);
    let a = m.acknowledge().unwrap();
    assert_eq!(a.receive_buffer, 65535);
    assert_eq!(a.max_message, 104_857_600);
    assert_eq!(m.anomaly(), None);
}

#[test]
fn open_secure_channel_in_clear() {
    let mut p = OpcuaParser::default();
    let b = one(samples::OPEN_REQUEST);
    let m = message(&mut p, Direction::ToServer, &b);
    assert_eq!(m.protection, Protection::Clear);
    let a = m.asymmetric().unwrap();
    assert_eq!(a.policy, POLICY_NONE);
    assert_eq!(a.policy_name(), b"None");
    assert_eq!(m.channel_id(), Some(0));
    assert_eq!(m.sequence(), Some((1, 1)));
    let s = m.service().unwrap();
    assert_eq!(s.name(), Some("OpenSecureChannel"));
    assert!(!s.is_response());
    match s.body {
        Body::OpenSecureChannel {
            request_type,
            security_mode,
            lifetime,
            ..
        } => {
            assert_eq!((request_type, security_mode), (0, 1));
            assert_eq!(lifetime, 600_000);
        }
        other => panic!("{other:?}"),
    }
    let b = one(samples::OPEN_RESPONSE);
    let m = message(&mut p, Direction::ToClient, &b);
    let s = m.service().unwrap();
    assert!(s.is_response());
    assert_eq!(s.result(), Some(0));
    match s.body {
        Body::OpenSecureChannelResponse {
            channel_id,
            token_id,
            ..
        } => assert_eq!((channel_id, token_id), (6, 13)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sessions() {
    let mut p = OpcuaParser::default();
    let b = one(samples::CREATE_SESSION);
    let m = message(&mut p, Direction::ToServer, &b);
    assert_eq!(m.token_id(), Some(13));
    let s = m.service().unwrap();
    match s.body {
        Body::CreateSession {
            client,
            endpoint_url,
            certificate,
            ..
        } => {
            assert_eq!(text(client.uri), "urn:icsight:plant:hmi");
            assert_eq!(text(client.name), "icsight-hmi");
            assert_eq!(client.kind, 1);
            assert_eq!(text(endpoint_url), "opc.tcp://127.0.0.10:4840/icsight/");
            // node-opcua sends its certificate even on an unsecured channel.
            assert!(certificate);
        }
        other => panic!("{other:?}"),
    }
    let b = one(samples::CREATE_SESSION_RESPONSE);
    let m = message(&mut p, Direction::ToClient, &b);
    let s = m.service().unwrap();
    let Body::CreateSessionResponse { endpoints, .. } = s.body else {
        panic!("{:?}", s.body);
    };
    let eps: Vec<_> = endpoints.iter().collect();
    assert_eq!(eps.len() as u32, endpoints.len());
    assert!(eps.len() >= 2, "{eps:?}");
    assert_eq!(text(eps[0].server.uri), "urn:icsight:plant:server");
    assert!(eps
        .iter()
        .any(|e| policy_name(e.security_policy) == b"None"));
    assert!(eps
        .iter()
        .any(|e| e.token_types & 1 << TokenType::UserName as u8 != 0));

    let b = one(samples::ACTIVATE_ANONYMOUS);
    let m = message(&mut p, Direction::ToServer, &b);
    let s = m.service().unwrap();
    assert_eq!(s.name(), Some("ActivateSession"));
    let Body::ActivateSession(t) = s.body else {
        panic!("{:?}", s.body);
    };
    assert_eq!(t.kind, Some(TokenType::Anonymous));
    assert_eq!(text(t.policy_id), "anonymous");
}

#[test]
fn write_call_read() {
    let mut p = OpcuaParser::default();
    let b = one(samples::WRITE);
    let s = message(&mut p, Direction::ToServer, &b).service().unwrap();
    let Body::Write(w) = s.body else {
        panic!("{:?}", s.body);
    };
    let w: Vec<_> = w.iter().collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].node.to_string(), "ns=2;s=Setpoint");
    assert_eq!(w[0].attribute, 13);
    assert_eq!(w[0].value, Some(Value::Float(510.0)));
    assert_eq!(
        s.body.nodes().map(|n| n.to_string()).collect::<Vec<_>>(),
        ["ns=2;s=Setpoint"]
    );

    let b = one(samples::CALL);
    let s = message(&mut p, Direction::ToServer, &b).service().unwrap();
    let Body::Call(c) = s.body else {
        panic!("{:?}", s.body);
    };
    let c: Vec<_> = c.iter().collect();
    assert_eq!(c[0].object.to_string(), "ns=2;s=Plant");
    assert_eq!(c[0].method.to_string(), "ns=2;s=StartPump");
    assert_eq!(c[0].first_argument, Some(Value::Bool(true)));

    let b = one(samples::READ_RESPONSE);
    let s = message(&mut p, Direction::ToClient, &b).service().unwrap();
    let Body::ReadResults(r) = s.body else {
        panic!("{:?}", s.body);
    };
    let r: Vec<_> = r.iter().collect();
    assert_eq!(r.len(), 4);
    assert!(matches!(r[0].value, Some(Value::Float(_))));
    assert_eq!(r[2].value, Some(Value::Bool(true)));
    assert_eq!(r[3].value, Some(Value::String(b"AUTO")));
}

#[test]
fn service_fault() {
    let b = one(samples::FAULT);
    let m = message(&mut OpcuaParser::default(), Direction::ToClient, &b);
    let s = m.service().unwrap();
    assert_eq!(s.name(), Some("ServiceFault"));
    assert_eq!(s.result(), Some(0x801f_0000));
    assert_eq!(status_name(0x801f_0000), Some("BadUserAccessDenied"));
    assert_eq!(status_by_name("baduseraccessdenied"), Some(0x801f_0000));
    assert_eq!(m.anomaly(), None);
}

#[test]
fn secured_channel_is_encrypted() {
    let mut p = OpcuaParser::default();
    let b = one(samples::OPEN_SECURED);
    let m = message(&mut p, Direction::ToServer, &b);
    assert_eq!(m.protection, Protection::Encrypted);
    assert_eq!(m.asymmetric().unwrap().policy_name(), b"Basic256Sha256");
    assert!(!m.asymmetric().unwrap().sender_certificate.is_empty());
    assert_eq!(m.service(), None);
    assert_eq!(m.anomaly(), None);
    let b = one(samples::MSG_ENCRYPTED);
    let m = message(&mut p, Direction::ToServer, &b);
    assert_eq!(m.protection, Protection::Encrypted);
    assert_eq!((m.sequence(), m.service()), (None, None));
    assert!(m.channel_id().is_some() && m.token_id().is_some());
    assert_eq!(m.anomaly(), None);

    // A channel opened in clear reads its messages, whatever they hold.
    let mut p = OpcuaParser::default();
    message(&mut p, Direction::ToServer, &one(samples::OPEN_REQUEST));
    let m = message(&mut p, Direction::ToServer, &b);
    assert_eq!(m.protection, Protection::Clear);
}

#[test]
fn chunks_continue_a_message() {
    let whole = one(samples::WRITE);
    // The same message as two chunks: `C` with the front of the body, `F` with the rest.
    let body = &whole[24..];
    let (a, b) = body.split_at(20);
    let mut stream = Vec::new();
    for (part, chunk, seq) in [(a, b'C', 9u32), (b, b'F', 10)] {
        stream.extend_from_slice(b"MSG");
        stream.push(chunk);
        stream.extend_from_slice(&(24 + part.len() as u32).to_le_bytes());
        stream.extend_from_slice(&whole[8..16]);
        stream.extend_from_slice(&seq.to_le_bytes());
        stream.extend_from_slice(&9u32.to_le_bytes());
        stream.extend_from_slice(part);
    }
    let mut p = OpcuaParser::default();
    let spans = parse_all(&mut p, Direction::ToServer, &stream);
    assert_eq!(spans.len(), 2);
    let first = message(
        &mut OpcuaParser::default(),
        Direction::ToServer,
        &stream[..spans[0].1],
    );
    assert!(!first.continued);
    assert_eq!(first.service().unwrap().name(), Some("Write"));
    let mut p = OpcuaParser::default();
    message(&mut p, Direction::ToServer, &stream[..spans[0].1]);
    let second = message(&mut p, Direction::ToServer, &stream[spans[1].0..]);
    assert!(second.continued);
    assert_eq!(second.service(), None);
    assert_eq!(second.sequence(), Some((10, 9)));
    assert_eq!(second.anomaly(), None);
    // The other direction is not continued.
    message(&mut p, Direction::ToServer, &stream[..spans[0].1]);
    let fault = one(samples::FAULT);
    let back = message(&mut p, Direction::ToClient, &fault);
    assert!(!back.continued);
}

#[test]
fn large_chunks_are_kept_in_part() {
    let mut b = b"MSGF".to_vec();
    let size = MAX_KEPT as u32 + 1000;
    b.extend_from_slice(&size.to_le_bytes());
    b.resize(size as usize, 0);
    let mut p = OpcuaParser::default();
    match p.parse(Direction::ToServer, &b) {
        Parsed::Pdu {
            pdu: Pdu::Message(m),
            len,
        } => {
            assert_eq!(len, MAX_KEPT);
            assert_eq!(m.size, size);
        }
        other => panic!("{other:?}"),
    }
    // A gap within the skipped tail keeps the framing.
    assert_eq!(p.gap(Direction::ToServer, 600), Some(600));
    match p.parse(Direction::ToServer, &b[MAX_KEPT + 600..]) {
        Parsed::Pdu {
            pdu: Pdu::Skipped(n),
            len,
        } => assert_eq!((n, len), (400, 400)),
        other => panic!("{other:?}"),
    }
    assert_eq!(p.gap(Direction::ToServer, 1), None);
}

#[test]
fn framing_errors() {
    let mut p = OpcuaParser::default();
    let cases: [(&[u8], Error); 4] = [
        (b"GET / HTTP/1.1\r\n", Error::MessageType(*b"GET")),
        (b"HELC\x20\x00\x00\x00", Error::ChunkType(b'C')),
        (b"MSGX\x20\x00\x00\x00", Error::ChunkType(b'X')),
        (b"MSGF\x04\x00\x00\x00", Error::Size(4)),
    ];
    for (b, e) in cases {
        assert_eq!(p.parse(Direction::ToServer, b), Parsed::Invalid(e), "{b:?}");
        assert_eq!(probe(Direction::ToServer, b), Probe::NoMatch);
        assert!(!p.resync(Direction::ToServer, b));
    }
    assert_eq!(
        Error::MessageType(*b"GET").anomaly_name(),
        "opcua.invalid_message_type"
    );
    let big = [b'M', b'S', b'G', b'F', 0, 0, 0, 0x7f];
    assert_eq!(
        p.parse(Direction::ToServer, &big),
        Parsed::Invalid(Error::Size(0x7f00_0000))
    );
    assert_eq!(probe(Direction::ToServer, b"HE"), Probe::NeedMore);
    assert_eq!(probe(Direction::ToServer, b"hel"), Probe::NoMatch);
    assert_eq!(
        p.parse(Direction::ToServer, b"OP"),
        Parsed::Incomplete { needed: 6 }
    );
}

#[test]
fn every_truncation() {
    for hex in [
        samples::HELLO,
        samples::ACK,
        samples::OPEN_REQUEST,
        samples::OPEN_RESPONSE,
        samples::CREATE_SESSION,
        samples::CREATE_SESSION_RESPONSE,
        samples::ACTIVATE_ANONYMOUS,
        samples::READ_RESPONSE,
        samples::WRITE,
        samples::CALL,
        samples::FAULT,
        samples::OPEN_SECURED,
    ] {
        let b = one(hex);
        for n in 0..b.len() {
            // Cut short on the wire: more is needed.
            match OpcuaParser::default().parse(Direction::ToServer, &b[..n]) {
                Parsed::Incomplete { needed } => assert!(needed > 0 && n + needed <= b.len()),
                other => panic!("{n}: {other:?}"),
            }
            // Cut short by its sender (the size says so): a message with an anomaly, or a
            // body read as far as it goes.
            if n >= HEADER_LEN {
                let mut c = b[..n].to_vec();
                c[4..8].copy_from_slice(&(n as u32).to_le_bytes());
                let m = message(&mut OpcuaParser::default(), Direction::ToServer, &c);
                let _ = (m.anomaly(), m.hello(), m.acknowledge(), m.error());
                if let Some(s) = m.service() {
                    let _ = s.body.nodes().count();
                }
            }
        }
    }
    // A Hello without its endpoint URL is truncated.
    let mut b = one(samples::HELLO);
    b.truncate(30);
    b[4..8].copy_from_slice(&30u32.to_le_bytes());
    let m = message(&mut OpcuaParser::default(), Direction::ToServer, &b);
    assert_eq!(m.anomaly(), Some(Anomaly::Truncated));
}

#[test]
fn node_id_forms() {
    let cases: [(&[u8], &str); 6] = [
        (&[0x00, 85], "i=85"),
        (&[0x01, 2, 0x10, 0x27], "ns=2;i=10000"),
        (&[0x02, 1, 0, 0x40, 0x42, 0x0f, 0], "ns=1;i=1000000"),
        (&[0x03, 2, 0, 3, 0, 0, 0, b'P', b'u', b'm'], "ns=2;s=Pum"),
        (
            &[
                0x04, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            ],
            "ns=1;g=04030201-0605-0807-090a-0b0c0d0e0f10",
        ),
        (&[0x05, 3, 0, 4, 0, 0, 0, 1, 2, 3, 4], "ns=3;b=AQIDBA=="),
    ];
    for (b, s) in cases {
        let n = Reader::new(b).node_id().unwrap();
        assert_eq!(n.to_string(), s);
    }
    assert_eq!(Reader::new(&[0x06, 0, 0]).node_id(), None);
    assert_eq!(
        Reader::new(&[0x03, 0, 0, 0xff, 0xff, 0xff, 0x7f]).node_id(),
        None
    );
}

#[test]
fn nesting_is_bounded() {
    // A Variant holding a Variant holding … deeper than is followed.
    let mut b = vec![24u8; 64];
    b.push(0);
    assert_eq!(Reader::new(&b).variant(), None);
    let mut b = vec![24u8; 4];
    b.push(11);
    b.extend_from_slice(&1.5f64.to_le_bytes());
    assert_eq!(Reader::new(&b).variant(), Some(Value::Other(24)));
    // An array longer than what follows is refused, not walked.
    let b = [0x80 | 6, 0xff, 0xff, 0xff, 0x0f];
    assert_eq!(Reader::new(&b).variant(), None);
}

#[test]
fn service_table() {
    assert_eq!(
        service_by_id(631).map(|(s, r)| (s.name, r)),
        Some(("Read", false))
    );
    assert_eq!(
        service_by_id(634).map(|(s, r)| (s.name, r)),
        Some(("Read", true))
    );
    assert_eq!(
        service_by_id(12209).map(|(s, r)| (s.name, r)),
        Some(("FindServersOnNetwork", true))
    );
    assert_eq!(service_by_id(632), None);
    assert_eq!(service_by_name("write").map(|s| s.kind), Some(Kind::Write));
    assert_eq!(
        service_by_name("AddNodes").map(|s| s.kind),
        Some(Kind::NodeManagement)
    );
    assert_eq!(TokenType::from_name("UserName"), Some(TokenType::UserName));
}

proptest::proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let _ = probe(Direction::ToServer, &bytes);
        let mut framed = b"MSGF".to_vec();
        framed.extend_from_slice(&(bytes.len() as u32 + 24).to_le_bytes());
        framed.extend_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        framed.extend_from_slice(&bytes);
        let mut p = OpcuaParser::default();
        for b in [&bytes[..], &framed[..]] {
            if let Parsed::Pdu { pdu: Pdu::Message(m), len } = p.parse(Direction::ToServer, b) {
                proptest::prop_assert!(len <= b.len());
                let _ = (m.anomaly(), m.hello(), m.error(), m.asymmetric(), m.sequence());
                if let Some(s) = m.service() {
                    let _ = (s.result(), s.handle(), s.body.nodes().count());
                }
            }
        }
        // Any body behind a known service type.
        for id in [446u16, 449, 428, 431, 461, 464, 467, 631, 634, 673, 676, 527, 712, 715, 751] {
            let mut b = vec![0x01, 0x00];
            b.extend_from_slice(&id.to_le_bytes());
            b.extend_from_slice(&bytes);
            if let Some(s) = Service::read(&b) {
                let _ = s.body.nodes().count();
                match s.body {
                    Body::Endpoints(e) | Body::CreateSessionResponse { endpoints: e, .. } => {
                        let _ = e.iter().count();
                    }
                    Body::ReadResults(r) => { let _ = r.iter().count(); }
                    Body::CallResults(r) => { let _ = r.iter().count(); }
                    Body::Results(r) => { let _ = r.iter().count(); }
                    _ => {}
                }
            }
        }
    }
}
