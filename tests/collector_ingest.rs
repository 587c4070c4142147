//! The collector's doors, against a real ClickHouse: every kind of bad batch is refused whole
//! with a 4xx that names the fault, and stores nothing; a resent batch stores nothing twice;
//! analysts find alerts by every dimension, page through them without gaps or repeats, export
//! CSV, read roll-ups, and cannot see past their scope.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use icsight_tests::cluster::{
    Auth, ClickHouse, Collector, SensorSpec, ANALYST_TOKEN, ANALYST_ZJ_TOKEN,
};
use serde_json::{json, Value};

const S1: SensorSpec = SensorSpec {
    id: "zj-s1",
    enterprise_id: "91330100MA27XY1235",
    province: "330000",
    industry: "petrochemical",
    grade: 1,
    auth: Auth::Token,
};

const S2: SensorSpec = SensorSpec {
    id: "gd-s2",
    enterprise_id: "91440300MA5FXT12X5",
    province: "440000",
    industry: "water",
    grade: 3,
    auth: Auth::Certificate,
};

/// An alert of `sensor`, numbered `n`, at second `n` after 2026-11-21T00:00:00Z.
fn alert(sensor: &SensorSpec, n: u32) -> Value {
    let techniques = [["T0836"], ["T0855"], ["T0858"]][n as usize % 3];
    let app_proto = ["modbus", "s7comm", "dnp3"][n as usize % 3];
    json!({
        "timestamp": format!("2026-11-21T00:{:02}:{:02}.{:06}+0000", n / 60 % 60, n % 60, n),
        "event_id": format!("{}-{n}", sensor.id),
        "flow_id": 1000 + n,
        "event_type": "alert",
        "src_ip": format!("10.0.{}.{}", n % 4, n % 250 + 1),
        "src_port": 40000 + n,
        "dest_ip": "10.1.0.5",
        "dest_port": 502,
        "proto": "TCP",
        "app_proto": app_proto,
        "alert": {
            "action": "allowed", "gid": 1, "signature_id": 9100000 + n % 5, "rev": 1,
            "signature": format!("ICSIGHT test signature {} O'Brien", n % 5),
            "category": "test", "severity": n % 3 + 1,
            "metadata": { "mitre_attack_ics": techniques },
        },
        "sensor": { "id": sensor.id, "enterprise_id": sensor.enterprise_id, "province": sensor.province },
    })
}

fn ndjson(events: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        serde_json::to_writer(&mut out, e).expect("JSON");
        out.push(b'\n');
    }
    out
}

fn gzip(data: &[u8], dir: &Path, name: &str) -> PathBuf {
    let plain = dir.join(name);
    std::fs::write(&plain, data).expect("write batch");
    let status = std::process::Command::new("gzip")
        .args(["-f", "-k", "-n"])
        .arg(&plain)
        .status()
        .expect("run gzip");
    assert!(status.success());
    dir.join(format!("{name}.gz"))
}

/// POST `body` (a file) to /v1/ingest with extra curl arguments: (status, response).
fn post(col: &Collector, body: &Path, args: &[String]) -> (u16, String) {
    let mut a = vec![
        format!("{}/v1/ingest", col.url),
        "--data-binary".into(),
        format!("@{}", body.display()),
    ];
    a.extend_from_slice(args);
    col.curl(&a)
}

fn token_of(col: &Collector, s: &SensorSpec) -> Vec<String> {
    let token = std::fs::read_to_string(col.credentials(s.id).2).expect("token");
    vec!["-H".into(), format!("Authorization: Bearer {token}")]
}

fn cert_of(col: &Collector, s: &SensorSpec) -> Vec<String> {
    let (cert, key, _) = col.credentials(s.id);
    vec![
        "--cert".into(),
        cert.display().to_string(),
        "--key".into(),
        key.display().to_string(),
    ]
}

fn gz() -> Vec<String> {
    vec!["-H".into(), "Content-Encoding: gzip".into()]
}

