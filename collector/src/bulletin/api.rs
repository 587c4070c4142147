//! The bulletins API: issue, list, read with each enterprise's progress, acknowledge and
//! dispose, the feed sensors and lower tiers pull, STIX 2.1 in and out; and the loop that
//! pulls a lower tier's bulletins from the tier above.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::{Bulletin, Indicators, Target};
use crate::account::Account;
use crate::auth::{Peer, Sender};
use crate::config::TierRole;
use crate::ingest::Refusal;
use crate::registry::Scope;
use crate::report::{self, Progress};
use crate::server::App;
use crate::time::{format_time, now_s, now_us, parse_time};

fn bad(m: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, "invalid", m)
}

fn not_found(id: &str, who: &Account) -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no bulletin {id:?} in {}'s scope", who.name),
    )
}

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
}

/// Check a new bulletin and make it, numbered `seq`, with id `id`.
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
    let deadline = parse_time(&n.deadline).ok_or_else(|| {
        format!(
            "deadline: {:?} is not a time like 2026-12-31T00:00:00Z",
            n.deadline
        )
    })? / 1_000_000;
    if deadline <= now {
        return Err("deadline: already past".into());
    }
    if n.signatures.len() > 256 * 1024 {
        return Err("signatures: at most 256 KiB".into());
    }
    let rules = format!("{}\n{}", n.signatures.trim(), n.indicators.rules(id));
    let loaded = rules::load_sources(
        &[(std::path::PathBuf::from("signatures"), rules.clone())],
        &rules::Vars::suricata_defaults(),
        &rules::Classification::builtin(),
    );
    if let Some(e) = loaded.errors.first() {
        return Err(format!("signatures: line {}: {}", e.line, e.message));
    }
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
    })
}

/// Store a bulletin and its targets at this tier, and hold it in the book.
async fn keep(app: &App, b: Bulletin, targets: Vec<Target>) -> Result<(), Refusal> {
    app.store
        .insert("bulletin_targets", &targets)
        .await
        .map_err(|e| app.storage_error(e))?;
    app.store
        .insert("bulletins", std::slice::from_ref(&b))
        .await
        .map_err(|e| app.storage_error(e))?;
    app.bulletins.put(b, targets);
    Ok(())
}

/// The targets of `scope` here: the enterprises of this tier's registry in it.
fn targets_of(app: &App, id: &str, scope: &Scope) -> Vec<Target> {
    let tier = &app.config.tier;
    app.registry()
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

/// `POST /v1/bulletins`: an administrator of the national or a provincial tier issues one.
pub async fn issue(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Result<Json<NewBulletin>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = issue_inner(
        &app,
        &headers,
        body.map(|Json(b)| b).map_err(|e| e.body_text()),
    )
    .await;
    app.audited(&headers, &peer, "bulletin.issue", "/v1/bulletins", r)
}

async fn issue_inner(
    app: &Arc<App>,
    headers: &HeaderMap,
    body: Result<NewBulletin, String>,
) -> Result<(Response, String), Refusal> {
    let who = app.credentials.account(headers, now_s())?;
    who.may_administer("issue bulletins")?;
    let tier = &app.config.tier;
    if tier.role == TierRole::Enterprise {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "an enterprise tier does not issue bulletins",
        ));
    }
    let mut n = body.map_err(bad)?;
    // A provincial tier's bulletins stay in its province.
    if !tier.province.is_empty() {
        if n.scope.provinces.iter().any(|p| *p != tier.province) {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "scope.provinces: a provincial tier issues for {} only",
                    tier.province
                ),
            ));
        }
        n.scope.provinces = vec![tier.province.clone()];
    }
    if !who.province.is_empty() && n.scope.provinces != [who.province.clone()] {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("{} issues for province {} only", who.name, who.province),
        ));
    }
    let _one_at_a_time = app.issuing.lock().await;
    let seq = app.bulletins.next_seq();
    let id = format!("{}-{:06}", tier.id, seq);
    let b = make(&n, &id, &tier.id, seq, now_s()).map_err(bad)?;
    let targets = targets_of(app, &id, &n.scope);
    // A bulletin that reaches no one is a mistaken scope (or a registry not yet filled).
    if targets.is_empty() {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_targets",
            "scope: reaches no enterprise in this tier's registry",
        ));
    }
    keep(app, b.clone(), targets.clone()).await?;
    let body = serde_json::json!({
        "bulletin_id": id,
        "seq": seq,
        "targets": targets.len(),
        "rules": b.rules.lines().count(),
    });
    Ok((
        (StatusCode::CREATED, Json(body)).into_response(),
        format!("{id}: {} targets", targets.len()),
    ))
}

