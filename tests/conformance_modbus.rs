//! Modbus/TCP against its oracles.
//!
//! * Counts: on every Modbus capture of the public corpus (manifest rows whose tshark column
//!   shows `mbtcp=` or `modbus=`) and of the project's `pcaps/`, the requests and responses per
//!   function code in the sensor's `modbus` events, exceptions apart, equal what tshark
//!   dissects. tshark calls the side on the Modbus port (502, or 5020 for the off-port capture
//!   with `-d tcp.port==5020,mbtcp` and `-o mbtcp.tcp.port:5020`, without which tshark frames
//!   the PDUs but cannot tell requests from responses) the server; a frame's PDUs are requests when it goes to
//!   that port, responses when it comes from it. Differences are listed in [`KNOWN`], each with
//!   why tshark is the one that is wrong, and the test checks they are the only ones and still
//!   occur.
//! * suricata-verify's `modbus` test, replayed with its rules: every filter passes, on `modbus`
//!   events and on alerts (counts per sid, and the transaction each alert carries).
//! * Fields: on the project's captures and three of the corpus (all function codes between
//!   them, MEI device identification among them), every value tshark shows for a PDU's address,
//!   quantity, register and coil values, masks, byte count, exception code and MEI fields
//!   equals the one in the sensor's event for that PDU.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use icsight_tests::verify::VerifyTest;
use icsight_tests::{manifest_captures, replay, replay_with, root, shared_pcaps, tshark_fields};
use serde_json::Value;

/// One Modbus capture and how tshark must be told about it.
struct Capture {
    path: PathBuf,
    /// The server's port.
    port: u16,
    /// Extra tshark arguments (decode-as).
    extra: &'static [&'static str],
}

fn captures() -> Vec<Capture> {
    let mut out: Vec<Capture> = manifest_captures(&["mbtcp=", "modbus="])
        .into_iter()
        .map(|path| Capture {
            path,
            port: 502,
            extra: &[],
        })
        .collect();
    let own = root().join("pcaps");
    out.push(Capture {
        path: own.join("modbus_pymodbus_libmodbus.pcap"),
        port: 502,
        extra: &[],
    });
    out.push(Capture {
        path: own.join("modbus_pymodbus_offport.pcap"),
        port: 5020,
        extra: &["-d", "tcp.port==5020,mbtcp", "-o", "mbtcp.tcp.port:5020"],
    });
    out
}

