use super::*;

fn apdu(bytes: &[u8]) -> Apdu<'_> {
    match Iec104Parser.parse(Direction::ToServer, bytes) {
        Parsed::Pdu { pdu, len } => {
            assert_eq!(len, bytes.len());
            pdu
        }
        other => panic!("{other:?}"),
    }
}

/// An I-frame around `asdu` with send and receive numbers `ns`, `nr`.
fn i_frame(ns: u16, nr: u16, asdu: &[u8]) -> Vec<u8> {
    let mut v = vec![0x68, (4 + asdu.len()) as u8];
    v.extend_from_slice(&(ns << 1).to_le_bytes());
    v.extend_from_slice(&(nr << 1).to_le_bytes());
    v.extend_from_slice(asdu);
    v
}

#[test]
fn u_and_s_frames() {
    for (f, bits) in UFunction::ALL {
        let b = [0x68, 4, bits | 0x03, 0, 0, 0];
        let a = apdu(&b);
        assert_eq!(a.apci, Apci::U(Some(f)));
        assert_eq!(a.anomaly(), None);
        assert_eq!(probe(Direction::ToServer, &b), Probe::Match);
    }
    let s = [0x68, 4, 0x01, 0, 0x0a, 0x01];
    assert_eq!(apdu(&s).apci, Apci::S { recv: 0x85 });
    assert_eq!(apdu(&s).anomaly(), None);
    // Two functions at once; reserved octets; an S-frame with an ASDU's length.
    let both = [0x68, 4, 0x07 | 0x40, 0, 0, 0];
    assert_eq!(
        apdu(&both).anomaly(),
        Some(Anomaly::Control(ControlError::UFunction(0x44)))
    );
    assert_eq!(probe(Direction::ToServer, &both), Probe::NoMatch);
    let reserved = [0x68, 4, 0x43, 0, 0, 1];
    assert_eq!(
        apdu(&reserved).anomaly().map(|a| a.anomaly_name()),
        Some("iec104.reserved_bits")
    );
    let long_s = [0x68, 5, 0x01, 0, 0, 0, 0];
    assert_eq!(
        apdu(&long_s).anomaly(),
        Some(Anomaly::Control(ControlError::Length(5)))
    );
}

#[test]
fn general_interrogation() {
    // C_IC_NA_1, activation, originator 0, CA 1, IOA 0, QOI 20 (station).
    let b = i_frame(0, 0, &[100, 1, 6, 0, 1, 0, 0, 0, 0, 20]);
    assert_eq!(b[..6], [0x68, 0x0e, 0, 0, 0, 0]);
    let a = apdu(&b);
    assert_eq!(a.apci, Apci::I { send: 0, recv: 0 });
    let asdu = a.asdu().unwrap();
    assert_eq!(asdu.check().map(|t| t.name), Ok("C_IC_NA_1"));
    assert_eq!(
        asdu.cot(),
        Cot {
            cause: 6,
            negative: false,
            test: false,
            originator: 0
        }
    );
    assert_eq!(asdu.common_address(), 1);
    let objs: Vec<_> = asdu.objects().collect();
    assert_eq!(objs.len(), 1);
    assert_eq!(objs[0].ioa, 0);
    assert_eq!(objs[0].element.qualifier(), Some(20));
    assert_eq!(probe(Direction::ToServer, &b), Probe::Match);
    for cut in 0..b.len() {
        assert!(matches!(
            Iec104Parser.parse(Direction::ToServer, &b[..cut]),
            Parsed::Incomplete { .. }
        ));
        assert_ne!(probe(Direction::ToServer, &b[..cut]), Probe::NoMatch);
    }
}

#[test]
fn sequence_numbers_use_fifteen_bits() {
    let b = i_frame(32767, 12345, &[100, 1, 6, 0, 1, 0, 0, 0, 0, 20]);
    assert_eq!(
        apdu(&b).apci,
        Apci::I {
            send: 32767,
            recv: 12345
        }
    );
}

