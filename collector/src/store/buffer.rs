//! One INSERT for many batches: a shared, size- and time-bounded buffer per event table.
//!
//! An INSERT costs ClickHouse a new part per partition and a pass through every materialized
//! view, whatever its size: one per sensor batch tops out near 14 k events/s on two cores,
//! while a few large ones reach hundreds of thousands. So a batch's rows are not written by
//! its request but handed to its table's lane ([`Lane`]), whose one task gathers whatever the
//! requests of the moment bring — up to [`Buffering::rows`] rows, for at most
//! [`Buffering::linger`] after the first — and writes them together: one look-up of the ids
//! already stored for all of them, one INSERT. Every batch in it is answered only after that
//! INSERT returns, so an acknowledged batch is durable; a failed one fails each batch in it,
//! and each sender sends again.
//!
//! A lane writes one buffer at a time. That is what keeps a table exactly-once without a lock
//! per sensor: a batch resent while its first copy is being written lands in the next buffer,
//! whose look-up sees the first; one resent within the same buffer is found by the buffer's own
//! check. A buffer cut off half-way (ClickHouse killed between blocks, or between a table and
//! its views) is resent by its senders, found, and its roll-ups made whole ([`super::repair`]).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{scope, Batch, BindBatch, Error, Keyed, Scope, Store, Stored, SENSOR_SPAN};
use crate::config::{SensorEntry, StorageConfig};
use crate::event::Kind;

/// How much a lane gathers before it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffering {
    /// Rows that make a buffer full: it is written at once.
    pub rows: usize,
    /// How long a buffer waits for more after its first batch arrived. The lane writes one
    /// buffer at a time, so under load buffers fill while the one before is being written and
    /// this wait is rarely reached; alone, a batch waits this long at most.
    pub linger: Duration,
    /// Lanes per table, each a sensor's always (by its scope's hash): a lane's look-up and
    /// INSERT are one after the other, so a second lane keeps ClickHouse busy meanwhile.
    pub lanes: usize,
}

impl Buffering {
    /// As `[storage]` sets it.
    pub fn of(s: &StorageConfig) -> Buffering {
        Buffering {
            rows: s.insert_buffer_rows,
            linger: Duration::from_millis(s.insert_linger_ms),
            lanes: s.insert_lanes,
        }
    }
}

impl Default for Buffering {
    fn default() -> Self {
        Buffering::of(&StorageConfig::default())
    }
}

/// Sensors per look-up query: each adds up to [`MAX_WINDOWS`] key ranges to its condition.
const SCOPES_PER_LOOKUP: usize = 64;

/// One sensor's rows for a table — its part of a batch shared with the request, which reads the
/// alerts again to escalate them — waiting for their buffer's INSERT.
pub(super) struct Submission<T> {
    who: SensorEntry,
    batch: Arc<Batch>,
    rows: fn(&Batch) -> &[T],
    done: oneshot::Sender<Result<Stored, Error>>,
}

impl<T> Submission<T> {
    fn rows(&self) -> &[T] {
        (self.rows)(&self.batch)
    }
}

/// A table's way in: the sending end of its writer task, started on first use (and again if
/// the runtime it ran on has gone, as between tests).
pub(super) struct Lane<T> {
    tx: Mutex<Option<mpsc::Sender<Submission<T>>>>,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Lane {
            tx: Mutex::new(None),
        }
    }
}

/// The lanes of the event tables.
pub(super) struct Lanes {
    pub alerts: Vec<Lane<crate::event::AlertRow>>,
    pub anomalies: Vec<Lane<crate::event::AnomalyRow>>,
    pub flows: Vec<Lane<crate::event::FlowRow>>,
    pub transactions: Vec<Lane<crate::event::TransactionRow>>,
    pub assets: Vec<Lane<crate::event::AssetRow>>,
    pub stats: Vec<Lane<crate::event::StatsRow>>,
}

impl Lanes {
    /// `n` lanes a table (at least one).
    pub fn new(n: usize) -> Lanes {
        fn some<T>(n: usize) -> Vec<Lane<T>> {
            (0..n.max(1)).map(|_| Lane::default()).collect()
        }
        Lanes {
            alerts: some(n),
            anomalies: some(n),
            flows: some(n),
            transactions: some(n),
            assets: some(n),
            stats: some(n),
        }
    }
}

/// The lane of `lanes` that writes `who`'s rows: always the same one, so that two copies of a
/// row never race in two lanes.
fn lane_of<'a, T>(lanes: &'a [Lane<T>], who: &SensorEntry) -> &'a Lane<T> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    scope(who).hash(&mut h);
    &lanes[(h.finish() % lanes.len() as u64) as usize]
}

/// A row type a lane can write.
pub(super) trait Buffered:
    Keyed + clickhouse::RowOwned + clickhouse::RowWrite + Send + Sync + 'static
{
}

