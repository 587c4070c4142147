//! The storage room: everything that talks to ClickHouse for its own sake — the schema and
//! its migrations ([`schema`]), batches written exactly once (here), roll-ups made whole again
//! ([`repair`]), partitions dropped ([`retention`]) and the audit trail ([`audit`]). It names
//! no tier and no HTTP: the rooms above hand it rows.
//!
//! Writing a checked batch into ClickHouse exactly once.
//!
//! ClickHouse has no unique keys, so the collector makes an insert idempotent itself: batches of
//! one sensor are stored one at a time, and before a table is written the batch's event ids are
//! looked up in it under the sorting key's prefix (province, enterprise, sensor, time range),
//! which reads a few granules. Ids already there are not written again. A batch cut off half-way
//! (collector killed, ClickHouse gone) is simply resent by the sensor; whatever reached a table
//! is found and skipped, the rest is written, and the roll-ups of what was found are checked
//! ([`repair`]): the earlier attempt may have stopped before the views.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use clickhouse::Client;
use serde::Serialize;

use crate::config::{ClickHouseConfig, SensorEntry};
use crate::event::{Kind, Row};

pub mod audit;
pub mod cluster;
pub mod repair;
pub mod retention;
pub mod schema;
pub mod settle;

/// What a failed ClickHouse request returns; the rooms above decide what a client may see of it.
pub type Error = clickhouse::error::Error;

/// Rows of one batch, by table.
#[derive(Default)]
pub struct Batch {
    pub alerts: Vec<crate::event::AlertRow>,
    pub anomalies: Vec<crate::event::AnomalyRow>,
    pub flows: Vec<crate::event::FlowRow>,
    pub transactions: Vec<crate::event::TransactionRow>,
    pub assets: Vec<crate::event::AssetRow>,
    pub stats: Vec<crate::event::StatsRow>,
}

impl Batch {
    pub fn push(&mut self, row: Row) {
        match row {
            Row::Alert(r) => self.alerts.push(r),
            Row::Anomaly(r) => self.anomalies.push(r),
            Row::Flow(r) => self.flows.push(r),
            Row::Transaction(r) => self.transactions.push(r),
            Row::Asset(r) => self.assets.push(r),
            Row::Stats(r) => self.stats.push(r),
        }
    }
}

/// The rows of one sensor's batch, by the table's sorting-key prefix (province, enterprise,
/// sensor, time) and then by event id: bound with [`BindBatch::bind_batch`].
pub(crate) const BATCH_EVENTS: &str = "province = ? AND enterprise_id = ? AND sensor_id = ? \
     AND ts >= ? AND ts <= ? AND has(?, event_id)";

/// Binding [`BATCH_EVENTS`]'s values: the sensor's scope, the batch's time span, its ids.
pub(crate) trait BindBatch {
    fn bind_batch(self, who: &SensorEntry, span: (u32, u32), ids: &[&str]) -> Self;
}

impl BindBatch for clickhouse::query::Query {
    fn bind_batch(self, who: &SensorEntry, (lo, hi): (u32, u32), ids: &[&str]) -> Self {
        self.bind(&who.province)
            .bind(&who.enterprise_id)
            .bind(&who.id)
            .bind(lo)
            .bind(hi)
            .bind(ids)
    }
}

/// What storing a batch did, per table.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Stored {
    pub stored: usize,
    pub duplicates: usize,
    /// Alerts the roll-ups lacked and were given (5-minute and hourly together).
    pub repaired: u64,
}

/// The ClickHouse side of the collector.
#[derive(Clone)]
pub struct Store {
    client: Client,
    db: String,
    /// One lock per sensor: its batches are de-duplicated and written one after another.
    locks: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    /// Held shared by every alert insert and alone by a repair, which counts the roll-ups
    /// against the table only while no insert is between them.
    gate: Arc<tokio::sync::RwLock<()>>,
}

/// A table row with the columns the de-duplication needs.
trait Keyed {
    fn event_id(&self) -> &str;
    fn ts(&self) -> u32;
}

macro_rules! keyed {
    ($($t:ty),*) => {$(
        impl Keyed for $t {
            fn event_id(&self) -> &str { &self.event_id }
            fn ts(&self) -> u32 { self.ts }
        }
    )*};
}

keyed!(
    crate::event::AlertRow,
    crate::event::AnomalyRow,
    crate::event::FlowRow,
    crate::event::TransactionRow,
    crate::event::AssetRow,
    crate::event::StatsRow
);

#[derive(clickhouse::Row, serde::Deserialize)]
struct Id {
    event_id: String,
}

