//! Bulletins at this tier: issued (checked, numbered, resolved against the registry, stored),
//! pulled from the tier above, and each enterprise's progress recorded once and reported up.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{Book, Bulletin, Indicators, Target};
use crate::config::{TierConfig, UpstreamConfig};
use crate::store::{self, Store};
use crate::tier::registry::{Registry, Scope};
use crate::tier::report::{self, Progress};
use crate::tier::upstream::{self, Upstream};
use crate::time::{now_s, now_us};
use icsight_eve::Timestamp;

/// Bulletins in one feed answer unless `limit` says fewer: the reader asks again from the
/// answer's `last` until an answer is empty, so no answer grows with the number issued.
pub const FEED_PAGE: usize = 100;
/// The most a reader may ask for in one answer.
pub const FEED_PAGE_MAX: usize = 1000;

/// A new bulletin, as an administrator posts it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBulletin {
    pub title: String,
    pub severity: u8,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub indicators: Indicators,
    /// New signatures, in the rules language sensors load.
    #[serde(default)]
    pub signatures: String,
    #[serde(default)]
    pub actions: Vec<String>,
    /// When every enterprise in scope should have disposed of it.
    pub deadline: String,
    /// An exercise (演练): it runs the whole loop, and no figure counts it.
    #[serde(default)]
    pub drill: bool,
    /// Traffic Light Protocol: clear, green, amber (the default), amber+strict or red. A red
    /// bulletin reaches its targets and is never shared beyond (TAXII).
    #[serde(default = "amber")]
    pub tlp: String,
}

fn amber() -> String {
    "amber".into()
}

/// The longest a bulletin's rules may take to compile before it is refused.
pub const COMPILE_LIMIT: Duration = Duration::from_secs(20);

/// Compile a bulletin's rules as a sensor would load them, on a blocking thread, one bulletin
/// at a time and for at most [`COMPILE_LIMIT`]: the error names the first rule refused.
/// A compilation that overruns is refused, and the next waits until it has ended.
pub async fn compile(rules: String) -> Result<(), String> {
    static ONE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let run = async {
        let permit = ONE.acquire().await.expect("never closed");
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let loaded = rules::load_layered(
                &[(std::path::PathBuf::from("signatures"), rules)],
                0,
                &rules::Vars::suricata_defaults(),
                &rules::Classification::builtin(),
                &rules::LoadOptions::default(),
            );
            match loaded.errors.first() {
                Some(e) if e.line > 0 => Err(format!("signatures: line {}: {}", e.line, e.message)),
                Some(e) => Err(format!("signatures: {}", e.message)),
                None => Ok(()),
            }
        })
        .await
        .map_err(|_| "signatures: could not be compiled".to_owned())?
    };
    tokio::time::timeout(COMPILE_LIMIT, run)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "signatures: not compiled within {} s: simplify them",
                COMPILE_LIMIT.as_secs()
            ))
        })
}

