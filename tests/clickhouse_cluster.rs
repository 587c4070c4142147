//! The collector's schema on a real ClickHouse cluster (`scripts/clickhouse.sh cluster`: a
//! ZooKeeper and 2 shards × 2 replicas of Debian's ClickHouse on loopback): every migration,
//! rewritten for the cluster (`collector/src/store/cluster.rs`), runs; alerts written through
//! the Distributed table land on the shard of their enterprise, on both of its replicas; and
//! the roll-ups the materialized views keep shard by shard add up through theirs.

use std::time::{Duration, Instant};

use collector::store::cluster::rewrite;
use collector::store::schema::MIGRATIONS;
use icsight_tests::cluster::ClickHouseCluster;

#[test]
fn the_schema_runs_on_a_cluster_sharded_by_enterprise_and_replicated() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = ClickHouseCluster::start(dir.path());
    let n = &cluster.nodes;
    n[0].query("CREATE DATABASE IF NOT EXISTS icsight ON CLUSTER icsight_all");
    let mut statements = 0;
    for m in MIGRATIONS {
        for s in m.statements {
            for r in rewrite(s, "icsight").unwrap() {
                n[0].query(&r.replace("{db}", "icsight"));
                statements += 1;
            }
        }
    }
    assert!(statements >= 80, "{statements} statements");

    // 1,000 alerts of 100 enterprises, through the Distributed table of another server,
    // acknowledged once the shards have them.
    n[1].query_with(
        "insert_distributed_sync=1",
        "INSERT INTO icsight.alerts (ts, ts_us, received, event_id, sensor_id, enterprise_id, \
         province, severity, kind, src_ip) SELECT now(), number, now(), toString(number), 's1', \
         concat('E', toString(number % 100)), '330000', 2, 'signature', '10.0.0.1' \
         FROM system.numbers LIMIT 1000",
    );
    // Each shard's second replica fetches what its first took, the alerts and the roll-ups the
    // first's views wrote: wait for every server to answer the whole through every table.
    let sums = [
        "SELECT count() FROM icsight.alerts",
        "SELECT sum(alerts) FROM icsight.alerts_5m",
        "SELECT countMerge(alerts) FROM icsight.alerts_1h",
        "SELECT sum(alerts) FROM icsight.rollup_dirty",
    ];
    let local = |i: usize| n[i].count("SELECT count() FROM icsight.alerts_local");
    let answers = || -> Vec<u64> {
        n.iter()
            .flat_map(|node| sums.iter().map(|q| node.count(q)))
            .chain((0..4).map(local))
            .collect()
    };
    let settled =
        |a: &[u64]| a[..16].iter().all(|&x| x == 1000) && a[16] == a[17] && a[18] == a[19];
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut a = answers();
    while !settled(&a) {
        assert!(Instant::now() < deadline, "never settled: {a:?}");
        std::thread::sleep(Duration::from_millis(200));
        a = answers();
    }
    assert!(
        local(0) > 0 && local(2) > 0,
        "both shards hold alerts: {a:?}"
    );
    assert_eq!(local(0) + local(2), 1000);
    // An enterprise lives on one shard.
    let enterprises =
        |i: usize| n[i].count("SELECT uniqExact(enterprise_id) FROM icsight.alerts_local");
    assert_eq!(enterprises(0) + enterprises(2), 100);
}
