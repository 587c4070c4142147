//! The HTTP rules of the shared bench ruleset (`../shared/bench/ics.rules`) on the bench's own
//! traffic (`../shared/bench/gen_modbus_pcap.py`, a 30,000-packet cut): every one of the 303
//! rules loads, and each HTTP rule alerts as often as there are frames tshark shows carrying
//! what the rule describes.
//!
//! tshark reads every request and response once (URI, user agent, host, method, header lines,
//! bodies, status, server); each rule is then read back into tests on those fields — its
//! `content`s (`nocase` too) and `pcre`s on the field of its buffer — and counted over request
//! or response frames. `http.uri` is the normalized URI, as Suricata's HTTP library makes it:
//! the path percent-decoded and its dot segments removed (RFC 3986 §5.2.4), the query as sent;
//! the generator's `…status.cgi&q=../../etc/passwd` is `/cgi-bin/etc/passwd` to a rule. A
//! `threshold: type limit, track by_src, count 1` rule counts once a source, the capture
//! lasting under its 60 s.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::process::Command;

use icsight_tests::{replay_with, root, tshark};

/// tshark's aggregator for fields that occur more than once (header lines).
const AGG: &str = "\u{1}";

/// A field of a request or response frame, as read here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Field {
    Uri,
    UserAgent,
    Host,
    Method,
    Headers,
    RequestBody,
    Server,
    StatCode,
    ResponseBody,
}

impl Field {
    fn of(buffer: &str) -> Option<Field> {
        Some(match buffer {
            "http.uri" => Field::Uri,
            "http.user_agent" => Field::UserAgent,
            "http.host" => Field::Host,
            "http.method" => Field::Method,
            "http.header" => Field::Headers,
            "http.request_body" => Field::RequestBody,
            "http.server" => Field::Server,
            "http.stat_code" => Field::StatCode,
            "file.data" => Field::ResponseBody,
            _ => return None,
        })
    }

    fn response(self) -> bool {
        matches!(self, Field::Server | Field::StatCode | Field::ResponseBody)
    }
}

/// One test of a rule on one field.
enum Test {
    Contains { text: Vec<u8>, nocase: bool },
    Matches(regex::bytes::Regex),
}

/// One HTTP rule, as counted here.
struct HttpRule {
    sid: u64,
    tests: Vec<(Field, Test)>,
    per_source: bool,
}

impl HttpRule {
    fn response(&self) -> bool {
        self.tests.iter().any(|(f, _)| f.response())
    }

    fn matches(&self, frame: &BTreeMap<Field, Vec<u8>>) -> bool {
        self.tests.iter().all(|(f, t)| {
            let Some(v) = frame.get(f) else {
                return false;
            };
            match t {
                Test::Contains { text, nocase } => {
                    let hay = if *nocase {
                        v.to_ascii_lowercase()
                    } else {
                        v.clone()
                    };
                    hay.windows(text.len()).any(|w| w == text.as_slice())
                }
                Test::Matches(re) => re.is_match(v),
            }
        })
    }
}

/// A rule content's bytes: `|3b|` hex runs as bytes.
fn content_bytes(v: &str) -> Vec<u8> {
    let v = v.trim().trim_matches('"');
    let mut out = Vec::new();
    for (i, part) in v.split('|').enumerate() {
        if i % 2 == 0 {
            out.extend_from_slice(part.as_bytes());
        } else {
            out.extend(
                part.split_whitespace()
                    .map(|h| u8::from_str_radix(h, 16).unwrap()),
            );
        }
    }
    out
}

/// The HTTP rules of `ics.rules`.
fn http_rules(text: &str) -> Vec<HttpRule> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with("alert http ")) {
        let body = &line[line.find('(').unwrap() + 1..line.rfind(')').unwrap()];
        let opts: Vec<(&str, &str)> = body
            .split("; ")
            .map(|o| {
                let o = o.trim().trim_end_matches(';');
                o.split_once(':').unwrap_or((o, ""))
            })
            .collect();
        let sid = opts
            .iter()
            .find(|(k, _)| *k == "sid")
            .unwrap()
            .1
            .parse()
            .unwrap();
        let mut field = None;
        let mut tests = Vec::new();
        for (i, (k, v)) in opts.iter().enumerate() {
            if let Some(f) = Field::of(k) {
                field = Some(f);
            } else if *k == "content" {
                let nocase = opts.get(i + 1).is_some_and(|(k, _)| *k == "nocase");
                let text = content_bytes(v);
                let text = if nocase {
                    text.to_ascii_lowercase()
                } else {
                    text
                };
                tests.push((field.expect(line), Test::Contains { text, nocase }));
            } else if *k == "pcre" {
                let v = v.trim().trim_matches('"');
                let (re, flags) = v[1..].rsplit_once('/').unwrap();
                let re = re.replace("\\/", "/");
                let re = if flags.contains('i') {
                    format!("(?i){re}")
                } else {
                    re
                };
                let re = regex::bytes::Regex::new(&re).unwrap();
                tests.push((field.expect(line), Test::Matches(re)));
            } else {
                assert!(
                    [
                        "nocase",
                        "msg",
                        "flow",
                        "threshold",
                        "classtype",
                        "sid",
                        "rev"
                    ]
                    .contains(k),
                    "{k} in {line}"
                );
            }
        }
        out.push(HttpRule {
            sid,
            tests,
            per_source: line.contains("threshold:type limit, track by_src, count 1"),
        });
    }
    out
}

