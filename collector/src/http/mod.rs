//! The HTTP room: the collector's HTTP(S) service. [`App`] is what every handler shares,
//! [`router`] puts each handler group's routes together (one file per group: [`ingest`],
//! [`query`], [`login`], [`incidents`], [`bulletins`], [`health`]), [`serve`](mod@serve) is TLS and the
//! accept loop.
//!
//! Who is asking is settled by extractors ([`extract`]) before a handler runs and before a body
//! is read; every refusal is one [`ApiError`], which tells a client why its request was wrong
//! but never what failed inside (ClickHouse's text stays in the log, under an error id).
//! Handlers call the tier and the store; neither calls back.

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::Router;

pub mod bulletins;
pub mod coordination;
pub mod error;
pub mod extract;
pub mod filter;
pub mod guard;
pub mod hazards;
pub mod health;
pub mod incidents;
pub mod ingest;
pub mod leftover;
pub mod login;
pub mod notifications;
pub mod query;
pub mod registry;
pub mod sensors;
pub mod serve;
pub mod taxii;
pub mod web;

pub use error::{ApiError, ErrorId};
pub use serve::{serve, tls_config};

use crate::auth::{Credentials, Peer};
use crate::config::Config;
use crate::metrics::Metrics;
use crate::store::audit::{Audit, Record};
use crate::store::{self, Store};
use crate::tier::bulletin::Bulletins;
use crate::tier::incident::Incidents;
use crate::tier::registry::{Registry, Shared as SharedRegistry};
use crate::tier::upstream::Upstream;

/// What every handler shares.
pub struct App {
    pub config: Arc<Config>,
    pub credentials: Credentials,
    pub store: Store,
    pub metrics: Metrics,
    pub audit: Audit,
    pub registry: Arc<SharedRegistry>,
    pub incidents: Arc<Incidents>,
    pub bulletins: Arc<Bulletins>,
    /// The sensors of this tier and their heartbeats.
    pub fleet: Arc<crate::tier::fleet::Fleet>,
    /// The tier above, if there is one.
    pub upstream: Option<Arc<Upstream>>,
    /// How much work clients may make at once.
    pub guards: guard::Guards,
    /// The situations the overview pages recently showed.
    pub situations: crate::tier::situation::Cache,
    /// Who is told of what (`None`: nobody here can be told anything).
    pub notifier: Option<Arc<crate::notify::Notifier>>,
    /// The hazard register and the advisory catalogue it matches with.
    pub hazards: Arc<crate::tier::hazard::Register>,
    /// Classification and grading of the registry.
    pub grading: Arc<crate::tier::grading::Grading>,
}

impl App {
    /// Audit a request refused for its credential or scope (401, 403): who it came as, what it
    /// asked, and why not. Other refusals (bad parameters, storage away) are not attempts.
    pub fn audit_refusal(
        &self,
        headers: &HeaderMap,
        peer: &Peer,
        action: &str,
        target: &str,
        e: &ApiError,
    ) {
        if !e.is_denial() {
            return;
        }
        let now = crate::time::now_s();
        let (actor, role) = match self.credentials.account(headers, now) {
            Ok(a) => (a.name.clone(), a.role.name()),
            Err(_) => match self.credentials.sender(headers, peer) {
                Ok(s) => (s.id().to_owned(), s.role()),
                Err(_) => (
                    peer.common_name
                        .clone()
                        .or_else(|| {
                            headers
                                .get(crate::auth::SENSOR_HEADER)
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned)
                        })
                        .unwrap_or_else(|| "unknown".into()),
                    "unknown",
                ),
            },
        };
        self.audit.record(
            Record::new(&actor, role, action, "denied")
                .target(target)
                .detail(e.to_string())
                .remote(peer.remote),
        );
    }

    /// A 503 for a failed ClickHouse request, counted and logged with its error id.
    pub fn storage_error(&self, e: store::Error) -> ApiError {
        self.metrics.clickhouse_errors.inc();
        ApiError::storage(e)
    }

    /// The registry as last loaded.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry.get()
    }
}

/// A time held as UNIX seconds, as the API shows it: RFC 3339 in UTC, `null` for 0 (none).
pub fn time_json(secs: u32) -> serde_json::Value {
    match secs {
        0 => serde_json::Value::Null,
        s => icsight_eve::Timestamp(u64::from(s) * 1_000_000)
            .rfc3339()
            .into(),
    }
}

/// Every route of the service.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .merge(ingest::router())
        .merge(query::router())
        .merge(login::router())
        .merge(incidents::router())
        .merge(coordination::router())
        .merge(notifications::router())
        .merge(taxii::router())
        .merge(sensors::router())
        .merge(hazards::router())
        .merge(registry::router())
        .merge(bulletins::router())
        .merge(health::router())
        .merge(web::reports::api_router())
        .merge(web::router())
        .with_state(app)
}
