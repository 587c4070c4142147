//! The ClickHouse schema, as numbered migrations.
//!
//! The statements keep to what Debian's ClickHouse 18.16 and current releases both accept: the
//! `PARTITION BY … ORDER BY` MergeTree syntax, `DateTime('UTC')`, IPs as strings, no TTL,
//! codecs, skip indexes, `LowCardinality` or query parameters. Every table of events is
//! partitioned by event day (`toYYYYMMDD`), so retention is a DROP PARTITION. Every statement is
//! `IF NOT EXISTS`: a migration that died half-way is simply run again.

use clickhouse::Client;

/// One step of the schema. `{db}` in a statement is the configured database.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub statements: &'static [&'static str],
}

/// Columns every event table starts with: when, which event, and whose.
macro_rules! event_columns {
    () => {
        "ts DateTime('UTC'),
         ts_us UInt64,
         received DateTime('UTC'),
         event_id String,
         sensor_id String,
         enterprise_id String,
         province String,
         industry String,
         grade UInt8,"
    };
}

/// The columns of a flow's 5-tuple.
macro_rules! tuple_columns {
    () => {
        "flow_id UInt64,
         src_ip String,
         src_port UInt16,
         dest_ip String,
         dest_port UInt16,
         proto String,
         app_proto String,"
    };
}

/// Event tables sort by scope, then time: an analyst's query names a province or enterprise and
/// a time range, and the ingest de-duplication looks a batch's ids up under the same prefix.
macro_rules! event_table {
    ($name:literal, $columns:expr) => {
        concat!(
            "CREATE TABLE IF NOT EXISTS {db}.",
            $name,
            " (",
            event_columns!(),
            $columns,
            ") ENGINE = MergeTree PARTITION BY toYYYYMMDD(ts) \
             ORDER BY (province, enterprise_id, sensor_id, ts, event_id)"
        )
    };
}

/// The dimensions alerts roll up by.
macro_rules! rollup_dims {
    () => {
        "province, enterprise_id, industry, grade, severity, technique, app_proto, kind"
    };
}

/// [`rollup_dims!`] for code outside the schema's `concat!`s.
pub const ROLLUP_DIMS: &str = rollup_dims!();

/// The columns of a roll-up: its time bucket and the dimensions.
macro_rules! rollup_columns {
    () => {
        "bucket DateTime('UTC'),
         province String,
         enterprise_id String,
         industry String,
         grade UInt8,
         severity UInt8,
         technique String,
         app_proto String,
         kind String,"
    };
}

