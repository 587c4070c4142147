//! TLS with optional client certificates, and the accept loop that tells each request which
//! certificate its connection presented ([`Peer`]): the credential a sender's extractor reads.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{router, App};
use crate::auth::Peer;
use crate::config::Config;

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
        let mut verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated();
        if !s.crl.as_os_str().is_empty() {
            // The list revokes what it names; a certificate of a CA it does not cover is
            // not refused for that.
            verifier = verifier
                .with_crls(read_crls(&s.crl)?)
                .only_check_end_entity_revocation()
                .allow_unknown_revocation_status();
        }
        let verifier = verifier.build().with_context(|| {
            format!(
                "{} and {}: not a usable CA and revocation list",
                s.client_ca.display(),
                s.crl.display()
            )
        })?;
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

fn read_crls(
    path: &Path,
) -> anyhow::Result<Vec<rustls::pki_types::CertificateRevocationListDer<'static>>> {
    let pem = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let crls = rustls_pemfile::crls(&mut &pem[..])
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not PEM revocation lists", path.display()))?;
    if crls.is_empty() {
        bail!("{}: no revocation list in it", path.display());
    }
    Ok(crls)
}

/// How often the TLS files are looked at for changes.
const TLS_POLL: Duration = Duration::from_secs(2);

/// The TLS files' modification times and sizes, to tell when one changed.
fn tls_stamp(s: &crate::config::ServerConfig) -> Vec<Option<(std::time::SystemTime, u64)>> {
    [&s.cert, &s.key, &s.client_ca, &s.crl]
        .iter()
        .map(|p| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.modified().ok()?, m.len()))
        })
        .collect()
}