/// Check a new bulletin and make it, numbered `seq`, with id `id`. Its rules are checked
/// against the caps here and compiled by [`compile`].
pub fn make(
    n: &NewBulletin,
    id: &str,
    issuer: &str,
    seq: u64,
    now: u64,
) -> Result<Bulletin, String> {
    if n.title.trim().is_empty() || n.title.chars().count() > 300 {
        return Err("title: 1-300 characters".into());
    }
    if !(1..=4).contains(&n.severity) {
        return Err(format!(
            "severity: {} is not 1 (most severe) to 4",
            n.severity
        ));
    }
    if n.description.len() > 64 * 1024 {
        return Err("description: at most 64 KiB".into());
    }
    if n.actions.len() > 100 || n.actions.iter().any(|a| a.len() > 4096) {
        return Err("actions: at most 100, each at most 4 KiB".into());
    }
    n.scope.check()?;
    n.indicators.check()?;
    if !super::TLP.iter().any(|(t, _)| *t == n.tlp) || n.tlp == "white" {
        return Err(format!(
            "tlp: {:?} is not clear, green, amber, amber+strict or red",
            n.tlp
        ));
    }
    let deadline = Timestamp::parse(&n.deadline)
        .map(Timestamp::secs)
        .ok_or_else(|| {
            format!(
                "deadline: {:?} is not a time like 2026-12-31T00:00:00Z",
                n.deadline
            )
        })?;
    if deadline <= now {
        return Err("deadline: already past".into());
    }
    if n.signatures.len() > 256 * 1024 {
        return Err("signatures: at most 256 KiB".into());
    }
    let rules = format!("{}\n{}", n.signatures.trim(), n.indicators.rules(id, 1));
    rules::bulletin::check_text(&rules).map_err(|m| format!("signatures: {m}"))?;
    Ok(Bulletin {
        bulletin_id: id.to_owned(),
        seq,
        issuer: issuer.to_owned(),
        issued: now as u32,
        title: n.title.trim().to_owned(),
        severity: n.severity,
        description: n.description.clone(),
        scope: serde_json::to_string(&n.scope).expect("serializes"),
        indicators: serde_json::to_string(&n.indicators).expect("serializes"),
        rules: rules.trim_start().to_owned(),
        actions: serde_json::to_string(&n.actions).expect("serializes"),
        deadline: deadline.min(u64::from(u32::MAX)) as u32,
        revoked: 0,
        version: now_us(),
        revision: 1,
        drill: u8::from(n.drill),
        change: String::new(),
        tlp: n.tlp.clone(),
    })
}

/// The longest note an issuer may give an amendment or a revocation.
pub const MAX_CHANGE: usize = 4000;

/// Bulletin `old` amended with the content of `n`, as its next revision numbered `seq`: the
/// same id, scope and targets, new title, severity, description, indicators, signatures,
/// actions and deadline, and `change` saying what changed.
pub fn amended(
    old: &Bulletin,
    n: &NewBulletin,
    change: &str,
    seq: u64,
    now: u64,
) -> Result<Bulletin, String> {
    if old.revoked != 0 {
        return Err("revoked: a revoked bulletin is not amended; issue a new one".into());
    }
    if n.scope != Scope::default() && n.scope != old.scope() {
        return Err(
            "scope: an amendment keeps the bulletin's scope; revoke it and issue a new one".into(),
        );
    }
    if n.drill != (old.drill != 0) {
        return Err("drill: an amendment keeps whether the bulletin is an exercise".into());
    }
    check_change(change)?;
    let mut b = make(n, &old.bulletin_id, &old.issuer, seq, now)?;
    let revision = old.revision + 1;
    b.rules = format!(
        "{}\n{}",
        n.signatures.trim(),
        n.indicators.rules(&old.bulletin_id, revision)
    )
    .trim_start()
    .to_owned();
    b.scope = old.scope.clone();
    b.issued = old.issued;
    b.revision = revision;
    b.change = change.trim().to_owned();
    b.version = b.version.max(old.version + 1);
    Ok(b)
}

/// Bulletin `old` revoked, numbered `seq`: sensors unload its rules, nobody is chased on it.
pub fn revoked(old: &Bulletin, change: &str, seq: u64) -> Result<Bulletin, String> {
    if old.revoked != 0 {
        return Err("revoked: already revoked".into());
    }
    check_change(change)?;
    Ok(Bulletin {
        seq,
        revoked: 1,
        change: change.trim().to_owned(),
        version: now_us().max(old.version + 1),
        ..old.clone()
    })
}

fn check_change(change: &str) -> Result<(), String> {
    if change.trim().is_empty() || change.chars().count() > MAX_CHANGE {
        return Err(format!(
            "change: say what changed and why, in 1-{MAX_CHANGE} characters"
        ));
    }
    Ok(())
}

