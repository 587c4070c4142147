//! The national tier at the scale it is planned for: 100,000 enterprises and 150 key platforms
//! in 31 provinces, reporting 5-minute roll-ups through their provincial collectors.
//!
//! 1. report ingest: 31 provincial collectors posting zstd batches of 1,000 roll-up rows at
//!    once, as their upstream uplinks do — rows/s and batch p50/p99;
//! 2. the regulator's roll-up queries over 30 days of roll-ups generated inside ClickHouse
//!    (`tier_rollup_5m`, each bucket reported twice, the later version replacing the earlier,
//!    read as the national tier reads them: merged days plainly, the others with FINAL),
//!    p50/p99 of 30 runs — as reported (versions not yet all merged) and after the merges.
//!
//! `cargo bench -p icsight-collector --bench national`; `ICSIGHT_BENCH_ROLLUP_ROWS` changes the
//! 20 M rows generated, `ICSIGHT_BENCH_SECONDS` the length of the ingest run (default 20 s).

mod common;

use std::time::{Duration, Instant};

use common::{batch_summary, clickhouse_query, env_or, sha256, Server, DAY, END};

/// Enterprises and key platforms under the national tier.
const ENTERPRISES: u64 = 100_150;
const PROVINCES: usize = 31;
const INDUSTRIES: [&str; 8] = [
    "energy",
    "petrochemical",
    "metallurgy",
    "machinery",
    "electronics",
    "automotive",
    "equipment",
    "mining",
];

fn province(i: usize) -> &'static str {
    collector::tier::registry::PROVINCES[i % PROVINCES]
}

/// One batch of `n` roll-up rows of province `p`, as its upstream reports them.
fn batch(p: usize, seq: &mut u64, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 300);
    for _ in 0..n {
        *seq += 1;
        let s = *seq;
        let e = (s * PROVINCES as u64 + p as u64) % ENTERPRISES;
        let row = collector::tier::report::RollupRow {
            bucket: (END - DAY + (s % 288) * 300) as u32,
            province: province(p).to_owned(),
            enterprise_id: format!("E{e:06}"),
            industry: INDUSTRIES[(e % 8) as usize].to_owned(),
            grade: (e % 3 + 1) as u8,
            severity: (s % 3 + 1) as u8,
            technique: ["T0836", "T0855", "T0858", "T0816"][(s % 4) as usize].to_owned(),
            app_proto: ["modbus", "s7comm", "dnp3"][(s % 3) as usize].to_owned(),
            kind: "signature".to_owned(),
            alerts: s % 50 + 1,
            version: s,
            collector_id: String::new(),
        };
        out.extend(collector::tier::report::line(
            "rollup",
            &format!("r-{p}-{s}"),
            &row,
        ));
    }
    out
}

