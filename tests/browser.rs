//! The pages in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver) as a user would — typing a name and password, following links, pressing the
//! logout button. The assertions read the page's text, never its pixels; a screenshot of each
//! page is kept under `target/screenshots/` for people to look at.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use icsight_tests::cluster::{password_hash, Auth, ClickHouse, Collector, SensorSpec};
use icsight_tests::root;

const E1: &str = "91330100MA27XY1235";

const SENSOR: SensorSpec = SensorSpec {
    id: "zj-e1-s1",
    enterprise_id: E1,
    province: "330000",
    industry: "energy",
    grade: 1,
    auth: Auth::Token,
};

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian chromium-driver; scripts/setup.sh installs it)");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    // Two providers are linked in (the test's and the WebDriver client's): pick one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,900", format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    // The collector's certificate is the test's own CA.
    caps.insert("acceptInsecureCerts".into(), serde_json::Value::Bool(true));
    ClientBuilder::rustls()
        .expect("TLS roots")
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

fn screenshots() -> PathBuf {
    let d = root().join("target/screenshots");
    std::fs::create_dir_all(&d).expect("target/screenshots");
    d
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("save screenshot");
}

/// The text of the first element `css` selects, once there is one: a click's new page may
/// still be loading, and an element of the page before goes stale under the reader.
async fn text_of(c: &Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(t) = e.text().await {
                return t;
            }
        }
        assert!(Instant::now() < deadline, "{css}: no such element");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until the first element `css` selects reads `want` (the page it is on has loaded).
async fn wait_text(c: &Client, css: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = String::new();
    while Instant::now() < deadline {
        seen = text_of(c, css).await;
        if seen == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css}: {seen:?}, not {want:?}");
}

async fn log_in(c: &Client, base: &str, name: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.expect("login page");
    c.find(Locator::Css("input[name=name]"))
        .await
        .expect("name field")
        .send_keys(name)
        .await
        .expect("type the name");
    c.find(Locator::Css("input[name=password]"))
        .await
        .expect("password field")
        .send_keys(password)
        .await
        .expect("type the password");
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .expect("the button")
        .click()
        .await
        .expect("log in");
}

#[test]
fn a_user_logs_in_reads_the_pages_in_two_languages_and_logs_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let accounts = format!(
        "[[accounts]]\nname = \"zj\"\nrole = \"analyst\"\nprovince = \"330000\"\npassword_argon2 = \"{}\"\n",
        password_hash("zhejiang password"),
    );
    let col = Collector::build(
        tmp.path(),
        "collector",
        &ch,
        "browser",
        &[SENSOR],
        "",
        &accounts,
    );
    // A sensor's alert whose signature is a script: an incident at this grade-1 plant.
    let (_, _, token_file) = col.credentials(SENSOR.id);
    let token = std::fs::read_to_string(token_file).expect("token");
    let line = format!(
        r#"{{"timestamp":"2026-11-21T17:41:00.765135+0000","event_id":"1-1","flow_id":7,"event_type":"alert","src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","dest_port":502,"proto":"TCP","app_proto":"modbus","alert":{{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"<script>document.title='owned'</script>","category":"c","severity":1,"metadata":{{"mitre_attack_ics":["T0855"]}}}},"modbus":{{"transaction_id":7,"function_code":6,"function":"write_single_register","request":{{"address":40001,"value":1234}}}},"sensor":{{"id":"{}","enterprise_id":"{E1}","province":"330000"}}}}"#,
        SENSOR.id
    );
    let (s, body) = col.curl(&[
        format!("{}/v1/ingest", col.url),
        "-H".into(),
        format!("Authorization: Bearer {}", token.trim()),
        "-H".into(),
        "Content-Type: application/x-ndjson".into(),
        "--data-binary".into(),
        line + "\n",
    ]);
    assert_eq!(s, 200, "{body}");

    let driver = Driver::start();
    let base = col.url.clone();
    let profile = tmp.path().join("chromium");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let c = browser(&driver, &profile).await;
            // Not signed in: the login page, in Chinese.
            c.goto(&format!("{base}/sensors")).await.expect("goto");
            wait_text(&c, "h1", "icsight 工控安全监测").await;
            shot(&c, "login").await;
            log_in(&c, &base, "zj", "wrong").await;
            wait_text(&c, "p.error", "用户名或密码错误").await;
            log_in(&c, &base, "zj", "zhejiang password").await;
            wait_text(&c, "main h1", "态势总览").await;
            shot(&c, "overview").await;

            // The incident's title is the sensor's text, shown, not run.
            c.find(Locator::LinkText("安全事件"))
                .await
                .expect("the incidents link")
                .click()
                .await
                .expect("follow");
            wait_text(&c, "main h1", "安全事件").await;
            let row = text_of(&c, "main tbody tr").await;
            assert!(
                row.contains("<script>document.title='owned'</script>"),
                "{row}"
            );
            assert_ne!(c.title().await.expect("title"), "owned", "the script ran");
            shot(&c, "incidents").await;

            // Down to the alert: its decoded transaction and technique by name.
            c.find(Locator::LinkText("告警查询"))
                .await
                .expect("the alerts link")
                .click()
                .await
                .expect("follow");
            c.find(Locator::Css("table.alerts tbody td a"))
                .await
                .expect("an alert")
                .click()
                .await
                .expect("open it");
            wait_text(&c, "main h1", "告警详情").await;
            let detail = text_of(&c, "main").await;
            for expected in [
                "T0855 未授权命令消息",
                "write_single_register",
                "解码的工控报文",
            ] {
                assert!(detail.contains(expected), "{expected} not in {detail}");
            }
            shot(&c, "alert").await;

            c.find(Locator::LinkText("探针状态"))
                .await
                .expect("the sensors link")
                .click()
                .await
                .expect("follow");
            wait_text(&c, "main h1", "探针状态").await;
            assert!(text_of(&c, "main tbody").await.contains(SENSOR.id));
            shot(&c, "sensors").await;

            // English, every label, and remembered.
            c.find(Locator::LinkText("English"))
                .await
                .expect("the switch")
                .click()
                .await
                .expect("switch");
            wait_text(&c, "main h1", "Sensor fleet").await;
            let header = text_of(&c, "main thead").await;
            assert!(header.contains("Last heartbeat"), "{header}");
            c.goto(&format!("{base}/")).await.expect("goto");
            wait_text(&c, "main h1", "Situation overview").await;
            shot(&c, "overview-en").await;

            // Logout ends the session: the pages want a login again.
            c.find(Locator::Css("header form button"))
                .await
                .expect("logout")
                .click()
                .await
                .expect("log out");
            text_of(&c, "body.login").await;
            c.goto(&format!("{base}/incidents")).await.expect("goto");
            text_of(&c, "body.login").await;
            c.close().await.expect("close");
        });
}
