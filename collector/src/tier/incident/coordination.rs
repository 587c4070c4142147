//! Emergency coordination (应急协同) on an incident: a response level, comments, and tasks the
//! tiers assign down to a province or an enterprise, each an entry on the incident's timeline.
//!
//! ```text
//!  national ── task for 330000 ──▶ GET /v1/coordination/feed ──▶ provincial collector
//!  provincial ── task for E1 ───▶ GET /v1/coordination/feed ──▶ E1's collector (if any)
//!      ▲ every entry written, and every task moved on, at a tier goes up at once
//! ```
//!
//! Any tier that holds an incident (its owner and every tier above) may comment on it, set its
//! response level and assign tasks below; a task is moved on (accepted, done with a result,
//! declined with a reason) by the party it was assigned to, at whichever tier that party logs
//! in. Entries are stored where they are written, numbered in arrival order at every tier they
//! reach (`seq`, which pages the feed below), and the newest `version` of an entry wins.

use std::sync::Arc;

use crate::config::{CollectorEntry, UpstreamConfig};
use crate::store::Store;
use crate::tier::report;
pub use crate::tier::report::{check, task_move, Entry, KINDS, MAX_TEXT, TASK_STATES};

/// Entries in one feed answer unless `limit` says fewer.
pub const FEED_PAGE: u64 = 200;
use crate::tier::upstream::{self, Upstream};
use crate::time::now_us;

const COLUMNS: &str = "incident_id, province, enterprise_id, entry_id, kind, tier, author, \
    toUInt32(at) AS at, text, level, assignee_province, assignee_enterprise, \
    toUInt32(deadline) AS deadline, state, result, toUInt32(updated) AS updated, updated_by, \
    seq, version";

/// Whether an entry stored already may be replaced by `new` from below: only a task's state,
/// result and who moved it on may change, forward.
fn same_entry(old: &Entry, new: &Entry) -> Result<(), String> {
    let fixed = |e: &Entry| {
        (
            e.incident_id.clone(),
            e.province.clone(),
            e.enterprise_id.clone(),
            e.kind.clone(),
            e.tier.clone(),
            e.author.clone(),
            e.at,
            e.text.clone(),
            e.level,
            (e.assignee_province.clone(), e.assignee_enterprise.clone()),
            e.deadline,
        )
    };
    if fixed(old) != fixed(new) {
        return Err(format!(
            "entry {}: only a task's state and result change",
            old.entry_id
        ));
    }
    if old.state != new.state {
        task_move(&old.state, &new.state)?;
    }
    Ok(())
}

/// The coordination of this tier's incidents.
pub struct Coordination {
    store: Store,
    upstream: Option<Arc<Upstream>>,
    /// This tier's collector id: the `tier` of entries written here.
    tier: String,
    /// Entries are numbered and stored one at a time, so a feed reader never passes over an
    /// entry stored late with a lower `seq`.
    writing: tokio::sync::Mutex<()>,
}

/// Where an entry came from: its checks and where it goes next differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Written at this tier: stored and reported up.
    Here,
    /// Reported by the collector below: checked against what is held, stored and reported up.
    Below,
    /// Pulled from the tier above: stored if newer; it came from there, so not sent back.
    Above,
}

impl Coordination {
    pub fn new(store: Store, upstream: Option<Arc<Upstream>>, tier: &str) -> Coordination {
        Coordination {
            store,
            upstream,
            tier: tier.to_owned(),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// This tier's collector id.
    pub fn tier(&self) -> &str {
        &self.tier
    }

    /// A new entry's id here.
    pub fn new_id(&self, kind: &str) -> String {
        format!("{}-{kind}-{}", self.tier, now_us())
    }

    /// Entry `id`, its newest version.
    pub async fn get(&self, id: &str) -> clickhouse::error::Result<Option<Entry>> {
        self.store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incident_coordination FINAL WHERE entry_id = ? LIMIT 1"
            ))
            .bind(id)
            .fetch_optional()
            .await
    }

