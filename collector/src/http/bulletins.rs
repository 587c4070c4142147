//! The bulletins API: issue (as JSON or a STIX 2.1 bundle), list, read with each enterprise's
//! progress, acknowledge and dispose, export as STIX, and the feed sensors and lower tiers
//! pull. What a bulletin is and how it is kept is the tier's ([`crate::tier::bulletin`]).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::account::Account;
use crate::auth::Sender;
use crate::config::TierRole;
use crate::tier::bulletin::{
    stix, Bulletin, IssueError, NewBulletin, Target, FEED_PAGE, FEED_PAGE_MAX,
};
use crate::time::now_s;
use icsight_eve::Timestamp;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/bulletins", get(list).route_layer(act("bulletin.list")))
        .route(
            "/v1/bulletins",
            post(issue).route_layer(act("bulletin.issue")),
        )
        .route(
            "/v1/bulletins/feed",
            get(feed).route_layer(act("bulletin.feed")),
        )
        .route(
            "/v1/bulletins/stix",
            post(stix_import).route_layer(act("bulletin.import")),
        )
        .route(
            "/v1/bulletins/{id}",
            get(read).route_layer(act("bulletin.read")),
        )
        .route(
            "/v1/bulletins/{id}/stix",
            get(stix_export).route_layer(act("bulletin.stix")),
        )
        .route(
            "/v1/bulletins/{id}/amend",
            post(amend).route_layer(act("bulletin.amend")),
        )
        .route(
            "/v1/bulletins/{id}/revoke",
            post(revoke).route_layer(act("bulletin.revoke")),
        )
        .route(
            "/v1/bulletins/{id}/remind",
            post(remind).route_layer(act("bulletin.remind")),
        )
        .route(
            "/v1/bulletins/{id}/acknowledge",
            post(acknowledge).route_layer(act("bulletin.acknowledge")),
        )
        .route(
            "/v1/bulletins/{id}/dispose",
            post(dispose).route_layer(act("bulletin.dispose")),
        )
}

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad(m)
}

fn not_found(id: &str, who: &Account) -> ApiError {
    ApiError::not_found(format!("no bulletin {id:?} in {}'s scope", who.name))
}

/// `POST /v1/bulletins`: an administrator of the national or a provincial tier issues one.
async fn issue(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    body: Result<Json<NewBulletin>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let n = body.map(|Json(b)| b).map_err(|e| e.body_text());
    let r = issue_inner(&app, &who.who, n).await;
    who.audited(&app, r)
}

/// `POST /v1/bulletins/stix`: issue a bulletin from a STIX 2.1 bundle (its report, indicators
/// and courses of action), with the scope and deadline the bundle's `x_icsight_*` say.
async fn stix_import(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    body: Result<Json<serde_json::Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let n = body
        .map_err(|e| e.body_text())
        .and_then(|Json(v)| stix::import(&v));
    let r = issue_inner(&app, &who.who, n).await;
    who.audited(&app, r)
}

pub(super) async fn issue_inner(
    app: &App,
    who: &Account,
    body: Result<NewBulletin, String>,
) -> Result<(Response, String), ApiError> {
    who.may_administer("issue bulletins")?;
    let tier = &app.config.tier;
    if tier.role == TierRole::Enterprise {
        return Err(ApiError::forbidden(
            "an enterprise tier does not issue bulletins",
        ));
    }
    let mut n = body.map_err(bad)?;
    // A provincial tier's bulletins stay in its province.
    if !tier.province.is_empty() {
        if n.scope.provinces.iter().any(|p| *p != tier.province) {
            return Err(ApiError::forbidden(format!(
                "scope.provinces: a provincial tier issues for {} only",
                tier.province
            )));
        }
        n.scope.provinces = vec![tier.province.clone()];
    }
    if !who.province.is_empty() && n.scope.provinces != [who.province.clone()] {
        return Err(ApiError::forbidden(format!(
            "{} issues for province {} only",
            who.name, who.province
        )));
    }
    let sees = |province: &str, enterprise: &str| who.sees(province, enterprise);
    let issued = match app.bulletins.issue(&n, &app.registry(), sees).await {
        Ok(i) => i,
        Err(IssueError::Invalid(m)) => return Err(bad(m)),
        Err(e @ IssueError::OutOfScope(_)) => return Err(ApiError::forbidden(e.to_string())),
        Err(e @ IssueError::NoTargets) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_targets",
                e.to_string(),
            ))
        }
        Err(e @ (IssueError::NotFound(_) | IssueError::NotIssuedHere(..))) => {
            return Err(bad(e.to_string()))
        }
        Err(IssueError::Storage(e)) => return Err(app.storage_error(e)),
    };
    let (b, targets) = (&issued.bulletin, &issued.targets);
    let id = &b.bulletin_id;
    let body = serde_json::json!({
        "bulletin_id": id,
        "seq": b.seq,
        "targets": targets.len(),
        "rules": b.rules.lines().count(),
    });
    Ok((
        (StatusCode::CREATED, Json(body)).into_response(),
        format!("{id}: {} targets", targets.len()),
    ))
}