fn bulletin_json(b: &Bulletin) -> serde_json::Value {
    serde_json::json!({
        "bulletin_id": b.bulletin_id,
        "seq": b.seq,
        "issuer": b.issuer,
        "issued": format_time(u64::from(b.issued) * 1_000_000),
        "title": b.title,
        "severity": b.severity,
        "description": b.description,
        "scope": b.scope(),
        "indicators": b.indicators(),
        "rules": b.rules,
        "actions": b.actions(),
        "deadline": format_time(u64::from(b.deadline) * 1_000_000),
        "revoked": b.revoked != 0,
    })
}

/// `GET /v1/bulletins`: the bulletins reaching the account's scope, with counts of progress.
pub async fn bulletins(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
) -> Response {
    let r = async {
        let who = app.credentials.account(&headers, now_s())?;
        let list = app
            .bulletins
            .all(|t| who.sees(&t.province, &t.enterprise_id));
        let mut out = Vec::new();
        for (b, targets) in &list {
            if !who.enterprise_id.is_empty() {
                record_progress(&app, b, &targets[0], "received", &who.name, "").await?;
            }
            let count = |state: &str| {
                (targets.iter())
                    .filter(|t| app.bulletins.has(&b.bulletin_id, &t.enterprise_id, state))
                    .count()
            };
            let mut j = bulletin_json(b);
            j["targets"] = targets.len().into();
            j["received"] = count("received").into();
            j["acknowledged"] = count("acknowledged").into();
            j["disposed"] = count("disposed").into();
            out.push(j);
        }
        Ok::<_, Refusal>(Json(serde_json::json!({ "bulletins": out })).into_response())
    }
    .await;
    app.answer(&headers, &peer, "bulletin.list", "/v1/bulletins", r)
}

/// The steps recorded for bulletin `id`, with their times and actors.
async fn progress_of(app: &App, id: &str) -> Result<Vec<Progress>, Refusal> {
    app.store
        .client()
        .query(
            "SELECT bulletin_id, province, enterprise_id, state, toUInt32(at) AS at, actor, \
             note, version FROM bulletin_progress FINAL WHERE bulletin_id = ?",
        )
        .bind(id)
        .fetch_all()
        .await
        .map_err(|e| app.storage_error(e))
}

/// `GET /v1/bulletins/{id}`: the bulletin and, per enterprise in the account's scope, when it
/// was received, acknowledged and disposed, and whether it is overdue.
pub async fn bulletin(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let who = app.credentials.account(&headers, now_s())?;
        let (b, targets) = app.bulletins.get(&id).ok_or_else(|| not_found(&id, who))?;
        let mine: Vec<&Target> = targets
            .iter()
            .filter(|t| who.sees(&t.province, &t.enterprise_id))
            .collect();
        if mine.is_empty() {
            return Err(not_found(&id, who));
        }
        if !who.enterprise_id.is_empty() {
            record_progress(&app, &b, mine[0], "received", &who.name, "").await?;
        }
        let progress = progress_of(&app, &id).await?;
        let now = now_s();
        let status: Vec<serde_json::Value> = mine
            .iter()
            .map(|t| {
                let at = |state: &str| {
                    progress
                        .iter()
                        .find(|p| p.enterprise_id == t.enterprise_id && p.state == state)
                        .map(|p| format_time(u64::from(p.at) * 1_000_000))
                };
                let disposed = at("disposed");
                serde_json::json!({
                    "enterprise_id": t.enterprise_id,
                    "name": t.name,
                    "province": t.province,
                    "industry": t.industry,
                    "grade": t.grade,
                    "received": at("received"),
                    "acknowledged": at("acknowledged"),
                    "disposed": disposed,
                    "overdue": disposed.is_none() && now > u64::from(b.deadline),
                })
            })
            .collect();
        let mut j = bulletin_json(&b);
        j["status"] = status.into();
        Ok(Json(j).into_response())
    }
    .await;
    app.answer(&headers, &peer, "bulletin.read", &id, r)
}