impl<T> Buffered for T where
    T: Keyed + clickhouse::RowOwned + clickhouse::RowWrite + Send + Sync + 'static
{
}

impl Store {
    /// Write `who`'s `rows` of `kind` through its lane; what became of them once their buffer's
    /// INSERT returned.
    pub(super) async fn submit<T: Buffered>(
        &self,
        lanes: &[Lane<T>],
        kind: Kind,
        who: &SensorEntry,
        batch: &Arc<Batch>,
        rows: fn(&Batch) -> &[T],
    ) -> Result<Stored, Error> {
        if rows(batch).is_empty() {
            return Ok(Stored::default());
        }
        let lane = lane_of(lanes, who);
        let (done, answer) = oneshot::channel();
        let mut sub = Submission {
            who: who.clone(),
            batch: batch.clone(),
            rows,
            done,
        };
        loop {
            let tx = {
                let mut tx = lane.tx.lock().unwrap_or_else(|p| p.into_inner());
                tx.get_or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(1024);
                    tokio::spawn(run(self.detached(), kind, self.buffering, rx));
                    tx
                })
                .clone()
            };
            match tx.send(sub).await {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => {
                    // The task ended with the runtime it was spawned on: start another here.
                    sub = back;
                    let mut held = lane.tx.lock().unwrap_or_else(|p| p.into_inner());
                    if held.as_ref().is_some_and(|h| h.same_channel(&tx)) {
                        *held = None;
                    }
                }
            }
        }
        answer
            .await
            .unwrap_or_else(|_| Err(Error::Custom("the insert buffer stopped".into())))
    }
}