/// An amendment: the bulletin's new content, as issued, and what changed, in one object.
#[derive(Debug)]
pub struct Amendment {
    pub change: String,
    pub content: NewBulletin,
}

impl<'de> Deserialize<'de> for Amendment {
    /// `change` taken out, the rest must be a [`NewBulletin`], unknown fields refused (which
    /// `#[serde(flatten)]` would let through).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Amendment, D::Error> {
        use serde::de::Error;
        let mut v = serde_json::Map::deserialize(d)?;
        let change = match v.remove("change") {
            Some(serde_json::Value::String(s)) => s,
            Some(_) => return Err(D::Error::custom("change: a string")),
            None => return Err(D::Error::missing_field("change")),
        };
        let content =
            NewBulletin::deserialize(serde_json::Value::Object(v)).map_err(D::Error::custom)?;
        Ok(Amendment { change, content })
    }
}

/// A revocation: why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub change: String,
}

/// `POST /v1/bulletins/{id}/amend`: the issuing tier's administrator replaces the bulletin's
/// content with a new revision; sensors replace its rules.
async fn amend(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Amendment>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let a = body.map(|Json(a)| Box::new(a)).map_err(|e| e.body_text());
    let r = change_inner(&app, &who.who, &id, Change::Amend(a)).await;
    who.audited(&app, r)
}

/// `POST /v1/bulletins/{id}/revoke`: the issuing tier's administrator withdraws the
/// bulletin; sensors unload its rules and nobody is chased on it.
async fn revoke(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Revocation>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let a = body.map(|Json(a)| a).map_err(|e| e.body_text());
    let r = change_inner(&app, &who.who, &id, Change::Revoke(a)).await;
    who.audited(&app, r)
}

pub(super) enum Change {
    Amend(Result<Box<Amendment>, String>),
    Revoke(Result<Revocation, String>),
}

/// Amend or revoke bulletin `id` as `who`: the API and the bulletin's page both act here.
pub(super) async fn change_inner(
    app: &App,
    who: &Account,
    id: &str,
    change: Change,
) -> Result<(Response, String), ApiError> {
    who.may_administer("amend or revoke bulletins")?;
    if app.config.tier.role == TierRole::Enterprise {
        return Err(ApiError::forbidden(
            "an enterprise tier does not issue bulletins",
        ));
    }
    let sees = |province: &str, enterprise: &str| who.sees(province, enterprise);
    let done = match change {
        Change::Amend(a) => {
            let a = a.map_err(bad)?;
            app.bulletins.amend(id, &a.content, &a.change, sees).await
        }
        Change::Revoke(r) => {
            let r = r.map_err(bad)?;
            app.bulletins.revoke(id, &r.change, sees).await
        }
    };
    let b = match done {
        Ok(b) => b,
        Err(IssueError::Invalid(m)) if m.starts_with("revoked:") => {
            return Err(ApiError::conflict(m))
        }
        Err(IssueError::Invalid(m)) => return Err(bad(m)),
        Err(IssueError::NotFound(_)) => return Err(not_found(id, who)),
        Err(e @ IssueError::NotIssuedHere(..)) => return Err(ApiError::conflict(e.to_string())),
        Err(e @ IssueError::OutOfScope(_)) => return Err(ApiError::forbidden(e.to_string())),
        Err(e @ IssueError::NoTargets) => return Err(bad(e.to_string())),
        Err(IssueError::Storage(e)) => return Err(app.storage_error(e)),
    };
    let what = if b.revoked != 0 { "revoked" } else { "amended" };
    Ok((
        Json(serde_json::json!({
            "bulletin_id": b.bulletin_id,
            "seq": b.seq,
            "revision": b.revision,
            "revoked": b.revoked != 0,
            "rules": b.rules.lines().count(),
        }))
        .into_response(),
        format!("{id}: {what}, revision {}", b.revision),
    ))
}

