//! Real parts for the collector suites: a private ClickHouse (scripts/clickhouse.sh), a
//! collector with its own CA and credentials, and sensors configured to push to it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::root;

/// A binary of the workspace, from the profile these tests were built with.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join(name);
    assert!(
        bin.exists(),
        "{} not built: run the workspace's tests, or `cargo build --workspace`",
        bin.display()
    );
    bin
}

/// A private ClickHouse server, stopped when dropped.
pub struct ClickHouse {
    dir: PathBuf,
    pub url: String,
}

fn script(args: &[&str]) -> String {
    let out = Command::new(root().join("scripts/clickhouse.sh"))
        .args(args)
        .output()
        .expect("run scripts/clickhouse.sh");
    assert!(
        out.status.success(),
        "scripts/clickhouse.sh {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

impl ClickHouse {
    /// Start one whose data lives in `dir`.
    pub fn start(dir: &Path) -> ClickHouse {
        let dir = dir.join("clickhouse");
        let url = script(&["start", dir.to_str().expect("UTF-8 path")]);
        ClickHouse { dir, url }
    }

    pub fn stop(&self) {
        script(&["stop", self.dir.to_str().expect("UTF-8 path")]);
    }

    /// Stop at once (SIGKILL), mid-query if it is in one.
    pub fn kill(&self) {
        script(&["kill", self.dir.to_str().expect("UTF-8 path")]);
    }

    /// Start again after [`ClickHouse::stop`] or [`ClickHouse::kill`], on the same ports.
    pub fn resume(&self) {
        let url = script(&["start", self.dir.to_str().expect("UTF-8 path")]);
        assert_eq!(url, self.url);
    }

    /// Run `sql`; its output (TSV).
    pub fn query(&self, sql: &str) -> String {
        self.query_with("", sql)
    }

    /// Run `sql` with `settings` (`insert_distributed_sync=1&…`); its output (TSV).
    pub fn query_with(&self, settings: &str, sql: &str) -> String {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--fail-with-body",
                &format!("{}/?{settings}", self.url),
                "--data-binary",
            ])
            .arg(sql)
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "{sql}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The number `sql` answers.
    pub fn count(&self, sql: &str) -> u64 {
        let text = self.query(sql);
        text.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{sql}: not a number: {text:?}"))
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/clickhouse.sh"))
            .args(["stop", self.dir.to_str().unwrap_or_default()])
            .output();
    }
}

/// A private ClickHouse cluster (`scripts/clickhouse.sh cluster`): a ZooKeeper and 2 shards ×
/// 2 replicas, clusters `icsight` and `icsight_all`; stopped when dropped.
pub struct ClickHouseCluster {
    dir: PathBuf,
    /// Shard 1's replicas, then shard 2's.
    pub nodes: Vec<ClickHouse>,
}

impl ClickHouseCluster {
    pub fn start(dir: &Path) -> ClickHouseCluster {
        let dir = dir.join("cluster");
        let path = dir.to_str().expect("UTF-8 path");
        let urls = script(&["cluster", "start", path]);
        let nodes = ["s1r1", "s1r2", "s2r1", "s2r2"]
            .into_iter()
            .zip(urls.lines())
            .map(|(name, url)| ClickHouse {
                dir: dir.join(name),
                url: url.to_owned(),
            })
            .collect::<Vec<_>>();
        assert_eq!(nodes.len(), 4, "four servers: {urls}");
        ClickHouseCluster { dir, nodes }
    }
}

impl Drop for ClickHouseCluster {
    fn drop(&mut self) {
        let _ = Command::new(root().join("scripts/clickhouse.sh"))
            .args(["cluster", "stop", self.dir.to_str().unwrap_or_default()])
            .output();
    }
}

/// How a sensor proves who it is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Auth {
    /// A client certificate whose common name is the sensor id.
    Certificate,
    /// A bearer token.
    Token,
}

/// A sensor registered with the collector.
#[derive(Clone, Debug)]
pub struct SensorSpec {
    pub id: &'static str,
    pub enterprise_id: &'static str,
    pub province: &'static str,
    pub industry: &'static str,
    pub grade: u8,
    pub auth: Auth,
}

