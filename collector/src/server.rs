//! The collector's HTTP(S) service: the router, TLS with optional client certificates, and the
//! accept loop that tells each request which certificate its connection presented.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::audit::{Audit, Record};
use crate::auth::{Credentials, Peer};
use crate::bulletin::Book;
use crate::config::Config;
use crate::incident::Escalator;
use crate::ingest::Refusal;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::store::Store;
use crate::upstream::Upstream;

/// What every handler shares.
pub struct App {
    pub config: Config,
    pub credentials: Credentials,
    pub store: Store,
    pub metrics: Metrics,
    pub audit: Audit,
    pub registry: std::sync::RwLock<Arc<Registry>>,
    pub escalator: Escalator,
    /// The tier above, if there is one.
    pub upstream: Option<Upstream>,
    pub bulletins: Book,
    /// Bulletins are numbered and stored one at a time.
    pub issuing: tokio::sync::Mutex<()>,
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
        r: &Refusal,
    ) {
        if r.status != StatusCode::UNAUTHORIZED && r.status != StatusCode::FORBIDDEN {
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
                .detail(r.error.clone())
                .remote(peer.remote),
        );
    }

    /// Answer a read; a refusal for credential or scope is audited as `action` on `target`.
    pub fn answer(
        &self,
        headers: &HeaderMap,
        peer: &Peer,
        action: &str,
        target: &str,
        r: Result<Response, Refusal>,
    ) -> Response {
        if let Err(refusal) = &r {
            self.audit_refusal(headers, peer, action, target, refusal);
        }
        r.unwrap_or_else(IntoResponse::into_response)
    }

    /// Answer a write and audit it: `ok` with the write's own detail, `denied` (4xx) or
    /// `failed` (5xx) with the reason.
    pub fn audited(
        &self,
        headers: &HeaderMap,
        peer: &Peer,
        action: &str,
        target: &str,
        r: Result<(Response, String), Refusal>,
    ) -> Response {
        let actor = self.credentials.account(headers, crate::time::now_s()).ok();
        let (outcome, detail) = match &r {
            Ok((_, d)) => ("ok", d.clone()),
            Err(e) if e.status.is_client_error() => ("denied", e.error.clone()),
            Err(e) => ("failed", e.error.clone()),
        };
        self.audit.record(
            Record::new(
                actor.map_or("unknown", |a| a.name.as_str()),
                actor.map_or("unknown", |a| a.role.name()),
                action,
                outcome,
            )
            .target(target)
            .detail(detail)
            .remote(peer.remote),
        );
        match r {
            Ok((resp, _)) => resp,
            Err(e) => e.into_response(),
        }
    }

    /// A 503 for a failed ClickHouse request, counted.
    pub fn storage_error(&self, e: clickhouse::error::Error) -> Refusal {
        self.metrics.clickhouse_errors.inc();
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("storage unavailable: {e}"),
        )
    }

    /// Send report lines to the tier above at once, not with the next segment; nothing
    /// without a tier above.
    pub fn report_now(&self, lines: &[Vec<u8>]) {
        if lines.is_empty() {
            return;
        }
        if let Some(up) = &self.upstream {
            up.push_now(lines.iter().map(Vec::as_slice));
        }
    }

    /// The registry as last loaded.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/ingest", post(crate::ingest::ingest))
        .route("/v1/alerts", get(crate::query::alerts))
        .route("/v1/rollup", get(crate::query::rollup))
        .route("/v1/login", post(crate::login::login))
        .route("/v1/logout", post(crate::login::logout))
        .route("/v1/incidents", get(crate::incident::incidents))
        .route("/v1/incidents/{id}", get(crate::incident::incident))
        .route(
            "/v1/incidents/{id}/state",
            post(crate::incident::transition),
        )
        .route(
            "/v1/bulletins",
            get(crate::bulletin::bulletins).post(crate::bulletin::issue),
        )
        .route("/v1/bulletins/feed", get(crate::bulletin::feed))
        .route("/v1/bulletins/stix", post(crate::bulletin::stix_import))
        .route("/v1/bulletins/{id}", get(crate::bulletin::bulletin))
        .route("/v1/bulletins/{id}/stix", get(crate::bulletin::stix_export))
        .route(
            "/v1/bulletins/{id}/acknowledge",
            post(crate::bulletin::acknowledge),
        )
        .route("/v1/bulletins/{id}/dispose", post(crate::bulletin::dispose))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(app)
}

async fn healthz(State(app): State<Arc<App>>) -> Response {
    let ping = tokio::time::timeout(Duration::from_secs(5), app.store.ping()).await;
    match ping {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("clickhouse: {e}\n"),
        )
            .into_response(),
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

/// The TLS configuration of `[server]`, or `None` for plain HTTP.
pub fn tls_config(config: &Config) -> anyhow::Result<Option<rustls::ServerConfig>> {
    let s = &config.server;
    if s.cert.as_os_str().is_empty() {
        return Ok(None);
    }
    let certs = read_certs(&s.cert)?;
    let key = read_key(&s.key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = if s.client_ca.as_os_str().is_empty() {
        builder.with_no_client_auth()
    } else {
        let mut roots = rustls::RootCertStore::empty();
        for c in read_certs(&s.client_ca)? {
            roots.add(c).with_context(|| {
                format!("{}: not a usable CA certificate", s.client_ca.display())
            })?;
        }
        // Certificates are optional at the TLS layer: sensors may use tokens, analysts do.
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .context("client certificate verifier")?;
        builder.with_client_cert_verifier(verifier)
    };
    let mut tls = builder
        .with_single_cert(certs, key)
        .with_context(|| format!("{}: certificate and key do not match", s.cert.display()))?;
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(tls))
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let certs = rustls_pemfile::certs(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not PEM certificates", path.display()))?;
    if certs.is_empty() {
        bail!("{}: no certificate in it", path.display());
    }
    Ok(certs)
}

fn read_key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    let pem = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    rustls_pemfile::private_key(&mut &pem[..])
        .with_context(|| format!("{}: not a PEM private key", path.display()))?
        .with_context(|| format!("{}: no private key in it", path.display()))
}

/// The common name of a verified client certificate.
fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, c) = x509_parser::parse_x509_certificate(cert).ok()?;
    let cn = c.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}

/// Serve until `shutdown` resolves, then let open requests finish (at most 10 s).
pub async fn serve(
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let router = router(app);
    let acceptor = tls.map(|t| TlsAcceptor::from(Arc::new(t)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            match acceptor {
                Some(acceptor) => {
                    let tls = match tokio::time::timeout(
                        Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::info!(%remote, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let peer = Peer {
                        remote: Some(remote),
                        common_name: tls
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|c| c.first())
                            .and_then(common_name),
                    };
                    let service = hyper_service(router, peer);
                    let conn = builder.serve_connection(TokioIo::new(tls), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
                None => {
                    let peer = Peer {
                        common_name: None,
                        remote: Some(remote),
                    };
                    let service = hyper_service(router, peer);
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
            }
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            tracing::warn!("requests still open after 10 s; stopping anyway");
        }
    }
    Ok(())
}

/// The router as a hyper service whose requests carry the connection's `Peer`.
fn hyper_service(
    router: Router,
    peer: Peer,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = Response,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone,
> {
    use tower::ServiceExt;
    let svc = router.map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(peer.clone());
        req.map(axum::body::Body::new)
    });
    hyper_util::service::TowerToHyperService::new(svc)
}
