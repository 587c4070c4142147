//! The storage room: everything that talks to ClickHouse for its own sake — the schema and
//! its migrations ([`schema`]), batches written exactly once (here), roll-ups made whole again
//! ([`repair`]), partitions dropped ([`retention`]) and the audit trail ([`audit`]). It names
//! no tier and no HTTP: the rooms above hand it rows.
//!
//! Writing a checked batch into ClickHouse exactly once.
//!
//! ClickHouse has no unique keys, so the collector makes an insert idempotent itself: before a
//! table is written, the ids of the rows about to go in are looked up in it under the sorting
//! key's prefix (province, enterprise, sensor, time range), which reads a few granules, and ids
//! already there are not written again. Batches reach a table through its lane ([`buffer`]),
//! which writes many senders' batches in one INSERT and one buffer at a time. A batch cut off
//! half-way (collector killed, ClickHouse gone) is simply resent by the sensor; whatever reached
//! a table is found and skipped, the rest is written, and the roll-ups of what was found are
//! checked ([`repair`]): the earlier attempt may have stopped before the views.

use std::collections::HashMap;
use std::sync::Arc;

use clickhouse::Client;
use serde::Serialize;

use crate::config::{ClickHouseConfig, SensorEntry};
use crate::event::{Kind, Row};

pub mod audit;
pub mod buffer;
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

/// A sensor's rows in a span of seconds, by the table's sorting-key prefix (province,
/// enterprise, sensor, time): a few granules. Bound with [`BindBatch::bind_span`].
macro_rules! sensor_span {
    () => {
        "province = ? AND enterprise_id = ? AND sensor_id = ? AND ts >= ? AND ts <= ?"
    };
}

/// [`sensor_span!`] for code that builds its own conditions.
pub(crate) const SENSOR_SPAN: &str = sensor_span!();

/// The rows of one sensor's batch: its span ([`SENSOR_SPAN`]), then its event ids, bound with
/// [`BindBatch::bind_batch`]. The ids are a set (`IN`), not `has(array, …)`, which compares
/// every row with every id.
pub(crate) const BATCH_EVENTS: &str =
    concat!(sensor_span!(), " AND event_id IN (SELECT arrayJoin(?))");

/// A sensor's place in a table's sorting key: (province, enterprise, sensor).
pub(crate) type Scope<'a> = (&'a str, &'a str, &'a str);

/// The place of `who`'s rows.
pub(crate) fn scope(who: &SensorEntry) -> Scope<'_> {
    (&who.province, &who.enterprise_id, &who.id)
}

/// Binding [`SENSOR_SPAN`]'s and [`BATCH_EVENTS`]'s values.
pub(crate) trait BindBatch {
    /// The sensor's scope and a span of seconds.
    fn bind_span(self, at: Scope<'_>, span: (u32, u32)) -> Self;
    /// The sensor's scope, the batch's span, its ids.
    fn bind_batch(self, who: &SensorEntry, span: (u32, u32), ids: &[&str]) -> Self;
}

impl BindBatch for clickhouse::query::Query {
    fn bind_span(self, (p, e, s): Scope<'_>, (lo, hi): (u32, u32)) -> Self {
        self.bind(p).bind(e).bind(s).bind(lo).bind(hi)
    }

    fn bind_batch(self, who: &SensorEntry, span: (u32, u32), ids: &[&str]) -> Self {
        self.bind_span(scope(who), span).bind(ids)
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
    /// The event tables' insert buffers.
    lanes: Arc<buffer::Lanes>,
    buffering: buffer::Buffering,
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

impl<T: Keyed> Keyed for &T {
    fn event_id(&self) -> &str {
        (**self).event_id()
    }
    fn ts(&self) -> u32 {
        (**self).ts()
    }
}

keyed!(
    crate::event::AlertRow,
    crate::event::AnomalyRow,
    crate::event::FlowRow,
    crate::event::TransactionRow,
    crate::event::AssetRow,
    crate::event::StatsRow
);

impl Store {
    pub fn new(cfg: &ClickHouseConfig) -> Store {
        let buffering = buffer::Buffering::default();
        Store {
            client: client(cfg).with_database(&cfg.database),
            db: cfg.database.clone(),
            lanes: Arc::new(buffer::Lanes::new(buffering.lanes)),
            buffering,
            gate: Arc::default(),
        }
    }

    /// This store, its event tables' inserts gathered as `b` says.
    pub fn with_buffering(mut self, b: buffer::Buffering) -> Store {
        self.buffering = b;
        self.lanes = Arc::new(buffer::Lanes::new(b.lanes));
        self
    }

    /// The same ClickHouse without the lanes: what a lane's own task holds, so that the lanes
    /// (and their tasks) end when the last store using them is dropped.
    fn detached(&self) -> Store {
        Store {
            lanes: Arc::new(buffer::Lanes::new(0)),
            ..self.clone()
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn db(&self) -> &str {
        &self.db
    }

    /// Store a batch of `who`'s events, skipping those already stored; answered once every
    /// table's buffer that holds part of it is written.
    pub async fn store(
        &self,
        who: &SensorEntry,
        batch: &Arc<Batch>,
    ) -> clickhouse::error::Result<HashMap<Kind, Stored>> {
        let l = &self.lanes;
        let (alerts, anomalies, flows, transactions, assets, stats) = tokio::join!(
            self.submit(&l.alerts, Kind::Alert, who, batch, |b| &b.alerts),
            self.submit(&l.anomalies, Kind::Anomaly, who, batch, |b| &b.anomalies),
            self.submit(&l.flows, Kind::Flow, who, batch, |b| &b.flows),
            self.submit(&l.transactions, Kind::Transaction, who, batch, |b| {
                &b.transactions
            }),
            self.submit(&l.assets, Kind::Asset, who, batch, |b| &b.assets),
            self.submit(&l.stats, Kind::Stats, who, batch, |b| &b.stats),
        );
        Ok(HashMap::from([
            (Kind::Alert, alerts?),
            (Kind::Anomaly, anomalies?),
            (Kind::Flow, flows?),
            (Kind::Transaction, transactions?),
            (Kind::Asset, assets?),
            (Kind::Stats, stats?),
        ]))
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
        // Alerts written aside from the lanes (a retro-hunt's) wait for a repair like theirs.
        let _shared = match table {
            "alerts" => Some(self.gate.read().await),
            _ => None,
        };
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
