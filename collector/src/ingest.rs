//! `POST /v1/ingest`: a batch of a sensor's events, NDJSON, compressed.
//!
//! A batch is checked whole before anything is written: one bad line refuses the batch with a
//! 4xx naming the line and the reason, and nothing of it is stored. A batch that was stored
//! before (the sensor resends what it did not see acknowledged) stores nothing twice: a sensor's
//! batches are stored one at a time (`Store::store`), each to the end even if its sender hangs
//! up, so a batch sent again while the first is still being stored (a timeout, a restarted
//! sensor) waits and finds it stored.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http_body_util::BodyExt;
use serde::Serialize;

use crate::auth::{Denied, Peer, Sender};
use crate::config::{SensorEntry, TierRole};
use crate::event::{self, AlertRow, LineError, Row};
use crate::metrics::{Outcome, Table};
use crate::registry::Registry;
use crate::report::{self, Report};
use crate::server::App;
use crate::store::Batch;

/// A refused request: its status, reason, and the line at fault if there is one.
#[derive(Debug, Serialize)]
pub struct Refusal {
    #[serde(skip)]
    pub status: StatusCode,
    #[serde(skip)]
    pub outcome: &'static str,
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

impl Refusal {
    pub fn new(status: StatusCode, outcome: &'static str, error: impl Into<String>) -> Refusal {
        Refusal {
            status,
            outcome,
            error: error.into(),
            line: None,
        }
    }

    fn at(mut self, line: usize) -> Refusal {
        self.error = format!("line {line}: {}", self.error);
        self.line = Some(line);
        self
    }
}

impl From<Denied> for Refusal {
    fn from(d: Denied) -> Refusal {
        let outcome = if d.status == StatusCode::UNAUTHORIZED {
            "unauthorized"
        } else {
            "forbidden"
        };
        Refusal::new(d.status, outcome, d.message)
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(&self)).into_response()
    }
}

/// What an accepted batch did.
#[derive(Debug, Serialize)]
pub struct Accepted {
    pub accepted: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub skipped: usize,
}

pub async fn ingest(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    // Run to the end on its own task: a sender hanging up must not stop a batch half stored.
    let task = {
        let (app, peer, headers) = (app.clone(), peer.clone(), headers.clone());
        tokio::spawn(async move { accept(&app, &peer, &headers, body).await })
    };
    let result = task.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "storing a batch failed");
        Err(Refusal::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed",
            "storing the batch failed; send again",
        ))
    });
    let outcome = match &result {
        Ok(_) => "stored",
        Err(r) => r.outcome,
    };
    app.metrics
        .batches
        .get_or_create(&Outcome { outcome })
        .inc();
    match result {
        Ok(a) => {
            app.metrics
                .batch_seconds
                .observe(started.elapsed().as_secs_f64());
            (StatusCode::OK, Json(a)).into_response()
        }
        Err(r) => {
            app.audit_refusal(&headers, &peer, "ingest", "/v1/ingest", &r);
            if r.status.is_client_error() {
                tracing::warn!(status = %r.status, error = %r.error, "batch refused");
            }
            r.into_response()
        }
    }
}

