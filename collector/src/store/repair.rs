//! Roll-ups made whole after a write that stopped between a table and its views.
//!
//! ClickHouse writes an insert to the table first and to its materialized views after, one by
//! one, with no transaction around them: a server killed in between, or a view whose write
//! fails (too many parts), leaves rows in `alerts` that `alerts_5m`, `alerts_1h` and
//! `rollup_dirty` never counted, and `assets` rows `assets_current` never saw. The sender got no
//! answer and sends the batch again; finding its ids already stored is the one durable sign that
//! an earlier attempt reached the table. Then the enterprise's roll-ups over the batch's time
//! range are counted again from the table — with every other alert insert held back, so that no
//! view is half-written meanwhile — and what they lack is added. Counting rather than replaying
//! the batch makes another sensor's rows left the same way whole too; its own resend then finds
//! nothing lacking, and a batch whose earlier attempt did finish adds nothing.

use clickhouse::Client;

use super::schema::ROLLUP_DIMS as DIMS;
use super::{BindBatch, BATCH_EVENTS};
use crate::config::SensorEntry;

/// What one repair added.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Repaired {
    /// Alerts added to `alerts_5m`.
    pub five_minute: u64,
    /// Alerts added to `alerts_1h`.
    pub hourly: u64,
}

/// Count `who`'s enterprise's alerts in the buckets `[lo, hi]` (seconds) touch again and add
/// what the roll-ups lack; mark those buckets changed for the tier above. The caller holds
/// every alert insert back.
pub async fn alerts(
    client: &Client,
    db: &str,
    who: &SensorEntry,
    lo: u32,
    hi: u32,
) -> clickhouse::error::Result<Repaired> {
    let five = (lo - lo % 300, (hi - hi % 300).saturating_add(300));
    let hour = (lo - lo % 3600, (hi - hi % 3600).saturating_add(3600));
    // Per bucket and dimensions: alerts in the table (n) against alerts in the roll-up.
    let lacking_5m = format!(
        "SELECT bucket, {DIMS}, toUInt64(n - rolled) AS alerts FROM (
             SELECT toStartOfFiveMinute(ts) AS bucket, {DIMS}, count() AS n FROM {db}.alerts
             WHERE province = ? AND enterprise_id = ? AND ts >= ? AND ts < ?
             GROUP BY bucket, {DIMS}
         ) ANY LEFT JOIN (
             SELECT bucket, {DIMS}, sum(alerts) AS rolled FROM {db}.alerts_5m
             WHERE province = ? AND enterprise_id = ? AND bucket >= ? AND bucket < ?
             GROUP BY bucket, {DIMS}
         ) USING (bucket, {DIMS}) WHERE n > rolled"
    );
    let lacking_1h = format!(
        "SELECT bucket, {DIMS}, toUInt64(n - rolled) AS lacking, ips, sids FROM (
             SELECT toStartOfHour(ts) AS bucket, {DIMS}, count() AS n,
                    groupUniqArray(src_ip) AS ips, groupUniqArray(sid) AS sids
             FROM {db}.alerts
             WHERE province = ? AND enterprise_id = ? AND ts >= ? AND ts < ?
             GROUP BY bucket, {DIMS}
         ) ANY LEFT JOIN (
             SELECT bucket, {DIMS}, countMerge(alerts) AS rolled FROM {db}.alerts_1h
             WHERE province = ? AND enterprise_id = ? AND bucket >= ? AND bucket < ?
             GROUP BY bucket, {DIMS}
         ) USING (bucket, {DIMS}) WHERE n > rolled"
    );
    let scoped = |sql: &str, (from, to): (u32, u32)| {
        client
            .query(sql)
            .bind(&who.province)
            .bind(&who.enterprise_id)
            .bind(from)
            .bind(to)
            .bind(&who.province)
            .bind(&who.enterprise_id)
            .bind(from)
            .bind(to)
    };
    let five_minute: u64 = scoped(
        &format!("SELECT toUInt64(sum(alerts)) FROM ({lacking_5m})"),
        five,
    )
    .fetch_one()
    .await?;
    if five_minute > 0 {
        scoped(
            &format!("INSERT INTO {db}.alerts_5m (bucket, {DIMS}, alerts) {lacking_5m}"),
            five,
        )
        .execute()
        .await?;
    }
    let hourly: u64 = scoped(
        &format!("SELECT toUInt64(sum(lacking)) FROM ({lacking_1h})"),
        hour,
    )
    .fetch_one()
    .await?;
    if hourly > 0 {
        // As many rows as are lacking make the count; the distinct sources and signatures of
        // the whole bucket go with them (a uniq state merged twice counts each value once).
        scoped(
            &format!(
                "INSERT INTO {db}.alerts_1h (bucket, {DIMS}, alerts, sources, signatures)
                 SELECT bucket, {DIMS}, countState() AS alerts, any(s) AS sources,
                        any(g) AS signatures
                 FROM (
                     SELECT bucket, {DIMS}, arrayReduce('uniqState', ips) AS s,
                            arrayReduce('uniqState', sids) AS g, arrayJoin(range(lacking)) AS i
                     FROM ({lacking_1h})
                 ) GROUP BY bucket, {DIMS}"
            ),
            hour,
        )
        .execute()
        .await?;
    }
    // Whether or not `rollup_dirty` saw the first attempt, the tier above reads these buckets
    // again; reporting a bucket twice is harmless (the newer version replaces the older).
    client
        .query(&format!(
            "INSERT INTO {db}.rollup_dirty (received, bucket, alerts)
             SELECT now(), toDateTime(arrayJoin(?), 'UTC'), 1"
        ))
        .bind((five.0..five.1).step_by(300).collect::<Vec<u32>>())
        .execute()
        .await?;
    Ok(Repaired {
        five_minute,
        hourly,
    })
}

/// Write the inventory rows of `who`'s events `ids` (already in `assets`) to `assets_current`
/// again: a host replaced by the same version is unchanged.
pub async fn assets(
    client: &Client,
    db: &str,
    who: &SensorEntry,
    lo: u32,
    hi: u32,
    ids: &[&str],
) -> clickhouse::error::Result<()> {
    client
        .query(&format!(
            "INSERT INTO {db}.assets_current
                 (province, enterprise_id, ip, ts, ts_us, sensor_id, macs, roles, vendor, product, raw)
             SELECT province, enterprise_id, ip, ts, ts_us, sensor_id, macs, roles, vendor,
                    product, raw
             FROM {db}.assets
             WHERE {BATCH_EVENTS}"
        ))
        .bind_batch(who, (lo, hi), ids)
        .execute()
        .await
}
