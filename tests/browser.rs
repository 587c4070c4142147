//! The pages in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver) as a user would — typing a name and password, following links, pressing the
//! logout button. The assertions read the page's text, never its pixels; a screenshot of each
//! page is kept under `target/screenshots/` for people to look at.

mod chromium;

use std::process::Command;
use std::time::{Duration, Instant};

use chromium::{
    browser, click_link, fill, log_in, log_out, main_text, shot, text_of, wait_gone, wait_text,
    Driver,
};
use fantoccini::Locator;
use icsight_tests::cluster::{
    account, below, import_registry, national, password_hash, replay_with, Auth, ClickHouse,
    Collector, SensorSpec,
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
        r#"{{"timestamp":"{now}","event_id":"1-1","flow_id":7,"event_type":"alert","src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","dest_port":502,"proto":"TCP","app_proto":"modbus","alert":{{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"<script>document.title='owned'</script>","category":"c","severity":1,"metadata":{{"mitre_attack_ics":["T0855"]}}}},"modbus":{{"transaction_id":7,"function_code":6,"function":"write_single_register","request":{{"address":40001,"value":1234}}}},"sensor":{{"id":"{}","enterprise_id":"{E1}","province":"330000"}}}}"#,
        SENSOR.id,
        now = time_now(),
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
            wait_text(&c, "main h1", "浙江省 · 态势总览").await;
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
            wait_text(&c, "main h1", "Zhejiang · Situation overview").await;
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

/// Now as EVE writes a timestamp: the pages look back 30 days by default.
fn time_now() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%S.000000+0000"])
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Poll `ok` until it holds.
fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within 90 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

const E3: &str = "91440300MA5FXT12X5";

#[test]
fn three_tiers_in_a_browser_map_to_alert_and_a_bulletin_there_and_back() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let ch = ClickHouse::start(dir);
    let pw = password_hash("demo password");
    let person = |name: &str, role: &str, province: &str, enterprise: &str| {
        format!(
            "{}password_argon2 = \"{pw}\"\n",
            account(name, role, province, enterprise)
        )
    };
    let national = national(
        dir,
        &ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}{}",
            person("national-admin", "admin", "", ""),
            person("regulator", "regulator", "", "")
        ),
    );
    let zj = below(
        dir,
        &ch,
        &national,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\n",
        &[],
        &format!(
            "[[collectors]]\nid = \"e1\"\nprovince = \"330000\"\nenterprise_id = \"{E1}\"\n{}",
            person("zj-analyst", "analyst", "330000", "")
        ),
    );
    let site = below(
        dir,
        &ch,
        &zj,
        "e1",
        &format!("role = \"enterprise\"\nprovince = \"330000\"\nenterprise_id = \"{E1}\"\n"),
        &[SENSOR],
        &person("plant-admin", "admin", "330000", E1),
    );
    let rows = format!("{E1},Hangzhou Refinery,330000,petrochemical,1\n");
    import_registry(&site, &rows);
    import_registry(&zj, &rows);
    import_registry(
        &national,
        &format!("{rows}{E3},Shenzhen Grid,440000,energy,2\n"),
    );

    // The plant's sensor replays an S7 PLC STOP: a critical alert goes up whole.
    let pcaps = root().join("pcaps");
    let sdir = dir.join("sensor");
    let mut child = replay_with(
        &site,
        &SENSOR,
        &sdir,
        &[pcaps.join("s7comm_attack_control.pcap")],
        "",
    );
    let status = child.wait().expect("sensor");
    assert!(status.success(), "sensor replay failed");
    wait_for("the PLC STOP at the national tier", || {
        ch.count("SELECT count() FROM nat.alerts WHERE sid = 9100101") > 0
            && ch.count("SELECT count() FROM nat.tier_rollup_5m") > 0
    });

    let driver = Driver::start();
    let profile = dir.join("chromium");
    let (nat, prov, plant) = (national.url.clone(), zj.url.clone(), site.url.clone());
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let c = browser(&driver, &profile).await;

            // Nation: the map, its table, then down to the alert.
            log_in(&c, &nat, "regulator", "demo password").await;
            text_of(&c, "header nav").await;
            c.goto(&format!("{nat}/?days=366")).await.expect("goto");
            let page = main_text(&c, "div.chart.map").await;
            assert!(
                page.contains("全国态势") && page.contains("浙江省"),
                "{page}"
            );
            wait_text(&c, "div.chart.map[data-drawn] canvas", "").await;
            shot(&c, "national").await;
            click_link(&c, "浙江省").await;
            wait_text(&c, "main h1", "浙江省 · 态势总览").await;
            shot(&c, "national-province").await;
            click_link(&c, "Hangzhou Refinery").await;
            wait_text(&c, "main h1", "Hangzhou Refinery · 态势总览").await;
            shot(&c, "national-enterprise").await;
            click_link(&c, SENSOR.id).await;
            wait_text(&c, "main h1", "告警查询").await;
            click_link(&c, "ICSIGHT S7COMM PLC stop").await;
            wait_text(&c, "main h1", "告警详情").await;
            let detail = text_of(&c, "main").await;
            for expected in ["plc_stop", "P_PROGRAM", "T0858", "解码的工控报文"] {
                assert!(detail.contains(expected), "{expected} not in {detail}");
            }
            shot(&c, "national-alert").await;
            log_out(&c).await;

            // Nation: an administrator issues a bulletin from the page.
            log_in(&c, &nat, "national-admin", "demo password").await;
            text_of(&c, "header nav").await;
            c.goto(&format!("{nat}/bulletin/new")).await.expect("goto");
            fill(&c, "input[name=title]", "S7 PLC 异常停机预警").await;
            fill(&c, "input[name=industries]", "petrochemical").await;
            fill(&c, "textarea[name=ips]", "203.0.113.7").await;
            fill(&c, "textarea[name=actions]", "核查 PLC 运行模式").await;
            fill(&c, "input[name=deadline]", "12312099").await;
            c.find(Locator::Css("select[name=tlp] option[value=green]"))
                .await
                .expect("TLP:GREEN")
                .click()
                .await
                .expect("choose TLP:GREEN");
            shot(&c, "bulletin-issue").await;
            c.find(Locator::Css("form.issue button[type=submit]"))
                .await
                .expect("issue")
                .click()
                .await
                .expect("submit");
            wait_text(&c, "main h1", "通报详情").await;
            let issued = text_of(&c, "main").await;
            assert!(
                issued.contains("S7 PLC 异常停机预警")
                    && issued.contains(E1)
                    && issued.contains("TLP:GREEN"),
                "{issued}"
            );
            let bid = text_of(&c, "table.fields tbody tr td").await;
            log_out(&c).await;

            // The plant: it arrives; acknowledged, then disposed.
            log_in(&c, &plant, "plant-admin", "demo password").await;
            text_of(&c, "header nav").await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                c.goto(&format!("{plant}/bulletins")).await.expect("goto");
                if text_of(&c, "main").await.contains(&bid) {
                    break;
                }
                assert!(Instant::now() < deadline, "{bid} never reached the plant");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            c.goto(&format!("{plant}/bulletin?id={bid}"))
                .await
                .expect("goto");
            c.find(Locator::Css("form.step button[value=acknowledged]"))
                .await
                .expect("acknowledge")
                .click()
                .await
                .expect("acknowledge");
            // The bulletin's page again, once the acknowledgement is on it.
            wait_gone(&c, "form.step button[value=acknowledged]").await;
            wait_text(&c, "main h1", "通报详情").await;
            fill(&c, "form.step input[name=note]", "已核查，PLC 已恢复运行").await;
            c.find(Locator::Css("form.step button[value=disposed]"))
                .await
                .expect("dispose")
                .click()
                .await
                .expect("dispose");
            wait_text(&c, "main h1", "通报详情").await;
            shot(&c, "plant-bulletin").await;

            // The plant reports an incident (事件报告) from the incident desk.
            c.goto(&format!("{plant}/incidents")).await.expect("goto");
            click_link(&c, "上报事件").await;
            wait_text(&c, "main h1", "上报事件").await;
            fill(&c, "input[name=title]", "工程师站感染勒索病毒").await;
            c.find(Locator::Css("select[name=level] option[value=II]"))
                .await
                .expect("grade II")
                .click()
                .await
                .expect("choose grade II");
            fill(&c, "textarea[name=assets]", "10.0.0.2").await;
            fill(&c, "textarea[name=impact]", "2 号线 HMI 中断 40 分钟").await;
            fill(&c, "textarea[name=measures]", "已隔离工程师站").await;
            shot(&c, "incident-report-form").await;
            c.find(Locator::Css("form.report button[type=submit]"))
                .await
                .expect("submit")
                .click()
                .await
                .expect("report");
            wait_text(&c, "main h1", "事件详情").await;
            let reported = text_of(&c, "main").await;
            for expected in [
                "工程师站感染勒索病毒",
                "II 级（重大）",
                "有害程序事件",
                "首报",
                "续报",
            ] {
                assert!(reported.contains(expected), "{expected} not in {reported}");
            }
            let incident_url = c.current_url().await.expect("url");
            let incident_id = incident_url
                .query_pairs()
                .find(|(k, _)| k == "id")
                .map(|(_, v)| v.into_owned())
                .expect("?id=");
            shot(&c, "plant-incident-report").await;
            log_out(&c).await;

            // The nation sees it disposed.
            log_in(&c, &nat, "regulator", "demo password").await;
            text_of(&c, "header nav").await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                c.goto(&format!("{nat}/bulletins")).await.expect("goto");
                let row = text_of(&c, "table.bulletins tbody tr").await;
                // targets, received, acknowledged, disposed: 1 1 1 1
                if row.ends_with("1 1 1 1") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "not disposed at the nation: {row}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            shot(&c, "national-bulletins").await;
            // … and the plant's incident report, graded, at once.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                c.goto(&format!("{nat}/incident?id={incident_id}"))
                    .await
                    .expect("goto");
                let page = text_of(&c, "main").await;
                if page.contains("II 级（重大）") && page.contains("已隔离工程师站") {
                    break;
                }
                assert!(Instant::now() < deadline, "not at the nation: {page}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            shot(&c, "national-incident-report").await;
            c.goto(&format!("{nat}/reports")).await.expect("goto");
            wait_text(&c, "main h1", "态势报告").await;
            log_out(&c).await;

            // Nation: the administrator amends the bulletin from its page (the form comes
            // filled with the current content), then revokes it.
            log_in(&c, &nat, "national-admin", "demo password").await;
            text_of(&c, "header nav").await;
            c.goto(&format!("{nat}/bulletin?id={bid}"))
                .await
                .expect("goto");
            click_link(&c, "修订通报").await;
            wait_text(&c, "main h1", "修订通报").await;
            let filled = c
                .find(Locator::Css("input[name=title]"))
                .await
                .expect("title")
                .prop("value")
                .await
                .expect("value");
            assert_eq!(filled.as_deref(), Some("S7 PLC 异常停机预警"));
            fill(&c, "input[name=title]", "S7 PLC 异常停机预警（更新）").await;
            fill(&c, "textarea[name=change]", "补充攻击源地址").await;
            fill(&c, "textarea[name=ips]", "203.0.113.7 203.0.113.8").await;
            shot(&c, "bulletin-amend").await;
            c.find(Locator::Css("form.issue button[type=submit]"))
                .await
                .expect("amend")
                .click()
                .await
                .expect("submit");
            wait_text(&c, "main h1", "通报详情").await;
            let amended = text_of(&c, "table.fields").await;
            for expected in ["（更新）", "版本 2", "补充攻击源地址"] {
                assert!(amended.contains(expected), "{expected} not in {amended}");
            }
            fill(&c, "form.revoke input[name=change]", "经核实为授权渗透测试").await;
            c.find(Locator::Css("form.revoke button[type=submit]"))
                .await
                .expect("revoke")
                .click()
                .await
                .expect("submit");
            wait_text(&c, "main h1", "通报详情").await;
            let revoked = text_of(&c, "table.fields").await;
            assert!(revoked.contains("已撤销"), "{revoked}");
            assert!(
                c.find(Locator::Css("form.revoke")).await.is_err(),
                "no second revocation offered"
            );
            shot(&c, "bulletin-revoked").await;

            // Emergency coordination: the nation raises the response to II and tasks the
            // plant; the plant reports the result from its task desk; the nation reads it on
            // the incident's timeline.
            c.goto(&format!("{nat}/incident?id={incident_id}"))
                .await
                .expect("goto");
            c.find(Locator::Css(
                "form.response select[name=level] option[value=II]",
            ))
            .await
            .expect("level II")
            .click()
            .await
            .expect("choose II");
            c.find(Locator::Css("form.response button[type=submit]"))
                .await
                .expect("set")
                .click()
                .await
                .expect("submit");
            wait_text(&c, "td.response", "II 级（重大）").await;
            c.find(Locator::Css(&format!(
                "form.task select[name=assignee] option[value='330000/{E1}']"
            )))
            .await
            .expect("the plant as assignee")
            .click()
            .await
            .expect("choose the plant");
            fill(
                &c,
                "form.task textarea[name=text]",
                "提取工程师站镜像并上报样本哈希",
            )
            .await;
            c.find(Locator::Css("form.task button[type=submit]"))
                .await
                .expect("assign")
                .click()
                .await
                .expect("submit");
            wait_text(&c, "main h1", "事件详情").await;
            let tl = text_of(&c, "table.timeline").await;
            assert!(
                tl.contains("提取工程师站镜像") && tl.contains("已下达"),
                "{tl}"
            );
            shot(&c, "incident-coordination").await;
            log_out(&c).await;

            log_in(&c, &plant, "plant-admin", "demo password").await;
            text_of(&c, "header nav").await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                c.goto(&format!("{plant}/tasks")).await.expect("goto");
                if text_of(&c, "main").await.contains("提取工程师站镜像") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the task never reached the plant"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            fill(
                &c,
                "form.task-move input[name=result]",
                "镜像已提取，样本哈希已上报",
            )
            .await;
            c.find(Locator::Css("form.task-move button[value=done]"))
                .await
                .expect("done")
                .click()
                .await
                .expect("submit");
            wait_text(&c, "main h1", "事件详情").await;
            shot(&c, "plant-task-done").await;
            log_out(&c).await;

            log_in(&c, &nat, "regulator", "demo password").await;
            text_of(&c, "header nav").await;
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                c.goto(&format!("{nat}/incident?id={incident_id}"))
                    .await
                    .expect("goto");
                let tl = text_of(&c, "table.timeline").await;
                if tl.contains("镜像已提取，样本哈希已上报") && tl.contains("已办结")
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "the result never reached the nation: {tl}"
                );
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            assert!(
                c.find(Locator::Css("form.task")).await.is_err(),
                "a reader assigns nothing"
            );
            log_out(&c).await;

            // The province: another province's page is not found, and the attempt recorded.
            log_in(&c, &prov, "zj-analyst", "demo password").await;
            text_of(&c, "header nav").await;
            wait_text(&c, "main h1", "浙江省 · 态势总览").await;
            c.goto(&format!("{prov}/?province=440000"))
                .await
                .expect("goto");
            wait_text(&c, "main h1", "未找到").await;
            shot(&c, "province-not-found").await;
            log_out(&c).await;
            c.goto(&format!("{prov}/")).await.expect("goto");
            text_of(&c, "body.login").await;
            c.close().await.expect("close");
        });
    wait_for("the refusal audited", || {
        ch.count(
            "SELECT count() FROM zj.audit WHERE actor = 'zj-analyst' \
             AND action = 'web.overview' AND outcome = 'not_found'",
        ) == 1
    });
}
