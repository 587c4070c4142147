use super::smb2::{command, Smb2};
use super::*;

/// An SMB2 header for `cmd`, a response if `response`, then `body`.
fn smb2(cmd: u16, response: bool, status: u32, message_id: u64, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(64 + body.len());
    h.extend_from_slice(smb2::MAGIC);
    h.extend_from_slice(&64u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // credit charge
    h.extend_from_slice(&status.to_le_bytes());
    h.extend_from_slice(&cmd.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // credits
    h.extend_from_slice(&u32::from(response).to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes()); // next command
    h.extend_from_slice(&message_id.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&7u32.to_le_bytes()); // tree id
    h.extend_from_slice(&0x1122u64.to_le_bytes()); // session id
    h.extend_from_slice(&[0; 16]);
    h.extend_from_slice(body);
    h
}

fn nbss(msg: &[u8]) -> Vec<u8> {
    let len = (msg.len() as u32).to_be_bytes();
    [&[0, len[1], len[2], len[3]][..], msg].concat()
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// A `CREATE` request body naming `name`.
fn create(name: &str) -> Vec<u8> {
    let name = utf16(name);
    let mut b = vec![0; 56];
    b[..2].copy_from_slice(&57u16.to_le_bytes());
    b[36..40].copy_from_slice(&1u32.to_le_bytes()); // FILE_OPEN
    b[44..46].copy_from_slice(&120u16.to_le_bytes()); // 64 + 56
    b[46..48].copy_from_slice(&(name.len() as u16).to_le_bytes());
    b.extend_from_slice(&name);
    b
}

fn first(msg: &[u8]) -> Smb2<'_> {
    match (Message {
        bytes: msg,
        len: msg.len() as u32,
    })
    .smb()
    {
        Smb::Smb2(mut m) => m.next().unwrap(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn probes_the_session_message_magic() {
    let m = nbss(&smb2(command::NEGOTIATE, false, 0, 0, &[36, 0]));
    assert_eq!(probe(Direction::ToServer, &m), Probe::Match);
    assert_eq!(probe(Direction::ToServer, &m[..6]), Probe::NeedMore);
    assert_eq!(
        probe(Direction::ToServer, b"\x00\x00\x00\x10\xffSMB"),
        Probe::Match
    );
    assert_eq!(
        probe(Direction::ToServer, b"\x00\x00\x00\x10GET "),
        Probe::NoMatch
    );
    assert_eq!(
        probe(Direction::ToServer, b"\x81\x00\x00\x44"),
        Probe::Match
    );
    assert_eq!(
        probe(Direction::ToServer, b"GET / HTTP/1.1"),
        Probe::NoMatch
    );
}

#[test]
fn frames_messages_and_reads_the_commands() {
    let req = smb2(command::CREATE, false, 0, 5, &create("plc\\Line3.ap17"));
    let stream = [nbss(&req), vec![0x85, 0, 0, 0]].concat();
    let mut p = SmbParser::default();
    let Parsed::Pdu {
        pdu: Pdu::Message(m),
        len,
    } = p.parse(Direction::ToServer, &stream)
    else {
        panic!("no message")
    };
    assert_eq!(len, 4 + req.len());
    assert!(m.whole());
    let s = first(m.bytes);
    assert!(s.has_header());
    assert_eq!(
        (s.command(), s.message_id(), s.tree_id()),
        (command::CREATE, 5, Some(7))
    );
    assert_eq!((s.session_id(), s.is_response()), (0x1122, false));
    let mut name = Vec::new();
    tx::utf16_to_utf8(s.create_name().unwrap(), &mut name);
    assert_eq!(name, b"plc\\Line3.ap17");
    assert_eq!(s.create_disposition(), Some(1));
    assert_eq!(
        p.parse(Direction::ToServer, &stream[len..]),
        Parsed::Pdu {
            pdu: Pdu::Control(nbss::KEEP_ALIVE),
            len: 4
        }
    );
    // A CREATE response: size at 48, file id at 64; an error response has neither.
    let mut body = vec![0; 88];
    body[48..56].copy_from_slice(&6000u64.to_le_bytes());
    body[64..80].copy_from_slice(&[9; 16]);
    let ok = smb2(command::CREATE, true, 0, 5, &body);
    assert_eq!(first(&ok).end_of_file(), Some(6000));
    assert_eq!(first(&ok).file_id(), Some([9; 16]));
    let err = smb2(command::CREATE, true, 0xc000_0034, 6, &body);
    assert_eq!(
        (first(&err).end_of_file(), first(&err).file_id()),
        (None, None)
    );
    assert_eq!(
        smb2::status_name(first(&err).status()),
        Some("STATUS_OBJECT_NAME_NOT_FOUND")
    );
}

#[test]
fn tree_connect_negotiate_read_write() {
    let path = utf16("\\\\127.0.0.1\\projects");
    let mut body = vec![9, 0, 0, 0, 72, 0, path.len() as u8, 0];
    body.extend_from_slice(&path);
    let tc = smb2(command::TREE_CONNECT, false, 0, 1, &body);
    let mut share = Vec::new();
    tx::utf16_to_utf8(first(&tc).tree_path().unwrap(), &mut share);
    assert_eq!(share, b"\\\\127.0.0.1\\projects");
    assert_eq!(tx::share_name(&share), b"projects");
    let resp = smb2(command::TREE_CONNECT, true, 0, 1, &[16, 0, 1, 0]);
    assert_eq!(first(&resp).share_type(), Some(1));
    let mut neg = vec![0; 36];
    neg[2] = 2;
    neg.extend_from_slice(&[0x02, 0x02, 0x11, 0x03]);
    let offered: Vec<_> = first(&smb2(0, false, 0, 0, &neg))
        .dialects_offered()
        .collect();
    assert_eq!(offered, [0x0202, 0x0311]);
    let chosen = smb2(0, true, 0, 0, &[65, 0, 0, 0, 0x11, 0x03]);
    assert_eq!(first(&chosen).dialect(), Some(0x0311));
    let mut rw = vec![0; 48];
    rw[4..8].copy_from_slice(&4096u32.to_le_bytes());
    rw[8..16].copy_from_slice(&8192u64.to_le_bytes());
    rw[16..32].copy_from_slice(&[3; 16]);
    let read_msg = smb2(command::READ, false, 0, 9, &rw);
    let read = first(&read_msg);
    assert_eq!(
        (read.length(), read.offset(), read.file_id()),
        (Some(4096), Some(8192), Some([3; 16]))
    );
    let resp = smb2(command::READ, true, 0, 9, &[17, 0, 80, 0, 0, 16, 0, 0]);
    assert_eq!(first(&resp).transferred(), Some(4096));
    let written = smb2(command::WRITE, true, 0, 10, &[17, 0, 0, 0, 0, 2, 0, 0]);
    assert_eq!(first(&written).transferred(), Some(512));
    let refused = smb2(
        command::WRITE,
        true,
        0xc000_0022,
        11,
        &[9, 0, 0, 0, 0, 2, 0, 0],
    );
    assert_eq!(first(&refused).transferred(), None);
}

#[test]
fn compounds_chain_by_next_command() {
    let a = smb2(command::CREATE, false, 0, 1, &create("a.txt"));
    let mut a_padded = a.clone();
    a_padded.resize(a.len().div_ceil(8) * 8, 0);
    let next = a_padded.len() as u32;
    a_padded[20..24].copy_from_slice(&next.to_le_bytes());
    let b = smb2(command::CLOSE, false, 0, 2, &[24, 0, 0, 0, 0, 0, 0, 0]);
    let both = [a_padded, b].concat();
    let Smb::Smb2(m) = (Message {
        bytes: &both,
        len: both.len() as u32,
    })
    .smb() else {
        panic!()
    };
    let cmds: Vec<_> = m.map(|s| s.command()).collect();
    assert_eq!(cmds, [command::CREATE, command::CLOSE]);
}

#[test]
fn a_long_message_is_kept_in_part_and_the_rest_skipped() {
    let mut big = smb2(command::WRITE, false, 0, 3, &[49, 0]);
    big.resize(MAX_KEPT + 5000, b'x');
    let stream = [nbss(&big), vec![0x85, 0, 0, 0]].concat();
    let mut p = SmbParser::default();
    let mut at = 0;
    let mut seen = Vec::new();
    // Fed in 1,000-byte pieces, as segments come.
    let mut held: Vec<u8> = Vec::new();
    while at < stream.len() {
        let end = (at + 1000).min(stream.len());
        held.extend_from_slice(&stream[at..end]);
        at = end;
        loop {
            match p.parse(Direction::ToServer, &held) {
                Parsed::Pdu { pdu, len } => {
                    seen.push(match pdu {
                        Pdu::Message(m) => format!("msg {} of {}", m.bytes.len(), m.len),
                        Pdu::Control(t) => format!("control {t:#x}"),
                        Pdu::Skipped(n) => format!("skip {n}"),
                    });
                    held.drain(..len);
                    if held.is_empty() {
                        break;
                    }
                }
                Parsed::Incomplete { .. } => break,
                Parsed::Invalid(e) => panic!("{e}"),
            }
        }
    }
    assert_eq!(seen[0], format!("msg {MAX_KEPT} of {}", big.len()));
    let skipped: usize = seen
        .iter()
        .filter_map(|s| s.strip_prefix("skip ")?.parse::<usize>().ok())
        .sum();
    assert_eq!(skipped, big.len() - MAX_KEPT);
    assert_eq!(seen.last().unwrap(), "control 0x85");
    // A gap inside the skipped tail keeps the framing; past it, it does not.
    let mut p = SmbParser::default();
    let Parsed::Pdu { .. } = p.parse(Direction::ToServer, &stream[..4 + MAX_KEPT]) else {
        panic!()
    };
    assert_eq!(p.gap(Direction::ToServer, 4000), Some(4000));
    assert_eq!(p.gap(Direction::ToServer, 4000), None);
}

#[test]
fn bad_session_packets_are_errors() {
    let mut p = SmbParser::default();
    assert_eq!(
        p.parse(Direction::ToServer, b"\x42\x00\x00\x00"),
        Parsed::Invalid(Error::NbssType(0x42))
    );
    assert_eq!(
        p.parse(Direction::ToServer, b"\x81\x00\x10\x00"),
        Parsed::Invalid(Error::ControlLength(0x1000))
    );
    // Not SMB inside a message: framed, and read as unknown.
    let Parsed::Pdu {
        pdu: Pdu::Message(m),
        ..
    } = p.parse(Direction::ToServer, b"\x00\x00\x00\x04abcd")
    else {
        panic!()
    };
    assert_eq!(m.smb(), Smb::Unknown);
}

proptest::proptest! {
    #[test]
    fn never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let mut p = SmbParser::default();
        let _ = probe(Direction::ToServer, &buf);
        let mut rest = &buf[..];
        while let Parsed::Pdu { pdu, len } = p.parse(Direction::ToServer, rest) {
            if let Pdu::Message(m) = pdu {
                if let Smb::Smb2(msgs) = m.smb() {
                    for s in msgs {
                        let _ = (s.create_name(), s.tree_path(), s.file_id(), s.dialect());
                        let _ = (s.end_of_file(), s.length(), s.offset(), s.transferred());
                        let _ = s.dialects_offered().count();
                    }
                }
            }
            if len == 0 { break; }
            rest = &rest[len..];
        }
    }

    #[test]
    fn smb2_views_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
                              cmd in 0u16..20, response: bool) {
        let m = smb2(cmd, response, 0, 1, &body);
        let s = first(&m);
        let _ = (s.create_name(), s.tree_path(), s.file_id(), s.dialect(), s.share_type());
        let _ = (s.end_of_file(), s.length(), s.offset(), s.transferred(), s.create_disposition());
        let _ = s.dialects_offered().count();
    }
}