fn stored(ch: &ClickHouse, db: &str) -> u64 {
    ch.count(&format!(
        "SELECT (SELECT count() FROM {db}.alerts) + (SELECT count() FROM {db}.anomalies) \
         + (SELECT count() FROM {db}.flows) + (SELECT count() FROM {db}.transactions) \
         + (SELECT count() FROM {db}.assets) + (SELECT count() FROM {db}.sensor_stats)"
    ))
}

#[test]
fn bad_batches_are_refused_whole_and_store_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let col = Collector::new(
        tmp.path(),
        &ch,
        "bad",
        &[S1, S2],
        "max_body_kb = 64\nmax_batch_kb = 512\nmax_batch_events = 500",
    );
    let d = tmp.path();
    let good: Vec<Value> = (0..10).map(|n| alert(&S1, n)).collect();
    let good_gz = gzip(&ndjson(&good), d, "good.ndjson");

    let cat = |a: Vec<String>, b: Vec<String>| -> Vec<String> { a.into_iter().chain(b).collect() };
    let mut cases: Vec<(&str, PathBuf, Vec<String>, u16, String)> = Vec::new();
    // No credential, a wrong token.
    cases.push((
        "no credential",
        good_gz.clone(),
        gz(),
        401,
        "no credential".into(),
    ));
    cases.push((
        "wrong token",
        good_gz.clone(),
        cat(gz(), vec!["-H".into(), "Authorization: Bearer nope".into()]),
        401,
        "unknown sensor token".into(),
    ));
    // Another sensor's events, under S2's certificate and under S1's token.
    cases.push((
        "another sensor's id (certificate)",
        good_gz.clone(),
        cat(gz(), cert_of(&col, &S2)),
        403,
        "line 1: sensor.id \\\"zj-s1\\\" is not this credential's sensor \\\"gd-s2\\\"".into(),
    ));
    let mut as_s2 = good.clone();
    as_s2[4]["sensor"]["id"] = json!("gd-s2");
    cases.push((
        "another sensor's id (token), line 5",
        gzip(&ndjson(&as_s2), d, "as_s2.ndjson"),
        cat(gz(), token_of(&col, &S1)),
        403,
        "line 5: sensor.id \\\"gd-s2\\\"".into(),
    ));
    cases.push((
        "token of one, certificate of another",
        good_gz.clone(),
        cat(cat(gz(), token_of(&col, &S1)), cert_of(&col, &S2)),
        403,
        "token of sensor".into(),
    ));
    cases.push((
        "header naming another sensor",
        good_gz.clone(),
        cat(
            cat(gz(), token_of(&col, &S1)),
            vec!["-H".into(), "X-Icsight-Sensor: gd-s2".into()],
        ),
        403,
        "x-icsight-sensor".into(),
    ));
    let mut other_enterprise = good.clone();
    other_enterprise[2]["sensor"]["enterprise_id"] = json!("91440300MA5FXT12X5");
    cases.push((
        "another enterprise",
        gzip(&ndjson(&other_enterprise), d, "other_ent.ndjson"),
        cat(gz(), token_of(&col, &S1)),
        403,
        "line 3: sensor.enterprise_id".into(),
    ));
    // A malformed line 7 after six good ones.
    let mut text = ndjson(&good[..6]);
    text.extend_from_slice(b"{\"event_type\": \"alert\", \"event_id\": \n");
    text.extend_from_slice(&ndjson(&good[6..]));
    cases.push((
        "malformed JSON line",
        gzip(&text, d, "malformed.ndjson"),
        cat(gz(), token_of(&col, &S1)),
        400,
        "line 7: invalid JSON".into(),
    ));
    let mut unknown = good.clone();
    unknown[8]["event_type"] = json!("krb5");
    cases.push((
        "unknown event type",
        gzip(&ndjson(&unknown), d, "unknown.ndjson"),
        cat(gz(), token_of(&col, &S1)),
        400,
        "line 9: unknown event_type \\\"krb5\\\"".into(),
    ));
    let mut twice = good.clone();
    twice[9]["event_id"] = twice[1]["event_id"].clone();
    cases.push((
        "event id repeated",
        gzip(&ndjson(&twice), d, "twice.ndjson"),
        cat(gz(), token_of(&col, &S1)),
        400,
        "line 10: event_id \\\"zj-s1-1\\\" repeats line 2".into(),
    ));
    // Oversized: a body over 64 KiB as sent; a small body over 512 KiB decompressed; too many
    // events.
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let big = d.join("big.bin");
    std::fs::write(&big, &noise).expect("write");
    cases.push((
        "body too large",
        big,
        token_of(&col, &S1),
        413,
        "body larger than 64 KiB".into(),
    ));
    let bomb: Vec<Value> = (0..400)
        .map(|n| {
            let mut a = alert(&S1, n);
            a["alert"]["category"] = json!("x".repeat(2000));
            a
        })
        .collect();
    cases.push((
        "batch too large once decompressed",
        gzip(&ndjson(&bomb), d, "bomb.ndjson"),
        cat(gz(), token_of(&col, &S1)),
        413,
        "batch larger than 512 KiB once decompressed".into(),
    ));
    let many: Vec<Value> = (0..501).map(|n| alert(&S1, n)).collect();
    cases.push((
        "too many events",
        gzip(&ndjson(&many), d, "many.ndjson"),
        cat(gz(), token_of(&col, &S1)),
        413,
        "line 501: more than 500 events".into(),
    ));
    // Content encodings: one we do not speak, one that lies.
    cases.push((
        "unsupported encoding",
        good_gz.clone(),
        cat(
            token_of(&col, &S1),
            vec!["-H".into(), "Content-Encoding: br".into()],
        ),
        415,
        "Content-Encoding \\\"br\\\"".into(),
    ));
    cases.push((
        "gzip body labelled zstd",
        good_gz.clone(),
        cat(
            token_of(&col, &S1),
            vec!["-H".into(), "Content-Encoding: zstd".into()],
        ),
        400,
        "body is not valid zstd".into(),
    ));

    for (what, body, args, status, needle) in &cases {
        let (got, text) = post(&col, body, args);
        assert_eq!(got, *status, "{what}: {text}");
        assert!(
            text.contains(needle.as_str()),
            "{what}: {text} lacks {needle}"
        );
        assert_eq!(stored(&ch, "bad"), 0, "{what}: something was stored");
    }
    // The refusals are counted by reason.
    let (_, metrics) = col.get("/metrics", None);
    for (outcome, n) in [
        ("unauthorized", 2),
        ("forbidden", 5),
        ("invalid", 3),
        ("too_large", 3),
        ("encoding", 2),
    ] {
        let line = format!("icsight_collector_batches_total{{outcome=\"{outcome}\"}} {n}");
        assert!(metrics.contains(&line), "{line} not in {metrics}");
    }

    // The good batch, twice: stored once.
    let (got, text) = post(&col, &good_gz, &cat(gz(), token_of(&col, &S1)));
    assert_eq!(got, 200, "{text}");
    let a: Value = serde_json::from_str(&text).expect("JSON answer");
    assert_eq!(
        (a["accepted"].as_u64(), a["stored"].as_u64()),
        (Some(10), Some(10))
    );
    let (got, text) = post(&col, &good_gz, &cat(gz(), token_of(&col, &S1)));
    assert_eq!(got, 200, "{text}");
    let a: Value = serde_json::from_str(&text).expect("JSON answer");
    assert_eq!(
        (a["stored"].as_u64(), a["duplicates"].as_u64()),
        (Some(0), Some(10))
    );
    // Half of it again with new events: only the new ones are stored.
    let mixed: Vec<Value> = (5..15).map(|n| alert(&S1, n)).collect();
    let plain = d.join("mixed.ndjson");
    std::fs::write(&plain, ndjson(&mixed)).expect("write");
    let (got, text) = post(&col, &plain, &token_of(&col, &S1));
    assert_eq!(got, 200, "{text}");
    assert_eq!(ch.count("SELECT count() FROM bad.alerts"), 15);
    assert_eq!(ch.count("SELECT uniqExact(event_id) FROM bad.alerts"), 15);
    // A sender that hangs up while its batch is being stored and sends it again at once (a
    // timeout, a sensor restarted): stored once.
    let mut sent = 15;
    for round in 0..10 {
        let batch: Vec<Value> = (0..400)
            .map(|n| alert(&S1, 1000 * (round + 1) + n))
            .collect();
        let batch_gz = gzip(&ndjson(&batch), d, &format!("cut-{round}.ndjson"));
        let mut cut = cat(gz(), token_of(&col, &S1));
        cut.extend(["--max-time".into(), format!("0.0{}", round % 5 + 1)]);
        let _ = post(&col, &batch_gz, &cut);
        let (got, text) = post(&col, &batch_gz, &cat(gz(), token_of(&col, &S1)));
        assert_eq!(got, 200, "{text}");
        sent += 400;
    }
    assert_eq!(ch.count("SELECT uniqExact(event_id) FROM bad.alerts"), sent);
    assert_eq!(ch.count("SELECT count() FROM bad.alerts"), sent);
    assert_eq!(col.get("/healthz", None), (200, "ok\n".into()));
}