/// The bulletins of this tier: the book in memory and what it needs to keep it.
pub struct Bulletins {
    pub book: Book,
    store: Store,
    upstream: Option<Arc<Upstream>>,
    tier: TierConfig,
    /// Bulletins are numbered and stored one at a time.
    issuing: tokio::sync::Mutex<()>,
}

/// A bulletin not issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The bulletin itself is wrong: the reason names the field.
    #[error("{0}")]
    Invalid(String),
    /// Its scope reaches no enterprise of this tier's registry.
    #[error("scope: reaches no enterprise in this tier's registry")]
    NoTargets,
    /// Its scope names enterprises outside the issuer's.
    #[error("scope.enterprises: {0} outside the issuer's scope")]
    OutOfScope(String),
    /// No bulletin of that id here.
    #[error("no bulletin {0:?}")]
    NotFound(String),
    /// Only the tier that issued a bulletin amends or revokes it.
    #[error("bulletin {0} was issued by {1}: it is amended or revoked there")]
    NotIssuedHere(String, String),
    #[error(transparent)]
    Storage(#[from] store::Error),
}

/// A bulletin issued here, with the enterprises it reaches.
pub struct Issued {
    pub bulletin: Bulletin,
    pub targets: Vec<Target>,
}

impl Bulletins {
    pub fn new(
        book: Book,
        store: Store,
        upstream: Option<Arc<Upstream>>,
        tier: TierConfig,
    ) -> Bulletins {
        Bulletins {
            book,
            store,
            upstream,
            tier,
            issuing: tokio::sync::Mutex::new(()),
        }
    }

    /// The bulletins held in `store`, their targets and the progress recorded.
    pub async fn load(store: &Store) -> clickhouse::error::Result<Book> {
        let c = store.client();
        let list = c
            .query(
                "SELECT bulletin_id, seq, issuer, toUInt32(issued) AS issued, title, severity, \
                 description, scope, indicators, rules, actions, toUInt32(deadline) AS deadline, \
                 revoked, version, revision, drill, change, tlp FROM bulletins FINAL",
            )
            .fetch_all()
            .await?;
        let targets = c
            .query("SELECT DISTINCT bulletin_id, province, enterprise_id, name, industry, grade FROM bulletin_targets")
            .fetch_all()
            .await?;
        let progress: Vec<super::StepKey> = c
            .query(
                "SELECT DISTINCT bulletin_id, revision, enterprise_id, state FROM bulletin_steps",
            )
            .fetch_all()
            .await?;
        Ok(Book::load(list, targets, progress))
    }

    /// Number, check and store a new bulletin for the enterprises of `registry` in its scope
    /// and the issuer's: `issuer_sees(province, enterprise)`. Enterprises it names outside the
    /// issuer's scope refuse it; its rules must compile within the caps.
    pub async fn issue(
        &self,
        n: &NewBulletin,
        registry: &Registry,
        issuer_sees: impl Fn(&str, &str) -> bool,
    ) -> Result<Issued, IssueError> {
        let _one_at_a_time = self.issuing.lock().await;
        let seq = self.book.next_seq();
        let id = format!("{}-{:06}", self.tier.id, seq);
        let b = make(n, &id, &self.tier.id, seq, now_s()).map_err(IssueError::Invalid)?;
        let outside: Vec<&str> = (n.scope.enterprises.iter())
            .filter(|e| {
                registry
                    .get(e)
                    .is_some_and(|e| !issuer_sees(&e.province, &e.enterprise_id))
            })
            .map(String::as_str)
            .collect();
        if !outside.is_empty() {
            return Err(IssueError::OutOfScope(outside.join(", ")));
        }
        let targets: Vec<Target> = self
            .targets_of(registry, &id, &n.scope)
            .into_iter()
            .filter(|t| issuer_sees(&t.province, &t.enterprise_id))
            .collect();
        // A bulletin that reaches no one is a mistaken scope (or a registry not yet filled).
        if targets.is_empty() {
            return Err(IssueError::NoTargets);
        }
        compile(b.rules.clone())
            .await
            .map_err(IssueError::Invalid)?;
        self.keep(b.clone(), targets.clone()).await?;
        Ok(Issued {
            bulletin: b,
            targets,
        })
    }

