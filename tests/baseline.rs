//! Anomaly baselines end to end, through the `sensor` binary: learned on one recording of the
//! plant in `pcaps/`, a second recording made apart raises no anomaly, and the attack capture
//! raises an alert naming the intruder and the fact it broke for every step of
//! `pcaps/baseline_attack.steps.tsv`. Learning is incremental, the inventory and diff tools
//! tell what was learned, an engineer's edit takes effect, and a bad file is refused by place.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use icsight_tests::{replay_with, root, sensor_bin, shared_pcaps};
use serde_json::Value;

fn pcap(name: &str) -> PathBuf {
    root().join("pcaps").join(name)
}

fn sensor(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(sensor_bin())
        .args(args)
        .output()
        .expect("run sensor")
}

/// `sensor learn` of `inputs` into `out` (learned into when it exists).
fn learn(inputs: &[PathBuf], out: &Path) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["learn".as_ref(), "--no-progress".as_ref()];
    args.extend(inputs.iter().map(|p| p.as_os_str()));
    args.extend(["--out".as_ref(), out.as_os_str()]);
    let o = sensor(&args);
    assert!(
        o.status.success(),
        "sensor learn failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn config() -> PathBuf {
    root().join("sensor.toml")
}

/// The anomaly alerts of replaying `capture` against `baseline`.
fn anomalies(capture: &Path, baseline: &Path) -> Vec<Value> {
    let r = replay_with(
        &[capture],
        &config(),
        &["--baseline".as_ref(), baseline.as_os_str()],
    );
    assert_eq!(r.status, 0, "{}", r.stderr);
    r.events
        .into_iter()
        .filter(|e| e["event_type"] == "alert" && e["anomaly"]["type"] == "baseline")
        .collect()
}

fn learned_a(dir: &Path) -> PathBuf {
    let out = dir.join("a.json");
    learn(&[pcap("baseline_normal_a.pcap")], &out);
    out
}

#[test]
fn a_second_normal_recording_raises_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = learned_a(dir.path());
    let found = anomalies(&pcap("baseline_normal_b.pcap"), &a);
    assert!(
        found.is_empty(),
        "normal B raised {} anomalies, first: {}",
        found.len(),
        found[0]
    );
}

/// Whether `alert` is what step `what` should raise: the baseline fact broken, and the
/// observed value that shows it.
fn shows_step(what: &str, alert: &Value) -> bool {
    let a = &alert["anomaly"];
    let (fact, observed) = (a["fact"].as_str().unwrap_or(""), &a["observed"]);
    match what {
        "device_identification" => fact == "modbus.function" && observed == 43,
        "register_sweep" => {
            (fact == "modbus.function" && observed == 3) || fact == "modbus.address"
        }
        "write_registers" => fact == "modbus.function" && observed == 16,
        "write_coils" => fact == "modbus.function" && (observed == 15 || observed == 5),
        "write_db" => fact == "s7comm.function" && observed == 5,
        "write_flags" => fact == "s7comm.area" && observed == "flags",
        "write_outputs" => fact == "s7comm.area" && observed == "outputs",
        "plc_stop" => fact == "s7comm.function" && observed == 0x29,
        other => panic!("step {other} has no expected fact"),
    }
}

#[test]
fn every_attack_step_is_reported_with_its_host_and_fact() {
    let dir = tempfile::tempdir().unwrap();
    let a = learned_a(dir.path());
    let found = anomalies(&pcap("baseline_attack.pcap"), &a);
    let steps = std::fs::read_to_string(pcap("baseline_attack.steps.tsv")).unwrap();
    let mut lines = steps.lines();
    assert_eq!(lines.next(), Some("step\tsrc_ip\tdst_ip\tprotocol\twhat"));
    let mut last_time = String::new();
    let mut steps_seen = 0;
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        let (src, dst, proto, what) = (f[1], f[2], f[3], f[4]);
        let hit = found
            .iter()
            .find(|e| {
                let a = &e["anomaly"];
                a["host"] == src
                    && a["client"] == src
                    && a["server"] == dst
                    && a["protocol"] == proto
                    && shows_step(what, e)
            })
            .unwrap_or_else(|| panic!("no anomaly for step {line}; got {found:#?}"));
        // Steps happen in order, so do their first alerts.
        let t = hit["timestamp"].as_str().unwrap().to_owned();
        assert!(
            t >= last_time,
            "step {what} reported before the step before it"
        );
        last_time = t;
        steps_seen += 1;
    }
    assert_eq!(steps_seen, 8);
    let kinds = |k: &str| found.iter().filter(|e| e["anomaly"]["event"] == k).count();
    assert_eq!(kinds("new_asset"), 1, "the intruder is one new asset");
    assert_eq!(kinds("new_pair"), 2, "it talks to both PLCs");
    assert!(kinds("read_only_host_writes") >= 1 && kinds("plc_control") == 1);
    // Its writes show in the HMI's later reads: values the PLC never had while learning.
    let overwritten = found
        .iter()
        .filter(|e| e["anomaly"]["event"] == "value_outside_envelope")
        .filter(|e| e["anomaly"]["host"] == "127.0.0.10" && e["anomaly"]["observed"] == 9999.0)
        .filter(|e| e["modbus"]["request"]["read"]["address"] == 0)
        .count();
    assert_eq!(
        overwritten, 4,
        "HR0-3 := 9999, read back by the HMI, each once"
    );
    for e in &found {
        let s = e["alert"]["signature_id"].as_u64().unwrap();
        assert!((9_300_001..=9_300_014).contains(&s), "{e}");
        let t = e["alert"]["metadata"]["mitre_attack_ics"][0]
            .as_str()
            .unwrap();
        assert!(t.starts_with("T0"), "{e}");
        assert!(e["anomaly"]["message"].as_str().unwrap().len() > 10);
    }
}

