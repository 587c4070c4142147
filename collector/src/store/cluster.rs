//! The schema on a ClickHouse cluster. Each statement of [`super::schema`] is written for one
//! server; on a cluster (`[clickhouse] cluster = "name"`) it becomes what ClickHouse's own
//! engines need, so that the rest of the collector keeps reading and writing `{db}.T`:
//!
//! * a table `T` becomes its shard-local, replicated table `T_local` (`ReplicatedMergeTree`,
//!   `ReplicatedReplacingMergeTree` … in ZooKeeper under `/clickhouse/tables/{shard}/{db}.T`,
//!   one replica a server by the `{replica}` macro) and, under the old name, a `Distributed`
//!   table over every shard's `T_local`, both created `ON CLUSTER`;
//! * rows go to the shard of their enterprise (`cityHash64(enterprise_id)`), so an
//!   enterprise's events, roll-ups and replaced rows sit together and `FINAL` and the
//!   materialized views work shard by shard; a table without enterprises is sharded by the
//!   first column it is ordered by, which is what its rows are replaced by;
//! * a materialized view reads and writes the shard-local tables: it runs where the rows land;
//! * a column added is added to the local tables and to the `Distributed` table alike;
//! * a `Log` table (bookkeeping) is made on every server as it is.
//!
//! What every server keeps alone (the `Distributed` tables, `Log` tables) is altered and made
//! `ON CLUSTER {cluster}_all`, a cluster of the same servers each its own shard: ClickHouse
//! refuses an `ALTER … ON CLUSTER` of an unreplicated table on a cluster whose shards
//! replicate. A deployment defines both (`scripts/clickhouse.sh cluster` does).
//!
//! Statements are rewritten as text: the schema's statements have one shape each (see the
//! tests), and a statement of another shape is refused by name rather than run wrong.

use anyhow::{bail, Context};

/// The engines that have a replicated twin.
const REPLICABLE: [&str; 4] = [
    "MergeTree",
    "ReplacingMergeTree",
    "SummingMergeTree",
    "AggregatingMergeTree",
];

/// Suffix of the shard-local tables.
pub const LOCAL: &str = "_local";

/// The statements that make one single-server `statement` on cluster `cluster`. `{db}` stays
/// for the caller to replace; `{shard}` and `{replica}` are the servers' macros.
pub fn rewrite(statement: &str, cluster: &str) -> anyhow::Result<Vec<String>> {
    let s = statement.trim();
    if let Some(rest) = s.strip_prefix("CREATE TABLE IF NOT EXISTS {db}.") {
        return create_table(rest, cluster);
    }
    if let Some(rest) = s.strip_prefix("CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.") {
        return materialized_view(rest, cluster);
    }
    if let Some(rest) = s.strip_prefix("ALTER TABLE {db}.") {
        let (table, action) = rest
            .split_once(' ')
            .context("ALTER TABLE without an action")?;
        if !action.starts_with("ADD COLUMN ") {
            bail!("ALTER TABLE {table} {action}: only ADD COLUMN is rewritten for a cluster");
        }
        return Ok(vec![
            format!("ALTER TABLE {{db}}.{table}{LOCAL} ON CLUSTER {cluster} {action}"),
            format!("ALTER TABLE {{db}}.{table} ON CLUSTER {cluster}_all {action}"),
        ]);
    }
    if s.starts_with("INSERT INTO {db}.") {
        // Through the Distributed tables, from one server.
        return Ok(vec![s.to_owned()]);
    }
    bail!(
        "a statement of no known shape cannot be run on a cluster: {}",
        s.lines().next().unwrap_or("")
    )
}

fn create_table(rest: &str, cluster: &str) -> anyhow::Result<Vec<String>> {
    let (name, body) = rest
        .split_once(' ')
        .context("CREATE TABLE without columns")?;
    let name = name.trim_end_matches('(');
    let at = body
        .rfind(") ENGINE = ")
        .with_context(|| format!("table {name}: no engine"))?;
    let (columns, engine) = (&body[..=at], &body[at + ") ENGINE = ".len()..]);
    let kind: String = engine
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let after = &engine[kind.len()..];
    if kind == "Log" {
        return Ok(vec![format!(
            "CREATE TABLE IF NOT EXISTS {{db}}.{name} ON CLUSTER {cluster}_all {columns} ENGINE = Log{after}"
        )]);
    }
    if !REPLICABLE.contains(&kind.as_str()) {
        bail!("table {name}: engine {kind} has no replicated form");
    }
    // The engine's own arguments, if any, follow the replication path and replica name.
    let (args, tail) = match after.strip_prefix('(') {
        Some(a) => {
            let close = a
                .find(')')
                .with_context(|| format!("table {name}: engine arguments not closed"))?;
            (format!(", {}", &a[..close]), &a[close + 1..])
        }
        None => (String::new(), after),
    };
    let local = format!(
        "CREATE TABLE IF NOT EXISTS {{db}}.{name}{LOCAL} ON CLUSTER {cluster} {columns} \
         ENGINE = Replicated{kind}('/clickhouse/tables/{{shard}}/{{db}}.{name}', '{{replica}}'{args}){tail}"
    );
    let distributed = format!(
        "CREATE TABLE IF NOT EXISTS {{db}}.{name} ON CLUSTER {cluster}_all AS {{db}}.{name}{LOCAL} \
         ENGINE = Distributed({cluster}, {{db}}, {name}{LOCAL}, {key})",
        key = sharding_key(columns, tail)
            .with_context(|| format!("table {name}: no column to shard by"))?
    );
    Ok(vec![local, distributed])
}

