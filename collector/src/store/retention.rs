//! Retention as DROP PARTITION: event tables keep `retention_days` of event days, roll-ups
//! `rollup_retention_days`. Dropping a whole partition is instant and needs no TTL support.

use std::time::Duration;

use anyhow::Context;
use clickhouse::Client;
use icsight_eve::Timestamp;
use prometheus_client::metrics::counter::Counter;

use crate::config::StorageConfig;

use super::schema::{Partition, EVENT_TABLES, ROLLUP_TABLES};

/// Drop the partitions wholly older than the retention periods, `now` being UNIX seconds.
/// Returns the `table/partition` names dropped.
pub async fn run(
    client: &Client,
    db: &str,
    retention_days: u32,
    rollup_retention_days: u32,
    now: u64,
) -> anyhow::Result<Vec<String>> {
    let mut dropped = Vec::new();
    let tables = EVENT_TABLES
        .iter()
        .map(|t| (*t, Partition::Day, retention_days))
        .chain(
            ROLLUP_TABLES
                .iter()
                .map(|(t, p)| (*t, *p, rollup_retention_days)),
        );
    for (table, partition, days) in tables {
        if days == 0 {
            continue;
        }
        let cutoff = yyyymmdd(now.saturating_sub(u64::from(days) * 86_400));
        let parts: Vec<String> = client
            .query(
                "SELECT DISTINCT partition FROM system.parts \
                 WHERE database = ? AND table = ? AND active",
            )
            .bind(db)
            .bind(table)
            .fetch_all()
            .await
            .with_context(|| format!("listing the partitions of {db}.{table}"))?;
        for p in parts {
            if expired(&p, partition, cutoff) {
                // `p` is all digits (checked by `expired`): safe to name in the statement.
                client
                    .query(&format!("ALTER TABLE {db}.{table} DROP PARTITION {p}"))
                    .execute()
                    .await
                    .with_context(|| format!("dropping partition {p} of {db}.{table}"))?;
                dropped.push(format!("{table}/{p}"));
            }
        }
    }
    Ok(dropped)
}

/// Whether every day of partition `id` is before `cutoff` (a YYYYMMDD number).
fn expired(id: &str, partition: Partition, cutoff: u32) -> bool {
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Ok(n) = id.parse::<u32>() else {
        return false;
    };
    match partition {
        Partition::Day if id.len() == 8 => n < cutoff,
        // A month is over when its last possible day is before the cutoff.
        Partition::Month if id.len() == 6 => n * 100 + 31 < cutoff,
        _ => false,
    }
}

/// The UTC day of UNIX second `t`, as YYYYMMDD.
fn yyyymmdd(t: u64) -> u32 {
    let text = Timestamp(t * 1_000_000).rfc3339();
    text[..10]
        .replace('-', "")
        .parse()
        .expect("a formatted date")
}

/// Apply retention now and then every `retention_interval_s`; `dropped` counts partitions.
pub async fn run_loop(store: super::Store, s: StorageConfig, dropped: Counter) {
    if s.retention_days == 0 && s.rollup_retention_days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(s.retention_interval_s.max(60)));
    loop {
        tick.tick().await;
        let now = crate::time::now_s();
        match run(
            store.client(),
            store.db(),
            s.retention_days,
            s.rollup_retention_days,
            now,
        )
        .await
        {
            Ok(names) => {
                dropped.inc_by(names.len() as u64);
                if !names.is_empty() {
                    tracing::info!(partitions = %names.join(" "), "retention dropped");
                }
            }
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "retention failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_expire_whole() {
        let cutoff = yyyymmdd(1_795_282_860); // 2026-11-21
        assert_eq!(cutoff, 20261121);
        assert!(expired("20261120", Partition::Day, cutoff));
        assert!(!expired("20261121", Partition::Day, cutoff));
        assert!(expired("202610", Partition::Month, cutoff));
        assert!(!expired("202611", Partition::Month, cutoff));
        assert!(!expired("tuple()", Partition::Day, cutoff));
        assert!(!expired("2026112", Partition::Day, cutoff));
    }
}