    /// Amend bulletin `id`, issued here, with the content of `n`: its next revision, pulled
    /// again by every tier and sensor below, which replace its rules.
    /// `issuer_sees(province, enterprise)` must hold for every target.
    pub async fn amend(
        &self,
        id: &str,
        n: &NewBulletin,
        change: &str,
        issuer_sees: impl Fn(&str, &str) -> bool,
    ) -> Result<Bulletin, IssueError> {
        let _one_at_a_time = self.issuing.lock().await;
        let (old, targets) = self.issued_here(id, &issuer_sees)?;
        let b =
            amended(&old, n, change, self.book.next_seq(), now_s()).map_err(IssueError::Invalid)?;
        compile(b.rules.clone())
            .await
            .map_err(IssueError::Invalid)?;
        self.keep(b.clone(), targets).await?;
        Ok(b)
    }

    /// Revoke bulletin `id`, issued here: every tier and sensor below unloads it.
    pub async fn revoke(
        &self,
        id: &str,
        change: &str,
        issuer_sees: impl Fn(&str, &str) -> bool,
    ) -> Result<Bulletin, IssueError> {
        let _one_at_a_time = self.issuing.lock().await;
        let (old, targets) = self.issued_here(id, &issuer_sees)?;
        let b = revoked(&old, change, self.book.next_seq()).map_err(IssueError::Invalid)?;
        self.keep(b.clone(), targets).await?;
        Ok(b)
    }

    /// Bulletin `id` and its targets, if this tier issued it for targets all in the scope
    /// `issuer_sees` draws; not found if none of them is in it.
    fn issued_here(
        &self,
        id: &str,
        issuer_sees: impl Fn(&str, &str) -> bool,
    ) -> Result<(Bulletin, Vec<Target>), IssueError> {
        let (old, targets) = (self.book.get(id))
            .filter(|(_, t)| t.iter().any(|t| issuer_sees(&t.province, &t.enterprise_id)))
            .ok_or_else(|| IssueError::NotFound(id.to_owned()))?;
        if old.issuer != self.tier.id {
            return Err(IssueError::NotIssuedHere(id.to_owned(), old.issuer));
        }
        let outside: Vec<&str> = (targets.iter())
            .filter(|t| !issuer_sees(&t.province, &t.enterprise_id))
            .map(|t| t.enterprise_id.as_str())
            .collect();
        if !outside.is_empty() {
            return Err(IssueError::OutOfScope(outside.join(", ")));
        }
        Ok((old, targets))
    }

    /// Store a bulletin and its targets at this tier, hold it in the book, and search what is
    /// stored here for its indicators in the background ([`super::hunt`]).
    async fn keep(&self, b: Bulletin, targets: Vec<Target>) -> clickhouse::error::Result<()> {
        self.store.insert("bulletin_targets", &targets).await?;
        self.store
            .insert("bulletins", std::slice::from_ref(&b))
            .await?;
        let (store, up, days) = (
            self.store.clone(),
            self.upstream.clone(),
            self.tier.retro_days,
        );
        let (hunted, among) = (b.clone(), targets.clone());
        tokio::spawn(async move {
            if let Err(e) = super::hunt::hunt(&store, up.as_deref(), &hunted, &among, days).await {
                tracing::warn!(error = %e, bulletin = %hunted.bulletin_id, "retro-hunt failed");
            }
        });
        self.book.put(b, targets);
        Ok(())
    }

