//! The `collector` command line: bad configuration is refused by key before anything starts,
//! a collector without its database says so, and the credential tools make what they promise.

use std::path::Path;
use std::process::{Command, Output};

fn collector(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_collector"))
        .args(args)
        .output()
        .expect("run collector")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn config(dir: &Path, text: &str) -> String {
    let p = dir.join("collector.toml");
    std::fs::write(&p, text).expect("write config");
    p.to_str().expect("UTF-8").to_owned()
}

#[test]
fn bad_configuration_is_refused_by_key() {
    let tmp = tempfile::tempdir().expect("tempdir");
    for (text, key) in [
        ("[server]\nlisten = \"everywhere\"\n", "server.listen"),
        ("[clickhouse]\ndatabase = \"a;b\"\n", "clickhouse.database"),
        ("[server]\ncert = \"x.pem\"\n", "server.cert"),
        (
            "[[analysts]]\nname = \"a\"\ntoken_sha256 = \"abc\"\n",
            "analysts[0].token_sha256",
        ),
        ("[storage]\nretention = 3\n", "retention"),
    ] {
        let c = config(tmp.path(), text);
        for cmd in ["serve", "migrate", "retention"] {
            let o = collector(&[cmd, "--config", &c]);
            assert_eq!(o.status.code(), Some(1), "{cmd} {text}");
            let e = stderr(&o);
            assert!(
                e.contains("collector.toml") && e.contains(key),
                "{cmd} {text}: {e}"
            );
        }
    }
    let o = collector(&["serve", "--config", "/nonexistent/collector.toml"]);
    assert!(
        stderr(&o).contains("/nonexistent/collector.toml: cannot read"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn serve_without_clickhouse_names_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    // Nothing listens on `port` once the probe socket is gone.
    let c = config(
        tmp.path(),
        &format!("[clickhouse]\nurl = \"http://127.0.0.1:{port}\"\n"),
    );
    let o = collector(&["serve", "--config", &c]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("http://127.0.0.1:{port}")),
        "{}",
        stderr(&o)
    );
}

#[test]
fn credentials_are_made_as_promised() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let o = collector(&["token"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_owned())
            .expect(name)
    };
    let (token, digest) = (field("token "), field("token_sha256 "));
    assert_eq!((token.len(), digest.len()), (64, 64));
    assert_eq!(hex::encode(collector::config::token_digest(&token)), digest);

    let pki = tmp.path().join("pki");
    let p = pki.to_str().expect("UTF-8");
    assert!(collector(&["pki", "init", p]).status.success());
    assert!(collector(&["pki", "sensor", p, "plant-s01"])
        .status
        .success());
    for f in ["ca.pem", "server.pem", "sensors/plant-s01.pem"] {
        let pem = std::fs::read_to_string(pki.join(f)).expect(f);
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{f}");
    }
    use std::os::unix::fs::PermissionsExt;
    for f in ["ca.key", "server.key", "sensors/plant-s01.key"] {
        let mode = std::fs::metadata(pki.join(f))
            .expect(f)
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{f} readable by others");
    }
    // A second init would overwrite the CA every sensor trusts: refused.
    let o = collector(&["pki", "init", p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("a CA is already there"));
    // The sensor's certificate verifies against the CA, for client authentication.
    let v = Command::new("openssl")
        .args(["verify", "-purpose", "sslclient", "-CAfile"])
        .arg(pki.join("ca.pem"))
        .arg(pki.join("sensors/plant-s01.pem"))
        .output();
    if let Ok(v) = v {
        assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
    }
}
