//! The analysts' API: alerts by any of their dimensions, sorted and paged by cursor, as JSON or
//! CSV; and roll-up series for charts.
//!
//! Every value a request carries is bound (`?`), never spliced into the SQL text; the only words
//! that vary in the text are chosen from fixed lists here. An analyst's scope (province,
//! enterprise) is a filter the request cannot widen.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::extract::{act, Authed};
use super::filter::{self, Arg, Filter};
use super::{ApiError, App, ErrorId};
use crate::account::Account;
use crate::config::TierRole;
use crate::event::AlertRow;
use crate::metrics::Endpoint;
use crate::store::settle;
use icsight_eve::Timestamp;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/alerts", get(alerts).route_layer(act("query.alerts")))
        .route("/v1/rollup", get(rollup).route_layer(act("query.rollup")))
}

fn bad(param: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("{param}: {message}"))
}

/// The filters alerts and roll-ups share.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertParams {
    /// RFC 3339 time or UNIX seconds; default 24 hours before `to`.
    pub from: Option<String>,
    /// Default now.
    pub to: Option<String>,
    pub province: Option<String>,
    pub enterprise: Option<String>,
    pub industry: Option<String>,
    pub sensor: Option<String>,
    /// One severity or a comma-separated list (`1,2`).
    pub severity: Option<String>,
    /// An ATT&CK for ICS technique id (`T0836`).
    pub technique: Option<String>,
    /// The application protocol (`modbus`, `s7comm`, `dnp3`, …).
    pub proto: Option<String>,
    /// `signature` or `baseline`.
    pub kind: Option<String>,
    /// Either end of the alert's tuple.
    pub ip: Option<String>,
    pub sid: Option<u32>,
    /// One alert, by its id (with `sensor`).
    pub event_id: Option<String>,
    /// Words in the signature, any case.
    pub q: Option<String>,
    /// `time_desc` (default), `time_asc` or `severity` (most severe first, then newest).
    pub sort: Option<String>,
    pub limit: Option<usize>,
    pub cursor: Option<String>,
    /// `json` (default) or `csv`; `Accept: text/csv` asks for CSV too.
    pub format: Option<String>,
    /// Roll-ups: `5m` or `1h`.
    pub step: Option<String>,
    /// Roll-ups: the dimension each series is.
    pub by: Option<String>,
}

