//! `POST /v1/ingest`: a batch of a sensor's (or a lower tier's) events, NDJSON, compressed.
//!
//! The sender is authenticated before the body is read ([`Authed<Sender>`]) and a refused one's
//! body is discarded unread; the body is read within the request's time, bounded, decompressed,
//! bounded again, and handed to the tier: checked whole first
//! ([`check_batch`]: one bad line refuses the batch with a 4xx naming the line, and nothing of
//! it is stored), then stored, escalated and forwarded. Its rows join the insert buffers of
//! their tables, shared by every batch of the moment (`store::buffer`), and the answer waits
//! until those buffers are written: an acknowledged batch is durable. A batch that was stored
//! before (the sensor resends what it did not see acknowledged) stores nothing twice: it is
//! stored to the end even if its sender hangs up, and a sensor's rows always go through the
//! same buffer, one after another, so a copy sent again finds the first.

use std::io::Read;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Serialize;
use tracing::Instrument;

use super::extract::linger;
use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::auth::Sender;
use crate::metrics::Outcome;
use crate::tier::ingest::{self, check_batch, Fault, LineFault, Policy};
use crate::tier::report::{Incident, Report};

pub fn router() -> Router<Arc<App>> {
    Router::new().route("/v1/ingest", post(ingest).route_layer(act("ingest")))
}

/// What an accepted batch did.
#[derive(Debug, Serialize)]
pub struct Accepted {
    pub accepted: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub skipped: usize,
}

async fn ingest(
    State(app): State<Arc<App>>,
    sender: Result<Authed<Sender>, ApiError>,
    version: Version,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let sender = match sender {
        Ok(s) => s,
        Err(refused) => {
            // Refused (and audited) from the headers and certificate alone: the body is
            // discarded unread, briefly, and an HTTP/1 connection is closed after the answer,
            // so an unauthenticated client holds neither memory nor the connection.
            linger(body);
            count(&app, refused.outcome());
            tracing::warn!(status = %refused.status(), error = %refused, "batch refused");
            let mut r = refused.into_response();
            if version < Version::HTTP_2 {
                r.headers_mut().insert(
                    header::CONNECTION,
                    header::HeaderValue::from_static("close"),
                );
            }
            return r;
        }
    };
    // Run to the end on its own task: a sender hanging up must not stop a batch half stored.
    let task = {
        let (app, who) = (app.clone(), sender.who.clone());
        let span = tracing::info_span!("ingest", sender = %who.id());
        tokio::spawn(
            async move {
                // Batches in progress are bounded; one more waits its turn, within the
                // request's time, and holds it to the end.
                let busy = || {
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "busy",
                        "too many batches in progress: send again",
                    )
                };
                let deadline = tokio::time::Instant::from_std(started) + app.guards.request_timeout;
                let turn = tokio::time::timeout_at(deadline, app.guards.ingests.acquire()).await;
                let Ok(Ok(_turn)) = turn else {
                    return Err(busy());
                };
                accept(&app, &who, &headers, body, deadline).await
            }
            .instrument(span),
        )
    };
    let result = task.await.unwrap_or_else(|e| {
        Err(ApiError::internal(
            "storing the batch failed; send again",
            e,
        ))
    });
    match result {
        Ok(a) => {
            count(&app, "stored");
            app.metrics
                .batch_seconds
                .observe(started.elapsed().as_secs_f64());
            (StatusCode::OK, Json(a)).into_response()
        }
        Err(e) => {
            count(&app, e.outcome());
            if e.status().is_client_error() {
                tracing::warn!(status = %e.status(), error = %e, "batch refused");
            }
            // A line that speaks for another sensor is an attempt, audited as one.
            sender.answer(&app, Err(e))
        }
    }
}

fn count(app: &App, outcome: &'static str) {
    app.metrics
        .batches
        .get_or_create(&Outcome { outcome })
        .inc();
}

/// A line's fault as the answer tells it: `line 7: …`, with the status its kind has.
fn refusal(f: LineFault) -> ApiError {
    let (status, outcome) = match f.fault {
        Fault::Invalid => (StatusCode::BAD_REQUEST, "invalid"),
        Fault::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        Fault::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
    };
    ApiError::new(status, outcome, f.message).at(f.line)
}

