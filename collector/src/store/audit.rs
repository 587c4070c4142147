//! The audit trail: every write and every refused attempt, who, what, on what, from where.
//!
//! Records go through a bounded queue to a task that writes them in batches, so a request
//! never waits on the trail; while ClickHouse is away they wait in the queue (up to
//! [`QUEUE`]), and what does not fit is counted and logged, never silently lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Store;

/// Records waiting to be written at most.
pub const QUEUE: usize = 100_000;

/// One line of the trail.
#[derive(Clone, Debug, Serialize, Deserialize, clickhouse::Row, PartialEq)]
pub struct Record {
    pub ts: u32,
    pub ts_us: u64,
    /// The account, sensor or collector id; or what was claimed, for a refused credential.
    pub actor: String,
    /// `admin`, `analyst`, `regulator`, `sensor`, `collector`, or `unknown`.
    pub role: String,
    /// What was done or tried: `login`, `bulletin.issue`, `incident.acknowledge`, `ingest`, …
    pub action: String,
    /// What it was done to: a bulletin or incident id, a query's path.
    pub target: String,
    /// The scope of the target, where it has one.
    pub province: String,
    pub enterprise_id: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    pub detail: String,
    /// The client's address.
    pub remote: String,
}

impl Record {
    pub fn new(actor: &str, role: &str, action: &str, outcome: &str) -> Record {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Record {
            ts: now.as_secs() as u32,
            ts_us: now.as_micros() as u64,
            actor: actor.to_owned(),
            role: role.to_owned(),
            action: action.to_owned(),
            target: String::new(),
            province: String::new(),
            enterprise_id: String::new(),
            outcome: outcome.to_owned(),
            detail: String::new(),
            remote: String::new(),
        }
    }

    pub fn target(mut self, target: &str) -> Record {
        self.target = target.to_owned();
        self
    }

    pub fn scope(mut self, province: &str, enterprise: &str) -> Record {
        self.province = province.to_owned();
        self.enterprise_id = enterprise.to_owned();
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Record {
        self.detail = detail.into();
        self
    }

    pub fn remote(mut self, remote: Option<std::net::SocketAddr>) -> Record {
        self.remote = remote.map(|r| r.ip().to_string()).unwrap_or_default();
        self
    }
}

/// Where handlers send records.
#[derive(Clone)]
pub struct Audit {
    tx: mpsc::Sender<Record>,
    refusals: Arc<Mutex<Refusals>>,
}

/// Repeated refusals of the same actor, action and address within [`REFUSAL_WINDOW`]: the
/// first is recorded, the rest counted and recorded as one summary when the window closes,
/// so a client hammering a wrong credential cannot flood the trail.
#[derive(Default)]
struct Refusals {
    open: HashMap<(String, String, String), Window>,
}

struct Window {
    first: Instant,
    /// The first refusal, whose copy carries the count.
    record: Record,
    more: u64,
}

/// How long refusals of one kind are summed into one record.
pub const REFUSAL_WINDOW: Duration = Duration::from_secs(60);
/// Kinds of refusal summed at once; beyond, each is recorded.
const REFUSAL_KINDS: usize = 10_000;

impl Refusals {
    /// Whether `r` is recorded now (else it was counted), and a summary of a window it closed.
    fn take(&mut self, r: &Record, now: Instant) -> (bool, Option<Record>) {
        let key = (r.actor.clone(), r.action.clone(), r.remote.clone());
        let room = self.open.len() < REFUSAL_KINDS;
        match self.open.get_mut(&key) {
            Some(w) if now.duration_since(w.first) < REFUSAL_WINDOW => {
                w.more += 1;
                (false, None)
            }
            Some(w) => {
                let summary = w.summary();
                *w = Window::new(r, now);
                (true, summary)
            }
            None if room => {
                self.open.insert(key, Window::new(r, now));
                (true, None)
            }
            None => (true, None),
        }
    }