/// The analyst token every test collector knows (scope: everything).
pub const ANALYST_TOKEN: &str = "analyst-national-token";
/// An analyst limited to province 330000.
pub const ANALYST_ZJ_TOKEN: &str = "analyst-zj-token";

/// A `collector serve` process with its CA, configuration and database.
pub struct Collector {
    pub dir: PathBuf,
    pub config: PathBuf,
    pub url: String,
    pub database: String,
    child: Option<Child>,
}

/// The hex SHA-256 of `text`, as `token_sha256` holds it.
pub fn sha256_hex(text: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .expect("run sha256sum");
    String::from_utf8_lossy(&out.stdout)[..64].to_owned()
}

/// A password hash from `collector password`.
pub fn password_hash(password: &str) -> String {
    let mut child = Command::new(bin("collector"))
        .arg("password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run collector password");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write password");
    let out = child.wait_with_output().expect("wait");
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    line.trim()
        .strip_prefix("password_argon2 = \"")
        .and_then(|l| l.strip_suffix('"'))
        .expect("a hash")
        .to_owned()
}

/// The bearer token of the test account `name`.
pub fn account_token(name: &str) -> String {
    format!("token-of-account-{name}")
}

/// An `[[accounts]]` table for `name`, holding [`account_token`]'s digest.
pub fn account(name: &str, role: &str, province: &str, enterprise: &str) -> String {
    format!(
        "[[accounts]]\nname = \"{name}\"\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n\
         token_expires = \"2099-01-01T00:00:00Z\"\nprovince = \"{province}\"\nenterprise_id = \"{enterprise}\"\n",
        sha256_hex(&account_token(name))
    )
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Run the collector binary with `args`; panics with its stderr on failure.
pub fn collector(args: &[&str]) -> String {
    let out = Command::new(bin("collector"))
        .args(args)
        .output()
        .expect("run collector");
    assert!(
        out.status.success(),
        "collector {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Collector {
    /// Make the CA, the sensors' credentials and the configuration in `dir`, migrate
    /// `database` in `ch`, and start serving. `extra` is appended to `[server]`.
    pub fn new(
        dir: &Path,
        ch: &ClickHouse,
        database: &str,
        sensors: &[SensorSpec],
        extra: &str,
    ) -> Collector {
        Collector::build(dir, "collector", ch, database, sensors, extra, "")
    }

    /// As [`Collector::new`], in `dir/name`, with `tables` (TOML: `[tier]`, `[upstream]`,
    /// `[[collectors]]`, `[[accounts]]` …) appended to the configuration.
    pub fn build(
        dir: &Path,
        name: &str,
        ch: &ClickHouse,
        database: &str,
        sensors: &[SensorSpec],
        extra: &str,
        tables: &str,
    ) -> Collector {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).expect("collector dir");
        let pki = dir.join("pki");
        let pki_s = pki.to_str().expect("UTF-8 path");
        collector(&["pki", "init", pki_s]);
        let port = free_port();
        let mut toml = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\ncert = \"{pki_s}/server.pem\"\n\
             key = \"{pki_s}/server.key\"\nclient_ca = \"{pki_s}/ca.pem\"\n\
             crl = \"{pki_s}/crl.pem\"\n{extra}\n\
             [clickhouse]\nurl = \"{}\"\ndatabase = \"{database}\"\n\
             [storage]\nretention_days = 0\nrollup_retention_days = 0\n",
            ch.url
        );
        for s in sensors {
            collector(&["pki", "sensor", pki_s, s.id]);
            let token = format!("token-of-{}", s.id);
            std::fs::write(pki.join(format!("sensors/{}.token", s.id)), &token)
                .expect("write token");
            toml.push_str(&format!(
                "[[sensors]]\nid = \"{}\"\nenterprise_id = \"{}\"\nprovince = \"{}\"\n\
                 industry = \"{}\"\ngrade = {}\ntoken_sha256 = \"{}\"\n",
                s.id,
                s.enterprise_id,
                s.province,
                s.industry,
                s.grade,
                sha256_hex(&token)
            ));
        }
        // A tier's own accounts come with its `[tier]`; the others get the two test analysts.
        let analysts: &[(&str, &str, &str)] = if tables.contains("[tier]") {
            &[]
        } else {
            &[
                ("national", ANALYST_TOKEN, ""),
                ("zhejiang", ANALYST_ZJ_TOKEN, "330000"),
            ]
        };
        for &(name, token, province) in analysts {
            toml.push_str(&format!(
                "[[accounts]]\nname = \"{name}\"\nrole = \"analyst\"\ntoken_sha256 = \"{}\"\n\
                 token_expires = \"2099-01-01T00:00:00Z\"\nprovince = \"{province}\"\n",
                sha256_hex(token)
            ));
        }
        toml.push_str(tables);
        let config = dir.join("collector.toml");
        std::fs::write(&config, toml).expect("write collector.toml");
        collector(&["migrate", "--config", config.to_str().expect("UTF-8 path")]);
        let mut c = Collector {
            dir,
            config,
            url: format!("https://127.0.0.1:{port}"),
            database: database.to_owned(),
            child: None,
        };
        c.start();
        c
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("pki/ca.pem")
    }

    /// A sensor's credential files: (certificate, key, token file).
    pub fn credentials(&self, id: &str) -> (PathBuf, PathBuf, PathBuf) {
        let s = self.dir.join("pki/sensors");
        (
            s.join(format!("{id}.pem")),
            s.join(format!("{id}.key")),
            s.join(format!("{id}.token")),
        )
    }

    /// Start serving and wait until it answers.
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .expect("collector log");
        let child = Command::new(bin("collector"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start collector");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.get("/healthz", None).0 == 200 {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("collector exited ({status}): {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("collector did not answer in 30 s: {}", self.log());
    }

    /// SIGKILL: no shutdown, no flushing.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill collector");
            c.wait().expect("reap collector");
        }
    }

    /// The serving process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
    }

    /// `GET path` with an optional bearer token: (status, body).
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut args = vec![format!("{}{path}", self.url)];
        if let Some(t) = token {
            args.extend(["-H".into(), format!("Authorization: Bearer {t}")]);
        }
        self.curl(&args)
    }

    /// `POST path` of a JSON `body` with a bearer token: (status, body).
    pub fn post_json(&self, path: &str, token: &str, body: &str) -> (u16, String) {
        self.curl(&[
            "-X".into(),
            "POST".into(),
            format!("{}{path}", self.url),
            "-H".into(),
            format!("Authorization: Bearer {token}"),
            "-H".into(),
            "Content-Type: application/json".into(),
            "--data-binary".into(),
            body.to_owned(),
        ])
    }

    /// curl against the collector (its CA trusted) with `args`: (status, body).
    pub fn curl(&self, args: &[String]) -> (u16, String) {
        let out = Command::new("curl")
            .args(["-sS", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
            .arg(self.ca())
            .args(args)
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
        match code.trim().parse() {
            Ok(code) if code != 0 => (code, body.to_owned()),
            _ => (0, format!("curl: {}", String::from_utf8_lossy(&out.stderr))),
        }
    }

    /// curl against this collector as the client `id`, with the certificate it issued:
    /// (status, body).
    pub fn curl_as(&self, id: &str, args: &[String]) -> (u16, String) {
        let (cert, key, _) = self.credentials(id);
        let mut all = vec![
            "--cert".into(),
            cert.display().to_string(),
            "--key".into(),
            key.display().to_string(),
        ];
        all.extend_from_slice(args);
        self.curl(&all)
    }

    /// A sensor.toml for sensor `s`, pushing to this collector, spooling under `dir`.
    pub fn sensor_config(&self, s: &SensorSpec, dir: &Path, uplink_extra: &str) -> PathBuf {
        let (cert, key, token) = self.credentials(s.id);
        let auth = match s.auth {
            Auth::Certificate => format!(
                "cert = \"{}\"\nkey = \"{}\"\n",
                cert.display(),
                key.display()
            ),
            Auth::Token => format!("token_file = \"{}\"\n", token.display()),
        };
        let text = format!(
            "[sensor]\nid = \"{}\"\nenterprise_id = \"{}\"\nprovince = \"{}\"\n\
             industry = \"{}\"\ngrade = {}\n\n[uplink]\nurl = \"{}\"\nca = \"{}\"\n{auth}\
             spool_dir = \"{}\"\n{uplink_extra}\n",
            s.id,
            s.enterprise_id,
            s.province,
            s.industry,
            s.grade,
            self.url,
            self.ca().display(),
            dir.join("spool").display(),
        );
        let path = dir.join("sensor.toml");
        std::fs::create_dir_all(dir).expect("sensor dir");
        std::fs::write(&path, text).expect("write sensor.toml");
        path
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The national collector, database `nat`, in `dir/national`; `tier`: the keys of its `[tier]`
/// besides role and id, `tables` the rest of its configuration.
pub fn national(dir: &Path, ch: &ClickHouse, tier: &str, tables: &str) -> Collector {
    Collector::build(
        dir,
        "national",
        ch,
        "nat",
        &[],
        "",
        &format!("[tier]\nrole = \"national\"\nid = \"national\"\n{tier}{tables}"),
    )
}

/// A collector `id` of the tier below `above` (`tier`: the keys of its `[tier]` besides its id),
/// reporting with the certificate `above` issues it here.
pub fn below(
    dir: &Path,
    ch: &ClickHouse,
    above: &Collector,
    id: &str,
    tier: &str,
    sensors: &[SensorSpec],
    tables: &str,
) -> Collector {
    let pki = above.dir.join("pki");
    collector(&["pki", "sensor", pki.to_str().expect("UTF-8"), id]);
    let (cert, key, _) = above.credentials(id);
    let tables = format!(
        "[tier]\nid = \"{id}\"\n{tier}registry_refresh_s = 1\n\
         [upstream]\nrollup_interval_s = 1\ninventory_interval_s = 1\nbulletin_poll_s = 1\n\
         [upstream.link]\nurl = \"{}\"\nca = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n\
         spool_dir = \"{}\"\nsegment_seconds = 0.2\nretry_max_s = 2\n{tables}",
        above.url,
        above.ca().display(),
        cert.display(),
        key.display(),
        dir.join(format!("{id}-upstream")).display(),
    );
    Collector::build(
        dir,
        id,
        ch,
        id.replace('-', "_").as_str(),
        sensors,
        "",
        &tables,
    )
}

/// Import `rows` (CSV lines without the header) into `col`'s registry.
pub fn import_registry(col: &Collector, rows: &str) {
    let csv = col.dir.join("registry.csv");
    std::fs::write(
        &csv,
        format!("enterprise_id,name,province,industry,grade\n{rows}"),
    )
    .expect("csv");
    collector(&[
        "registry",
        "import",
        "--config",
        col.config.to_str().expect("UTF-8"),
        csv.to_str().expect("UTF-8"),
    ]);
}

/// [`replay`], with `extra` (TOML tables) after the sensor's `[uplink]`.
pub fn replay_with(
    col: &Collector,
    spec: &SensorSpec,
    dir: &Path,
    inputs: &[PathBuf],
    extra: &str,
) -> Child {
    let config = col.sensor_config(spec, dir, &format!("segment_seconds = 0.2\n{extra}"));
    Command::new(crate::sensor_bin())
        .args(["replay", "--no-progress", "--config"])
        .arg(&config)
        .arg("--eve")
        .arg(dir.join("eve.json"))
        .args(inputs)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log")).expect("sensor log"))
        .spawn()
        .expect("start sensor")
}

/// Wait until `ok`, polling, for at most `within`; fails naming `what`.
pub fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET path` at `c` as account `who`, which must answer 200 with JSON.
pub fn get_json(c: &Collector, path: &str, who: &str) -> serde_json::Value {
    let (status, body) = c.get(path, Some(&account_token(who)));
    assert_eq!(status, 200, "GET {path} as {who}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// `POST path` of `body` at `c` as account `who`: the status and the answer (as JSON, or
/// `{"text": …}` when it is none).
pub fn post(
    c: &Collector,
    path: &str,
    who: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let (s, text) = c.post_json(path, &account_token(who), &body.to_string());
    let v = serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({ "text": text }));
    (s, v)
}
