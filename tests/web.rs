//! The collector's pages, over real HTTPS with curl as the browser: login with the API's
//! accounts, cookies and CSRF as promised, the strict Content-Security-Policy, Chinese by
//! default and English on request with no label left untranslated, what an account may see
//! and no more, a sensor's `<script>` shown as text, and a logout that ends the session.

use std::collections::BTreeSet;
use std::path::Path;

use icsight_tests::cluster::{
    account, account_token, collector, password_hash, Auth, ClickHouse, Collector, SensorSpec,
};
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

/// curl with the cookie jar `jar`, headers included: (status, headers and body).
fn browse(c: &Collector, jar: &Path, args: &[&str]) -> (u16, String) {
    let mut all: Vec<String> = vec![
        "-i".into(),
        "-b".into(),
        jar.display().to_string(),
        "-c".into(),
        jar.display().to_string(),
    ];
    all.extend(args.iter().map(|a| (*a).to_owned()));
    c.curl(&all)
}

fn url(c: &Collector, path: &str) -> String {
    format!("{}{path}", c.url)
}

/// The CSRF token of the page's first form.
fn csrf(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form with a CSRF token")
        .to_owned()
}

/// Log in as `name` through the form: the answer to the POST.
fn log_in(c: &Collector, jar: &Path, name: &str, password: &str) -> (u16, String) {
    let (_, form) = browse(c, jar, &[&url(c, "/login")]);
    browse(
        c,
        jar,
        &[
            &url(c, "/login"),
            "--data-urlencode",
            &format!("name={name}"),
            "--data-urlencode",
            &format!("password={password}"),
            "--data-urlencode",
            &format!("csrf={}", csrf(&form)),
        ],
    )
}

/// Catalogue keys (`snake_case` names of `dashboards/i18n/en.toml`) that show on a page: a
/// label nobody translated.
fn untranslated(page: &str) -> Vec<String> {
    let keys: BTreeSet<String> = std::fs::read_to_string(root().join("dashboards/i18n/en.toml"))
        .expect("en.toml")
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim().to_owned()))
        .filter(|k| k.contains('_'))
        .collect();
    keys.into_iter()
        .filter(|k| page.contains(k.as_str()))
        .collect()
}