    /// The targets of `scope` here: the enterprises of this tier's registry in it.
    fn targets_of(&self, registry: &Registry, id: &str, scope: &Scope) -> Vec<Target> {
        let tier = &self.tier;
        registry
            .matching(scope)
            .into_iter()
            .filter(|e| tier.province.is_empty() || e.province == tier.province)
            .filter(|e| tier.enterprise_id.is_empty() || e.enterprise_id == tier.enterprise_id)
            .map(|e| Target {
                bulletin_id: id.to_owned(),
                province: e.province.clone(),
                enterprise_id: e.enterprise_id.clone(),
                name: e.name.clone(),
                industry: e.industry.clone(),
                grade: e.grade,
            })
            .collect()
    }

    /// The steps recorded for bulletin `id`, every revision's, with their times and actors.
    pub async fn progress_of(&self, id: &str) -> clickhouse::error::Result<Vec<Progress>> {
        self.store
            .client()
            .query(
                "SELECT bulletin_id, province, enterprise_id, state, toUInt32(at) AS at, actor, \
                 note, version, revision FROM bulletin_steps FINAL WHERE bulletin_id = ? \
                 ORDER BY revision, at",
            )
            .bind(id)
            .fetch_all()
            .await
    }

    /// Record a step of an enterprise's handling of the bulletin's current revision, the first
    /// time only, and report it up at once; whether it was the first. Nothing is recorded on a
    /// revoked bulletin.
    pub async fn record_progress(
        &self,
        b: &Bulletin,
        t: &Target,
        state: &str,
        actor: &str,
        note: &str,
    ) -> clickhouse::error::Result<bool> {
        if b.revoked != 0
            || !self
                .book
                .first(&b.bulletin_id, b.revision, &t.enterprise_id, state)
        {
            return Ok(false);
        }
        let now = now_us();
        let p = Progress {
            bulletin_id: b.bulletin_id.clone(),
            province: t.province.clone(),
            enterprise_id: t.enterprise_id.clone(),
            state: state.to_owned(),
            at: (now / 1_000_000) as u32,
            actor: actor.to_owned(),
            note: note.to_owned(),
            version: u64::MAX - now,
            revision: b.revision,
        };
        if let Err(e) = self
            .store
            .insert("bulletin_steps", std::slice::from_ref(&p))
            .await
        {
            (self.book).forget(&b.bulletin_id, b.revision, &t.enterprise_id, state);
            return Err(e);
        }
        upstream::report_now(self.upstream.as_deref(), &[report::progress_line(&p)]);
        Ok(true)
    }

    /// Pull the bulletins of the tier above every `bulletin_poll_s`, store them with their
    /// targets here, renumbered in this tier's order.
    pub async fn pull_loop(self: Arc<Self>, cfg: UpstreamConfig) {
        let feed = upstream::Feed {
            what: "bulletins",
            path: "/v1/bulletins/feed",
            key: "bulletins",
            cursor: "bulletins.cursor",
        };
        let tier = self.tier.id.clone();
        upstream::follow(cfg, tier, feed, |j| self.take(j)).await;
    }

    /// Store one bulletin of the feed above, with the targets it came with.
    async fn take(&self, j: serde_json::Value) -> Result<(), String> {
        let targets: Vec<Target> =
            serde_json::from_value(j.get("targets").cloned().unwrap_or_default())
                .map_err(|e| e.to_string())?;
        let mut b: Bulletin = serde_json::from_value(j).map_err(|e| e.to_string())?;
        let tier = &self.tier;
        let targets: Vec<Target> = targets
            .into_iter()
            .filter(|t| {
                t.bulletin_id == b.bulletin_id
                    && (tier.province.is_empty() || t.province == tier.province)
            })
            .collect();
        let _one_at_a_time = self.issuing.lock().await;
        b.seq = match self.book.get(&b.bulletin_id) {
            Some((old, _)) if old.version >= b.version => return Ok(()),
            _ => self.book.next_seq(),
        };
        self.keep(b, targets)
            .await
            .map_err(|e| format!("storage unavailable: {e}"))
    }
}
