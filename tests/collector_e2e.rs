//! Sensors to ClickHouse, end to end, with real parts: a private ClickHouse, one collector over
//! mutual TLS and tokens, two sensors replaying captures from `pcaps/` and `../shared/pcaps/`
//! with their uplinks on. What ClickHouse holds must equal, one for one, what the sensors wrote
//! locally — also when the collector is SIGKILLed twice and ClickHouse is killed and kept down
//! for a minute while the sensors are sending.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use icsight_tests::cluster::{Auth, ClickHouse, Collector, SensorSpec};
use icsight_tests::{root, sensor_bin, shared_pcaps};
use serde_json::Value;

const PLANT_ZJ: SensorSpec = SensorSpec {
    id: "zj-plant-s01",
    enterprise_id: "91330100MA27XY1235",
    province: "330000",
    industry: "petrochemical",
    grade: 1,
    auth: Auth::Certificate,
};

const PLANT_GD: SensorSpec = SensorSpec {
    id: "gd-plant-s07",
    enterprise_id: "91440300MA5FXT12X5",
    province: "440000",
    industry: "water",
    grade: 2,
    auth: Auth::Token,
};

/// The project's own captures, the attack on the learned plant among them.
fn captures_zj() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("pcaps"))
        .expect("pcaps/")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    v.sort();
    v
}

/// Public captures with alerts and anomalies of all three protocols.
fn captures_gd() -> Vec<PathBuf> {
    [
        "modbus/Modbus_dataset-CSET16/send_a_fake_command_modbus_6RTU_with_operate.pcap",
        "modbus/Modbus_dataset-CSET16/characterization_modbus_6RTU_with_operate.pcap",
        "s7comm/s7-pcaps/tia_s300_downloadOb1.pcapng",
        "s7comm/s7-pcaps/step7_s300_stop.pcapng",
    ]
    .iter()
    .map(|p| shared_pcaps().join(p))
    .chain(
        ["dnp3_attack_control.pcap", "s7comm_snap7_control.pcap"]
            .iter()
            .map(|p| root().join("pcaps").join(p)),
    )
    .collect()
}

/// A baseline learned from the plant's normal recording, so the attack raises anomaly alerts.
fn learned(dir: &Path) -> PathBuf {
    let out = dir.join("baseline.json");
    let o = Command::new(sensor_bin())
        .args(["learn", "--no-progress", "--out"])
        .arg(&out)
        .arg(root().join("pcaps/baseline_normal_a.pcap"))
        .output()
        .expect("run sensor learn");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

/// Start `sensor replay` of `inputs` for `spec`, EVE to `dir/eve.json`.
fn start_sensor(
    col: &Collector,
    spec: &SensorSpec,
    dir: &Path,
    inputs: &[PathBuf],
    baseline: Option<&Path>,
    uplink: &str,
) -> Child {
    let config = col.sensor_config(spec, dir, uplink);
    let mut cmd = Command::new(sensor_bin());
    cmd.args(["replay", "--no-progress", "--config"])
        .arg(&config)
        .arg("--eve")
        .arg(dir.join("eve.json"));
    if let Some(b) = baseline {
        cmd.arg("--baseline").arg(b);
    }
    cmd.args(inputs)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log")).expect("sensor log"))
        .spawn()
        .expect("start sensor")
}

fn finish_sensor(mut child: Child, dir: &Path, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("wait sensor") {
            let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            assert!(status.success(), "sensor failed ({status}): {log}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "sensor still sending after {within:?}: {}",
                std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Segments in a spool, waiting to be sent.
fn segments(spool: &Path) -> usize {
    std::fs::read_dir(spool).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".ndjson"))
            .count()
    })
}