/// Request or response, function code without the exception bit, exception bit.
type Key = (&'static str, u8, bool);

fn side_key(side: &'static str, pdu: &Value) -> Key {
    let raw = pdu["function_raw"].as_u64().expect("function_raw") as u8;
    (side, raw & 0x7f, raw & 0x80 != 0)
}

/// Requests and responses per function code in the sensor's events.
fn our_counts(events: &[Value]) -> BTreeMap<Key, u64> {
    let mut n = BTreeMap::new();
    for e in events.iter().filter(|e| e["event_type"] == "modbus") {
        for side in ["request", "response"] {
            if let Some(pdu) = e["modbus"].get(side) {
                *n.entry(side_key(side, pdu)).or_default() += 1;
            }
        }
    }
    n
}

/// Requests and responses per function code as tshark dissects them.
fn tshark_counts(c: &Capture) -> BTreeMap<Key, u64> {
    let rows = tshark_fields(
        &c.path,
        "mbtcp",
        &[
            "frame.number",
            "tcp.srcport",
            "tcp.dstport",
            "modbus.func_code",
            "modbus.exception_code",
        ],
        c.extra,
    );
    let mut n = BTreeMap::new();
    for row in rows {
        let [frame, src, dst, fcs, exc] = &row[..] else {
            panic!("{}: odd tshark row {row:?}", c.path.display())
        };
        let port = c.port.to_string();
        let side = if src.contains(&port) && !dst.contains(&port) {
            "response"
        } else if dst.contains(&port) && !src.contains(&port) {
            "request"
        } else {
            panic!("{}: frame {frame:?}: no side on {port}", c.path.display())
        };
        let fcs: Vec<u8> = fcs.iter().map(|f| f.parse().expect("func_code")).collect();
        // A frame's exception codes belong to its exception PDUs; where a frame mixes function
        // codes and exceptions, which PDU is which cannot be told from the fields.
        let mut exceptions = exc.len();
        assert!(
            exceptions == 0 || fcs.iter().all(|f| Some(f) == fcs.first()),
            "{}: frame {frame:?} mixes functions {fcs:?} with exceptions",
            c.path.display()
        );
        for fc in fcs {
            let is_exc = exceptions > 0;
            exceptions = exceptions.saturating_sub(1);
            *n.entry((side, fc, is_exc)).or_default() += 1;
        }
    }
    n
}

/// A difference from tshark that is tshark's fault: capture (path suffix), request or
/// response, function code, exception bit, our count, tshark's count, and why.
type Known = (&'static str, Key, u64, u64, &'static str);

const KNOWN: &[Known] = &[
    // Each of these is a PDU whose bytes the capture holds only in a frame that tshark's TCP
    // analysis marks "(suspected) retransmission" — because the frame begins at a sequence
    // number already seen and carries more, or because the peer had acknowledged bytes whose
    // first copy the capture lacks ("spurious retransmission"). tshark hands no frame it marks
    // so to the Modbus dissector, so it never counts these PDUs, although their bytes were
    // never delivered before; the sensor's reassembly keeps the first copy of every byte and
    // frames them (and the peer's answer to them, which tshark does count, shows they were
    // real). Checked frame by frame with `tshark -T fields -e tcp.seq -e tcp.len
    // -e _ws.expert.message -e tcp.payload`.
    (
        "mb2.pcap",
        ("request", 4, false),
        588,
        584,
        "port 60689: frame 1131 re-sends frame 1014's request 0x57e9 and 48 new bytes, \
         requests 0x57ea-0x57ed (answered in frame 3008)",
    ),
    (
        "mb2.pcap",
        ("response", 4, false),
        587,
        585,
        "port 60689: response 0x57e9 only in frame 3674 (retransmission); port 64338: frame \
         13176 re-sends frame 13142 plus 30 new bytes, responses 0x2660 (FC 4) and 0x2661",
    ),
    (
        "mb2.pcap",
        ("response", 2, false),
        362,
        361,
        "port 64338: response 0x2661 in the 30 new bytes of frame 13176",
    ),
    (
        "Advantech.pcap",
        ("response", 2, false),
        33,
        31,
        "responses 0x7e00 (frame 245, port 43387) and 0x8200 (frame 269, port 58881): \
         spurious retransmissions whose first copy is not in the capture",
    ),
    (
        "Advantech.pcap",
        ("response", 3, false),
        62,
        61,
        "response 0x6600 (frame 127, port 43387): spurious retransmission, first copy not captured",
    ),
    (
        "Modicon.pcap",
        ("request", 3, false),
        170,
        168,
        "requests in frames 651 and 4173 (port 49165): spurious retransmissions whose first \
         copy is not in the capture",
    ),
    (
        "modbusBig.pcap",
        ("response", 1, false),
        1388,
        1387,
        "response 0xc4ce (frame 3150, port 49226): spurious retransmission, first copy not \
         captured",
    ),
    // fuzz-72.pcap is Zeek's fuzzed trace: sequence numbers are scrambled, so tshark marks
    // frames as retransmissions whose bytes it never dissected before.
    (
        "fuzz-72.pcap",
        ("request", 53, false),
        1,
        0,
        "frame 23 (spurious retransmission)",
    ),
    (
        "fuzz-72.pcap",
        ("response", 47, true),
        1,
        0,
        "frame 19 (retransmission)",
    ),
    (
        "fuzz-72.pcap",
        ("response", 51, true),
        1,
        0,
        "frame 21 (retransmission)",
    ),
    (
        "fuzz-72.pcap",
        ("response", 54, true),
        1,
        0,
        "frame 25 (spurious retransmission)",
    ),
    (
        "fuzz-72.pcap",
        ("response", 58, true),
        1,
        0,
        "frame 26 (retransmission)",
    ),
    (
        "fuzz-72.pcap",
        ("response", 59, true),
        1,
        0,
        "frame 27 (retransmission)",
    ),
    (
        "fuzz-72.pcap",
        ("response", 66, true),
        1,
        0,
        "frame 32 (retransmission)",
    ),
];

#[test]
fn function_code_counts_equal_tshark() {
    let caps = captures();
    assert!(caps.len() >= 30, "only {} Modbus captures", caps.len());
    let config = root().join("tests/conformance.toml");
    let queue = Mutex::new(caps.iter());
    let diffs = Mutex::new(Vec::new());
    // (PDUs counted alike, tshark's PDUs, ours)
    let totals = Mutex::new((0u64, 0u64, 0u64));
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(c) = queue.lock().unwrap().next() else {
                    break;
                };
                let r = replay(&[c.path.as_path()], &config);
                assert_eq!(r.status, 0, "{}: {}", c.path.display(), r.stderr);
                let ours = our_counts(&r.events);
                let theirs = tshark_counts(c);
                let mut keys: Vec<Key> = ours.keys().chain(theirs.keys()).copied().collect();
                keys.sort();
                keys.dedup();
                let mut t = totals.lock().unwrap();
                for k in keys {
                    let (a, b) = (
                        ours.get(&k).copied().unwrap_or(0),
                        theirs.get(&k).copied().unwrap_or(0),
                    );
                    t.0 += a.min(b);
                    t.1 += b;
                    t.2 += a;
                    if a != b {
                        diffs
                            .lock()
                            .unwrap()
                            .push((c.path.display().to_string(), k, a, b));
                    }
                }
            });
        }
    });
    let diffs = diffs.into_inner().unwrap();
    let (matched, tshark_total, ours_total) = totals.into_inner().unwrap();
    let unexplained: Vec<_> = diffs
        .iter()
        .filter(|(p, k, a, b)| {
            !KNOWN
                .iter()
                .any(|(kp, kk, ka, kb, _)| p.ends_with(kp) && k == kk && a == ka && b == kb)
        })
        .collect();
    let vanished: Vec<_> = KNOWN
        .iter()
        .filter(|(kp, kk, ka, kb, _)| {
            !diffs
                .iter()
                .any(|(p, k, a, b)| p.ends_with(kp) && k == kk && a == ka && b == kb)
        })
        .collect();
    let show = |d: &[&(String, Key, u64, u64)]| {
        d.iter()
            .map(|(p, (side, fc, exc), a, b)| {
                format!("{p}: {side} fc {fc} exception {exc}: ours {a}, tshark {b}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        unexplained.is_empty(),
        "{} differences from tshark:\n{}",
        unexplained.len(),
        show(&unexplained)
    );
    assert!(
        vanished.is_empty(),
        "listed differences no longer occur: {vanished:?}"
    );
    eprintln!(
        "{} captures: {matched} PDUs counted alike per function code (tshark {tshark_total}, \
         ours {ours_total}); {} known differences",
        caps.len(),
        KNOWN.len()
    );
}

#[test]
fn suricata_verify_modbus_events_and_alerts() {
    let dir = shared_pcaps().join("modbus/suricata-verify/modbus");
    let test = VerifyTest::load(&dir);
    let pcap = test.pcap().expect("the test's capture");
    let r = replay_with(
        &[pcap.as_path()],
        &root().join("tests/conformance.toml"),
        &[OsStr::new("--rules"), dir.as_os_str()],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    let checks = test.check(&r.events);
    let alerts = checks
        .iter()
        .filter(|c| c.event_type() == Some("alert"))
        .count();
    assert!(checks.len() >= 10 && alerts >= 8, "{checks:?}");
    for c in &checks {
        assert!(
            c.passed(),
            "filter {} {}: expected {:?}, got {}",
            c.index,
            c.matcher,
            c.expected,
            c.actual
        );
    }
    eprintln!(
        "{}: all {} filters pass, {alerts} of them on alerts",
        dir.display(),
        checks.len()
    );
}

/// A tshark field, and how to read the same value from one side of our event.
struct Field {
    name: &'static str,
    ours: fn(&Value, u8) -> Vec<String>,
}

fn num(v: &Value) -> Vec<String> {
    v.as_u64().map(|n| n.to_string()).into_iter().collect()
}

fn list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::Bool(b) => u8::from(*b).to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn hex16(v: &Value) -> Vec<String> {
    v.as_u64()
        .map(|n| format!("0x{n:04x}"))
        .into_iter()
        .collect()
}

const BIT_FUNCTIONS: [u8; 3] = [1, 2, 15];

/// The address and quantity of a read or write, whichever the PDU has (FC 23 aside).
fn rw(p: &Value, fc: u8) -> &Value {
    if fc == 23 {
        return &Value::Null;
    }
    p.get("read")
        .or_else(|| p.get("write"))
        .unwrap_or(&Value::Null)
}

const FIELDS: &[Field] = &[
    Field {
        name: "modbus.reference_num",
        ours: |p, fc| {
            let mut v = num(&rw(p, fc)["address"]);
            v.extend(num(&p["fifo"]["address"]));
            v
        },
    },
    Field {
        name: "modbus.word_cnt",
        ours: |p, fc| {
            let q = &rw(p, fc)["quantity"];
            match (BIT_FUNCTIONS.contains(&fc), q.is_null()) {
                (false, false) => num(q),
                // FC 16 responses echo the quantity as `write.data`.
                (false, true) if fc == 16 => num(&p["write"]["data"]),
                // FC 24 responses: the FIFO count.
                (false, true) if fc == 24 => num(&p["fifo"]["fifo_count"]),
                _ => vec![],
            }
        },
    },
    Field {
        name: "modbus.bit_cnt",
        ours: |p, fc| {
            let q = &rw(p, fc)["quantity"];
            match (BIT_FUNCTIONS.contains(&fc), q.is_null()) {
                (true, false) => num(q),
                (true, true) if fc == 15 => num(&p["write"]["data"]),
                _ => vec![],
            }
        },
    },
    Field {
        name: "modbus.regval_uint16",
        ours: |p, fc| {
            if BIT_FUNCTIONS.contains(&fc) {
                return vec![];
            }
            let mut v = list(&p["read"]["values"]);
            v.extend(list(&p["write"]["values"]));
            v.extend(list(&p["fifo"]["values"]));
            v
        },
    },
    Field {
        name: "modbus.bitval",
        ours: |p, _| list(&p["read"]["values"]),
    },
    Field {
        name: "modbus.byte_cnt",
        ours: |p, _| {
            let mut v = num(&p["read"]["byte_count"]);
            v.extend(num(&p["write"]["byte_count"]));
            v.extend(num(&p["byte_count"]));
            v
        },
    },
    Field {
        name: "modbus.and_mask",
        ours: |p, _| hex16(&p["write"]["and_mask"]),
    },
    Field {
        name: "modbus.or_mask",
        ours: |p, _| hex16(&p["write"]["or_mask"]),
    },
    Field {
        name: "modbus.read_reference_num",
        ours: |p, _| num(&p["read"]["address"]),
    },
    Field {
        name: "modbus.read_word_cnt",
        ours: |p, _| num(&p["read"]["quantity"]),
    },
    Field {
        name: "modbus.write_reference_num",
        ours: |p, _| num(&p["write"]["address"]),
    },
    Field {
        name: "modbus.write_word_cnt",
        ours: |p, _| num(&p["write"]["quantity"]),
    },
    Field {
        name: "modbus.exception_code",
        ours: |p, _| num(&p["exception"]["raw"]),
    },
    Field {
        name: "modbus.mei",
        ours: |p, _| num(&p["mei"]["raw"]),
    },
    Field {
        name: "modbus.read_device_id",
        ours: |p, _| num(&p["mei"]["read_device_id_code"]),
    },
    Field {
        name: "modbus.conformity_level",
        ours: |p, _| {
            let v = &p["mei"]["conformity_level"];
            v.as_u64()
                .map(|n| format!("0x{n:02x}"))
                .into_iter()
                .collect()
        },
    },
    Field {
        name: "modbus.more_follows",
        ours: |p, _| {
            let v = &p["mei"]["more_follows"];
            v.as_u64()
                .map(|n| format!("0x{n:02x}"))
                .into_iter()
                .collect()
        },
    },
    Field {
        name: "modbus.next_object_id",
        ours: |p, _| num(&p["mei"]["next_object_id"]),
    },
    Field {
        name: "modbus.num_objects",
        ours: |p, _| num(&p["mei"]["number_of_objects"]),
    },
    Field {
        name: "modbus.diagnostic_code",
        ours: |p, _| num(&p["diagnostic"]["raw"]),
    },
    Field {
        name: "modbus.object_id",
        ours: |p, _| {
            let mut v = num(&p["mei"]["object_id"]);
            if let Some(objs) = p["mei"]["objects"].as_array() {
                v.extend(objs.iter().flat_map(|o| num(&o["id"])));
            }
            v
        },
    },
];

/// (client port, response, transaction id, unit id, function code without exception bit).
type PduKey = (u16, bool, u16, u8, u8);

fn check_fields(c: &Capture) -> usize {
    let r = replay(&[c.path.as_path()], &root().join("tests/conformance.toml"));
    assert_eq!(r.status, 0, "{}", r.stderr);
    let mut ours: BTreeMap<PduKey, Vec<Value>> = BTreeMap::new();
    for e in r.events.iter().filter(|e| e["event_type"] == "modbus") {
        let port = |k: &str| e[k].as_u64().expect("ports") as u16;
        // The Modbus client is the side off the Modbus port, whoever sent the SYN.
        let client = if port("src_port") == c.port {
            port("dest_port")
        } else {
            port("src_port")
        };
        for (side, resp) in [("request", false), ("response", true)] {
            if let Some(p) = e["modbus"].get(side) {
                let key = (
                    client,
                    resp,
                    p["transaction_id"].as_u64().unwrap() as u16,
                    p["unit_id"].as_u64().unwrap() as u8,
                    p["function_raw"].as_u64().unwrap() as u8 & 0x7f,
                );
                ours.entry(key).or_default().push(p.clone());
            }
        }
    }
    let head = [
        "tcp.srcport",
        "tcp.dstport",
        "mbtcp.trans_id",
        "mbtcp.unit_id",
        "modbus.func_code",
    ];
    let names: Vec<&str> = head
        .iter()
        .copied()
        .chain(FIELDS.iter().map(|f| f.name))
        .collect();
    let rows = tshark_fields(&c.path, "modbus", &names, c.extra);
    let mut compared = 0;
    for row in &rows {
        let one = |i: usize| -> u16 {
            let [v] = &row[i][..] else {
                panic!("{}: {row:?}: not one PDU", c.path.display())
            };
            v.parse().unwrap()
        };
        let (src, dst) = (one(0), one(1));
        let resp = src == c.port;
        let key: PduKey = (
            if resp { dst } else { src },
            resp,
            one(2),
            one(3) as u8,
            one(4) as u8,
        );
        let pdus = ours
            .get(&key)
            .unwrap_or_else(|| panic!("{}: no event for tshark's PDU {key:?}", c.path.display()));
        for (i, f) in FIELDS.iter().enumerate() {
            let theirs = &row[head.len() + i];
            if theirs.is_empty() {
                continue;
            }
            let fc = key.4;
            assert!(
                pdus.iter().any(|p| (f.ours)(p, fc) == *theirs),
                "{}: PDU {key:?}: {} is {theirs:?} for tshark, ours {:?}",
                c.path.display(),
                f.name,
                pdus.iter().map(|p| (f.ours)(p, fc)).collect::<Vec<_>>()
            );
            compared += 1;
        }
    }
    assert!(compared > 0, "{}: no field compared", c.path.display());
    compared
}

#[test]
fn field_values_equal_tshark() {
    let own = root().join("pcaps");
    let caps = [
        Capture {
            path: own.join("modbus_pymodbus_libmodbus.pcap"),
            port: 502,
            extra: &[],
        },
        Capture {
            path: own.join("modbus_pymodbus_offport.pcap"),
            port: 5020,
            extra: &["-d", "tcp.port==5020,mbtcp", "-o", "mbtcp.tcp.port:5020"],
        },
        Capture {
            path: shared_pcaps().join("modbus/suricata-verify/modbus/modbus.pcap"),
            port: 502,
            extra: &[],
        },
        Capture {
            path: shared_pcaps().join("modbus/icsnpp-modbus/traces/modbus_example.pcap"),
            port: 502,
            extra: &[],
        },
        Capture {
            path: shared_pcaps().join("modbus/zeek/Traces/modbus/modbus-eit.pcap"),
            port: 502,
            extra: &[],
        },
    ];
    for c in &caps {
        let n = check_fields(c);
        eprintln!(
            "{}: {n} field values equal tshark's",
            Path::new(&c.path).display()
        );
    }
}
