//! Collector benchmarks against a private ClickHouse (scripts/clickhouse.sh) and the release
//! `collector` binary, over HTTPS:
//!
//! 1. ingest rate (events/s) and batch latency with 1, 8 and 64 sensors uploading at once,
//!    each sending zstd batches of 1,000 events as a sensor's uplink does (made beforehand):
//!    alerts, then flows, then Modbus transactions — what `[storage]` may choose not to keep;
//! 2. p50/p99 latency of typical analyst queries over 10 M stored alerts (31 provinces,
//!    1,000 enterprises, 30 days), generated inside ClickHouse.
//!
//! `cargo bench -p icsight-collector --bench ingest`; `ICSIGHT_BENCH_ALERTS` changes the
//! 10 M, `ICSIGHT_BENCH_BATCHES` the batches of each ingest run (default 1,000),
//! `ICSIGHT_BENCH_UPLOADERS` the runs (default `1,8,64`), `ICSIGHT_BENCH_KINDS` the
//! event types (default `alert,flow,modbus`).

mod common;

use std::time::Instant;

use icsight_eve::Timestamp;

use common::{batch_summary, clickhouse_query, env_or, sha256, Server, DAY, END};

/// What a run's batches hold: the event types `[storage]` chooses to keep or not.
#[derive(Clone, Copy)]
enum Kind {
    Alert,
    Flow,
    Modbus,
}

impl Kind {
    fn parse(s: &str) -> Kind {
        match s.trim() {
            "alert" => Kind::Alert,
            "flow" => Kind::Flow,
            "modbus" => Kind::Modbus,
            other => panic!("ICSIGHT_BENCH_KINDS: {other:?}: use alert, flow or modbus"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Alert => "alerts",
            Kind::Flow => "flows",
            Kind::Modbus => "modbus transactions",
        }
    }
}

/// One batch of `n` events of `kind` of `sensor`, as NDJSON.
fn batch(
    kind: Kind,
    sensor: usize,
    enterprise: &str,
    province: &str,
    seq: &mut u64,
    n: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 700);
    for _ in 0..n {
        *seq += 1;
        let s = *seq;
        let t = END - DAY + s % DAY;
        let mut line = serde_json::json!({
            "timestamp": Timestamp(t * 1_000_000 + s % 1_000_000).rfc3339(),
            "event_id": format!("bench{sensor}-{s}"),
            "flow_id": s,
            "src_ip": format!("10.{}.{}.{}", sensor % 256, s % 200, s % 250 + 1),
            "src_port": 40000 + s % 20000,
            "dest_ip": "10.200.0.5",
            "dest_port": 502,
            "proto": "TCP",
            "app_proto": "modbus",
            "modbus": { "id": s, "request": { "transaction_id": s % 65536, "unit_id": 1, "function_code": "WrSingleReg", "write": { "address": 5, "data": 550 } } },
            "sensor": { "id": format!("bench-s{sensor}"), "enterprise_id": enterprise, "province": province },
        });
        let (event_type, part) = match kind {
            Kind::Alert => (
                "alert",
                serde_json::json!({
                    "action": "allowed", "gid": 1, "signature_id": 9100000 + s % 40, "rev": 1,
                    "signature": format!("ICSIGHT MODBUS write single register (FC6) {}", s % 40),
                    "category": "Write to an Industrial Process Value", "severity": s % 3 + 1,
                    "metadata": { "mitre_attack_ics": ["T0836", "T0855"] },
                }),
            ),
            Kind::Flow => (
                "flow",
                serde_json::json!({
                    "pkts_toserver": s % 50 + 1, "pkts_toclient": s % 40 + 1,
                    "bytes_toserver": s % 5000 + 60, "bytes_toclient": s % 4000 + 60,
                    "start": Timestamp((t - 30) * 1_000_000).rfc3339(),
                    "end": Timestamp(t * 1_000_000).rfc3339(),
                    "age": 30, "state": "closed", "reason": "timeout", "alerted": false,
                }),
            ),
            Kind::Modbus => ("modbus", serde_json::Value::Null),
        };
        line["event_type"] = event_type.into();
        match kind {
            Kind::Alert => line["alert"] = part,
            Kind::Flow => {
                line["flow"] = part;
                line.as_object_mut().expect("object").remove("modbus");
            }
            Kind::Modbus => {}
        }
        serde_json::to_writer(&mut out, &line).expect("JSON");
        out.push(b'\n');
    }
    out
}

