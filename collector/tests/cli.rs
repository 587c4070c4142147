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
            "[[accounts]]\nname = \"a\"\nrole = \"analyst\"\ntoken_sha256 = \"abc\"\n",
            "accounts[0].token_sha256",
        ),
        (
            "[[accounts]]\nname = \"a\"\nrole = \"analyst\"\n",
            "accounts[0].password_argon2",
        ),
        (
            "[[accounts]]\nname = \"a\"\nrole = \"king\"\npassword_argon2 = \"x\"\n",
            "accounts[0].role",
        ),
        (
            "[[accounts]]\nname = \"a\"\nrole = \"admin\"\npassword_argon2 = \"plain\"\n",
            "accounts[0].password_argon2",
        ),
        (
            concat!(
                "[[accounts]]\nname = \"a\"\nrole = \"admin\"\n",
                "token_sha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n"
            ),
            "accounts[0].token_expires",
        ),
        (
            "[tier]\nrole = \"national\"\nprovince = \"330000\"\n",
            "tier.province",
        ),
        (
            "[tier]\nrole = \"provincial\"\nprovince = \"339999\"\n",
            "tier.province",
        ),
        (
            "[tier]\nrole = \"national\"\n[upstream.link]\nurl = \"https://x:1\"\n",
            "upstream.link.url",
        ),
        (
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n",
            "collectors[0]",
        ),
        ("[[escalation]]\nname = \"all\"\n", "escalation[0].name"),
        (
            "[[escalation]]\nname = \"x\"\ngrades = [4]\n",
            "escalation[0].grades",
        ),
        ("[storage]\nretention = 3\n", "retention"),
        (
            "[notify]\nsmtp_host = \"mail.example\"\nsmtp_security = \"ssl\"\n",
            "notify.smtp_security",
        ),
        (
            "[notify]\nsmtp_host = \"mail.example\"\nsmtp_security = \"none\"\n",
            "notify.smtp_security",
        ),
        (
            "[notify]\nsmtp_host = \"mail.example\"\nfrom = \"not an address\"\n",
            "notify.from",
        ),
        ("[[notify.roles]]\nrole = \"analyst\"\nevents = [\"lunch\"]\n", "notify.roles[0].events[0]"),
        (
            concat!(
                "[[accounts]]\nname = \"a\"\nrole = \"analyst\"\npassword_argon2 = \"x\"\n",
                "webhook = \"https://hooks.example/x\"\n"
            ),
            "accounts[0].webhook_secret_file",
        ),
        (
            concat!(
                "[[accounts]]\nname = \"a\"\nrole = \"analyst\"\npassword_argon2 = \"x\"\n",
                "email = \"nobody\"\n"
            ),
            "accounts[0].email",
        ),
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
fn passwords_are_hashed_and_a_bad_registry_is_named_by_line() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_collector"))
        .arg("password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run collector password");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse battery\n")
        .expect("write password");
    let o = child.wait_with_output().expect("wait");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("password_argon2 = \"$argon2id$"), "{out}");

    let tmp = tempfile::tempdir().expect("tempdir");
    let c = config(
        tmp.path(),
        "[tier]\nrole = \"provincial\"\nprovince = \"330000\"\n",
    );
    let csv = tmp.path().join("registry.csv");
    std::fs::write(
        &csv,
        "enterprise_id,name,province,industry,grade\n\
         91330100MA27XY1235,Hangzhou Refinery,330000,petrochemical,1\n\
         91440300MA5FXT12X5,Shenzhen Fab,440000,electronics,9\n",
    )
    .expect("write csv");
    let o = collector(&[
        "registry",
        "import",
        "--config",
        &c,
        csv.to_str().expect("UTF-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("registry.csv line 3: grade"),
        "{}",
        stderr(&o)
    );
    // Another province's enterprise is outside a provincial tier's registry.
    std::fs::write(
        &csv,
        "enterprise_id,name,province,industry,grade\n91440300MA5FXT12X5,Shenzhen Fab,440000,electronics,2\n",
    )
    .expect("write csv");
    let o = collector(&[
        "registry",
        "import",
        "--config",
        &c,
        csv.to_str().expect("UTF-8"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("outside this provincial tier's scope"),
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