fn bulletin_json(b: &Bulletin) -> serde_json::Value {
    serde_json::json!({
        "bulletin_id": b.bulletin_id,
        "seq": b.seq,
        "issuer": b.issuer,
        "issued": Timestamp(u64::from(b.issued) * 1_000_000).rfc3339(),
        "title": b.title,
        "severity": b.severity,
        "description": b.description,
        "scope": b.scope(),
        "indicators": b.indicators(),
        "rules": b.rules,
        "actions": b.actions(),
        "deadline": Timestamp(u64::from(b.deadline) * 1_000_000).rfc3339(),
        "revoked": b.revoked != 0,
        "revision": b.revision,
        "drill": b.drill != 0,
        "change": b.change,
        "tlp": b.tlp,
    })
}

/// Whether `who` reading a bulletin records it received: an enterprise's own people do; a
/// read-only regulator looking in does not.
fn receives(who: &Account) -> bool {
    !who.enterprise_id.is_empty() && who.may_write("receive bulletins").is_ok()
}

/// Record a step of an enterprise's handling, the first time only; whether it was.
async fn record_progress(
    app: &App,
    b: &Bulletin,
    t: &Target,
    state: &str,
    actor: &str,
    note: &str,
) -> Result<bool, ApiError> {
    app.bulletins
        .record_progress(b, t, state, actor, note)
        .await
        .map_err(|e| app.storage_error(e))
}

/// `GET /v1/bulletins`: the bulletins reaching the account's scope, with counts of progress.
async fn list(State(app): State<Arc<App>>, who: Authed<Account>) -> Response {
    let r = list_inner(&app, &who.who).await;
    who.answer(&app, r)
}

async fn list_inner(app: &App, who: &Account) -> Result<Response, ApiError> {
    let out = listing(app, who).await?;
    Ok(Json(serde_json::json!({ "bulletins": out })).into_response())
}

/// The bulletins reaching `who`'s scope with counts of progress, as `GET /v1/bulletins` and
/// the bulletins page show them; an enterprise's own people reading them receive them.
pub(super) async fn listing(app: &App, who: &Account) -> Result<Vec<serde_json::Value>, ApiError> {
    let book = &app.bulletins.book;
    let list =
        book.all(|t| who.sees(&t.province, &t.enterprise_id) && who.sees_industry(&t.industry));
    let mut out = Vec::new();
    for (b, targets) in &list {
        if receives(who) {
            record_progress(app, b, &targets[0], "received", &who.name, "").await?;
        }
        let count = |state: &str| {
            (targets.iter())
                .filter(|t| book.has(&b.bulletin_id, b.revision, &t.enterprise_id, state))
                .count()
        };
        let mut j = bulletin_json(b);
        j["targets"] = targets.len().into();
        j["received"] = count("received").into();
        j["acknowledged"] = count("acknowledged").into();
        j["disposed"] = count("disposed").into();
        out.push(j);
    }
    Ok(out)
}

/// `GET /v1/bulletins/{id}`: the bulletin and, per enterprise in the account's scope, when it
/// was received, acknowledged and disposed, and whether it is overdue.
async fn read(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = read_inner(&app, &who.who, &id).await;
    who.answer(&app, r)
}

async fn read_inner(app: &App, who: &Account, id: &str) -> Result<Response, ApiError> {
    Ok(Json(reading(app, who, id).await?).into_response())
}

