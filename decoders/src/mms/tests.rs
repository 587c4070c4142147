use super::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A data TSDU around an MMS PDU: Give Tokens, Data Transfer, fully-encoded data.
fn tsdu(mms: &[u8]) -> Vec<u8> {
    let mut pdv = vec![0x02, 0x01, 0x03, 0xa0, mms.len() as u8];
    pdv.extend_from_slice(mms);
    let mut list = vec![0x30, pdv.len() as u8];
    list.extend_from_slice(&pdv);
    let mut v = vec![0x01, 0x00, 0x01, 0x00, 0x61, list.len() as u8];
    v.extend_from_slice(&list);
    v
}

fn mms(hex: &str) -> Vec<u8> {
    tsdu(&unhex(hex))
}

fn read(b: &[u8]) -> Mms<'_> {
    let m = Message::read(b).unwrap();
    assert_eq!(m.upper.spdu, Spdu::Data);
    m.mms.unwrap()
}

fn text(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap()
}

#[test]
fn requests_and_their_names() {
    // ITI's iec61850_write.pcap: write of the VMD-specific variable "mu" := 0.
    let b = mms("a014020100a50fa0083006a00480026d75a003850100");
    let m = read(&b);
    assert_eq!(
        (m.kind, m.invoke_id(), m.service()),
        (Kind::ConfirmedRequest, Some(0), Some(5))
    );
    assert_eq!(m.service_name(), Some("write"));
    let names: Vec<_> = m.object_names().collect();
    assert_eq!(names, [ObjectName::Vmd(b"mu")]);
    assert_eq!(m.values().collect::<Vec<_>>(), [Data::Int(0)]);
    // Its read.
    let b = mms("a014020100a40f800100a10aa0083006a00480026d75");
    let m = read(&b);
    assert_eq!(m.service_name(), Some("read"));
    assert_eq!(
        m.object_names().collect::<Vec<_>>(),
        [ObjectName::Vmd(b"mu")]
    );
    assert_eq!(m.values().count(), 0);
    // getNameList of named variables, VMD-wide.
    let b = mms("a00e020100a109a003800100a1028000");
    let m = read(&b);
    assert_eq!(m.service_name(), Some("get_name_list"));
    assert_eq!(m.name_list(), Some((0, None)));
    // nDPI's getVariableAccessAttributes of an IEC 61850 report control block.
    let b = mms("a02c020304a273a625a023a1211a0e41413145315130314650324c44301a0f4c4c4e30244252247263625f423032");
    let m = read(&b);
    assert_eq!(m.invoke_id(), Some(0x04a273));
    let n: Vec<_> = m.object_names().collect();
    assert_eq!(n.len(), 1);
    assert_eq!(text(n[0].domain().unwrap()), "AA1E1Q01FP2LD0");
    assert_eq!(text(n[0].item()), "LLN0$BR$rcb_B02");
    assert_eq!(n[0].functional_constraint(), Some(&b"BR"[..]));
}

#[test]
fn a_write_of_a_float_to_a_domain_variable() {
    // write PlantLD/GGIO1$SP$Set$setMag$f := 100.0 (floating point, single precision).
    let name = [
        &[0xa1, 0x1d, 0x1a, 0x07][..],
        b"PlantLD",
        &[0x1a, 0x12],
        b"GGIO1$SP$SetMag$f1",
    ]
    .concat();
    let mut var = vec![0xa0, name.len() as u8];
    var.extend_from_slice(&name);
    let mut seq = vec![0x30, var.len() as u8];
    seq.extend_from_slice(&var);
    let mut list = vec![0xa0, seq.len() as u8];
    list.extend_from_slice(&seq);
    let data = [0xa0, 0x07, 0x87, 0x05, 0x08, 0x42, 0xc8, 0x00, 0x00];
    let mut write = vec![0xa5, (list.len() + data.len()) as u8];
    write.extend_from_slice(&list);
    write.extend_from_slice(&data);
    let mut pdu = vec![0xa0, (write.len() + 3) as u8, 0x02, 0x01, 0x07];
    pdu.extend_from_slice(&write);
    let b = tsdu(&pdu);
    let m = read(&b);
    let n: Vec<_> = m.object_names().collect();
    assert_eq!(n[0].domain(), Some(&b"PlantLD"[..]));
    assert_eq!(n[0].functional_constraint(), Some(&b"SP"[..]));
    assert_eq!(m.values().collect::<Vec<_>>(), [Data::Float(100.0)]);
    assert_eq!(m.values().next().and_then(|v| v.number()), Some(100.0));
}

