use serde_json::Value;

use super::*;
use crate::app::testing::TestFlow;
use crate::app::Driver;
use crate::reassembly::Chunk;
use icsight_eve::Proto;

/// The events one HTTP connection writes, its bytes handed over as the reassembler hands
/// them: each `(direction, chunk)` in turn, `None` a gap of that many bytes. Alerts come from
/// `rules`.
fn events(rules: &str, chunks: &[(Direction, Result<&[u8], u32>)]) -> Vec<Value> {
    let mut flow = TestFlow::new(AppProto::Http, Proto::TCP, 80, rules);
    let mut driver = Driver::<HttpParser>::default();
    for (dir, chunk) in chunks {
        let chunk = match chunk {
            Ok(bytes) => Chunk::Data(bytes),
            Err(len) => Chunk::Gap(*len),
        };
        driver.chunk(*dir, chunk, &mut flow.packet());
    }
    driver.close(&mut flow.packet());
    flow.events()
}

fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event_type"] == t).collect()
}

/// The anomalies' whole names (`http.…`), as rules name them.
fn anomalies(events: &[Value]) -> Vec<String> {
    of_type(events, "anomaly")
        .iter()
        .filter_map(|e| icsight_eve::anomaly_name_of(e))
        .collect()
}

use Direction::{ToClient as S, ToServer as C};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn request_bodies_are_decompressed() {
    let body = gzip(b"name=john&password=x");
    let head = format!(
        "POST /hi.php HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let request = [head.as_bytes(), &body].concat();
    let ev = events(
        r#"alert http any any -> any any (msg:"client body"; content:"name=john"; http_client_body; sid:1;)"#,
        &[
            (C, Ok(&request)),
            (S, Ok(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ],
    );
    let alerts = of_type(&ev, "alert");
    assert_eq!(alerts.len(), 1, "{ev:#?}");
    assert_eq!(alerts[0]["alert"]["signature_id"], 1);
}

#[test]
fn a_body_said_to_be_coded_but_not_is_kept_as_it_came() {
    let body = br#"{"sdk_version":11026}"#;
    let request = [
        format!(
            "POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
        body,
    ]
    .concat();
    let response = [
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 21\r\n\r\n".as_slice(),
        body,
    ]
    .concat();
    let ev = events(
        r#"alert http any any -> any any (msg:"request"; http.request_body; content:"|22|sdk_version|22 3a|"; sid:1;)
alert http any any -> any any (msg:"response"; file.data; content:"sdk_version"; sid:2;)"#,
        &[(C, Ok(&request)), (S, Ok(&response))],
    );
    let mut sids: Vec<_> = of_type(&ev, "alert")
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    sids.sort();
    assert_eq!(sids, [1, 2]);
    assert_eq!(of_type(&ev, "fileinfo")[0]["fileinfo"]["size"], 21);
}

#[test]
fn oddities_are_anomalies() {
    let request = b"POST / HTTP/1.1\r\nX: 1\r\nx: 2\r\nTransfer-Encoding: chunked\r\n\r\n\
                    4;ext=1\r\nabcd\r\n0\r\n\r\n";
    let response = b"HTTP/1.1 204 No Content\r\nA: 1\r\nA: 2\r\nContent-Length: 0\r\n\r\n";
    let ev = events(
        r#"alert http any any -> any any (msg:"chunk extension"; app-layer-event:http.request_chunk_extension; sid:7;)"#,
        &[(C, Ok(request)), (S, Ok(response))],
    );
    assert_eq!(
        anomalies(&ev),
        [
            "http.request_header_repetition",
            "http.request_chunk_extension",
            "http.response_header_repetition",
            "http.response_body_unexpected",
        ]
    );
    assert_eq!(of_type(&ev, "alert")[0]["alert"]["signature_id"], 7);
}

#[test]
fn a_line_after_a_body_is_more_of_the_file() {
    let ev = events(
        "",
        &[
            (C, Ok(b"GET /1 HTTP/1.0\r\n\r\n")),
            (S, Ok(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n")),
            (S, Ok(b"Hello World!\r\n")),
        ],
    );
    let files = of_type(&ev, "fileinfo");
    assert_eq!(files[0]["fileinfo"]["size"], 14);
    assert_eq!(files[0]["fileinfo"]["state"], "CLOSED");
    assert_eq!(anomalies(&ev), ["http.response_body_unexpected"]);
}

#[test]
fn http_in_a_connect_tunnel_is_a_new_session() {
    let ev = events(
        "",
        &[
            (C, Ok(b"CONNECT abc:443 HTTP/1.1\r\n\r\n")),
            (S, Ok(b"HTTP/1.1 200 OK\r\n\r\n")),
            (C, Ok(b"GE")),
            (C, Ok(b"T / HTTP/1.1\r\n\r\n")),
            (S, Ok(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")),
        ],
    );
    let http: Vec<_> = of_type(&ev, "http")
        .iter()
        .map(|e| {
            (
                e["tx_id"].as_u64().unwrap(),
                e["http"]["http_method"].clone(),
            )
        })
        .collect();
    assert_eq!(http, [(0, "CONNECT".into()), (0, "GET".into())]);
}

#[test]
fn ranges_and_the_whole_file_they_make() {
    let part = |start: usize, end: usize| {
        let body = vec![b'x'; end - start + 1];
        let head = format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Type: image/jpeg; q=1\r\n\
             Content-Range: bytes {start}-{end}/25\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        [head.into_bytes(), body].concat()
    };
    let get = b"GET /f.jpg HTTP/1.1\r\nHost: a\r\n\r\n";
    let (a, b, c) = (part(0, 9), part(20, 24), part(10, 19));
    let ev = events(
        "",
        &[
            (C, Ok(get)),
            (S, Ok(&a)),
            (C, Ok(get)),
            (S, Ok(&b)),
            (C, Ok(get)),
            (S, Ok(&c)),
        ],
    );
    let files = of_type(&ev, "fileinfo");
    let seen: Vec<_> = files
        .iter()
        .map(|f| {
            let i = &f["fileinfo"];
            (i["size"].clone(), i["start"].clone(), i["end"].clone())
        })
        .collect();
    assert_eq!(
        seen,
        [
            (10.into(), 0.into(), 9.into()),
            (5.into(), 20.into(), 24.into()),
            (10.into(), 10.into(), 19.into()),
            (25.into(), Value::Null, Value::Null),
        ]
    );
    let http = &files[0]["http"];
    assert_eq!(http["http_content_type"], "image/jpeg");
    assert_eq!(
        http["content_range"],
        serde_json::json!({"raw": "bytes 0-9/25", "start": 0, "end": 9, "size": 25})
    );
}

#[test]
fn pieces_merge() {
    let mut p = Pieces {
        key: Vec::new(),
        size: 10,
        have: Vec::new(),
    };
    assert!(!p.add(4, 6));
    assert!(!p.add(0, 2));
    assert!(!p.add(8, 10));
    assert_eq!(p.have, [(0, 2), (4, 6), (8, 10)]);
    assert!(!p.add(1, 5));
    assert_eq!(p.have, [(0, 6), (8, 10)]);
    assert!(p.add(6, 8));
}

#[test]
fn uploaded_files_are_files() {
    let body = b"--b0\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfield\r\n\
--b0\r\nContent-Disposition: form-data; name=\"file\"; filename=\"up.pcap\"\r\n\
Content-Type: application/octet-stream\r\n\r\n0123456789\r\n--b0--\r\n";
    let head = format!(
        "POST /upload HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b0\r\n\
         Expect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let ev = events(
        "",
        &[
            (C, Ok(head.as_bytes())),
            (S, Ok(b"HTTP/1.1 100 Continue\r\n\r\n")),
            (C, Ok(body)),
            (S, Ok(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")),
        ],
    );
    let files: Vec<_> = of_type(&ev, "fileinfo")
        .iter()
        .map(|f| {
            let i = &f["fileinfo"];
            (i["filename"].clone(), i["size"].clone(), i["state"].clone())
        })
        .collect();
    assert_eq!(
        files,
        [
            ("up.pcap".into(), 10.into(), "CLOSED".into()),
            ("/upload".into(), 2.into(), "CLOSED".into()),
        ]
    );
}

/// `brotli -c` of the text, and of 10,000,000 `A`s (27 bytes: a bomb).
const BR_TEXT: &str = "8b0680706c616e7420726563697065203703";
const BR_BOMB: &str = "cbffff3ff82582e2b14020f7fe2fff2c31f04b00c46111808e2306";

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn brotli_bodies_are_decompressed_within_the_limit() {
    let response = |body: &[u8]| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        [head.as_bytes(), body].concat()
    };
    let (text, bomb) = (response(&unhex(BR_TEXT)), response(&unhex(BR_BOMB)));
    let ev = events(
        r#"alert http any any -> any any (msg:"recipe"; flow:to_client; file_data; content:"recipe 7"; sid:1;)
alert http any any -> any any (msg:"bomb"; flow:to_client; file_data; content:"AAAA"; sid:2;)"#,
        &[
            (C, Ok(b"GET /r HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n")),
            (S, Ok(&text)),
            (S, Ok(&bomb)),
        ],
    );
    let sids: Vec<u64> = of_type(&ev, "alert")
        .iter()
        .map(|a| a["alert"]["signature_id"].as_u64().unwrap())
        .collect();
    assert_eq!(sids, [1, 2], "{ev:#?}");
    let files = of_type(&ev, "fileinfo");
    assert_eq!(files[0]["fileinfo"]["size"], 14);
    // Ten million bytes announced by 27: kept up to the limit, the rest never expanded.
    assert_eq!(files[1]["fileinfo"]["size"], RESPONSE_BODY_LIMIT as u64);
    assert_eq!(files[1]["fileinfo"]["state"], "TRUNCATED");
}
