//! `POST /v1/login` and `POST /v1/logout`: a session token for a name and password, good for
//! `tier.session_minutes`. Every attempt is audited.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::account::Account;
use crate::auth::{Credentials, Peer};
use crate::store::audit::Record;
use crate::time::now_s;
use icsight_eve::Timestamp;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/login", post(login).route_layer(act("login")))
        .route("/v1/logout", post(logout).route_layer(act("logout")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    name: String,
    password: String,
}

/// `POST /v1/login`: a session token for a name and password.
///
/// A name or an address that keeps failing waits longer between tries ([`Backoff`]); password
/// checks run a few at a time (`server.max_concurrent_logins`), each against a real hash or
/// the decoy, so neither memory nor the answer's time depends on how many try or which names
/// exist.
///
/// [`Backoff`]: super::guard::Backoff
pub async fn login(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Ok(Json(l)) = body else {
        return ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "expected {\"name\": …, \"password\": …}",
        )
        .into_response();
    };
    match sign_in(&app, &peer, &l.name, l.password).await {
        Ok(s) => {
            let a = app.credentials.account_at(s.account);
            Json(serde_json::json!({
                "token": s.token,
                "expires": Timestamp(s.expires * 1_000_000).rfc3339(),
                "name": a.name,
                "role": a.role,
                "province": a.province,
                "enterprise_id": a.enterprise_id,
                "tier": app.config.tier.role,
            }))
            .into_response()
        }
        Err(refused) => refused,
    }
}

/// A login that succeeded: the account (by index), its session token and when it ends.
pub struct SignedIn {
    pub account: usize,
    pub token: String,
    pub expires: u64,
}

/// Check `name` and `password` within every bound a login has (lengths, back-off, password
/// checks at once, the request's time), audit the attempt and open a session; the refusal as
/// the answer otherwise (400, 401, 429 or 503 with `Retry-After`). The API and the web pages
/// both sign in here.
pub async fn sign_in(
    app: &Arc<App>,
    peer: &Peer,
    name: &str,
    password: String,
) -> Result<SignedIn, Response> {
    let invalid = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "invalid", m).into_response();
    if name.len() > 64 || password.len() > 1024 {
        return Err(invalid("name or password too long"));
    }
    // A name is written to the log and the audit trail: no line breaks or escapes in it.
    if name.chars().any(char::is_control) {
        return Err(invalid("name: control characters are not allowed"));
    }
    let guards = &app.guards;
    let keys = [
        format!("name:{name}"),
        format!(
            "addr:{}",
            peer.remote.map(|r| r.ip().to_string()).unwrap_or_default()
        ),
    ];
    let deadline = tokio::time::Instant::now() + guards.request_timeout;
    let attempt = match guards.login_failures.begin(&keys, Instant::now()) {
        Ok(a) => a,
        Err(wait) => {
            app.metrics.logins_throttled.inc();
            return Err(retry_after(
                StatusCode::TOO_MANY_REQUESTS,
                "throttled",
                "too many failed logins",
                wait,
            ));
        }
    };
    let Ok(Ok(_turn)) = tokio::time::timeout_at(deadline, guards.logins.acquire()).await else {
        // The attempt is dropped unanswered, and counts as a failure: a flood of them
        // backs off like wrong passwords do.
        return Err(retry_after(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many logins at once",
            std::time::Duration::from_secs(1),
        ));
    };
    // argon2 is slow on purpose: off the async workers.
    let check = {
        let app = app.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || app.credentials.check_password(&name, &password))
    };
    let Ok(Some(i)) = check.await else {
        drop(attempt);
        app.audit.record(
            Record::new(name, "unknown", "login", "denied")
                .detail("wrong name or password")
                .remote(peer.remote),
        );
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong name or password",
        )
        .into_response());
    };
    attempt.succeeded();
    let now = now_s();
    let expires = now + app.config.tier.session_minutes * 60;
    let a = app.credentials.account_at(i);
    let token = app
        .credentials
        .sessions
        .open(i, now, expires)
        .map_err(|d| ApiError::from(d).into_response())?;
    app.audit.record(
        Record::new(&a.name, a.role.name(), "login", "ok")
            .scope(&a.province, &a.enterprise_id)
            .remote(peer.remote),
    );
    Ok(SignedIn {
        account: i,
        token,
        expires,
    })
}

/// `status` with `Retry-After` in whole seconds, at least one.
fn retry_after(
    status: StatusCode,
    outcome: &'static str,
    what: &str,
    wait: std::time::Duration,
) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut r =
        ApiError::new(status, outcome, format!("{what}: try again in {secs} s")).into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

/// `POST /v1/logout`: end the session the bearer token is; audited when it named an account.
pub async fn logout(
    State(app): State<Arc<App>>,
    who: Option<Authed<Account>>,
    headers: HeaderMap,
) -> Response {
    let closed =
        Credentials::bearer_digest(&headers).is_some_and(|d| app.credentials.sessions.close(&d));
    if let Some(a) = &who {
        app.audit.record(
            Record::new(
                &a.who.name,
                a.who.role.name(),
                "logout",
                if closed { "ok" } else { "failed" },
            )
            .remote(a.peer.remote),
        );
    }
    if closed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "no session to end",
        )
        .into_response()
    }
}
