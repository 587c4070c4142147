//! A bulletin to the end, over two tiers with real collectors, ClickHouse and a sensor: the
//! nation issues it, the plant's sensor loads it and its signature fires; the nation amends it
//! (the sensor replaces the rules: the old sid stops firing, the new one fires; the plant's
//! progress starts again on the new revision and the old one's is kept); then revokes it (the
//! sensor unloads it; nobody acts on it any more). Only the issuing tier changes it; every
//! change is audited.

use std::path::{Path, PathBuf};
use std::time::Duration;

use icsight_tests::cluster::{
    account, account_token as token, below, get_json, import_registry, national, post, replay_with,
    wait_for, Auth, ClickHouse, Collector, SensorSpec,
};
use icsight_tests::root;
use serde_json::{json, Value};

const E1: &str = "91330100MA27XY1235"; // Zhejiang, energy, grade 1

const S1: SensorSpec = SensorSpec {
    id: "zj-e1-s1",
    enterprise_id: E1,
    province: "330000",
    industry: "energy",
    grade: 1,
    auth: Auth::Certificate,
};

const OLD_SID: u64 = 4_100_001;
const NEW_SID: u64 = 4_100_002;

/// A bulletin for the energy industry whose signature `sid` fires on Modbus writes of one
/// register.
fn content(sid: u64, title: &str) -> Value {
    json!({
        "title": title,
        "severity": 1,
        "description": "Unauthorised Modbus writes to grid RTUs.",
        "scope": {"industries": ["energy"]},
        "indicators": {"ips": ["203.0.113.66"]},
        "signatures": format!("alert tcp any any -> any 502 (msg:\"BULLETIN Modbus write single register\"; flow:to_server; content:\"|06|\"; offset:7; depth:1; sid:{sid}; rev:1;)"),
        "actions": ["Block 203.0.113.66"],
        "deadline": "2099-01-01T00:00:00Z",
    })
}

/// Replay the attack capture through S1 (pulling bulletins into `held` first); the alerts of
/// each sid.
fn replay(zj: &Collector, dir: &Path, held: &Path) -> (u64, u64) {
    let pcap: PathBuf = root().join("pcaps/modbus_attack_writes.pcap");
    let _ = std::fs::remove_file(dir.join("eve.json"));
    let extra = format!("\n[bulletins]\ndir = \"{}\"\n", held.display());
    let mut child = replay_with(zj, &S1, dir, &[pcap], &extra);
    assert!(child.wait().expect("sensor").success());
    let text = std::fs::read_to_string(dir.join("eve.json")).unwrap_or_default();
    let count = |sid: u64| {
        (text.lines())
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["alert"]["signature_id"] == sid)
            .count() as u64
    };
    (count(OLD_SID), count(NEW_SID))
}

