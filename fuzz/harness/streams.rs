//! Stream protocols (SSH, FTP, SMTP, EtherNet/IP, SMB, IEC 104, OPC UA, MMS) on arbitrary bytes, fed as the sensor's
//! driver feeds a connection: segments whose size the first byte picks, each to the direction
//! a bit of it picks, held bytes growing until a PDU frames. Every PDU lies inside what was
//! held and is non-empty; what each PDU carries is read as the sensor reads it
//! (PASV/EPSV/PORT/EPRT, KEXINIT and HASSH, BDAT and SMTP paths, CIP paths and bundled
//! services). Nothing may panic.

// Each fuzz target calls one of the functions here; the regression replay calls them all.
#![allow(dead_code)]

use decoders::{Direction, Parsed, StreamParser};

/// Feed `data` to a `P`, calling `seen` with each PDU.
fn feed<P: StreamParser>(data: &[u8], mut seen: impl FnMut(Direction, P::Pdu<'_>)) {
    let Some((&first, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(first % 32) + 1;
    let mut parser = P::default();
    let mut held: [Vec<u8>; 2] = Default::default();
    for (n, segment) in data.chunks(step).enumerate() {
        // Bit n of the first byte (cycled) picks the direction.
        let dir = if first.rotate_right(n as u32 % 8) & 1 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let held = &mut held[dir.index()];
        held.extend_from_slice(segment);
        loop {
            // Settled in its own statement, so the PDU's borrow of `held` ends with it.
            let framed = match parser.parse(dir, held) {
                Parsed::Pdu { pdu, len } => {
                    assert!(len > 0 && len <= held.len());
                    seen(dir, pdu);
                    Some(len)
                }
                Parsed::Incomplete { needed } => {
                    assert!(needed > 0);
                    assert!(held.len() <= P::MAX_PDU, "held past the PDU cap");
                    None
                }
                Parsed::Invalid(_) => {
                    let _ = parser.resync(dir, held);
                    Some(held.len())
                }
            };
            match framed {
                Some(len) => {
                    held.drain(..len);
                    if held.is_empty() {
                        break;
                    }
                }
                None => break,
            }
        }
    }
}

/// SSH: banners, packets until NEWKEYS, every KEXINIT read and fingerprinted.
pub fn ssh(data: &[u8]) {
    use decoders::ssh::{kex, probe, KexInit, Pdu, SshParser};
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    feed::<SshParser>(data, |_, pdu| {
        if let Pdu::Packet { payload, .. } = pdu {
            if let Some(k) = KexInit::parse(payload) {
                let _ = kex::hassh_hash(&k.hassh_client());
                let _ = kex::hassh_hash(&k.hassh_server());
            }
        }
    });
}

/// FTP: commands and replies, every data port read, every transaction filled under its caps.
pub fn ftp(data: &[u8]) {
    use decoders::ftp::{port, probe, FtpParser, Pdu, Transaction};
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    let mut tx = Transaction::default();
    feed::<FtpParser>(data, |_, pdu| match pdu {
        Pdu::Command(c) => {
            let _ = (port::port(c.arg), port::eprt(c.arg));
            tx = Transaction::request(c.line, c.verb, c.arg, c.truncated);
        }
        Pdu::Reply(r) => {
            let _ = (port::pasv(r.text), port::epsv(r.text));
            tx.reply(r.code, r.text, r.truncated);
            assert!(tx.replies.len() <= decoders::ftp::tx::MAX_REPLY_LINES);
        }
        Pdu::Skipped(_) | Pdu::Encrypted(_) => {}
    });
}

/// SMTP: commands, replies and messages, envelopes filled under their caps.
pub fn smtp(data: &[u8]) {
    use decoders::smtp::{bdat, path_arg, probe, Pdu, SmtpParser, Transaction, MAX_DATA_LINE};
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    let mut tx = Transaction::default();
    feed::<SmtpParser>(data, |_, pdu| match pdu {
        Pdu::Command(c) => {
            let _ = (path_arg(c.arg), bdat(c.arg));
            tx.rcpt(c.arg);
        }
        Pdu::DataLine { line, .. } => {
            assert!(line.len() <= MAX_DATA_LINE);
            tx.message_bytes(line, 4096);
            assert!(tx.message.len() <= 4096);
        }
        Pdu::Chunk { bytes, .. } => tx.message_bytes(bytes, 4096),
        Pdu::Reply(_) | Pdu::DataEnd | Pdu::Skipped(_) | Pdu::Encrypted(_) => {}
    });
}

/// EtherNet/IP: encapsulation messages, each one's CIP message and its bundled services read.
pub fn enip(data: &[u8]) {
    use decoders::enip::{probe, Cip, EnipParser, Pdu};
    fn read(c: &Cip<'_>, depth: u8) {
        let _ = (c.service(), c.general_status(), c.segments().count());
        let _ = (
            c.symbols().count(),
            c.attribute_list().count(),
            c.extended_status(),
        );
        if let Some(f) = c.forward_open() {
            let _ = decoders::enip::cip::connection_target(f.path).count();
        }
        if let (Some(e), true) = (c.unconnected_send(), depth < 2) {
            read(&e, depth + 1);
        }
        if depth < 2 {
            for b in c.bundled() {
                read(&b, depth + 1);
            }
        }
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    read(&Cip::new(data), 0);
    feed::<EnipParser>(data, |_, pdu: Pdu<'_>| {
        let _ = (pdu.identity(), pdu.list_service(), pdu.session());
        if let Some(c) = pdu.cip() {
            read(&c, 0);
        }
    });
}

/// IEC 104: APDUs framed from the stream, each read to its last element: values, quality,
/// qualifiers, times, file headers, and the anomaly the sensor would name.
pub fn iec104(data: &[u8]) {
    use decoders::iec104::{probe, Apdu, Asdu, Iec104Parser};
    fn read(a: &Asdu<'_>) {
        let _ = (a.check(), a.cot(), a.common_address(), a.type_info());
        for o in a.objects() {
            let e = o.element;
            let _ = (e.value().map(|v| v.number()), e.quality(), e.command());
            let _ = (e.qualifier(), e.time(), e.elapsed(), e.file());
        }
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    if let Some(a) = Asdu::new(data) {
        read(&a);
    }
    feed::<Iec104Parser>(data, |_, pdu: Apdu<'_>| {
        let _ = pdu.anomaly();
        if let Some(a) = pdu.asdu() {
            read(&a);
        }
    });
}

/// OPC UA: chunks framed from the stream (a leading byte steering segments and directions),
/// each read as the sensor reads it — connection-protocol fields, security headers, the
/// service and every list of its body; and the bytes read directly as a service body.
pub fn opcua(data: &[u8]) {
    use decoders::opcua::{probe, Body, OpcuaParser, Pdu, Service};
    fn read(s: &Service<'_>) {
        let _ = (s.name(), s.result(), s.handle(), s.body.nodes().count());
        match s.body {
            Body::Endpoints(e) | Body::CreateSessionResponse { endpoints: e, .. } => {
                let _ = e.iter().count();
            }
            Body::ReadResults(r) => {
                for d in r {
                    let _ = d.value.map(|v| v.number());
                }
            }
            Body::Write(w) => {
                for v in w {
                    let _ = v.value.map(|v| v.type_name());
                }
            }
            Body::Results(r) => {
                let _ = r.iter().count();
            }
            Body::Call(c) => {
                let _ = c.iter().count();
            }
            Body::CallResults(r) => {
                let _ = r.iter().count();
            }
            Body::Browse(b) => {
                let _ = b.iter().count();
            }
            Body::CreateMonitoredItems { items, .. } => {
                let _ = items.iter().count();
            }
            _ => {}
        }
        for n in s.body.nodes() {
            let text = n.to_string();
            assert!(n.is(&text));
        }
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    if let Some(s) = Service::read(data) {
        read(&s);
    }
    feed::<OpcuaParser>(data, |_, pdu| {
        let Pdu::Message(m) = pdu else {
            return;
        };
        assert!(m.bytes.len() <= decoders::opcua::MAX_KEPT);
        let _ = (
            m.anomaly(),
            m.hello(),
            m.acknowledge(),
            m.error(),
            m.reverse_hello(),
        );
        let _ = (m.channel_id(), m.asymmetric(), m.token_id(), m.sequence());
        if let Some(s) = m.service() {
            read(&s);
        }
    });
}

/// MMS: TPKTs framed from the stream, each data TPDU's user data read through the session,
/// presentation and ACSE layers to the MMS PDU and every list of it; and the bytes read
/// directly as a TSDU.
pub fn mms(data: &[u8]) {
    use decoders::mms::{probe, Message, MmsParser};
    use decoders::s7comm::Cotp;
    fn read(tsdu: &[u8]) {
        let _ = decoders::mms::is_mms(tsdu);
        let Some(m) = Message::read(tsdu) else {
            return;
        };
        let Some(p) = m.mms else {
            return;
        };
        let _ = (p.invoke_id(), p.service_name(), p.name_list(), p.identify());
        let _ = (p.initiate(), p.error(), p.reject());
        for n in p.object_names() {
            let _ = (n.domain(), n.functional_constraint());
        }
        for v in p.values() {
            let _ = (v.number(), v.type_name());
        }
        let _ = p.file_names().count();
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    read(data);
    feed::<MmsParser>(data, |_, tpkt| {
        if let Ok(Cotp::Data { payload, .. }) = Cotp::parse(&tpkt) {
            read(payload);
        }
    });
}

/// SMB: session messages, every SMB2 message of each (compounds) read field by field, names
/// converted from UTF-16 as the sensor converts them.
pub fn smb(data: &[u8]) {
    use decoders::smb::{probe, tx, Pdu, Smb, SmbParser};
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    feed::<SmbParser>(data, |_, pdu| {
        let Pdu::Message(m) = pdu else {
            return;
        };
        assert!(m.bytes.len() <= decoders::smb::MAX_KEPT);
        if let Smb::Smb2(messages) = m.smb() {
            let mut name = Vec::new();
            for s in messages {
                let _ = (s.has_header(), s.command(), s.status(), s.tree_id());
                let _ = (s.file_id(), s.end_of_file(), s.length(), s.offset());
                let _ = (s.transferred(), s.dialect(), s.share_type());
                let _ = s.dialects_offered().count();
                if let Some(a) = s
                    .security_blob()
                    .and_then(decoders::smb::ntlmssp::find_auth)
                {
                    name.clear();
                    tx::utf16_to_utf8(a.user, &mut name);
                    let _ = (a.domain, a.host, a.unicode);
                }
                for utf16 in [s.create_name(), s.tree_path()].into_iter().flatten() {
                    name.clear();
                    tx::utf16_to_utf8(utf16, &mut name);
                    let _ = tx::share_name(&name);
                }
            }
        }
    });
}
