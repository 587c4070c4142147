//! When ClickHouse fails, a client is told that storage is unavailable and given an error id,
//! never ClickHouse's own text (which names tables, queries, addresses): the cause goes to
//! the log under that id. A client's own mistakes are still answered specifically.
//!
//! The collector runs in-process against a ClickHouse that answers every request with an
//! error (as a broken server does), and against one that is stopped (nothing listens).

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;

use collector::auth::{Credentials, Peer};
use collector::config::{token_digest, Config};
use collector::http::{self, App};
use collector::metrics::Metrics;
use collector::store::audit::Audit;
use collector::store::Store;
use collector::tier::bulletin::{Book, Bulletins};
use collector::tier::incident::{Escalator, Incidents};
use collector::tier::registry;

/// What the broken ClickHouse says: nothing of it may reach a client.
const SECRET: &str = "Code: 60. DB::Exception: Table icsight.alerts_secret_layout does not exist";

const SENSOR_TOKEN: &str = "sensor-token-for-the-storage-test";
const ANALYST_TOKEN: &str = "analyst-token-for-the-storage-test";

const ALERT: &str = r#"{"timestamp":"2026-11-21T17:41:00.765135+0000","event_id":"1-1","flow_id":7,"event_type":"alert","src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","dest_port":502,"proto":"TCP","app_proto":"modbus","alert":{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"ICSIGHT MODBUS write","category":"c","severity":2,"metadata":{"mitre_attack_ics":["T0836"]}},"sensor":{"id":"s1","enterprise_id":"91330100MA27XY1235","province":"330000"}}"#;

/// A ClickHouse that answers every request with a 500 and [`SECRET`].
async fn broken_clickhouse() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\
                     X-ClickHouse-Exception-Code: 60\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{SECRET}",
                    SECRET.len()
                );
                let _ = s.write_all(answer.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

/// The address of a ClickHouse that is not running: nothing listens there.
async fn stopped_clickhouse() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn app(clickhouse_url: &str) -> Arc<App> {
    let text = format!(
        r#"
[clickhouse]
url = "{clickhouse_url}"

[[sensors]]
id = "s1"
enterprise_id = "91330100MA27XY1235"
province = "330000"
token_sha256 = "{sensor}"

[[accounts]]
name = "analyst"
role = "analyst"
token_sha256 = "{analyst}"
token_expires = "2099-01-01T00:00:00Z"
"#,
        sensor = hex::encode(token_digest(SENSOR_TOKEN)),
        analyst = hex::encode(token_digest(ANALYST_TOKEN)),
    );
    let config = Arc::new(Config::parse(&text, Path::new("collector.toml")).expect("config"));
    let store = Store::new(&config.clickhouse);
    let metrics = Metrics::new();
    let escalator = Escalator::new(config.escalation.clone(), &config.tier.id);
    let incidents = Arc::new(Incidents::new(
        escalator,
        store.clone(),
        None,
        metrics.incidents.clone(),
        collector::tier::live::Live::default(),
        Arc::new(collector::tier::incident::coordination::Coordination::new(
            store.clone(),
            None,
            &config.tier.id,
        )),
    ));
    let hazards = Arc::new(collector::tier::hazard::Register::new(
        store.clone(),
        None,
        Arc::new(registry::Shared::default()),
        config.clone(),
    ));
    Arc::new(App {
        credentials: Credentials::new(&config),
        audit: Audit::start(store.clone(), metrics.audit_records.clone()),
        registry: Arc::new(registry::Shared::default()),
        incidents: incidents.clone(),
        bulletins: Arc::new(Bulletins::new(
            Book::default(),
            store.clone(),
            None,
            config.tier.clone(),
        )),
        fleet: Arc::new(collector::tier::fleet::Fleet::new(
            &config.sensors,
            config.tier.offline_seconds,
            &config.tier.id,
        )),
        upstream: None,
        notifier: None,
        hazards: hazards.clone(),
        grading: Arc::new(collector::tier::grading::Grading::new(
            store.clone(),
            Arc::new(registry::Shared::default()),
            config.clone(),
            incidents.clone(),
            hazards,
        )),
        store,
        metrics,
        guards: collector::http::guard::Guards::new(&config.server),
        situations: Default::default(),
        config,
    })
}

/// Send a request to the collector: (status, body as text).
async fn send(app: &Arc<App>, req: Request<Body>) -> (StatusCode, String) {
    let mut req = req;
    req.extensions_mut().insert(Peer::default());
    let resp = http::router(app.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn ingest(body: &str) -> Request<Body> {
    Request::post("/v1/ingest")
        .header("authorization", format!("Bearer {SENSOR_TOKEN}"))
        .body(Body::from(body.to_owned()))
        .unwrap()
}

/// The answer is the generic one with an error id, and says nothing of the cause.
fn assert_generic(what: &str, status: StatusCode, body: &str, leaks: &[&str]) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    for l in leaks {
        assert!(!body.contains(l), "{what} tells the client {l:?}: {body}");
    }
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    assert_eq!(
        v["error"], "storage unavailable, send again later",
        "{what}"
    );
    let id = v["error_id"].as_str().expect("an error id");
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{what}: error id {id:?}"
    );
    assert_eq!(
        v.as_object().unwrap().len(),
        2,
        "{what}: only error and error_id: {body}"
    );
}

async fn storage_failures_answer_an_error_id(url: &str, leaks: &[&str]) {
    let app = app(url);

    let (status, body) = send(&app, ingest(ALERT)).await;
    assert_generic("ingest", status, &body, leaks);

    let alerts = Request::get("/v1/alerts")
        .header("authorization", format!("Bearer {ANALYST_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let (status, body) = send(&app, alerts).await;
    assert_generic("GET /v1/alerts", status, &body, leaks);

    let (status, body) = send(&app, Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "healthz: {body}");
    for l in leaks {
        assert!(!body.contains(l), "healthz tells {l:?}: {body}");
    }
    assert!(body.starts_with("clickhouse: "), "{body}");

    assert!(
        app.metrics.clickhouse_errors.get() >= 2,
        "storage failures are still counted"
    );

    // A client's own mistake is still answered as it is, line and all.
    let (status, body) = send(&app, ingest(&format!("{ALERT}\n{{\n"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["line"], 2);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .starts_with("line 2: invalid JSON"),
        "{body}"
    );
}

#[tokio::test]
async fn a_broken_clickhouse_is_not_quoted_to_clients() {
    let url = broken_clickhouse().await;
    // The store's own error does carry ClickHouse's text: what the answers must not pass on.
    let e = app(&url).store.ping().await.unwrap_err().to_string();
    assert!(e.contains("alerts_secret_layout"), "{e}");
    storage_failures_answer_an_error_id(
        &url,
        &["DB::Exception", "alerts_secret_layout", "Code: 60"],
    )
    .await;
}

#[tokio::test]
async fn a_stopped_clickhouse_is_not_described_to_clients() {
    let url = stopped_clickhouse().await;
    let e = app(&url).store.ping().await.unwrap_err().to_string();
    assert!(!e.is_empty());
    storage_failures_answer_an_error_id(&url, &["refused", "connect", "127.0.0.1"]).await;
}
