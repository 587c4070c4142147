//! The national tier reads the roll-ups the provinces report, each bucket in versions of which
//! the latest counts. Days the collector has merged are read without FINAL, the others with
//! it: the regulator's figures are the same before and after, and when a late version makes a
//! settled day unsettled again.

use std::time::{Duration, Instant};

use icsight_tests::cluster::{account, account_token, national, ClickHouse, Collector};

const EVER: &str = "from=1970-01-02T00:00:00Z&to=2099-01-01T00:00:00Z";

fn total(national: &Collector) -> u64 {
    let (s, b) = national.get(
        &format!("/v1/rollup?step=1h&{EVER}"),
        Some(&account_token("regulator")),
    );
    assert_eq!(s, 200, "{b}");
    let v: serde_json::Value = serde_json::from_str(&b).expect("json");
    v["series"]
        .as_array()
        .expect("series")
        .iter()
        .flat_map(|s| s["points"].as_array().expect("points").iter())
        .map(|p| p["alerts"].as_u64().expect("alerts"))
        .sum()
}

fn wait_settled(ch: &ClickHouse) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while ch.count(
        "SELECT count() FROM (SELECT partition FROM system.parts \
         WHERE database = 'nat' AND table = 'tier_rollup_5m' AND active \
         GROUP BY partition HAVING count() > 1 OR min(level) = 0)",
    ) > 0
    {
        assert!(Instant::now() < deadline, "the days were not merged");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn row(bucket: u64, enterprise: &str, alerts: u64, version: u64) -> String {
    format!(
        "({bucket}, '330000', '{enterprise}', 'energy', 1, 1, 'T0855', 'modbus', 'signature', \
         {alerts}, {version}, 'zj')"
    )
}

#[test]
fn settled_and_unsettled_days_count_each_buckets_latest_version_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let national = national(
        tmp.path(),
        &ch,
        "settle_interval_s = 1\n",
        &account("regulator", "regulator", "", ""),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 300
        * 300;
    let old = now - 3 * 86_400;
    let insert = |rows: &[String]| {
        ch.query(&format!(
            "INSERT INTO nat.tier_rollup_5m (bucket, province, enterprise_id, industry, grade, \
             severity, technique, app_proto, kind, alerts, version, collector_id) VALUES {}",
            rows.join(",")
        ))
    };
    // Two versions of one bucket in one part (a merge collapses them, an insert does not),
    // another enterprise's bucket, and one of today.
    insert(&[row(old, "A", 5, 1), row(old, "A", 7, 2)]);
    insert(&[row(old, "B", 1, 1)]);
    insert(&[row(now, "C", 2, 1)]);
    assert_eq!(total(&national), 10);
    wait_settled(&ch);
    assert_eq!(total(&national), 10, "read without FINAL once merged");

    // A late version of a settled day: counted in place of the earlier one at once, and
    // after the day is merged again.
    insert(&[row(old, "A", 9, 3)]);
    assert_eq!(total(&national), 12);
    wait_settled(&ch);
    assert_eq!(total(&national), 12);
    assert_eq!(
        ch.count("SELECT sum(alerts) FROM nat.tier_rollup_5m"),
        12,
        "the merges left one version of each bucket"
    );
}