pub const MIGRATIONS: &[Migration] = &[
Migration {
    version: 1,
    name: "events, roll-ups and the asset inventory",
    statements: &[
        event_table!(
            "alerts",
            concat!(
                tuple_columns!(),
                "kind String,
                 action String,
                 gid UInt32,
                 sid UInt32,
                 rev UInt32,
                 signature String,
                 category String,
                 severity UInt8,
                 technique String,
                 techniques Array(String),
                 anomaly_event String,
                 raw String"
            )
        ),
        event_table!(
            "anomalies",
            concat!(
                tuple_columns!(),
                "anomaly_type String,
                 event String,
                 raw String"
            )
        ),
        event_table!(
            "flows",
            concat!(
                tuple_columns!(),
                "flow_start DateTime('UTC'),
                 flow_end DateTime('UTC'),
                 pkts_toserver UInt64,
                 pkts_toclient UInt64,
                 bytes_toserver UInt64,
                 bytes_toclient UInt64,
                 state String,
                 reason String,
                 alerted UInt8"
            )
        ),
        event_table!("transactions", concat!(tuple_columns!(), "raw String")),
        event_table!(
            "assets",
            "ip String,
             change String,
             macs Array(String),
             roles Array(String),
             vendor String,
             product String,
             raw String"
        ),
        event_table!(
            "sensor_stats",
            "uptime UInt64,
             packets UInt64,
             bytes UInt64,
             kernel_drops UInt64,
             raw String"
        ),
        // The inventory as it stands: the latest event of each host, per enterprise.
        "CREATE TABLE IF NOT EXISTS {db}.assets_current (
             province String,
             enterprise_id String,
             ip String,
             ts DateTime('UTC'),
             ts_us UInt64,
             sensor_id String,
             macs Array(String),
             roles Array(String),
             vendor String,
             product String,
             raw String
         ) ENGINE = ReplacingMergeTree(ts_us) ORDER BY (province, enterprise_id, ip)",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.assets_current_mv TO {db}.assets_current AS
         SELECT province, enterprise_id, ip, ts, ts_us, sensor_id, macs, roles, vendor, product, raw
         FROM {db}.assets",
        concat!(
            "CREATE TABLE IF NOT EXISTS {db}.alerts_5m (",
            rollup_columns!(),
            "alerts UInt64
             ) ENGINE = SummingMergeTree(alerts) PARTITION BY toYYYYMMDD(bucket)
             ORDER BY (",
            rollup_dims!(),
            ", bucket)"
        ),
        concat!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.alerts_5m_mv TO {db}.alerts_5m AS
             SELECT toStartOfFiveMinute(ts) AS bucket, ",
            rollup_dims!(),
            ", count() AS alerts FROM {db}.alerts GROUP BY bucket, ",
            rollup_dims!()
        ),
        concat!(
            "CREATE TABLE IF NOT EXISTS {db}.alerts_1h (",
            rollup_columns!(),
            "alerts AggregateFunction(count),
                 sources AggregateFunction(uniq, String),
                 signatures AggregateFunction(uniq, UInt32)
             ) ENGINE = AggregatingMergeTree PARTITION BY toYYYYMM(bucket)
             ORDER BY (",
            rollup_dims!(),
            ", bucket)"
        ),
        concat!(
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.alerts_1h_mv TO {db}.alerts_1h AS
             SELECT toStartOfHour(ts) AS bucket, ",
            rollup_dims!(),
            ", countState() AS alerts, uniqState(src_ip) AS sources, uniqState(sid) AS signatures
             FROM {db}.alerts GROUP BY bucket, ",
            rollup_dims!()
        ),
    ],
},
Migration {
    version: 2,
    name: "tiers: registry, forwarded roll-ups, incidents, bulletins, audit",
    statements: &[
        // The registry; each import or report is a new version of the enterprise's row.
        "CREATE TABLE IF NOT EXISTS {db}.enterprises (
             enterprise_id String,
             name String,
             province String,
             industry String,
             grade UInt8,
             version UInt64,
             source String
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id)",
        // Which 5-minute buckets of alerts changed, by arrival second: what a lower tier
        // forwards again to the tier above.
        "CREATE TABLE IF NOT EXISTS {db}.rollup_dirty (
             received DateTime('UTC'),
             bucket DateTime('UTC'),
             alerts UInt64
         ) ENGINE = SummingMergeTree(alerts) PARTITION BY toYYYYMMDD(received)
         ORDER BY (received, bucket)",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.rollup_dirty_mv TO {db}.rollup_dirty AS
         SELECT received, toStartOfFiveMinute(ts) AS bucket, count() AS alerts
         FROM {db}.alerts GROUP BY received, bucket",
        // Roll-ups reported by the tiers below, each row the latest version of its bucket.
        concat!(
            "CREATE TABLE IF NOT EXISTS {db}.tier_rollup_5m (",
            rollup_columns!(),
            "alerts UInt64,
             version UInt64,
             collector_id String
             ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMMDD(bucket)
             ORDER BY (",
            rollup_dims!(),
            ", bucket)"
        ),
        "CREATE TABLE IF NOT EXISTS {db}.asset_counts (
             province String,
             enterprise_id String,
             assets UInt64,
             controllers UInt64,
             ts DateTime('UTC'),
             version UInt64,
             collector_id String
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id)",
        "CREATE TABLE IF NOT EXISTS {db}.incidents (
             incident_id String,
             province String,
             enterprise_id String,
             industry String,
             grade UInt8,
             sensor_id String,
             criterion String,
             title String,
             priority UInt8,
             severity UInt8,
             technique String,
             sid UInt32,
             state String,
             opened DateTime('UTC'),
             updated DateTime('UTC'),
             alerts UInt64,
             evidence String,
             history String,
             origin String,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id, incident_id)",
        "CREATE TABLE IF NOT EXISTS {db}.bulletins (
             bulletin_id String,
             seq UInt64,
             issuer String,
             issued DateTime('UTC'),
             title String,
             severity UInt8,
             description String,
             scope String,
             indicators String,
             rules String,
             actions String,
             deadline DateTime('UTC'),
             revoked UInt8,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY bulletin_id",
        "CREATE TABLE IF NOT EXISTS {db}.bulletin_targets (
             bulletin_id String,
             province String,
             enterprise_id String,
             name String,
             industry String,
             grade UInt8
         ) ENGINE = ReplacingMergeTree ORDER BY (bulletin_id, province, enterprise_id)",
        // One row per enterprise and step (received, acknowledged, disposed); the first time
        // a step is reported is the one kept.
        "CREATE TABLE IF NOT EXISTS {db}.bulletin_progress (
             bulletin_id String,
             province String,
             enterprise_id String,
             state String,
             at DateTime('UTC'),
             actor String,
             note String,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (bulletin_id, province, enterprise_id, state)",
        "CREATE TABLE IF NOT EXISTS {db}.audit (
             ts DateTime('UTC'),
             ts_us UInt64,
             actor String,
             role String,
             action String,
             target String,
             province String,
             enterprise_id String,
             outcome String,
             detail String,
             remote String
         ) ENGINE = MergeTree PARTITION BY toYYYYMM(ts) ORDER BY (ts, actor)",
    ],
},
Migration {
    version: 3,
    name: "situation reports",
    statements: &[
        // A report as issued, never changed: its id names its origin, scope, period and
        // language; a later version only adds the PDF rendered from the same page.
        "CREATE TABLE IF NOT EXISTS {db}.situation_reports (
             report_id String,
             origin String,
             province String,
             enterprise_id String,
             period String,
             period_from DateTime('UTC'),
             period_to DateTime('UTC'),
             issued DateTime('UTC'),
             lang String,
             title String,
             figures String,
             html String,
             pdf String,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id, report_id)",
    ],
},
Migration {
    version: 4,
    name: "incident reports",
    statements: &[
        // An incident's report: its grade (1 = I 特别重大 … 4 = IV 一般, 0 = not graded), type,
        // the last stage reported and when, the next stage's deadline and the deadline last
        // flagged overdue (UNIX seconds, 0 = none). One column a statement: an ADD COLUMN
        // whose column exists is skipped, so the migration can be run again.
        "ALTER TABLE {db}.incidents ADD COLUMN level UInt8 DEFAULT 0",
        "ALTER TABLE {db}.incidents ADD COLUMN category String DEFAULT ''",
        "ALTER TABLE {db}.incidents ADD COLUMN stage String DEFAULT ''",
        "ALTER TABLE {db}.incidents ADD COLUMN reported UInt32 DEFAULT 0",
        "ALTER TABLE {db}.incidents ADD COLUMN due UInt32 DEFAULT 0",
        "ALTER TABLE {db}.incidents ADD COLUMN flagged UInt32 DEFAULT 0",
        // An exercise (演练): it runs the whole loop, and no figure counts it.
        "ALTER TABLE {db}.incidents ADD COLUMN drill UInt8 DEFAULT 0",
        // Every report an incident received, first, follow-ups and final, each kept as
        // submitted: what was known when.
        "CREATE TABLE IF NOT EXISTS {db}.incident_reports (
             incident_id String,
             province String,
             enterprise_id String,
             origin String,
             seq UInt32,
             stage String,
             level UInt8,
             category String,
             title String,
             assets String,
             impact String,
             measures String,
             cause String,
             disposal String,
             lessons String,
             author String,
             submitted DateTime('UTC'),
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id, incident_id, seq)",
    ],
},
Migration {
    version: 5,
    name: "bulletin revisions",
    statements: &[
        // 1 as issued, one more at each amendment; an exercise flag; the issuer's words on
        // the last amendment or the revocation.
        "ALTER TABLE {db}.bulletins ADD COLUMN revision UInt32 DEFAULT 1",
        "ALTER TABLE {db}.bulletins ADD COLUMN drill UInt8 DEFAULT 0",
        "ALTER TABLE {db}.bulletins ADD COLUMN change String DEFAULT ''",
        // Progress per revision: an amended bulletin is received, acknowledged and disposed
        // of again, and what was done on the earlier revisions stays. Replaces
        // `bulletin_progress`, whose rows are revision 1's.
        "CREATE TABLE IF NOT EXISTS {db}.bulletin_steps (
             bulletin_id String,
             revision UInt32,
             province String,
             enterprise_id String,
             state String,
             at DateTime('UTC'),
             actor String,
             note String,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (bulletin_id, revision, province, enterprise_id, state)",
        // Run again after a failure, the copy repeats rows the engine collapses.
        "INSERT INTO {db}.bulletin_steps (bulletin_id, revision, province, enterprise_id, state, at, actor, note, version) \
         SELECT bulletin_id, 1, province, enterprise_id, state, at, actor, note, version FROM {db}.bulletin_progress",
    ],
},
Migration {
    version: 6,
    name: "incident coordination",
    statements: &[
        // Comments, response levels and tasks on incidents (应急协同): one row per version of
        // an entry, the newest kept; `seq` is the arrival order at this tier, which pages the
        // feed the tier below pulls.
        "CREATE TABLE IF NOT EXISTS {db}.incident_coordination (
             incident_id String,
             province String,
             enterprise_id String,
             entry_id String,
             kind String,
             tier String,
             author String,
             at DateTime('UTC'),
             text String,
             level UInt8,
             assignee_province String,
             assignee_enterprise String,
             deadline DateTime('UTC'),
             state String,
             result String,
             updated DateTime('UTC'),
             updated_by String,
             seq UInt64,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY entry_id",
    ],
},
Migration {
    version: 7,
    name: "notifications",
    statements: &[
        // Every message to a person, one row per state it reached (queued, sent, dead); the
        // notice key makes each thing told once, across restarts. Partitioned by month so
        // retention can drop old ones.
        "CREATE TABLE IF NOT EXISTS {db}.notifications (
             delivery String,
             notice String,
             event String,
             account String,
             channel String,
             recipient String,
             province String,
             enterprise_id String,
             subject String,
             state String,
             attempts UInt32,
             error String,
             at DateTime('UTC'),
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) PARTITION BY toYYYYMM(at) ORDER BY delivery",
    ],
},
Migration {
    version: 8,
    name: "bulletin retro-hunt",
    statements: &[
        // What a bulletin's retro-hunt found in the stored flows, alerts and assets: one row a
        // record, found once (de-duplicated by the engine when a revision hunts again).
        "CREATE TABLE IF NOT EXISTS {db}.bulletin_hits (
             bulletin_id String,
             revision UInt32,
             province String,
             enterprise_id String,
             sensor_id String,
             kind String,
             event_id String,
             ts DateTime('UTC'),
             src_ip String,
             src_port UInt16,
             dest_ip String,
             dest_port UInt16,
             proto String,
             indicator String,
             found DateTime('UTC'),
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (bulletin_id, province, enterprise_id, kind, event_id)",
    ],
},
Migration {
    version: 9,
    name: "bulletin TLP",
    statements: &[
        // Traffic Light Protocol level: who a bulletin may be shared with (TAXII).
        "ALTER TABLE {db}.bulletins ADD COLUMN tlp String DEFAULT 'amber'",
    ],
},
Migration {
    version: 10,
    name: "advisories and hazards",
    statements: &[
        // Security advisories as imported (CSAF 2.0): the summary the lists show and the
        // document itself, from which the matcher's catalogue is read at start.
        "CREATE TABLE IF NOT EXISTS {db}.advisories (
             advisory_id String,
             title String,
             publisher String,
             revision String,
             status String,
             tlp String,
             initial DateTime('UTC'),
             current DateTime('UTC'),
             cves Array(String),
             max_cvss Float64,
             exploited UInt8,
             vendors Array(String),
             products UInt32,
             source String,
             doc String,
             imported DateTime('UTC'),
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY advisory_id",
        // The hazard register (安全隐患): one row per version of each hazard, the newest kept.
        "CREATE TABLE IF NOT EXISTS {db}.hazards (
             hazard_id String,
             province String,
             enterprise_id String,
             industry String,
             grade UInt8,
             kind String,
             ip String,
             sensor_id String,
             vendor String,
             product String,
             model String,
             firmware String,
             advisory_id String,
             title String,
             product_name String,
             confidence String,
             why String,
             cves Array(String),
             cvss Float64,
             vector String,
             exploited UInt8,
             remediation String,
             fixed_in String,
             state String,
             assignee String,
             deadline DateTime('UTC'),
             note String,
             evidence String,
             found DateTime('UTC'),
             updated DateTime('UTC'),
             actor String,
             origin String,
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id, hazard_id)",
    ],
},
Migration {
    version: 11,
    name: "classification and grading",
    statements: &[
        // A registry entry taken out (1) stays as its newest version, so the removal is kept.
        "ALTER TABLE {db}.enterprises ADD COLUMN deleted UInt8 DEFAULT 0",
        // What grades an enterprise: its type and scale, the grade its rules work out and
        // why, and a person's override with who and why; the newest version kept.
        "CREATE TABLE IF NOT EXISTS {db}.enterprise_profiles (
             enterprise_id String,
             province String,
             kind String,
             scale String,
             computed UInt8,
             score UInt32,
             explanation String,
             override_grade UInt8,
             override_by String,
             override_reason String,
             updated DateTime('UTC'),
             version UInt64
         ) ENGINE = ReplacingMergeTree(version) ORDER BY (province, enterprise_id)",
    ],
}];