    /// The entries of incident `id`, oldest first.
    pub async fn of_incident(&self, id: &str) -> clickhouse::error::Result<Vec<Entry>> {
        self.store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incident_coordination FINAL WHERE incident_id = ? \
                 ORDER BY at, entry_id"
            ))
            .bind(id)
            .fetch_all()
            .await
    }

    /// The tasks assigned to parties inside (`province`, `enterprise`) (empty: any), newest
    /// first; `open` only those not done or declined.
    pub async fn tasks(
        &self,
        province: &str,
        enterprise: &str,
        open: bool,
        limit: u64,
    ) -> clickhouse::error::Result<Vec<Entry>> {
        self.store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incident_coordination FINAL WHERE kind = 'task' \
                 AND (? = '' OR assignee_province = ?) AND (? = '' OR assignee_enterprise = ?) \
                 AND (? = 0 OR state IN ('assigned', 'accepted')) \
                 ORDER BY at DESC, entry_id LIMIT ?"
            ))
            .bind(province)
            .bind(province)
            .bind(enterprise)
            .bind(enterprise)
            .bind(u8::from(open))
            .bind(limit)
            .fetch_all()
            .await
    }

    /// The tasks assigned since `secs` (UNIX seconds) and not yet taken up, for the
    /// notifications.
    pub async fn assigned_since(&self, secs: u64) -> clickhouse::error::Result<Vec<Entry>> {
        self.store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incident_coordination FINAL WHERE kind = 'task' \
                 AND state = 'assigned' AND at >= ? ORDER BY at LIMIT 10000"
            ))
            .bind(secs.min(u64::from(u32::MAX)) as u32)
            .fetch_all()
            .await
    }

    /// The entries after `seq` that the collector below `c` should hold: those of incidents
    /// in its scope and the tasks assigned inside it, in `seq` order.
    pub async fn feed(
        &self,
        c: &CollectorEntry,
        after: u64,
        limit: u64,
    ) -> clickhouse::error::Result<Vec<Entry>> {
        self.store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incident_coordination FINAL WHERE seq > ? \
                 AND ((province = ? AND (? = '' OR enterprise_id = ?)) \
                   OR (kind = 'task' AND assignee_province = ? \
                       AND (? = '' OR assignee_enterprise = ?))) \
                 ORDER BY seq LIMIT ?"
            ))
            .bind(after)
            .bind(&c.province)
            .bind(&c.enterprise_id)
            .bind(&c.enterprise_id)
            .bind(&c.province)
            .bind(&c.enterprise_id)
            .bind(&c.enterprise_id)
            .bind(limit)
            .fetch_all()
            .await
    }

    /// Store entries, numbered here, and report those not from above up at once. From below
    /// or above, an entry older than the one held is skipped; from below, one that changes
    /// more than a task's progress is refused.
    pub async fn keep(&self, entries: Vec<Entry>, from: Source) -> Result<usize, KeepError> {
        let _one_at_a_time = self.writing.lock().await;
        let mut next: u64 = self
            .store
            .client()
            .query("SELECT max(seq) FROM incident_coordination")
            .fetch_one()
            .await?;
        let mut fresh = Vec::new();
        for mut e in entries {
            let verdict = match from {
                Source::Here => check(&e),
                _ => self.fits(&e, from).await?,
            };
            match verdict {
                Ok(()) => {}
                Err(m) if from == Source::Here => return Err(KeepError::Invalid(m)),
                // Another tier's entry that does not fit what is held here is left out, said
                // once in the log; the rest of what came with it is kept.
                Err(m) if m.is_empty() => continue,
                Err(m) => {
                    tracing::warn!(entry = %e.entry_id, reason = %m, ?from, "coordination entry refused");
                    continue;
                }
            }
            next += 1;
            e.seq = next;
            fresh.push(e);
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        self.store.insert("incident_coordination", &fresh).await?;
        if from != Source::Above {
            let lines: Vec<Vec<u8>> = fresh.iter().map(report::coordination_line).collect();
            upstream::report_now(self.upstream.as_deref(), &lines);
        }
        Ok(fresh.len())
    }
}

impl Coordination {
    /// Whether an entry from another tier fits what is held: well formed, newer than the
    /// version held (else `Err("")`: nothing to do), and from below changing no more than a
    /// task's progress, nor claiming to be written here.
    async fn fits(&self, e: &Entry, from: Source) -> clickhouse::error::Result<Result<(), String>> {
        if let Err(m) = check(e) {
            return Ok(Err(m));
        }
        Ok(match self.get(&e.entry_id).await? {
            Some(old) if old.version >= e.version => Err(String::new()),
            Some(old) if from == Source::Below => same_entry(&old, e),
            None if from == Source::Below && e.tier == self.tier => Err(format!(
                "entry {}: claims to be written at this tier",
                e.entry_id
            )),
            _ => Ok(()),
        })
    }
}