/// RFC 3986 §5.2.4 on the path, `%XX` decoded first; the query kept.
fn normalized_uri(raw: &[u8]) -> Vec<u8> {
    let (path, query) = match raw.iter().position(|&c| c == b'?') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, &raw[raw.len()..]),
    };
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < path.len() {
        let hex = path
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (path[i], hex) {
            (b'%', Some(b)) => {
                decoded.push(b);
                i += 3;
            }
            (c, _) => {
                decoded.push(c);
                i += 1;
            }
        }
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    let parts: Vec<&[u8]> = decoded.split(|&c| c == b'/').collect();
    for (n, s) in parts.iter().enumerate().skip(1) {
        match *s {
            b"." => {}
            b".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
        // A trailing `.` or `..` leaves the path ending in a slash.
        if n == parts.len() - 1 && (*s == b"." || *s == b"..") {
            segments.push(b"");
        }
    }
    let mut out = Vec::new();
    for s in segments {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out.extend_from_slice(query);
    out
}

/// Every request or response frame tshark shows: its source and its fields.
fn frames(pcap: &std::path::Path, response: bool) -> Vec<(String, BTreeMap<Field, Vec<u8>>)> {
    let fields: &[(&str, Option<Field>)] = if response {
        &[
            ("ip.src", None),
            ("http.response.code", Some(Field::StatCode)),
            ("http.server", Some(Field::Server)),
            ("http.file_data", Some(Field::ResponseBody)),
        ]
    } else {
        &[
            ("ip.src", None),
            ("http.request.uri", Some(Field::Uri)),
            ("http.user_agent", Some(Field::UserAgent)),
            ("http.host", Some(Field::Host)),
            ("http.request.method", Some(Field::Method)),
            ("http.request.line", Some(Field::Headers)),
            ("http.file_data", Some(Field::RequestBody)),
        ]
    };
    let filter = if response {
        "http.response"
    } else {
        "http.request"
    };
    let aggregator = format!("aggregator={AGG}");
    let mut args = vec!["-Y", filter, "-T", "fields", "-E", aggregator.as_str()];
    for (f, _) in fields {
        args.extend(["-e", f]);
    }
    tshark(pcap, &args)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let mut m = BTreeMap::new();
            for ((_, f), v) in fields.iter().zip(&cols).skip(1) {
                let f = f.unwrap();
                if v.is_empty() {
                    continue;
                }
                let v = match f {
                    Field::Uri => normalized_uri(v.as_bytes()),
                    Field::Headers => v.replace(AGG, "").into_bytes(),
                    _ => v.as_bytes().to_vec(),
                };
                m.insert(f, v);
            }
            (cols[0].to_owned(), m)
        })
        .collect()
}

#[test]
fn normalization_as_suricatas_http_library_does() {
    let n = |s: &str| String::from_utf8(normalized_uri(s.as_bytes())).unwrap();
    assert_eq!(
        n("/cgi-bin/status.cgi&q=../../etc/passwd"),
        "/cgi-bin/etc/passwd"
    );
    assert_eq!(
        n("/trend/data?id=1&q=../../etc/passwd"),
        "/trend/data?id=1&q=../../etc/passwd"
    );
    assert_eq!(n("/a/%2e%2e/b"), "/b");
    assert_eq!(n("/a/b/.."), "/a/");
}

#[test]
fn bench_http_rules_alert_as_tshark_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let pcap = tmp.path().join("bench.pcap");
    let gen = Command::new("python3")
        .arg(root().join("../shared/bench/gen_modbus_pcap.py"))
        .args(["-n", "30000", "--seed", "1", "-o"])
        .arg(&pcap)
        .output()
        .expect("python3 runs the bench generator");
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let rules_path = root().join("../shared/bench/ics.rules");
    let rules = http_rules(&std::fs::read_to_string(&rules_path).unwrap());
    assert_eq!(rules.len(), 105, "the bench's HTTP rules");

    let r = replay_with(
        &[pcap.as_path()],
        &root().join("tests/conformance.toml"),
        &[OsStr::new("--rules"), rules_path.as_os_str()],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("rules: 303 loaded from 1 file(s), 0 failed"),
        "{}",
        r.stderr
    );
    let mut got: BTreeMap<u64, usize> = BTreeMap::new();
    for e in r.events.iter().filter(|e| e["event_type"] == "alert") {
        *got.entry(e["alert"]["signature_id"].as_u64().unwrap())
            .or_default() += 1;
    }
    let requests = frames(&pcap, false);
    let responses = frames(&pcap, true);
    assert!(requests.len() > 500 && responses.len() > 500);
    let mut wrong = Vec::new();
    let mut firing = 0;
    for rule in &rules {
        let side = if rule.response() {
            &responses
        } else {
            &requests
        };
        let sources: Vec<&String> = side
            .iter()
            .filter(|(_, f)| rule.matches(f))
            .map(|(src, _)| src)
            .collect();
        let want = if rule.per_source {
            sources.iter().collect::<BTreeSet<_>>().len()
        } else {
            sources.len()
        };
        let have = got.get(&rule.sid).copied().unwrap_or(0);
        firing += usize::from(want > 0);
        if want != have {
            wrong.push(format!(
                "{}: {have} alerts, tshark's frames {want}",
                rule.sid
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(
        firing >= 15,
        "only {firing} HTTP rules fire: the test would prove little"
    );
}