impl Store {
    pub fn new(cfg: &ClickHouseConfig) -> Store {
        Store {
            client: client(cfg).with_database(&cfg.database),
            db: cfg.database.clone(),
            locks: Arc::default(),
            gate: Arc::default(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn db(&self) -> &str {
        &self.db
    }

    /// Store a batch of `who`'s events, skipping those already stored.
    pub async fn store(
        &self,
        who: &SensorEntry,
        batch: Batch,
    ) -> clickhouse::error::Result<HashMap<Kind, Stored>> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(who.id.clone()).or_default().clone()
        };
        let _one_at_a_time = lock.lock().await;
        let mut out = HashMap::new();
        out.insert(
            Kind::Alert,
            self.table(who, Kind::Alert, batch.alerts).await?,
        );
        out.insert(
            Kind::Anomaly,
            self.table(who, Kind::Anomaly, batch.anomalies).await?,
        );
        out.insert(Kind::Flow, self.table(who, Kind::Flow, batch.flows).await?);
        out.insert(
            Kind::Transaction,
            self.table(who, Kind::Transaction, batch.transactions)
                .await?,
        );
        out.insert(
            Kind::Asset,
            self.table(who, Kind::Asset, batch.assets).await?,
        );
        out.insert(
            Kind::Stats,
            self.table(who, Kind::Stats, batch.stats).await?,
        );
        Ok(out)
    }

    async fn table<T>(
        &self,
        who: &SensorEntry,
        kind: Kind,
        rows: Vec<T>,
    ) -> clickhouse::error::Result<Stored>
    where
        T: Keyed + clickhouse::RowOwned + clickhouse::RowWrite,
    {
        if rows.is_empty() {
            return Ok(Stored::default());
        }
        let table = format!("{}.{}", self.db, kind.table());
        let (lo, hi) = span(&rows);
        let ids: Vec<&str> = rows.iter().map(Keyed::event_id).collect();
        let have: HashSet<String> = self
            .client
            .query(&format!("SELECT ?fields FROM {table} WHERE {BATCH_EVENTS}"))
            .bind_batch(who, (lo, hi), &ids)
            .fetch_all::<Id>()
            .await?
            .into_iter()
            .map(|i| i.event_id)
            .collect();
        let total = rows.len();
        let (fresh, found): (Vec<T>, Vec<T>) =
            rows.into_iter().partition(|r| !have.contains(r.event_id()));
        let repaired = self.repair(who, kind, &found).await?;
        let stored = fresh.len();
        if stored > 0 {
            let _shared = match kind {
                Kind::Alert => Some(self.gate.read().await),
                _ => None,
            };
            let mut insert = self.client.insert::<T>(kind.table()).await?;
            for r in &fresh {
                insert.write(r).await?;
            }
            insert.end().await?;
        }
        Ok(Stored {
            stored,
            duplicates: total - stored,
            repaired,
        })
    }

    /// Make the views of `kind`'s table whole for rows `found` already stored.
    async fn repair<T: Keyed>(
        &self,
        who: &SensorEntry,
        kind: Kind,
        found: &[T],
    ) -> clickhouse::error::Result<u64> {
        if found.is_empty() {
            return Ok(0);
        }
        let (lo, hi) = span(found);
        match kind {
            Kind::Alert => {
                let _alone = self.gate.write().await;
                let r = repair::alerts(&self.client, &self.db, who, lo, hi).await?;
                if r.five_minute + r.hourly > 0 {
                    tracing::warn!(
                        sensor = %who.id,
                        five_minute = r.five_minute,
                        hourly = r.hourly,
                        "alert roll-ups lacked a resent batch's alerts; added"
                    );
                }
                Ok(r.five_minute + r.hourly)
            }
            Kind::Asset => {
                let ids: Vec<&str> = found.iter().map(Keyed::event_id).collect();
                repair::assets(&self.client, &self.db, who, lo, hi, &ids).await?;
                Ok(0)
            }
            _ => Ok(0),
        }
    }

    /// Insert rows into `table` as they are (no de-duplication).
    pub async fn insert<T>(&self, table: &str, rows: &[T]) -> clickhouse::error::Result<()>
    where
        T: clickhouse::RowOwned + clickhouse::RowWrite,
    {
        if rows.is_empty() {
            return Ok(());
        }
        let mut insert = self.client.insert::<T>(table).await?;
        for r in rows {
            insert.write(r).await?;
        }
        insert.end().await
    }

    /// Whether ClickHouse answers.
    pub async fn ping(&self) -> clickhouse::error::Result<()> {
        self.client.query("SELECT 1").execute().await
    }
}

/// The first and last second of `rows` (non-empty).
fn span<T: Keyed>(rows: &[T]) -> (u32, u32) {
    rows.iter().fold((u32::MAX, 0), |(lo, hi), r| {
        (lo.min(r.ts()), hi.max(r.ts()))
    })
}

/// A client for the configured ClickHouse. Validation is off: 18.16 has no
/// RowBinaryWithNamesAndTypes, and our row types are the schema's.
pub fn client(cfg: &ClickHouseConfig) -> Client {
    let mut c = Client::default()
        .with_url(&cfg.url)
        .with_user(&cfg.user)
        .with_validation(false);
    if !cfg.password.is_empty() {
        c = c.with_password(&cfg.password);
    }
    c
}