/// By enterprise where there is one; else by the first column the table is ordered by.
fn sharding_key(columns: &str, tail: &str) -> Option<String> {
    let has = |c: &str| {
        columns
            .split([',', '(', '\n'])
            .any(|d| d.split_whitespace().next() == Some(c))
    };
    if has("enterprise_id") {
        return Some("cityHash64(enterprise_id)".to_owned());
    }
    let order = tail.split("ORDER BY").nth(1)?.trim();
    let first = order
        .trim_start_matches('(')
        .split([',', ')'])
        .next()?
        .trim();
    (!first.is_empty()).then(|| format!("cityHash64({first})"))
}

fn materialized_view(rest: &str, cluster: &str) -> anyhow::Result<Vec<String>> {
    let (name, body) = rest.split_once(' ').context("a view without a body")?;
    let body = body
        .strip_prefix("TO {db}.")
        .with_context(|| format!("view {name}: only views writing TO a table are rewritten"))?;
    let (target, select) = body
        .split_once(' ')
        .with_context(|| format!("view {name}: no SELECT"))?;
    let (before, source) = select
        .split_once("FROM {db}.")
        .with_context(|| format!("view {name}: no FROM"))?;
    let (table, after) = source.split_at(
        source
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(source.len()),
    );
    Ok(vec![format!(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {{db}}.{name} ON CLUSTER {cluster} \
         TO {{db}}.{target}{LOCAL} {before}FROM {{db}}.{table}{LOCAL}{after}"
    )])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema::MIGRATIONS;

    #[test]
    fn a_replacing_table_becomes_replicated_and_distributed_by_enterprise() {
        let out = rewrite(
            "CREATE TABLE IF NOT EXISTS {db}.asset_counts (
             province String,
             enterprise_id String,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id)",
            "icsight",
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        assert!(out[0].starts_with(
            "CREATE TABLE IF NOT EXISTS {db}.asset_counts_local ON CLUSTER icsight ("
        ));
        assert!(out[0].ends_with(
            "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{db}.asset_counts', \
             '{replica}', version) ORDER BY (province, enterprise_id)"
        ));
        assert_eq!(
            out[1],
            "CREATE TABLE IF NOT EXISTS {db}.asset_counts ON CLUSTER icsight_all AS \
             {db}.asset_counts_local ENGINE = Distributed(icsight, {db}, asset_counts_local, \
             cityHash64(enterprise_id))"
        );
    }

    #[test]
    fn a_table_without_enterprises_is_sharded_by_its_first_order_column() {
        let out = rewrite(
            "CREATE TABLE IF NOT EXISTS {db}.bulletins (bulletin_id String, version UInt64) \
             ENGINE = ReplacingMergeTree(version) ORDER BY bulletin_id",
            "c",
        )
        .unwrap();
        assert!(out[1].ends_with("cityHash64(bulletin_id))"), "{}", out[1]);
        let plain = rewrite(
            "CREATE TABLE IF NOT EXISTS {db}.audit (ts DateTime('UTC'), actor String) \
             ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (ts, actor)",
            "c",
        )
        .unwrap();
        assert!(plain[0].contains(
            "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{db}.audit', '{replica}') \
             PARTITION BY toYYYYMM(ts)"
        ));
        assert!(plain[1].ends_with("cityHash64(ts))"));
    }

    #[test]
    fn views_read_and_write_the_local_tables() {
        let out = rewrite(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_dirty_mv TO {db}.rollup_dirty AS
         SELECT received, toStartOfFiveMinute(ts) AS bucket, count() AS alerts
         FROM {db}.alerts GROUP BY received, bucket",
            "c",
        )
        .unwrap();
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_dirty_mv ON CLUSTER c TO \
             {db}.rollup_dirty_local AS"
        ));
        assert!(out[0].ends_with("FROM {db}.alerts_local GROUP BY received, bucket"));
    }

    #[test]
    fn columns_are_added_on_both_tables_and_other_alters_refused() {
        let out = rewrite(
            "ALTER TABLE {db}.incidents ADD COLUMN level UInt8 DEFAULT 0",
            "c",
        )
        .unwrap();
        assert_eq!(
            out,
            [
                "ALTER TABLE {db}.incidents_local ON CLUSTER c ADD COLUMN level UInt8 DEFAULT 0",
                "ALTER TABLE {db}.incidents ON CLUSTER c_all ADD COLUMN level UInt8 DEFAULT 0",
            ]
        );
        assert!(rewrite("ALTER TABLE {db}.t DROP PARTITION 1", "c").is_err());
        assert!(rewrite("OPTIMIZE TABLE {db}.t FINAL", "c").is_err());
    }

    /// Every statement of every migration has a cluster form: a new statement of another shape
    /// fails here, not on a regulator's cluster.
    #[test]
    fn every_migration_statement_rewrites() {
        let mut tables = 0;
        for m in MIGRATIONS {
            for s in m.statements {
                let out = rewrite(s, "icsight")
                    .unwrap_or_else(|e| panic!("migration {} ({}): {e:#}", m.version, m.name));
                for o in &out {
                    assert!(
                        o.contains("ON CLUSTER icsight") || o.starts_with("INSERT"),
                        "{o}"
                    );
                }
                tables += out.iter().filter(|o| o.contains("Distributed(")).count();
            }
        }
        assert!(tables >= 20, "{tables} distributed tables");
    }
}