/// The newest schema version this collector knows.
pub fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The raw event tables, partitioned by `toYYYYMMDD(ts)`.
pub const EVENT_TABLES: [&str; 6] = [
    "alerts",
    "anomalies",
    "flows",
    "transactions",
    "assets",
    "sensor_stats",
];

/// Roll-up tables and the partition expression each uses.
pub const ROLLUP_TABLES: [(&str, Partition); 4] = [
    ("alerts_5m", Partition::Day),
    ("alerts_1h", Partition::Month),
    ("tier_rollup_5m", Partition::Day),
    ("rollup_dirty", Partition::Day),
];

#[derive(Clone, Copy, Debug)]
pub enum Partition {
    /// `toYYYYMMDD`
    Day,
    /// `toYYYYMM`
    Month,
}

fn bookkeeping(db: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations (
             version UInt32,
             name String,
             applied DateTime('UTC')
         ) ENGINE = MergeTree ORDER BY version"
    )
}

/// The version the database is at (0: none).
pub async fn current(client: &Client, db: &str) -> clickhouse::error::Result<u32> {
    let exists: u8 = client
        .query("SELECT toUInt8(count()) FROM system.tables WHERE database = ? AND name = 'schema_migrations'")
        .bind(db)
        .fetch_one()
        .await?;
    if exists == 0 {
        return Ok(0);
    }
    client
        .query(&format!("SELECT max(version) FROM {db}.schema_migrations"))
        .fetch_one()
        .await
}

