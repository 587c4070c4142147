use super::*;
use crate::app::AnomalyName;

/// Every PDU of `input` fed in `step`-byte segments the way the sensor's driver feeds them:
/// held bytes grow until a PDU frames. Bodies are joined per message.
fn run(p: &mut HttpParser, dir: Direction, input: &[u8], step: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut held: Vec<u8> = Vec::new();
    let mut body: Vec<u8> = Vec::new();
    for seg in input.chunks(step.max(1)) {
        held.extend_from_slice(seg);
        loop {
            match p.parse(dir, &held) {
                Parsed::Pdu { pdu, len } => {
                    match pdu {
                        Pdu::Request(h) => out.push(format!(
                            "req {} {} {:?}",
                            String::from_utf8_lossy(h.method),
                            String::from_utf8_lossy(h.uri),
                            h.framing
                        )),
                        Pdu::Response(h) => {
                            out.push(format!("res {} {:?}", h.status, h.framing));
                            out.extend(h.oddities.names(true).map(|n| format!("odd {n}")));
                        }
                        Pdu::Body { data, end, note } => {
                            if let Some(n) = note {
                                out.push(format!("note {}", n.name(dir == Direction::ToClient)));
                            }
                            body.extend_from_slice(data);
                            if end {
                                out.push(format!("body {}", String::from_utf8_lossy(&body)));
                                body.clear();
                            }
                        }
                        Pdu::Tunnel(b) => out.push(format!("tunnel {}", b.len())),
                    }
                    held.drain(..len);
                    if held.is_empty() {
                        break;
                    }
                }
                Parsed::Incomplete { .. } => break,
                Parsed::Invalid(e) => {
                    out.push(format!("invalid {}", e.anomaly_name()));
                    held.clear();
                    break;
                }
            }
        }
    }
    if !body.is_empty() {
        out.push(format!("open body {}", String::from_utf8_lossy(&body)));
    }
    out
}

const REQUESTS: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello\
GET /x HTTP/1.1\r\nHost: a\r\n\r\n\
PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n\
GET /n HTTP/1.1\r\n\r\n\
HEAD /h HTTP/1.1\r\n\r\n";

#[test]
fn requests_whatever_the_segmentation() {
    for step in [1, 2, 3, 7, 64, 4096] {
        let got = run(
            &mut HttpParser::default(),
            Direction::ToServer,
            REQUESTS,
            step,
        );
        assert_eq!(
            got,
            [
                "req POST /up Length(5)",
                "body hello",
                "req GET /x None",
                "req PUT /c Chunked",
                "note http.request_chunk_extension",
                "body abcde",
                "req GET /n None",
                "req HEAD /h None",
            ],
            "step {step}"
        );
    }
}

#[test]
fn responses_follow_their_requests() {
    let mut p = HttpParser::default();
    run(&mut p, Direction::ToServer, REQUESTS, 4096);
    let responses = b"HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n\
HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n\
HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\nabc\
HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    let got = run(&mut p, Direction::ToClient, responses, 5);
    assert_eq!(
        got,
        [
            "res 100 None",
            "res 201 Length(2)",
            "body ok",
            "res 200 Chunked",
            "body abcd",
            "res 204 None",
            "odd http.response_body_unexpected",
            "res 304 Length(3)",
            "odd http.response_body_unexpected",
            "body abc",
            "res 200 None",
        ],
        "the last answers HEAD: no body whatever Content-Length says"
    );
}

#[test]
fn a_line_after_a_response_body_is_more_of_it() {
    let mut p = HttpParser::default();
    run(
        &mut p,
        Direction::ToServer,
        b"GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.0\r\n\r\nGET /3 HTTP/1.0\r\n\r\n",
        100,
    );
    // In one segment: the line end after the first body is more of it; a response after
    // a bare line end is not; nor is a line not there yet.
    let responses = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nab\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n\nHTTP/1.0 200 OK\r\n\
Content-Length: 1\r\n\r\nd\r";
    let got = run(&mut p, Direction::ToClient, responses, 4096);
    assert_eq!(
        got,
        [
            "res 200 Length(2)",
            "note http.response_body_unexpected",
            "body ab\r\n",
            "res 200 Chunked",
            "body c",
            "res 200 Length(1)",
            "body d",
        ]
    );
    // Requests are not read so.
    let got = run(
        &mut HttpParser::default(),
        Direction::ToServer,
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx\r\nGET / HTTP/1.1\r\n\r\n",
        4096,
    );
    assert_eq!(got, ["req POST / Length(1)", "body x", "req GET / None"]);
}