/// A host of `sensor`'s inventory, numbered `n`, at second `n` after 2026-11-21T00:00:00Z.
fn asset(sensor: &SensorSpec, n: u32) -> Value {
    json!({
        "timestamp": format!("2026-11-21T00:{:02}:{:02}.000000+0000", n / 60 % 60, n % 60),
        "event_id": format!("{}-asset-{n}", sensor.id),
        "event_type": "asset",
        "asset": { "ip": format!("10.9.0.{}", n % 250 + 1), "change": "new", "roles": ["plc"] },
        "sensor": { "id": sensor.id, "enterprise_id": sensor.enterprise_id, "province": sensor.province },
    })
}

/// ClickHouse writes a table before its views, with nothing atomic around them: a server
/// killed in between (or a view's write that fails) leaves alerts the roll-ups never counted
/// and hosts the inventory never saw. The views are detached for a first attempt to leave
/// exactly that; the sender's resend finds the rows stored and makes the roll-ups whole, once.
#[test]
fn a_resend_makes_whole_the_rollups_an_interrupted_insert_missed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let col = Collector::new(tmp.path(), &ch, "views", &[S1], "");
    let d = tmp.path();
    let send = |name: &str, events: &[Value]| -> Value {
        let body = d.join(name);
        std::fs::write(&body, ndjson(events)).expect("write");
        let (got, text) = post(&col, &body, &token_of(&col, &S1));
        assert_eq!(got, 200, "{name}: {text}");
        serde_json::from_str(&text).expect("JSON answer")
    };
    let rolled_up = || {
        (
            ch.count("SELECT sum(alerts) FROM views.alerts_5m"),
            ch.count("SELECT countMerge(alerts) FROM views.alerts_1h"),
            ch.count("SELECT uniqMerge(sources) FROM views.alerts_1h"),
            ch.count("SELECT count() FROM views.assets_current FINAL"),
        )
    };
    // Stored whole: 60 alerts over three 5-minute buckets.
    let whole: Vec<Value> = (0..60).map(|i| alert(&S1, 15 * i + 1)).collect();
    send("whole.ndjson", &whole);
    // Interrupted: 60 more in the same buckets from other sources, and 5 hosts, reach the
    // tables and none of their views.
    let mut cut: Vec<Value> = (0..60).map(|i| alert(&S1, 15 * i + 7)).collect();
    cut.extend((0..5).map(|i| asset(&S1, 100 * i)));
    let views = [
        "alerts_5m_mv",
        "alerts_1h_mv",
        "rollup_dirty_mv",
        "assets_current_mv",
    ];
    for v in views {
        ch.query(&format!("DETACH TABLE views.{v}"));
    }
    send("cut.ndjson", &cut);
    for v in views {
        ch.query(&format!("ATTACH TABLE views.{v}"));
    }
    assert_eq!(ch.count("SELECT count() FROM views.alerts"), 120);
    let sources = ch.count("SELECT uniq(src_ip) FROM views.alerts");
    assert_eq!(rolled_up(), (60, 60, 60.min(sources), 0));
    assert!(sources > 60, "the lost batch's sources are new: {sources}");

    // The resend stores nothing and completes the roll-ups; the tier above is told the
    // buckets changed.
    let since = ch.count("SELECT toUInt32(now())");
    let a = send("cut.ndjson", &cut);
    assert_eq!(
        (a["stored"].as_u64(), a["duplicates"].as_u64()),
        (Some(0), Some(65))
    );
    assert_eq!(rolled_up(), (120, 120, sources, 5));
    assert_eq!(
        ch.query(&format!(
            "SELECT arrayStringConcat(arraySort(groupUniqArray(toString(bucket))), ',') \
             FROM views.rollup_dirty WHERE received >= {since}"
        ))
        .trim(),
        "2026-11-21 00:00:00,2026-11-21 00:05:00,2026-11-21 00:10:00"
    );
    // Per bucket and dimension, not only in total.
    assert_eq!(
        ch.query(
            "SELECT toStartOfFiveMinute(ts) AS b, severity, technique, count() FROM views.alerts \
             GROUP BY b, severity, technique ORDER BY b, severity, technique"
        ),
        ch.query(
            "SELECT bucket AS b, severity, technique, sum(alerts) FROM views.alerts_5m \
             GROUP BY b, severity, technique ORDER BY b, severity, technique"
        )
    );
    // Sent again, and the whole batch again: nothing lacks, nothing is added twice.
    send("cut.ndjson", &cut);
    send("whole.ndjson", &whole);
    assert_eq!(rolled_up(), (120, 120, sources, 5));
    let (_, metrics) = col.get("/metrics", None);
    assert!(
        metrics.contains("icsight_collector_rollup_repaired_total 120"),
        "{metrics}"
    );
}

