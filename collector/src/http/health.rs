//! `GET /healthz` (whether ClickHouse answers) and `GET /metrics` (Prometheus text). Neither
//! needs a credential, so neither says more than ok or not: why ClickHouse is away goes to the
//! log, under an error id.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::{App, ErrorId};

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

async fn metrics(State(app): State<Arc<App>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}
