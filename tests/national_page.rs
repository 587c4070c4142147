//! The national overview at the scale it is planned for, timed by the browser that shows it:
//! 100,150 enterprises and key platforms registered in 31 provinces, 10 M alerts of the last
//! 30 days reported to the national tier as 5-minute roll-ups (every alert its own roll-up
//! row — the most rows 10 M alerts can make), 2,000 open incidents and a bulletin to every
//! energy enterprise.
//!
//! For each page — the nation over the default 24 hours, 7 and 30 days, one province drilled
//! into (3,231 enterprises) over 24 hours and 30 days — Chromium loads it once cold and then
//! `RUNS` times, and reads from the Performance API: the server's answer (first byte), first
//! contentful paint (the page visible, figures and tables included: they are rendered by the
//! server) and `icsight:drawn`, the mark `app.js` sets once every chart, the map included, is
//! drawn (full data).
//!
//! `cargo build --release --workspace && cargo bench -p icsight-tests --bench national_page`;
//! `ICSIGHT_BENCH_ALERTS` changes the 10 M alerts, `ICSIGHT_BENCH_RUNS` the 10 warm loads.

#[allow(dead_code)]
mod chromium;

use std::process::Command;
use std::time::{Duration, Instant};

use chromium::{browser, log_in, shot, Driver};
use fantoccini::{Client, Locator};
use icsight_eve::Industry;
use icsight_tests::cluster::{account, account_token, national, password_hash, ClickHouse};

const ENTERPRISES: u64 = 100_150;
const PROVINCES: [&str; 31] = [
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "310000",
    "320000", "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000",
    "440000", "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000",
    "620000", "630000", "640000", "650000",
];
const DAY: u64 = 86_400;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A unified social credit code (GB 32100-2015) for enterprise `e`: a legal person (`91`), a
/// prefecture of its province, a serial and the check character.
fn uscc(e: u64) -> String {
    const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let province = PROVINCES[(e % 31) as usize];
    let body = format!("91{}{:02}00{:09}", &province[..2], e / 31 % 5 + 1, e);
    let sum: u32 = body
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = ALPHABET[((31 - sum % 31) % 31) as usize] as char;
    format!("{body}{check}")
}

fn industry(e: u64) -> &'static str {
    Industry::ALL[(e % Industry::ALL.len() as u64) as usize].name()
}