#[test]
fn http_inside_a_connect_tunnel_starts_anew() {
    let mut p = HttpParser::default();
    run(
        &mut p,
        Direction::ToServer,
        b"CONNECT h:80 HTTP/1.1\r\n\r\n",
        100,
    );
    run(&mut p, Direction::ToClient, b"HTTP/1.1 200 OK\r\n\r\n", 100);
    let req = b"GET / HTTP/1.1\r\n\r\n";
    // Split as the first segment of the tunnel may be: `GE`, then the rest.
    assert!(matches!(
        p.parse(Direction::ToServer, &req[..2]),
        Parsed::Incomplete { .. }
    ));
    match p.parse(Direction::ToServer, req) {
        Parsed::Pdu {
            pdu: Pdu::Request(h),
            len,
        } => {
            assert!(h.after_tunnel);
            assert_eq!((h.method, len), (&b"GET"[..], req.len()));
        }
        other => panic!("{other:?}"),
    }
    let got = run(
        &mut p,
        Direction::ToClient,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
        100,
    );
    assert_eq!(got, ["res 200 Length(1)", "body x"]);
    // The next request is an ordinary one.
    match p.parse(Direction::ToServer, req) {
        Parsed::Pdu {
            pdu: Pdu::Request(h),
            ..
        } => assert!(!h.after_tunnel),
        other => panic!("{other:?}"),
    }
}

#[test]
fn body_until_close_and_tunnels() {
    let mut p = HttpParser::default();
    run(&mut p, Direction::ToServer, b"GET / HTTP/1.0\r\n\r\n", 100);
    let got = run(
        &mut p,
        Direction::ToClient,
        b"HTTP/1.0 200 OK\r\n\r\nall of it",
        4,
    );
    assert_eq!(got, ["res 200 UntilClose", "open body all of it"]);

    let mut p = HttpParser::default();
    run(
        &mut p,
        Direction::ToServer,
        b"CONNECT h:443 HTTP/1.1\r\n\r\n",
        100,
    );
    let got = run(
        &mut p,
        Direction::ToClient,
        b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
        100,
    );
    assert_eq!(got, ["res 200 None", "tunnel 3"]);
    let got = run(&mut p, Direction::ToServer, b"\x16\x03\x01\x00", 100);
    assert_eq!(got, ["tunnel 4"]);
}