fn time_param(name: &str, v: Option<&str>, default: u64) -> Result<u64, ApiError> {
    let Some(v) = v else { return Ok(default) };
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(secs);
    }
    Timestamp::parse(v).map(Timestamp::secs).ok_or_else(|| {
        bad(
            name,
            format!("{v:?} is not UNIX seconds or an RFC 3339 time"),
        )
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The scope filters: the account's own, narrowed (never widened) by the request's.
fn scope(who: &Account, p: &AlertParams, f: &mut Filter) -> Result<(), ApiError> {
    filter::scope(who, p.province.as_deref(), p.enterprise.as_deref(), f)
}

/// Filters on an alert's dimensions that the roll-ups also have.
fn dimensions(p: &AlertParams, f: &mut Filter) -> Result<(), ApiError> {
    if let Some(i) = &p.industry {
        f.and("industry = ?", [Arg::Str(i.clone())]);
    }
    if let Some(s) = &p.severity {
        let list = s
            .split(',')
            .map(|x| x.trim().parse::<u32>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad("severity", format!("{s:?} is not a list of numbers")))?;
        f.and("has(?, toUInt32(severity))", [Arg::U32s(list)]);
    }
    if let Some(pr) = &p.proto {
        f.and("app_proto = ?", [Arg::Str(pr.clone())]);
    }
    if let Some(k) = &p.kind {
        f.and("kind = ?", [Arg::Str(k.clone())]);
    }
    Ok(())
}

/// The filter every query starts with: `column` (a time) within the request's range, the
/// analyst's scope, and the dimensions alerts and roll-ups share. Returns it with the range.
fn base_filter(
    who: &Account,
    p: &AlertParams,
    column: &str,
) -> Result<(Filter, u64, u64), ApiError> {
    let to = time_param("to", p.to.as_deref(), now())?;
    let from = time_param("from", p.from.as_deref(), to.saturating_sub(86_400))?;
    let mut f = Filter::default();
    f.and(
        &format!("{column} >= ? AND {column} <= ?"),
        [
            Arg::U32(from.min(u32::MAX as u64) as u32),
            Arg::U32(to.min(u32::MAX as u64) as u32),
        ],
    );
    scope(who, p, &mut f)?;
    dimensions(p, &mut f)?;
    Ok((f, from, to))
}

#[derive(Serialize)]
struct AlertJson<'a> {
    timestamp: String,
    event_id: &'a str,
    sensor_id: &'a str,
    enterprise_id: &'a str,
    province: &'a str,
    industry: &'a str,
    grade: u8,
    flow_id: u64,
    src_ip: &'a str,
    src_port: u16,
    dest_ip: &'a str,
    dest_port: u16,
    proto: &'a str,
    app_proto: &'a str,
    kind: &'a str,
    sid: u32,
    rev: u32,
    signature: &'a str,
    category: &'a str,
    severity: u8,
    techniques: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    anomaly_event: &'a str,
    /// The EVE event as the sensor wrote it.
    event: Option<&'a RawValue>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sort {
    TimeDesc,
    TimeAsc,
    Severity,
}

impl Sort {
    fn parse(v: Option<&str>) -> Result<Sort, ApiError> {
        Ok(match v.unwrap_or("time_desc") {
            "time_desc" => Sort::TimeDesc,
            "time_asc" => Sort::TimeAsc,
            "severity" => Sort::Severity,
            other => {
                return Err(bad(
                    "sort",
                    format!("{other:?}: use time_desc, time_asc or severity"),
                ))
            }
        })
    }

    fn name(self) -> &'static str {
        match self {
            Sort::TimeDesc => "time_desc",
            Sort::TimeAsc => "time_asc",
            Sort::Severity => "severity",
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            Sort::TimeDesc => "ts_us DESC, event_id DESC",
            Sort::TimeAsc => "ts_us ASC, event_id ASC",
            Sort::Severity => "severity ASC, ts_us DESC, event_id DESC",
        }
    }
}

/// Where the next page starts: the sort keys of the last row served.
#[derive(Debug, PartialEq)]
struct Cursor {
    sort: Sort,
    severity: u8,
    ts_us: u64,
    event_id: String,
}

impl Cursor {
    fn encode(&self) -> String {
        let text = format!(
            "{}|{}|{}|{}",
            self.sort.name(),
            self.severity,
            self.ts_us,
            self.event_id
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    fn decode(v: &str, sort: Sort) -> Result<Cursor, ApiError> {
        let bad_cursor = || bad("cursor", "not a cursor this API gave out");
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(v)
            .map_err(|_| bad_cursor())?;
        let text = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
        let mut parts = text.splitn(4, '|');
        let (Some(s), Some(sev), Some(ts), Some(id)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad_cursor());
        };
        if s != sort.name() {
            return Err(bad(
                "cursor",
                format!("made for sort {s}, not {}", sort.name()),
            ));
        }
        Ok(Cursor {
            sort,
            severity: sev.parse().map_err(|_| bad_cursor())?,
            ts_us: ts.parse().map_err(|_| bad_cursor())?,
            event_id: id.to_owned(),
        })
    }

    /// The rows after this one in its sort.
    fn after(self, f: &mut Filter) {
        let (ts, id) = (Arg::U64(self.ts_us), Arg::Str(self.event_id));
        match self.sort {
            Sort::TimeDesc => f.and("(ts_us, event_id) < (?, ?)", [ts, id]),
            Sort::TimeAsc => f.and("(ts_us, event_id) > (?, ?)", [ts, id]),
            Sort::Severity => f.and(
                "(severity > ? OR (severity = ? AND (ts_us, event_id) < (?, ?)))",
                [
                    Arg::U32(self.severity.into()),
                    Arg::U32(self.severity.into()),
                    ts,
                    id,
                ],
            ),
        }
    }
}

const MAX_JSON_ROWS: usize = 1000;
const MAX_CSV_ROWS: usize = 1_000_000;

fn wants_csv(p: &AlertParams, headers: &HeaderMap) -> Result<bool, ApiError> {
    match p.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(other) => Err(bad("format", format!("{other:?}: use json or csv"))),
        None => Ok(headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/csv"))),
    }
}

/// `GET /v1/alerts`
pub async fn alerts(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    headers: HeaderMap,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let started = Instant::now();
    let r = alerts_inner(&app, &who.who, &headers, params).await;
    observe(&app, "alerts", started);
    who.answer(&app, r)
}

fn observe(app: &App, endpoint: &'static str, started: Instant) {
    app.metrics
        .queries
        .get_or_create(&Endpoint { endpoint })
        .inc();
    app.metrics
        .query_seconds
        .observe(started.elapsed().as_secs_f64());
}

fn params_of(
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Result<AlertParams, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::bad(e.body_text()))
}