/// Every spool segment was acknowledged and deleted; none refused.
fn spool_empty(dir: &Path) {
    let spool = dir.join("spool");
    let left: Vec<_> = std::fs::read_dir(&spool)
        .expect("spool dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ndjson") || n.ends_with(".open"))
        .collect();
    assert!(left.is_empty(), "left in {}: {left:?}", spool.display());
    let rejected = spool.join("rejected");
    if rejected.exists() {
        let n = std::fs::read_dir(&rejected).expect("rejected dir").count();
        assert_eq!(
            n,
            0,
            "segments refused by the collector in {}",
            rejected.display()
        );
    }
}

/// The local EVE events of `types`, keyed by event id, as (table, the columns compared).
fn local_events(dir: &Path, types: &[&str]) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("eve.json")).expect("eve.json");
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).expect("EVE line is JSON");
        let t = e["event_type"].as_str().expect("event_type");
        if !types.contains(&t) {
            continue;
        }
        let id = e["event_id"].as_str().expect("event_id").to_owned();
        let row = describe(&e);
        assert!(
            out.insert(id.clone(), row).is_none(),
            "event id {id} twice in EVE"
        );
    }
    out
}

/// What must agree between an EVE event and its stored row.
fn describe(e: &Value) -> String {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    match e["event_type"].as_str() {
        Some("alert") => format!(
            "alert {} {} {} {} {}",
            s(&e["alert"]["signature_id"]),
            s(&e["alert"]["severity"]),
            s(&e["src_ip"]),
            s(&e["dest_ip"]),
            s(&e["alert"]["signature"]),
        ),
        // Stored by its whole name (`modbus.invalid_value`), whichever layout EVE wrote.
        Some("anomaly") => format!(
            "anomaly {}",
            icsight_eve::anomaly_name_of(e).unwrap_or_default()
        ),
        Some("flow") => format!(
            "flow {} {} {}",
            s(&e["src_ip"]),
            s(&e["dest_ip"]),
            s(&e["flow"]["pkts_toserver"])
        ),
        Some("asset") => format!("asset {}", s(&e["asset"]["ip"])),
        Some(t) => format!("{t} {}", s(&e["flow_id"])),
        None => panic!("no event_type: {e}"),
    }
}

/// The stored rows of `sensor` in `db`, keyed by event id, described as [`describe`] does.
/// Panics on an id stored twice.
fn stored_events(ch: &ClickHouse, db: &str, sensor: &str) -> BTreeMap<String, String> {
    let queries = [
        format!(
            "SELECT event_id, concat('alert ', toString(sid), ' ', toString(severity), ' ', src_ip, ' ', dest_ip, ' ', signature) FROM {db}.alerts WHERE sensor_id = '{sensor}'"
        ),
        format!("SELECT event_id, concat('anomaly ', event) FROM {db}.anomalies WHERE sensor_id = '{sensor}'"),
        format!(
            "SELECT event_id, concat('flow ', src_ip, ' ', dest_ip, ' ', toString(pkts_toserver)) FROM {db}.flows WHERE sensor_id = '{sensor}'"
        ),
        format!("SELECT event_id, concat('asset ', ip) FROM {db}.assets WHERE sensor_id = '{sensor}'"),
        format!(
            "SELECT event_id, concat(app_proto, ' ', toString(flow_id)) FROM {db}.transactions WHERE sensor_id = '{sensor}'"
        ),
    ];
    let mut out = BTreeMap::new();
    for q in queries {
        for line in ch.query(&format!("{q} FORMAT TabSeparatedRaw")).lines() {
            let (id, row) = line.split_once('\t').expect("two columns");
            assert!(
                out.insert(id.to_owned(), row.to_owned()).is_none(),
                "event {id} of {sensor} stored twice"
            );
        }
    }
    out
}