#[test]
fn measured_values_in_a_sequence() {
    // M_ME_NC_1, SQ, 3 floats from IOA 100, spontaneous, negative and test bits clear.
    let mut asdu = vec![13, 0x83, 3, 0, 0x34, 0x12, 100, 0, 0];
    for (v, q) in [(1.5f32, 0u8), (-2.25, 0x80), (1e6, 0x01)] {
        asdu.extend_from_slice(&v.to_le_bytes());
        asdu.push(q);
    }
    let b = i_frame(7, 3, &asdu);
    let a = apdu(&b).asdu().unwrap();
    assert!(a.check().is_ok());
    assert!(a.sequence());
    assert_eq!(a.common_address(), 0x1234);
    let objs: Vec<_> = a.objects().collect();
    assert_eq!(
        objs.iter().map(|o| o.ioa).collect::<Vec<_>>(),
        [100, 101, 102]
    );
    assert_eq!(objs[1].element.value(), Some(Value::Float(-2.25)));
    assert_eq!(objs[1].element.quality(), Some(Quality(Quality::IV)));
    assert_eq!(
        objs[2]
            .element
            .quality()
            .unwrap()
            .names()
            .collect::<Vec<_>>(),
        ["OV"]
    );
    // One octet short: the length no longer agrees, and the last object is not read.
    let short = i_frame(7, 3, &asdu[..asdu.len() - 1]);
    let a = apdu(&short).asdu().unwrap();
    assert_eq!(
        a.check(),
        Err(AsduError::Length {
            expected: 18,
            actual: 17
        })
    );
    assert_eq!(a.objects().count(), 2);
    assert_eq!(probe(Direction::ToServer, &short), Probe::NoMatch);
}

#[test]
fn time_tagged_single_points() {
    // M_SP_TB_1, 2 objects, spontaneous: IOA 1 on with a time, IOA 2 off, invalid.
    let time = [0x10, 0x27, 30, 13, 0x44, 11, 26]; // 10.000 s, 13:30, Tue 4, Nov 2026
    let mut asdu = vec![30, 2, 3, 0, 1, 0];
    asdu.extend_from_slice(&[1, 0, 0, 0x01]);
    asdu.extend_from_slice(&time);
    asdu.extend_from_slice(&[2, 0, 0, 0x80]);
    asdu.extend_from_slice(&time);
    let b = i_frame(1, 1, &asdu);
    let a = apdu(&b).asdu().unwrap();
    assert_eq!(a.check().map(|t| t.id), Ok(30));
    let objs: Vec<_> = a.objects().collect();
    assert_eq!(objs[0].element.value(), Some(Value::Single(true)));
    assert_eq!(objs[1].element.value(), Some(Value::Single(false)));
    assert!(objs[0].element.quality().unwrap().is_good());
    assert_eq!(objs[1].element.quality(), Some(Quality(Quality::IV)));
    let Some(Time::Cp56(t)) = objs[0].element.time() else {
        panic!()
    };
    assert!(t.is_plausible());
    assert_eq!((t.weekday, t.day), (2, 4));
    assert_eq!(t.to_string(), "2026-11-04T13:30:10.000");
}

