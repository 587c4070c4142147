//! TLS with optional client certificates, and the accept loop that tells each request which
//! certificate its connection presented ([`Peer`]): the credential a sender's extractor reads.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
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
