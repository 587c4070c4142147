//! The three tiers end to end, with real parts: one ClickHouse holding a national and two
//! provincial databases, a national collector, two provincial collectors reporting to it over
//! mutual TLS, four enterprises with sensors replaying captures. The national roll-ups must
//! equal the sum of the provinces', and those the sum of their sensors' alerts; a bulletin for
//! one industry must reach exactly its enterprises and their handling come back up; a PLC STOP
//! must reach the national tier as an incident within 5 s; and no account, sensor or collector
//! may see or write outside its scope — each attempt refused and audited.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use icsight_tests::cluster::{
    account, account_token as token, below, import_registry, replay_with, Auth, ClickHouse,
    Collector, SensorSpec,
};
use icsight_tests::{root, sensor_bin};
use serde_json::Value;

const E1: &str = "91330100MA27XY1235"; // Zhejiang, energy, grade 1
const E2: &str = "91330200MA2AB3CD4G"; // Zhejiang, machinery, grade 2
const E3: &str = "91440300MA5FXT12X5"; // Guangdong, energy, grade 2
const E4: &str = "91440100MA59XY7Y86"; // Guangdong, electronics, grade 3

const fn sensor(
    id: &'static str,
    enterprise_id: &'static str,
    province: &'static str,
) -> SensorSpec {
    SensorSpec {
        id,
        enterprise_id,
        province,
        industry: "other",
        grade: 3,
        auth: Auth::Certificate,
    }
}

const S1: SensorSpec = sensor("zj-e1-s1", E1, "330000");
const S2: SensorSpec = sensor("zj-e2-s1", E2, "330000");
const S3: SensorSpec = sensor("gd-e3-s1", E3, "440000");
const S4: SensorSpec = sensor("gd-e4-s1", E4, "440000");

