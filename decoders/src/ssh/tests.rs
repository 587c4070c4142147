use super::*;

/// A binary packet around `payload`, padded as RFC 4253 §6 asks (to a multiple of 8, at
/// least 4 bytes).
fn packet(payload: &[u8]) -> Vec<u8> {
    let mut padding = 8 - (5 + payload.len()) % 8;
    if padding < 4 {
        padding += 8;
    }
    let len = (1 + payload.len() + padding) as u32;
    let mut p = len.to_be_bytes().to_vec();
    p.push(padding as u8);
    p.extend_from_slice(payload);
    p.extend(std::iter::repeat_n(0, padding));
    p
}

fn kexinit(lists: [&str; 10]) -> Vec<u8> {
    let mut m = vec![msg::KEXINIT];
    m.extend_from_slice(&[7; 16]);
    for l in lists {
        m.extend_from_slice(&(l.len() as u32).to_be_bytes());
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 0, 0, 0]);
    m
}

const KEX: &str = "curve25519-sha256,diffie-hellman-group14-sha256";

fn client_kexinit() -> Vec<u8> {
    kexinit([
        KEX,
        "ssh-ed25519",
        "aes128-ctr,chacha20-poly1305@openssh.com",
        "aes256-ctr",
        "hmac-sha2-256",
        "hmac-sha2-512",
        "none,zlib@openssh.com",
        "none",
        "",
        "",
    ])
}

#[test]
fn banners() {
    let b = Banner::parse(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3").unwrap();
    assert_eq!(b.proto, b"2.0");
    assert_eq!(b.software, b"OpenSSH_9.2p1");
    assert_eq!(b.comments, b"Debian-2+deb12u3");
    let b = Banner::parse(b"SSH-1.99-Cisco-1.25").unwrap();
    assert_eq!(
        (b.proto, b.software, b.comments),
        (&b"1.99"[..], &b"Cisco-1.25"[..], &b""[..])
    );
    assert_eq!(Banner::parse(b"SSH-2.0"), None);
    assert_eq!(Banner::parse(b"SSH-2.0-"), None);
    assert_eq!(Banner::parse(b"HTTP/1.1 200 OK"), None);
}

#[test]
fn probes() {
    assert_eq!(probe(Direction::ToServer, b"SS"), Probe::NeedMore);
    assert_eq!(probe(Direction::ToServer, b"SSH-2.0-x\r\n"), Probe::Match);
    assert_eq!(
        probe(Direction::ToClient, b"GET / HTTP/1.1"),
        Probe::NoMatch
    );
}

#[test]
fn a_handshake_frames_until_newkeys() {
    let mut p = SshParser::default();
    let c = Direction::ToServer;
    let banner = b"SSH-2.0-PuTTY_Release_0.78\r\n";
    match p.parse(c, banner) {
        Parsed::Pdu {
            pdu: Pdu::Banner(b),
            len,
        } => {
            assert_eq!(b.software, b"PuTTY_Release_0.78");
            assert_eq!(len, banner.len());
        }
        other => panic!("{other:?}"),
    }
    let kex = packet(&client_kexinit());
    // Every truncation asks for more; the whole packet frames.
    for cut in 0..kex.len() {
        assert!(
            matches!(p.parse(c, &kex[..cut]), Parsed::Incomplete { .. }),
            "cut at {cut}"
        );
    }
    let Parsed::Pdu {
        pdu: Pdu::Packet { msg_type, payload },
        len,
    } = p.parse(c, &kex)
    else {
        panic!()
    };
    assert_eq!((msg_type, len), (msg::KEXINIT, kex.len()));
    let k = KexInit::parse(payload).unwrap();
    assert_eq!(k.kex, KEX.as_bytes());
    assert_eq!(k.host_key, b"ssh-ed25519");
    // Values from Python's hashlib on the same strings.
    assert_eq!(
        kex::hassh_hash(&k.hassh_client()),
        "4c62cbcd7d7bd5d7bab969610482f47a"
    );
    assert_eq!(
        kex::hassh_hash(&k.hassh_server()),
        "9872d914bc3c6656730f743e57ac6262"
    );
    let newkeys = packet(&[msg::NEWKEYS]);
    assert!(matches!(
        p.parse(c, &newkeys),
        Parsed::Pdu {
            pdu: Pdu::Packet {
                msg_type: msg::NEWKEYS,
                ..
            },
            ..
        }
    ));
    // Encrypted from here: counted, never framed.
    assert_eq!(
        p.parse(c, &[0xff; 40]),
        Parsed::Pdu {
            pdu: Pdu::Encrypted(40),
            len: 40
        }
    );
    // The other direction is still in its identification phase.
    assert!(matches!(
        p.parse(Direction::ToClient, b"SSH-2.0-OpenSSH_9.2p1\r\n"),
        Parsed::Pdu {
            pdu: Pdu::Banner(_),
            ..
        }
    ));
}

#[test]
fn lines_before_a_servers_banner() {
    let mut p = SshParser::default();
    let s = Direction::ToClient;
    assert!(matches!(
        p.parse(s, b"Authorised users only\r\n"),
        Parsed::Pdu {
            pdu: Pdu::Line(b"Authorised users only"),
            ..
        }
    ));
    // A client may not.
    assert_eq!(
        p.parse(Direction::ToServer, b"hello\r\n"),
        Parsed::Invalid(Error::InvalidBanner)
    );
    // A banner with no line end within 255 bytes.
    let mut long = b"SSH-2.0-".to_vec();
    long.resize(300, b'a');
    assert_eq!(p.parse(s, &long), Parsed::Invalid(Error::LongBanner));
    assert!(matches!(
        p.parse(s, &long[..200]),
        Parsed::Incomplete { .. }
    ));
}

#[test]
fn bad_packets() {
    let mut p = SshParser::default();
    let c = Direction::ToServer;
    let _ = p.parse(c, b"SSH-2.0-x\r\n");
    assert_eq!(
        p.parse(c, &[0, 1, 0, 0, 4]),
        Parsed::Invalid(Error::PacketLength(65_536))
    );
    assert_eq!(
        p.parse(c, &[0, 0, 0, 2, 4]),
        Parsed::Invalid(Error::PacketLength(2))
    );
    assert_eq!(
        p.parse(c, &[0, 0, 0, 8, 7]),
        Parsed::Invalid(Error::Padding(7))
    );
    // A KEXINIT cut inside a name-list reads as nothing.
    let k = client_kexinit();
    for cut in 0..k.len() {
        assert_eq!(KexInit::parse(&k[..cut]), None, "cut at {cut}");
    }
    assert_eq!(KexInit::parse(&[msg::KEXINIT, 0, 0]), None);
}

proptest::proptest! {
    #[test]
    fn no_input_panics(chunks in proptest::collection::vec(
        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 0..6)
    ) {
        let mut p = SshParser::default();
        for (i, c) in chunks.iter().enumerate() {
            let dir = if i % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
            let mut rest = &c[..];
            while let Parsed::Pdu { pdu, len } = p.parse(dir, rest) {
                if let Pdu::Packet { payload, .. } = pdu {
                    let _ = KexInit::parse(payload);
                }
                rest = &rest[len..];
                if rest.is_empty() {
                    break;
                }
            }
            let _ = p.resync(dir, c);
        }
    }
}