fn assert_one_for_one(ch: &ClickHouse, db: &str, spec: &SensorSpec, dir: &Path, types: &[&str]) {
    let local = local_events(dir, types);
    let stored = stored_events(ch, db, spec.id);
    let missing: Vec<_> = local.keys().filter(|k| !stored.contains_key(*k)).collect();
    let extra: Vec<_> = stored.keys().filter(|k| !local.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{}: {} events lost, {} not in EVE (first lost {:?}, first extra {:?})",
        spec.id,
        missing.len(),
        extra.len(),
        missing.first(),
        extra.first()
    );
    for (id, row) in &local {
        assert_eq!(&stored[id], row, "{}: event {id} differs", spec.id);
    }
    let alerts = local.values().filter(|r| r.starts_with("alert ")).count();
    assert!(alerts > 0, "{}: no alerts to compare", spec.id);
    eprintln!(
        "{}: {} events stored one for one ({alerts} alerts)",
        spec.id,
        local.len()
    );
}

/// The stored scope of each sensor is its credential's, whatever the events say.
fn assert_scoped(ch: &ClickHouse, db: &str, spec: &SensorSpec) {
    let scopes = ch.query(&format!(
        "SELECT DISTINCT enterprise_id, province, industry, grade FROM {db}.alerts WHERE sensor_id = '{}' FORMAT TSV",
        spec.id
    ));
    assert_eq!(
        scopes.trim(),
        format!(
            "{}\t{}\t{}\t{}",
            spec.enterprise_id, spec.province, spec.industry, spec.grade
        )
    );
}

const DEFAULT_TYPES: [&str; 4] = ["alert", "anomaly", "flow", "asset"];

#[test]
fn alerts_and_anomalies_arrive_one_for_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let col = Collector::new(tmp.path(), &ch, "e2e", &[PLANT_ZJ, PLANT_GD], "");
    let baseline = learned(tmp.path());
    let (dir_zj, dir_gd) = (tmp.path().join("zj"), tmp.path().join("gd"));
    let uplink = "drain_seconds = 120\n";
    let zj = start_sensor(
        &col,
        &PLANT_ZJ,
        &dir_zj,
        &captures_zj(),
        Some(&baseline),
        uplink,
    );
    let gd = start_sensor(&col, &PLANT_GD, &dir_gd, &captures_gd(), None, uplink);
    finish_sensor(zj, &dir_zj, Duration::from_secs(180));
    finish_sensor(gd, &dir_gd, Duration::from_secs(180));
    spool_empty(&dir_zj);
    spool_empty(&dir_gd);
    assert_one_for_one(&ch, "e2e", &PLANT_ZJ, &dir_zj, &DEFAULT_TYPES);
    assert_one_for_one(&ch, "e2e", &PLANT_GD, &dir_gd, &DEFAULT_TYPES);
    assert_scoped(&ch, "e2e", &PLANT_ZJ);
    assert_scoped(&ch, "e2e", &PLANT_GD);
    // Baseline anomalies came through as alerts of their own kind.
    let baseline_alerts = ch.count(&format!(
        "SELECT count() FROM e2e.alerts WHERE sensor_id = '{}' AND kind = 'baseline'",
        PLANT_ZJ.id
    ));
    assert!(baseline_alerts >= 8, "{baseline_alerts} baseline alerts");
    // The roll-ups count what the table holds.
    let total = ch.count("SELECT count() FROM e2e.alerts");
    assert_eq!(ch.count("SELECT sum(alerts) FROM e2e.alerts_5m"), total);
    assert_eq!(
        ch.count("SELECT countMerge(alerts) FROM e2e.alerts_1h"),
        total
    );
}

