//! Storing incidents, sending them up, and the incidents API: list and read within the
//! account's scope, move on at the tier that owns them.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::{Incident, State as Lifecycle};
use crate::auth::Peer;
use crate::ingest::Refusal;
use crate::report;
use crate::server::App;
use crate::time::{now_s, now_us, parse_time};

/// Store incidents' new versions, count them and send them to the tier above at once.
async fn store_versions(app: &App, incidents: &[Incident]) -> clickhouse::error::Result<()> {
    app.store.insert("incidents", incidents).await?;
    app.metrics.incidents.inc_by(incidents.len() as u64);
    let lines: Vec<Vec<u8>> = incidents.iter().map(report::incident_line).collect();
    app.report_now(&lines);
    Ok(())
}

/// Store incidents' new versions and send them up at once; look for the evidence of the
/// newly opened ones in the background.
pub async fn record(app: &Arc<App>, incidents: &[Incident]) -> clickhouse::error::Result<()> {
    store_versions(app, incidents).await?;
    app.escalator.saved(incidents);
    for i in incidents
        .iter()
        .filter(|i| i.alerts == 1 && i.state == "open")
    {
        tracing::warn!(incident = %i.incident_id, criterion = %i.criterion, province = %i.province,
            enterprise = %i.enterprise_id, priority = i.priority, "incident opened");
        let app = app.clone();
        let i = i.clone();
        tokio::spawn(async move {
            if let Err(e) = enrich(&app, &i).await {
                tracing::warn!(incident = %i.incident_id, error = %e, "gathering evidence failed");
            }
        });
    }
    Ok(())
}

#[derive(clickhouse::Row, Deserialize)]
struct Raw {
    raw: String,
}

#[derive(clickhouse::Row, Deserialize, serde::Serialize)]
struct FlowSummary {
    flow_id: u64,
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
    app_proto: String,
    flow_start: u32,
    flow_end: u32,
    bytes_toserver: u64,
    bytes_toclient: u64,
    state: String,
}

/// The hosts of the first alert, from the inventory, and the flows between them in the hour
/// around it.
async fn enrich(app: &Arc<App>, i: &Incident) -> anyhow::Result<()> {
    let ev: super::Evidence = serde_json::from_str(&i.evidence)?;
    let Some(first) = ev.alerts.first() else {
        return Ok(());
    };
    let ip = |k: &str| {
        first
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned()
    };
    let (src, dest) = (ip("src_ip"), ip("dest_ip"));
    let enterprise = first
        .get("sensor")
        .and_then(|s| s.get("enterprise_id"))
        .and_then(|v| v.as_str())
        .map_or_else(|| i.enterprise_id.clone(), str::to_owned);
    let client = app.store.client();
    let assets: Vec<Raw> = client
        .query(
            "SELECT argMax(raw, ts_us) AS raw FROM assets_current \
             WHERE province = ? AND enterprise_id = ? AND has(?, ip) GROUP BY ip",
        )
        .bind(&i.province)
        .bind(&enterprise)
        .bind(vec![src.clone(), dest.clone()])
        .fetch_all()
        .await?;
    let t = i.opened;
    let flows: Vec<FlowSummary> = client
        .query(
            "SELECT flow_id, src_ip, src_port, dest_ip, dest_port, app_proto, \
             toUInt32(flow_start) AS flow_start, toUInt32(flow_end) AS flow_end, \
             bytes_toserver, bytes_toclient, state FROM flows \
             WHERE province = ? AND enterprise_id = ? AND ts >= ? AND ts <= ? \
             AND ((src_ip = ? AND dest_ip = ?) OR (src_ip = ? AND dest_ip = ?)) \
             ORDER BY ts DESC LIMIT 20",
        )
        .bind(&i.province)
        .bind(&enterprise)
        .bind(t.saturating_sub(3600))
        .bind(t + 3600)
        .bind(&src)
        .bind(&dest)
        .bind(&dest)
        .bind(&src)
        .fetch_all()
        .await?;
    let assets = assets
        .iter()
        .filter_map(|a| serde_json::from_str(&a.raw).ok())
        .collect();
    let flows = flows
        .iter()
        .filter_map(|f| serde_json::to_value(f).ok())
        .collect();
    if let Some(next) = app
        .escalator
        .enrich(&i.incident_id, assets, flows, now_us())
    {
        store_versions(app, std::slice::from_ref(&next)).await?;
        app.escalator.saved(std::slice::from_ref(&next));
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    pub state: Option<String>,
    pub province: Option<String>,
    pub enterprise: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u32>,
}

const COLUMNS: &str =
    "incident_id, province, enterprise_id, industry, grade, sensor_id, criterion, \
    title, priority, severity, technique, sid, state, toUInt32(opened) AS opened, \
    toUInt32(updated) AS updated, alerts, evidence, history, origin, version";

/// The incidents not yet closed, newest version of each: what the escalator takes back at
/// start.
pub async fn load_open(store: &crate::store::Store) -> clickhouse::error::Result<Vec<Incident>> {
    store
        .client()
        .query(&format!(
            "SELECT {COLUMNS} FROM incidents FINAL WHERE state != 'closed'"
        ))
        .fetch_all()
        .await
}

/// `GET /v1/incidents`: the newest version of each incident in scope, by priority.
pub async fn incidents(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = list(&app, &headers, params).await;
    app.answer(&headers, &peer, "incident.list", "/v1/incidents", r)
}

fn bad(param: &str, m: impl std::fmt::Display) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, "invalid", format!("{param}: {m}"))
}

