//! Exposure end to end, over two tiers with real collectors, ClickHouse and a sensor: CISA's
//! advisories are imported at the province; the plant's sensor identifies its S7 CPU
//! (6ES7 315-2EH14-0AB0, firmware V3.2.6) on the wire and the province's register finds the
//! advisories it falls under; the plant assigns one, an inspector's finding joins the register,
//! a deadline passes and the hazard shows overdue at the province and the nation; then the same
//! CPU is seen with firmware V3.2.17 (the capture edited to report it, a day later) and the
//! hazards whose ranges end at or below V3.2.17 are verified by the matcher, while those for
//! every version stay open.

#[allow(dead_code)]
mod chromium;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use chromium::{browser, log_in, log_out, main_text, shot, text_of, wait_text, Driver};
use fantoccini::Locator;
use icsight_tests::cluster::{
    account, account_token as token, below, collector, get_json, import_registry, national,
    password_hash, post, wait_for, Auth, ClickHouse, Collector, SensorSpec,
};
use icsight_tests::{root, sensor_bin};
use serde_json::{json, Value};

const E1: &str = "91330100MA27XY1235"; // Zhejiang, energy, grade 1
/// Zhejiang, entered by hand in the browser test.
const E2: &str = "91330200MA2AXY1232";

const S1: SensorSpec = SensorSpec {
    id: "zj-e1-s1",
    enterprise_id: E1,
    province: "330000",
    industry: "energy",
    grade: 1,
    auth: Auth::Token,
};

fn advisories() -> PathBuf {
    std::env::var_os("ICSIGHT_SHARED_ADVISORIES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/advisories/cisa-csaf-ot"))
}