async fn accept(
    app: &Arc<App>,
    peer: &Peer,
    headers: &HeaderMap,
    body: Body,
) -> Result<Accepted, Refusal> {
    let limits = &app.config.server;
    // The body is read before anything is refused: a client cut off mid-upload sees a reset
    // stream (HTTP/2) or connection, not the answer that says why.
    let compressed = read_body(body, limits.max_body_kb * 1024).await;
    let sender = app.credentials.sender(headers, peer)?;
    let compressed = compressed.map_err(|e| match e {
        BodyError::TooLarge => Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("body larger than {} KiB", limits.max_body_kb),
        ),
        BodyError::Broken(e) => {
            Refusal::new(StatusCode::BAD_REQUEST, "invalid", format!("body: {e}"))
        }
    })?;
    let encoding = headers.get(header::CONTENT_ENCODING).map(|v| {
        v.to_str()
            .unwrap_or("(not text)")
            .trim()
            .to_ascii_lowercase()
    });
    let text = decompress(encoding.as_deref(), &compressed, limits.max_batch_kb * 1024)?;
    let received = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    let max_line = limits.max_line_kb * 1024;
    let registry = app.registry();
    // Rows by the sensor they are stored under: one for a sensor, any of its scope for a
    // collector below.
    let mut batches: Vec<(SensorEntry, Batch)> = Vec::new();
    let mut reports: Vec<Report> = Vec::new();
    let mut forward: Vec<Vec<u8>> = Vec::new();
    // Alerts to escalate, and whether only by criteria that span enterprises (relayed ones
    // were escalated by their enterprise's tier already).
    let mut alerts: Vec<AlertRow> = Vec::new();
    let relayed = matches!(sender, Sender::Collector(_));
    // (sensor, event id) → line: event ids are unique to their sensor, and a collector's batch
    // holds many sensors'.
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    let (mut accepted, mut skipped) = (0, 0);
    let tier = &app.config.tier;
    let forward_all = tier.role == TierRole::Enterprise;
    let forward_max = app.config.upstream.forward_max_severity;
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if raw.len() > max_line {
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("longer than {} KiB", limits.max_line_kb),
            )
            .at(n));
        }
        accepted += 1;
        if accepted > limits.max_batch_events {
            return Err(Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("more than {} events in one batch", limits.max_batch_events),
            )
            .at(n));
        }
        let line = std::str::from_utf8(raw).map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("not UTF-8: {e}"),
            )
            .at(n)
        })?;
        let refuse = |e: LineError| match e {
            LineError::Invalid(m) => Refusal::new(StatusCode::BAD_REQUEST, "invalid", m).at(n),
            LineError::Forbidden(m) => Refusal::new(StatusCode::FORBIDDEN, "forbidden", m).at(n),
        };
        let who = match sender {
            Sender::Sensor(s) => bound(s, &registry),
            Sender::Collector(c) => match report::parse(line, c).map_err(refuse)? {
                report::Line::Event(who) => who,
                report::Line::Report(r) => {
                    reports.push(r);
                    continue;
                }
            },
        };
        let row = event::parse(line, &who, received, |t| {
            app.config.storage.transactions.iter().any(|s| s == t)
        })
        .map_err(refuse)?;
        let Some(row) = row else {
            skipped += 1;
            continue;
        };
        if let Some(first) = seen.insert((who.id.clone(), row.event_id().to_owned()), n) {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("event_id {:?} repeats line {first}", row.event_id()),
            )
            .at(n));
        }
        if app.upstream.is_some() {
            let serious = matches!(&row, Row::Alert(a) if a.severity <= forward_max);
            if forward_all || serious {
                forward.extend(report::forwarded(line, &who));
            }
        }
        if let Row::Alert(a) = &row {
            alerts.push(a.clone());
        }
        match batches.iter_mut().find(|(w, _)| w.id == who.id) {
            Some((_, b)) => b.push(row),
            None => {
                let mut b = Batch::default();
                b.push(row);
                batches.push((who, b));
            }
        }
    }
    let unavailable = |e: clickhouse::error::Error| {
        app.metrics.clickhouse_errors.inc();
        tracing::error!(error = %e, sender = %sender.id(), "storing a batch failed");
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("storage unavailable, send again later: {e}"),
        )
    };
    let (mut total, mut duplicates) = (0, 0);
    for (who, batch) in batches {
        let stored = app.store.store(&who, batch).await.map_err(unavailable)?;
        for (kind, s) in &stored {
            total += s.stored;
            duplicates += s.duplicates;
            app.metrics.repaired.inc_by(s.repaired);
            app.metrics
                .stored
                .get_or_create(&Table {
                    table: kind.table(),
                })
                .inc_by(s.stored as u64);
        }
    }
    total += store_reports(app, reports).await.map_err(unavailable)?;
    // Incidents are stored before the batch is acknowledged: a batch sent again after a
    // failure here is escalated again, and the same incident comes out.
    let incidents = app
        .escalator
        .observe(&alerts, crate::time::now_us(), relayed);
    if !incidents.is_empty() {
        crate::incident::record(app, &incidents)
            .await
            .map_err(unavailable)?;
    }
    if let Some(up) = &app.upstream {
        for l in &forward {
            up.push(l);
        }
    }
    app.metrics.duplicates.inc_by(duplicates as u64);
    app.metrics.skipped.inc_by(skipped as u64);
    Ok(Accepted {
        accepted,
        stored: total,
        duplicates,
        skipped,
    })
}

