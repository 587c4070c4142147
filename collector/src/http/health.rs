//! `GET /healthz` (whether ClickHouse answers) and `GET /metrics` (Prometheus text, open, behind
//! a token or off: `server.metrics`). Health needs no credential, so it says no more than ok
//! or not: why ClickHouse is away goes to the log, under an error id.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use subtle::ConstantTimeEq;

use super::{ApiError, App, ErrorId};
use crate::auth::Credentials;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(5), app.store.ping()).await;
    match ping {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            let id = ErrorId::new();
            tracing::warn!(error_id = %id, error = %e, "health check: ClickHouse failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("clickhouse: unavailable (error id {id})\n"),
            )
                .into_response()
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "clickhouse: no answer in 5 s\n",
        )
            .into_response(),
    }
}

/// `/metrics` as `server.metrics` says: open to anyone, to the bearer of the metrics token
/// only (compared in constant time), or not served.
async fn metrics(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let s = &app.config.server;
    match s.metrics.as_str() {
        "open" => {}
        "token" => {
            let want = crate::config::parse_digest(&s.metrics_token_sha256).unwrap_or_default();
            let got = Credentials::bearer_digest(&headers);
            let right = got.is_some_and(|d| d.ct_eq(&want).into());
            if !right {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "metrics: a bearer token is needed",
                )
                .into_response();
            }
        }
        _ => return StatusCode::NOT_FOUND.into_response(),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}
