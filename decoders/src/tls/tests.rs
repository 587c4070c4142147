use super::*;

/// A TLS 1.2 ClientHello for `plc.example`: two ciphers after a GREASE one, SNI, groups,
/// point formats, ALPN `h2`, and a GREASE extension.
fn client_hello() -> Vec<u8> {
    let mut ext = Vec::new();
    let sni = b"plc.example";
    ext.extend_from_slice(&[0x0a, 0x0a, 0, 0]); // GREASE
    ext.extend_from_slice(&[0, 0]);
    ext.extend_from_slice(&((sni.len() + 5) as u16).to_be_bytes());
    ext.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    ext.extend_from_slice(sni);
    ext.extend_from_slice(&[0, 10, 0, 6, 0, 4, 0, 29, 0, 23]); // groups x25519, secp256r1
    ext.extend_from_slice(&[0, 11, 0, 2, 1, 0]); // point formats: uncompressed
    ext.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']); // ALPN h2
    ext.extend_from_slice(&[0, 13, 0, 6, 0, 4, 4, 3, 8, 4]); // signature algorithms
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]);
    body.push(0); // session id
    body.extend_from_slice(&[0, 6, 0x1a, 0x1a, 0xc0, 0x2f, 0x00, 0x9c]);
    body.extend_from_slice(&[1, 0]); // compression
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut msg = vec![handshake::CLIENT_HELLO];
    msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    msg.extend_from_slice(&body);
    msg
}

fn record(content_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, 1];
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

#[test]
fn client_hello_and_fingerprints() {
    let mut tls = Tls::default();
    assert!(hello::client(&mut tls, &client_hello()));
    assert_eq!(tls.sni, b"plc.example");
    assert_eq!(tls.client_version, 0x0303);
    assert_eq!(tls.ja3, "771,49199-156,0-10-11-16-13,29-23,0");
    assert_eq!(tls.ja3_hash.len(), 32);
    assert!(tls.ja4.starts_with("t12d0205h2_"), "{}", tls.ja4);
    assert_eq!(tls.ja4.len(), "t12d0205h2_".len() + 12 + 1 + 12);
}

#[test]
fn records_frame_and_handshakes_gather() {
    let hello = client_hello();
    // The message split over two records.
    let (a, b) = hello.split_at(20);
    let stream = [record(content::HANDSHAKE, a), record(content::HANDSHAKE, b)].concat();
    assert_eq!(probe(Direction::ToServer, &stream), Probe::Match);
    assert_eq!(
        probe(Direction::ToClient, &stream),
        Probe::Match,
        "either way"
    );
    assert_eq!(probe(Direction::ToServer, &[22, 3]), Probe::NeedMore);
    assert_eq!(probe(Direction::ToServer, &[22, 3, 0, 0, 0]), Probe::Match);
    assert_eq!(probe(Direction::ToServer, &[22, 3, 5]), Probe::NoMatch);
    assert_eq!(probe(Direction::ToServer, &[23, 3, 3]), Probe::NoMatch);
    assert_eq!(probe(Direction::ToServer, b"GET /"), Probe::NoMatch);
    let mut p = TlsParser;
    let mut hs = Handshake::default();
    let mut at = 0;
    while at < stream.len() {
        match p.parse(Direction::ToServer, &stream[at..]) {
            Parsed::Pdu { pdu, len } => {
                assert_eq!(pdu.content_type, content::HANDSHAKE);
                assert!(hs.push(pdu.fragment));
                at += len;
            }
            other => panic!("{other:?}"),
        }
    }
    let (t, msg) = hs.next_message().unwrap();
    assert_eq!(t, handshake::CLIENT_HELLO);
    assert_eq!(msg, hello.as_slice());
    assert!(hs.next_message().is_none());
    assert!(matches!(
        p.parse(Direction::ToServer, &[99, 3, 3, 0, 1, 0]),
        Parsed::Invalid(Error::ContentType(99))
    ));
    assert!(matches!(
        p.parse(Direction::ToServer, &[22, 3, 3, 0xff, 0xff]),
        Parsed::Invalid(Error::Length(_))
    ));
}

proptest::proptest! {
    #[test]
    fn never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        let mut tls = Tls::default();
        let _ = hello::client(&mut tls, &buf);
        let _ = hello::server(&mut tls, &buf);
        let _ = hello::certificate(&mut tls, &buf);
        let _ = probe(Direction::ToServer, &buf);
        let _ = TlsParser.parse(Direction::ToClient, &buf);
        let mut hs = Handshake::default();
        hs.push(&buf);
        while hs.next_message().is_some() {}
    }
}
