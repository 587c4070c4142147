use super::*;

/// An encapsulation message around `data`.
fn message(command: u16, data: &[u8]) -> Vec<u8> {
    let mut m = command.to_le_bytes().to_vec();
    m.extend_from_slice(&(data.len() as u16).to_le_bytes());
    m.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    m.extend_from_slice(&[0; 4]);
    m.extend_from_slice(b"context!");
    m.extend_from_slice(&[0; 4]);
    m.extend_from_slice(data);
    m
}

/// `SendRRData` data carrying `cip` in an unconnected data item.
fn rr_data(cip: &[u8]) -> Vec<u8> {
    let mut d = vec![0, 0, 0, 0, 0x0a, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0];
    d.extend_from_slice(&(cip.len() as u16).to_le_bytes());
    d.extend_from_slice(cip);
    d
}

#[test]
fn a_get_attribute_single_request_and_its_response() {
    // Get_Attribute_Single, class 0x01, instance 1, attribute 7.
    let req = message(
        0x6f,
        &rr_data(&[0x0e, 3, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07]),
    );
    let mut p = EnipParser;
    let Parsed::Pdu { pdu, len } = p.parse(Direction::ToServer, &req) else {
        panic!()
    };
    assert_eq!(
        (len, pdu.command, pdu.session),
        (req.len(), 0x6f, 0x1234_5678)
    );
    let cip = pdu.cip().unwrap();
    assert_eq!(cip.service(), Some(0x0e));
    assert!(!cip.is_response());
    assert_eq!(cip.path_value(Segment::CLASS), Some(1));
    assert_eq!(cip.path_value(Segment::INSTANCE), Some(1));
    assert_eq!(cip.path_value(Segment::ATTRIBUTE), Some(7));
    for cut in 0..req.len() {
        assert!(matches!(
            p.parse(Direction::ToServer, &req[..cut]),
            Parsed::Incomplete { .. }
        ));
    }
    let resp = message(0x6f, &rr_data(&[0x8e, 0, 0, 0, 0x2a, 0]));
    let Parsed::Pdu { pdu, .. } = p.parse(Direction::ToClient, &resp) else {
        panic!()
    };
    let cip = pdu.cip().unwrap();
    assert_eq!((cip.service(), cip.is_response()), (Some(0x0e), true));
    assert_eq!(cip.general_status(), Some(0));
    assert_eq!(cip.segments().count(), 0);
}

#[test]
fn a_multiple_service_packet_and_wide_segments() {
    // Two bundled services: Set_Attribute_Single on class 0x0100 (16-bit), and a Get.
    let a = [0x10, 4, 0x21, 0, 0x00, 0x01, 0x24, 0x02, 0x30, 0x03];
    let b = [0x0e, 2, 0x20, 0x04, 0x24, 0x01];
    let mut data = vec![2, 0, 6, 0, (6 + a.len()) as u8, 0];
    data.extend_from_slice(&a);
    data.extend_from_slice(&b);
    let mut msp = vec![0x0a, 2, 0x20, 0x02, 0x24, 0x01];
    msp.extend_from_slice(&data);
    let cip = Cip::new(&msp);
    let bundled: Vec<_> = cip.bundled().collect();
    assert_eq!(bundled.len(), 2);
    assert_eq!(bundled[0].service(), Some(0x10));
    assert_eq!(bundled[0].path_value(Segment::CLASS), Some(0x100));
    assert_eq!(bundled[0].path_value(Segment::ATTRIBUTE), Some(3));
    assert_eq!(bundled[1].path_value(Segment::CLASS), Some(4));
    // Offsets past the end read as nothing.
    let bad = [0x0a, 0, 3, 0, 0xff, 0xff, 1, 0];
    assert_eq!(Cip::new(&bad).bundled().count(), 0);
}

#[test]
fn probes_and_bad_headers() {
    let m = message(0x63, &[]);
    assert_eq!(probe(Direction::ToServer, &m), Probe::Match);
    assert_eq!(probe(Direction::ToServer, &m[..3]), Probe::NeedMore);
    assert_eq!(
        probe(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n   "),
        Probe::NoMatch
    );
    let mut bad = m.clone();
    bad[20] = 1;
    assert_eq!(
        EnipParser.parse(Direction::ToServer, &bad),
        Parsed::Invalid(Error::Options(1))
    );
    assert_eq!(command_name(0x70), Some("send_unit_data"));
    // A send without a data item has no CIP message.
    let m = message(0x70, &[0, 0, 0, 0, 0, 0, 0, 0]);
    let Parsed::Pdu { pdu, .. } = EnipParser.parse(Direction::ToServer, &m) else {
        panic!()
    };
    assert_eq!(pdu.cip(), None);
}

proptest::proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = probe(Direction::ToServer, &bytes);
        let mut m = message(0x6f, &bytes);
        m[2..4].copy_from_slice(&(bytes.len() as u16).to_le_bytes());
        if let Parsed::Pdu { pdu, .. } = EnipParser.parse(Direction::ToServer, &m) {
            if let Some(c) = pdu.cip() {
                let _ = (c.service(), c.general_status(), c.segments().count());
                for b in c.bundled() {
                    let _ = b.segments().count();
                }
            }
        }
        let c = Cip::new(&bytes);
        let _ = (c.segments().count(), c.bundled().count());
    }
}
