//! `GET /v1/incidents`, `GET /v1/incidents/{id}` and `POST /v1/incidents/{id}/state`: list and
//! read within the account's scope, move on at the tier that owns them. `POST /v1/incidents`
//! and `POST|GET /v1/incidents/{id}/reports`: incident reports (事件报告) — a person reports an
//! incident, or grades one the rules opened, and follows it with follow-ups and a final
//! report, each kept as submitted (`tier::incident::filing`). Comments, response levels and
//! tasks have their own handlers (`http::coordination`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::account::Account;
use crate::config::TierRole;
use crate::tier::incident::coordination;
use crate::tier::incident::filing::{self, Filing, Stage};
use crate::tier::incident::{Incident, ListQuery, MoveError, State as Lifecycle};
use crate::tier::report::IncidentReport;
use crate::time::now_s;
use icsight_eve::Timestamp;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/incidents", get(list).route_layer(act("incident.list")))
        .route(
            "/v1/incidents/{id}",
            get(read).route_layer(act("incident.read")),
        )
        .route(
            "/v1/incidents",
            post(create).route_layer(act("incident.report")),
        )
        .route(
            "/v1/incidents/{id}/state",
            post(transition).route_layer(act("incident.transition")),
        )
        .route(
            "/v1/incidents/{id}/reports",
            get(reports).route_layer(act("incident.reports")),
        )
        .route(
            "/v1/incidents/{id}/reports",
            post(add_report).route_layer(act("incident.report")),
        )
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub state: Option<String>,
    pub province: Option<String>,
    pub enterprise: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
}

fn bad(param: &str, m: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("{param}: {m}"))
}

/// `GET /v1/incidents`: the newest version of each incident in scope, by priority.
async fn list(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = list_inner(&app, &who.who, params).await;
    who.answer(&app, r)
}

