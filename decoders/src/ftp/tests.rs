use super::*;

fn frame(p: &mut FtpParser, dir: Direction, buf: &[u8]) -> Vec<String> {
    crate::line::frame_all(p, dir, buf, |pdu| match pdu {
        Pdu::Command(c) => format!(
            "cmd {}|{}{}",
            String::from_utf8_lossy(c.verb),
            String::from_utf8_lossy(c.arg),
            if c.truncated { " (cut)" } else { "" }
        ),
        Pdu::Reply(r) => format!(
            "reply {:?}{}{}",
            r.code,
            if r.more { "-" } else { " " },
            String::from_utf8_lossy(r.text)
        ),
        Pdu::Skipped(n) => format!("skip {n}"),
        Pdu::Encrypted(n) => format!("tls {n}"),
    })
}

#[test]
fn commands_and_replies() {
    let mut p = FtpParser::default();
    assert_eq!(
        frame(
            &mut p,
            Direction::ToServer,
            b"USER anonymous\r\nPASV\r\nRETR a b.txt\r\nNOO"
        ),
        [
            "cmd USER|anonymous",
            "cmd PASV|",
            "cmd RETR|a b.txt",
            "need after 3"
        ]
    );
    assert_eq!(
        frame(
            &mut p,
            Direction::ToClient,
            b"211-Features:\r\n MDTM\r\n211 End\r\n227 Entering Passive Mode (1,2,3,4,5,6)\n"
        ),
        [
            "reply Some(211)-Features:",
            "reply None- MDTM",
            "reply Some(211) End",
            "reply Some(227) Entering Passive Mode (1,2,3,4,5,6)"
        ]
    );
}

#[test]
fn a_long_line_is_cut_and_the_rest_skipped() {
    let mut p = FtpParser::default();
    let mut long = b"STOR ".to_vec();
    long.resize(MAX_LINE + 100, b'A');
    long.extend_from_slice(b"\r\nQUIT\r\n");
    let framed = frame(&mut p, Direction::ToServer, &long);
    assert_eq!(framed.len(), 3, "{framed:?}");
    assert!(framed[0].ends_with("(cut)"));
    assert_eq!(framed[1], "skip 102");
    assert_eq!(framed[2], "cmd QUIT|");
    // Short of the cap, a line waits for its end.
    assert!(matches!(
        FtpParser::default().parse(Direction::ToServer, &long[..MAX_LINE]),
        Parsed::Incomplete { .. }
    ));
    // With a higher cap (`max-line-length: 5kb`) the same line is whole.
    let mut p = FtpParser::default();
    p.set_max_line(5 * 1024);
    let framed = frame(&mut p, Direction::ToServer, &long);
    assert_eq!(framed.len(), 2, "{framed:?}");
    assert!(!framed[0].ends_with("(cut)"), "{}", &framed[0][..20]);
    assert_eq!(framed[1], "cmd QUIT|");
}

#[test]
fn auth_tls_ends_the_clear_text() {
    let mut p = FtpParser::default();
    frame(&mut p, Direction::ToServer, b"AUTH TLS\r\n");
    assert_eq!(
        frame(&mut p, Direction::ToClient, b"234 Proceed\r\n"),
        ["reply Some(234) Proceed"]
    );
    assert_eq!(
        frame(&mut p, Direction::ToServer, &[0x16, 3, 1, 0, 5]),
        ["tls 5"]
    );
}

#[test]
fn probes() {
    assert_eq!(
        probe(Direction::ToClient, b"220 (vsFTPd 3.0.3)\r\n"),
        Probe::Match
    );
    assert_eq!(
        probe(Direction::ToClient, b"220 mail.plant ESMTP Postfix\r\n"),
        Probe::NoMatch
    );
    assert_eq!(
        probe(Direction::ToClient, b"220 ready\r\n"),
        Probe::NeedMore
    );
    assert_eq!(probe(Direction::ToClient, b"22"), Probe::NeedMore);
    assert_eq!(probe(Direction::ToServer, b"USER bob\r\n"), Probe::Match);
    assert_eq!(probe(Direction::ToServer, b"EHLO x\r\n"), Probe::NoMatch);
    assert_eq!(probe(Direction::ToServer, b"\x16\x03\x01"), Probe::NoMatch);
}

#[test]
fn transactions_keep_codes_and_cap_lines() {
    let mut t = Transaction::request(b"retr x", b"retr", b"x", false);
    assert_eq!(t.command, b"RETR");
    t.reply(Some(150), b"Opening", false);
    t.reply(None, b"more", false);
    assert_eq!(t.codes, [*b"150"]);
    for _ in 0..100 {
        t.reply(Some(226), b"done", false);
    }
    assert_eq!(t.replies.len(), tx::MAX_REPLY_LINES);
    assert!(t.reply_truncated);
}

proptest::proptest! {
    #[test]
    fn no_input_panics(chunks in proptest::collection::vec(
        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..5000), 0..6)
    ) {
        let mut p = FtpParser::default();
        for (i, c) in chunks.iter().enumerate() {
            let dir = if i % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
            let _ = probe(dir, c);
            let mut rest = &c[..];
            while let Parsed::Pdu { pdu, len } = p.parse(dir, rest) {
                proptest::prop_assert!(len > 0 && len <= rest.len());
                if let Pdu::Reply(r) = pdu {
                    let _ = (port::pasv(r.text), port::epsv(r.text));
                }
                if let Pdu::Command(c) = pdu {
                    let _ = (port::port(c.arg), port::eprt(c.arg));
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
