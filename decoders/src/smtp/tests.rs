use super::*;

fn frame(p: &mut SmtpParser, dir: Direction, buf: &[u8]) -> Vec<String> {
    crate::line::frame_all(p, dir, buf, |pdu| match pdu {
        Pdu::Command(c) => format!("cmd {}", String::from_utf8_lossy(c.line)),
        Pdu::Reply(r) => format!("reply {:?} {}", r.code, String::from_utf8_lossy(r.text)),
        Pdu::DataLine { line, truncated } => format!(
            "data {}{}",
            String::from_utf8_lossy(line),
            if truncated { " (cut)" } else { "" }
        ),
        Pdu::DataEnd => "end".into(),
        Pdu::Chunk { bytes, end } => format!("chunk {} {end}", bytes.len()),
        Pdu::Skipped(n) => format!("skip {n}"),
        Pdu::Encrypted(n) => format!("tls {n}"),
    })
}

#[test]
fn a_message_after_data() {
    let mut p = SmtpParser::default();
    let c = Direction::ToServer;
    assert_eq!(
        frame(
            &mut p,
            c,
            b"EHLO ws1\r\nMAIL FROM:<a@plant> SIZE=10\r\nRCPT TO:<b@plant>\r\nDATA\r\n"
        ),
        [
            "cmd EHLO ws1",
            "cmd MAIL FROM:<a@plant> SIZE=10",
            "cmd RCPT TO:<b@plant>",
            "cmd DATA"
        ]
    );
    assert_eq!(
        frame(&mut p, Direction::ToClient, b"354 go ahead\r\n"),
        ["reply Some(354) go ahead"]
    );
    assert_eq!(
        frame(
            &mut p,
            c,
            b"Subject: x\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n"
        ),
        [
            "data Subject: x",
            "data ",
            "data .leading dot",
            "end",
            "cmd QUIT"
        ]
    );
    assert_eq!(path_arg(b"FROM:<a@plant> SIZE=10"), b"<a@plant>");
    assert_eq!(path_arg(b"TO: <b@plant>"), b"<b@plant>");
}

#[test]
fn a_refused_data_leaves_command_mode() {
    let mut p = SmtpParser::default();
    let c = Direction::ToServer;
    frame(&mut p, c, b"DATA\r\n");
    frame(&mut p, Direction::ToClient, b"554 no valid recipients\r\n");
    assert_eq!(frame(&mut p, c, b"QUIT\r\n"), ["cmd QUIT"]);
}

#[test]
fn bdat_chunks_and_starttls() {
    let mut p = SmtpParser::default();
    let c = Direction::ToServer;
    assert_eq!(
        frame(&mut p, c, b"BDAT 5\r\nhelloBDAT 3 LAST\r\nabcRSET\r\n"),
        [
            "cmd BDAT 5",
            "chunk 5 false",
            "cmd BDAT 3 LAST",
            "chunk 3 true",
            "cmd RSET"
        ]
    );
    // A chunk split across segments.
    frame(&mut p, c, b"BDAT 4 LAST\r\nab");
    assert_eq!(
        frame(&mut p, c, b"cdQUIT\r\n"),
        ["chunk 2 true", "cmd QUIT"]
    );
    assert_eq!(bdat(b"0 LAST"), Some((0, true)));
    assert_eq!(bdat(b"x"), None);
    assert_eq!(
        frame(&mut p, c, b"BDAT 0 LAST\r\nQUIT\r\n"),
        ["cmd BDAT 0 LAST", "cmd QUIT"]
    );
    frame(&mut p, c, b"STARTTLS\r\n");
    frame(&mut p, Direction::ToClient, b"220 ready\r\n");
    assert_eq!(frame(&mut p, c, &[0x16, 3, 1]), ["tls 3"]);
}

#[test]
fn multi_line_replies_and_long_lines() {
    let mut p = SmtpParser::default();
    assert_eq!(
        frame(
            &mut p,
            Direction::ToClient,
            b"250-mx.plant\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"
        ),
        [
            "reply Some(250) mx.plant",
            "reply Some(250) PIPELINING",
            "reply Some(250) SIZE 1000"
        ]
    );
    let mut long = b"DATA\r\n".to_vec();
    long.extend(std::iter::repeat_n(b'A', MAX_DATA_LINE + 10));
    long.extend_from_slice(b"\r\n.\r\n");
    let framed = frame(&mut p, Direction::ToServer, &long);
    assert_eq!(framed[0], "cmd DATA");
    assert!(framed[1].ends_with("(cut)"));
    assert_eq!(&framed[2..], ["skip 12", "end"]);
}

#[test]
fn probes() {
    assert_eq!(
        probe(Direction::ToClient, b"220 mx.plant ESMTP Postfix\r\n"),
        Probe::Match
    );
    assert_eq!(
        probe(Direction::ToClient, b"220 (vsFTPd 3.0.3)\r\n"),
        Probe::NoMatch
    );
    assert_eq!(probe(Direction::ToServer, b"EHLO ws1\r\n"), Probe::Match);
    assert_eq!(probe(Direction::ToServer, b"USER bob\r\n"), Probe::NoMatch);
    assert_eq!(probe(Direction::ToServer, b"EHL"), Probe::NeedMore);
}

proptest::proptest! {
    #[test]
    fn no_input_panics(chunks in proptest::collection::vec(
        proptest::collection::vec(proptest::prelude::any::<u8>(), 0..3000), 0..8)
    ) {
        let mut p = SmtpParser::default();
        for (i, c) in chunks.iter().enumerate() {
            let dir = if i % 2 == 0 { Direction::ToServer } else { Direction::ToClient };
            let _ = probe(dir, c);
            let mut rest = &c[..];
            while let Parsed::Pdu { len, .. } = p.parse(dir, rest) {
                proptest::prop_assert!(len > 0 && len <= rest.len());
                rest = &rest[len..];
                if rest.is_empty() {
                    break;
                }
            }
            let _ = p.resync(dir, c);
        }
    }
}