#[test]
fn bad_input_is_named() {
    let bad = |dir, input: &[u8]| run(&mut HttpParser::default(), dir, input, 4096);
    assert_eq!(
        bad(
            Direction::ToServer,
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n"
        ),
        ["req GET / None"],
        "an invalid field is skipped, not fatal"
    );
    assert_eq!(
        bad(Direction::ToServer, b"G\x01T / HTTP/1.1\r\n\r\n"),
        ["invalid http.invalid_method"]
    );
    assert_eq!(
        bad(Direction::ToClient, b"HTTP/1.1 2x0 OK\r\n\r\n"),
        ["invalid http.invalid_status"]
    );
    assert_eq!(
        bad(
            Direction::ToServer,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        ),
        ["req POST / Chunked", "invalid http.invalid_chunk_size"]
    );
    assert_eq!(
        bad(
            Direction::ToServer,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n"
        ),
        [
            "req POST / Chunked",
            "invalid http.invalid_chunk_framing",
            "open body ab"
        ]
    );
    let long = [b"GET / HTTP/1.1\r\nX: ".as_slice(), &[b'a'; MAX_HEAD]].concat();
    assert_eq!(
        bad(Direction::ToServer, &long),
        ["invalid http.head_too_long"]
    );
    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for _ in 0..=MAX_FIELDS {
        many.extend_from_slice(b"A: b\r\n");
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(
        bad(Direction::ToServer, &many),
        ["invalid http.too_many_headers"]
    );
}

#[test]
fn a_request_line_without_version_keeps_its_fields() {
    let got = run(
        &mut HttpParser::default(),
        Direction::ToServer,
        b"GET /gen.php?x=1\r\nHost: a\r\nUser-Agent:t\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
        3,
    );
    assert_eq!(got, ["req GET /gen.php?x=1 None", "req GET /b None"]);
    // Bare line ends, and a field line without a colon, as a script may send them.
    let input = b"GET /\nFakeHeader\nHost: localhost\nUser-Agent: myscript\n\n";
    for step in [1, 5, 4096] {
        let mut p = HttpParser::default();
        let mut held = Vec::new();
        let mut head = None;
        for seg in input.chunks(step) {
            held.extend_from_slice(seg);
            if let Parsed::Pdu {
                pdu: Pdu::Request(h),
                len,
            } = p.parse(Direction::ToServer, &held)
            {
                assert_eq!(len, input.len());
                head = Some((
                    h.headers().get("user-agent").map(<[u8]>::to_vec),
                    h.oddities.names(false).collect::<Vec<_>>(),
                    h.protocol.is_empty(),
                ));
            }
        }
        assert_eq!(
            head,
            Some((
                Some(b"myscript".to_vec()),
                vec!["http.request_line_missing_protocol"],
                true
            )),
            "step {step}"
        );
    }
}

#[test]
fn resync_starts_a_new_message() {
    let mut p = HttpParser::default();
    run(
        &mut p,
        Direction::ToServer,
        b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
        100,
    );
    assert!(!p.resync(Direction::ToServer, b"middle of a body"));
    assert!(p.resync(Direction::ToServer, b"GET /next HTTP/1.1\r\n\r\n"));
    let got = run(
        &mut p,
        Direction::ToServer,
        b"GET /next HTTP/1.1\r\n\r\n",
        100,
    );
    assert_eq!(got, ["req GET /next None"]);
}

#[test]
fn probes() {
    use Direction::*;
    assert_eq!(probe(ToServer, b"GET / HTTP/1.1"), Probe::Match);
    assert_eq!(probe(ToServer, b"PROPF"), Probe::NeedMore);
    assert_eq!(probe(ToServer, b"GETX / HTTP/1.1"), Probe::NoMatch);
    assert_eq!(probe(ToServer, b"\x03\x00\x00\x16"), Probe::NoMatch);
    assert_eq!(probe(ToClient, b"HTTP/1.1 200 OK"), Probe::Match);
    assert_eq!(probe(ToClient, b"HTT"), Probe::NeedMore);
    assert_eq!(probe(ToClient, b"SSH-2.0"), Probe::NoMatch);
}

proptest::proptest! {
    #[test]
    fn never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
                    step in 1usize..64) {
        let mut p = HttpParser::default();
        let _ = run(&mut p, Direction::ToServer, &input, step);
        let _ = run(&mut p, Direction::ToClient, &input, step);
    }

    #[test]
    fn never_panics_on_near_http(body in proptest::collection::vec(
        proptest::sample::select(b"0123456789abcdefABCDEF\r\n :;GETHTP/1.chunked-Transfer-Encoding".to_vec()), 0..300),
        step in 1usize..32) {
        let mut input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        input.extend_from_slice(&body);
        let mut p = HttpParser::default();
        let _ = run(&mut p, Direction::ToServer, &input, step);
        let mut tx = Transaction::default();
        if let Parsed::Pdu { pdu: Pdu::Request(h), .. } = HttpParser::default().parse(Direction::ToServer, &input) {
            tx.set_request(0, &h);
        }
    }
}

#[test]
fn a_gap_inside_a_sized_body_keeps_the_framing() {
    let mut p = HttpParser::default();
    let c = Direction::ToServer;
    let head = run(
        &mut p,
        c,
        b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc",
        100,
    );
    assert_eq!(head.last().unwrap(), "open body abc");
    // Four bytes lost: three of the body remain, then the next request.
    assert_eq!(p.gap(c, 4), Some(4));
    let after = run(&mut p, c, b"xyzGET /b HTTP/1.1\r\n\r\n", 100);
    assert_eq!(after[0], "body xyz");
    assert!(after[1].starts_with("req GET /b"), "{after:?}");
    // A gap that takes exactly the rest of a body ends it before the next message.
    run(
        &mut p,
        c,
        b"POST /c HTTP/1.1\r\nContent-Length: 4\r\n\r\n",
        100,
    );
    assert_eq!(p.gap(c, 4), Some(4));
    let after = run(&mut p, c, b"GET /d HTTP/1.1\r\n\r\n", 100);
    assert_eq!(after[0], "body ");
    assert!(after[1].starts_with("req GET /d"), "{after:?}");
    // Between messages a gap loses the framing.
    assert_eq!(p.gap(c, 5), None);
    // One that runs past a body's end (a stray line end after it, as a server may send) ends
    // the body; the next message is read from its end.
    run(
        &mut p,
        c,
        b"POST /e HTTP/1.1\r\nContent-Length: 4\r\n\r\n",
        100,
    );
    assert_eq!(p.gap(c, 6), Some(4), "the body's 4 bytes of the 6 lost");
    let after = run(&mut p, c, b"GET /f HTTP/1.1\r\n\r\n", 100);
    assert_eq!(after[0], "body ");
    assert!(after[1].starts_with("req GET /f"), "{after:?}");
}