/// Bulletin `id` and its progress per enterprise of `who`'s scope, as `GET /v1/bulletins/{id}`
/// and the bulletin's page show it; not found outside the scope.
pub(super) async fn reading(
    app: &App,
    who: &Account,
    id: &str,
) -> Result<serde_json::Value, ApiError> {
    let (b, targets) = app
        .bulletins
        .book
        .get(id)
        .ok_or_else(|| not_found(id, who))?;
    let mine: Vec<&Target> = targets
        .iter()
        .filter(|t| who.sees(&t.province, &t.enterprise_id) && who.sees_industry(&t.industry))
        .collect();
    if mine.is_empty() {
        return Err(not_found(id, who));
    }
    if receives(who) {
        record_progress(app, &b, mine[0], "received", &who.name, "").await?;
    }
    let progress = app
        .bulletins
        .progress_of(id)
        .await
        .map_err(|e| app.storage_error(e))?;
    let now = now_s();
    let status: Vec<serde_json::Value> = mine
        .iter()
        .map(|t| {
            let at = |state: &str| {
                (progress.iter())
                    .find(|p| {
                        p.revision == b.revision
                            && p.enterprise_id == t.enterprise_id
                            && p.state == state
                    })
                    .map(|p| Timestamp(u64::from(p.at) * 1_000_000).rfc3339())
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
                "overdue": b.revoked == 0 && disposed.is_none() && now > u64::from(b.deadline),
            })
        })
        .collect();
    // What was done on the earlier revisions, in the scope.
    let earlier: Vec<serde_json::Value> = (1..b.revision)
        .map(|r| {
            let count = |state: &str| {
                (progress.iter())
                    .filter(|p| p.revision == r && p.state == state)
                    .filter(|p| mine.iter().any(|t| t.enterprise_id == p.enterprise_id))
                    .count()
            };
            serde_json::json!({
                "revision": r,
                "received": count("received"),
                "acknowledged": count("acknowledged"),
                "disposed": count("disposed"),
            })
        })
        .collect();
    // What the retro-hunt found of the scope's enterprises, here and reported from below.
    let hits = crate::tier::bulletin::hunt::hits_of(&app.store, id, 1000)
        .await
        .map_err(|e| app.storage_error(e))?;
    let hits: Vec<serde_json::Value> = (hits.iter())
        .filter(|h| mine.iter().any(|t| t.enterprise_id == h.enterprise_id))
        .map(|h| {
            serde_json::json!({
                "enterprise_id": h.enterprise_id, "province": h.province, "sensor_id": h.sensor_id,
                "kind": h.kind, "event_id": h.event_id,
                "ts": Timestamp(u64::from(h.ts) * 1_000_000).rfc3339(),
                "src_ip": h.src_ip, "src_port": h.src_port, "dest_ip": h.dest_ip,
                "dest_port": h.dest_port, "proto": h.proto, "indicator": h.indicator,
                "revision": h.revision,
            })
        })
        .collect();
    let mut j = bulletin_json(&b);
    j["status"] = status.into();
    j["earlier_revisions"] = earlier.into();
    j["retro_hits"] = hits.into();
    Ok(j)
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
async fn acknowledge(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Step>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(s)) => step(&app, &who.who, &id, s, "acknowledged").await,
        Err(e) => Err(bad(e.body_text())),
    };
    who.audited(&app, r)
}

/// `POST /v1/bulletins/{id}/dispose`
async fn dispose(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Step>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(s)) => step(&app, &who.who, &id, s, "disposed").await,
        Err(e) => Err(bad(e.body_text())),
    };
    who.audited(&app, r)
}

/// Enterprise `s.enterprise_id` (or `who`'s own) took step `state` of bulletin `id`: the
/// answer and the audit trail's detail. The API and the bulletin's page both act here.
pub(super) async fn step(
    app: &App,
    who: &Account,
    id: &str,
    s: Step,
    state: &str,
) -> Result<(Response, String), ApiError> {
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
    let (b, targets) = app
        .bulletins
        .book
        .get(id)
        .ok_or_else(|| not_found(id, who))?;
    let t = targets
        .iter()
        .find(|t| t.enterprise_id == enterprise && who.sees(&t.province, &t.enterprise_id))
        .ok_or_else(|| not_found(id, who))?;
    who.may_write("act on bulletins")?;
    if !who.industry.is_empty() {
        return Err(ApiError::forbidden(format!(
            "{} is an industry authority's account: the enterprise disposes, the authority chases (POST /v1/bulletins/{id}/remind)",
            who.name
        )));
    }
    if b.revoked != 0 {
        return Err(ApiError::conflict(format!(
            "bulletin {id} was revoked: nothing more to do on it"
        )));
    }
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

/// A reminder (督促) to an enterprise that has not disposed of a bulletin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reminder {
    pub enterprise_id: String,
}

