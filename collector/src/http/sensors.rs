//! `GET /v1/sensors`: this tier's sensors and their heartbeats — online, offline, replayed or
//! never seen — within the account's scope, narrowed by `province`, `enterprise` and `status`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::account::Account;
use crate::tier::report::Status;

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/v1/sensors", get(list).route_layer(act("sensor.list")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    province: Option<String>,
    enterprise: Option<String>,
    status: Option<String>,
}

async fn list(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = list_inner(&app, &who.who, params);
    who.answer(&app, r)
}

fn list_inner(
    app: &App,
    who: &Account,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
    let (province, enterprise) = who.narrow(p.province.as_deref(), p.enterprise.as_deref())?;
    let status = match p.status.as_deref() {
        None => None,
        Some("online") => Some(Status::Online),
        Some("offline") => Some(Status::Offline),
        Some("replayed") => Some(Status::Replayed),
        Some("never_seen") => Some(Status::NeverSeen),
        Some(other) => {
            return Err(ApiError::bad(format!(
                "status {other:?}: use online, offline, replayed or never_seen"
            )))
        }
    };
    let all = app.fleet.list(|p, e| {
        who.sees(p, e)
            && province.as_deref().is_none_or(|w| w == p)
            && enterprise.as_deref().is_none_or(|w| w == e)
    });
    let count = |s: Status| all.iter().filter(|x| x.status == s).count();
    let counts = serde_json::json!({
        "online": count(Status::Online),
        "offline": count(Status::Offline),
        "replayed": count(Status::Replayed),
        "never_seen": count(Status::NeverSeen),
    });
    let sensors: Vec<_> = all
        .into_iter()
        .filter(|x| status.is_none_or(|s| x.status == s))
        .collect();
    Ok(Json(serde_json::json!({ "counts": counts, "sensors": sensors })).into_response())
}