#[test]
fn the_inventory_tells_roles_protocols_and_identity() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("attack.json");
    learn(&[pcap("baseline_attack.pcap")], &out);
    let o = sensor(&["assets".as_ref(), out.as_os_str(), "--json".as_ref()]);
    assert!(o.status.success());
    let assets: Vec<Value> = serde_json::from_slice(&o.stdout).unwrap();
    let by_ip = |ip: &str| assets.iter().find(|a| a["ip"] == ip).unwrap().clone();
    assert_eq!(assets.len(), 4);
    assert_eq!(by_ip("127.0.0.5")["roles"], serde_json::json!(["hmi"]));
    assert_eq!(by_ip("127.0.0.10")["serves"], serde_json::json!(["modbus"]));
    assert_eq!(
        by_ip("127.0.0.20")["roles"],
        serde_json::json!(["outstation"])
    );
    let intruder = by_ip("127.0.0.66");
    assert_eq!(
        intruder["roles"],
        serde_json::json!(["engineering_station", "hmi"]),
        "it stopped a PLC and wrote values"
    );
    // Answered to the intruder's read device identification.
    let id = &by_ip("127.0.0.10")["identity"];
    assert_eq!(id["vendor"], "icsight-plant");
    assert_eq!(id["product"], "TFC-200");
    assert_eq!(id["firmware"], "2.4.1");
    let table = sensor(&["assets".as_ref(), out.as_os_str()]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("IP "), "{text}");
    assert!(text.contains("engineering_station,hmi"), "{text}");
    assert!(text.contains("icsight-plant TFC-200"), "{text}");
}

#[test]
fn learning_is_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let (both, stepwise) = (dir.path().join("both.json"), dir.path().join("step.json"));
    let (a, b) = (
        pcap("baseline_normal_a.pcap"),
        pcap("baseline_normal_b.pcap"),
    );
    learn(&[a.clone(), b.clone()], &both);
    learn(std::slice::from_ref(&a), &stepwise);
    learn(std::slice::from_ref(&b), &stepwise);
    let read = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    // Equal but for the last bits of the running spreads, which a file stores as a standard
    // deviation and merges back through its square.
    assert_close(&read(&both), &read(&stepwise), "$");
    let learned = read(&both);
    assert_eq!(learned["learned"]["sources"].as_array().unwrap().len(), 2);
    assert!(learned["learned"]["seconds"].as_f64().unwrap() > 290.0);
}