/// Wait until `ch` holds more than `than` rows of the sensors' events; returns the count.
fn wait_for_more(ch: &ClickHouse, than: u64, sensors: &mut [&mut Child]) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = ch.count("SELECT count() FROM chaos.transactions");
        if n > than {
            for s in sensors.iter_mut() {
                assert!(
                    s.try_wait().expect("wait").is_none(),
                    "a sensor finished before the disruption: give it more to send"
                );
            }
            return n;
        }
        assert!(Instant::now() < deadline, "no progress past {than} rows");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn nothing_lost_or_doubled_through_collector_kills_and_a_clickhouse_outage() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let mut col = Collector::new(tmp.path(), &ch, "chaos", &[PLANT_ZJ, PLANT_GD], "");
    let baseline = learned(tmp.path());
    let (dir_zj, dir_gd) = (tmp.path().join("zj"), tmp.path().join("gd"));
    // Small batches and every transaction: thousands of requests, so the disruptions land
    // while both sensors are sending.
    let uplink = "segment_max_events = 20\nretry_min_ms = 100\nretry_max_s = 2\n\
                  drain_seconds = 600\n\
                  events = [\"alert\", \"anomaly\", \"asset\", \"flow\", \"modbus\", \"s7comm\", \"s7commplus\", \"dnp3\"]\n";
    let mut zj = start_sensor(
        &col,
        &PLANT_ZJ,
        &dir_zj,
        &captures_zj(),
        Some(&baseline),
        uplink,
    );
    let mut gd = start_sensor(&col, &PLANT_GD, &dir_gd, &captures_gd(), None, uplink);

    let mut seen = wait_for_more(&ch, 0, &mut [&mut zj, &mut gd]);
    for round in 1..=2 {
        col.kill();
        eprintln!("collector killed (round {round}) at {seen} transactions stored");
        std::thread::sleep(Duration::from_millis(500));
        col.start();
        seen = wait_for_more(&ch, seen, &mut [&mut zj, &mut gd]);
    }
    // At once, mid-insert if it is in one: a graceful stop lets ClickHouse serve the
    // connections it has for seconds, and the sensors would drain meanwhile.
    ch.kill();
    let waiting = |dir: &Path| segments(&dir.join("spool"));
    let before = (waiting(&dir_zj), waiting(&dir_gd));
    eprintln!("ClickHouse stopped at {seen} transactions stored; segments waiting {before:?}");
    assert!(
        before.0 + before.1 > 0,
        "the outage came after the sensors were done"
    );
    std::thread::sleep(Duration::from_secs(60));
    let after = (waiting(&dir_zj), waiting(&dir_gd));
    assert!(
        after.0 >= before.0 && after.1 >= before.1,
        "sent during the outage: {after:?}"
    );
    for (s, dir, n) in [(&mut zj, &dir_zj, after.0), (&mut gd, &dir_gd, after.1)] {
        if n == 0 {
            continue;
        }
        if let Some(status) = s.try_wait().expect("wait") {
            panic!(
                "a sensor with events to send ended ({status}) during the outage: {}",
                std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
            );
        }
    }
    ch.resume();
    eprintln!("ClickHouse back");

    finish_sensor(zj, &dir_zj, Duration::from_secs(400));
    finish_sensor(gd, &dir_gd, Duration::from_secs(400));
    spool_empty(&dir_zj);
    spool_empty(&dir_gd);
    let all = [
        "alert",
        "anomaly",
        "flow",
        "asset",
        "modbus",
        "s7comm",
        "s7commplus",
        "dnp3",
    ];
    assert_one_for_one(&ch, "chaos", &PLANT_ZJ, &dir_zj, &all);
    assert_one_for_one(&ch, "chaos", &PLANT_GD, &dir_gd, &all);
    // The roll-ups and the inventory count what the tables hold, though ClickHouse may have
    // died between a table and its views.
    let total = ch.count("SELECT count() FROM chaos.alerts");
    assert_eq!(ch.count("SELECT sum(alerts) FROM chaos.alerts_5m"), total);
    assert_eq!(
        ch.count("SELECT countMerge(alerts) FROM chaos.alerts_1h"),
        total
    );
    assert_eq!(
        ch.count("SELECT count() FROM chaos.assets_current FINAL"),
        ch.count("SELECT uniqExact(enterprise_id, ip) FROM chaos.assets")
    );
    let (_, metrics) = col.get("/metrics", None);
    assert!(
        metrics.contains("icsight_collector_batches_total"),
        "{metrics}"
    );
}
