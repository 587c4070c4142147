//! What the collector benchmarks share: a private ClickHouse (scripts/clickhouse.sh), the
//! release `collector` serving over HTTPS with a given configuration, and p50/p99 timing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const DAY: u64 = 86_400;
/// 2026-11-21T00:00:00Z: the end of the generated month.
pub const END: u64 = 1_795_219_200;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_owned()
}

pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn clickhouse_query(url: &str, sql: &str) -> String {
    run(Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            &format!("{url}/"),
            "--data-binary",
        ])
        .arg(sql))
}

pub fn sha256(text: &str) -> String {
    hex::encode(collector::config::token_digest(text))
}

/// An environment variable as a number, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Whether `cargo bench` asked for another bench than `name` (it passes `--bench` and the
/// filter).
pub fn not_asked(name: &str) -> bool {
    std::env::args()
        .skip(1)
        .any(|a| !a.starts_with("--") && a != name)
}

/// A private ClickHouse and a collector serving from it; both stopped when dropped.
pub struct Server {
    child: Child,
    ch_dir: PathBuf,
    /// ClickHouse's HTTP URL.
    pub ch: String,
    /// The collector's HTTPS URL.
    pub url: String,
    /// An HTTPS client trusting the collector's CA.
    pub agent: ureq::Agent,
}

impl Server {
    /// Start ClickHouse in `dir`, make a CA, and serve `database` with `top` (top-level keys
    /// such as `escalation = []`) before, and `tables` (TOML tables) after, the `[server]`,
    /// `[clickhouse]` and `[storage]` made here.
    pub fn start(dir: &Path, database: &str, top: &str, tables: &str) -> Server {
        let ch_dir = dir.join("clickhouse");
        let ch = run(Command::new(root().join("scripts/clickhouse.sh"))
            .arg("start")
            .arg(&ch_dir));
        let bin = env!("CARGO_BIN_EXE_collector");
        let pki = dir.join("pki");
        run(Command::new(bin).args(["pki", "init"]).arg(&pki));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let toml = format!(
            "{top}[server]\nlisten = \"127.0.0.1:{port}\"\ncert = \"{0}/server.pem\"\nkey = \"{0}/server.key\"\n\
             [clickhouse]\nurl = \"{ch}\"\ndatabase = \"{database}\"\n\
             [storage]\nretention_days = 0\nrollup_retention_days = 0\n{tables}",
            pki.display(),
        );
        let path = dir.join("collector.toml");
        std::fs::write(&path, toml).expect("config");
        run(Command::new(bin).args(["migrate", "--config"]).arg(&path));
        let child = Command::new(bin)
            .args(["serve", "--config"])
            .arg(&path)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("serve");
        let server = Server {
            child,
            ch_dir,
            ch,
            url: format!("https://127.0.0.1:{port}"),
            agent: agent(&pki.join("ca.pem")),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while server
            .agent
            .get(&format!("{}/healthz", server.url))
            .call()
            .is_err()
        {
            assert!(Instant::now() < deadline, "collector did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Run each of `queries` (name, path) 30 times as `token`; print p50, p99 and rows.
    pub fn time_queries(&self, title: &str, token: &str, queries: &[(&str, String)]) {
        println!("\n{title:58} p50 ms   p99 ms  rows");
        for (name, q) in queries {
            let mut lat = Vec::new();
            let mut rows = 0;
            for _ in 0..30 {
                let t = Instant::now();
                let r = self
                    .agent
                    .get(&format!("{}{q}", self.url))
                    .set("Authorization", &format!("Bearer {token}"))
                    .call()
                    .unwrap_or_else(|e| panic!("{q}: {e}"));
                let v: serde_json::Value = r.into_json().expect("JSON");
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                rows = v["alerts"]
                    .as_array()
                    .or(v["series"].as_array())
                    .map_or(0, Vec::len);
            }
            lat.sort_by(f64::total_cmp);
            println!(
                "{name:58} {:7.1}  {:7.1}  {rows}",
                percentile(&lat, 0.5),
                percentile(&lat, 0.99)
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new(root().join("scripts/clickhouse.sh"))
            .arg("stop")
            .arg(&self.ch_dir)
            .output();
    }
}

/// Batches a second, how many, and p50 / p99 of `lat` (ms, one a batch of 1,000), over
/// `elapsed` seconds.
pub fn batch_summary(mut lat: Vec<f64>, elapsed: f64) -> (f64, usize, f64, f64) {
    lat.sort_by(f64::total_cmp);
    (
        lat.len() as f64 * 1000.0 / elapsed,
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
    )
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn agent(ca: &Path) -> ureq::Agent {
    let pem = std::fs::read(ca).expect("ca.pem");
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut &pem[..]) {
        roots.add(c.expect("PEM")).expect("CA");
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    ureq::AgentBuilder::new()
        .tls_config(Arc::new(tls))
        .timeout(Duration::from_secs(60))
        .build()
}