fn assert_close(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                assert_close(v, &y[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                assert_close(v, w, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{at}: {x} != {y}");
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

#[test]
fn diff_names_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let a = learned_a(dir.path());
    let more = dir.path().join("more.json");
    std::fs::copy(&a, &more).unwrap();
    learn(&[pcap("baseline_attack.pcap")], &more);
    let o = sensor(&[
        "baseline".as_ref(),
        "diff".as_ref(),
        a.as_os_str(),
        more.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(1), "baselines differ");
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("+ pairs[127.0.0.66 -> 127.0.0.10]"), "{text}");
    assert!(text.contains("+ assets[127.0.0.66]"), "{text}");
    let same = sensor(&[
        "baseline".as_ref(),
        "diff".as_ref(),
        a.as_os_str(),
        a.as_os_str(),
    ]);
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty());
}

/// The HMI↔Modbus PLC pair of a baseline, to edit.
fn edit(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut b: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut b);
    std::fs::write(path, serde_json::to_vec_pretty(&b).unwrap()).unwrap();
}

fn modbus_pair(b: &mut Value) -> &mut Value {
    b["pairs"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["server"] == "127.0.0.10")
        .unwrap()
}

#[test]
fn an_edit_changes_what_is_normal() {
    let dir = tempfile::tempdir().unwrap();
    let a = learned_a(dir.path());
    // Narrow the holding registers read to 0-4: the HMI's reads of 0-9 now leave the range.
    edit(&a, |b| {
        modbus_pair(b)["modbus"]["units"][0]["holding_registers"]["read"] =
            serde_json::json!([[0, 4]]);
    });
    let found = anomalies(&pcap("baseline_normal_b.pcap"), &a);
    assert_eq!(found.len(), 1, "reported once: {found:#?}");
    assert_eq!(found[0]["anomaly"]["fact"], "modbus.address");
    assert_eq!(found[0]["anomaly"]["observed"], serde_json::json!([0, 9]));
    assert_eq!(found[0]["anomaly"]["learned"], serde_json::json!([[0, 4]]));
}

/// A file name, the edit that breaks it, and what the error must say.
type Case = (&'static str, fn(&mut Value), &'static str);

#[test]
fn a_bad_baseline_is_refused_by_place() {
    let dir = tempfile::tempdir().unwrap();
    let a = learned_a(dir.path());
    let check = |p: &Path| {
        let o = sensor(&["baseline".as_ref(), "check".as_ref(), p.as_os_str()]);
        (o.status.code(), String::from_utf8(o.stderr).unwrap())
    };
    assert_eq!(check(&a).0, Some(0));
    let cases: [Case; 4] = [
        (
            "reversed.json",
            |b| modbus_pair(b)["modbus"]["units"][0]["coils"]["read"] = serde_json::json!([[9, 2]]),
            "pairs[0].modbus.units[0].coils.read: range [9, 2] ends before it starts",
        ),
        (
            "typo.json",
            |b| modbus_pair(b)["modbus"]["functons"] = serde_json::json!([3]),
            "unknown field `functons`",
        ),
        (
            "version.json",
            |b| b["version"] = serde_json::json!(7),
            "version: version 7 is not one this sensor reads",
        ),
        (
            "mac.json",
            |b| b["assets"][0]["macs"] = serde_json::json!(["00:11:22"]),
            "assets[0].macs[0]",
        ),
    ];
    for (name, f, expected) in cases {
        let p = dir.path().join(name);
        std::fs::copy(&a, &p).unwrap();
        edit(&p, f);
        let (code, err) = check(&p);
        assert_eq!(code, Some(1), "{name}");
        assert!(
            err.contains(name) && err.contains(expected),
            "{name}: {err}"
        );
        // Replay refuses it too, naming the same place, and writes nothing.
        let r = replay_with(
            &[&pcap("baseline_normal_b.pcap")],
            &config(),
            &["--baseline".as_ref(), p.as_os_str()],
        );
        assert_eq!(r.status, 2, "{name}");
        assert!(r.stderr.contains(expected), "{name}: {}", r.stderr);
    }
}

/// IEC 104: learned on a SCADA master's interrogations and spontaneous data, the baseline
/// names each command by the host that sent it — the known master's first single command,
/// and the intruder's new pair, commands, set-points, clock sync, reset and its probe of an
/// unknown station — and says nothing of the same routine traffic replayed.
#[test]
fn iec104_commands_are_reported_with_their_sources() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("iec104.json");
    learn(&[pcap("iec104_c104.pcap")], &base);
    let again = anomalies(&pcap("iec104_c104.pcap"), &base);
    assert!(again.is_empty(), "{again:#?}");
    let found = anomalies(&pcap("iec104_attack.pcap"), &base);
    let facts: Vec<(String, String, String)> = found
        .iter()
        .map(|a| {
            (
                a["src_ip"].as_str().unwrap_or("").to_owned(),
                a["anomaly"]["fact"].as_str().unwrap_or("").to_owned(),
                a["anomaly"]["observed"].to_string(),
            )
        })
        .collect();
    let has = |src: &str, fact: &str, observed: &str| {
        facts
            .iter()
            .any(|(s, f, o)| s == src && f == fact && o == observed)
    };
    for (src, fact, observed) in [
        ("127.0.0.5", "iec104.type", "45"),
        ("127.0.0.66", "iec104.type", "45"),
        ("127.0.0.66", "iec104.type", "46"),
        ("127.0.0.66", "iec104.type", "48"),
        ("127.0.0.66", "iec104.type", "49"),
        ("127.0.0.66", "iec104.type", "50"),
        ("127.0.0.66", "iec104.type", "103"),
        ("127.0.0.66", "iec104.type", "105"),
        ("127.0.0.66", "iec104.common_address", "99"),
    ] {
        assert!(
            has(src, fact, observed),
            "{src} {fact} {observed} not in {facts:#?}"
        );
    }
    let control = found
        .iter()
        .filter(|a| a["src_ip"] == "127.0.0.66" && a["anomaly"]["event"] == "plc_control")
        .count();
    // Single and double commands, clock synchronisation, reset process.
    assert_eq!(control, 4, "{facts:#?}");
    assert!(found
        .iter()
        .any(|a| a["src_ip"] == "127.0.0.66" && a["anomaly"]["event"] == "new_pair"));
}

