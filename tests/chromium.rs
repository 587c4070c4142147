//! Chromium, headless, driven through chromedriver (WebDriver), and what a user does in it:
//! log in, read an element's text once the page shows it, follow a link, fill a field, log out.
//! Shared by the browser tests and the national page's benchmark.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use icsight_tests::root;

/// chromedriver on a free port, stopped when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start() -> Driver {
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

pub async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
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

pub fn screenshots() -> PathBuf {
    let d = root().join("target/screenshots");
    std::fs::create_dir_all(&d).expect("target/screenshots");
    d
}

pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshots().join(format!("{name}.png")), png).expect("save screenshot");
}

/// The text of the first element `css` selects, once there is one: a click's new page may
/// still be loading, and an element of the page before goes stale under the reader.
pub async fn text_of(c: &Client, css: &str) -> String {
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
pub async fn wait_text(c: &Client, css: &str, want: &str) {
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

/// Wait until nothing on the page matches `css`: the page a form posted to has replaced the
/// one it was on (whose title may be the same).
pub async fn wait_gone(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.find(Locator::Css(css)).await.is_ok() {
        assert!(Instant::now() < deadline, "{css} still on the page");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn log_in(c: &Client, base: &str, name: &str, password: &str) {
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

/// Text of the whole page's main part, once `css` is on it.
pub async fn main_text(c: &Client, css: &str) -> String {
    text_of(c, css).await;
    text_of(c, "main").await
}

pub async fn click_link(c: &Client, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(e) = c.find(Locator::LinkText(text)).await {
            if e.click().await.is_ok() {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no link {text:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.expect(css);
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

pub async fn log_out(c: &Client) {
    c.find(Locator::Css("header form button"))
        .await
        .expect("logout")
        .click()
        .await
        .expect("log out");
    text_of(c, "body.login").await;
}