#[test]
fn commands_and_set_points() {
    // C_SC_NA_1 select, ON, short pulse.
    let b = i_frame(
        0,
        0,
        &[45, 1, 6, 0, 1, 0, 0x88, 0x13, 0, 0x80 | (1 << 2) | 1],
    );
    let a = apdu(&b).asdu().unwrap();
    let o = a.objects().next().unwrap();
    assert_eq!(o.ioa, 5000);
    assert_eq!(o.element.value(), Some(Value::Single(true)));
    assert_eq!(
        o.element.command(),
        Some(Command {
            select: true,
            qualifier: 1
        })
    );
    // C_DC_NA_1 execute, OFF (1).
    let b = i_frame(0, 0, &[46, 1, 6, 0, 1, 0, 1, 0, 0, 0x01]);
    let o = apdu(&b).asdu().unwrap().objects().next().unwrap();
    assert_eq!(o.element.value(), Some(Value::Double(1)));
    assert_eq!(o.element.command().map(|c| c.select), Some(false));
    // C_SE_NB_1 scaled set-point -300, execute; C_SE_NA_1 normalised 0.5.
    let b = i_frame(0, 0, &[49, 1, 6, 0, 1, 0, 9, 0, 0, 0xd4, 0xfe, 0]);
    let o = apdu(&b).asdu().unwrap().objects().next().unwrap();
    assert_eq!(o.element.value(), Some(Value::Scaled(-300)));
    let b = i_frame(0, 0, &[48, 1, 6, 0, 1, 0, 9, 0, 0, 0, 0x40, 0]);
    let o = apdu(&b).asdu().unwrap().objects().next().unwrap();
    assert_eq!(o.element.value().map(Value::number), Some(0.5));
    // Two objects in a command: wrong structure.
    let b = i_frame(0, 0, &[45, 2, 6, 0, 1, 0, 1, 0, 0, 1, 2, 0, 0, 1]);
    assert_eq!(apdu(&b).asdu().unwrap().check(), Err(AsduError::Structure));
    // A negative confirmation, unknown IOA.
    let b = i_frame(0, 1, &[45, 1, 0x40 | 47, 0, 1, 0, 0x0f, 0x27, 0, 0x81]);
    let cot = apdu(&b).asdu().unwrap().cot();
    assert!(cot.negative);
    assert_eq!(cause_name(cot.cause), Some("unknown_ioa"));
}

#[test]
fn system_commands() {
    // C_CS_NA_1 clock sync, C_RP_NA_1 reset process (QRP 1), C_RD_NA_1 read (no element).
    let mut cs = vec![103, 1, 6, 0, 1, 0, 0, 0, 0];
    cs.extend_from_slice(&[0xe8, 0x03, 5, 8, 0x21, 12, 26]);
    let b = i_frame(2, 0, &cs);
    let o = apdu(&b).asdu().unwrap().objects().next().unwrap();
    assert!(matches!(o.element.time(), Some(Time::Cp56(t)) if t.month == 12 && t.hour == 8));
    let b = i_frame(3, 0, &[105, 1, 6, 0, 1, 0, 0, 0, 0, 1]);
    let a = apdu(&b).asdu().unwrap();
    assert_eq!(a.check().map(|t| t.class), Ok(Class::SystemControl));
    assert_eq!(a.objects().next().unwrap().element.qualifier(), Some(1));
    let b = i_frame(4, 0, &[102, 1, 5, 0, 1, 0, 0x10, 0, 0]);
    let a = apdu(&b).asdu().unwrap();
    assert!(a.check().is_ok());
    assert_eq!(a.objects().next().unwrap().ioa, 16);
}

#[test]
fn file_transfer_headers() {
    // F_SG_NA_1: file 3, section 1, a 4-octet segment.
    let b = i_frame(
        0,
        0,
        &[125, 1, 13, 0, 1, 0, 1, 0, 0, 3, 0, 1, 4, 9, 9, 9, 9],
    );
    let a = apdu(&b).asdu().unwrap();
    assert!(a.check().is_ok());
    let f = a.objects().next().unwrap().element.file().unwrap();
    assert_eq!((f.name, f.section, f.length), (3, Some(1), Some(4)));
    // F_DR_TA_1: a directory of two files, one object each.
    let mut dir = vec![126, 2, 5, 0, 1, 0];
    for name in [1u8, 2] {
        // IOA, NOF, LOF (4096), SOF, CP56Time2a.
        dir.extend_from_slice(&[name, 0, 0, name, 0, 0, 0x10, 0, 0x00]);
        dir.extend_from_slice(&[0, 0, 0, 0, 1, 1, 26]);
    }
    let b = i_frame(0, 0, &dir);
    let a = apdu(&b).asdu().unwrap();
    assert!(a.check().is_ok());
    let names: Vec<_> = a
        .objects()
        .filter_map(|o| o.element.file())
        .map(|f| f.name)
        .collect();
    assert_eq!(names, [1, 2]);
    // F_FR_NA_1: file 3 of 1000 octets ready.
    let b = i_frame(
        0,
        0,
        &[120, 1, 13, 0, 1, 0, 1, 0, 0, 3, 0, 0xe8, 3, 0, 0x80],
    );
    let f = apdu(&b)
        .asdu()
        .unwrap()
        .objects()
        .next()
        .unwrap()
        .element
        .file();
    assert_eq!(f.map(|f| f.length), Some(Some(1000)));
}