impl Coordination {
    /// Pull the entries of the tier above for this tier's scope every `bulletin_poll_s`.
    pub async fn pull_loop(self: Arc<Self>, cfg: UpstreamConfig) {
        let feed = upstream::Feed {
            what: "coordination",
            path: "/v1/coordination/feed",
            key: "entries",
            cursor: "coordination.cursor",
        };
        let tier = self.tier.clone();
        upstream::follow(cfg, tier, feed, |j| self.take(j)).await;
    }

    async fn take(&self, j: serde_json::Value) -> Result<(), String> {
        let e: Entry = match serde_json::from_value(j) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "a coordination entry from above is not one; skipped");
                return Ok(());
            }
        };
        match self.keep(vec![e], Source::Above).await {
            Ok(_) | Err(KeepError::Invalid(_)) => Ok(()),
            Err(KeepError::Storage(e)) => Err(format!("storage unavailable: {e}")),
        }
    }
}

/// An entry not kept.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] clickhouse::error::Error),
}

/// A response level's name: I to IV, or "none".
pub fn response_name(level: u8) -> &'static str {
    match level {
        0 => "none",
        l => super::filing::level_name(l),
    }
}

/// The response level an incident's entries leave it at: the newest `response` entry's (0:
/// none).
pub fn response_level(entries: &[Entry]) -> u8 {
    (entries.iter())
        .filter(|e| e.kind == "response")
        .max_by_key(|e| (e.at, e.version))
        .map_or(0, |e| e.level)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task() -> Entry {
        Entry {
            incident_id: "i".into(),
            province: "330000".into(),
            enterprise_id: "E1".into(),
            entry_id: "national-task-1".into(),
            kind: "task".into(),
            tier: "national".into(),
            author: "nat".into(),
            at: 10,
            text: "Collect the PLC logs".into(),
            level: 0,
            assignee_province: "330000".into(),
            assignee_enterprise: String::new(),
            deadline: 100,
            state: "assigned".into(),
            result: String::new(),
            updated: 0,
            updated_by: String::new(),
            seq: 1,
            version: 1,
        }
    }

    #[test]
    fn tasks_move_forward_only() {
        assert!(task_move("assigned", "accepted").is_ok());
        assert!(task_move("assigned", "done").is_ok());
        assert!(task_move("accepted", "declined").is_ok());
        assert!(task_move("accepted", "assigned").is_err());
        assert!(task_move("done", "declined").is_err());
        assert!(task_move("assigned", "lost").is_err());
    }

    #[test]
    fn from_below_only_a_tasks_progress_changes() {
        let old = task();
        let mut moved = task();
        moved.state = "done".into();
        moved.result = "Logs sent".into();
        moved.version = 2;
        assert!(same_entry(&old, &moved).is_ok());
        let mut reassigned = moved.clone();
        reassigned.assignee_province = "440000".into();
        assert!(same_entry(&old, &reassigned).is_err());
        let mut rewritten = moved.clone();
        rewritten.text = "Nothing to do".into();
        assert!(same_entry(&old, &rewritten).is_err());
        assert!(same_entry(&moved, &old).is_err(), "not back from done");
    }

    #[test]
    fn entries_are_checked() {
        assert!(check(&task()).is_ok());
        let mut t = task();
        t.assignee_province.clear();
        assert!(check(&t).unwrap_err().starts_with("assignee"));
        let mut c = task();
        c.kind = "comment".into();
        c.text = " ".into();
        assert!(check(&c).is_err());
        let mut r = task();
        r.kind = "response".into();
        r.level = 5;
        assert!(check(&r).is_err());
        let mut x = task();
        x.kind = "vote".into();
        assert!(check(&x).is_err());
        let mut long = task();
        long.text = "x".repeat(MAX_TEXT + 1);
        assert!(check(&long).is_err());
    }

    #[test]
    fn the_newest_response_sets_the_level() {
        let mut a = task();
        a.kind = "response".into();
        a.level = 2;
        let mut b = a.clone();
        b.at = 20;
        b.level = 0;
        assert_eq!(response_level(&[a.clone()]), 2);
        assert_eq!(response_level(&[b, a]), 0, "stood down later");
        assert_eq!(response_level(&[task()]), 0);
    }
}