/// Reads the certificate, key, client CA and revocation list again whenever one changes, so a
/// revocation takes effect on the next handshake and a renewed server certificate without a
/// restart. A set that does not load is logged and the one in use kept.
async fn reload_tls(config: Arc<Config>, tx: tokio::sync::watch::Sender<Option<TlsAcceptor>>) {
    let mut seen = tls_stamp(&config.server);
    loop {
        tokio::time::sleep(TLS_POLL).await;
        if tx.is_closed() {
            return;
        }
        let now = tls_stamp(&config.server);
        if now == seen {
            continue;
        }
        seen = now;
        match tls_config(&config) {
            Ok(Some(t)) => {
                tx.send_replace(Some(TlsAcceptor::from(Arc::new(t))));
                tracing::info!("TLS certificate, client CA and revocation list read again");
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(
                error = format!("{e:#}"),
                "TLS files changed but do not load; the ones in use are kept"
            ),
        }
    }
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

/// Connections open, in all and per client address: a slot is taken on accept and given back
/// when the connection ends ([`Slot`]'s drop).
struct Gate {
    max: usize,
    per_address: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicUsize,
}

/// One open connection's place at the [`Gate`].
struct Slot {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Gate {
    /// A slot for a connection from `ip`, or `None` when a limit is reached.
    fn enter(gate: &Arc<Gate>, ip: IpAddr) -> Option<Slot> {
        let mut open = gate.open.lock().unwrap_or_else(|p| p.into_inner());
        if gate.total.load(Ordering::Relaxed) >= gate.max {
            return None;
        }
        let n = open.entry(ip).or_insert(0);
        if *n >= gate.per_address {
            return None;
        }
        *n += 1;
        gate.total.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            gate: gate.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.gate.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
        self.gate.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A warning logged at most once per [`QUIET`], with the number held back since: a flood of
/// failed accepts or refused connections must not flood the log too.
struct Quiet {
    last: Option<Instant>,
    held: u64,
}

const QUIET: Duration = Duration::from_secs(5);

impl Quiet {
    fn warn(&mut self, what: &str, detail: &dyn std::fmt::Display) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now.duration_since(t) < QUIET) {
            self.held += 1;
            return;
        }
        tracing::warn!(error = %detail, also = self.held, "{what}");
        self.last = Some(now);
        self.held = 0;
    }
}

/// The most connections the open-file limit leaves room for, after raising the soft limit to
/// the hard one: each connection is one descriptor, and ClickHouse, the spool and the log
/// need some (256 kept back).
fn descriptor_room() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 768;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
    }
    usize::try_from(lim.rlim_cur)
        .unwrap_or(usize::MAX)
        .saturating_sub(256)
        .max(16)
}

/// Serve until `shutdown` resolves, then let open requests finish (at most 10 s).
///
/// Every connection is bounded: it counts against `server.max_connections` (lowered to what
/// the open-file limit allows) and `max_connections_per_address`, and is closed at once over
/// either; it has `header_timeout_s` for its TLS handshake and then for each request's
/// headers (an idle HTTP/1 connection is closed as late); HTTP/2 allows `max_streams` at once
/// and pings idle peers; each request has `request_timeout_s` to be answered.
pub async fn serve(
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let limits = app.config.server.clone();
    let header_timeout = Duration::from_secs_f64(limits.header_timeout_s);
    let request_timeout = Duration::from_secs_f64(limits.request_timeout_s);
    let room = descriptor_room();
    if room < limits.max_connections {
        tracing::warn!(
            configured = limits.max_connections,
            allowed = room,
            "server.max_connections lowered to what the open-file limit leaves room for"
        );
    }
    let gate = Arc::new(Gate {
        max: limits.max_connections.min(room),
        per_address: limits.max_connections_per_address,
        open: Mutex::new(HashMap::new()),
        total: AtomicUsize::new(0),
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams)
        .keep_alive_interval(Some(Duration::from_secs(30)))
        .keep_alive_timeout(header_timeout)
        .max_header_list_size(64 * 1024);
    let builder = Arc::new(builder);
    let metrics_refused = app.metrics.connections_refused.clone();
    let config = app.config.clone();
    let router = router(app);
    let (tls_tx, acceptors) =
        tokio::sync::watch::channel(tls.map(|t| TlsAcceptor::from(Arc::new(t))));
    if acceptors.borrow().is_some() {
        tokio::spawn(reload_tls(config, tls_tx));
    }
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let (mut accept_failed, mut over_limit) = (
        Quiet {
            last: None,
            held: 0,
        },
        Quiet {
            last: None,
            held: 0,
        },
    );
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of descriptors, most often: wait for some to close.
                    metrics_refused.inc();
                    accept_failed.warn("accept failed", &e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = Gate::enter(&gate, remote.ip()) else {
            metrics_refused.inc();
            over_limit.warn(
                "connection refused: too many open",
                &format_args!("from {}", remote.ip()),
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptors.borrow().clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                Some(acceptor) => {
                    let tls =
                        match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
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
                    let service = hyper_service(router, peer, request_timeout);
                    let conn = builder.serve_connection(TokioIo::new(tls), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
                None => {
                    let peer = Peer {
                        common_name: None,
                        remote: Some(remote),
                    };
                    let service = hyper_service(router, peer, request_timeout);
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

/// How long after `request_timeout_s` a request nothing has answered gets its 503.
const BACKSTOP_GRACE: Duration = Duration::from_secs(1);

/// The router as a hyper service whose requests carry the connection's `Peer`, each answered
/// within `timeout` (a 503 otherwise); a small body refused unread is read first
/// ([`super::leftover`]).
fn hyper_service(
    router: Router,
    peer: Peer,
    timeout: Duration,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = Response,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone,
> {
    use tower::ServiceExt;
    let svc = tower::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (router, peer) = (router.clone(), peer.clone());
        async move {
            let (mut parts, body) = req.into_parts();
            let (body, leftover) = super::leftover::track(body, &parts.headers);
            parts.extensions.insert(peer);
            let req = hyper::Request::from_parts(parts, axum::body::Body::new(body));
            // A backstop: handlers answer their own deadlines (a held body is a 408), a
            // moment before this one.
            let answer =
                match tokio::time::timeout(timeout + BACKSTOP_GRACE, router.oneshot(req)).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(never)) => match never {},
                    Err(_) => super::ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "timeout",
                        format!(
                            "not answered within {} s: send the request again",
                            timeout.as_secs_f64()
                        ),
                    )
                    .into_response(),
                };
            leftover.settle(answer.status()).await;
            Ok::<_, std::convert::Infallible>(answer)
        }
    });
    hyper_util::service::TowerToHyperService::new(svc)
}