pub(super) async fn alerts_inner(
    app: &App,
    who: &Account,
    headers: &HeaderMap,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let p = params_of(params)?;
    if p.step.is_some() || p.by.is_some() {
        return Err(bad("step", "step and by belong to /v1/rollup"));
    }
    let csv = wants_csv(&p, headers)?;
    let sort = Sort::parse(p.sort.as_deref())?;
    let max = if csv { MAX_CSV_ROWS } else { MAX_JSON_ROWS };
    let limit = p.limit.unwrap_or(if csv { 10_000 } else { 100 });
    if limit == 0 || limit > max {
        return Err(bad("limit", format!("{limit} is not 1-{max}")));
    }
    let f = alert_filter(who, &p, sort)?;
    if csv {
        return csv_export(app, f, sort, limit).await;
    }
    let (rows, next) = page_of(app, f, sort, limit).await?;
    let alerts: Vec<AlertJson<'_>> = rows.iter().map(to_json).collect();
    Ok(Json(serde_json::json!({ "alerts": alerts, "next_cursor": next })).into_response())
}

/// A page of the alerts `p` asks for within `who`'s scope, and the cursor of the next: what
/// `/v1/alerts` answers in JSON and the alerts page shows.
pub(super) async fn find(
    app: &App,
    who: &Account,
    p: &AlertParams,
) -> Result<(Vec<AlertRow>, Option<String>), ApiError> {
    let sort = Sort::parse(p.sort.as_deref())?;
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_JSON_ROWS {
        return Err(bad("limit", format!("{limit} is not 1-{MAX_JSON_ROWS}")));
    }
    let f = alert_filter(who, p, sort)?;
    page_of(app, f, sort, limit).await
}

/// The filter of `/v1/alerts`' parameters, scope first.
fn alert_filter(who: &Account, p: &AlertParams, sort: Sort) -> Result<Filter, ApiError> {
    let (mut f, _, _) = base_filter(who, p, "ts")?;
    if let Some(s) = &p.sensor {
        f.and("sensor_id = ?", [Arg::Str(s.clone())]);
    }
    if let Some(t) = &p.technique {
        f.and("has(techniques, ?)", [Arg::Str(t.clone())]);
    }
    if let Some(ip) = &p.ip {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(bad("ip", format!("{ip:?} is not an IP address")));
        }
        f.and(
            "(src_ip = ? OR dest_ip = ?)",
            [Arg::Str(ip.clone()), Arg::Str(ip.clone())],
        );
    }
    if let Some(sid) = p.sid {
        f.and("sid = ?", [Arg::U32(sid)]);
    }
    if let Some(id) = &p.event_id {
        f.and("event_id = ?", [Arg::Str(id.clone())]);
    }
    if let Some(q) = &p.q {
        f.and(
            "positionCaseInsensitiveUTF8(signature, ?) > 0",
            [Arg::Str(q.clone())],
        );
    }
    if let Some(c) = &p.cursor {
        Cursor::decode(c, sort)?.after(&mut f);
    }
    Ok(f)
}

