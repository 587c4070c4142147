//! The audit trail: every write and every refused attempt, who, what, on what, from where.
//!
//! Records go through a bounded queue to a task that writes them in batches, so a request
//! never waits on the trail; while ClickHouse is away they wait in the queue (up to
//! [`QUEUE`]), and what does not fit is counted and logged, never silently lost.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
}

impl Audit {
    /// Start the writer task on the current runtime.
    pub fn start(store: Store, written: Counter) -> Audit {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(write_loop(store, rx, written));
        Audit { tx }
    }

    /// Queue a record; never waits.
    pub fn record(&self, r: Record) {
        tracing::info!(
            actor = %r.actor, action = %r.action, target = %r.target, outcome = %r.outcome,
            detail = %r.detail, "audit"
        );
        if self.tx.try_send(r).is_err() {
            tracing::error!("audit queue full: record kept in the log only");
        }
    }
}

async fn write_loop(store: Store, mut rx: mpsc::Receiver<Record>, written: Counter) {
    let mut batch: Vec<Record> = Vec::new();
    loop {
        if batch.is_empty() {
            match rx.recv().await {
                Some(r) => batch.push(r),
                None => return,
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