/// EtherNet/IP: learned on an HMI's session with a Logix-like controller (identity reads,
/// Forward Opens, tag reads and writes), the baseline knows the controller's identity and
/// names the intruder's CIP services it never saw — Set Attribute Single, the Identity
/// object's Reset, the non-volatile storage update — its Forward Open through another route,
/// and the tags it writes.
#[test]
fn enip_services_tags_and_targets_are_learned() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("enip.json");
    learn(&[pcap("enip_cpppo.pcap")], &base);
    let learned: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let plc = learned["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ip"] == "127.0.0.10")
        .expect("the controller is an asset");
    assert_eq!(plc["identity"]["product"], "1756-L61/B LOGIX5561", "{plc}");
    assert_eq!(plc["identity"]["firmware"], "20.11");
    let again = anomalies(&pcap("enip_cpppo.pcap"), &base);
    assert!(again.is_empty(), "{again:#?}");
    let found = anomalies(&pcap("enip_attack.pcap"), &base);
    let facts: Vec<(String, String)> = found
        .iter()
        .filter(|a| a["src_ip"] == "127.0.0.66")
        .map(|a| {
            (
                a["anomaly"]["fact"].as_str().unwrap_or("").to_owned(),
                a["anomaly"]["observed"].to_string(),
            )
        })
        .collect();
    let has = |fact: &str, observed: &str| facts.iter().any(|(f, o)| f == fact && o == observed);
    // class * 256 + service: Set Attribute Single on Identity and TCP/IP Interface, Reset of
    // Identity, service 0x4b on Non-Volatile Storage.
    for (fact, observed) in [
        ("enip.service", "272"),
        ("enip.service", "62736"),
        ("enip.service", "261"),
        ("enip.service", "41291"),
        (
            "enip.forward_open_target",
            "\"port 1 link 3 class 2 instance 1\"",
        ),
    ] {
        assert!(has(fact, observed), "{fact} {observed} not in {facts:#?}");
    }
    assert!(
        facts.iter().any(|(f, _)| f == "enip.tag"),
        "no tag finding in {facts:#?}"
    );
}