fn main() {
    if common::not_asked("ingest") {
        return;
    }
    let batches: usize = env_or("ICSIGHT_BENCH_BATCHES", 1000);
    let alerts: u64 = env_or("ICSIGHT_BENCH_ALERTS", 10_000_000);
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut tables = format!(
        "[[accounts]]\nname = \"national\"\nrole = \"analyst\"\ntoken_sha256 = \"{}\"\n\
         token_expires = \"2099-01-01T00:00:00Z\"\n",
        sha256("analyst"),
    );
    // 64 sensors, 4 enterprises per province.
    for i in 0..64 {
        tables.push_str(&format!(
            "[[sensors]]\nid = \"bench-s{i}\"\nenterprise_id = \"E{:04}\"\nprovince = \"{}\"\nindustry = \"energy\"\ngrade = 2\ntoken_sha256 = \"{}\"\n",
            i / 2,
            110000 + (i / 4) * 10000,
            sha256(&format!("token{i}")),
        ));
    }
    let server = Server::start(tmp.path(), "bench", "escalation = []\n", &tables);
    let (ch, url, agent) = (&server.ch, &server.url, &server.agent);

    let runs: String = env_or("ICSIGHT_BENCH_UPLOADERS", "1,8,64".to_owned());
    let kinds: String = env_or("ICSIGHT_BENCH_KINDS", "alert,flow,modbus".to_owned());
    for kind in kinds.split(',').map(Kind::parse) {
        println!(
        "\ningest of {}: {batches} zstd batches of 1,000 a run, made before it starts, over HTTPS",
        kind.name()
    );
        println!("sensors  events/s  batches  batch p50 ms  batch p99 ms");
        for sensors in runs
            .split(',')
            .map(|n| n.trim().parse::<usize>().expect("uploaders"))
        {
            assert!((1..=64).contains(&sensors), "1 to 64 uploaders");
            // Each uploader's batches, made and compressed before the clock starts: the
            // benchmark's own JSON is not the collector's work.
            let bodies: Vec<Vec<Vec<u8>>> = std::thread::scope(|s| {
                let makers: Vec<_> = (0..sensors)
                    .map(|i| {
                        s.spawn(move || {
                            let enterprise = format!("E{:04}", i / 2);
                            let province = format!("{}", 110000 + (i / 4) * 10000);
                            let mut seq = ((sensors as u64) << 40) + ((kind as u64) << 36);
                            let mine = batches / sensors + usize::from(i < batches % sensors);
                            (0..mine)
                                .map(|_| {
                                    let text =
                                        batch(kind, i, &enterprise, &province, &mut seq, 1000);
                                    zstd::bulk::compress(&text, 3).expect("zstd")
                                })
                                .collect()
                        })
                    })
                    .collect();
                makers
                    .into_iter()
                    .map(|m| m.join().expect("maker"))
                    .collect()
            });
            let start = std::sync::Arc::new(std::sync::Barrier::new(sensors + 1));
            let handles: Vec<_> = bodies
                .into_iter()
                .enumerate()
                .map(|(i, mine)| {
                    let (agent, url, start) = (agent.clone(), url.clone(), start.clone());
                    std::thread::spawn(move || {
                        let token = format!("Bearer token{i}");
                        let mut lat = Vec::new();
                        start.wait();
                        for body in mine {
                            let t = Instant::now();
                            let r = agent
                                .post(&format!("{url}/v1/ingest"))
                                .set("Authorization", &token)
                                .set("Content-Encoding", "zstd")
                                .send_bytes(&body);
                            if let Err(e) = r {
                                panic!("ingest failed: {e}");
                            }
                            lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        lat
                    })
                })
                .collect();
            start.wait();
            let started = Instant::now();
            let mut lat = Vec::new();
            for h in handles {
                lat.extend(h.join().expect("uploader"));
            }
            let (rate, n, p50, p99) = batch_summary(lat, started.elapsed().as_secs_f64());
            println!("{sensors:7}  {rate:8.0}  {n:7}  {p50:12.1}  {p99:12.1}");
        }
    }

    // 10 M alerts over 30 days, 31 provinces, 1,000 enterprises, made inside ClickHouse (the
    // materialized roll-ups fill as they would from ingest).
    let t = Instant::now();
    clickhouse_query(ch, "TRUNCATE TABLE bench.alerts");
    let chunk = 1_000_000u64;
    let mut done = 0;
    while done < alerts {
        let n = chunk.min(alerts - done);
        clickhouse_query(
            ch,
            &format!(
                "INSERT INTO bench.alerts SELECT
                   toDateTime({start} + intDiv(number * {span}, {alerts})) AS ts,
                   toUInt64(ts) * 1000000 + number % 1000000 AS ts_us,
                   ts AS received,
                   concat('g-', toString(number)) AS event_id,
                   concat('s', toString(number % 2000)) AS sensor_id,
                   concat('E', toString(number % 1000)) AS enterprise_id,
                   toString(110000 + (number % 1000) % 31 * 10000) AS province,
                   ['energy','water','petrochemical','metallurgy'][number % 4 + 1] AS industry,
                   toUInt8(number % 3 + 1) AS grade,
                   number AS flow_id,
                   concat('10.', toString(number % 256), '.', toString(intDiv(number, 256) % 256), '.', toString(number % 250 + 1)) AS src_ip,
                   toUInt16(40000 + number % 20000) AS src_port,
                   '10.200.0.5' AS dest_ip, toUInt16(502) AS dest_port, 'TCP' AS proto,
                   ['modbus','s7comm','dnp3'][number % 3 + 1] AS app_proto,
                   if(number % 10 = 0, 'baseline', 'signature') AS kind,
                   'allowed' AS action, toUInt32(1) AS gid, toUInt32(9100000 + number % 80) AS sid, toUInt32(1) AS rev,
                   concat('ICSIGHT ', ['MODBUS write single register', 'S7COMM PLC stop', 'DNP3 cold restart', 'MODBUS diagnostics'][number % 4 + 1], ' ', toString(number % 80)) AS signature,
                   'Write to an Industrial Process Value' AS category,
                   toUInt8(number % 7 = 0 ? 1 : number % 3 + 1) AS severity,
                   ['T0836','T0855','T0858','T0816'][number % 4 + 1] AS technique,
                   [technique] AS techniques,
                   '' AS anomaly_event,
                   concat('{{\"event_type\":\"alert\",\"event_id\":\"g-', toString(number), '\"}}') AS raw
                 FROM numbers({done}, {n})",
                start = END - 30 * DAY,
                span = 30 * DAY,
            ),
        );
        done += n;
    }
    println!(
        "\nloaded {alerts} alerts in {:.1} s (INSERT … SELECT inside ClickHouse, roll-ups included)",
        t.elapsed().as_secs_f64()
    );
    clickhouse_query(ch, "OPTIMIZE TABLE bench.alerts_5m FINAL");
    let week = END - 7 * DAY;
    let month = END - 30 * DAY;
    let queries = [
        (
            "a province's newest 100 alerts, last 7 days",
            format!("/v1/alerts?province=330000&from={week}&to={END}&limit=100"),
        ),
        (
            "an enterprise's severity-1 T0816 alerts, 30 days, page 1",
            format!("/v1/alerts?province=180000&enterprise=E7&severity=1&technique=T0816&from={month}&to={END}&limit=100"),
        ),
        (
            "national text + IP search, 30 days",
            format!("/v1/alerts?q=plc%20stop&ip=10.1.9.2&from={month}&to={END}&limit=100"),
        ),
        (
            "national hourly roll-up by severity, 30 days",
            format!("/v1/rollup?step=1h&by=severity&from={month}&to={END}"),
        ),
    ];
    server.time_queries(
        &format!("query (over {alerts} alerts, 30 runs each)"),
        "analyst",
        &queries,
    );
}
