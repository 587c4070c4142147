//! Notifications over real parts: a provincial collector under the nation tells its people by
//! e-mail — through a real SMTP server (aiosmtpd) that insists on STARTTLS and a login — and by
//! webhook to a receiver started here that checks every signature. A national bulletin comes
//! down with a deadline seconds away: the plant is told it is new, then due, then overdue (in
//! Chinese), the province's duty officer is told of the overdue plant (in English, by its
//! role's default events); an incident reported and a task assigned reach who they concern
//! and nobody else; a webhook that never answers ends in the dead letters.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use icsight_tests::cluster::{
    account, account_token as token, below, free_port, import_registry, national, post, wait_for,
    ClickHouse,
};
use icsight_tests::root;
use serde_json::{json, Value};
use sha2::Sha256;

const E1: &str = "91330100MA27XY1235"; // Zhejiang, energy, grade 1
const E2: &str = "91330200MA2AB3CD4G"; // Zhejiang, machinery, grade 2
const SECRET: &str = "webhook-secret-of-the-plant-0123456789";

/// The SMTP sink: aiosmtpd with STARTTLS required and a login, writing each message to `dir`.
struct Sink {
    child: Child,
    dir: PathBuf,
    port: u16,
    ca: PathBuf,
}

impl Sink {
    fn start(tmp: &Path) -> Sink {
        let dir = tmp.join("mail");
        std::fs::create_dir_all(&dir).expect("mail dir");
        // A private CA and the server's certificate it signs, as a plant's mail server has.
        let (ca, ca_key) = (tmp.join("mail-ca.pem"), tmp.join("mail-ca.key"));
        let (cert, key, csr) = (
            tmp.join("smtp.pem"),
            tmp.join("smtp.key"),
            tmp.join("smtp.csr"),
        );
        let ext = tmp.join("smtp.ext");
        std::fs::write(
            &ext,
            "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n",
        )
        .expect("extensions");
        let openssl = |args: &[&str]| {
            let ok = Command::new("openssl")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .expect("openssl")
                .success();
            assert!(ok, "openssl {args:?}");
        };
        let p = |p: &Path| p.to_str().expect("UTF-8").to_owned();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=mail test CA",
            "-keyout",
            &p(&ca_key),
            "-out",
            &p(&ca),
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p(&key),
            "-out",
            &p(&csr),
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            &p(&csr),
            "-CA",
            &p(&ca),
            "-CAkey",
            &p(&ca_key),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p(&ext),
            "-out",
            &p(&cert),
        ]);
        let port = free_port();
        let mut child = Command::new("/usr/bin/python3")
            .arg(root().join("tests/tools/smtp_sink.py"))
            .arg(port.to_string())
            .args([&cert, &key, &dir])
            .args(["icsight-mailer", "mail password 42"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with aiosmtpd (scripts/setup.sh installs python3-aiosmtpd)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the sink's first line");
        assert_eq!(line.trim(), "ready", "the SMTP sink did not start");
        Sink {
            child,
            dir,
            port,
            ca,
        }
    }

    /// The messages received so far.
    fn messages(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .expect("mail dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .filter_map(|p| serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok())
            .collect()
    }

    fn to(&self, rcpt: &str) -> Vec<Value> {
        (self.messages().into_iter())
            .filter(|m| {
                m["to"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == rcpt))
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A webhook receiver: answers 500 to the first request and 200 after, keeping every request
/// with whether its signature held.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("receiver");
        let url = format!("http://{}/hooks/icsight", server.server_addr());
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        std::thread::spawn(move || {
            for mut req in server.incoming_requests() {
                let header = |name: &'static str| {
                    (req.headers().iter())
                        .find(|h| h.field.equiv(name))
                        .map(|h| h.value.as_str().to_owned())
                        .unwrap_or_default()
                };
                let (ts, sig, event, delivery) = (
                    header("X-Icsight-Timestamp"),
                    header("X-Icsight-Signature"),
                    header("X-Icsight-Event"),
                    header("X-Icsight-Delivery"),
                );
                let mut body = Vec::new();
                let _ = req.as_reader().read_to_end(&mut body);
                let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
                mac.update(format!("{ts}.").as_bytes());
                mac.update(&body);
                let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
                let fresh = ts.parse::<u64>().is_ok_and(|t| t.abs_diff(now()) < 300);
                let first = {
                    let mut g = seen.lock().expect("lock");
                    g.push(json!({
                        "event": event, "delivery": delivery, "signed": sig == expected && fresh,
                        "body": serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
                    }));
                    g.len() == 1
                };
                let code = if first { 500 } else { 200 };
                let _ = req.respond(tiny_http::Response::empty(code));
            }
        });
        Receiver { url, got }
    }

    fn requests(&self) -> Vec<Value> {
        self.got.lock().expect("lock").clone()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

fn rfc3339_in(secs: u64) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{}", now() + secs), "+%FT%TZ"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// An account of `account` with notification keys after it.
fn person(name: &str, role: &str, province: &str, enterprise: &str, extra: &str) -> String {
    format!("{}{extra}\n", account(name, role, province, enterprise))
}

#[test]
fn people_are_told_by_mail_and_signed_webhook_and_dead_letters_are_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let sink = Sink::start(tmp.path());
    let receiver = Receiver::start();
    let secret = tmp.path().join("webhook.secret");
    std::fs::write(&secret, format!("{SECRET}\n")).expect("secret");
    let password = tmp.path().join("smtp.password");
    std::fs::write(&password, "mail password 42\n").expect("password");
    let dead_url = format!("http://127.0.0.1:{}/nobody", free_port());

    let national = national(
        tmp.path(),
        &ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}",
            account("national-admin", "admin", "", ""),
        ),
    );
    let notify = format!(
        "[notify]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_ca = \"{}\"\n\
         smtp_user = \"icsight-mailer\"\nsmtp_password_file = \"{}\"\n\
         from = \"浙江省工控安全监测平台 <icsight@zj.example>\"\nattempts = 3\n\
         retry_min_s = 0.2\nretry_max_s = 0.5\ncheck_s = 0.3\nremind_before_s = 3600\n\
         webhook_secret_file = \"{}\"\n\
         [[notify.roles]]\nrole = \"analyst\"\nevents = [\"bulletin.overdue\", \"incident.opened\"]\n",
        sink.port,
        sink.ca.display(),
        password.display(),
        secret.display(),
    );
    let all = "[\"bulletin.new\", \"bulletin.due\", \"bulletin.overdue\", \"incident.opened\", \
               \"incident.graded\", \"task.assigned\"]";
    let zj = below(
        tmp.path(),
        &ch,
        &national,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\n",
        &[],
        &format!(
            "{}{}{}{}{}{}{}{notify}",
            person(
                "e1-ops",
                "analyst",
                "330000",
                E1,
                &format!(
                    "email = \"e1@plant.example\"\nwebhook = \"{}\"\nnotify = {all}",
                    receiver.url
                )
            ),
            person(
                "e2-ops",
                "analyst",
                "330000",
                E2,
                &format!("email = \"e2@works.example\"\nnotify = {all}")
            ),
            person(
                "zj-duty",
                "analyst",
                "330000",
                "",
                "email = \"duty@zj.example\"\nlang = \"en\""
            ),
            person(
                "zj-admin",
                "admin",
                "330000",
                "",
                &format!("webhook = \"{dead_url}\"\nnotify = [\"bulletin.new\"]")
            ),
            person(
                "zj-reader",
                "regulator",
                "330000",
                "",
                "email = \"reader@zj.example\""
            ),
            person(
                "zj-energy",
                "regulator",
                "330000",
                "",
                "industry = \"energy\"\nemail = \"energy@zj.example\"\nnotify = [\"bulletin.overdue\"]"
            ),
            person(
                "zj-machinery",
                "regulator",
                "330000",
                "",
                "industry = \"machinery\"\nemail = \"machinery@zj.example\"\nnotify = [\"bulletin.overdue\"]"
            ),
        ),
    );
    import_registry(
        &zj,
        &format!("{E1},Hangzhou Power,330000,energy,1\n{E2},Ningbo Works,330000,machinery,2\n"),
    );

    // A national bulletin for energy, due in a few seconds.
    let bulletin = json!({
        "title": "S7 PLC stop campaign",
        "severity": 1,
        "scope": {"industries": ["energy"]},
        "indicators": {"ips": ["203.0.113.66"]},
        "deadline": rfc3339_in(8),
    });
    let mut issued = (0, Value::Null);
    wait_for("the bulletin issued", Duration::from_secs(30), || {
        let mut b = bulletin.clone();
        b["deadline"] = json!(rfc3339_in(8));
        issued = post(&national, "/v1/bulletins", "national-admin", &b);
        issued.0 == 201
    });
    let bid = issued.1["bulletin_id"].as_str().expect("id").to_owned();

    // The plant hears of it: new, due, overdue, by mail (Chinese) over STARTTLS with a login.
    let subjects = |rcpt: &str| -> Vec<String> {
        (sink.to(rcpt).iter())
            .map(|m| m["subject"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    wait_for(
        "the plant's overdue reminder by mail",
        Duration::from_secs(60),
        || {
            subjects("e1@plant.example")
                .iter()
                .any(|s| s.starts_with("【通报逾期未处置】"))
        },
    );
    let plant = subjects("e1@plant.example");
    for expected in ["【威胁通报】", "【通报即将到期】", "【通报逾期未处置】"]
    {
        assert_eq!(
            plant.iter().filter(|s| s.starts_with(expected)).count(),
            1,
            "{expected} once: {plant:?}"
        );
    }
    for m in sink.messages() {
        assert_eq!(m["tls"], true, "every message over STARTTLS: {m}");
        assert_eq!(m["login"], "icsight-mailer", "{m}");
        assert!(
            m["from"]
                .as_str()
                .unwrap_or("")
                .ends_with("icsight@zj.example"),
            "{m}"
        );
    }
    let overdue = sink
        .to("e1@plant.example")
        .into_iter()
        .find(|m| {
            m["subject"]
                .as_str()
                .unwrap_or("")
                .starts_with("【通报逾期未处置】")
        })
        .expect("the overdue mail");
    assert!(
        overdue["subject"].as_str().unwrap_or("").contains(E1)
            && overdue["body"].as_str().unwrap_or("").contains(&bid),
        "{overdue}"
    );
    // The province's duty officer hears of the overdue plant, in English, by its role's
    // default events; the machinery plant and a read-only regulator hear nothing.
    wait_for(
        "the duty officer's overdue mail",
        Duration::from_secs(30),
        || {
            subjects("duty@zj.example")
                .iter()
                .any(|s| s.starts_with("[Bulletin overdue]"))
        },
    );
    assert!(
        subjects("e2@works.example").is_empty(),
        "{:?}",
        subjects("e2@works.example")
    );
    assert!(subjects("reader@zj.example").is_empty());
    // The energy authority (行业主管部门) hears of its industry's overdue plant; the machinery
    // authority hears nothing of it.
    wait_for(
        "the energy authority's overdue mail",
        Duration::from_secs(30),
        || {
            subjects("energy@zj.example")
                .iter()
                .any(|s| s.starts_with("【通报逾期未处置】"))
        },
    );
    assert!(subjects("machinery@zj.example").is_empty());

    // The plant's webhook: every request signed; the first answered 500 and tried again.
    wait_for("the overdue webhook", Duration::from_secs(30), || {
        (receiver.requests().iter()).any(|r| r["event"] == "bulletin.overdue")
    });
    let got = receiver.requests();
    assert!(got.iter().all(|r| r["signed"] == true), "{got:?}");
    let first = got[0]["delivery"].clone();
    assert!(
        got.iter().filter(|r| r["delivery"] == first).count() >= 2,
        "the refused delivery tried again: {got:?}"
    );
    let r = (got.iter())
        .find(|r| r["event"] == "bulletin.overdue")
        .expect("overdue");
    assert_eq!(r["body"]["data"]["id"], bid.as_str());
    assert_eq!(r["body"]["lang"], "zh-CN");
    assert!(r["body"]["subject"]
        .as_str()
        .unwrap_or("")
        .starts_with("【通报逾期未处置】"));

    // Industry authorities see their industry's enterprises only, and chase them; they read
    // nothing else. A bulletin for all of Zhejiang reaches both plants.
    let (s, v) = post(
        &national,
        "/v1/bulletins",
        "national-admin",
        &json!({"title": "Weak passwords on HMIs", "severity": 3,
                "scope": {"provinces": ["330000"]}, "deadline": rfc3339_in(86_400)}),
    );
    assert_eq!(s, 201, "{v}");
    let wide = v["bulletin_id"].as_str().expect("id").to_owned();
    let read = |who: &str, id: &str| {
        let (s, body) = zj.get(&format!("/v1/bulletins/{id}"), Some(&token(who)));
        (s, serde_json::from_str::<Value>(&body).unwrap_or_default())
    };
    wait_for(
        "the wide bulletin at the province",
        Duration::from_secs(30),
        || read("zj-energy", &wide).0 == 200,
    );
    for (who, enterprise) in [("zj-energy", E1), ("zj-machinery", E2)] {
        let (_, b) = read(who, &wide);
        let seen: Vec<&str> = (b["status"].as_array().expect("status").iter())
            .map(|t| t["enterprise_id"].as_str().expect("id"))
            .collect();
        assert_eq!(seen, [enterprise], "{who} sees its industry only");
    }
    assert_eq!(
        read("zj-machinery", &bid).0,
        404,
        "the energy bulletin is not machinery's"
    );
    let (s, list) = zj.get("/v1/bulletins", Some(&token("zj-machinery")));
    assert_eq!(s, 200);
    assert!(!list.contains(&bid), "{list}");
    let (s, _) = zj.get("/v1/alerts", Some(&token("zj-energy")));
    assert_eq!(s, 403, "an industry authority reads bulletins only");
    let (s, _) = zj.get("/v1/incidents", Some(&token("zj-energy")));
    assert_eq!(s, 403);
    let remind = format!("/v1/bulletins/{bid}/remind");
    let (s, v) = post(&zj, &remind, "zj-machinery", &json!({"enterprise_id": E1}));
    assert_eq!(s, 404, "not its industry: {v}");
    let (s, v) = post(
        &zj,
        &format!("/v1/bulletins/{bid}/dispose"),
        "zj-energy",
        &json!({"enterprise_id": E1}),
    );
    assert_eq!(s, 403, "the authority chases, the plant disposes: {v}");
    let chased = subjects("e1@plant.example").len();
    let (s, v) = post(&zj, &remind, "zj-energy", &json!({"enterprise_id": E1}));
    assert_eq!(s, 200, "{v}");
    assert!(v["told"].as_u64() >= Some(1), "{v}");
    wait_for("the chase at the plant", Duration::from_secs(30), || {
        subjects("e1@plant.example").len() > chased
    });
    let (s, v) = post(&zj, &remind, "zj-energy", &json!({"enterprise_id": E1}));
    assert_eq!((s, v["told"].as_u64()), (200, Some(0)), "once an hour: {v}");
    wait_for("the chases audited", Duration::from_secs(20), || {
        ch.count(
            "SELECT count() FROM zj.audit WHERE action = 'bulletin.remind' \
             AND outcome = 'ok' AND actor = 'zj-energy'",
        ) == 2
    });

    // An incident the plant reports, and a task the province gives it.
    let (s, v) = post(
        &zj,
        "/v1/incidents",
        "e1-ops",
        &json!({"title": "Ransomware on the engineering workstation", "level": "II",
                "category": "malware", "impact": "HMI down", "measures": "isolated"}),
    );
    assert_eq!(s, 201, "{v}");
    let incident = v["incident"]["incident_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (s, v) = post(
        &zj,
        &format!("/v1/incidents/{incident}/tasks"),
        "zj-admin",
        &json!({"province": "330000", "enterprise_id": E1,
                "text": "Send the dropper's hashes", "deadline": rfc3339_in(3600)}),
    );
    assert_eq!(s, 201, "{v}");
    wait_for(
        "the task and the incident told",
        Duration::from_secs(30),
        || {
            let plant = subjects("e1@plant.example");
            let duty = subjects("duty@zj.example");
            plant.iter().any(|s| s.starts_with("【协同任务】"))
                && plant.iter().any(|s| s.starts_with("【事件报告】II"))
                && duty.iter().any(|s| s.starts_with("[Incident]"))
        },
    );
    assert!(
        !subjects("duty@zj.example")
            .iter()
            .any(|s| s.contains("[Task]")),
        "a task is told to its assignee only"
    );
    assert!(
        subjects("e2@works.example")
            .iter()
            .all(|s| s.starts_with("【威胁通报】")),
        "the machinery plant hears of the bulletin for all, nothing of E1's: {:?}",
        subjects("e2@works.example")
    );

    // The webhook that never answers: dead after three tries, listed for the administrator.
    let mut dead = Value::Null;
    wait_for("the dead letter", Duration::from_secs(30), || {
        let (s, body) = zj.get("/v1/notifications?state=dead", Some(&token("zj-admin")));
        dead = serde_json::from_str(&body).unwrap_or_default();
        s == 200
            && dead["notifications"]
                .as_array()
                .is_some_and(|l| !l.is_empty())
    });
    let row = &dead["notifications"][0];
    assert_eq!(row["account"], "zj-admin");
    assert_eq!(row["channel"], "webhook");
    assert_eq!(row["attempts"], 3);
    assert!(!row["error"].as_str().unwrap_or("").is_empty(), "{row}");
    let (s, _) = zj.get("/v1/notifications", Some(&token("e1-ops")));
    assert_eq!(s, 403, "for administrators");

    // Told once each: restarted, the collector tells nothing again. A new task is told once
    // its first look round is done, and is then the only new message.
    let before = sink.messages().len();
    let mut zj = zj;
    zj.kill();
    zj.start();
    let (s, v) = post(
        &zj,
        &format!("/v1/incidents/{incident}/tasks"),
        "zj-admin",
        &json!({"province": "330000", "enterprise_id": E1,
                "text": "Confirm the PLC programs match the golden copies", "deadline": rfc3339_in(3600)}),
    );
    assert_eq!(s, 201, "{v}");
    wait_for("the second task told", Duration::from_secs(30), || {
        sink.messages().len() > before
    });
    let after = sink.messages();
    assert_eq!(
        after.len(),
        before + 1,
        "nothing told twice: {:?}",
        &after[before..]
    );
    assert!(after[before]["subject"]
        .as_str()
        .unwrap_or("")
        .starts_with("【协同任务】"));
}