/// A sensor's binding, with industry and grade as the registry has them now.
fn bound(s: &SensorEntry, registry: &Registry) -> SensorEntry {
    let mut who = s.clone();
    if let Some(e) = registry.get(&s.enterprise_id) {
        who.industry = e.industry.clone();
        who.grade = e.grade;
    }
    who
}

/// Store the report rows of a lower tier; how many.
async fn store_reports(app: &App, reports: Vec<Report>) -> clickhouse::error::Result<usize> {
    let (mut rollups, mut counts, mut incidents, mut progress, mut enterprises) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let n = reports.len();
    for r in reports {
        match r {
            Report::Rollup(r) => rollups.push(r),
            Report::AssetCount(r) => counts.push(r),
            Report::Incident(r) => incidents.push(r),
            Report::Progress(r) => progress.push(r),
            Report::Enterprise(r) => enterprises.push(r),
        }
    }
    let store = &app.store;
    store.insert("tier_rollup_5m", &rollups).await?;
    store.insert("asset_counts", &counts).await?;
    store.insert("incidents", &incidents).await?;
    store.insert("bulletin_progress", &progress).await?;
    for p in &progress {
        app.bulletins
            .first(&p.bulletin_id, &p.enterprise_id, &p.state);
    }
    store.insert("enterprises", &enterprises).await?;
    // The tier above hears of incidents and progress at once, not at its next report.
    let lines: Vec<Vec<u8>> = (incidents.iter().map(report::incident_line))
        .chain(progress.iter().map(report::progress_line))
        .collect();
    app.report_now(&lines);
    Ok(n)
}

enum BodyError {
    TooLarge,
    Broken(axum::Error),
}

/// What an oversized body is still read (and thrown away) for, so its sender gets the 413.
const DRAIN_MAX: u64 = 64 << 20;

/// The request body, at most `max` bytes. An oversized body is read on to its end (up to
/// [`DRAIN_MAX`] more) and dropped.
async fn read_body(body: Body, max: u64) -> Result<Vec<u8>, BodyError> {
    let mut body = body;
    let mut out = Vec::new();
    let mut total = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(BodyError::Broken)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total += data.len() as u64;
        if total <= max {
            out.extend_from_slice(&data);
        } else if total > max + DRAIN_MAX {
            break;
        }
    }
    if total > max {
        return Err(BodyError::TooLarge);
    }
    Ok(out)
}

/// The batch as text, no longer than `max` bytes once decompressed.
fn decompress(encoding: Option<&str>, body: &[u8], max: u64) -> Result<Vec<u8>, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("batch larger than {} KiB once decompressed", max / 1024),
        )
    };
    let corrupt = |what: &str, e: std::io::Error| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            "encoding",
            format!("body is not valid {what}: {e}"),
        )
    };
    let mut out = Vec::new();
    let read = match encoding {
        None | Some("identity") => {
            if body.len() as u64 > max {
                return Err(too_large());
            }
            return Ok(body.to_vec());
        }
        Some("zstd") => zstd::stream::read::Decoder::new(body)
            .and_then(|d| d.take(max + 1).read_to_end(&mut out))
            .map_err(|e| corrupt("zstd", e)),
        Some("gzip") => flate2::read::MultiGzDecoder::new(body)
            .take(max + 1)
            .read_to_end(&mut out)
            .map_err(|e| corrupt("gzip", e)),
        Some(other) => {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "encoding",
                format!("Content-Encoding {other:?}: use zstd, gzip or identity"),
            ))
        }
    };
    read?;
    if out.len() as u64 > max {
        return Err(too_large());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn decompression_is_bounded() {
        let text = vec![b'a'; 100_000];
        let z = zstd::encode_all(&text[..], 3).unwrap();
        assert_eq!(decompress(Some("zstd"), &z, 200_000).unwrap(), text);
        let r = decompress(Some("zstd"), &z, 50_000).unwrap_err();
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        g.write_all(&text).unwrap();
        let g = g.finish().unwrap();
        assert_eq!(decompress(Some("gzip"), &g, 200_000).unwrap(), text);
        let r = decompress(Some("gzip"), &z, 200_000).unwrap_err();
        assert_eq!((r.status, r.outcome), (StatusCode::BAD_REQUEST, "encoding"));
        let r = decompress(Some("br"), &z, 200_000).unwrap_err();
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r = decompress(None, &text, 1000).unwrap_err();
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}