fn query(col: &Collector, token: &str, q: &str) -> (u16, Value) {
    let (status, text) = col.get(&format!("/v1/{q}"), Some(token));
    let v = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text }));
    (status, v)
}

fn ids(v: &Value) -> Vec<String> {
    v["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["event_id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn analysts_find_page_export_and_chart_alerts_within_their_scope() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ch = ClickHouse::start(tmp.path());
    let col = Collector::new(tmp.path(), &ch, "q", &[S1, S2], "");
    for (s, n) in [(&S1, 120), (&S2, 90)] {
        let events: Vec<Value> = (0..n).map(|i| alert(s, i)).collect();
        let mut f = std::fs::File::create(tmp.path().join("b.ndjson")).expect("create");
        f.write_all(&ndjson(&events)).expect("write");
        let auth = match s.auth {
            Auth::Token => token_of(&col, s),
            Auth::Certificate => cert_of(&col, s),
        };
        let (got, text) = post(&col, &tmp.path().join("b.ndjson"), &auth);
        assert_eq!(got, 200, "{text}");
    }
    let range = "from=2026-11-21T00:00:00Z&to=2026-11-21T01:00:00Z";
    let t = ANALYST_TOKEN;

    // Filters, each checked against what was sent.
    let (s, v) = query(&col, t, &format!("alerts?{range}&limit=1000"));
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v).len(), 210);
    let (_, v) = query(
        &col,
        t,
        &format!("alerts?{range}&limit=1000&province=440000"),
    );
    assert_eq!(ids(&v).len(), 90);
    let (_, v) = query(
        &col,
        t,
        &format!("alerts?{range}&limit=1000&enterprise=91330100MA27XY1235&severity=1"),
    );
    assert_eq!(ids(&v).len(), 40);
    let (_, v) = query(
        &col,
        t,
        &format!("alerts?{range}&limit=1000&severity=1,2&proto=s7comm"),
    );
    // n % 3 == 1 (s7comm) gives severity 2: every s7comm alert of both sensors.
    assert_eq!(ids(&v).len(), 40 + 30);
    let (_, v) = query(
        &col,
        t,
        &format!("alerts?{range}&limit=1000&technique=T0858"),
    );
    assert_eq!(ids(&v).len(), 40 + 30);
    let (_, v) = query(&col, t, &format!("alerts?{range}&limit=1000&ip=10.0.3.4"));
    assert!(ids(&v).iter().all(|id| id.ends_with("-3")), "{v}");
    assert_eq!(ids(&v).len(), 2);
    let (_, v) = query(
        &col,
        t,
        &format!("alerts?{range}&limit=1000&sid=9100004&sensor=gd-s2"),
    );
    assert_eq!(ids(&v).len(), 18);
    let (_, v) = query(
        &col,
        t,
        &format!("alerts?{range}&limit=1000&q=SIGNATURE%203%20o%27brien"),
    );
    assert_eq!(ids(&v).len(), 24 + 18);
    // A value is data, never SQL.
    let (s, v) = query(&col, t, &format!("alerts?{range}&q=%27)%20OR%201%3D1%20--"));
    assert_eq!((s, ids(&v).len()), (200, 0), "{v}");

    // Paging by cursor walks every alert once, in order, for every sort.
    for sort in ["time_desc", "time_asc", "severity"] {
        let mut seen = Vec::new();
        let mut cursor = String::new();
        loop {
            let (s, v) = query(
                &col,
                t,
                &format!("alerts?{range}&limit=7&sort={sort}{cursor}"),
            );
            assert_eq!(s, 200, "{v}");
            seen.extend(ids(&v));
            match v["next_cursor"].as_str() {
                Some(c) => cursor = format!("&cursor={c}"),
                None => break,
            }
        }
        assert_eq!(seen.len(), 210, "{sort}");
        assert_eq!(
            seen.iter().collect::<BTreeSet<_>>().len(),
            210,
            "{sort}: repeats"
        );
        let (_, all) = query(&col, t, &format!("alerts?{range}&limit=1000&sort={sort}"));
        assert_eq!(seen, ids(&all), "{sort}: pages differ from one page");
    }
    let (_, v) = query(&col, t, &format!("alerts?{range}&limit=1000&sort=severity"));
    let sev: Vec<u64> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["severity"].as_u64().unwrap())
        .collect();
    assert!(sev.windows(2).all(|w| w[0] <= w[1]), "severity order");
    assert_eq!(
        v["alerts"][0]["event"]["alert"]["category"], "test",
        "the EVE event rides along"
    );

    // CSV: a header and one row per alert.
    let (s, text) = col.get(
        &format!("/v1/alerts?{range}&format=csv&limit=5000"),
        Some(t),
    );
    assert_eq!(s, 200);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("timestamp,event_id,sensor_id,enterprise_id,province"));
    assert_eq!(lines.len(), 211);
    assert!(
        text.contains("\"ICSIGHT test signature 3 O'Brien\"")
            || text.contains("ICSIGHT test signature 3 O'Brien")
    );

    // Roll-ups: per 5 minutes and per hour, by severity, summing to the alerts.
    let (s, v) = query(&col, t, &format!("rollup?{range}&step=5m&by=severity"));
    assert_eq!(s, 200, "{v}");
    let total: u64 = v["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["points"].as_array().unwrap())
        .map(|p| p["alerts"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 210);
    assert_eq!(v["series"].as_array().unwrap().len(), 3);
    let (_, v) = query(&col, t, &format!("rollup?{range}&step=1h&by=province"));
    let per: Vec<(String, u64)> = v["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().to_owned(),
                s["points"][0]["alerts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per, [("330000".to_owned(), 120), ("440000".to_owned(), 90)]);
    assert!(v["series"][0]["points"][0]["sources"].as_u64().unwrap() > 1);

    // Scope: the provincial analyst sees only their province and cannot ask for another.
    let (_, v) = query(
        &col,
        ANALYST_ZJ_TOKEN,
        &format!("alerts?{range}&limit=1000"),
    );
    assert_eq!(ids(&v).len(), 120);
    assert!(ids(&v).iter().all(|i| i.starts_with("zj-s1-")));
    let (s, v) = query(
        &col,
        ANALYST_ZJ_TOKEN,
        &format!("alerts?{range}&province=440000"),
    );
    assert_eq!(s, 403, "{v}");
    let (_, v) = query(
        &col,
        ANALYST_ZJ_TOKEN,
        &format!("rollup?{range}&step=1h&by=province"),
    );
    assert_eq!(v["series"].as_array().unwrap().len(), 1);
    // Retention drops whole days older than its period, here alerts of 2020, and nothing else;
    // a second migrate has nothing to do.
    let old: Vec<Value> = (0..5)
        .map(|n| {
            let mut a = alert(&S1, 10_000 + n);
            a["timestamp"] = json!(format!("2020-03-0{}T12:00:00.000000+0000", n + 1));
            a
        })
        .collect();
    std::fs::write(tmp.path().join("old.ndjson"), ndjson(&old)).expect("write");
    let (got, text) = post(&col, &tmp.path().join("old.ndjson"), &token_of(&col, &S1));
    assert_eq!(got, 200, "{text}");
    assert_eq!(ch.count("SELECT count() FROM q.alerts"), 215);
    let config = std::fs::read_to_string(&col.config)
        .expect("config")
        .replace(
            "retention_days = 0\nrollup_retention_days = 0",
            "retention_days = 30\nrollup_retention_days = 365",
        );
    let kept = tmp.path().join("retention.toml");
    std::fs::write(&kept, config).expect("write");
    let out = icsight_tests::cluster::collector(&["retention", "--config", kept.to_str().unwrap()]);
    assert!(out.contains("dropped 11 partition(s)"), "{out}");
    assert!(
        out.contains("alerts/20200301") && out.contains("alerts_1h/202003"),
        "{out}"
    );
    assert_eq!(ch.count("SELECT count() FROM q.alerts"), 210);
    assert_eq!(ch.count("SELECT sum(alerts) FROM q.alerts_5m"), 210);
    let again = icsight_tests::cluster::collector(&["migrate", "--config", kept.to_str().unwrap()]);
    assert!(again.contains("nothing to do"), "{again}");

    // Sensors' tokens are not analysts', bad parameters are named.
    let sensor_token = std::fs::read_to_string(col.credentials(S1.id).2).unwrap();
    assert_eq!(
        query(&col, &sensor_token, &format!("alerts?{range}")).0,
        401
    );
    assert_eq!(col.get(&format!("/v1/alerts?{range}"), None).0, 401);
    for (q, needle) in [
        ("alerts?from=yesterday", "from"),
        ("alerts?sort=random", "sort"),
        ("alerts?limit=0", "limit"),
        ("alerts?cursor=zzz", "cursor"),
        ("alerts?ip=10.0.0", "ip"),
        ("alerts?severity=high", "severity"),
        ("rollup?by=signature", "by"),
        ("rollup?step=1d", "step"),
        ("rollup?ip=10.0.0.1", "ip"),
    ] {
        let (s, v) = query(&col, t, q);
        assert_eq!(s, 400, "{q}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|e| e.starts_with(needle)),
            "{q}: {v}"
        );
    }
}