/// The S7 capture with its packets a day later and the CPU's firmware (SZL 0x0011 index 7,
/// `V` and three bytes) changed from V3.2.6 to `V3.2.{patch}`.
fn edited_capture(dir: &Path, patch: u8) -> PathBuf {
    let mut d = std::fs::read(root().join("pcaps/s7comm_snap7.pcap")).expect("capture");
    assert_eq!(&d[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "a little-endian pcap");
    let mut at = 24;
    while at + 16 <= d.len() {
        let sec = u32::from_le_bytes(d[at..at + 4].try_into().unwrap()) + 86_400;
        d[at..at + 4].copy_from_slice(&sec.to_le_bytes());
        let len = u32::from_le_bytes(d[at + 8..at + 12].try_into().unwrap()) as usize;
        let data = at + 16..(at + 16 + len).min(d.len());
        let body = &mut d[data];
        for i in 0..body.len().saturating_sub(3) {
            if body[i..i + 4] == *b"V\x03\x02\x06" {
                body[i + 3] = patch;
            }
        }
        at += 16 + len;
    }
    let out = dir.join(format!("s7-v3.2.{patch}.pcap"));
    std::fs::write(&out, d).expect("edited capture");
    out
}

/// Replay `pcap` as the plant's sensor, judged against `baseline` so the asset inventory's
/// changes (the CPU's identity among them) are events, sent up to `zj`.
fn replay(zj: &Collector, dir: &Path, baseline: &Path, pcap: &Path) {
    let config = zj.sensor_config(&S1, dir, "segment_seconds = 0.2\n");
    let status = Command::new(sensor_bin())
        .args(["replay", "--no-progress", "--config"])
        .arg(&config)
        .arg("--baseline")
        .arg(baseline)
        .arg("--eve")
        .arg(dir.join("eve.json"))
        .arg(pcap)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr.log")).expect("log"))
        .status()
        .expect("sensor");
    assert!(status.success(), "sensor replay of {}", pcap.display());
}

/// The plant's sensor, judging against a baseline learned from Modbus polling (so the
/// inventory's changes are events), replays the S7 capture up to `zj`: its directory and
/// baseline.
fn sensor_sees_the_cpu(zj: &Collector, tmp: &Path) -> (PathBuf, PathBuf) {
    let sensor = tmp.join("sensor");
    std::fs::create_dir_all(&sensor).unwrap();
    let baseline = sensor.join("baseline.json");
    let learned = Command::new(sensor_bin())
        .args(["learn", "--fresh", "--no-progress", "--out"])
        .arg(&baseline)
        .arg(root().join("pcaps/modbus_normal_polling.pcap"))
        .status()
        .expect("learn");
    assert!(learned.success());
    replay(
        zj,
        &sensor,
        &baseline,
        &root().join("pcaps/s7comm_snap7.pcap"),
    );
    (sensor, baseline)
}

fn hazards(c: &Collector, query: &str, who: &str) -> Vec<Value> {
    get_json(c, &format!("/v1/hazards?{query}"), who)["hazards"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn of<'a>(list: &'a [Value], advisory: &str) -> Option<&'a Value> {
    list.iter().find(|h| h["advisory_id"] == advisory)
}

#[test]
fn advisories_become_hazards_that_are_remediated_and_verified_by_the_wire() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let nation = national(
        tmp.path(),
        &ch,
        "registry_refresh_s = 1\n",
        &format!(
            "[[collectors]]\nid = \"zj\"\nprovince = \"330000\"\n{}",
            account("regulator", "regulator", "", ""),
        ),
    );
    // CISA's catalogue of known exploited vulnerabilities, in its format, naming one CVE.
    let kev = tmp.path().join("kev.json");
    std::fs::write(
        &kev,
        json!({"title": "CISA Catalog of Known Exploited Vulnerabilities",
               "vulnerabilities": [{"cveID": "CVE-2019-6568", "vendorProject": "Siemens"}]})
        .to_string(),
    )
    .unwrap();
    let zj = below(
        tmp.path(),
        &ch,
        &nation,
        "zj",
        "role = \"provincial\"\nprovince = \"330000\"\n",
        &[S1],
        &format!(
            "[hazards]\nscan_interval_s = 1\nkev_file = \"{}\"\n{}{}{}",
            kev.display(),
            account("zj-inspector", "analyst", "330000", ""),
            account("e1-eng", "analyst", "330000", E1),
            account("e2-eng", "analyst", "330000", E2),
        ),
    );
    import_registry(&zj, &format!("{E1},Hangzhou Power,330000,energy,1\n"));

    // CISA's advisories, imported at the province: every document read or refused by name.
    let out = collector(&[
        "advisories",
        "import",
        "--config",
        zj.config.to_str().unwrap(),
        advisories().to_str().unwrap(),
    ]);
    eprintln!("{out}");
    let imported: u64 = out
        .split(": ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the import's count: {out}"));
    assert!(imported >= 2379, "{out}");
    let listed = get_json(&zj, "/v1/advisories?cve=CVE-2019-6568", "zj-inspector");
    assert!(
        (listed["advisories"].as_array().unwrap().iter())
            .any(|a| a["advisory_id"] == "ICSA-19-099-06"),
        "{listed}"
    );

    // The plant's sensor sees its S7 CPU at V3.2.6.
    let (sensor, baseline) = sensor_sees_the_cpu(&zj, tmp.path());

    let mut found = Vec::new();
    wait_for(
        "hazards found at the province",
        Duration::from_secs(60),
        || {
            found = hazards(&zj, &format!("enterprise={E1}&limit=1000"), "zj-inspector");
            of(&found, "ICSA-19-099-06").is_some() && of(&found, "ICSA-20-315-04").is_some()
        },
    );
    let h = of(&found, "ICSA-19-099-06").unwrap();
    assert_eq!(h["confidence"], "exact", "{h}");
    assert_eq!(h["state"], "found");
    assert_eq!(h["asset"]["firmware"], "V3.2.6");
    assert!(
        h["cves"]
            .as_array()
            .unwrap()
            .contains(&json!("CVE-2019-6568")),
        "{h}"
    );
    assert!(
        h["why"].as_str().unwrap().contains("6ES7315-2EH14-0AB0"),
        "{h}"
    );
    assert_eq!(
        of(&found, "ICSA-20-315-04").unwrap()["confidence"],
        "family"
    );
    assert!(
        of(&found, "ICSA-19-036-04").is_none(),
        "an S7-1500 advisory"
    );
    let id = h["hazard_id"].as_str().unwrap().to_owned();

    // The asset list shows the CPU with its hazards.
    let assets = get_json(
        &zj,
        &format!("/v1/assets?enterprise={E1}&hazard=true"),
        "e1-eng",
    );
    let cpu = &assets["assets"][0];
    assert_eq!(
        cpu["identity"]["product"], "6ES7 315-2EH14-0AB0",
        "{assets}"
    );
    assert!(cpu["hazards"]["open"].as_u64().unwrap() >= 10, "{cpu}");

    // The device's page: its record, its flows and alerts, its hazards.
    let page = get_json(&zj, &format!("/v1/assets/{E1}/127.0.0.1"), "e1-eng");
    assert_eq!(page["asset"]["identity"]["firmware"], "V3.2.6", "{page}");
    assert!(page["hazards"].as_array().unwrap().len() >= 10);
    let (s, _) = zj.get(
        &format!("/v1/assets/{E1}/127.0.0.1"),
        Some(&token("e2-eng")),
    );
    assert_eq!(s, 404, "another plant's device is not found");

    // The plant assigns it, due in a few seconds; it cannot verify its own hazard, and another
    // plant does not see it.
    let soon = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3;
    let (s, v) = post(
        &zj,
        &format!("/v1/hazards/{id}"),
        "e1-eng",
        &json!({"state": "assigned", "assignee": "Li Wei, automation", "deadline": soon}),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["state"], "assigned");
    let (s, _) = post(
        &zj,
        &format!("/v1/hazards/{id}"),
        "e1-eng",
        &json!({"state": "verified", "note": "done"}),
    );
    assert_eq!(s, 403, "a plant verifies nothing itself");
    let (s, _) = zj.get(&format!("/v1/hazards/{id}"), Some(&token("e2-eng")));
    assert_eq!(s, 404, "another plant's hazard is not found");
    let (s, v) = post(
        &zj,
        &format!("/v1/hazards/{id}"),
        "e1-eng",
        &json!({"state": "remediated"}),
    );
    assert_eq!(s, 400, "a remediation says what was done: {v}");

    // An inspector's finding joins the register.
    let (s, f) = post(
        &zj,
        "/v1/hazards",
        "zj-inspector",
        &json!({"enterprise_id": E1, "ip": "10.20.0.8", "cvss": 8.1,
                "title": "Engineering station reachable by remote desktop from the office network",
                "evidence": "RDP (3389/tcp) open from 10.1.0.0/16, seen on site 2026-12-01"}),
    );
    assert_eq!(s, 201, "{f}");
    assert_eq!(f["kind"], "inspection");
    let (s, _) = post(
        &zj,
        "/v1/hazards",
        "e1-eng",
        &json!({"enterprise_id": E1, "title": "x", "evidence": "y"}),
    );
    assert_eq!(s, 403, "findings are an inspector's");

    // Past its deadline: overdue at the province and, reported up, at the nation.
    wait_for(
        "the assigned hazard overdue at the nation",
        Duration::from_secs(60),
        || {
            let n = hazards(&nation, "overdue=true", "regulator");
            (n.iter()).any(|h| h["hazard_id"] == id.as_str() && h["state"] == "assigned")
        },
    );
    let z = hazards(&zj, "overdue=true", "zj-inspector");
    assert!(z.iter().any(|h| h["hazard_id"] == id.as_str()));
    let counts = &get_json(&nation, "/v1/hazards", "regulator")["counts"];
    let zj_count = (counts["by_province"].as_array().unwrap().iter())
        .find(|c| c["key"] == "330000")
        .cloned()
        .unwrap_or_default();
    assert!(zj_count["overdue"].as_u64().unwrap_or(0) >= 1, "{counts}");
    assert!(zj_count["open"].as_u64().unwrap_or(0) >= 11, "{counts}");

    // The CPU is seen again with firmware V3.2.17: what that fixes is verified by the wire.
    let edited = edited_capture(tmp.path(), 17);
    std::fs::remove_file(sensor.join("eve.json")).ok();
    replay(&zj, &sensor, &baseline, &edited);
    let mut now = Vec::new();
    wait_for(
        "hazards verified by the new firmware",
        Duration::from_secs(60),
        || {
            now = hazards(
                &zj,
                &format!("enterprise={E1}&kind=advisory&limit=1000"),
                "zj-inspector",
            );
            of(&now, "ICSA-19-099-06").is_some_and(|h| h["state"] == "verified")
        },
    );
    for fixed in [
        "ICSA-19-099-06",
        "ICSA-18-079-02",
        "ICSA-19-283-01",
        "ICSA-20-042-05",
        "ICSA-19-043-04",
    ] {
        let h = of(&now, fixed).unwrap_or_else(|| panic!("{fixed} held"));
        assert_eq!(h["state"], "verified", "{fixed}: {h}");
        assert_eq!(h["actor"], "auto");
        assert!(h["note"].as_str().unwrap().contains("V3.2.17"), "{h}");
    }
    for open in ["ICSA-22-104-06", "ICSA-20-105-08", "ICSA-20-315-04"] {
        let h = of(&now, open).unwrap_or_else(|| panic!("{open} held"));
        assert_ne!(h["state"], "verified", "{open} covers V3.2.17: {h}");
        assert_eq!(h["asset"]["firmware"], "V3.2.17");
    }
    // Its history says who did what.
    let one = get_json(&zj, &format!("/v1/hazards/{id}"), "zj-inspector");
    let mut steps: Vec<&str> = (one["history"].as_array().unwrap().iter())
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    // The matcher refreshes a hazard as the identity fills in; the states are what count.
    steps.dedup();
    assert_eq!(steps, ["found", "assigned", "verified"], "{one}");
    // The verification reaches the nation.
    wait_for(
        "the verification at the nation",
        Duration::from_secs(60),
        || {
            (hazards(&nation, "state=verified&limit=1000", "regulator").iter())
                .any(|h| h["hazard_id"] == id.as_str())
        },
    );
    // Every step of people is in the audit trail.
    let audited = ch.count(
        "SELECT count() FROM zj.audit WHERE action IN ('hazard.step', 'hazard.inspect') AND outcome = 'ok'",
    );
    assert!(audited >= 2, "{audited}");
}