#[test]
fn a_bulletin_is_amended_and_revoked_down_to_the_sensor() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let national = national(
        tmp.path(),
        &ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}{}",
            account("national-admin", "admin", "", ""),
            account("regulator", "regulator", "", ""),
        ),
    );
    let zj = below(
        tmp.path(),
        &ch,
        &national,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\n",
        &[S1],
        &format!(
            "{}{}",
            account("zj-admin", "admin", "330000", ""),
            account("e1-ops", "analyst", "330000", E1),
        ),
    );
    import_registry(&zj, &format!("{E1},Hangzhou Power,330000,energy,1\n"));

    // Issued at the nation once E1 has reached its registry.
    let mut issued = (0, Value::Null);
    wait_for("a bulletin issued", Duration::from_secs(30), || {
        issued = post(
            &national,
            "/v1/bulletins",
            "national-admin",
            &content(OLD_SID, "Modbus write campaign"),
        );
        issued.0 == 201
    });
    let bid = issued.1["bulletin_id"].as_str().expect("id").to_owned();
    let at_zj = |what: &str, ok: &dyn Fn(&Value) -> bool| {
        wait_for(what, Duration::from_secs(30), || {
            let (s, body) = zj.get(&format!("/v1/bulletins/{bid}"), Some(&token("zj-admin")));
            s == 200 && ok(&serde_json::from_str(&body).unwrap_or_default())
        })
    };
    at_zj("the bulletin at the province", &|b| b["revision"] == 1);

    // The sensor loads it and its signature fires.
    let dir = tmp.path().join("sensor");
    let held = dir.join("bulletins");
    let rules = held.join(format!("{bid}.rules"));
    assert_eq!(replay(&zj, &dir, &held).1, 0);
    let (old, new) = replay(&zj, &dir, &held);
    assert!(
        old > 0 && new == 0,
        "revision 1 fires its own sid: {old} {new}"
    );
    let (s, v) = post(
        &zj,
        &format!("/v1/bulletins/{bid}/dispose"),
        "e1-ops",
        &json!({"note": "blocked at the firewall"}),
    );
    assert_eq!(s, 200, "{v}");

    // Only the issuing tier amends, in its scope, saying what changed, keeping the scope.
    let amendment = |change: &str| {
        let mut a = content(NEW_SID, "Modbus write campaign (amended)");
        a["change"] = json!(change);
        a
    };
    let path = format!("/v1/bulletins/{bid}/amend");
    let (s, v) = post(&zj, &path, "zj-admin", &amendment("mine now"));
    assert_eq!(s, 409, "issued by the nation: {v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or("")
            .contains("issued by national"),
        "{v}"
    );
    let (s, v) = post(&national, &path, "regulator", &amendment("a reader"));
    assert_eq!(s, 403, "{v}");
    let (s, v) = post(&national, &path, "national-admin", &amendment(" "));
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap_or("").starts_with("change:"),
        "{v}"
    );
    let mut wider = amendment("every industry");
    wider["scope"] = json!({"industries": ["energy", "machinery"]});
    let (s, v) = post(&national, &path, "national-admin", &wider);
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"].as_str().unwrap_or("").starts_with("scope:"),
        "{v}"
    );
    let mut unknown = amendment("typo");
    unknown["deadlin"] = json!("2099-01-01T00:00:00Z");
    let (s, v) = post(&national, &path, "national-admin", &unknown);
    assert_eq!(s, 400, "an unknown field is refused: {v}");
    let (s, v) = post(
        &national,
        &path,
        "national-admin",
        &amendment("The campaign now uses a second signature set."),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["revision"], 2);

    // Down to the province, then the sensor: the new sid fires, the old no more.
    at_zj("revision 2 at the province", &|b| b["revision"] == 2);
    let (old, new) = replay(&zj, &dir, &held);
    assert!(
        old == 0 && new > 0,
        "revision 2 replaces revision 1: {old} {new}"
    );
    let text = std::fs::read_to_string(&rules).expect("the rules file");
    assert!(
        text.contains(&format!("sid:{NEW_SID};")) && !text.contains(&format!("sid:{OLD_SID};"))
    );
    assert!(
        text.contains("rev:2;"),
        "the indicator rules carry the revision: {text}"
    );

    // Progress starts again on revision 2; revision 1's disposal is kept. The sensor's
    // asking again is revision 2's receipt.
    wait_for(
        "revision 2 received at the nation",
        Duration::from_secs(30),
        || {
            let b = get_json(&national, &format!("/v1/bulletins/{bid}"), "regulator");
            b["status"][0]["received"].is_string()
        },
    );
    let b = get_json(&national, &format!("/v1/bulletins/{bid}"), "regulator");
    assert_eq!(b["revision"], 2);
    assert_eq!(b["title"], "Modbus write campaign (amended)");
    assert_eq!(b["change"], "The campaign now uses a second signature set.");
    assert!(b["status"][0]["disposed"].is_null(), "{b}");
    assert_eq!(b["earlier_revisions"][0]["revision"], 1);
    assert_eq!(b["earlier_revisions"][0]["disposed"], 1, "{b}");
    let stix = get_json(&national, &format!("/v1/bulletins/{bid}/stix"), "regulator");
    let report = (stix["objects"].as_array().expect("objects").iter())
        .find(|o| o["type"] == "report")
        .expect("a report")
        .clone();
    assert_eq!(report["x_icsight_revision"], 2);
    assert_ne!(report["modified"], report["created"], "{report}");

    // Revoked: the sensor unloads it; nobody is chased on it or acts on it any more.
    let revoke = format!("/v1/bulletins/{bid}/revoke");
    let (s, v) = post(&national, &revoke, "national-admin", &json!({}));
    assert_eq!(s, 400, "a revocation says why: {v}");
    let (s, v) = post(
        &national,
        &revoke,
        "national-admin",
        &json!({"change": "Attributed to a penetration test."}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["revoked"], true);
    let (s, v) = post(
        &national,
        &revoke,
        "national-admin",
        &json!({"change": "again"}),
    );
    assert_eq!(s, 409, "{v}");
    let (s, v) = post(&national, &path, "national-admin", &amendment("too late"));
    assert_eq!(s, 409, "a revoked bulletin is not amended: {v}");
    at_zj("the revocation at the province", &|b| b["revoked"] == true);
    let (old, new) = replay(&zj, &dir, &held);
    assert_eq!((old, new), (0, 0), "unloaded");
    assert!(!rules.exists(), "the rules file is deleted");
    let (s, v) = post(
        &zj,
        &format!("/v1/bulletins/{bid}/dispose"),
        "e1-ops",
        &json!({}),
    );
    assert_eq!(s, 409, "{v}");
    let b = get_json(&zj, &format!("/v1/bulletins/{bid}"), "e1-ops");
    assert_eq!(b["status"][0]["overdue"], false);

    // Every change audited, the refused ones too (a refusal repeated by the same party
    // within a minute is one row until the minute's summary).
    for (action, outcome, least) in [
        ("bulletin.amend", "ok", 1),
        ("bulletin.revoke", "ok", 1),
        ("bulletin.amend", "denied", 2),
        ("bulletin.revoke", "denied", 1),
    ] {
        wait_for(
            &format!("{action} {outcome} audited"),
            Duration::from_secs(20),
            || {
                ch.count(&format!(
                    "SELECT count() FROM nat.audit WHERE action = '{action}' AND outcome = '{outcome}'"
                )) >= least
            },
        );
    }
    assert_eq!(
        ch.count(
            "SELECT count() FROM nat.audit WHERE action = 'bulletin.amend' AND outcome = 'ok'"
        ),
        1
    );
}