/// A lane's task: gather, write, answer, one buffer at a time.
async fn run<T: Buffered>(
    store: Store,
    kind: Kind,
    b: Buffering,
    mut rx: mpsc::Receiver<Submission<T>>,
) {
    while let Some(first) = rx.recv().await {
        let until = tokio::time::Instant::now() + b.linger;
        let mut rows = first.rows().len();
        let mut subs = vec![first];
        while rows < b.rows {
            // Whatever is queued already is taken without waiting; then more until `until`.
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(s)) => {
                    rows += s.rows().len();
                    subs.push(s);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let (parts, answers): (Vec<_>, Vec<_>) = subs
            .into_iter()
            .map(|s| ((s.who, s.batch, s.rows), s.done))
            .unzip();
        match store.write(kind, &parts).await {
            Ok(stored) => {
                for (a, s) in answers.into_iter().zip(stored) {
                    let _ = a.send(Ok(s));
                }
            }
            Err(e) => {
                tracing::warn!(table = kind.table(), batches = answers.len(), error = %e, "insert buffer failed; its batches are refused");
                let e = Arc::new(e);
                for a in answers {
                    let _ = a.send(Err(Error::Other(Box::new(e.clone()))));
                }
            }
        }
    }
}

/// A buffer's part: whose, and where in the shared batch its rows are.
type Part<T> = (SensorEntry, Arc<Batch>, fn(&Batch) -> &[T]);

/// Seconds between two of a sensor's events that still share a look-up window.
const WINDOW_GAP: u32 = 300;

/// Windows per sensor in one look-up, at most: beyond, the closest are merged.
const MAX_WINDOWS: usize = 8;

/// The time windows `ts` (sorted, deduplicated) falls in: runs of seconds no more than `gap`
/// apart, widened until there are at most [`MAX_WINDOWS`].
fn windows(ts: &[u32]) -> Vec<(u32, u32)> {
    let mut gap = WINDOW_GAP;
    loop {
        let mut out: Vec<(u32, u32)> = Vec::new();
        for &t in ts {
            match out.last_mut() {
                Some(w) if t - w.1 <= gap => w.1 = t,
                _ => out.push((t, t)),
            }
        }
        if out.len() <= MAX_WINDOWS {
            return out;
        }
        gap = gap.saturating_mul(4);
    }
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Held {
    province: String,
    enterprise_id: String,
    sensor_id: String,
    event_id: String,
}

/// What becomes of a row of a buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Written now.
    Fresh,
    /// Stored by an earlier attempt: skipped, its roll-ups checked.
    Found,
    /// Repeats a row earlier in this buffer: skipped.
    Repeated,
}

impl Store {
    /// Write one buffer of `kind`: each part's rows not already stored, all in one INSERT;
    /// per part, what became of its rows.
    async fn write<T: Buffered>(
        &self,
        kind: Kind,
        parts: &[Part<T>],
    ) -> Result<Vec<Stored>, Error> {
        let parts: Vec<(&SensorEntry, &[T])> = (parts.iter())
            .map(|(who, batch, rows)| (who, rows(batch)))
            .collect();
        // Each scope's seconds, over all its parts.
        let mut seconds: HashMap<Scope<'_>, Vec<u32>> = HashMap::new();
        for (who, rows) in &parts {
            (seconds.entry(scope(who)).or_default()).extend(rows.iter().map(Keyed::ts));
        }
        let mut lookups: Vec<(Scope<'_>, Vec<(u32, u32)>)> = seconds
            .into_iter()
            .map(|(at, mut ts)| {
                ts.sort_unstable();
                ts.dedup();
                (at, windows(&ts))
            })
            .collect();
        lookups.sort_unstable();
        let started = std::time::Instant::now();
        let mut held_rows: Vec<(Scope<'_>, String)> = Vec::new();
        for chunk in lookups.chunks(SCOPES_PER_LOOKUP) {
            for h in self.held(kind, chunk).await? {
                // Only the scopes asked about come back; find the borrowed key of this one.
                let at = (
                    h.province.as_str(),
                    h.enterprise_id.as_str(),
                    h.sensor_id.as_str(),
                );
                if let Some((at, _)) = chunk.iter().find(|(a, _)| *a == at) {
                    held_rows.push((*at, h.event_id));
                }
            }
        }
        let looked_up = started.elapsed();
        let held: HashSet<(Scope<'_>, &str)> =
            held_rows.iter().map(|(a, e)| (*a, e.as_str())).collect();
        // Each row's fate, decided before any moves.
        let mut seen: HashSet<(Scope<'_>, &str)> = HashSet::new();
        let fates: Vec<Vec<Fate>> = parts
            .iter()
            .map(|(who, rows)| {
                let at = scope(who);
                (rows.iter())
                    .map(|r| {
                        if held.contains(&(at, r.event_id())) {
                            Fate::Found
                        } else if seen.insert((at, r.event_id())) {
                            Fate::Fresh
                        } else {
                            Fate::Repeated
                        }
                    })
                    .collect()
            })
            .collect();
        drop((held, seen));
        let mut out = Vec::with_capacity(parts.len());
        let mut fresh: Vec<&T> = Vec::new();
        for ((who, rows), fates) in parts.iter().zip(&fates) {
            let found: Vec<&T> = (rows.iter().zip(fates))
                .filter(|(_, f)| **f == Fate::Found)
                .map(|(r, _)| r)
                .collect();
            let before = fresh.len();
            fresh.extend(
                (rows.iter().zip(fates))
                    .filter(|(_, f)| **f == Fate::Fresh)
                    .map(|(r, _)| r),
            );
            let stored = fresh.len() - before;
            out.push(Stored {
                stored,
                duplicates: rows.len() - stored,
                repaired: self.repair(who, kind, &found).await?,
            });
        }
        let written = fresh.len();
        if !fresh.is_empty() {
            let _shared = match kind {
                Kind::Alert => Some(self.gate.read().await),
                _ => None,
            };
            let mut insert = self.client.insert::<T>(kind.table()).await?;
            for r in fresh {
                insert.write(r).await?;
            }
            insert.end().await?;
        }
        tracing::debug!(
            table = kind.table(),
            batches = parts.len(),
            written,
            found = held_rows.len(),
            lookup_ms = looked_up.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "insert buffer written"
        );
        Ok(out)
    }

    /// The rows `kind`'s table holds in `lookups`' windows: one query, each scope read under
    /// its sorting-key prefix and seconds only. No ids are sent: a batch's rows are a sensor's
    /// events of a few minutes, and what else the table holds in those seconds is little.
    async fn held(
        &self,
        kind: Kind,
        lookups: &[(Scope<'_>, Vec<(u32, u32)>)],
    ) -> Result<Vec<Held>, Error> {
        let mut cond = String::new();
        for (_, windows) in lookups {
            for _ in windows {
                if !cond.is_empty() {
                    cond.push_str(" OR ");
                }
                cond.push('(');
                cond.push_str(SENSOR_SPAN);
                cond.push(')');
            }
        }
        let sql = format!(
            "SELECT province, enterprise_id, sensor_id, event_id FROM {}.{} WHERE {cond}",
            self.db,
            kind.table()
        );
        let mut q = self.client.query(&sql);
        for (at, windows) in lookups {
            for &span in windows {
                q = q.bind_span(*at, span);
            }
        }
        q.fetch_all().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_second_and_are_few() {
        assert_eq!(windows(&[10, 20, 300, 1000]), [(10, 300), (1000, 1000)]);
        let spread: Vec<u32> = (0..100).map(|i| i * 1000).collect();
        let w = windows(&spread);
        assert!(w.len() <= MAX_WINDOWS, "{w:?}");
        assert!(spread
            .iter()
            .all(|t| w.iter().any(|(lo, hi)| lo <= t && t <= hi)));
        assert_eq!(windows(&[]), []);
    }
}