/// A CSAF provider served over HTTP by Python's `http.server`: its metadata names a directory
/// whose `changes.csv` lists CISA documents, one with its `.sha512`, one whose `.sha256` does
/// not match, and one that is no JSON. The collector pulls the good ones, refuses the others by
/// address, and takes a document added to the list at its next pull.
#[test]
fn advisories_are_pulled_from_a_csaf_provider() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let port = icsight_tests::cluster::free_port();
    let base = format!("http://127.0.0.1:{port}/.well-known/csaf");
    let white = tmp.path().join("provider/.well-known/csaf/white");
    std::fs::create_dir_all(&white).unwrap();
    std::fs::write(
        white.parent().unwrap().join("provider-metadata.json"),
        json!({"canonical_url": format!("{base}/provider-metadata.json"),
               "distributions": [{"directory_url": format!("{base}/white/")}],
               "metadata_version": "2.0", "role": "csaf_provider"})
        .to_string(),
    )
    .unwrap();
    let copy = |id: &str| {
        let year = format!("20{}", &id[5..7]);
        let name = format!("{}.json", id.to_lowercase());
        let bytes = std::fs::read(advisories().join(&year).join(&name)).expect(id);
        std::fs::create_dir_all(white.join(&year)).unwrap();
        std::fs::write(white.join(&year).join(&name), &bytes).unwrap();
        (format!("{year}/{name}"), bytes)
    };
    let (good, _) = copy("ICSA-19-099-06");
    let out = Command::new("sha512sum")
        .arg(white.join(&good))
        .output()
        .expect("sha512sum");
    std::fs::write(white.join(format!("{good}.sha512")), &out.stdout).unwrap();
    let (tampered, _) = copy("ICSA-20-315-04");
    std::fs::write(
        white.join(format!("{tampered}.sha256")),
        format!("{}  x\n", "0".repeat(64)),
    )
    .unwrap();
    std::fs::create_dir_all(white.join("2021")).unwrap();
    std::fs::write(white.join("2021/broken.json"), b"{ \"document\": ").unwrap();
    let changes = |extra: &str| {
        std::fs::write(
            white.join("changes.csv"),
            format!(
                "\"{good}\",\"2024-06-01T10:00:00Z\"\n\"{tampered}\",\"2024-06-01T10:00:00Z\"\n\
                 \"2021/broken.json\",\"2024-06-01T10:00:00Z\"\n{extra}"
            ),
        )
        .unwrap()
    };
    changes("");
    let mut server = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(tmp.path().join("provider"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 http.server");
    let zj = Collector::build(
        tmp.path(),
        "zj",
        &ch,
        "zj",
        &[],
        "",
        &format!(
            "[tier]\nrole = \"provincial\"\nid = \"zj\"\nprovince = \"330000\"\n\
             [[csaf]]\nname = \"cisa\"\nurl = \"{base}/provider-metadata.json\"\npoll_s = 1\n{}",
            account("zj-inspector", "analyst", "330000", ""),
        ),
    );
    let ids = |c: &Collector| -> Vec<String> {
        (get_json(c, "/v1/advisories?limit=1000", "zj-inspector")["advisories"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|a| a["advisory_id"].as_str().map(str::to_owned))
            .collect()
    };
    wait_for(
        "the provider's good document pulled",
        Duration::from_secs(60),
        || ids(&zj).contains(&"ICSA-19-099-06".to_owned()),
    );
    wait_for("the refusals logged", Duration::from_secs(30), || {
        let log = zj.log();
        log.contains("2021/broken.json") && log.contains("does not match its .sha256")
    });
    assert_eq!(
        ids(&zj),
        ["ICSA-19-099-06"],
        "only the good document is held"
    );

    // A document added to the list comes at the next pull.
    let (added, _) = copy("ICSA-17-129-02");
    changes(&format!("\"{added}\",\"2024-07-01T10:00:00Z\"\n"));
    wait_for("the added document pulled", Duration::from_secs(60), || {
        ids(&zj).contains(&"ICSA-17-129-02".to_owned())
    });
    let _ = server.kill();
    let _ = server.wait();
}

/// The register, an advisory and the registry as people use them, in Chromium: the plant's
/// engineer finds the CPU's hazards from the asset inventory, reads why one matched and what
/// to do, and assigns it; the province's administrator sets the plant's type and scale, reads
/// how its grade is worked out, finds it on the key-enterprise list, and overrides the grade
/// with a reason. Both languages.
#[test]
fn the_register_and_the_registry_in_a_browser() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let pw = password_hash("demo password");
    let person = |name: &str, role: &str, enterprise: &str| {
        format!(
            "{}password_argon2 = \"{pw}\"\n",
            account(name, role, "330000", enterprise)
        )
    };
    let zj = Collector::build(
        tmp.path(),
        "zj",
        &ch,
        "zj",
        &[S1],
        "",
        &format!(
            "[tier]\nrole = \"provincial\"\nid = \"zj\"\nprovince = \"330000\"\nregistry_refresh_s = 1\n\
             [hazards]\nscan_interval_s = 1\n[grading]\nenabled = true\ninterval_s = 1\n{}{}",
            person("zj-admin", "admin", ""),
            person("e1-eng", "analyst", E1),
        ),
    );
    import_registry(&zj, &format!("{E1},Hangzhou Power,330000,energy,3\n"));
    // Three advisories, as a provider's directory would hold them.
    let docs = tmp.path().join("advisories");
    for (year, id) in [
        ("2019", "icsa-19-099-06"),
        ("2020", "icsa-20-315-04"),
        ("2019", "icsa-19-036-04"),
    ] {
        std::fs::create_dir_all(docs.join(year)).unwrap();
        std::fs::copy(
            advisories().join(year).join(format!("{id}.json")),
            docs.join(year).join(format!("{id}.json")),
        )
        .expect(id);
    }
    let out = collector(&[
        "advisories",
        "import",
        "--config",
        zj.config.to_str().unwrap(),
        docs.to_str().unwrap(),
    ]);
    assert!(out.contains("3 advisories imported, 0 refused"), "{out}");
    sensor_sees_the_cpu(&zj, tmp.path());
    wait_for("the CPU's hazards", Duration::from_secs(60), || {
        hazards(&zj, "", "zj-admin").len() == 2
    });

    let driver = Driver::start();
    let base = zj.url.clone();
    let profile = tmp.path().join("chromium");
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let c = browser(&driver, &profile).await;
            log_in(&c, &base, "e1-eng", "demo password").await;
            text_of(&c, "main h1").await;
            // The inventory shows the CPU with its open hazards; the link leads to the register.
            c.goto(&format!("{base}/assets")).await.expect("assets");
            wait_text(&c, "main h1", "资产清单").await;
            let row = text_of(&c, "table.assets tbody tr").await;
            assert!(
                row.contains("6ES7 315-2EH14-0AB0") && row.contains("2 · CVSS"),
                "{row}"
            );
            shot(&c, "exposure-assets").await;
            c.find(Locator::Css("td.hazards a"))
                .await
                .expect("the hazards link")
                .click()
                .await
                .expect("follow");
            wait_text(&c, "main h1", "安全隐患台账").await;
            let register = text_of(&c, "main").await;
            assert!(
                register.contains("按产品统计的暴露设备")
                    && register.contains("精确（订货号与版本）"),
                "{register}"
            );
            assert!(
                !register.contains("S7-1500"),
                "an S7-1500 advisory is no hazard here"
            );
            shot(&c, "exposure-register").await;
            // One hazard: why it matched, what to do; the plant assigns it and cannot verify it.
            c.find(Locator::Css("table.hazards a[href*='hazard?id']"))
                .await
                .expect("a hazard")
                .click()
                .await
                .expect("open");
            wait_text(&c, "main h1", "安全隐患").await;
            let page = main_text(&c, "dd.why").await;
            assert!(
                page.contains("匹配依据") && page.contains("6ES7315-2EH14-0AB0"),
                "{page}"
            );
            assert!(page.contains("整改建议"), "{page}");
            let options = text_of(&c, "form.step select").await;
            assert!(
                options.contains("已分派") && !options.contains("已验证闭环"),
                "{options}"
            );
            c.find(Locator::Css("form.step select"))
                .await
                .unwrap()
                .select_by_value("assigned")
                .await
                .expect("choose");
            chromium::fill(&c, "form.step input[name=assignee]", "Li Wei (automation)").await;
            c.find(Locator::Css("form.step button"))
                .await
                .unwrap()
                .click()
                .await
                .expect("submit");
            wait_text(&c, "dd.state", "已分派").await;
            let history = text_of(&c, "table.history").await;
            assert!(
                history.contains("e1-eng") && history.contains("Li Wei (automation)"),
                "{history}"
            );
            shot(&c, "exposure-hazard").await;
            // The advisory as the matcher reads it.
            c.find(Locator::Css("a[href^='/advisory']"))
                .await
                .expect("advisory link")
                .click()
                .await
                .expect("open");
            let advisory = main_text(&c, "table.products").await;
            assert!(
                advisory.contains("6ES7315-2EH14-0AB0") && advisory.contains("CVE-2019-6568"),
                "{advisory}"
            );
            shot(&c, "exposure-advisory").await;
            log_out(&c).await;

            // The province's administrator: type and scale, the grade explained, the key list.
            log_in(&c, &base, "zj-admin", "demo password").await;
            text_of(&c, "main h1").await;
            c.goto(&format!("{base}/enterprise?id={E1}"))
                .await
                .expect("enterprise");
            wait_text(&c, "main h1", "Hangzhou Power").await;
            c.find(Locator::Css("form.profile select[name=kind]"))
                .await
                .unwrap()
                .select_by_value("infrastructure")
                .await
                .unwrap();
            c.find(Locator::Css("form.profile select[name=scale]"))
                .await
                .unwrap()
                .select_by_value("large")
                .await
                .unwrap();
            c.find(Locator::Css("form.profile button"))
                .await
                .unwrap()
                .click()
                .await
                .expect("save");
            wait_text(&c, "dd.grade", "一级").await;
            let terms = text_of(&c, "table.terms").await;
            for want in [
                "行业",
                "能源",
                "关键信息基础设施运营者",
                "大型",
                "监测到的控制器",
            ] {
                assert!(terms.contains(want), "{want}: {terms}");
            }
            shot(&c, "exposure-grade").await;
            c.goto(&format!("{base}/registry?key=1"))
                .await
                .expect("key list");
            wait_text(&c, "main h1", "重点企业清单").await;
            assert!(text_of(&c, "table.registry")
                .await
                .contains("Hangzhou Power"));
            // An override, with its reason, shown and audited.
            c.goto(&format!("{base}/enterprise?id={E1}"))
                .await
                .expect("enterprise");
            text_of(&c, "form.override").await;
            c.find(Locator::Css("form.override select"))
                .await
                .unwrap()
                .select_by_value("2")
                .await
                .unwrap();
            chromium::fill(
                &c,
                "form.override textarea",
                "Only the back-up boiler is on this site.",
            )
            .await;
            c.find(Locator::Css("form.override button"))
                .await
                .unwrap()
                .click()
                .await
                .expect("override");
            wait_text(&c, "dd.grade", "二级").await;
            let note = text_of(&c, "p.override").await;
            assert!(
                note.contains("zj-admin") && note.contains("back-up boiler"),
                "{note}"
            );
            // A new enterprise entered by hand, graded by the rules at once.
            c.goto(&format!("{base}/registry")).await.expect("registry");
            text_of(&c, "form.new-enterprise").await;
            chromium::fill(&c, "form.new-enterprise input[name=enterprise_id]", E2).await;
            chromium::fill(
                &c,
                "form.new-enterprise input[name=name]",
                "Ningbo Waterworks",
            )
            .await;
            for (field, value) in [("industry", "water"), ("kind", "infrastructure")] {
                c.find(Locator::Css(&format!(
                    "form.new-enterprise select[name={field}]"
                )))
                .await
                .unwrap()
                .select_by_value(value)
                .await
                .unwrap();
            }
            c.find(Locator::Css("form.new-enterprise button"))
                .await
                .unwrap()
                .click()
                .await
                .expect("create");
            wait_text(&c, "main h1", "Ningbo Waterworks").await;
            // water 40 + infrastructure 30 = 70: grade 1.
            wait_text(&c, "dd.grade", "一级").await;
            // In English.
            c.goto(&format!("{base}/hazards?lang=en"))
                .await
                .expect("english");
            wait_text(&c, "main h1", "Hazard register").await;
            shot(&c, "exposure-register-en").await;
            log_out(&c).await;
        });
    let audited = ch.count(
        "SELECT count() FROM zj.audit WHERE action IN ('hazard.step', 'registry.write', 'registry.grade') AND outcome = 'ok'",
    );
    assert_eq!(audited, 4, "the four forms' steps are audited");
}
