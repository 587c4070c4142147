//! The event tables' insert buffers, against a real ClickHouse: many senders' batches sent at
//! once — each twice, and overlapping the one before — go in a few INSERTs, not one each,
//! every event is stored once and counted once by the roll-ups, and a buffer is never larger
//! than its bound.

use std::sync::Arc;
use std::time::Duration;

use collector::config::{ClickHouseConfig, SensorEntry};
use collector::event::{Envelope, Kind};
use collector::store::buffer::Buffering;
use collector::store::{self, schema, Batch, Store};
use icsight_tests::cluster::ClickHouse;

const SENSORS: usize = 24;
const BATCHES: usize = 4;
const PER_BATCH: usize = 250;

fn sensor(i: usize) -> SensorEntry {
    SensorEntry {
        id: format!("s{i}"),
        enterprise_id: format!("E{}", i / 3),
        province: format!("{}", 110000 + (i % 4) * 10000),
        industry: "water".into(),
        grade: 2,
        token_sha256: String::new(),
    }
}

/// Batch `b` of sensor `i`: alerts `b * PER_BATCH / 2 ..` — each batch repeats the second half
/// of the one before.
fn batch(who: &SensorEntry, b: usize) -> Batch {
    let mut out = Batch::default();
    let first = b * PER_BATCH / 2;
    for n in first..first + PER_BATCH {
        let line = format!(
            r#"{{"timestamp":"2026-11-21T{:02}:{:02}:{:02}.000001+0000","event_id":"{}-{n}","flow_id":{n},"event_type":"alert","src_ip":"10.0.0.{}","src_port":40000,"dest_ip":"10.0.0.2","dest_port":502,"proto":"TCP","app_proto":"modbus","alert":{{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"ICSIGHT MODBUS write","category":"c","severity":{},"metadata":{{"mitre_attack_ics":["T0836"]}}}},"sensor":{{"id":"{}","enterprise_id":"{}","province":"{}"}}}}"#,
            n / 3600,
            n / 60 % 60,
            n % 60,
            who.id,
            n % 200 + 1,
            n % 3 + 1,
            who.id,
            who.enterprise_id,
            who.province,
        );
        let env = Envelope::parse(&line).expect("alert line");
        let row = env
            .row(&line, who, 1, |_| true)
            .expect("row")
            .expect("kept");
        out.push(row);
    }
    out
}

/// Distinct alerts the batches hold, all sensors together.
fn distinct() -> u64 {
    (SENSORS * ((BATCHES - 1) * PER_BATCH / 2 + PER_BATCH)) as u64
}

fn inserts(ch: &ClickHouse) -> u64 {
    ch.count("SELECT sum(value) FROM system.events WHERE event = 'InsertQuery'")
}

/// Send every batch twice, all at once; (stored, duplicates) summed over the answers.
async fn send_all(store: &Store) -> (usize, usize) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..SENSORS {
        for b in 0..BATCHES {
            for _ in 0..2 {
                let (store, who) = (store.clone(), sensor(i));
                tasks.spawn(async move { store.store(&who, &Arc::new(batch(&who, b))).await });
            }
        }
    }
    let (mut stored, mut duplicates) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let by_kind = done.expect("task").expect("stored");
        let a = by_kind[&Kind::Alert];
        assert_eq!(a.stored + a.duplicates, PER_BATCH, "{a:?}");
        stored += a.stored;
        duplicates += a.duplicates;
    }
    (stored, duplicates)
}

fn assert_once(ch: &ClickHouse, db: &str) {
    let want = distinct();
    assert_eq!(ch.count(&format!("SELECT count() FROM {db}.alerts")), want);
    assert_eq!(
        ch.count(&format!(
            "SELECT count() FROM (SELECT DISTINCT sensor_id, event_id FROM {db}.alerts)"
        )),
        want
    );
    assert_eq!(
        ch.count(&format!("SELECT sum(alerts) FROM {db}.alerts_5m")),
        want
    );
    assert_eq!(
        ch.count(&format!(
            "SELECT toUInt64(countMerge(alerts)) FROM {db}.alerts_1h"
        )),
        want
    );
}

/// A store on a new database `db` of `ch`, its buffers `rows` long (200 ms at most), `lanes` a
/// table.
async fn migrated(ch: &ClickHouse, db: &str, rows: usize, lanes: usize) -> Store {
    let config = ClickHouseConfig {
        url: ch.url.clone(),
        database: db.into(),
        ..ClickHouseConfig::default()
    };
    schema::migrate(&store::client(&config), db)
        .await
        .expect("migrate");
    Store::new(&config).with_buffering(Buffering {
        rows,
        linger: Duration::from_millis(200),
        lanes,
    })
}

/// [`send_all`], and the INSERTs ClickHouse ran meanwhile.
async fn send_all_counted(ch: &ClickHouse, store: &Store) -> (usize, usize, u64) {
    let before = inserts(ch);
    let (stored, duplicates) = send_all(store).await;
    (stored, duplicates, inserts(ch) - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_senders_share_inserts_and_every_event_is_stored_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let submissions = (SENSORS * BATCHES * 2) as u64;
    let total = submissions * PER_BATCH as u64;

    // Unbounded but for time: the batches of the moment share a buffer.
    let store = migrated(&ch, "shared", 1_000_000, 2).await;
    let (stored, duplicates, used) = send_all_counted(&ch, &store).await;
    assert_eq!(stored as u64, distinct());
    assert_eq!((stored + duplicates) as u64, total);
    assert_once(&ch, "shared");
    assert!(
        used <= 16,
        "{submissions} batches took {used} INSERTs: they were not gathered"
    );

    // Bounded by size: no buffer holds more than 1,000 rows (4 batches), so at least one
    // INSERT per 1,000 distinct rows.
    let store = migrated(&ch, "small", 1_000, 3).await;
    let (stored, _, used) = send_all_counted(&ch, &store).await;
    assert_eq!(stored as u64, distinct());
    assert_once(&ch, "small");
    assert!(
        used >= distinct() / 1_000,
        "{used} INSERTs for {} rows: a buffer outgrew its bound",
        distinct()
    );
    // And sent again, after the fact: nothing is stored twice.
    let (stored, duplicates) = send_all(&store).await;
    assert_eq!((stored as u64, duplicates as u64), (0, total));
    assert_once(&ch, "small");
}