async fn page_of(
    app: &App,
    f: Filter,
    sort: Sort,
    limit: usize,
) -> Result<(Vec<AlertRow>, Option<String>), ApiError> {
    let sql = format!(
        "SELECT ?fields FROM alerts{} ORDER BY {} LIMIT {}",
        f.sql,
        sort.order_by(),
        limit
    );
    let rows: Vec<AlertRow> = f
        .bind(app.store.client().query(&sql))
        .fetch_all()
        .await
        .map_err(|e| app.storage_error(e))?;
    let next = (rows.len() == limit).then(|| {
        let last = rows.last().expect("limit is at least 1");
        Cursor {
            sort,
            severity: last.severity,
            ts_us: last.ts_us,
            event_id: last.event_id.clone(),
        }
        .encode()
    });
    Ok((rows, next))
}

fn to_json(r: &AlertRow) -> AlertJson<'_> {
    AlertJson {
        timestamp: Timestamp(r.ts_us).rfc3339(),
        event_id: &r.event_id,
        sensor_id: &r.sensor_id,
        enterprise_id: &r.enterprise_id,
        province: &r.province,
        industry: &r.industry,
        grade: r.grade,
        flow_id: r.flow_id,
        src_ip: &r.src_ip,
        src_port: r.src_port,
        dest_ip: &r.dest_ip,
        dest_port: r.dest_port,
        proto: &r.proto,
        app_proto: &r.app_proto,
        kind: &r.kind,
        sid: r.sid,
        rev: r.rev,
        signature: &r.signature,
        category: &r.category,
        severity: r.severity,
        techniques: &r.techniques,
        anomaly_event: &r.anomaly_event,
        event: serde_json::from_str(&r.raw).ok(),
    }
}

/// An alert as a CSV export reads it: the columns of the file, not the stored EVE line.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct CsvRow {
    ts_us: u64,
    event_id: String,
    sensor_id: String,
    enterprise_id: String,
    province: String,
    industry: String,
    grade: u8,
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
    proto: String,
    app_proto: String,
    kind: String,
    sid: u32,
    signature: String,
    category: String,
    severity: u8,
    techniques: Vec<String>,
}

/// What a page's last row says of the next page.
#[derive(Debug, clickhouse::Row, Deserialize)]
struct Key {
    severity: u8,
    ts_us: u64,
    event_id: String,
}

const CSV_HEADER: [&str; 19] = [
    "timestamp",
    "event_id",
    "sensor_id",
    "enterprise_id",
    "province",
    "industry",
    "grade",
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "proto",
    "app_proto",
    "kind",
    "sid",
    "signature",
    "category",
    "severity",
    "techniques",
];

/// CSV is written out in chunks of about this many bytes.
const CSV_CHUNK: usize = 64 * 1024;