fn main() {
    if common::not_asked("national") {
        return;
    }
    let seconds: u64 = env_or("ICSIGHT_BENCH_SECONDS", 20);
    let rows: u64 = env_or("ICSIGHT_BENCH_ROLLUP_ROWS", 20_000_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut tables = format!(
        "[tier]\nrole = \"national\"\nid = \"national\"\n\
         [[accounts]]\nname = \"regulator\"\nrole = \"regulator\"\ntoken_sha256 = \"{}\"\n\
         token_expires = \"2099-01-01T00:00:00Z\"\n",
        sha256("regulator"),
    );
    for p in 0..PROVINCES {
        tables.push_str(&format!(
            "[[collectors]]\nid = \"p{}\"\nprovince = \"{}\"\ntoken_sha256 = \"{}\"\n",
            province(p),
            province(p),
            sha256(&format!("token-p{p}")),
        ));
    }
    let server = Server::start(tmp.path(), "nat", "escalation = []\n", &tables);
    let (ch, url, agent) = (&server.ch, &server.url, &server.agent);

    println!(
        "report ingest: {PROVINCES} provincial collectors, zstd batches of 1,000 roll-up rows, {seconds} s"
    );
    let stop = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let handles: Vec<_> = (0..PROVINCES)
        .map(|p| {
            let (agent, url) = (agent.clone(), url.clone());
            std::thread::spawn(move || {
                let mut seq = 0;
                let mut lat = Vec::new();
                while Instant::now() < stop {
                    let body = zstd::bulk::compress(&batch(p, &mut seq, 1000), 3).expect("zstd");
                    let t = Instant::now();
                    agent
                        .post(&format!("{url}/v1/ingest"))
                        .set("Authorization", &format!("Bearer token-p{p}"))
                        .set("X-Icsight-Sensor", &format!("p{}", province(p)))
                        .set("Content-Encoding", "zstd")
                        .send_bytes(&body)
                        .unwrap_or_else(|e| panic!("province {p}: {e}"));
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            })
        })
        .collect();
    let lat: Vec<f64> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("uploader"))
        .collect();
    let (rate, n, p50, p99) = batch_summary(lat, started.elapsed().as_secs_f64());
    println!("{rate:.0} rows/s, {n} batches, batch p50 {p50:.1} ms, p99 {p99:.1} ms");

    // 30 days of roll-ups: `rows / 2` buckets of enterprises, each reported in two versions.
    let t = Instant::now();
    clickhouse_query(ch, "TRUNCATE TABLE nat.tier_rollup_5m");
    let distinct = rows / 2;
    let provinces = collector::tier::registry::PROVINCES[..PROVINCES]
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(",");
    let industries = INDUSTRIES
        .iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(",");
    let chunk = 2_000_000u64;
    let mut done = 0;
    while done < rows {
        let n = chunk.min(rows - done);
        clickhouse_query(
            ch,
            &format!(
                "INSERT INTO nat.tier_rollup_5m SELECT
                   toDateTime({start} + (intDiv(k, {ENTERPRISES}) * 7919 % 8640) * 300) AS bucket,
                   [{provinces}][e % {PROVINCES} + 1] AS province,
                   concat('E', toString(e)) AS enterprise_id,
                   [{industries}][e % 8 + 1] AS industry,
                   toUInt8(e % 3 + 1) AS grade,
                   toUInt8(k % 3 + 1) AS severity,
                   ['T0836','T0855','T0858','T0816'][k % 4 + 1] AS technique,
                   ['modbus','s7comm','dnp3'][k % 3 + 1] AS app_proto,
                   if(k % 10 = 0, 'baseline', 'signature') AS kind,
                   (k % 7 + 1) * version AS alerts,
                   1 + intDiv(number, {distinct}) AS version,
                   concat('p', province) AS collector_id
                 FROM (SELECT number, number % {distinct} AS k, k % {ENTERPRISES} AS e
                       FROM numbers({done}, {n}))",
                start = END - 30 * DAY,
            ),
        );
        done += n;
    }
    println!(
        "\nloaded {rows} roll-up rows ({distinct} buckets × 2 versions) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let day = END - DAY;
    let week = END - 7 * DAY;
    let month = END - 30 * DAY;
    let queries = [
        (
            "the country, hourly, last 24 h",
            format!("/v1/rollup?step=1h&from={day}&to={END}"),
        ),
        (
            "by province, hourly, 7 days",
            format!("/v1/rollup?step=1h&by=province&from={week}&to={END}"),
        ),
        (
            "by industry, hourly, 30 days",
            format!("/v1/rollup?step=1h&by=industry&from={month}&to={END}"),
        ),
        (
            "one province by grade, 5-minute, 7 days",
            format!("/v1/rollup?step=5m&by=grade&province=330000&from={week}&to={END}"),
        ),
        (
            "one enterprise by severity, hourly, 30 days",
            format!(
                "/v1/rollup?step=1h&by=severity&province=330000&enterprise=E10&from={month}&to={END}"
            ),
        ),
    ];
    server.time_queries(
        &format!("regulator, as reported ({rows} rows, 30 runs each)"),
        "regulator",
        &queries,
    );
    let t = Instant::now();
    clickhouse_query(ch, "OPTIMIZE TABLE nat.tier_rollup_5m FINAL");
    println!(
        "\nmerged the versions (OPTIMIZE … FINAL) in {:.1} s: {} rows",
        t.elapsed().as_secs_f64(),
        clickhouse_query(ch, "SELECT count() FROM nat.tier_rollup_5m"),
    );
    server.time_queries("regulator, merged", "regulator", &queries);
}