/// OPC UA: learned on the HMI's session as "operator" (browse, read, write, call, a
/// subscription), the baseline knows the server's application description and, on the
/// intruder's connection, names its guessed user logins, the anonymous session, the Write
/// and the method Call, and the nodes written and called.
#[test]
fn opcua_identities_services_and_nodes_are_learned() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("opcua.json");
    learn(&[pcap("opcua_asyncua_nodeopcua.pcap")], &base);
    let learned: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let server = learned["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ip"] == "127.0.0.10")
        .expect("the server is an asset");
    assert_eq!(
        server["identity"]["application_uri"], "urn:icsight:plant:server",
        "{server}"
    );
    let pair = &learned["pairs"][0]["opcua"];
    assert_eq!(pair["identities"], serde_json::json!([1]), "{pair}");
    assert_eq!(pair["users"], serde_json::json!(["operator"]));
    assert_eq!(pair["policies"], serde_json::json!(["None"]));
    let again = anomalies(&pcap("opcua_asyncua_nodeopcua.pcap"), &base);
    assert!(again.is_empty(), "{again:#?}");
    // The encrypted session teaches nothing new but that the pair opened a secured channel.
    let secured = anomalies(&pcap("opcua_encrypted.pcap"), &base);
    let secured: Vec<&str> = secured
        .iter()
        .map(|a| a["anomaly"]["fact"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(secured, ["opcua.security_policy"], "{secured:#?}");

    let found = anomalies(&pcap("opcua_attack.pcap"), &base);
    let facts: Vec<(String, String, String)> = found
        .iter()
        .filter(|a| a["src_ip"] == "127.0.0.66")
        .map(|a| {
            (
                a["anomaly"]["event"].as_str().unwrap_or("").to_owned(),
                a["anomaly"]["fact"].as_str().unwrap_or("").to_owned(),
                a["anomaly"]["observed"].to_string(),
            )
        })
        .collect();
    let has = |event: &str, fact: &str, observed: &str| {
        facts
            .iter()
            .any(|(e, f, o)| (event.is_empty() || e == event) && f == fact && o == observed)
    };
    for (event, fact, observed) in [
        ("new_pair", "pair", "[\"127.0.0.66\",\"127.0.0.10\"]"),
        ("", "opcua.identity", "0"),
        ("", "opcua.user", "\"operator\""),
        ("", "opcua.service", "673"),
        ("plc_control", "opcua.service", "712"),
    ] {
        assert!(
            has(event, fact, observed),
            "{event} {fact} {observed} not in {facts:#?}"
        );
    }
}

/// MMS: learned on the HMI's sessions (name lists, attributes, reads, files, a data set, the
/// report control blocks), the baseline raises nothing on the same recording, and on the
/// intruder's associations names each MMS step of `pcaps/iec61850_attack.steps.tsv` by the
/// service or the functional constraint it wrote. The HMI's polling there raises nothing.
#[test]
fn mms_services_objects_and_written_constraints_are_learned() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("mms.json");
    learn(&[pcap("iec61850_mms.pcap")], &base);
    let learned: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let pair = &learned["pairs"][0]["mms"];
    assert_eq!(pair["written"], serde_json::json!(["RP", "BR"]), "{pair}");
    let objects = pair["objects"].as_array().unwrap();
    assert!(
        objects
            .iter()
            .any(|o| o["id"] == "PlantLDLD0/GGIO1$MX$AnIn1$mag$f"),
        "{pair}"
    );
    // The measured values the HMI read are enveloped under the objects its reads named.
    let anin1 = objects
        .iter()
        .position(|o| o["id"] == "PlantLDLD0/GGIO1$MX$AnIn1$mag$f")
        .unwrap();
    assert!(
        pair["values"][anin1.to_string()]["max"].is_number(),
        "{pair}"
    );
    let again = anomalies(&pcap("iec61850_mms.pcap"), &base);
    assert!(again.is_empty(), "{again:#?}");

    let found = anomalies(&pcap("iec61850_attack.pcap"), &base);
    assert!(
        found.iter().all(|a| a["src_ip"] == "127.0.0.66"),
        "{found:#?}"
    );
    let facts: Vec<(String, String)> = found
        .iter()
        .map(|a| {
            (
                a["anomaly"]["event"].as_str().unwrap_or("").to_owned(),
                format!(
                    "{} {}",
                    a["anomaly"]["fact"].as_str().unwrap_or(""),
                    a["anomaly"]["observed"]
                ),
            )
        })
        .collect();
    let steps = std::fs::read_to_string(pcap("iec61850_attack.steps.tsv")).unwrap();
    let mut checked = 0;
    for line in steps.lines().skip(1) {
        let what = line.split('\t').nth(5).unwrap();
        let (event, fact) = match what {
            "recon_name_lists" => ("new_function", "mms.service 1"),
            "recon_attributes" => ("new_function", "mms.service 6"),
            "read_gocb" => ("new_function", "mms.service 4"),
            "file_directory" => ("new_function", "mms.service 77"),
            "control_operate" => ("plc_control", "mms.service 5"),
            "setting_write" => ("programming", "mms.fc_write \"SP\""),
            "config_write" => ("programming", "mms.fc_write \"CF\""),
            "file_delete" => ("programming", "mms.service 76"),
            // GOOSE is not a client's request: the publisher follower reports it.
            w if w.starts_with("goose_") => continue,
            w => panic!("step {w} has no expected fact"),
        };
        assert!(
            facts.iter().any(|(e, f)| e == event && f == fact),
            "step {what}: {event} {fact} not in {facts:#?}"
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
}

/// An MMS server's identify response is its identity in the inventory.
#[test]
fn mms_identify_names_the_server() {
    let capture = shared_pcaps().join("iec61850/ITI-ICS-Security-Tools/IEC61850/piccolo.pcap");
    if !capture.exists() {
        eprintln!("{}: not in the corpus here, skipped", capture.display());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("piccolo.json");
    learn(&[capture], &base);
    let learned: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let server = learned["assets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["ip"] == "10.10.0.30")
        .expect("the server is an asset");
    let id = &server["identity"];
    assert_eq!(
        (&id["vendor"], &id["model"], &id["firmware"]),
        (
            &Value::from("INFO TECH"),
            &Value::from("S61850 for PC"),
            &Value::from("0.0.1")
        ),
        "{server}"
    );
}
