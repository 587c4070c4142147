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
        let _ = (c.segments().count(), c.bundled().count(), c.symbols().count());
        let _ = (c.extended_status(), c.forward_open().map(|f| cip::connection_target(f.path).count()));
        let _ = (identity::Identity::read(&bytes), identity::ListService::read(&bytes));
        let m = message(0x63, &bytes);
        if let Parsed::Pdu { pdu, .. } = EnipParser.parse(Direction::ToClient, &m) {
            let _ = (pdu.identity(), pdu.list_service(), pdu.session());
        }
    }
}

/// The data of a `ListIdentity` reply: one identity item for a 1756-ENBT/A.
fn identity_reply() -> Vec<u8> {
    let name = b"1756-ENBT/A";
    let mut item = vec![1, 0]; // encapsulation protocol version
    item.extend_from_slice(&[0, 2, 0xaf, 0x12, 192, 168, 1, 10]); // AF_INET, 44818, address
    item.extend_from_slice(&[0; 8]);
    item.extend_from_slice(&1u16.to_le_bytes()); // vendor
    item.extend_from_slice(&12u16.to_le_bytes()); // device type
    item.extend_from_slice(&58u16.to_le_bytes()); // product code
    item.extend_from_slice(&[4, 3]); // revision
    item.extend_from_slice(&0x30u16.to_le_bytes()); // status
    item.extend_from_slice(&0x0052_4d8eu32.to_le_bytes()); // serial
    item.push(name.len() as u8);
    item.extend_from_slice(name);
    item.push(3); // state
    let mut d = vec![1, 0, 0x0c, 0];
    d.extend_from_slice(&(item.len() as u16).to_le_bytes());
    d.extend_from_slice(&item);
    d
}

#[test]
fn a_list_identity_reply_names_the_device() {
    let m = message(0x63, &identity_reply());
    let Parsed::Pdu { pdu, .. } = EnipParser.parse(Direction::ToClient, &m) else {
        panic!()
    };
    let id = pdu.identity().unwrap();
    assert_eq!(id.product_name, b"1756-ENBT/A");
    assert_eq!((id.vendor_id, id.device_type, id.product_code), (1, 12, 58));
    assert_eq!((id.revision, id.revision_word()), ((4, 3), 0x403));
    assert_eq!((id.serial, id.status, id.state), (0x524d8e, 0x30, 3));
    assert_eq!((id.port, id.address), (44818, [192, 168, 1, 10]));
    assert_eq!(
        identity::vendor_name(1),
        Some("Rockwell Automation/Allen-Bradley")
    );
    assert_eq!(
        identity::device_type_name(12),
        Some("Communications Adapter")
    );
    // Cut anywhere inside the name, the identity is not read.
    let d = identity_reply();
    for cut in 6..d.len() - 1 {
        let mut short = d[..cut].to_vec();
        short[4..6].copy_from_slice(&((cut - 6) as u16).to_le_bytes());
        let m = message(0x63, &short);
        let Parsed::Pdu { pdu, .. } = EnipParser.parse(Direction::ToClient, &m) else {
            panic!()
        };
        assert!(pdu
            .identity()
            .is_none_or(|i| i.product_name == b"1756-ENBT/A"));
    }
}

#[test]
fn list_services_and_register_session() {
    let mut item = vec![1, 0, 0x20, 0x01];
    item.extend_from_slice(b"Communications\0\0");
    let mut d = vec![1, 0, 0x00, 0x01];
    d.extend_from_slice(&(item.len() as u16).to_le_bytes());
    d.extend_from_slice(&item);
    let m = message(0x04, &d);
    let Parsed::Pdu { pdu, .. } = EnipParser.parse(Direction::ToClient, &m) else {
        panic!()
    };
    let s = pdu.list_service().unwrap();
    assert_eq!(
        (s.protocol_version, s.capabilities, s.name),
        (1, 0x120, &b"Communications"[..])
    );
    let m = message(0x65, &[1, 0, 0, 0]);
    let Parsed::Pdu { pdu, .. } = EnipParser.parse(Direction::ToServer, &m) else {
        panic!()
    };
    assert_eq!(
        pdu.session(),
        Some(Session {
            protocol_version: 1,
            options: 0
        })
    );
    assert_eq!(status_name(0x69), Some("unsupported_prot_rev"));
}