fn get_json(c: &Collector, path: &str, who: &str) -> Value {
    let (status, body) = c.get(path, Some(&token(who)));
    assert_eq!(status, 200, "GET {path} as {who}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

fn post_json(c: &Collector, path: &str, who: &str, body: &Value) -> (u16, String) {
    c.post_json(path, &token(who), &body.to_string())
}

/// The national collector (database `nat`), taking reports from the provincial collectors
/// `provinces` (id, province), with the accounts `national-admin` and `regulator`.
fn national(dir: &Path, ch: &ClickHouse, provinces: &[(&str, &str)]) -> Collector {
    let mut tables =
        "[tier]\nrole = \"national\"\nid = \"national\"\nregistry_refresh_s = 1\n".to_owned();
    for (id, province) in provinces {
        tables.push_str(&format!(
            "[[collectors]]\nid = \"{id}\"\nprovince = \"{province}\"\n"
        ));
    }
    tables.push_str(&account("national-admin", "admin", "", ""));
    tables.push_str(&account("regulator", "regulator", "", ""));
    Collector::build(dir, "national", ch, "nat", &[], "", &tables)
}

/// A provincial collector of `province`, reporting to `national` with the certificate the
/// national tier issued it; `tables` (TOML) close its configuration.
fn provincial(
    dir: &Path,
    ch: &ClickHouse,
    national: &Collector,
    id: &str,
    province: &str,
    sensors: &[SensorSpec],
    tables: &str,
) -> Collector {
    let tier = format!("role = \"provincial\"\nprovince = \"{province}\"\n");
    below(dir, ch, national, id, &tier, sensors, tables)
}

fn replay(col: &Collector, spec: &SensorSpec, dir: &Path, inputs: &[PathBuf]) -> Child {
    replay_with(col, spec, dir, inputs, "")
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn alerts_in(eve: &Path) -> u64 {
    alerts_where(eve, |_| true)
}

/// Alerts in an EVE file that `pick` accepts.
fn alerts_where(eve: &Path, pick: impl Fn(&Value) -> bool) -> u64 {
    std::fs::read_to_string(eve)
        .expect("eve.json")
        .lines()
        .filter(|l| l.contains("\"event_type\":\"alert\""))
        .map(|l| serde_json::from_str::<Value>(l).expect("EVE line"))
        .filter(|v| pick(v))
        .count() as u64
}

/// Alerts in a roll-up answer, all series and points.
fn rollup_total(v: &Value) -> u64 {
    v["series"]
        .as_array()
        .expect("series")
        .iter()
        .flat_map(|s| s["points"].as_array().expect("points").iter())
        .map(|p| p["alerts"].as_u64().expect("alerts"))
        .sum()
}

fn rollup_by(v: &Value, key: &str) -> u64 {
    v["series"]
        .as_array()
        .expect("series")
        .iter()
        .filter(|s| s["key"] == key)
        .flat_map(|s| s["points"].as_array().expect("points").iter())
        .map(|p| p["alerts"].as_u64().expect("alerts"))
        .sum()
}

/// A bulletin for the energy industry whose signature fires on Modbus writes of one register.
fn energy_bulletin() -> Value {
    serde_json::json!({
        "title": "Modbus write campaign against energy plants",
        "severity": 1,
        "description": "Unauthorised Modbus writes to grid RTUs.",
        "scope": {"industries": ["energy"]},
        "indicators": {"ips": ["203.0.113.66"], "domains": ["update.grid-c2.example"], "sids": [9100001]},
        "signatures": "alert tcp any any -> any 502 (msg:\"BULLETIN Modbus write single register\"; flow:to_server; content:\"|06|\"; offset:7; depth:1; sid:4100001; rev:1;)",
        "actions": ["Block 203.0.113.66", "Review RTU write access"],
        "deadline": "2099-01-01T00:00:00Z",
    })
}

/// The bulletin's signature's sid.
const BULLETIN_SID: u64 = 4100001;

/// The tests here take turns: the outage test's load would otherwise share the machine with
/// the latency the first one measures.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

const EVER: &str = "from=1970-01-02T00:00:00Z&to=2099-01-01T00:00:00Z";

#[test]
fn three_tiers_roll_up_escalate_and_pass_bulletins_down_within_scope() {
    let _turn = turn();
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let national = national(
        tmp.path(),
        &ch,
        &[("zj-collector", "330000"), ("gd-collector", "440000")],
    );
    let zj = provincial(
        tmp.path(),
        &ch,
        &national,
        "zj-collector",
        "330000",
        &[S1, S2],
        &format!(
            "{}{}{}",
            account("zj-soc", "analyst", "330000", ""),
            account("e1-ops", "analyst", "330000", E1),
            account("e2-ops", "analyst", "330000", E2),
        ),
    );
    let gd = provincial(
        tmp.path(),
        &ch,
        &national,
        "gd-collector",
        "440000",
        &[S3, S4],
        &format!(
            "{}{}",
            account("gd-soc", "analyst", "440000", ""),
            account("e3-ops", "analyst", "440000", E3),
        ),
    );
    // The registries, one per province.
    import_registry(
        &zj,
        &format!(
            "{E1},Hangzhou Power,330000,energy,1\n{E2},Ningbo Machine Works,330000,machinery,2\n"
        ),
    );
    import_registry(
        &gd,
        &format!(
            "{E3},Shenzhen Grid,440000,energy,2\n{E4},Guangzhou Electronics,440000,electronics,3\n"
        ),
    );
    // The registries reach the national tier.
    wait_for(
        "4 enterprises at the national tier",
        Duration::from_secs(30),
        || ch.count("SELECT count() FROM (SELECT enterprise_id FROM nat.enterprises FINAL)") == 4,
    );

    // Load: four plants replay attack captures (no PLC stop among them).
    let pcaps = root().join("pcaps");
    let plan: [(&Collector, SensorSpec, Vec<PathBuf>); 4] = [
        (&zj, S1, vec![pcaps.join("modbus_attack_writes.pcap")]),
        (
            &zj,
            S2,
            vec![
                pcaps.join("modbus_attack_diagnostics.pcap"),
                pcaps.join("modbus_attack_fcscan.pcap"),
            ],
        ),
        (&gd, S3, vec![pcaps.join("modbus_attack_unitscan.pcap")]),
        (
            &gd,
            S4,
            vec![
                pcaps.join("modbus_attack_writes.pcap"),
                pcaps.join("dnp3_attack_control.pcap"),
            ],
        ),
    ];
    let mut expected = Vec::new();
    for (col, spec, inputs) in &plan {
        let dir = tmp.path().join(spec.id);
        let mut child = replay(col, spec, &dir, inputs);
        let status = child.wait().expect("sensor");
        assert!(
            status.success(),
            "{}",
            std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
        );
        expected.push((
            spec.province,
            spec.enterprise_id,
            alerts_in(&dir.join("eve.json")),
        ));
    }
    let per_province = |p: &str| {
        expected
            .iter()
            .filter(|e| e.0 == p)
            .map(|e| e.2)
            .sum::<u64>()
    };
    let total: u64 = expected.iter().map(|e| e.2).sum();
    assert!(total > 50, "the captures raise alerts: {expected:?}");
    // Provinces equal their sensors.
    for (col, who, p) in [(&zj, "zj-soc", "330000"), (&gd, "gd-soc", "440000")] {
        wait_for(
            "a province's roll-up equals its sensors' alerts",
            Duration::from_secs(30),
            || {
                rollup_total(&get_json(col, &format!("/v1/rollup?step=1h&{EVER}"), who))
                    == per_province(p)
            },
        );
    }
    // The country equals the provinces, and each enterprise its sensor.
    wait_for(
        "the national roll-up equals the provinces'",
        Duration::from_secs(30),
        || {
            let v = get_json(
                &national,
                &format!("/v1/rollup?step=5m&by=province&{EVER}"),
                "regulator",
            );
            rollup_by(&v, "330000") == per_province("330000")
                && rollup_by(&v, "440000") == per_province("440000")
        },
    );
    let by_e = get_json(
        &national,
        &format!("/v1/rollup?step=1h&by=enterprise&{EVER}"),
        "regulator",
    );
    for (_, e, n) in &expected {
        let want: u64 = expected.iter().filter(|x| x.1 == *e).map(|x| x.2).sum();
        assert_eq!(rollup_by(&by_e, e), want, "enterprise {e} ({n})");
    }
    assert_eq!(rollup_total(&by_e), total);

    // A PLC STOP at one plant is an incident at the national tier within 5 s.
    let dir = tmp.path().join("gd-e3-stop");
    let started = Instant::now();
    let mut child = replay(&gd, &S3, &dir, &[pcaps.join("s7comm_attack_control.pcap")]);
    let mut seen = None;
    while started.elapsed() < Duration::from_secs(15) {
        let v = get_json(&national, "/v1/incidents?state=open", "regulator");
        if let Some(i) = v["incidents"]
            .as_array()
            .expect("incidents")
            .iter()
            .find(|i| {
                i["criterion"] == "plc-stop-or-download"
                    && i["enterprise_id"] == E3
                    && i["sid"] == 9100101
            })
        {
            seen = Some((started.elapsed(), i.clone()));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(child.wait().expect("sensor").success());
    let (latency, incident) = seen.expect("a PLC STOP incident at the national tier");
    eprintln!("PLC STOP → national incident in {latency:?}");
    assert!(latency < Duration::from_secs(5), "{latency:?}");
    assert_eq!(incident["origin"], "gd-collector");
    let (_, metrics) = gd.get("/metrics", None);
    let versions: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("icsight_collector_incident_versions_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(versions >= 1, "incident versions counted: {metrics}");
    assert!(incident["priority"].as_u64().expect("priority") >= 50);
    assert!(!incident["evidence"]["alerts"]
        .as_array()
        .expect("evidence")
        .is_empty());
    // Its lifecycle, moved on at the province, is seen at the national tier.
    let id = incident["incident_id"].as_str().expect("id").to_owned();
    for state in ["acknowledged", "disposed", "closed"] {
        let (s, b) = post_json(
            &gd,
            &format!("/v1/incidents/{id}/state"),
            "e3-ops",
            &serde_json::json!({"state": state, "note": "handled"}),
        );
        assert_eq!(s, 200, "{state}: {b}");
    }
    let (s, b) = post_json(
        &national,
        &format!("/v1/incidents/{id}/state"),
        "national-admin",
        &serde_json::json!({"state": "closed"}),
    );
    assert!(
        s == 409 || s == 400,
        "moved on only where it is handled: {s} {b}"
    );
    wait_for(
        "the closed incident at the national tier",
        Duration::from_secs(10),
        || get_json(&national, &format!("/v1/incidents/{id}"), "regulator")["state"] == "closed",
    );

    // A bulletin for the energy industry reaches exactly E1 and E3.
    let (s, b) = post_json(
        &national,
        "/v1/bulletins",
        "national-admin",
        &energy_bulletin(),
    );
    assert_eq!(s, 201, "{b}");
    let bid = serde_json::from_str::<Value>(&b).expect("json")["bulletin_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, b) = post_json(
        &national,
        "/v1/bulletins",
        "regulator",
        &serde_json::json!({"title": "x", "severity": 1, "deadline": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(s, 403, "a regulator issues nothing: {b}");
    let mut nobody = energy_bulletin();
    nobody["scope"] = serde_json::json!({"industries": ["mining"]});
    let (s, b) = post_json(&national, "/v1/bulletins", "national-admin", &nobody);
    assert_eq!(s, 422, "a scope that reaches no one: {b}");
    wait_for(
        "the bulletin at both provinces",
        Duration::from_secs(15),
        || {
            [(&zj, "zj-soc"), (&gd, "gd-soc")].iter().all(|(c, w)| {
                get_json(c, "/v1/bulletins", w)["bulletins"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|x| x["bulletin_id"] == bid.as_str()))
            })
        },
    );
    // A province pages the feed above.
    let feed = |q: &str| {
        national.curl_as(
            "zj-collector",
            &[format!("{}/v1/bulletins/feed?{q}", national.url)],
        )
    };
    let (s, b) = feed("after=0&limit=0");
    assert_eq!(s, 400, "{b}");
    let (s, b) = feed("after=0&limit=1");
    assert_eq!(s, 200, "{b}");
    let page: Value = serde_json::from_str(&b).expect("json");
    assert_eq!(page["bulletins"].as_array().expect("page").len(), 1);
    let (s, b) = feed(&format!("after={}&limit=1", page["last"]));
    assert_eq!((s, b.contains("\"bulletins\":[]")), (200, true), "{b}");
    // The energy plant's sensor pulls the bulletin on its next replay, and its signature fires
    // there; its asking again is the receipt the national tier sees. The machinery plant's
    // sensor gets nothing.
    let mut fired = Vec::new();
    for spec in [S1, S2] {
        let dir = tmp.path().join(format!("{}-bulletin", spec.id));
        let held = dir.join("bulletins");
        let extra = format!("\n[bulletins]\ndir = \"{}\"\n", held.display());
        let mut child = replay_with(
            &zj,
            &spec,
            &dir,
            &[pcaps.join("modbus_attack_writes.pcap")],
            &extra,
        );
        assert!(child.wait().expect("sensor").success());
        let rules = std::fs::read_dir(&held).map_or(0, |d| d.count());
        fired.push((
            rules,
            alerts_where(&dir.join("eve.json"), |v| {
                v["alert"]["signature_id"] == BULLETIN_SID
            }),
        ));
    }
    assert!(fired[0].0 >= 1 && fired[0].1 > 0, "E1's sensor: {fired:?}");
    assert_eq!(fired[1].1, 0, "E2's sensor: {fired:?}");
    assert!(
        !tmp.path()
            .join("zj-e2-s1-bulletin/bulletins")
            .join(format!("{bid}.rules"))
            .exists(),
        "E2's sensor holds no rules of it"
    );
    wait_for(
        "the sensor's receipt at the national tier",
        Duration::from_secs(15),
        || received_by(&ch, &bid, E1, S1.id),
    );
    let e1 = get_json(&zj, "/v1/bulletins", "e1-ops");
    assert_eq!(e1["bulletins"].as_array().expect("list").len(), 1);
    let e2 = get_json(&zj, "/v1/bulletins", "e2-ops");
    assert_eq!(
        e2["bulletins"].as_array().expect("list").len(),
        0,
        "machinery is not in scope"
    );
    let (s, _) = post_json(
        &zj,
        &format!("/v1/bulletins/{bid}/acknowledge"),
        "e2-ops",
        &serde_json::json!({}),
    );
    assert_eq!(s, 404, "nor can it act on it");
    // E1 disposes of it, E3 acknowledges; the national tier sees who did what.
    let (s, b) = post_json(
        &zj,
        &format!("/v1/bulletins/{bid}/dispose"),
        "e1-ops",
        &serde_json::json!({"note": "blocked at the firewall"}),
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = post_json(
        &gd,
        &format!("/v1/bulletins/{bid}/acknowledge"),
        "e3-ops",
        &serde_json::json!({}),
    );
    assert_eq!(s, 200, "{b}");
    wait_for(
        "progress at the national tier",
        Duration::from_secs(15),
        || {
            let v = get_json(&national, &format!("/v1/bulletins/{bid}"), "regulator");
            let st = v["status"].as_array().expect("status");
            let of = |e: &str| {
                st.iter()
                    .find(|x| x["enterprise_id"] == e)
                    .cloned()
                    .unwrap_or_default()
            };
            st.len() == 2
                && !of(E1)["disposed"].is_null()
                && !of(E1)["acknowledged"].is_null()
                && !of(E3)["acknowledged"].is_null()
                && of(E3)["disposed"].is_null()
                && of(E3)["overdue"] == false
        },
    );
    // The issuer's list counts them.
    let list = get_json(&national, "/v1/bulletins", "regulator");
    let row = list["bulletins"]
        .as_array()
        .expect("list")
        .iter()
        .find(|x| x["bulletin_id"] == bid.as_str())
        .cloned()
        .expect("the bulletin in the national list");
    assert_eq!(
        [
            &row["targets"],
            &row["received"],
            &row["acknowledged"],
            &row["disposed"]
        ],
        [2, 2, 2, 1]
    );
    // STIX 2.1 out.
    let stix = get_json(&national, &format!("/v1/bulletins/{bid}/stix"), "regulator");
    assert_eq!(stix["type"], "bundle");
    assert!(stix
        .to_string()
        .contains("[ipv4-addr:value = '203.0.113.66']"));

    // Scope: refused, nothing leaked, audited.
    let (s, b) = zj.get(
        &format!("/v1/alerts?enterprise={E2}&{EVER}"),
        Some(&token("e1-ops")),
    );
    assert_eq!(s, 403, "{b}");
    assert!(!b.contains("signature"), "{b}");
    let (s, _) = zj.get(
        &format!("/v1/alerts?province=440000&{EVER}"),
        Some(&token("zj-soc")),
    );
    assert_eq!(s, 403);
    let (s, _) = gd.get(&format!("/v1/incidents/{id}"), Some(&token("e3-ops")));
    assert_eq!(s, 200, "its own incident");
    let (s, _) = zj.get(&format!("/v1/alerts?{EVER}"), Some("not-a-token"));
    assert_eq!(s, 401);
    // A sensor posting as another sensor; a collector as another province.
    let (cert, key, _) = zj.credentials(S1.id);
    let line = format!(
        "{{\"timestamp\":\"2026-11-21T10:00:00.000000+0000\",\"event_type\":\"stats\",\"event_id\":\"x-1\",\"sensor\":{{\"id\":\"{}\"}},\"stats\":{{}}}}\n",
        S2.id
    );
    let (s, b) = zj.curl(&[
        "--cert".into(),
        cert.display().to_string(),
        "--key".into(),
        key.display().to_string(),
        "-X".into(),
        "POST".into(),
        format!("{}/v1/ingest", zj.url),
        "--data-binary".into(),
        line,
    ]);
    assert_eq!(s, 403, "{b}");
    let row = serde_json::json!({"event_type": "rollup", "event_id": "r-1", "row": {
        "bucket": 1_795_000_000u32, "province": "440000", "enterprise_id": E3, "industry": "energy", "grade": 2,
        "severity": 1, "technique": "", "app_proto": "modbus", "kind": "signature", "alerts": 1_000_000u64}});
    let post_as_zj = |body: String| {
        national.curl_as(
            "zj-collector",
            &[
                "-X".into(),
                "POST".into(),
                format!("{}/v1/ingest", national.url),
                "--data-binary".into(),
                body,
            ],
        )
    };
    let (s, b) = post_as_zj(format!("{row}\n"));
    assert_eq!(s, 403, "{b}");
    assert_eq!(
        ch.count("SELECT count() FROM nat.tier_rollup_5m WHERE alerts = 1000000"),
        0
    );
    // Event ids are unique to their sensor: two sensors' alerts may share one in a province's
    // batch; one sensor's twice is a broken batch.
    let forwarded = |spec: &SensorSpec, grade: u8| {
        serde_json::json!({
            "timestamp": "2026-11-21T10:00:00.000000+0000", "event_type": "alert",
            "event_id": "0000000000000001-1", "flow_id": 1, "src_ip": "10.0.0.1", "src_port": 40000,
            "dest_ip": "10.0.0.2", "dest_port": 502, "proto": "TCP", "app_proto": "modbus",
            "alert": {"action": "allowed", "gid": 1, "signature_id": 9100001, "rev": 1,
                      "signature": "test", "category": "test", "severity": 1},
            "sensor": {"id": spec.id},
            "origin": {"sensor_id": spec.id, "enterprise_id": spec.enterprise_id,
                       "province": spec.province, "industry": "energy", "grade": grade},
        })
        .to_string()
    };
    let (s, b) = post_as_zj(format!("{}\n{}\n", forwarded(&S1, 1), forwarded(&S2, 2)));
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        serde_json::from_str::<Value>(&b).expect("json")["stored"],
        2,
        "{b}"
    );
    let (s, b) = post_as_zj(format!("{}\n{}\n", forwarded(&S1, 1), forwarded(&S1, 1)));
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("repeats line 1"), "{b}");
    wait_for("the attempts audited", Duration::from_secs(10), || {
        let zj_denied = ch.count("SELECT count() FROM zj_collector.audit WHERE outcome = 'denied'");
        let nat_denied = ch.count(
            "SELECT count() FROM nat.audit WHERE outcome = 'denied' AND actor = 'zj-collector'",
        );
        zj_denied >= 4 && nat_denied >= 1
    });
    assert!(ch.count("SELECT count() FROM nat.audit WHERE action = 'bulletin.issue' AND outcome = 'ok' AND actor = 'national-admin'") == 1);
    assert!(ch.count("SELECT count() FROM gd_collector.audit WHERE action = 'incident.transition' AND outcome = 'ok'") == 3);
}

/// Whether the national tier has `actor`'s receipt of bulletin `bid` for `enterprise`.
fn received_by(ch: &ClickHouse, bid: &str, enterprise: &str, actor: &str) -> bool {
    ch.count(&format!(
        "SELECT count() FROM nat.bulletin_steps FINAL WHERE bulletin_id = '{bid}' \
         AND enterprise_id = '{enterprise}' AND state = 'received' AND actor = '{actor}'"
    )) == 1
}

/// The ids of the incidents in database `db`, sorted.
fn incident_ids(ch: &ClickHouse, db: &str) -> String {
    ch.query(&format!(
        "SELECT incident_id FROM {db}.incidents FINAL ORDER BY incident_id"
    ))
}

/// An enterprise tier on site: its sensor pushes to it, it relays every event to its province,
/// which rolls them up for the national tier; its incidents and its handling of a bulletin go
/// up through the province, the national bulletin comes down through both, and the province
/// opens no second incident for what the site escalated already.
#[test]
fn an_enterprise_tier_relays_everything_through_its_province() {
    let _turn = turn();
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let national = national(tmp.path(), &ch, &[("zj-collector", "330000")]);
    let zj = provincial(
        tmp.path(),
        &ch,
        &national,
        "zj-collector",
        "330000",
        &[],
        &format!(
            "[[collectors]]\nid = \"e1-collector\"\nprovince = \"330000\"\nenterprise_id = \"{E1}\"\n{}",
            account("zj-soc", "analyst", "330000", ""),
        ),
    );
    let site = below(
        tmp.path(),
        &ch,
        &zj,
        "e1-collector",
        &format!("role = \"enterprise\"\nprovince = \"330000\"\nenterprise_id = \"{E1}\"\n"),
        &[S1],
        &account("e1-ops", "analyst", "330000", E1),
    );
    let row = format!("{E1},Hangzhou Power,330000,energy,1\n");
    import_registry(&zj, &row);
    import_registry(&site, &row);
    wait_for("E1 at the national tier", Duration::from_secs(30), || {
        ch.count("SELECT count() FROM (SELECT enterprise_id FROM nat.enterprises FINAL)") == 1
    });

    // A national bulletin for energy reaches the site through the province (once the national
    // registry, refreshed every second, holds E1: before, the scope reaches no one).
    let mut issued = (0, String::new());
    wait_for("a bulletin issued", Duration::from_secs(10), || {
        issued = post_json(
            &national,
            "/v1/bulletins",
            "national-admin",
            &energy_bulletin(),
        );
        issued.0 != 422
    });
    let (s, b) = issued;
    assert_eq!(s, 201, "{b}");
    let bid = serde_json::from_str::<Value>(&b).expect("json")["bulletin_id"]
        .as_str()
        .expect("id")
        .to_owned();
    wait_for("the bulletin at the site", Duration::from_secs(20), || {
        ch.count(&format!(
            "SELECT count() FROM e1_collector.bulletin_targets WHERE bulletin_id = '{bid}' \
             AND enterprise_id = '{E1}'"
        )) == 1
    });
    // The site stores a bulletin's targets before it serves it, and the sensor pulls once as
    // its replay starts: wait until the feed, as the sensor sees it, holds the bulletin.
    wait_for(
        "the bulletin in the site's feed",
        Duration::from_secs(20),
        || {
            let feed = format!("{}/v1/bulletins/feed?after=0", site.url);
            let (s, body) = site.curl_as(S1.id, &[feed]);
            s == 200 && body.contains(&bid)
        },
    );

    // The site's sensor replays writes and a PLC STOP, with the bulletin's rules loaded.
    let pcaps = root().join("pcaps");
    let dir = tmp.path().join(S1.id);
    let extra = format!(
        "\n[bulletins]\ndir = \"{}\"\n",
        dir.join("bulletins").display()
    );
    let mut child = replay_with(
        &site,
        &S1,
        &dir,
        &[
            pcaps.join("modbus_attack_writes.pcap"),
            pcaps.join("s7comm_attack_control.pcap"),
        ],
        &extra,
    );
    assert!(
        child.wait().expect("sensor").success(),
        "{}",
        std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
    );
    let eve = dir.join("eve.json");
    let total = alerts_in(&eve);
    let serious = alerts_where(&eve, |v| v["alert"]["severity"].as_u64() <= Some(2));
    assert!(
        alerts_where(&eve, |v| v["alert"]["signature_id"] == BULLETIN_SID) > 0,
        "the bulletin's signature fires at the site's sensor"
    );
    assert!(serious > 0 && serious < total, "{serious} of {total}");

    // Every event goes up whole to the province; the province rolls them up for the nation.
    let site_total = rollup_total(&get_json(
        &site,
        &format!("/v1/rollup?step=1h&{EVER}"),
        "e1-ops",
    ));
    assert_eq!(site_total, total);
    wait_for(
        "the province holds every event of the site",
        Duration::from_secs(30),
        || {
            rollup_total(&get_json(
                &zj,
                &format!("/v1/rollup?step=1h&{EVER}"),
                "zj-soc",
            )) == total
        },
    );
    for table in ["alerts", "flows"] {
        let q = |db: &str| {
            ch.query(&format!(
                "SELECT count(), uniqExact(event_id) FROM {db}.{table} WHERE sensor_id = '{}'",
                S1.id
            ))
        };
        let at_site = q("e1_collector");
        assert!(
            !at_site.starts_with("0\t"),
            "{table} at the site: {at_site}"
        );
        wait_for(
            &format!("the site's {table} at the province, once each"),
            Duration::from_secs(15),
            || q("zj_collector") == at_site,
        );
    }
    wait_for(
        "the national roll-up of E1 equals its sensor's alerts",
        Duration::from_secs(30),
        || {
            let v = get_json(
                &national,
                &format!("/v1/rollup?step=1h&by=enterprise&{EVER}"),
                "regulator",
            );
            rollup_by(&v, E1) == total
        },
    );
    wait_for(
        "the serious alerts at the national tier",
        Duration::from_secs(30),
        || ch.count("SELECT count() FROM nat.alerts") == serious,
    );
    assert_eq!(
        ch.count("SELECT uniqExact(event_id) FROM nat.alerts"),
        serious
    );

    // The site's incidents, and only those, at every tier above.
    wait_for(
        "the PLC STOP incident at the national tier",
        Duration::from_secs(15),
        || {
            get_json(&national, "/v1/incidents?state=open", "regulator")["incidents"]
                .as_array()
                .expect("incidents")
                .iter()
                .any(|i| i["criterion"] == "plc-stop-or-download" && i["origin"] == "e1-collector")
        },
    );
    let at_site = incident_ids(&ch, "e1_collector");
    assert!(!at_site.trim().is_empty());
    wait_for("the same incidents above", Duration::from_secs(15), || {
        incident_ids(&ch, "zj_collector") == at_site && incident_ids(&ch, "nat") == at_site
    });
    let list = get_json(&site, "/v1/incidents?state=open", "e1-ops");
    let id = list["incidents"]
        .as_array()
        .expect("incidents")
        .iter()
        .find(|i| i["criterion"] == "plc-stop-or-download")
        .and_then(|i| i["incident_id"].as_str())
        .expect("the PLC STOP incident at the site")
        .to_owned();
    let (s, b) = post_json(
        &zj,
        &format!("/v1/incidents/{id}/state"),
        "zj-soc",
        &serde_json::json!({"state": "acknowledged"}),
    );
    assert!(s == 409 || s == 400, "the site handles its own: {s} {b}");
    let (s, b) = post_json(
        &site,
        &format!("/v1/incidents/{id}/state"),
        "e1-ops",
        &serde_json::json!({"state": "acknowledged", "note": "operator on site"}),
    );
    assert_eq!(s, 200, "{b}");
    wait_for(
        "the acknowledgement at the national tier",
        Duration::from_secs(15),
        || {
            get_json(&national, &format!("/v1/incidents/{id}"), "regulator")["state"]
                == "acknowledged"
        },
    );

    // The sensor's receipt and the site's disposal of the bulletin reach the national tier.
    let (s, b) = post_json(
        &site,
        &format!("/v1/bulletins/{bid}/dispose"),
        "e1-ops",
        &serde_json::json!({"note": "blocked at the plant firewall"}),
    );
    assert_eq!(s, 200, "{b}");
    wait_for(
        "receipt and disposal at the national tier",
        Duration::from_secs(15),
        || {
            received_by(&ch, &bid, E1, S1.id)
                && get_json(&national, &format!("/v1/bulletins/{bid}"), "regulator")["status"][0]
                    ["disposed"]
                    .is_string()
        },
    );
}

/// One sensor's load: replays of `inputs` back to back, each a new process on the same spool,
/// until `stop`; the EVE files of its runs, each with when it started.
fn load(
    config: PathBuf,
    dir: PathBuf,
    inputs: Vec<PathBuf>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<(Instant, PathBuf)>> {
    std::thread::spawn(move || {
        let mut runs = Vec::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let eve = dir.join(format!("eve-{}.json", runs.len()));
            let log = std::fs::File::create(dir.join(format!("stderr-{}.log", runs.len())))
                .expect("sensor log");
            runs.push((Instant::now(), eve.clone()));
            let status = Command::new(sensor_bin())
                .args(["replay", "--no-progress", "--config"])
                .arg(&config)
                .arg("--eve")
                .arg(&eve)
                .args(&inputs)
                .stdout(Stdio::null())
                .stderr(log)
                .status()
                .expect("run sensor");
            assert!(status.success(), "sensor run {}: {status}", eve.display());
        }
        runs
    })
}

/// The segments waiting in a sensor's spool.
fn spooled(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("spool")).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == "ndjson" || x == "open")
            })
            .count()
    })
}

/// A provincial collector killed (SIGKILL) under load and kept down for
/// `ICSIGHT_OUTAGE_SECONDS` (default 300), its sensors replaying all the while, then started
/// again: the national tier ends with every serious alert once, roll-ups equal to the sensors'
/// alerts, and every incident of the province.
#[test]
fn a_province_down_for_five_minutes_under_load_loses_and_duplicates_nothing() {
    let _turn = turn();
    let outage = Duration::from_secs(
        std::env::var("ICSIGHT_OUTAGE_SECONDS")
            .ok()
            .map(|s| s.parse().expect("ICSIGHT_OUTAGE_SECONDS: whole seconds"))
            .unwrap_or(300),
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let national = national(tmp.path(), &ch, &[("zj-collector", "330000")]);
    let mut zj = provincial(
        tmp.path(),
        &ch,
        &national,
        "zj-collector",
        "330000",
        &[S1, S2],
        &account("zj-soc", "analyst", "330000", ""),
    );
    import_registry(
        &zj,
        &format!(
            "{E1},Hangzhou Power,330000,energy,1\n{E2},Ningbo Machine Works,330000,machinery,2\n"
        ),
    );

    let pcaps = root().join("pcaps");
    let plan = [
        (
            S1,
            vec![
                pcaps.join("modbus_attack_writes.pcap"),
                pcaps.join("s7comm_attack_control.pcap"),
            ],
        ),
        (
            S2,
            vec![
                pcaps.join("modbus_attack_diagnostics.pcap"),
                pcaps.join("modbus_attack_fcscan.pcap"),
            ],
        ),
    ];
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut configs = Vec::new();
    let mut sensors = Vec::new();
    for (spec, inputs) in &plan {
        let dir = tmp.path().join(spec.id);
        // A run leaves after a second of trying; what it could not send waits for the next.
        let config = zj.sensor_config(
            spec,
            &dir,
            "segment_seconds = 0.2\nretry_max_s = 1\ndrain_seconds = 1\n",
        );
        configs.push((config.clone(), dir.clone(), inputs.clone()));
        sensors.push(load(config, dir, inputs.clone(), stop.clone()));
    }
    std::thread::sleep(Duration::from_secs(5));
    zj.kill();
    let down = Instant::now();
    eprintln!("province down for {outage:?} under load");
    std::thread::sleep(outage);
    let backlog: usize = configs.iter().map(|(_, d, _)| spooled(d)).sum();
    zj.start();
    let up = Instant::now();
    std::thread::sleep(Duration::from_secs(10));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let runs: Vec<Vec<(Instant, PathBuf)>> = sensors
        .into_iter()
        .map(|h| h.join().expect("load"))
        .collect();
    // The sensors send what is left. A run may take as long as its spool keeps shrinking:
    // draining is bounded by the collector's ingest speed, not by a window fixed here. A
    // stall fails; the overall bound only catches a hang.
    for (config, dir, inputs) in &configs {
        let text = std::fs::read_to_string(config)
            .expect("sensor.toml")
            .replace("drain_seconds = 1\n", "drain_seconds = 86400\n");
        let last = dir.join("sensor-drain.toml");
        std::fs::write(&last, text).expect("sensor.toml");
        let backlog = spooled(dir);
        let log = dir.join("stderr-last.log");
        let started = Instant::now();
        let mut child = Command::new(sensor_bin())
            .args(["replay", "--no-progress", "--config"])
            .arg(&last)
            .arg("--eve")
            .arg(dir.join("eve-last.json"))
            .arg(&inputs[0])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("sensor log"))
            .spawn()
            .expect("run sensor");
        let (stall, bound) = (Duration::from_secs(300), Duration::from_secs(3600));
        let (mut least, mut progressed) = (usize::MAX, Instant::now());
        let status = loop {
            if let Some(s) = child.try_wait().expect("sensor") {
                break s;
            }
            let n = spooled(dir);
            if n < least {
                (least, progressed) = (n, Instant::now());
            }
            if progressed.elapsed() > stall || started.elapsed() > bound {
                let _ = child.kill();
                panic!(
                    "{}: the spool stopped shrinking at {least} segments",
                    dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let took = started.elapsed().as_secs_f64();
        let stderr = std::fs::read_to_string(&log).expect("sensor log");
        assert!(status.success(), "{stderr}");
        assert_eq!(spooled(dir), 0, "{}: spool drained", dir.display());
        let sent: u64 = stderr
            .lines()
            .find_map(|l| l.strip_prefix("uplink: spooled ")?.split(", sent ").nth(1))
            .and_then(|rest| rest.split(',').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no uplink summary in\n{stderr}"));
        eprintln!(
            "{}: {backlog} segments waiting; sent {sent} events in {took:.1} s ({:.0} events/s)",
            dir.display(),
            sent as f64 / took
        );
    }

    let mut total = 0;
    let mut serious = 0;
    let mut during = 0;
    for (i, sensor_runs) in runs.iter().enumerate() {
        let dir = &configs[i].1;
        let files = sensor_runs
            .iter()
            .map(|(at, eve)| (Some(*at), eve.clone()))
            .chain([(None, dir.join("eve-last.json"))]);
        for (at, eve) in files {
            let n = alerts_in(&eve);
            total += n;
            serious += alerts_where(&eve, |v| v["alert"]["severity"].as_u64() <= Some(2));
            if at.is_some_and(|t| t > down && t < up) {
                during += n;
            }
        }
    }
    let runs_n: usize = runs.iter().map(Vec::len).sum();
    eprintln!(
        "{runs_n} sensor runs, {total} alerts ({serious} serious), {during} raised while the \
         province was down, {backlog} segments spooled at the sensors when it came back"
    );
    assert!(
        during > 0 && backlog > 0,
        "load while down: {during} alerts, {backlog} segments"
    );

    // Event ids are unique to their sensor.
    wait_for(
        "the province holds every alert",
        Duration::from_secs(60),
        || ch.count("SELECT uniqExact(sensor_id, event_id) FROM zj_collector.alerts") == total,
    );
    assert_eq!(
        ch.count("SELECT count() FROM zj_collector.alerts"),
        total,
        "stored twice at the province: {}",
        ch.query(
            "SELECT event_id, sensor_id, count(), groupArray(received), groupArray(ts) \
             FROM zj_collector.alerts GROUP BY event_id, sensor_id HAVING count() > 1 LIMIT 20"
        )
    );
    wait_for(
        "the national tier holds every serious alert, and the roll-ups add up",
        Duration::from_secs(60),
        || {
            let v = get_json(
                &national,
                &format!("/v1/rollup?step=5m&by=enterprise&{EVER}"),
                "regulator",
            );
            ch.count("SELECT count() FROM nat.alerts") == serious && rollup_total(&v) == total
        },
    );
    assert_eq!(
        ch.count("SELECT uniqExact(sensor_id, event_id) FROM nat.alerts"),
        serious,
        "no serious alert twice"
    );
    // Every incident of the province, once, at the national tier.
    wait_for(
        "the province's incidents above",
        Duration::from_secs(30),
        || incident_ids(&ch, "nat") == incident_ids(&ch, "zj_collector"),
    );
    assert!(!incident_ids(&ch, "nat").trim().is_empty());
    assert_eq!(
        ch.count("SELECT count() FROM (SELECT incident_id FROM nat.incidents FINAL)"),
        ch.count("SELECT uniqExact(incident_id) FROM nat.incidents")
    );
}

/// Fleet health: a live sensor's `stats` events are its heartbeat. Stopped mid-run, it shows
/// offline at its province, and as a `sensor_offline` incident at the nation, within
/// `offline_seconds` and a heartbeat; heard again, it is online and the incident disposed.
#[test]
fn a_sensor_gone_silent_shows_offline_at_its_province_and_the_nation() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let national = national(tmp.path(), &ch, &[("zj-collector", "330000")]);
    let offline_seconds = 3;
    let zj = below(
        tmp.path(),
        &ch,
        &national,
        "zj-collector",
        &format!(
            "role = \"provincial\"\nprovince = \"330000\"\noffline_seconds = {offline_seconds}\n"
        ),
        &[S1, S2],
        &account("zj-analyst", "analyst", "330000", ""),
    );
    let sensors = |status: &str| -> Vec<Value> {
        get_json(&zj, &format!("/v1/sensors?status={status}"), "zj-analyst")["sensors"]
            .as_array()
            .expect("sensors")
            .clone()
    };
    assert_eq!(sensors("never_seen").len(), 2, "configured, not yet heard");

    // S1 captures live on loopback (a port nothing uses: its heartbeat is all it sends).
    let dir = tmp.path().join("s1-live");
    let config = zj.sensor_config(
        &S1,
        &dir,
        "segment_seconds = 0.2\nretry_max_s = 1\n\n[eve]\nstats_interval = 1\n",
    );
    let mut sensor = Command::new(sensor_bin())
        .args(["live", "-i", "lo", "--bpf", "tcp port 9", "--config"])
        .arg(&config)
        .arg("--eve")
        .arg(dir.join("eve.json"))
        .stderr(Stdio::null())
        .spawn()
        .expect("sensor live");
    let signal = |sig: &str| {
        Command::new("kill")
            .args([sig, &sensor.id().to_string()])
            .status()
            .expect("kill");
    };
    wait_for("S1 online", Duration::from_secs(60), || {
        sensors("online")
            .iter()
            .any(|s| s["sensor_id"] == S1.id && !s["version"].as_str().unwrap_or("").is_empty())
    });
    let s1 = sensors("online").remove(0);
    assert!(s1["last_seen"].as_u64().unwrap_or(0) > 0, "{s1}");
    assert!(s1["rules_loaded"].as_u64().unwrap_or(0) > 0, "{s1}");

    // Stopped: offline at the province, an incident at the nation.
    signal("-STOP");
    let stopped = Instant::now();
    wait_for(
        "S1 offline at the province",
        Duration::from_secs(60),
        || sensors("offline").iter().any(|s| s["sensor_id"] == S1.id),
    );
    let at_province = stopped.elapsed();
    let mut incident = Value::Null;
    wait_for(
        "a sensor_offline incident at the nation",
        Duration::from_secs(60),
        || {
            let v = get_json(&national, "/v1/incidents?state=open", "regulator");
            incident = (v["incidents"].as_array().expect("incidents").iter())
                .find(|i| i["criterion"] == "sensor_offline" && i["sensor_id"] == S1.id)
                .cloned()
                .unwrap_or(Value::Null);
            !incident.is_null()
        },
    );
    eprintln!(
        "offline at the province {at_province:?}, at the nation {:?} after the stop \
         (offline_seconds {offline_seconds}, heartbeat 1 s)",
        stopped.elapsed()
    );
    assert_eq!(incident["enterprise_id"], E1, "{incident}");
    assert_eq!(incident["origin"], "zj-collector", "{incident}");
    // The province reports its fleet up: the nation counts it too.
    let at_nation = |status: &str| -> Value {
        get_json(
            &national,
            &format!("/v1/sensors?status={status}"),
            "regulator",
        )
    };
    wait_for(
        "S1 offline in the nation's fleet",
        Duration::from_secs(60),
        || {
            let v = at_nation("offline");
            v["sensors"]
                .as_array()
                .expect("sensors")
                .iter()
                .any(|s| s["sensor_id"] == S1.id)
                && v["counts"]["never_seen"] == 1
        },
    );
    assert!(
        sensors("online").is_empty() && sensors("never_seen").len() == 1,
        "S2 never ran: never seen, not offline"
    );

    // Heard again: online, and the outage's incident disposed, up to the nation.
    signal("-CONT");
    let id = incident["incident_id"].as_str().expect("id").to_owned();
    wait_for("S1 online again", Duration::from_secs(60), || {
        sensors("online").iter().any(|s| s["sensor_id"] == S1.id)
    });
    wait_for(
        "the incident disposed at the nation",
        Duration::from_secs(60),
        || get_json(&national, &format!("/v1/incidents/{id}"), "regulator")["state"] == "disposed",
    );
    let _ = sensor.kill();
    let _ = sensor.wait();
}