async fn list(
    app: &App,
    headers: &HeaderMap,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Refusal> {
    let who = app.credentials.account(headers, now_s())?;
    let Query(p) =
        params.map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid", e.body_text()))?;
    let (province, enterprise) = who.narrow(p.province.as_deref(), p.enterprise.as_deref())?;
    let to = match &p.to {
        Some(t) => parse_time(t).ok_or_else(|| bad("to", "not a time"))? / 1_000_000,
        None => now_s() + 60,
    };
    let from = match &p.from {
        Some(t) => parse_time(t).ok_or_else(|| bad("from", "not a time"))? / 1_000_000,
        None => to.saturating_sub(30 * 86_400),
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit", format!("{limit} is not 1-1000")));
    }
    if let Some(s) = &p.state {
        if Lifecycle::parse(s).is_none() {
            return Err(bad(
                "state",
                format!("{s:?}: use open, acknowledged, disposed or closed"),
            ));
        }
    }
    let mut sql =
        format!("SELECT {COLUMNS} FROM incidents FINAL WHERE opened >= ? AND opened <= ?");
    if province.is_some() {
        sql.push_str(" AND province = ?");
    }
    if enterprise.is_some() {
        sql.push_str(" AND enterprise_id = ?");
    }
    if p.state.is_some() {
        sql.push_str(" AND state = ?");
    }
    sql.push_str(" ORDER BY priority DESC, updated DESC LIMIT ?");
    let mut q = app
        .store
        .client()
        .query(&sql)
        .bind(from.min(u64::from(u32::MAX)) as u32)
        .bind(to.min(u64::from(u32::MAX)) as u32);
    for v in [province, enterprise, p.state.clone()]
        .into_iter()
        .flatten()
    {
        q = q.bind(v);
    }
    let rows: Vec<Incident> = q
        .bind(limit)
        .fetch_all()
        .await
        .map_err(|e| app.storage_error(e))?;
    Ok(Json(serde_json::json!({
        "incidents": rows.iter().map(as_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// An incident as the API shows it: evidence and history as JSON, times as text.
fn as_json(i: &Incident) -> serde_json::Value {
    serde_json::json!({
        "incident_id": i.incident_id,
        "province": i.province,
        "enterprise_id": i.enterprise_id,
        "industry": i.industry,
        "grade": i.grade,
        "sensor_id": i.sensor_id,
        "criterion": i.criterion,
        "title": i.title,
        "priority": i.priority,
        "severity": i.severity,
        "technique": i.technique,
        "sid": i.sid,
        "state": i.state,
        "opened": crate::time::format_time(u64::from(i.opened) * 1_000_000),
        "updated": crate::time::format_time(u64::from(i.updated) * 1_000_000),
        "alerts": i.alerts,
        "evidence": serde_json::from_str::<serde_json::Value>(&i.evidence).unwrap_or_default(),
        "history": serde_json::from_str::<serde_json::Value>(&i.history).unwrap_or_default(),
        "origin": i.origin,
        "version": i.version,
    })
}

async fn load(app: &App, id: &str) -> Result<Option<Incident>, Refusal> {
    let rows: Vec<Incident> = app
        .store
        .client()
        .query(&format!(
            "SELECT {COLUMNS} FROM incidents FINAL WHERE incident_id = ? LIMIT 1"
        ))
        .bind(id)
        .fetch_all()
        .await
        .map_err(|e| app.storage_error(e))?;
    Ok(rows.into_iter().next())
}

/// `GET /v1/incidents/{id}`
pub async fn incident(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let who = app.credentials.account(&headers, now_s())?;
        match load(&app, &id).await? {
            Some(i) if who.sees(&i.province, &i.enterprise_id) => {
                Ok(Json(as_json(&i)).into_response())
            }
            // Outside the scope reads as absent: nothing about it leaks.
            _ => Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no incident {id:?} in {}'s scope", who.name),
            )),
        }
    }
    .await;
    app.answer(&headers, &peer, "incident.read", &id, r)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub state: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /v1/incidents/{id}/state`: move an incident on.
pub async fn transition(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Transition>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = move_on(&app, &headers, &id, body).await;
    app.audited(&headers, &peer, "incident.transition", &id, r)
}

async fn move_on(
    app: &Arc<App>,
    headers: &HeaderMap,
    id: &str,
    body: Result<Json<Transition>, axum::extract::rejection::JsonRejection>,
) -> Result<(Response, String), Refusal> {
    let who = app.credentials.account(headers, now_s())?;
    let Json(t) =
        body.map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid", e.body_text()))?;
    let to = Lifecycle::parse(&t.state).ok_or_else(|| {
        bad(
            "state",
            format!("{:?}: use acknowledged, disposed or closed", t.state),
        )
    })?;
    if t.note.chars().count() > 2000 {
        return Err(bad("note", "at most 2000 characters"));
    }
    let current = match load(app, id).await? {
        Some(i) if who.sees(&i.province, &i.enterprise_id) => i,
        _ => {
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no incident {id:?} in {}'s scope", who.name),
            ))
        }
    };
    who.may_write("move incidents on")?;
    if current.origin != app.config.tier.id {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "incident {id} is handled by {}: move it on there",
                current.origin
            ),
        ));
    }
    let next = app
        .escalator
        .transition(&current, to, &who.name, &t.note, now_us())
        .map_err(|m| Refusal::new(StatusCode::CONFLICT, "conflict", m))?;
    store_versions(app, std::slice::from_ref(&next))
        .await
        .map_err(|e| app.storage_error(e))?;
    let detail = format!("{} → {}", current.state, next.state);
    Ok((Json(as_json(&next)).into_response(), detail))
}