async fn accept(
    app: &App,
    sender: &Sender,
    headers: &HeaderMap,
    body: Body,
    deadline: tokio::time::Instant,
) -> Result<Accepted, ApiError> {
    let limits = &app.config.server;
    // The body has what is left of the request's time to arrive: a sender holding it open
    // holds no slot long.
    let compressed = tokio::time::timeout_at(deadline, read_body(body, limits.max_body_kb * 1024))
        .await
        .unwrap_or(Err(BodyError::Slow))
        .map_err(|e| match e {
            BodyError::TooLarge => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("body larger than {} KiB", limits.max_body_kb),
            ),
            BodyError::Broken(e) => ApiError::bad(format!("body: {e}")),
            BodyError::Slow => ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "timeout",
                format!(
                    "body not received within {} s",
                    app.guards.request_timeout.as_secs_f64()
                ),
            ),
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
    let policy = Policy::of(&app.config, app.upstream.is_some());
    let checked =
        check_batch(&text, sender, &app.registry(), &policy, received).map_err(refusal)?;
    let unavailable = |e| app.storage_error(e);
    let up = app.upstream.as_deref();
    if let Some((id, province)) = ingest::foreign_incident(&app.store, &checked.reports)
        .await
        .map_err(unavailable)?
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("incident {id} belongs to province {province}"),
        ));
    }
    let totals = ingest::store_rows(&app.store, &app.metrics, &checked.batches)
        .await
        .map_err(unavailable)?;
    let arrived: Vec<Incident> = (checked.reports.iter())
        .filter_map(|r| match r {
            Report::Incident(i) => Some((**i).clone()),
            _ => None,
        })
        .collect();
    let reports = ingest::store_reports(
        &app.store,
        &app.bulletins,
        &app.incidents.coordination,
        up,
        checked.reports,
    )
    .await
    .map_err(unavailable)?;
    app.incidents.live.incidents(&arrived);
    for (_, batch) in &checked.batches {
        app.incidents.live.alerts(&batch.alerts);
        app.incidents
            .escalate(&batch.alerts, checked.relayed)
            .await
            .map_err(unavailable)?;
    }
    ingest::forward(up, &checked.forward);
    for s in checked.sensors {
        app.fleet.relayed(s);
    }
    for (who, beat) in checked.heartbeats {
        if let Some(outage) = app.fleet.heard(&who, beat, u64::from(received)) {
            back_online(app, &outage).await;
        }
    }
    app.metrics.duplicates.inc_by(totals.duplicates as u64);
    app.metrics.skipped.inc_by(checked.skipped as u64);
    Ok(Accepted {
        accepted: checked.accepted,
        stored: totals.stored + reports,
        duplicates: totals.duplicates,
        skipped: checked.skipped,
    })
}

/// A sensor heard again ends its outage: the `sensor_offline` incident is marked disposed by
/// this tier (unless someone moved it further meanwhile).
async fn back_online(app: &App, outage: &crate::tier::report::Incident) {
    let current = app
        .incidents
        .get(&outage.incident_id, Some(&outage.province), None)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| outage.clone());
    let moved = app
        .incidents
        .transition(
            &current,
            crate::tier::incident::State::Disposed,
            &app.config.tier.id,
            "the sensor is heard again",
        )
        .await;
    match moved {
        Ok(_) => {
            tracing::info!(incident = %outage.incident_id, sensor = %outage.sensor_id, "sensor back online")
        }
        Err(e) => {
            tracing::info!(incident = %outage.incident_id, sensor = %outage.sensor_id, error = %e, "sensor back online; its incident left as it is")
        }
    }
}

enum BodyError {
    TooLarge,
    Broken(axum::Error),
    Slow,
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
fn decompress(encoding: Option<&str>, body: &[u8], max: u64) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("batch larger than {} KiB once decompressed", max / 1024),
        )
    };
    let corrupt = |what: &str, e: std::io::Error| {
        ApiError::new(
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
            return Err(ApiError::new(
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
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let mut g = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        g.write_all(&text).unwrap();
        let g = g.finish().unwrap();
        assert_eq!(decompress(Some("gzip"), &g, 200_000).unwrap(), text);
        let r = decompress(Some("gzip"), &z, 200_000).unwrap_err();
        assert_eq!(
            (r.status(), r.outcome()),
            (StatusCode::BAD_REQUEST, "encoding")
        );
        let r = decompress(Some("br"), &z, 200_000).unwrap_err();
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let r = decompress(None, &text, 1000).unwrap_err();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