#[test]
fn pages_log_in_show_the_scope_in_either_language_and_escape_what_sensors_send() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let accounts = format!(
        "[tier]\nregistry_refresh_s = 1\n\
         [[accounts]]\nname = \"zj\"\nrole = \"analyst\"\nprovince = \"330000\"\npassword_argon2 = \"{}\"\n\
         [[accounts]]\nname = \"gd\"\nrole = \"analyst\"\nprovince = \"440000\"\npassword_argon2 = \"{}\"\n{}",
        password_hash("zhejiang password"),
        password_hash("guangdong password"),
        account("zj-admin", "admin", "330000", ""),
    );
    let c = Collector::build(
        tmp.path(),
        "collector",
        &ch,
        "web",
        &[SENSOR],
        "",
        &accounts,
    );
    let jar = tmp.path().join("zj.cookies");

    // Not signed in: to the login page, in Chinese, under a strict policy.
    let (s, answer) = browse(&c, &jar, &[&url(&c, "/sensors")]);
    assert_eq!(s, 303, "{answer}");
    assert!(answer.contains("location: /login"), "{answer}");
    let (s, form) = browse(&c, &jar, &[&url(&c, "/login")]);
    assert_eq!(s, 200, "{form}");
    let lower = form.to_ascii_lowercase();
    assert!(
        lower.contains(
            "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'"
        ),
        "{form}"
    );
    assert!(lower.contains("x-frame-options: deny"), "{form}");
    assert!(
        form.contains("<html lang=\"zh-CN\">") && form.contains("用户名"),
        "{form}"
    );
    assert!(
        lower.contains("set-cookie: icsight_login=")
            && lower.contains("httponly; secure; samesite=strict"),
        "{form}"
    );

    // A form posted without its cookie (another site's page): refused.
    let (s, answer) = c.curl(&[
        url(&c, "/login"),
        "--data-urlencode".into(),
        "name=zj".into(),
        "--data-urlencode".into(),
        "password=zhejiang password".into(),
        "--data-urlencode".into(),
        format!("csrf={}", csrf(&form)),
    ]);
    assert_eq!(s, 403, "{answer}");
    assert!(answer.contains("页面已过期"), "{answer}");
    // A wrong password: the form again, saying so.
    let (s, answer) = log_in(&c, &jar, "zj", "wrong");
    assert_eq!(s, 401, "{answer}");
    assert!(answer.contains("用户名或密码错误"), "{answer}");
    // The right one: a session cookie as promised, and the overview.
    let (s, answer) = log_in(&c, &jar, "zj", "zhejiang password");
    assert_eq!(s, 303, "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("set-cookie: icsight_session=")
            && lower.contains("httponly; secure; samesite=strict; max-age="),
        "{answer}"
    );

    // A sensor's alert whose signature is a script: an incident at this grade-1 plant.
    let (_, _, token_file) = c.credentials(SENSOR.id);
    let line = format!(
        r#"{{"timestamp":"2026-11-21T17:41:00.765135+0000","event_id":"1-1","flow_id":7,"event_type":"alert","src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","dest_port":502,"proto":"TCP","app_proto":"modbus","alert":{{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"<script>alert(1)</script>","category":"c","severity":1,"metadata":{{"mitre_attack_ics":["T0855"]}}}},"modbus":{{"transaction_id":7,"function_code":6,"function":"write_single_register","request":{{"address":40001,"value":1234}}}},"sensor":{{"id":"{}","enterprise_id":"{E1}","province":"330000"}}}}"#,
        SENSOR.id
    );
    let token = std::fs::read_to_string(token_file).expect("token");
    let (s, body) = c.curl(&[
        url(&c, "/v1/ingest"),
        "-H".into(),
        format!("Authorization: Bearer {}", token.trim()),
        "-H".into(),
        "Content-Type: application/x-ndjson".into(),
        "--data-binary".into(),
        line + "\n",
    ]);
    assert_eq!(s, 200, "{body}");

    let (s, page) = browse(&c, &jar, &[&url(&c, "/incidents")]);
    assert_eq!(s, 200, "{page}");
    assert!(page.contains("安全事件"), "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.contains("<script>"),
        "the signature shows as text: {page}"
    );
    let (_, page) = browse(&c, &jar, &[&url(&c, "/sensors")]);
    assert!(
        page.contains(SENSOR.id) && page.contains("未上线"),
        "{page}"
    );
    assert!(untranslated(&page).is_empty(), "{:?}", untranslated(&page));

    // Drill down: the sensor's alerts, one alert with its decoded transaction and technique.
    let (s, page) = browse(
        &c,
        &jar,
        &[&url(&c, &format!("/alerts?sensor={}", SENSOR.id))],
    );
    assert_eq!(s, 200, "{page}");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    let link = format!("/alert?sensor={}&amp;id=1-1", SENSOR.id);
    assert!(page.contains(&link), "{link} not in {page}");
    let (s, page) = browse(
        &c,
        &jar,
        &[&url(&c, &format!("/alert?sensor={}&id=1-1", SENSOR.id))],
    );
    assert_eq!(s, 200, "{page}");
    for expected in [
        "T0855 未授权命令消息",
        "write_single_register",
        "40001",
        "解码的工控报文",
    ] {
        assert!(page.contains(expected), "{expected} not in {page}");
    }
    assert!(!page.contains("<script>"), "{page}");
    let (s, csv) = browse(
        &c,
        &jar,
        &[&url(&c, &format!("/alerts.csv?sensor={}", SENSOR.id))],
    );
    assert_eq!(s, 200, "{csv}");
    assert!(
        csv.to_ascii_lowercase().contains("content-type: text/csv")
            && csv.contains("\ntimestamp,event_id,sensor_id"),
        "{csv}"
    );

    // English on request, every label.
    for path in [
        "/",
        "/sensors",
        "/incidents",
        "/assets",
        "/alerts",
        "/bulletins",
        "/reports",
        "/incident/new",
        "/tasks",
        "/hazards",
        "/registry",
    ] {
        let (s, page) = browse(&c, &jar, &[&url(&c, &format!("{path}?lang=en"))]);
        assert_eq!(s, 200, "{page}");
        assert!(page.contains("<html lang=\"en\">"), "{page}");
        assert!(
            untranslated(&page).is_empty(),
            "{path}: {:?}",
            untranslated(&page)
        );
        let han = page
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or("")
            .chars()
            .filter(|ch| ('\u{4e00}'..='\u{9fff}').contains(ch))
            .collect::<String>();
        assert_eq!(han, "中文", "{path}: only the switch back is Chinese");
    }
    let (_, page) = browse(&c, &jar, &[&url(&c, "/")]);
    assert!(
        page.contains("Situation overview"),
        "the choice is remembered: {page}"
    );

    // Guangdong's analyst sees neither Zhejiang's sensor nor its incident nor its alert;
    // typing the alert's address is "not found", and audited.
    let gd_jar = tmp.path().join("gd.cookies");
    assert_eq!(log_in(&c, &gd_jar, "gd", "guangdong password").0, 303);
    let (s, page) = browse(
        &c,
        &gd_jar,
        &[&url(&c, &format!("/alert?sensor={}&id=1-1", SENSOR.id))],
    );
    assert_eq!(s, 404, "{page}");
    assert!(
        page.contains("不在您的权限范围内") && !page.contains("alert(1)"),
        "{page}"
    );
    let audited = || {
        ch.count(
            "SELECT count() FROM web.audit WHERE actor = 'gd' AND action = 'web.alert' \
             AND outcome = 'not_found'",
        )
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while audited() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the attempt was not audited"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for path in ["/", "/sensors", "/incidents", "/alerts"] {
        let (s, page) = browse(&c, &gd_jar, &[&url(&c, path)]);
        assert_eq!(s, 200, "{page}");
        assert!(
            !page.contains(SENSOR.id) && !page.contains("alert(1)"),
            "{path}: {page}"
        );
    }

    // The bulletin desk: a bulletin the province's admin issued, acknowledged and disposed of
    // from the page; Guangdong's analyst cannot even find it.
    let csv = c.dir.join("registry.csv");
    std::fs::write(
        &csv,
        format!(
            "enterprise_id,name,province,industry,grade\n{E1},Hangzhou Works,330000,energy,1\n"
        ),
    )
    .expect("registry");
    collector(&[
        "registry",
        "import",
        "--config",
        c.config.to_str().expect("UTF-8"),
        csv.to_str().expect("UTF-8"),
    ]);
    let issue = r#"{"title":"S7 campaign <b>","severity":1,"deadline":"2099-01-01T00:00:00Z","scope":{"provinces":["330000"]}}"#;
    let mut issued = (0, String::new());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while issued.0 != 201 {
        assert!(
            std::time::Instant::now() < deadline,
            "not issued: {issued:?}"
        );
        issued = c.post_json("/v1/bulletins", &account_token("zj-admin"), issue);
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let id = issued
        .1
        .split("\"bulletin_id\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("id")
        .to_owned();
    let (s, page) = browse(&c, &jar, &[&url(&c, "/bulletins")]);
    assert_eq!(s, 200, "{page}");
    assert!(
        page.contains(&id) && page.contains("S7 campaign &lt;b&gt;"),
        "{page}"
    );
    let (_, page) = browse(
        &c,
        &jar,
        &[&url(&c, &format!("/bulletin?id={id}&lang=zh-CN"))],
    );
    assert!(page.contains("确认收到") && page.contains(E1), "{page}");
    let token = csrf(&page);
    let step = |state: &str, csrf: &str| {
        browse(
            &c,
            &jar,
            &[
                &url(&c, "/bulletin/step"),
                "--data-urlencode",
                &format!("csrf={csrf}"),
                "--data-urlencode",
                &format!("id={id}"),
                "--data-urlencode",
                &format!("enterprise_id={E1}"),
                "--data-urlencode",
                &format!("state={state}"),
                "--data-urlencode",
                "note=boundary rule in place",
            ],
        )
    };
    assert_eq!(step("acknowledged", "forged").0, 403, "a forged form");
    let (s, answer) = browse(
        &c,
        &jar,
        &[&url(&c, "/bulletin/step"), "-d", &format!("csrf={token}")],
    );
    assert_eq!(s, 400, "a form missing its fields: {answer}");
    let stranger = tmp.path().join("stranger.cookies");
    let (s, answer) = browse(
        &c,
        &stranger,
        &[
            &url(&c, "/bulletin/step"),
            "-d",
            &format!("csrf={token}&id={id}&enterprise_id={E1}&state=disposed"),
        ],
    );
    assert_eq!(s, 303, "no session: to the login, {answer}");
    assert!(answer.contains("location: /login"), "{answer}");
    assert_eq!(step("acknowledged", &token).0, 303);
    let (_, page) = browse(
        &c,
        &jar,
        &[&url(&c, &format!("/bulletin?id={id}&lang=zh-CN"))],
    );
    assert!(
        !page.contains("确认收到") && page.contains("处置完成"),
        "acknowledged: {page}"
    );
    assert_eq!(step("disposed", &token).0, 303);
    let (_, v) = c.get(
        &format!("/v1/bulletins/{id}"),
        Some(&account_token("zj-admin")),
    );
    assert!(
        v.contains("\"acknowledged\":\"2") && v.contains("\"disposed\":\"2"),
        "the API sees the page's steps: {v}"
    );
    let gd_jar = tmp.path().join("gd.cookies");
    let (s, page) = browse(&c, &gd_jar, &[&url(&c, &format!("/bulletin?id={id}"))]);
    assert_eq!(s, 404, "{page}");

    // Logout wants the session's CSRF token, then ends the session.
    let (_, page) = browse(&c, &jar, &[&url(&c, "/")]);
    let (s, _) = browse(&c, &jar, &[&url(&c, "/logout"), "-d", "csrf=forged"]);
    assert_eq!(s, 403);
    let (s, answer) = browse(
        &c,
        &jar,
        &[&url(&c, "/logout"), "-d", &format!("csrf={}", csrf(&page))],
    );
    assert_eq!(s, 303, "{answer}");
    let (s, _) = browse(&c, &jar, &[&url(&c, "/")]);
    assert_eq!(s, 303, "signed out");
}