#[test]
fn a_forward_open_and_its_target() {
    // Forward Open to the Connection Manager (class 6, instance 1): O->T id 0, T->O id
    // 0x12345678, serial 0x0102, vendor 1, originator serial 0x0a0b0c0d, RPIs 2 s, class 3
    // transport, path port 1 slot 0, Message Router (class 2, instance 1).
    let mut fo = vec![0x54, 2, 0x20, 0x06, 0x24, 0x01];
    fo.extend_from_slice(&[0x0a, 0x0e]);
    fo.extend_from_slice(&0u32.to_le_bytes());
    fo.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    fo.extend_from_slice(&0x0102u16.to_le_bytes());
    fo.extend_from_slice(&1u16.to_le_bytes());
    fo.extend_from_slice(&0x0a0b_0c0du32.to_le_bytes());
    fo.extend_from_slice(&[3, 0, 0, 0]);
    fo.extend_from_slice(&2_000_000u32.to_le_bytes());
    fo.extend_from_slice(&0x43f4u16.to_le_bytes());
    fo.extend_from_slice(&2_000_000u32.to_le_bytes());
    fo.extend_from_slice(&0x43f4u16.to_le_bytes());
    fo.push(0xa3);
    fo.push(3);
    fo.extend_from_slice(&[0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
    let c = Cip::new(&fo);
    let f = c.forward_open().unwrap();
    assert!(!f.large);
    assert_eq!((f.t_o_id, f.serial, f.vendor_id), (0x1234_5678, 0x0102, 1));
    assert_eq!(
        (f.originator_serial, f.o_t_rpi, f.t_o_rpi),
        (0x0a0b_0c0d, 2_000_000, 2_000_000)
    );
    assert_eq!(f.transport, 0xa3);
    let target: Vec<_> = cip::connection_target(f.path).collect();
    assert_eq!(target.len(), 2);
    assert_eq!(
        (target[0].logical_type, target[0].value),
        (Segment::CLASS, 2)
    );
    // An electronic key before the target is stepped over.
    let keyed = [
        0x01, 0x00, 0x34, 0x04, 1, 0, 0x0c, 0, 0x2d, 0, 0x83, 0x01, 0x20, 0x04, 0x24, 0x65,
    ];
    let target: Vec<_> = cip::connection_target(&keyed).collect();
    assert_eq!(
        target
            .iter()
            .map(|s| (s.logical_type, s.value))
            .collect::<Vec<_>>(),
        [(Segment::CLASS, 4), (Segment::INSTANCE, 0x65)]
    );
    assert_eq!(cip::service_name(0x54, Some(6)), Some("Forward Open"));
    assert_eq!(cip::service_name(0x4e, Some(6)), Some("Forward Close"));
    assert_eq!(
        cip::service_name(0x4e, Some(0x6b)),
        Some("Read Modify Write Tag")
    );
    // Every cut of it reads as nothing rather than as garbage.
    for cut in 0..fo.len() {
        assert!(Cip::new(&fo[..cut]).forward_open().is_none());
    }
}

#[test]
fn tag_names_and_extended_status() {
    // Read Tag "Program:Main.Level[3]": two symbolic segments and an element.
    let mut rt = vec![0x4c, 0];
    let mut path = vec![0x91, 12];
    path.extend_from_slice(b"Program:Main");
    path.extend_from_slice(&[0x91, 5]);
    path.extend_from_slice(b"Level\0");
    path.extend_from_slice(&[0x28, 3]);
    rt[1] = (path.len() / 2) as u8;
    rt.extend_from_slice(&path);
    rt.extend_from_slice(&[1, 0]);
    let c = Cip::new(&rt);
    let names: Vec<_> = c.symbols().collect();
    assert_eq!(names, [&b"Program:Main"[..], &b"Level"[..]]);
    assert_eq!(c.request_data(), Some(&[1u8, 0][..]));
    // Get Attribute List of attributes 1, 5 and 7 of the Identity object.
    let gal = [0x03, 2, 0x20, 0x01, 0x24, 0x01, 3, 0, 1, 0, 5, 0, 7, 0];
    assert_eq!(
        Cip::new(&gal).attribute_list().collect::<Vec<_>>(),
        [1, 5, 7]
    );
    assert_eq!(Cip::new(&gal[..12]).attribute_list().count(), 2);
    // A Connection Failure with extended status 0x0107 (target connection not found).
    let r = [0xd4, 0, 0x01, 1, 0x07, 0x01];
    let c = Cip::new(&r);
    assert_eq!(c.general_status(), Some(1));
    assert_eq!(c.extended_status(), Some(0x0107));
    assert_eq!(
        cip::extended_status_meaning(1, 0x0107),
        Some("Target Connection Not Found")
    );
    assert_eq!(cip::status_name(0x08), Some("Service Not Supported"));
    assert_eq!(cip::class_name(2), Some("Message Router"));
}
