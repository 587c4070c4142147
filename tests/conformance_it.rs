//! The IT decoders against tshark on `pcaps/it_web_tls.pcap` (CPython's http.server and
//! OpenSSL's s_server answering curl, over HTTP/1.1, TLS 1.2 and TLS 1.3): the EVE `http` and
//! `tls` events carry what tshark reads from the same frames — request targets and user
//! agents, SNI, JA3 and JA3S, the certificate's serial, names and SHA-1 — and rules on those
//! buffers fire once for each frame tshark shows them in.

use std::collections::BTreeMap;
use std::ffi::OsStr;

use icsight_tests::{replay_with, root, tshark};
use serde_json::Value;
use sha1::{Digest, Sha1};

fn fields(filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let pcap = root().join("pcaps/it_web_tls.pcap");
    let mut args = vec!["-d", "tcp.port==8443,tls", "-Y", filter, "-T", "fields"];
    for f in fields {
        args.extend(["-e", f]);
    }
    tshark(&pcap, &args)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

fn colon(hex: &str, upper: bool) -> String {
    let pairs: Vec<String> = hex
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let s = pairs.join(":");
    if upper {
        s.to_uppercase()
    } else {
        s.to_lowercase()
    }
}

#[test]
fn http_and_tls_agree_with_tshark() {
    let hellos = fields(
        "tls.handshake.type==1",
        &[
            "tls.handshake.extensions_server_name",
            "tls.handshake.ja3",
            "tls.handshake.ja3_full",
        ],
    );
    let server = fields(
        "tls.handshake.type==2",
        &["tls.handshake.ja3s", "tls.handshake.ja3s_full"],
    );
    let certs = fields(
        "tls.handshake.type==11",
        &["x509af.serialNumber", "tls.handshake.certificate"],
    );
    let requests = fields("http.request", &["http.request.uri", "http.user_agent"]);
    assert_eq!(
        (hellos.len(), server.len(), certs.len(), requests.len()),
        (2, 2, 1, 2)
    );
    let serial = colon(&certs[0][0], true);
    let der = hex::decode(certs[0][1].split(',').next().unwrap()).unwrap();
    let fingerprint = colon(&hex::encode(Sha1::digest(&der)), false);

    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("it.rules");
    std::fs::write(
        &rules,
        format!(
            "alert tls any any -> any any (msg:\"sni\"; tls.sni; content:\"{sni}\"; sid:1;)\n\
             alert tls any any -> any any (msg:\"subject\"; tls_cert_subject; content:\"CN=hmi.plant.example\"; sid:2;)\n\
             alert tls any any -> any any (msg:\"ja3 of the TLS 1.3 client\"; ja3.hash; content:\"{ja3}\"; sid:3;)\n\
             alert tls any any -> any any (msg:\"TLS 1.3\"; tls.version:1.3; sid:4;)\n\
             alert tls any any -> any any (msg:\"fingerprint\"; tls.fingerprint:\"{fingerprint}\"; sid:5;)\n\
             alert http any any -> any any (msg:\"PLC project download\"; flow:to_server; http.uri; content:\".ap17\"; endswith; sid:6;)\n\
             alert http any any -> any any (msg:\"user agent\"; content:\"icsight-hmi\"; http_user_agent; sid:7;)\n\
             alert http any any -> any any (msg:\"project body\"; flow:to_client; file_data; content:\"PPPP\"; sid:8;)\n",
            sni = hellos[0][0],
            ja3 = hellos[1][1],
        ),
    )
    .unwrap();
    let pcap = root().join("pcaps/it_web_tls.pcap");
    let r = replay_with(
        &[pcap.as_path()],
        &root().join("tests/conformance.toml"),
        &[OsStr::new("--rules"), rules.as_os_str()],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let of =
        |t: &str| -> Vec<&Value> { r.events.iter().filter(|e| e["event_type"] == t).collect() };

    let mut sids: BTreeMap<u64, usize> = BTreeMap::new();
    for a in of("alert") {
        *sids
            .entry(a["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    let expected: BTreeMap<u64, usize> = [
        (1, 2),
        (2, 1),
        (3, 1),
        (4, 1),
        (5, 1),
        (6, 1),
        (7, 2),
        (8, 1),
    ]
    .into();
    assert_eq!(sids, expected, "alerts per rule");

    let tls = of("tls");
    assert_eq!(tls.len(), 2);
    for (t, (hello, sh)) in tls.iter().zip(hellos.iter().zip(&server)) {
        assert_eq!(t["tls"]["sni"], hello[0].as_str());
        assert_eq!(t["tls"]["ja3"]["hash"], hello[1].as_str());
        assert_eq!(t["tls"]["ja3"]["string"], hello[2].as_str());
        assert_eq!(t["tls"]["ja3s"]["hash"], sh[0].as_str());
        assert_eq!(t["tls"]["ja3s"]["string"], sh[1].as_str());
    }
    assert_eq!(tls[0]["tls"]["version"], "TLS 1.2");
    assert_eq!(tls[0]["tls"]["serial"], serial.as_str());
    assert_eq!(tls[0]["tls"]["fingerprint"], fingerprint.as_str());
    assert_eq!(
        tls[0]["tls"]["subject"],
        "C=CN, O=icsight test plant, CN=hmi.plant.example"
    );
    assert_eq!(tls[1]["tls"]["version"], "TLS 1.3");
    assert!(tls[1]["tls"]["ja4"].as_str().unwrap().starts_with("t13d"));

    let http = of("http");
    assert_eq!(http.len(), 2);
    for (h, req) in http.iter().zip(&requests) {
        assert_eq!(h["http"]["url"], req[0].as_str());
        assert_eq!(h["http"]["http_user_agent"], req[1].as_str());
        assert_eq!(h["http"]["status"], 200);
    }
    let files = of("fileinfo");
    assert_eq!(files.len(), 2);
    assert_eq!(files[1]["fileinfo"]["size"], 3000);
}
