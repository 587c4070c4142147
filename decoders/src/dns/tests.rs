use super::*;

/// A query for www.example.com A, id 0x1234, RD.
fn query() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
    m
}

/// Its response: a CNAME to example.com (compressed), then an A record for it.
fn response() -> Vec<u8> {
    let mut m = query();
    m[2] = 0x81;
    m[3] = 0x80;
    m[7] = 2;
    // www.example.com (pointer to 12) CNAME example.com (pointer to 16)
    m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 2, 0xc0, 16]);
    // example.com (pointer to 16) A 93.184.216.34
    m.extend_from_slice(&[0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, 34]);
    m
}

#[test]
fn questions_and_compressed_records() {
    let q = query();
    let m = Message::parse(&q).unwrap();
    assert_eq!((m.id(), m.is_response(), m.opcode()), (0x1234, false, 0));
    let qs: Vec<_> = m.questions().collect();
    assert_eq!(qs.len(), 1);
    assert_eq!(qs[0].name.to_string(), "www.example.com");
    assert_eq!((qs[0].rrtype, qs[0].class), (1, 1));
    let r = response();
    let m = Message::parse(&r).unwrap();
    assert!(m.is_response() && m.flag(0x0080));
    assert_eq!(m.rcode(), 0);
    let rs: Vec<_> = m.records(Section::Answer).collect();
    assert_eq!(rs.len(), 2);
    assert_eq!(rs[0].name.to_string(), "www.example.com");
    assert_eq!(rs[0].rrtype, 5);
    assert_eq!(rs[0].ttl, 3600);
    assert_eq!(rs[0].name_in_data(0).unwrap().to_string(), "example.com");
    assert_eq!(rs[1].rdata, [93, 184, 216, 34]);
    assert_eq!(m.trailing(), 0);
}

#[test]
fn bad_names_and_truncation() {
    let mut looped = query();
    // The question's name points at itself.
    looped.truncate(12);
    looped.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&looped), Err(Error::BadName));
    let forward = [&query()[..12], &[0xc0, 20, 0, 1, 0, 1]].concat();
    assert_eq!(Message::parse(&forward), Err(Error::BadName));
    let mut long = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for _ in 0..5 {
        long.push(63);
        long.extend_from_slice(&[b'a'; 63]);
    }
    long.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert_eq!(Message::parse(&long), Err(Error::BadName));
    let r = response();
    for cut in 0..r.len() {
        assert!(Message::parse(&r[..cut]).is_err(), "cut at {cut}");
    }
}

#[test]
fn bad_authorities_and_additionals_are_dropped() {
    // The response, one authority record (example.com NS, pointer) and one additional cut
    // short: the answers still read, the additional section is dropped.
    let mut r = response();
    r[9] = 1;
    r[11] = 1;
    r.extend_from_slice(&[0xc0, 16, 0, 2, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 16]);
    let whole = r.len();
    r.extend_from_slice(&[0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10]);
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.invalid_section(), Some(Section::Additional));
    assert_eq!(m.records(Section::Answer).count(), 2);
    assert_eq!(m.records(Section::Authority).count(), 1);
    assert_eq!(m.records(Section::Additional).count(), 0);
    assert_eq!(m.trailing(), 0);
    // A bad name in the authority section drops it and the additionals after it.
    r[whole - 14] = 0x80;
    let m = Message::parse(&r).unwrap();
    assert_eq!(m.invalid_section(), Some(Section::Authority));
    assert_eq!(m.records(Section::Answer).count(), 2);
    assert_eq!(m.records(Section::Authority).count(), 0);
    assert_eq!(m.records(Section::Additional).count(), 0);
    // The answers must check.
    let mut bad = response();
    bad[7] = 3;
    assert_eq!(Message::parse(&bad), Err(Error::Truncated));
    assert_eq!(Message::parse(&response()).unwrap().invalid_section(), None);
}

#[test]
fn tcp_and_udp_framing() {
    let q = query();
    let mut tcp = (q.len() as u16).to_be_bytes().to_vec();
    tcp.extend_from_slice(&q);
    tcp.extend_from_slice(&tcp.clone());
    let mut p = DnsParser::default();
    match p.parse(Direction::ToServer, &tcp) {
        Parsed::Pdu {
            pdu: Pdu::Message(m),
            len,
        } => {
            assert_eq!(len, 2 + q.len());
            assert_eq!(m.id(), 0x1234);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        p.parse(Direction::ToServer, &tcp[..10]),
        Parsed::Incomplete { .. }
    ));
    let junk = [0, 14, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
    assert!(matches!(
        p.parse(Direction::ToServer, &junk),
        Parsed::Pdu {
            pdu: Pdu::Malformed(_),
            len: 16
        }
    ));
    p.datagrams();
    assert!(matches!(
        p.parse(Direction::ToServer, &q),
        Parsed::Pdu {
            pdu: Pdu::Message(_),
            ..
        }
    ));
    assert_eq!(probe(Direction::ToServer, &q), Probe::Match);
    assert_eq!(probe(Direction::ToServer, &tcp), Probe::Match);
    assert_eq!(
        probe(Direction::ToClient, &q),
        Probe::NoMatch,
        "a query sent to the client"
    );
    assert_eq!(
        probe(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n"),
        Probe::NoMatch
    );
}

proptest::proptest! {
    #[test]
    fn never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        if let Ok(m) = Message::parse(&buf) {
            let mut out = Vec::new();
            for q in m.questions() {
                q.name.write_dotted(&mut out);
            }
            for s in [Section::Answer, Section::Authority, Section::Additional] {
                for r in m.records(s) {
                    r.name.write_dotted(&mut out);
                    let _ = r.name_in_data(0);
                }
            }
        }
        let _ = probe(Direction::ToServer, &buf);
        let _ = DnsParser::default().parse(Direction::ToClient, &buf);
    }
}