/// Record a step of an enterprise's handling, the first time only, and report it up at once.
async fn record_progress(
    app: &App,
    b: &Bulletin,
    t: &Target,
    state: &str,
    actor: &str,
    note: &str,
) -> Result<bool, Refusal> {
    if !app.bulletins.first(&b.bulletin_id, &t.enterprise_id, state) {
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
    };
    if let Err(e) = app
        .store
        .insert("bulletin_progress", std::slice::from_ref(&p))
        .await
    {
        app.bulletins
            .forget(&b.bulletin_id, &t.enterprise_id, state);
        return Err(app.storage_error(e));
    }
    app.report_now(&[report::progress_line(&p)]);
    Ok(true)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The enterprise acting; may be left out by an enterprise account.
    #[serde(default)]
    pub enterprise_id: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /v1/bulletins/{id}/acknowledge`
pub async fn acknowledge(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Step>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = step(&app, &headers, &id, body, "acknowledged").await;
    app.audited(&headers, &peer, "bulletin.acknowledge", &id, r)
}

/// `POST /v1/bulletins/{id}/dispose`
pub async fn dispose(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Step>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = step(&app, &headers, &id, body, "disposed").await;
    app.audited(&headers, &peer, "bulletin.dispose", &id, r)
}

async fn step(
    app: &Arc<App>,
    headers: &HeaderMap,
    id: &str,
    body: Result<Json<Step>, axum::extract::rejection::JsonRejection>,
    state: &str,
) -> Result<(Response, String), Refusal> {
    let who = app.credentials.account(headers, now_s())?;
    let Json(s) = body.map_err(|e| bad(e.body_text()))?;
    if s.note.chars().count() > 4000 {
        return Err(bad("note: at most 4000 characters"));
    }
    let enterprise = if s.enterprise_id.is_empty() {
        who.enterprise_id.clone()
    } else {
        s.enterprise_id.clone()
    };
    if enterprise.is_empty() {
        return Err(bad("enterprise_id: which enterprise acts?"));
    }
    let (b, targets) = app.bulletins.get(id).ok_or_else(|| not_found(id, who))?;
    let t = targets
        .iter()
        .find(|t| t.enterprise_id == enterprise && who.sees(&t.province, &t.enterprise_id))
        .ok_or_else(|| not_found(id, who))?;
    who.may_write("act on bulletins")?;
    // Disposal implies the earlier steps.
    record_progress(app, &b, t, "received", &who.name, "").await?;
    if state == "disposed" {
        record_progress(app, &b, t, "acknowledged", &who.name, "").await?;
    }
    let first = record_progress(app, &b, t, state, &who.name, &s.note).await?;
    Ok((
        Json(serde_json::json!({ "bulletin_id": id, "enterprise_id": enterprise, "state": state, "first": first }))
            .into_response(),
        format!("{id} {enterprise} {state}"),
    ))
}

/// Bulletins in one feed answer unless `limit` says fewer: the reader asks again from the
/// answer's `last` until an answer is empty, so no answer grows with the number issued.
pub const FEED_PAGE: usize = 100;
/// The most a reader may ask for in one answer.
pub const FEED_PAGE_MAX: usize = 1000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    #[serde(default)]
    pub after: u64,
    pub limit: Option<usize>,
}

/// `GET /v1/bulletins/feed?after=SEQ[&limit=N]`: for a sensor, the bulletins for its
/// enterprise after `SEQ` (asking confirms it holds those up to `SEQ`); for a collector below,
/// those reaching its province or enterprise, with its targets. One page of at most
/// [`FEED_PAGE`] (or `limit`) in `seq` order; `last` is the highest `seq` in it.
pub async fn feed(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    params: Result<Query<FeedParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let sender = app.credentials.sender(&headers, &peer)?;
        let Query(p) = params.map_err(|e| bad(e.body_text()))?;
        let limit = p.limit.unwrap_or(FEED_PAGE);
        if !(1..=FEED_PAGE_MAX).contains(&limit) {
            return Err(bad(format!("limit: {limit} is not 1 to {FEED_PAGE_MAX}")));
        }
        let list = match sender {
            Sender::Sensor(s) => {
                for (b, t) in app.bulletins.all(|t| t.enterprise_id == s.enterprise_id) {
                    if b.seq <= p.after {
                        record_progress(&app, &b, &t[0], "received", &s.id, "").await?;
                    }
                }
                app.bulletins
                    .after(p.after, limit, |t| t.enterprise_id == s.enterprise_id)
            }
            Sender::Collector(c) => app.bulletins.after(p.after, limit, |t| {
                t.province == c.province
                    && (c.enterprise_id.is_empty() || t.enterprise_id == c.enterprise_id)
            }),
        };
        let last = list.iter().map(|(b, _)| b.seq).max().unwrap_or(p.after);
        let with_targets = matches!(sender, Sender::Collector(_));
        let out: Vec<serde_json::Value> = list
            .iter()
            .map(|(b, t)| {
                let mut j = serde_json::to_value(b).expect("serializes");
                if with_targets {
                    j["targets"] = serde_json::to_value(t).expect("serializes");
                }
                j
            })
            .collect();
        Ok::<_, Refusal>(
            Json(serde_json::json!({ "bulletins": out, "last": last })).into_response(),
        )
    }
    .await;
    app.answer(&headers, &peer, "bulletin.feed", "/v1/bulletins/feed", r)
}

#[derive(Deserialize)]
struct FeedAnswer {
    bulletins: Vec<serde_json::Value>,
    last: u64,
}

/// Pull the bulletins of the tier above every `bulletin_poll_s`, store them with their
/// targets here, renumbered in this tier's order.
pub async fn pull_loop(app: Arc<App>) {
    let cfg = &app.config.upstream;
    if !cfg.link.enabled() {
        return;
    }
    let fetch = match uplink::Fetch::new(&cfg.link, "upstream.link", &app.config.tier.id) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            tracing::error!(error = %format!("{}: {}", e.full_key(), e.detail()), "cannot pull bulletins");
            return;
        }
    };
    let path = cfg.link.spool_dir.join("bulletins.cursor");
    let mut cursor: u64 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let every = Duration::from_secs_f64(cfg.bulletin_poll_s);
    loop {
        let f = fetch.clone();
        let got = tokio::task::spawn_blocking(move || {
            f.get(&format!("/v1/bulletins/feed?after={cursor}"))
        })
        .await;
        match got {
            Ok(Ok(text)) => match serde_json::from_str::<FeedAnswer>(&text) {
                Ok(a) => {
                    let mut ok = true;
                    for j in a.bulletins {
                        if let Err(e) = take(&app, j).await {
                            tracing::warn!(error = %e, "storing a bulletin from above failed; will pull it again");
                            ok = false;
                            break;
                        }
                    }
                    if ok && a.last > cursor {
                        cursor = a.last;
                        let tmp = path.with_extension("tmp");
                        if let Err(e) = std::fs::write(&tmp, format!("{cursor}\n"))
                            .and_then(|()| std::fs::rename(&tmp, &path))
                        {
                            tracing::warn!(error = %e, "cannot keep the bulletin cursor");
                        }
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the bulletin feed above answered something else")
                }
            },
            Ok(Err(e)) => tracing::warn!(error = %e, "pulling bulletins failed"),
            Err(e) => tracing::warn!(error = %e, "pulling bulletins failed"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Store one bulletin of the feed above, with the targets it came with.
async fn take(app: &App, j: serde_json::Value) -> Result<(), String> {
    let targets: Vec<Target> =
        serde_json::from_value(j.get("targets").cloned().unwrap_or_default())
            .map_err(|e| e.to_string())?;
    let mut b: Bulletin = serde_json::from_value(j).map_err(|e| e.to_string())?;
    let tier = &app.config.tier;
    let targets: Vec<Target> = targets
        .into_iter()
        .filter(|t| {
            t.bulletin_id == b.bulletin_id
                && (tier.province.is_empty() || t.province == tier.province)
        })
        .collect();
    let _one_at_a_time = app.issuing.lock().await;
    b.seq = match app.bulletins.get(&b.bulletin_id) {
        Some((old, _)) if old.version >= b.version => return Ok(()),
        _ => app.bulletins.next_seq(),
    };
    keep(app, b, targets).await.map_err(|r| r.error)
}

/// `GET /v1/bulletins/{id}/stix`: the bulletin as a STIX 2.1 bundle.
pub async fn stix_export(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let who = app.credentials.account(&headers, now_s())?;
        let (b, targets) = app.bulletins.get(&id).ok_or_else(|| not_found(&id, who))?;
        let everything = who.province.is_empty() && who.enterprise_id.is_empty();
        if !everything
            && !targets
                .iter()
                .any(|t| who.sees(&t.province, &t.enterprise_id))
        {
            return Err(not_found(&id, who));
        }
        let bundle = super::stix::export(&b);
        Ok((
            [(header::CONTENT_TYPE, "application/stix+json;version=2.1")],
            Json(bundle),
        )
            .into_response())
    }
    .await;
    app.answer(&headers, &peer, "bulletin.stix", &id, r)
}

/// `POST /v1/bulletins/stix`: issue a bulletin from a STIX 2.1 bundle (its report, indicators
/// and courses of action), with the scope and deadline the bundle's `x_icsight_*` say.
pub async fn stix_import(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let n = body
        .map_err(|e| e.body_text())
        .and_then(|Json(v)| super::stix::import(&v));
    let r = issue_inner(&app, &headers, n).await;
    app.audited(&headers, &peer, "bulletin.import", "/v1/bulletins/stix", r)
}