/// A flow of `sensor` (of `enterprise`) `days_ago` from now, to `dest`.
fn flow_line(sensor: &SensorSpec, id: &str, days_ago: u64, src: &str, dest: &str) -> String {
    let at = |secs: u64| {
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{secs}"), "+%FT%T.000000Z"])
            .output()
            .expect("date");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let t = now - days_ago * 86_400;
    format!(
        r#"{{"timestamp":"{}","event_id":"{id}","flow_id":{},"event_type":"flow","src_ip":"{src}","src_port":50000,"dest_ip":"{dest}","dest_port":443,"proto":"TCP","flow":{{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,"start":"{}","end":"{}","state":"closed","reason":"timeout","alerted":false}},"sensor":{{"id":"{}","enterprise_id":"{}","province":"330000"}}}}"#,
        at(t),
        id.len() as u64 * 7919,
        at(t - 5),
        at(t),
        sensor.id,
        sensor.enterprise_id,
    )
}

/// Send `lines` as sensor `s`'s batch.
fn ingest(c: &Collector, s: &SensorSpec, lines: &[String]) {
    let (_, _, token_file) = c.credentials(s.id);
    let token = std::fs::read_to_string(token_file).expect("token");
    let (status, body) = c.curl(&[
        format!("{}/v1/ingest", c.url),
        "-H".into(),
        format!("Authorization: Bearer {}", token.trim()),
        "-H".into(),
        "Content-Type: application/x-ndjson".into(),
        "--data-binary".into(),
        lines.join("\n") + "\n",
    ]);
    assert_eq!(status, 200, "{body}");
}

#[test]
fn a_new_bulletin_is_hunted_for_in_yesterdays_flows_of_its_targets_only() {
    const T1: SensorSpec = SensorSpec {
        id: "zj-e1-t1",
        enterprise_id: E1,
        province: "330000",
        industry: "energy",
        grade: 1,
        auth: Auth::Token,
    };
    const E2: &str = "91330200MA2AB3CD4G"; // machinery: not a target
    const T2: SensorSpec = SensorSpec {
        id: "zj-e2-t1",
        enterprise_id: E2,
        province: "330000",
        industry: "machinery",
        grade: 2,
        auth: Auth::Token,
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let national = national(
        tmp.path(),
        &ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}{}",
            account("national-admin", "admin", "", ""),
            account("regulator", "regulator", "", ""),
        ),
    );
    let zj = below(
        tmp.path(),
        &ch,
        &national,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\nretro_days = 7\n",
        &[T1, T2],
        &account("zj-admin", "admin", "330000", ""),
    );
    import_registry(
        &zj,
        &format!("{E1},Hangzhou Power,330000,energy,1\n{E2},Ningbo Works,330000,machinery,2\n"),
    );
    // Yesterday E1 talked to an indicated address and into an indicated network, and to an
    // innocent one; E2 (not in the bulletin's scope) talked to the indicated address too; E1's
    // talk of 9 days ago is older than the hunt looks.
    ingest(
        &zj,
        &T1,
        &[
            flow_line(&T1, "e1-f1", 1, "10.1.1.5", "203.0.113.66"),
            flow_line(&T1, "e1-f2", 1, "198.51.100.20", "10.1.1.6"),
            flow_line(&T1, "e1-f3", 1, "10.1.1.7", "192.0.2.1"),
            flow_line(&T1, "e1-f4", 9, "10.1.1.8", "203.0.113.66"),
        ],
    );
    ingest(
        &zj,
        &T2,
        &[flow_line(&T2, "e2-f1", 1, "10.2.2.5", "203.0.113.66")],
    );

    let mut issued = (0, Value::Null);
    wait_for("a bulletin issued", Duration::from_secs(30), || {
        let mut b = content(OLD_SID, "C2 addresses of the Modbus campaign");
        b["indicators"] = json!({"ips": ["203.0.113.66", "198.51.100.0/24"]});
        issued = post(&national, "/v1/bulletins", "national-admin", &b);
        issued.0 == 201
    });
    let bid = issued.1["bulletin_id"].as_str().expect("id").to_owned();

    // Found at the province, of E1 only, and reported up to the nation.
    let hits_at = |c: &Collector, who: &str| -> Vec<Value> {
        let (s, body) = c.get(&format!("/v1/bulletins/{bid}"), Some(&token(who)));
        if s != 200 {
            return Vec::new();
        }
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        v["retro_hits"].as_array().cloned().unwrap_or_default()
    };
    wait_for("the hits at the province", Duration::from_secs(30), || {
        hits_at(&zj, "zj-admin").len() >= 2
    });
    wait_for("the hits at the nation", Duration::from_secs(30), || {
        hits_at(&national, "regulator").len() >= 2
    });
    for hits in [hits_at(&zj, "zj-admin"), hits_at(&national, "regulator")] {
        let mut found: Vec<(String, String)> = (hits.iter())
            .map(|h| {
                (
                    h["event_id"].as_str().unwrap_or("").to_owned(),
                    h["indicator"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("e1-f1".to_owned(), "203.0.113.66".to_owned()),
                ("e1-f2".to_owned(), "198.51.100.0/24".to_owned()),
            ],
            "{hits:?}"
        );
        assert!(hits
            .iter()
            .all(|h| h["enterprise_id"] == E1 && h["kind"] == "flow"));
    }
    // Each flow hit is an alert of E1 at the time of the flow, in the bulletin's sid block.
    assert_eq!(
        ch.count("SELECT count() FROM zj.alerts WHERE kind = 'retro' AND enterprise_id = '91330100MA27XY1235'"),
        2
    );
    assert_eq!(ch.count("SELECT count() FROM zj.alerts WHERE kind = 'retro' AND enterprise_id != '91330100MA27XY1235'"), 0);
    assert_eq!(
        ch.count(&format!(
            "SELECT count() FROM zj.alerts WHERE kind = 'retro' AND ts < now() - 3600 \
             AND signature LIKE 'ICSIGHT BULLETIN {bid} retro-hunt%'"
        )),
        2
    );
}
