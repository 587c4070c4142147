//! Who is asking, settled before a handler runs and before its body is read.
//!
//! [`Authed<Account>`] is a person (analyst, regulator, admin) by API token or login session;
//! [`Authed<Sender>`] a sensor or a lower tier's collector by client certificate or token. A
//! refused credential is audited here, as the route's [`Action`] on its target (the `{id}` of
//! the path, or the path), so no handler can forget it; the handler is not called.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http_body_util::BodyExt;

use super::{ApiError, App};
use crate::account::Account;
use crate::auth::{Peer, Sender};
use crate::store::audit::Record;
use crate::time::now_s;

/// The audited name of what a route does (`query.alerts`, `bulletin.issue`, …), put on the
/// route with [`act`].
#[derive(Clone, Copy, Debug)]
pub struct Action(pub &'static str);

/// The layer that names a route's action.
pub fn act(name: &'static str) -> Extension<Action> {
    Extension(Action(name))
}

/// A request whose credential was accepted: who (`T`), over which connection, doing what.
pub struct Authed<T> {
    pub who: T,
    pub peer: Peer,
    action: &'static str,
    target: String,
}

/// What the trail names an authenticated caller by.
pub trait Actor {
    fn actor(&self) -> (&str, &'static str);
}

impl Actor for Account {
    fn actor(&self) -> (&str, &'static str) {
        (&self.name, self.role.name())
    }
}

impl Actor for Sender {
    fn actor(&self) -> (&str, &'static str) {
        (self.id(), self.role())
    }
}

impl<T: Actor> Authed<T> {
    /// The action's target: the `{id}` of the path, or the path.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Answer a read; a refusal of scope (403) found by the handler is audited like one of
    /// the credential.
    pub fn answer(&self, app: &App, r: Result<Response, ApiError>) -> Response {
        match r {
            Ok(resp) => resp,
            Err(e) => {
                if e.is_denial() {
                    self.record(app, "denied", e.to_string());
                }
                e.into_response()
            }
        }
    }

    /// Answer a write and audit it: `ok` with the write's own detail, `denied` (4xx) or
    /// `failed` (5xx, with the cause and error id: the trail is internal) with the reason.
    pub fn audited(&self, app: &App, r: Result<(Response, String), ApiError>) -> Response {
        match r {
            Ok((resp, detail)) => {
                self.record(app, "ok", detail);
                resp
            }
            Err(e) => {
                let outcome = if e.status().is_client_error() {
                    "denied"
                } else {
                    "failed"
                };
                self.record(app, outcome, e.to_string());
                e.into_response()
            }
        }
    }

    fn record(&self, app: &App, outcome: &str, detail: String) {
        let (actor, role) = self.who.actor();
        app.audit.record(
            Record::new(actor, role, self.action, outcome)
                .target(&self.target)
                .detail(detail)
                .remote(self.peer.remote),
        );
    }
}

/// The connection's peer, the route's action and the request's target.
async fn context(parts: &mut Parts) -> (Peer, &'static str, String) {
    let peer = parts.extensions.get::<Peer>().cloned().unwrap_or_default();
    let action = parts.extensions.get::<Action>().map_or("request", |a| a.0);
    let id =
        <Path<HashMap<String, String>> as FromRequestParts<()>>::from_request_parts(parts, &())
            .await
            .ok()
            .and_then(|Path(mut p)| p.remove("id"));
    let target = id.unwrap_or_else(|| parts.uri.path().to_owned());
    (peer, action, target)
}

/// Authenticate with `check`; a refusal is audited and answered.
async fn authenticate<T>(
    parts: &mut Parts,
    app: &App,
    check: impl FnOnce(&App, &Parts, &Peer) -> Result<T, ApiError>,
) -> Result<Authed<T>, ApiError> {
    let (peer, action, target) = context(parts).await;
    match check(app, parts, &peer) {
        Ok(who) => Ok(Authed {
            who,
            peer,
            action,
            target,
        }),
        Err(e) => {
            app.audit_refusal(&parts.headers, &peer, action, &target, &e);
            Err(e)
        }
    }
}

fn account(app: &App, parts: &Parts, _: &Peer) -> Result<Account, ApiError> {
    Ok(app.credentials.account(&parts.headers, now_s())?.clone())
}

fn sender(app: &App, parts: &Parts, peer: &Peer) -> Result<Sender, ApiError> {
    Ok(app.credentials.sender(&parts.headers, peer)?)
}

/// What an industry authority's account may ask: its industry's bulletins, and chasing them.
pub const INDUSTRY_ACTIONS: [&str; 4] = [
    "bulletin.list",
    "bulletin.read",
    "bulletin.stix",
    "bulletin.remind",
];

impl FromRequestParts<Arc<App>> for Authed<Account> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let a = authenticate(parts, app, account).await?;
        if !a.who.industry.is_empty() && !INDUSTRY_ACTIONS.contains(&a.action) {
            let e = ApiError::forbidden(format!(
                "{} is an industry authority's account: it reads and chases its industry's bulletins only",
                a.who.name
            ));
            app.audit_refusal(&parts.headers, &a.peer, a.action, &a.target, &e);
            return Err(e);
        }
        Ok(a)
    }
}

/// An account if the request has a valid one; nothing is refused, so nothing is audited.
impl OptionalFromRequestParts<Arc<App>> for Authed<Account> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Option<Self>, Self::Rejection> {
        let (peer, action, target) = context(parts).await;
        Ok(account(app, parts, &peer).ok().map(|who| Authed {
            who,
            peer,
            action,
            target,
        }))
    }
}

impl FromRequestParts<Arc<App>> for Authed<Sender> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        authenticate(parts, app, sender).await
    }
}

/// How much of a refused body is discarded, and for how long, before the stream is reset.
const LINGER_BYTES: usize = 256 * 1024;
const LINGER_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Discards a refused request's body in the background, up to [`LINGER_BYTES`] within
/// [`LINGER_TIME`], then drops it. Resetting a stream (HTTP/2) or closing a connection (HTTP/1)
/// while the client is still uploading makes many clients report a transport error instead of
/// the answer; a short, bounded linger lets the answer through, as a lingering close does.
pub(in crate::http) fn linger(body: axum::body::Body) {
    tokio::spawn(async move {
        let drain = async {
            let mut body = body;
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                seen += frame.data_ref().map_or(0, |d| d.len());
                if seen > LINGER_BYTES {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER_TIME, drain).await;
    });
}