#[test]
fn unknown_types_and_bad_framing() {
    let b = i_frame(0, 0, &[42, 1, 3, 0, 1, 0, 1, 0, 0, 0]);
    let a = apdu(&b);
    assert_eq!(
        a.anomaly().map(|a| a.anomaly_name()),
        Some("iec104.unknown_type_id")
    );
    assert_eq!(a.asdu().unwrap().objects().count(), 0);
    assert_eq!(probe(Direction::ToServer, &b), Probe::NoMatch);
    // Zero objects.
    let b = i_frame(0, 0, &[1, 0, 3, 0, 1, 0]);
    assert_eq!(
        apdu(&b).anomaly(),
        Some(Anomaly::Asdu(AsduError::NoObjects))
    );
    // An I-frame too short for an ASDU header.
    let b = [0x68, 6, 0, 0, 0, 0, 1, 1];
    assert_eq!(
        apdu(&b).anomaly(),
        Some(Anomaly::Control(ControlError::Length(6)))
    );
    let mut p = Iec104Parser;
    assert_eq!(
        p.parse(Direction::ToServer, b"GET / HTTP/1.1"),
        Parsed::Invalid(Error::Start(b'G'))
    );
    assert_eq!(
        p.parse(Direction::ToServer, &[0x68, 2, 0, 0]),
        Parsed::Invalid(Error::Length(2))
    );
    assert_eq!(
        p.parse(Direction::ToServer, &[0x68, 254]),
        Parsed::Invalid(Error::Length(254))
    );
    assert_eq!(probe(Direction::ToServer, b"hello world"), Probe::NoMatch);
}

#[test]
fn every_type_frames_its_objects() {
    for t in asdu::TYPES {
        let mut body = vec![t.id, 1, 6, 0, 1, 0, 7, 0, 0];
        let len = usize::from(t.len);
        body.extend((0..len).map(|i| i as u8));
        if t.id == asdu::F_SG_NA_1 {
            body[9 + 3] = 0;
        }
        let b = i_frame(0, 0, &body);
        let a = apdu(&b).asdu().unwrap();
        assert_eq!(a.check().map(|x| x.id), Ok(t.id), "{}", t.name);
        let o: Vec<_> = a.objects().collect();
        assert_eq!(o.len(), 1, "{}", t.name);
        assert_eq!(o[0].element.bytes().len(), len, "{}", t.name);
        assert_eq!(type_by_name(t.name).map(|x| x.id), Some(t.id));
        let time = o[0].element.time();
        assert_eq!(time.is_some(), t.time != asdu::TimeTag::None, "{}", t.name);
    }
    assert_eq!(type_by_name("c_sc_na").map(|t| t.id), Some(45));
}

proptest::proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = probe(Direction::ToServer, &bytes);
        let mut framed = vec![0x68, bytes.len().clamp(4, 253) as u8];
        framed.extend_from_slice(&bytes);
        for b in [&bytes[..], &framed[..]] {
            if let Parsed::Pdu { pdu, len } = Iec104Parser.parse(Direction::ToServer, b) {
                proptest::prop_assert!(len <= b.len());
                let _ = pdu.anomaly();
                if let Some(a) = pdu.asdu() {
                    let _ = (a.check(), a.cot(), a.common_address());
                    for o in a.objects() {
                        let e = o.element;
                        let _ = (e.value(), e.quality(), e.command(), e.qualifier());
                        let _ = (e.time(), e.elapsed(), e.file());
                    }
                }
            }
        }
    }
}