/// Post `file` to ClickHouse as the data of `sql`.
fn insert_file(ch: &ClickHouse, sql: &str, file: &std::path::Path) {
    let out = Command::new("curl")
        .args(["-sS", "--fail-with-body", "-X", "POST"])
        .arg(format!(
            "{}/?query={}",
            ch.url,
            sql.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        ))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// What the browser measured of one load, in milliseconds from navigation start.
#[derive(Debug)]
struct Load {
    first_byte: f64,
    first_paint: f64,
    drawn: f64,
    bytes: f64,
}

async fn load(c: &Client, url: &str) -> Load {
    c.goto(url).await.expect("goto");
    let deadline = Instant::now() + Duration::from_secs(300);
    while c.find(Locator::Css("body[data-drawn]")).await.is_err() {
        assert!(Instant::now() < deadline, "{url}: charts not drawn");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let v = c
        .execute(
            "const n = performance.getEntriesByType('navigation')[0];
             const p = performance.getEntriesByName('first-contentful-paint')[0];
             const d = performance.getEntriesByName('icsight:drawn')[0];
             return [n.responseStart, p ? p.startTime : -1, d.startTime, n.decodedBodySize];",
            vec![],
        )
        .await
        .expect("performance entries");
    let f = |i: usize| v[i].as_f64().unwrap_or(-1.0);
    Load {
        first_byte: f(0),
        first_paint: f(1),
        drawn: f(2),
        bytes: f(3),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let alerts = env_or("ICSIGHT_BENCH_ALERTS", 10_000_000);
    let runs = env_or("ICSIGHT_BENCH_RUNS", 10) as usize;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let ch = ClickHouse::start(dir);
    let pw = password_hash("bench password");
    let mut national = national(
        dir,
        &ch,
        "settle_interval_s = 5\n",
        &format!(
            "{}{}password_argon2 = \"{pw}\"\n",
            account("national-admin", "admin", "", ""),
            account("regulator", "regulator", "", ""),
        ),
    );

    // The registry: 100,150 enterprises, through the same import an operator runs.
    let t = Instant::now();
    let csv = dir.join("registry.csv");
    let mut text = String::from("enterprise_id,name,province,industry,grade\n");
    let mut tsv = String::new();
    for e in 0..ENTERPRISES {
        let (id, province) = (uscc(e), PROVINCES[(e % 31) as usize]);
        text.push_str(&format!(
            "{id},示例企业{e:06},{province},{},{}\n",
            industry(e),
            e % 3 + 1
        ));
        tsv.push_str(&format!(
            "{e}\t{id}\t{province}\t{}\t{}\n",
            industry(e),
            e % 3 + 1
        ));
    }
    std::fs::write(&csv, text).expect("registry.csv");
    icsight_tests::cluster::collector(&[
        "registry",
        "import",
        "--config",
        national.config.to_str().expect("UTF-8"),
        csv.to_str().expect("UTF-8"),
    ]);
    println!(
        "registry: {ENTERPRISES} enterprises imported in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 10 M alerts over 30 days, a tenth of them at 500 enterprises, as roll-up rows.
    let t = Instant::now();
    ch.query(
        "CREATE TABLE nat.bench_ids (e UInt64, id String, province String, industry String, \
         grade UInt8) ENGINE = Memory",
    );
    let ids = dir.join("ids.tsv");
    std::fs::write(&ids, tsv).expect("ids.tsv");
    insert_file(&ch, "INSERT INTO nat.bench_ids FORMAT TabSeparated", &ids);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let end = now / 300 * 300;
    let chunk = 2_000_000u64;
    let mut done = 0;
    while done < alerts {
        let n = chunk.min(alerts - done);
        ch.query(&format!(
            "INSERT INTO nat.tier_rollup_5m (bucket, province, enterprise_id, industry, grade, \
             severity, technique, app_proto, kind, alerts, version, collector_id) \
             SELECT toDateTime({start} + intHash32(k) % 8640 * 300), province, id, industry, \
               grade, toUInt8(multiIf(h % 20 = 0, 1, h % 4 = 0, 2, 3)), \
               ['T0836','T0855','T0858','T0816','T0843','T0806'][h % 6 + 1], \
               ['modbus','s7comm','dnp3'][intDiv(h, 6) % 3 + 1], \
               if(h % 10 = 0, 'baseline', 'signature'), toUInt64(1), toUInt64(1), \
               concat('p', province) \
             FROM (SELECT number AS k, intHash32(number + 1) AS h, \
                     toUInt64(if(k % 10 = 0, intHash32(k + 2) % 500, intHash32(k + 2) % {ENTERPRISES})) AS e \
                   FROM numbers({done}, {n})) \
             ANY INNER JOIN nat.bench_ids USING e",
            start = end - 30 * DAY,
        ));
        done += n;
    }
    ch.query("DROP TABLE nat.bench_ids");
    println!(
        "alerts: {} roll-up rows ({alerts} alerts) loaded in {:.1} s",
        ch.count("SELECT count() FROM nat.tier_rollup_5m"),
        t.elapsed().as_secs_f64()
    );

    // 2,000 open incidents at the heaviest enterprises, read when the collector starts.
    ch.query(&format!(
        "INSERT INTO nat.incidents (incident_id, province, enterprise_id, industry, grade, \
         sensor_id, criterion, title, priority, severity, technique, sid, state, opened, \
         updated, alerts, evidence, history, origin, version) \
         SELECT concat('bench-', toString(number)), province, enterprise_id, industry, grade, \
           's1', 'bench', 'PLC program download', toUInt8(number % 100), toUInt8(1), 'T0843', \
           toUInt32(9100101), 'open', toDateTime({opened}), toDateTime({opened}), toUInt64(3), \
           '{{}}', '[]', concat('p', province), toUInt64(1) \
         FROM (SELECT province, enterprise_id, industry, grade, rowNumberInAllBlocks() AS number \
               FROM nat.tier_rollup_5m GROUP BY province, enterprise_id, industry, grade \
               ORDER BY sum(alerts) DESC LIMIT 2000)",
        opened = end - DAY,
    ));
    national.kill();
    national.start();
    let (s, b) = national.post_json(
        "/v1/bulletins",
        &account_token("national-admin"),
        r#"{"title": "Modbus write campaign against energy plants", "severity": 1,
            "description": "Unauthorised Modbus writes to grid RTUs.",
            "scope": {"industries": ["energy"]},
            "indicators": {"ips": ["203.0.113.66"]},
            "actions": ["Block 203.0.113.66"], "deadline": "2099-01-01T00:00:00Z"}"#,
    );
    assert_eq!(s, 201, "bulletin: {b}");

    // The collector merges the reported days (as it does every `settle_interval_s`), after
    // which pages read them without FINAL.
    let t = Instant::now();
    let unsettled = "SELECT count() FROM (SELECT partition FROM system.parts \
                     WHERE database = 'nat' AND table = 'tier_rollup_5m' AND active \
                     GROUP BY partition HAVING count() > 1 OR min(level) = 0)";
    while ch.count(unsettled) > 0 {
        assert!(t.elapsed() < Duration::from_secs(1800), "days not settled");
        std::thread::sleep(Duration::from_millis(500));
    }
    println!(
        "settled: {} days merged by the collector in {:.1} s",
        ch.count(
            "SELECT uniq(partition) FROM system.parts \
             WHERE database = 'nat' AND table = 'tier_rollup_5m' AND active"
        ),
        t.elapsed().as_secs_f64()
    );

    let driver = Driver::start();
    let base = national.url.clone();
    let pages = [
        ("the nation, 24 h", format!("{base}/")),
        ("the nation, 7 days", format!("{base}/?days=7")),
        ("the nation, 30 days", format!("{base}/?days=30")),
        ("one province, 24 h", format!("{base}/?province=330000")),
        (
            "one province, 30 days",
            format!("{base}/?province=330000&days=30"),
        ),
    ];
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let c = browser(&driver, &dir.join("chromium")).await;
            log_in(&c, &base, "regulator", "bench password").await;
            chromium::text_of(&c, "header nav").await;
            println!(
                "\n{:<24} {:>8} {:>24} {:>24} {:>24}",
                "page (ms)",
                "KB",
                "first byte p50/max",
                "first render p50/max",
                "full data p50/max"
            );
            for (i, (name, url)) in pages.iter().enumerate() {
                let cold = load(&c, url).await;
                shot(&c, &format!("bench-national-{i}")).await;
                let mut loads = Vec::new();
                for _ in 0..runs {
                    loads.push(load(&c, url).await);
                }
                let stat = |f: fn(&Load) -> f64| {
                    let mut v: Vec<f64> = loads.iter().map(f).collect();
                    v.sort_by(f64::total_cmp);
                    format!("{:.0} / {:.0}", percentile(&v, 0.5), v[v.len() - 1])
                };
                println!(
                    "{:<24} {:>8.0} {:>24} {:>24} {:>24}",
                    name,
                    cold.bytes / 1024.0,
                    stat(|l| l.first_byte),
                    stat(|l| l.first_paint),
                    stat(|l| l.drawn)
                );
                println!(
                    "{:<24} {:>8} {:>24.0} {:>24.0} {:>24.0}",
                    "  (first load)", "", cold.first_byte, cold.first_paint, cold.drawn
                );
            }
            let _ = c.close().await;
        });
}
