//! Reported roll-ups read without paying for FINAL on every day.
//!
//! The tiers below report each 5-minute bucket in versions, the later replacing the earlier
//! (`tier_rollup_5m`, a ReplacingMergeTree). Reading with FINAL collapses the versions at query
//! time, at a hundred times the cost of a plain scan: 10.9 s against 0.10 s to sum 10 M rows by
//! province on ClickHouse 18.16. But a day whose partition is a single merged part already
//! holds one row per bucket — merging collapsed the versions. So the collector merges the days
//! that received rows ([`run_loop`], `OPTIMIZE … PARTITION … FINAL`), and readers scan the
//! settled days plainly and only the others, today's as a rule, with FINAL ([`source`]).
//! Answers are the same either way; only their cost differs.

use std::time::Duration;

use clickhouse::Client;

/// The days (`YYYYMMDD`) of a table: those whose partition is one merged part, and the others.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Settled {
    settled: Vec<u32>,
    unsettled: Vec<u32>,
}

#[derive(serde::Deserialize, clickhouse::Row)]
struct PartitionRow {
    partition: String,
    parts: u64,
    min_level: u32,
}

async fn partitions(
    client: &Client,
    db: &str,
    table: &str,
) -> clickhouse::error::Result<Vec<PartitionRow>> {
    client
        .query(
            "SELECT partition, count() AS parts, min(level) AS min_level FROM system.parts \
             WHERE database = ? AND table = ? AND active GROUP BY partition ORDER BY partition",
        )
        .bind(db)
        .bind(table)
        .fetch_all()
        .await
}

/// Whether a partition of `parts` parts, the least merged at `min_level`, holds each key once.
/// An inserted part (level 0) may hold two versions of a key from one batch.
fn is_settled(parts: u64, min_level: u32) -> bool {
    parts == 1 && min_level > 0
}

/// The days of `table`, settled or not, now.
pub async fn settled(client: &Client, db: &str, table: &str) -> clickhouse::error::Result<Settled> {
    let mut days = Settled::default();
    for p in partitions(client, db, table).await? {
        if let Ok(day) = p.partition.parse() {
            if is_settled(p.parts, p.min_level) {
                days.settled.push(day);
            } else {
                days.unsettled.push(day);
            }
        }
    }
    Ok(days)
}

/// A FROM clause reading `table` (partitioned by `toYYYYMMDD(bucket)`) as FINAL would, with
/// `filter` (` AND …`, or empty) applied in both halves; `binds` (the filter's) are doubled to
/// match. Both halves name their days: ClickHouse 18.16 prunes partitions by `IN`, not by
/// `NOT IN`. A day that changes state between the listing and the query (its first report
/// arriving, or a new version of a settled day) is counted as it was listed; the next query
/// is exact again.
pub fn source<T: Clone>(table: &str, days: &Settled, filter: &str, binds: &mut Vec<T>) -> String {
    let list = |v: &[u32]| {
        std::iter::once(0)
            .chain(v.iter().copied())
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let again = binds.clone();
    binds.extend(again);
    format!(
        "(SELECT * FROM {table} WHERE toYYYYMMDD(bucket) IN ({}){filter} \
         UNION ALL SELECT * FROM {table} FINAL WHERE toYYYYMMDD(bucket) IN ({}){filter})",
        list(&days.settled),
        list(&days.unsettled)
    )
}

/// Merge every unsettled partition of `table` now, oldest first. Returns how many were merged.
pub async fn run(client: &Client, db: &str, table: &str) -> clickhouse::error::Result<usize> {
    let mut merged = 0;
    for p in partitions(client, db, table).await? {
        if is_settled(p.parts, p.min_level) || !p.partition.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        // `partition` is all digits: safe to name in the statement.
        client
            .query(&format!(
                "OPTIMIZE TABLE {db}.{table} PARTITION {} FINAL",
                p.partition
            ))
            .execute()
            .await?;
        merged += 1;
    }
    Ok(merged)
}

/// Settle `tier_rollup_5m` every `interval`: today's partition takes new parts with every
/// report, older ones only when a late version arrives.
pub async fn run_loop(store: super::Store, interval: Duration) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = run(store.client(), store.db(), "tier_rollup_5m").await {
            tracing::warn!(error = %e, "settling reported roll-ups");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_merged_part_is_settled() {
        assert!(is_settled(1, 1));
        assert!(!is_settled(1, 0), "an inserted part may repeat a key");
        assert!(!is_settled(2, 3), "two parts may hold two versions");
    }

    #[test]
    fn both_halves_filter_and_bind() {
        let mut binds = vec!["330000".to_owned()];
        let days = Settled {
            settled: vec![20261201, 20261202],
            unsettled: vec![20261203],
        };
        let sql = source("t", &days, " AND province = ?", &mut binds);
        assert_eq!(binds, ["330000", "330000"]);
        assert_eq!(sql.matches("province = ?").count(), 2);
        assert!(sql.contains("FROM t WHERE toYYYYMMDD(bucket) IN (0,20261201,20261202) AND"));
        assert!(sql.contains("FROM t FINAL WHERE toYYYYMMDD(bucket) IN (0,20261203) AND"));
    }
}