#[test]
fn responses_errors_and_identification() {
    let b = mms("a107020100a402a100");
    let m = read(&b);
    assert_eq!(
        (m.kind, m.service_name()),
        (Kind::ConfirmedResponse, Some("read"))
    );
    // ITI's capture of an AREVA gateway: identify response.
    let b = mms("a130020101a22b801541524556412054264420436f72706f726174696f6e810b652d7465727261636f6d6d8205322e332e31");
    let m = read(&b);
    let (vendor, model, revision) = m.identify().unwrap();
    assert_eq!(
        (text(vendor), text(model), text(revision)),
        ("AREVA T&D Corporation", "e-terracomm", "2.3.1")
    );
    // nDPI's access error.
    let b = mms("a20c800304a273a205a003870102");
    let m = read(&b);
    assert_eq!(
        (m.kind, m.invoke_id(), m.error()),
        (Kind::ConfirmedError, Some(0x04a273), Some((7, 2)))
    );
    assert_eq!(pdu::error_class_name(7), Some("access"));
    // Conclude.
    let b = mms("8b00");
    assert_eq!(read(&b).kind, Kind::ConcludeRequest);
}

#[test]
fn files_and_reports() {
    // fileDelete of "COMTRADE/fault.cfg".
    let name = b"COMTRADE/fault.cfg";
    let mut del = vec![0xbf, 0x4c, (name.len() + 2) as u8, 0x19, name.len() as u8];
    del.extend_from_slice(name);
    let mut pdu = vec![0xa0, (del.len() + 3) as u8, 0x02, 0x01, 0x09];
    pdu.extend_from_slice(&del);
    let b = tsdu(&pdu);
    let m = read(&b);
    assert_eq!(m.service_name(), Some("file_delete"));
    assert!(pdu::is_modifying(76));
    assert_eq!(m.file_names().collect::<Vec<_>>(), [&name[..]]);
    // An information report of the variable list "RPT": a string and a bit string.
    let report = unhex("a319a017a105800352505aa00e8a04525054318403060000830101");
    let b = tsdu(&report);
    let m = read(&b);
    assert_eq!(
        (m.kind, m.service_name()),
        (Kind::Unconfirmed, Some("information_report"))
    );
    assert_eq!(
        m.object_names().collect::<Vec<_>>(),
        [ObjectName::Vmd(b"RPZ")]
    );
    let v: Vec<_> = m.values().collect();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0], Data::VisibleString(b"RPT1"));
    assert_eq!(v[2], Data::Bool(true));
}

#[test]
fn names_tables() {
    assert_eq!(pdu::service_name(77), Some("file_directory"));
    assert_eq!(pdu::service_name(79), None);
    assert_eq!(pdu::service_by_name("file-delete"), Some(76));
    assert_eq!(pdu::service_by_name("Write"), Some(5));
    assert_eq!(pdu::service_by_name("5"), Some(5));
    assert_eq!(pdu::service_by_name("frobnicate"), None);
    assert_eq!(
        Kind::from_name("INITIATE_REQUEST"),
        Some(Kind::InitiateRequest)
    );
}

#[test]
fn session_tells_mms_from_s7() {
    assert!(is_session(&[0x01, 0x00, 0x01, 0x00, 0x61]));
    assert!(is_session(&[0x0d, 0x02, 0x05, 0x00]));
    assert!(!is_session(&[0x32, 0x01, 0x00, 0x00]));
    assert!(!is_session(&[0x72, 0x01]));
    assert!(!is_session(&[0x0d, 0x20, 0x05]));
}

proptest::proptest! {
    #[test]
    fn no_input_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = is_session(&bytes);
        for b in [bytes.clone(), tsdu(&bytes[..bytes.len().min(200)])] {
            if let Some(m) = Message::read(&b) {
                if let Some(p) = m.mms {
                    let _ = (p.invoke_id(), p.service_name(), p.name_list(), p.identify());
                    let _ = (p.initiate(), p.error(), p.reject());
                    for n in p.object_names() {
                        let _ = n.functional_constraint();
                    }
                    for v in p.values() {
                        let _ = (v.number(), v.type_name());
                    }
                    let _ = p.file_names().count();
                }
            }
        }
    }
}