async fn list_inner(
    app: &App,
    who: &Account,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
    let (province, enterprise) = who.narrow(p.province.as_deref(), p.enterprise.as_deref())?;
    let to = match &p.to {
        Some(t) => Timestamp::parse(t)
            .map(Timestamp::secs)
            .ok_or_else(|| bad("to", "not a time"))?,
        None => now_s() + 60,
    };
    let from = match &p.from {
        Some(t) => Timestamp::parse(t)
            .map(Timestamp::secs)
            .ok_or_else(|| bad("from", "not a time"))?,
        None => to.saturating_sub(30 * 86_400),
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit", format!("{limit} is not 1-1000")));
    }
    if let Some(s) = &p.state {
        if Lifecycle::parse(s).is_none() {
            return Err(bad(
                "state",
                format!("{s:?}: use open, acknowledged, disposed or closed"),
            ));
        }
    }
    let q = ListQuery {
        from: from.min(u64::from(u32::MAX)) as u32,
        to: to.min(u64::from(u32::MAX)) as u32,
        province,
        enterprise,
        state: p.state,
        limit,
    };
    let rows = app
        .incidents
        .list(&q)
        .await
        .map_err(|e| app.storage_error(e))?;
    Ok(Json(serde_json::json!({
        "incidents": rows.iter().map(as_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// An incident as the API shows it: evidence and history as JSON, times as text.
fn as_json(i: &Incident) -> serde_json::Value {
    serde_json::json!({
        "incident_id": i.incident_id,
        "province": i.province,
        "enterprise_id": i.enterprise_id,
        "industry": i.industry,
        "grade": i.grade,
        "sensor_id": i.sensor_id,
        "criterion": i.criterion,
        "title": i.title,
        "priority": i.priority,
        "severity": i.severity,
        "technique": i.technique,
        "sid": i.sid,
        "state": i.state,
        "opened": Timestamp(u64::from(i.opened) * 1_000_000).rfc3339(),
        "updated": Timestamp(u64::from(i.updated) * 1_000_000).rfc3339(),
        "alerts": i.alerts,
        "evidence": serde_json::from_str::<serde_json::Value>(&i.evidence).unwrap_or_default(),
        "history": serde_json::from_str::<serde_json::Value>(&i.history).unwrap_or_default(),
        "origin": i.origin,
        "version": i.version,
        "level": filing::level_name(i.level),
        "category": i.category,
        "stage": i.stage,
        "reported": time_or_null(i.reported),
        "due": time_or_null(i.due),
        "overdue": filing::overdue(i, now_s()),
        "drill": i.drill == 1,
    })
}

fn time_or_null(secs: u32) -> serde_json::Value {
    match secs {
        0 => serde_json::Value::Null,
        s => Timestamp(u64::from(s) * 1_000_000).rfc3339().into(),
    }
}

/// A report as the API shows it.
fn report_json(r: &IncidentReport) -> serde_json::Value {
    serde_json::json!({
        "incident_id": r.incident_id,
        "province": r.province,
        "enterprise_id": r.enterprise_id,
        "origin": r.origin,
        "seq": r.seq,
        "stage": r.stage,
        "level": filing::level_name(r.level),
        "category": r.category,
        "title": r.title,
        "assets": serde_json::from_str::<serde_json::Value>(&r.assets).unwrap_or_default(),
        "impact": r.impact,
        "measures": r.measures,
        "cause": r.cause,
        "disposal": r.disposal,
        "lessons": r.lessons,
        "author": r.author,
        "submitted": Timestamp(u64::from(r.submitted) * 1_000_000).rfc3339(),
    })
}

/// Incident `id` if `who` may see it; outside the scope reads as absent: nothing about it
/// leaks.
pub(super) async fn load_seen(app: &App, who: &Account, id: &str) -> Result<Incident, ApiError> {
    let (province, enterprise) = who.narrow(None, None).map_err(ApiError::from)?;
    match app
        .incidents
        .get(id, province.as_deref(), enterprise.as_deref())
        .await
        .map_err(|e| app.storage_error(e))?
    {
        Some(i) if who.sees(&i.province, &i.enterprise_id) => Ok(i),
        _ => Err(ApiError::not_found(format!(
            "no incident {id:?} in {}'s scope",
            who.name
        ))),
    }
}

/// `GET /v1/incidents/{id}`
async fn read(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let i = load_seen(&app, &who.who, &id).await?;
        let entries = (app.incidents.coordination.of_incident(&id).await)
            .map_err(|e| app.storage_error(e))?;
        let mut j = as_json(&i);
        j["response"] = coordination::response_name(coordination::response_level(&entries)).into();
        Ok(Json(j).into_response())
    }
    .await;
    who.answer(&app, r)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub state: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /v1/incidents/{id}/state`: move an incident on.
async fn transition(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Transition>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = move_on(&app, &who.who, &id, body).await;
    who.audited(&app, r)
}

async fn move_on(
    app: &App,
    who: &Account,
    id: &str,
    body: Result<Json<Transition>, axum::extract::rejection::JsonRejection>,
) -> Result<(Response, String), ApiError> {
    let Json(t) = body.map_err(|e| ApiError::bad(e.body_text()))?;
    let next = step(app, who, id, t).await?;
    Ok((
        (StatusCode::OK, Json(as_json(&next.0))).into_response(),
        next.1,
    ))
}

/// Move incident `id` on as `who`, through the checks the API makes; the new version and
/// what changed, for the audit.
pub(super) async fn step(
    app: &App,
    who: &Account,
    id: &str,
    t: Transition,
) -> Result<(Incident, String), ApiError> {
    let to = Lifecycle::parse(&t.state).ok_or_else(|| {
        bad(
            "state",
            format!("{:?}: use acknowledged, disposed or closed", t.state),
        )
    })?;
    if t.note.chars().count() > 2000 {
        return Err(bad("note", "at most 2000 characters"));
    }
    let current = load_seen(app, who, id).await?;
    who.may_write("move incidents on")?;
    handled_here(app, &current, "move it on")?;
    let next = app
        .incidents
        .transition(&current, to, &who.name, &t.note)
        .await
        .map_err(|e| moved(app, e))?;
    let detail = format!("{} → {}", current.state, next.state);
    Ok((next, detail))
}

/// `POST /v1/incidents`: report a new incident (its first report) at an enterprise of the
/// account's scope.
async fn create(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    body: Result<Json<Filing>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(f)) => filed(report_new(&app, &who.who, f).await),
        Err(e) => Err(ApiError::bad(e.body_text())),
    };
    who.audited(&app, r)
}

/// A report filed: 201 with the incident's new version and the report, and the audit's words.
fn filed(
    r: Result<(Incident, IncidentReport, String), ApiError>,
) -> Result<(Response, String), ApiError> {
    let (i, report, detail) = r?;
    let body = serde_json::json!({ "incident": as_json(&i), "report": report_json(&report) });
    Ok(((StatusCode::CREATED, Json(body)).into_response(), detail))
}

/// Report a new incident as `who`, through the checks the API makes: the incident, its first
/// report and what the audit says.
pub(super) async fn report_new(
    app: &App,
    who: &Account,
    mut f: Filing,
) -> Result<(Incident, IncidentReport, String), ApiError> {
    who.may_write("report incidents")?;
    let tier = &app.config.tier;
    if f.enterprise_id.is_empty() {
        f.enterprise_id = match tier.role {
            TierRole::Enterprise => tier.enterprise_id.clone(),
            _ => who.enterprise_id.clone(),
        };
    }
    if f.enterprise_id.is_empty() {
        return Err(bad("enterprise_id", "required: whose incident it is"));
    }
    let registry = app.registry.get();
    let e = registry
        .get(&f.enterprise_id)
        .filter(|e| who.sees(&e.province, &e.enterprise_id))
        .filter(|e| tier.province.is_empty() || e.province == tier.province)
        .filter(|e| tier.enterprise_id.is_empty() || e.enterprise_id == tier.enterprise_id)
        .ok_or_else(|| {
            ApiError::forbidden(format!(
                "enterprise_id: {:?} is not a registered enterprise in {}'s scope",
                f.enterprise_id, who.name
            ))
        })?
        .clone();
    let c = filing::check(&f, None).map_err(|(k, m)| bad(&k, m))?;
    let opened = filing::open(&f, &e, &tier.id, &who.name, crate::time::now_us());
    let (next, kept) = app
        .incidents
        .file(&opened, true, &f, &c, &who.name)
        .await
        .map_err(|e| moved(app, e))?;
    let detail = format!(
        "grade {} {} first report at {}",
        filing::level_name(c.level),
        c.category,
        e.enterprise_id
    );
    Ok((next, kept, detail))
}

/// Only the tier an incident belongs to acts on it; elsewhere a 409 says where to `act`.
fn handled_here(app: &App, i: &Incident, act: &str) -> Result<(), ApiError> {
    if i.origin == app.config.tier.id {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "incident {} is handled by {}: {act} there",
        i.incident_id, i.origin
    )))
}

/// A change refused by the incident's state (409), or not stored.
fn moved(app: &App, e: MoveError) -> ApiError {
    match e {
        MoveError::Refused(m) => ApiError::conflict(m),
        MoveError::Storage(e) => app.storage_error(e),
    }
}

/// `POST /v1/incidents/{id}/reports`: the next report of an incident this tier handles.
async fn add_report(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Filing>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(f)) => filed(report_next(&app, &who.who, &id, f).await),
        Err(e) => Err(ApiError::bad(e.body_text())),
    };
    who.audited(&app, r)
}

/// File report `f` on incident `id` as `who`, through the checks the API makes.
pub(super) async fn report_next(
    app: &App,
    who: &Account,
    id: &str,
    f: Filing,
) -> Result<(Incident, IncidentReport, String), ApiError> {
    let current = load_seen(app, who, id).await?;
    who.may_write("report incidents")?;
    handled_here(app, &current, "report it")?;
    let c = filing::check(&f, Some(&current)).map_err(|(k, m)| {
        // Out of turn (a final report before the disposal …): a conflict with the
        // incident's state, not a malformed request.
        if k == "stage" && Stage::parse(&f.stage).is_some() {
            ApiError::conflict(format!("{k}: {m}"))
        } else {
            bad(&k, m)
        }
    })?;
    let (next, kept) = app
        .incidents
        .file(&current, false, &f, &c, &who.name)
        .await
        .map_err(|e| moved(app, e))?;
    let detail = format!(
        "{} report {} (grade {})",
        c.stage.name(),
        kept.seq,
        filing::level_name(c.level)
    );
    Ok((next, kept, detail))
}

/// `GET /v1/incidents/{id}/reports`: every report of an incident in scope, in order.
async fn reports(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = reports_seen(&app, &who.who, &id).await.map(|list| {
        Json(serde_json::json!({
            "reports": list.iter().map(report_json).collect::<Vec<_>>(),
        }))
        .into_response()
    });
    who.answer(&app, r)
}

/// The reports of incident `id` if `who` may see it.
pub(super) async fn reports_seen(
    app: &App,
    who: &Account,
    id: &str,
) -> Result<Vec<IncidentReport>, ApiError> {
    let i = load_seen(app, who, id).await?;
    app.incidents
        .reports(id, Some(&i.province), Some(&i.enterprise_id))
        .await
        .map_err(|e| app.storage_error(e))
}