/// `POST /v1/bulletins/{id}/remind`: a province's or an industry authority's account chases
/// an enterprise of its scope that has not disposed of the bulletin: its people are told now
/// (at most once an hour per enterprise and revision).
async fn remind(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Reminder>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(m)) => chase(&app, &who.who, &id, &m.enterprise_id).await,
        Err(e) => Err(bad(e.body_text())),
    };
    who.audited(&app, r)
}

/// Chase `enterprise` on bulletin `id` as `who`: the API and the bulletin's page act here.
pub(super) async fn chase(
    app: &App,
    who: &Account,
    id: &str,
    enterprise: &str,
) -> Result<(Response, String), ApiError> {
    if !who.enterprise_id.is_empty() {
        return Err(ApiError::forbidden(
            "an enterprise's account is chased, it does not chase",
        ));
    }
    let (b, targets) = app
        .bulletins
        .book
        .get(id)
        .ok_or_else(|| not_found(id, who))?;
    let t = (targets.iter())
        .find(|t| {
            t.enterprise_id == enterprise
                && who.sees(&t.province, &t.enterprise_id)
                && who.sees_industry(&t.industry)
        })
        .ok_or_else(|| not_found(id, who))?;
    if b.revoked != 0 {
        return Err(ApiError::conflict(format!("bulletin {id} was revoked")));
    }
    if app
        .bulletins
        .book
        .has(id, b.revision, enterprise, "disposed")
    {
        return Err(ApiError::conflict(format!(
            "{enterprise} has disposed of bulletin {id}"
        )));
    }
    let told = match &app.notifier {
        Some(n) => n.remind(&b, t, &who.name).await,
        None => 0,
    };
    Ok((
        Json(serde_json::json!({ "bulletin_id": id, "enterprise_id": enterprise, "told": told }))
            .into_response(),
        format!("{id}: {enterprise} reminded ({told} message(s))"),
    ))
}

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
async fn feed(
    State(app): State<Arc<App>>,
    sender: Authed<Sender>,
    params: Result<Query<FeedParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = feed_inner(&app, &sender.who, params).await;
    sender.answer(&app, r)
}

async fn feed_inner(
    app: &App,
    sender: &Sender,
    params: Result<Query<FeedParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| bad(e.body_text()))?;
    let limit = p.limit.unwrap_or(FEED_PAGE);
    if !(1..=FEED_PAGE_MAX).contains(&limit) {
        return Err(bad(format!("limit: {limit} is not 1 to {FEED_PAGE_MAX}")));
    }
    let book = &app.bulletins.book;
    let list = match sender {
        Sender::Sensor(s) => {
            for (b, t) in book.all(|t| t.enterprise_id == s.enterprise_id) {
                if b.seq <= p.after {
                    record_progress(app, &b, &t[0], "received", &s.id, "").await?;
                }
            }
            book.after(p.after, limit, |t| t.enterprise_id == s.enterprise_id)
        }
        Sender::Collector(c) => book.after(p.after, limit, |t| {
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
    Ok(Json(serde_json::json!({ "bulletins": out, "last": last })).into_response())
}

/// `GET /v1/bulletins/{id}/stix`: the bulletin as a STIX 2.1 bundle.
async fn stix_export(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = (|| {
        let who = &who.who;
        let (b, targets) = app
            .bulletins
            .book
            .get(&id)
            .ok_or_else(|| not_found(&id, who))?;
        let everything =
            who.province.is_empty() && who.enterprise_id.is_empty() && who.industry.is_empty();
        if !everything
            && !targets
                .iter()
                .any(|t| who.sees(&t.province, &t.enterprise_id) && who.sees_industry(&t.industry))
        {
            return Err(not_found(&id, who));
        }
        let bundle = stix::export(&b);
        Ok((
            [(header::CONTENT_TYPE, "application/stix+json;version=2.1")],
            Json(bundle),
        )
            .into_response())
    })();
    who.answer(&app, r)
}