/// Create the database or bring it up to [`latest`]. Returns the versions applied.
/// The table and column of an `ALTER TABLE {db}.T ADD COLUMN C …` statement: ClickHouse 18.16
/// has no `ADD COLUMN IF NOT EXISTS`.
fn added_column(statement: &str) -> Option<(&str, &str)> {
    let rest = statement.strip_prefix("ALTER TABLE {db}.")?;
    let (table, rest) = rest.split_once(' ')?;
    let column = rest.strip_prefix("ADD COLUMN ")?.split(' ').next()?;
    Some((table, column))
}

async fn has_column(client: &Client, db: &str, table: &str, column: &str) -> anyhow::Result<bool> {
    let n: u64 = client
        .query("SELECT count() FROM system.columns WHERE database = ? AND table = ? AND name = ?")
        .bind(db)
        .bind(table)
        .bind(column)
        .fetch_one()
        .await?;
    Ok(n > 0)
}

pub async fn migrate(client: &Client, db: &str) -> anyhow::Result<Vec<u32>> {
    use anyhow::Context;
    client
        .query(&format!("CREATE DATABASE IF NOT EXISTS {db}"))
        .execute()
        .await
        .with_context(|| format!("creating database {db}"))?;
    client
        .query(&bookkeeping(db))
        .execute()
        .await
        .context("creating schema_migrations")?;
    let at = current(client, db).await?;
    let mut applied = Vec::new();
    for m in MIGRATIONS.iter().filter(|m| m.version > at) {
        for (i, s) in m.statements.iter().enumerate() {
            if let Some((table, column)) = added_column(s) {
                if has_column(client, db, table, column).await? {
                    continue;
                }
            }
            client
                .query(&s.replace("{db}", db))
                .execute()
                .await
                .with_context(|| {
                    format!("migration {} ({}), statement {}", m.version, m.name, i + 1)
                })?;
        }
        client
            .query(&format!(
                "INSERT INTO {db}.schema_migrations (version, name, applied) VALUES (?, ?, now())"
            ))
            .bind(m.version)
            .bind(m.name)
            .execute()
            .await
            .with_context(|| format!("recording migration {}", m.version))?;
        applied.push(m.version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_columns_are_told_from_other_statements() {
        assert_eq!(
            added_column("ALTER TABLE {db}.incidents ADD COLUMN level UInt8 DEFAULT 0"),
            Some(("incidents", "level"))
        );
        assert_eq!(
            added_column("CREATE TABLE IF NOT EXISTS {db}.x (a String) ENGINE = Log"),
            None
        );
        assert_eq!(added_column("ALTER TABLE {db}.t DROP PARTITION 1"), None);
    }

    #[test]
    fn versions_rise_one_by_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "{}", m.name);
        }
    }
}