/// A page of alerts as CSV, streamed: rows go out as ClickHouse sends them, in chunks, so an
/// export of a million rows holds one chunk in memory, not the page; the stored EVE line is
/// left out. Exports run `server.max_concurrent_exports` at a time; the next page's cursor is
/// read first (the key of the page's last row) and rides in the `X-Next-Cursor` header.
async fn csv_export(app: &App, f: Filter, sort: Sort, limit: usize) -> Result<Response, ApiError> {
    let Ok(turn) = app.guards.exports.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "busy",
            "too many exports in progress: try again shortly",
        ));
    };
    let client = app.store.client();
    let key_sql = format!(
        "SELECT ?fields FROM alerts{} ORDER BY {} LIMIT 1 OFFSET {}",
        f.sql,
        sort.order_by(),
        limit - 1
    );
    let last: Vec<Key> = f
        .clone()
        .bind(client.query(&key_sql))
        .fetch_all()
        .await
        .map_err(|e| app.storage_error(e))?;
    let next = last.first().map(|k| {
        Cursor {
            sort,
            severity: k.severity,
            ts_us: k.ts_us,
            event_id: k.event_id.clone(),
        }
        .encode()
    });
    let sql = format!(
        "SELECT ?fields FROM alerts{} ORDER BY {} LIMIT {}",
        f.sql,
        sort.order_by(),
        limit
    );
    let mut rows = f
        .bind(client.query(&sql))
        .fetch::<CsvRow>()
        .map_err(|e| app.storage_error(e))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    tokio::spawn(async move {
        let _turn = turn;
        let mut w = csv::Writer::from_writer(Vec::with_capacity(CSV_CHUNK * 2));
        let mut ok = w.write_record(CSV_HEADER).is_ok();
        while ok {
            match rows.next().await {
                Ok(Some(r)) => ok = csv_row(&mut w, &r).is_ok(),
                Ok(None) => break,
                Err(e) => {
                    // The answer has begun: all that can be done is to cut it short, which
                    // the client sees as a broken transfer, not a complete file.
                    let id = ErrorId::new();
                    tracing::error!(error_id = %id, error = %e, "CSV export failed midway");
                    let _ = tx
                        .send(Err(std::io::Error::other(format!("error id {id}"))))
                        .await;
                    return;
                }
            }
            if w.get_ref().len() >= CSV_CHUNK {
                let full = std::mem::replace(&mut w, csv::Writer::from_writer(Vec::new()));
                let Ok(chunk) = full.into_inner() else { return };
                if tx.send(Ok(chunk)).await.is_err() {
                    return; // the client left
                }
            }
        }
        if let Ok(rest) = w.into_inner() {
            let _ = tx.send(Ok(rest)).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let mut resp = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"alerts.csv\"",
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response();
    if let Some(n) = next.and_then(|n| n.parse().ok()) {
        resp.headers_mut().insert("x-next-cursor", n);
    }
    Ok(resp)
}

fn csv_row(w: &mut csv::Writer<Vec<u8>>, r: &CsvRow) -> csv::Result<()> {
    w.write_record([
        Timestamp(r.ts_us).rfc3339().as_str(),
        &r.event_id,
        &r.sensor_id,
        &r.enterprise_id,
        &r.province,
        &r.industry,
        &r.grade.to_string(),
        &r.src_ip,
        &r.src_port.to_string(),
        &r.dest_ip,
        &r.dest_port.to_string(),
        &r.proto,
        &r.app_proto,
        &r.kind,
        &r.sid.to_string(),
        &r.signature,
        &r.category,
        &r.severity.to_string(),
        &r.techniques.join(" "),
    ])
}

#[derive(Debug, clickhouse::Row, Deserialize)]
struct Point {
    t: u32,
    key: String,
    alerts: u64,
    sources: u64,
}

#[derive(Serialize)]
struct SeriesPoint {
    t: String,
    alerts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sources: Option<u64>,
}

#[derive(Serialize)]
struct Series {
    key: String,
    points: Vec<SeriesPoint>,
}

/// The roll-up column a series may be keyed by.
fn by_column(by: Option<&str>) -> Result<&'static str, ApiError> {
    Ok(match by.unwrap_or("") {
        "" => "'all'",
        "severity" => "toString(severity)",
        "technique" => "technique",
        "proto" => "app_proto",
        "province" => "province",
        "enterprise" => "enterprise_id",
        "industry" => "industry",
        "grade" => "toString(grade)",
        "kind" => "kind",
        other => {
            return Err(bad(
                "by",
                format!(
                    "{other:?}: use severity, technique, proto, province, enterprise, industry, grade or kind"
                ),
            ))
        }
    })
}

/// `GET /v1/rollup`
pub async fn rollup(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let started = Instant::now();
    let r = rollup_inner(&app, &who.who, params).await;
    observe(&app, "rollup", started);
    who.answer(&app, r)
}

async fn rollup_inner(
    app: &App,
    who: &Account,
    params: Result<Query<AlertParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let p = params_of(params)?;
    for (name, set) in [
        ("sensor", p.sensor.is_some()),
        ("ip", p.ip.is_some()),
        ("sid", p.sid.is_some()),
        ("q", p.q.is_some()),
        ("sort", p.sort.is_some()),
        ("cursor", p.cursor.is_some()),
        ("limit", p.limit.is_some()),
        ("format", p.format.is_some()),
    ] {
        if set {
            return Err(bad(name, "not a roll-up dimension; use /v1/alerts"));
        }
    }
    let step = p.step.as_deref().unwrap_or("5m");
    // The national tier reads the roll-ups the provinces report (the latest version of each
    // bucket); the others their own alerts' roll-ups.
    let national = app.config.tier.role == TierRole::National;
    let (table, measures, hourly) = match (step, national) {
        ("5m", false) => (
            "alerts_5m",
            "sum(alerts) AS alerts, toUInt64(0) AS sources",
            false,
        ),
        ("1h", false) => (
            "alerts_1h",
            "countMerge(alerts) AS alerts, uniqMerge(sources) AS sources",
            true,
        ),
        ("5m", true) | ("1h", true) => (
            "tier_rollup_5m",
            "sum(alerts) AS alerts, toUInt64(0) AS sources",
            false,
        ),
        (other, _) => return Err(bad("step", format!("{other:?}: use 5m or 1h"))),
    };
    let bucket = if national && step == "1h" {
        "toUInt32(toStartOfHour(bucket))"
    } else {
        "toUInt32(bucket)"
    };
    let key = by_column(p.by.as_deref())?;
    let (mut f, from, to) = base_filter(who, &p, "bucket")?;
    if let Some(t) = &p.technique {
        f.and("technique = ?", [Arg::Str(t.clone())]);
    }
    let source = if national {
        // Settled days plainly, the others with FINAL: the latest version of each bucket.
        let settled = settle::settled(app.store.client(), app.store.db(), table)
            .await
            .map_err(|e| app.storage_error(e))?;
        let filter = f.sql.replacen(" WHERE ", " AND ", 1);
        settle::source(table, &settled, &filter, &mut f.args)
    } else {
        format!("{table}{}", f.sql)
    };
    let mut sql = String::new();
    let _ = write!(
        sql,
        "SELECT {bucket} AS t, {key} AS key, {measures} FROM {source} \
         GROUP BY t, key ORDER BY key, t"
    );
    let points: Vec<Point> = f
        .bind(app.store.client().query(&sql))
        .fetch_all()
        .await
        .map_err(|e| app.storage_error(e))?;
    let mut series: Vec<Series> = Vec::new();
    for pt in points {
        if series.last().is_none_or(|s| s.key != pt.key) {
            series.push(Series {
                key: pt.key.clone(),
                points: Vec::new(),
            });
        }
        let s = series.last_mut().expect("pushed above");
        s.points.push(SeriesPoint {
            t: Timestamp(u64::from(pt.t) * 1_000_000).rfc3339(),
            alerts: pt.alerts,
            sources: hourly.then_some(pt.sources),
        });
    }
    Ok(Json(serde_json::json!({
        "step": step,
        "by": p.by.as_deref().unwrap_or(""),
        "from": Timestamp(from * 1_000_000).rfc3339(),
        "to": Timestamp(to * 1_000_000).rfc3339(),
        "series": series,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn cursors_round_trip_and_refuse_other_sorts() {
        let c = Cursor {
            sort: Sort::Severity,
            severity: 2,
            ts_us: 1_795_282_860_765_135,
            event_id: "abc-1|x".into(),
        };
        let text = c.encode();
        assert_eq!(Cursor::decode(&text, Sort::Severity).unwrap(), c);
        assert!(Cursor::decode(&text, Sort::TimeDesc).is_err());
        assert!(Cursor::decode("!!", Sort::TimeDesc).is_err());
    }

    #[test]
    fn scope_cannot_be_widened() {
        let who = Account {
            name: "zj".into(),
            role: crate::account::Role::Analyst,
            password_argon2: String::new(),
            token_sha256: String::new(),
            token_expires: String::new(),
            province: "330000".into(),
            enterprise_id: String::new(),
            industry: String::new(),
            email: String::new(),
            webhook: String::new(),
            webhook_secret_file: Default::default(),
            lang: String::new(),
            notify: None,
        };
        let mut f = Filter::default();
        let p = AlertParams {
            province: Some("110000".into()),
            ..Default::default()
        };
        assert_eq!(
            scope(&who, &p, &mut f).unwrap_err().status(),
            StatusCode::FORBIDDEN
        );
        let mut f = Filter::default();
        scope(&who, &AlertParams::default(), &mut f).unwrap();
        assert_eq!(f.sql, " WHERE province = ?");
    }

    #[test]
    fn by_is_a_fixed_list() {
        assert!(by_column(Some("severity); DROP TABLE alerts")).is_err());
        assert_eq!(by_column(Some("enterprise")).unwrap(), "enterprise_id");
    }
}
