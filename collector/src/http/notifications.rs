//! `GET /v1/notifications`: what this tier told whom, and the dead letters — messages that
//! never went through after every try — for the administrators of the scope.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::account::Account;
use crate::notify;

pub fn router() -> Router<Arc<App>> {
    Router::new().route(
        "/v1/notifications",
        get(list).route_layer(act("notification.list")),
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// `queued`, `sent` or `dead`; absent: all.
    pub state: Option<String>,
    pub limit: Option<u64>,
}

async fn list(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let who = &who.who;
        who.may_administer("read the notifications")?;
        let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
        if let Some(s) = &p.state {
            if !matches!(s.as_str(), "queued" | "sent" | "dead") {
                return Err(ApiError::bad(format!(
                    "state: {s:?} is not queued, sent or dead"
                )));
            }
        }
        let limit = p.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::bad(format!("limit: {limit} is not 1-1000")));
        }
        let rows = notify::deliveries(&app.store, p.state.as_deref(), limit)
            .await
            .map_err(|e| app.storage_error(e))?;
        let rows: Vec<_> = (rows.into_iter())
            .filter(|r| who.sees(&r.province, &r.enterprise_id))
            .collect();
        Ok(Json(serde_json::json!({ "notifications": rows })).into_response())
    }
    .await;
    who.answer(&app, r)
}
