//! `GET /v1/incidents`, `GET /v1/incidents/{id}` and `POST /v1/incidents/{id}/state`: list and
//! read within the account's scope, move on at the tier that owns them.

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
use crate::tier::incident::{Incident, ListQuery, MoveError, State as Lifecycle};
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
            "/v1/incidents/{id}/state",
            post(transition).route_layer(act("incident.transition")),
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
    let r = load_seen(&app, &who.who, &id)
        .await
        .map(|i| Json(as_json(&i)).into_response());
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
    if current.origin != app.config.tier.id {
        return Err(ApiError::conflict(format!(
            "incident {id} is handled by {}: move it on there",
            current.origin
        )));
    }
    let next = match app
        .incidents
        .transition(&current, to, &who.name, &t.note)
        .await
    {
        Ok(next) => next,
        Err(MoveError::Refused(m)) => return Err(ApiError::conflict(m)),
        Err(MoveError::Storage(e)) => return Err(app.storage_error(e)),
    };
    let detail = format!("{} → {}", current.state, next.state);
    Ok((next, detail))
}