    /// Summaries of the windows closed by `now`, which are forgotten.
    fn closed(&mut self, now: Instant) -> Vec<Record> {
        let mut out = Vec::new();
        self.open.retain(|_, w| {
            if now.duration_since(w.first) < REFUSAL_WINDOW {
                return true;
            }
            out.extend(w.summary());
            false
        });
        out
    }
}

impl Window {
    fn new(r: &Record, now: Instant) -> Window {
        Window {
            first: now,
            record: r.clone(),
            more: 0,
        }
    }

    fn summary(&self) -> Option<Record> {
        (self.more > 0).then(|| {
            let mut s = Record::new(
                &self.record.actor,
                &self.record.role,
                &self.record.action,
                "denied",
            );
            s.target = self.record.target.clone();
            s.remote = self.record.remote.clone();
            s.detail = format!(
                "{} more refusals like the one at {} within {} s (last: {})",
                self.more,
                self.record.ts,
                REFUSAL_WINDOW.as_secs(),
                self.record.detail
            );
            s
        })
    }
}

impl Audit {
    /// Start the writer task on the current runtime.
    pub fn start(store: Store, written: Counter) -> Audit {
        let (tx, rx) = mpsc::channel(QUEUE);
        let refusals = Arc::new(Mutex::new(Refusals::default()));
        tokio::spawn(write_loop(store, rx, written, refusals.clone()));
        Audit { tx, refusals }
    }

    /// Queue a record; never waits. A refusal repeating one within [`REFUSAL_WINDOW`] is
    /// counted into a summary instead.
    pub fn record(&self, r: Record) {
        if r.outcome == "denied" {
            let (now, summary) = self
                .refusals
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(&r, Instant::now());
            if let Some(s) = summary {
                self.queue(s);
            }
            if !now {
                return;
            }
        }
        self.queue(r);
    }

    fn queue(&self, r: Record) {
        // Debug-formatted: what a client sent is quoted and escaped, so a line break in it
        // cannot forge a line of the log.
        tracing::info!(
            actor = ?r.actor, action = %r.action, target = ?r.target, outcome = %r.outcome,
            detail = ?r.detail, remote = %r.remote, "audit"
        );
        if self.tx.try_send(r).is_err() {
            tracing::error!("audit queue full: record kept in the log only");
        }
    }
}

async fn write_loop(
    store: Store,
    mut rx: mpsc::Receiver<Record>,
    written: Counter,
    refusals: Arc<Mutex<Refusals>>,
) {
    let mut batch: Vec<Record> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        if batch.is_empty() {
            tokio::select! {
                r = rx.recv() => match r {
                    Some(r) => batch.push(r),
                    None => return,
                },
                _ = tick.tick() => {}
            }
            let closed =
                (refusals.lock().unwrap_or_else(|p| p.into_inner())).closed(Instant::now());
            for s in closed {
                tracing::info!(actor = ?s.actor, action = %s.action, detail = ?s.detail, "audit");
                batch.push(s);
            }
            if batch.is_empty() {
                continue;
            }
        }
        while batch.len() < 10_000 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        match store.insert("audit", &batch).await {
            Ok(()) => {
                written.inc_by(batch.len() as u64);
                batch.clear();
            }
            Err(e) => {
                tracing::warn!(error = %e, waiting = batch.len(), "audit records wait for ClickHouse");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_refusals_are_summed() {
        let mut r = Refusals::default();
        let t0 = Instant::now();
        let denied = |actor: &str| Record::new(actor, "unknown", "ingest", "denied");
        let (now, summary) = r.take(&denied("x"), t0);
        assert!(now && summary.is_none(), "the first is recorded");
        for _ in 0..99 {
            assert!(!r.take(&denied("x"), t0).0);
        }
        assert!(r.take(&denied("y"), t0).0, "another actor is another kind");
        assert!(r.closed(t0).is_empty());
        let later = t0 + REFUSAL_WINDOW;
        let s = r.closed(later);
        assert_eq!(s.len(), 1, "y had no repeats: no summary");
        assert!(
            s[0].detail.starts_with("99 more refusals"),
            "{}",
            s[0].detail
        );
        assert!(r.take(&denied("x"), later).0, "a new window");
    }
}
