//! Situation reports, end to end: a province's daily report over the bundled attack captures
//! prints to a PDF whose Chinese headings and figures are the query API's for the same day,
//! stays as issued, and reaches the national tier, which prints its own PDF from the page.

use std::process::Command;
use std::time::{Duration, Instant};

use icsight_tests::cluster::{
    account, account_token as token, below, import_registry, national, replay_with, Auth,
    ClickHouse, Collector, SensorSpec,
};
use icsight_tests::root;
use serde_json::Value;

const E1: &str = "91330100MA27XY1235";
const S1: SensorSpec = SensorSpec {
    id: "zj-e1-s1",
    enterprise_id: E1,
    province: "330000",
    industry: "petrochemical",
    grade: 1,
    auth: Auth::Token,
};
/// The Beijing day the attack captures were recorded.
const DAY: &str = "2026-11-22";

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within 90 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn get(c: &Collector, path: &str, who: &str) -> (u16, String) {
    c.get(path, Some(&token(who)))
}

fn json(c: &Collector, path: &str, who: &str) -> Value {
    let (s, body) = get(c, path, who);
    assert_eq!(s, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
}

/// Fetch `path` to a file; its status.
fn fetch(c: &Collector, path: &str, who: &str, out: &std::path::Path) -> u16 {
    let o = Command::new("curl")
        .args(["-sS", "-w", "%{http_code}", "--cacert"])
        .arg(c.ca())
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", token(who)))
        .arg("-o")
        .arg(out)
        .arg(format!("{}{path}", c.url))
        .output()
        .expect("curl");
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

fn pdftotext(pdf: &std::path::Path) -> String {
    let out = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (Debian poppler-utils; scripts/setup.sh installs it)");
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn grouped(n: u64) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[test]
fn a_daily_report_prints_the_apis_figures_in_chinese_and_goes_up() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let ch = ClickHouse::start(dir);
    let national = national(
        dir,
        &ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}",
            account("regulator", "regulator", "", "")
        ),
    );
    let zj = below(
        dir,
        &ch,
        &national,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\n",
        &[S1],
        &format!(
            "{}{}",
            account("zj-analyst", "analyst", "330000", ""),
            account("e2-analyst", "analyst", "330000", "91330200MA2AB3CD4G")
        ),
    );
    import_registry(
        &zj,
        &format!("{E1},Hangzhou Refinery,330000,petrochemical,1\n"),
    );
    let pcaps = root().join("pcaps");
    let status = replay_with(
        &zj,
        &S1,
        &dir.join("sensor"),
        &[
            pcaps.join("modbus_attack_writes.pcap"),
            pcaps.join("s7comm_attack_control.pcap"),
        ],
        "",
    )
    .wait()
    .expect("sensor");
    assert!(status.success());
    wait_for("the alerts stored and rolled up", || {
        let n = ch.count("SELECT count() FROM zj.alerts");
        n > 0 && ch.count("SELECT sum(alerts) FROM zj.alerts_5m") == n
    });

    // The province reports its registry up from memory: once the nation has E1, the
    // province's reload has it too.
    wait_for("E1 reported to the nation", || {
        ch.count("SELECT count() FROM (SELECT enterprise_id FROM nat.enterprises FINAL)") == 1
    });
    // The day's figures as the report has them, and as the query API counts them.
    let base = format!("/v1/reports?period=daily&date={DAY}");
    let r = json(&zj, &format!("{base}&format=json"), "zj-analyst");
    let (from, to) = (
        r["from"].as_str().expect("from"),
        r["to"].as_str().expect("to"),
    );
    assert_eq!(from, "2026-11-21T16:00:00.000000Z", "midnight in Beijing");
    let figures = &r["figures"];
    let alerts = figures["alerts"].as_u64().expect("alerts");
    let rollup = json(
        &zj,
        &format!("/v1/rollup?from={from}&to=2026-11-22T15:59:59Z&step=5m&by=severity"),
        "zj-analyst",
    );
    let by_severity = |sev: &str| -> u64 {
        rollup["series"]
            .as_array()
            .expect("series")
            .iter()
            .filter(|s| sev.is_empty() || s["key"] == sev)
            .flat_map(|s| s["points"].as_array().cloned().unwrap_or_default())
            .map(|p| p["alerts"].as_u64().unwrap_or(0))
            .sum()
    };
    assert!(alerts > 0);
    assert_eq!(alerts, by_severity(""), "the report's alerts are the API's");
    assert_eq!(figures["critical"].as_u64(), Some(by_severity("1")));
    let open = json(&zj, "/v1/incidents?state=open", "zj-analyst")["incidents"]
        .as_array()
        .expect("incidents")
        .len() as u64;
    let bands: u64 = figures["incidents"]["open_by_band"]
        .as_array()
        .expect("bands")
        .iter()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(bands, open, "open incidents are the API's");
    let _ = to;

    // The PDF, in Chinese, with those figures.
    let pdf = dir.join("report.pdf");
    assert_eq!(
        fetch(&zj, &format!("{base}&format=pdf"), "zj-analyst", &pdf),
        200
    );
    assert!(std::fs::read(&pdf).expect("pdf").starts_with(b"%PDF"));
    let text = pdftotext(&pdf);
    for expected in [
        "浙江省 · 网络安全态势报告 · 日报".to_owned(),
        "一、总体情况".to_owned(),
        "二、风险排名".to_owned(),
        "Hangzhou Refinery".to_owned(),
        format!("本期共监测到告警 {} 条", grouped(alerts)),
        format!("其中严重告警 {} 条", grouped(by_severity("1"))),
        format!("目前未关闭 {} 起", grouped(open)),
    ] {
        assert!(
            text.contains(&expected),
            "{expected:?} not in the PDF:\n{text}"
        );
    }

    // As issued: asked again, the same report, whatever arrived since.
    let id = r["report_id"].as_str().expect("id").to_owned();
    let again = json(&zj, &format!("{base}&format=json"), "zj-analyst");
    assert_eq!(again["report_id"], id.as_str());
    assert_eq!(again["figures"], r["figures"]);
    let (s, first) = get(&zj, &format!("/v1/reports?id={id}"), "zj-analyst");
    assert_eq!(s, 200);
    assert_eq!(
        get(&zj, &format!("/v1/reports?id={id}"), "zj-analyst").1,
        first
    );

    // Refusals name the parameter; an analyst of another enterprise does not see it.
    assert_eq!(get(&zj, "/v1/reports?period=hourly", "zj-analyst").0, 400);
    assert_eq!(
        get(
            &zj,
            "/v1/reports?period=daily&date=2099-01-01",
            "zj-analyst"
        )
        .0,
        409
    );
    assert_eq!(
        get(&zj, &format!("/v1/reports?id={id}"), "e2-analyst").0,
        404
    );
    assert!(!get(&zj, "/v1/reports", "e2-analyst").1.contains(&id));

    // Up a tier: the nation lists it and prints its own PDF from the same page.
    wait_for("the report at the national tier", || {
        get(&national, "/v1/reports", "regulator").1.contains(&id)
    });
    let national_pdf = dir.join("national.pdf");
    assert_eq!(
        fetch(
            &national,
            &format!("/v1/reports?id={id}&format=pdf"),
            "regulator",
            &national_pdf
        ),
        200
    );
    let text = pdftotext(&national_pdf);
    assert!(
        text.contains(&format!("本期共监测到告警 {} 条", grouped(alerts))),
        "{text}"
    );
}
