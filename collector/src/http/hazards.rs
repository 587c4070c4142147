//! Exposure over HTTP: the advisories imported (`/v1/advisories`), the hazard register
//! (`/v1/hazards`: search, counts by province, industry and grade, one hazard with its
//! history, people's steps, inspectors' findings) and the asset inventory (`/v1/assets`),
//! each within the asking account's scope ([`crate::tier::hazard`] keeps the register).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{act, Authed};
use super::filter::{self, Arg, Filter};
use super::{time_json, ApiError, App};
use crate::account::Account;
use crate::tier::hazard::{Step, StepError};
use crate::tier::report::Hazard;
use crate::time::now_s;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v1/advisories",
            get(advisories).route_layer(act("advisory.list")),
        )
        .route(
            "/v1/advisories/{id}",
            get(advisory).route_layer(act("advisory.read")),
        )
        .route("/v1/hazards", get(hazards).route_layer(act("hazard.list")))
        .route(
            "/v1/hazards",
            post(inspect).route_layer(act("hazard.inspect")),
        )
        .route(
            "/v1/hazards/{id}",
            get(hazard).route_layer(act("hazard.read")),
        )
        .route(
            "/v1/hazards/{id}",
            post(step).route_layer(act("hazard.step")),
        )
        .route("/v1/assets", get(assets).route_layer(act("asset.list")))
        .route(
            "/v1/assets/{enterprise}/{ip}",
            get(asset).route_layer(act("asset.read")),
        )
}

/// Rows a list answers with at most.
const MAX_LIMIT: u64 = 1000;

/// The register's scope: the account's, narrowed by the request, and an industry authority's
/// industry.
fn register_scope(
    who: &Account,
    province: Option<&str>,
    enterprise: Option<&str>,
) -> Result<Filter, ApiError> {
    let mut f = Filter::default();
    filter::scope(who, province, enterprise, &mut f)?;
    if !who.industry.is_empty() {
        f.and("industry = ?", [Arg::Str(who.industry.clone())]);
    }
    Ok(f)
}

/// Whether `who` may move a hazard to `to`: verifying and reopening are an inspector's (an
/// account of the tier, not of the plant); the other steps anyone's who writes.
pub fn may_step(who: &Account, to: &str) -> bool {
    who.enterprise_id.is_empty() || !matches!(to, "verified" | "found")
}

/// Whether `who` sees hazard `h`.
fn sees(who: &Account, h: &Hazard) -> bool {
    who.sees(&h.province, &h.enterprise_id) && who.sees_industry(&h.industry)
}

fn overdue(h: &Hazard, now: u64) -> bool {
    h.state != "verified" && h.deadline != 0 && u64::from(h.deadline) < now
}

/// A hazard as the API shows it.
pub fn hazard_json(h: &Hazard) -> Value {
    json!({
        "hazard_id": h.hazard_id,
        "kind": h.kind,
        "state": h.state,
        "overdue": overdue(h, now_s()),
        "province": h.province,
        "enterprise_id": h.enterprise_id,
        "industry": h.industry,
        "grade": h.grade,
        "asset": {
            "ip": h.ip, "sensor_id": h.sensor_id, "vendor": h.vendor, "product": h.product,
            "model": h.model, "firmware": h.firmware,
        },
        "advisory_id": h.advisory_id,
        "title": h.title,
        "product_name": h.product_name,
        "confidence": h.confidence,
        "why": h.why,
        "cves": h.cves,
        "cvss": h.cvss,
        "vector": h.vector,
        "exploited": h.exploited != 0,
        "remediation": h.remediation,
        "fixed_in": h.fixed_in,
        "assignee": h.assignee,
        "deadline": time_json(h.deadline),
        "note": h.note,
        "evidence": h.evidence,
        "found": time_json(h.found),
        "updated": time_json(h.updated),
        "actor": h.actor,
        "origin": h.origin,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvisoryParams {
    /// Words in the title or id.
    q: Option<String>,
    vendor: Option<String>,
    cve: Option<String>,
    limit: Option<u64>,
}

#[derive(clickhouse::Row, Deserialize)]
struct AdvisorySummary {
    advisory_id: String,
    title: String,
    publisher: String,
    revision: String,
    tlp: String,
    initial: u32,
    current: u32,
    cves: Vec<String>,
    max_cvss: f64,
    exploited: u8,
    vendors: Vec<String>,
    products: u32,
}

/// `GET /v1/advisories`: newest first.
async fn advisories(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<AdvisoryParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
        let mut f = Filter::default();
        if let Some(q) = p.q.as_deref().filter(|q| !q.is_empty()) {
            f.and(
                "(positionCaseInsensitiveUTF8(title, ?) > 0 OR positionCaseInsensitiveUTF8(advisory_id, ?) > 0)",
                [Arg::Str(q.to_owned()), Arg::Str(q.to_owned())],
            );
        }
        if let Some(v) = p.vendor.as_deref().filter(|v| !v.is_empty()) {
            f.and(
                "arrayExists(x -> positionCaseInsensitiveUTF8(x, ?) > 0, vendors)",
                [Arg::Str(v.to_owned())],
            );
        }
        if let Some(c) = p.cve.as_deref().filter(|c| !c.is_empty()) {
            f.and("has(cves, ?)", [Arg::Str(c.to_uppercase())]);
        }
        let limit = p.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
        let sql = format!(
            "SELECT advisory_id, title, publisher, revision, tlp, initial, current, cves, \
             max_cvss, exploited, vendors, products FROM advisories FINAL{} \
             ORDER BY current DESC, advisory_id LIMIT {limit}",
            f.sql
        );
        let q = f.bind(app.store.client().query(&sql));
        let rows: Vec<AdvisorySummary> = q.fetch_all().await.map_err(|e| app.storage_error(e))?;
        let list: Vec<Value> = rows
            .into_iter()
            .map(|a| {
                json!({
                    "advisory_id": a.advisory_id, "title": a.title, "publisher": a.publisher,
                    "revision": a.revision, "tlp": a.tlp, "initial": time_json(a.initial),
                    "current": time_json(a.current), "cves": a.cves, "max_cvss": a.max_cvss,
                    "exploited": a.exploited != 0, "vendors": a.vendors, "products": a.products,
                })
            })
            .collect();
        Ok(Json(json!({ "advisories": list })).into_response())
    }
    .await;
    who.answer(&app, r)
}

/// `GET /v1/advisories/{id}`: the advisory as the matcher reads it.
async fn advisory(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = match advisory_json(&app, &id) {
        None => Err(ApiError::not_found(format!("no advisory {id:?}"))),
        Some(j) => Ok(Json(j).into_response()),
    };
    who.answer(&app, r)
}

/// Advisory `id` as the matcher reads it.
pub fn advisory_json(app: &App, id: &str) -> Option<Value> {
    let catalogue = app.hazards.catalogue();
    match catalogue.get(id) {
        None => None,
        Some(a) => {
            let products: Vec<Value> = a
                .products
                .iter()
                .map(|p| {
                    json!({
                        "product_id": p.id, "vendor": p.vendor, "product": p.product,
                        "name": p.name, "versions": p.range_text, "model_numbers": p.models,
                        "cpe": p.cpe,
                    })
                })
                .collect();
            let vulnerabilities: Vec<Value> = a
                .vulnerabilities
                .iter()
                .map(|v| {
                    json!({
                        "cve": v.cve, "cwe": v.cwe, "title": v.title,
                        "cvss": v.scores.values().map(|(s, _)| *s).fold(0.0, f64::max),
                        "exploited": v.exploited, "affected": v.affected,
                        "remediations": v.remediations.iter().map(|r| json!({
                            "category": r.category, "details": r.details, "url": r.url,
                            "products": r.products,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            Some(json!({
                "advisory_id": a.id, "title": a.title, "publisher": a.publisher,
                "revision": a.version, "status": a.status, "tlp": a.tlp,
                "initial": time_json(a.initial.clamp(0, i64::from(u32::MAX)) as u32),
                "current": time_json(a.current.clamp(0, i64::from(u32::MAX)) as u32),
                "cves": a.cves(), "max_cvss": a.max_cvss(), "exploited": a.exploited(),
                "products": products, "vulnerabilities": vulnerabilities,
            }))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HazardParams {
    pub province: Option<String>,
    pub enterprise: Option<String>,
    /// found, assigned, remediated, verified, or `open` (all but verified).
    pub state: Option<String>,
    pub kind: Option<String>,
    pub advisory: Option<String>,
    pub cve: Option<String>,
    pub ip: Option<String>,
    /// `true`: only those past their deadline and not verified.
    pub overdue: Option<bool>,
    pub limit: Option<u64>,
}

/// `GET /v1/hazards`: the register in scope, with counts by state, province, industry and
/// grade, and exposed devices by product and CVE.
async fn hazards(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<HazardParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
        Ok(Json(register(&app, &who.who, p).await?).into_response())
    }
    .await;
    who.answer(&app, r)
}

/// The register in `who`'s scope as `p` narrows it, with its counts: the API and the
/// register's page both read here.
pub async fn register(app: &App, who: &Account, p: HazardParams) -> Result<Value, ApiError> {
    let mut f = register_scope(who, p.province.as_deref(), p.enterprise.as_deref())?;
    match p.state.as_deref() {
        None | Some("") => {}
        Some("open") => f.and("state != 'verified'", []),
        Some(s) if crate::tier::report::HAZARD_STATES.contains(&s) => {
            f.and("state = ?", [Arg::Str(s.to_owned())]);
        }
        Some(s) => {
            return Err(ApiError::bad(format!(
                "state {s:?}: use found, assigned, remediated, verified or open"
            )))
        }
    }
    for (clause, value) in [
        ("kind = ?", &p.kind),
        ("advisory_id = ?", &p.advisory),
        ("ip = ?", &p.ip),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            f.and(clause, [Arg::Str(v.to_owned())]);
        }
    }
    if let Some(c) = p.cve.as_deref().filter(|c| !c.is_empty()) {
        f.and("has(cves, ?)", [Arg::Str(c.to_uppercase())]);
    }
    if p.overdue == Some(true) {
        f.and("state != 'verified' AND deadline < now()", []);
    }
    let limit = p.limit.unwrap_or(200).clamp(1, MAX_LIMIT);
    let query = |text: String| f.clone().bind(app.store.client().query(&text));
    let rows: Vec<Hazard> = query(format!(
        "SELECT ?fields FROM hazards FINAL{} \
         ORDER BY state = 'verified', cvss DESC, deadline LIMIT {limit}",
        f.sql
    ))
    .fetch_all()
    .await
    .map_err(|e| app.storage_error(e))?;
    #[derive(clickhouse::Row, Deserialize)]
    struct Count {
        key: String,
        open: u64,
        overdue: u64,
        verified: u64,
    }
    let mut counts = serde_json::Map::new();
    for (name, key) in [
        ("by_state", "state"),
        ("by_province", "province"),
        ("by_industry", "industry"),
        ("by_grade", "toString(grade)"),
        (
            "by_product",
            "concat(vendor, ' ', if(product != '', product, model))",
        ),
        ("by_cve", "arrayJoin(if(empty(cves), [''], cves))"),
    ] {
        let rows: Vec<Count> = query(format!(
            "SELECT {key} AS key, countIf(state != 'verified') AS open, \
             countIf(state != 'verified' AND deadline < now()) AS overdue, \
             countIf(state = 'verified') AS verified \
             FROM hazards FINAL{} GROUP BY key ORDER BY open DESC, key LIMIT 100",
            f.sql
        ))
        .fetch_all()
        .await
        .map_err(|e| app.storage_error(e))?;
        counts.insert(
            name.to_owned(),
            rows.into_iter()
                .map(|c| json!({"key": c.key, "open": c.open, "overdue": c.overdue, "verified": c.verified}))
                .collect::<Vec<_>>()
                .into(),
        );
    }
    let list: Vec<Value> = rows.iter().map(hazard_json).collect();
    Ok(json!({ "hazards": list, "counts": counts }))
}

/// The hazard `id` if `who` sees it.
async fn load_seen(app: &App, who: &Account, id: &str) -> Result<Hazard, ApiError> {
    match app
        .hazards
        .get(id)
        .await
        .map_err(|e| app.storage_error(e))?
    {
        Some(h) if sees(who, &h) => Ok(h),
        _ => Err(ApiError::not_found(format!(
            "no hazard {id:?} in {}'s scope",
            who.name
        ))),
    }
}

/// `GET /v1/hazards/{id}`: the hazard and every version of it.
async fn hazard(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = async { Ok(Json(one(&app, &who.who, &id).await?).into_response()) }.await;
    who.answer(&app, r)
}

/// Hazard `id` with its history, if `who` sees it.
pub async fn one(app: &App, who: &Account, id: &str) -> Result<Value, ApiError> {
    let h = load_seen(app, who, id).await?;
    let history = (app.hazards.history(id).await).map_err(|e| app.storage_error(e))?;
    let mut j = hazard_json(&h);
    j["history"] = history
        .iter()
        .map(|v| {
            json!({"state": v.state, "at": time_json(v.updated), "actor": v.actor,
                   "note": v.note, "assignee": v.assignee, "firmware": v.firmware})
        })
        .collect::<Vec<_>>()
        .into();
    Ok(j)
}

/// `POST /v1/hazards/{id}`: assign, remediate, verify or reopen.
async fn step(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Step>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(s)) => take_step(&app, &who.who, &id, s).await,
        Err(e) => Err(ApiError::bad(e.body_text())),
    };
    who.audited(&app, r)
}

/// A step on hazard `id` as `who`: the API and the register's page both act here.
pub async fn take_step(
    app: &App,
    who: &Account,
    id: &str,
    s: Step,
) -> Result<(Response, String), ApiError> {
    load_seen(app, who, id).await?;
    who.may_write("move hazards on")?;
    if !may_step(who, &s.state) {
        return Err(ApiError::forbidden(format!(
            "{} is an enterprise's account: an inspector of the tier verifies or reopens",
            who.name
        )));
    }
    let state = s.state.clone();
    let h = app
        .hazards
        .step(id, &s, &who.name, |_| Ok(()))
        .await
        .map_err(|e| match e {
            StepError::NotFound => ApiError::not_found(format!("no hazard {id:?}")),
            StepError::Invalid(m) => ApiError::bad(m),
            StepError::Elsewhere(o) => {
                ApiError::conflict(format!("hazard {id} is kept by {o}: move it on there"))
            }
            StepError::Storage(e) => app.storage_error(e),
        })?;
    Ok((
        Json(hazard_json(&h)).into_response(),
        format!("{id}: {state}"),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Finding {
    enterprise_id: String,
    title: String,
    evidence: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    cvss: f64,
    #[serde(default)]
    remediation: String,
    /// UNIX seconds; absent: by CVSS and grade.
    #[serde(default)]
    deadline: u32,
}

/// `POST /v1/hazards`: an inspector's finding (检查检测) into the register.
async fn inspect(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    body: Result<Json<Finding>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = async {
        let Json(f) = body.map_err(|e| ApiError::bad(e.body_text()))?;
        who.who.may_write("record inspection findings")?;
        if !who.who.enterprise_id.is_empty() {
            return Err(ApiError::forbidden(format!(
                "{} is an enterprise's account: findings are an inspector's",
                who.who.name
            )));
        }
        let registry = app.registry();
        let Some(e) = registry.get(&f.enterprise_id) else {
            return Err(ApiError::bad(format!(
                "enterprise_id {:?}: not in this tier's registry",
                f.enterprise_id
            )));
        };
        if !who.who.sees(&e.province, &e.enterprise_id) || !who.who.sees_industry(&e.industry) {
            return Err(ApiError::forbidden(format!(
                "enterprise {} is outside {}'s scope",
                e.enterprise_id, who.who.name
            )));
        }
        if f.title.trim().is_empty() || f.evidence.trim().is_empty() {
            return Err(ApiError::bad(
                "title and evidence: say what was found and how",
            ));
        }
        if f.title.len() > 1024 || f.evidence.len() > 32 << 10 || f.remediation.len() > 8 << 10 {
            return Err(ApiError::bad("title, evidence or remediation too long"));
        }
        if !(0.0..=10.0).contains(&f.cvss) {
            return Err(ApiError::bad("cvss: between 0 and 10"));
        }
        let h = Hazard {
            province: e.province.clone(),
            enterprise_id: e.enterprise_id.clone(),
            ip: f.ip.trim().to_owned(),
            title: f.title.trim().to_owned(),
            cvss: f.cvss,
            remediation: f.remediation.trim().to_owned(),
            deadline: f.deadline,
            evidence: f.evidence.trim().to_owned(),
            actor: who.who.name.clone(),
            ..Hazard::default()
        };
        let h = app
            .hazards
            .inspect(h)
            .await
            .map_err(|e| app.storage_error(e))?;
        let detail = format!("{}: inspection finding at {}", h.hazard_id, h.enterprise_id);
        Ok((
            (StatusCode::CREATED, Json(hazard_json(&h))).into_response(),
            detail,
        ))
    }
    .await;
    who.audited(&app, r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssetParams {
    province: Option<String>,
    enterprise: Option<String>,
    role: Option<String>,
    protocol: Option<String>,
    vendor: Option<String>,
    product: Option<String>,
    firmware: Option<String>,
    /// `true`: only devices with an open hazard.
    hazard: Option<bool>,
    limit: Option<u64>,
}

#[derive(clickhouse::Row, Deserialize)]
struct AssetRow {
    province: String,
    enterprise_id: String,
    ip: String,
    sensor_id: String,
    ts: u32,
    roles: Vec<String>,
    raw: String,
    open: u64,
    max_cvss: f64,
}

/// `GET /v1/assets`: the inventory in scope, each device with its identity and open hazards.
async fn assets(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<AssetParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
        let mut f = Filter::default();
        filter::scope(&who.who, p.province.as_deref(), p.enterprise.as_deref(), &mut f)?;
        if let Some(r) = p.role.as_deref().filter(|r| !r.is_empty()) {
            f.and("has(roles, ?)", [Arg::Str(r.to_owned())]);
        }
        for (field, value) in [
            ("vendor", &p.vendor),
            ("product", &p.product),
            ("firmware", &p.firmware),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                f.and(
                    &format!("positionCaseInsensitiveUTF8(visitParamExtractString(visitParamExtractRaw(visitParamExtractRaw(raw, 'asset'), 'identity'), '{field}'), ?) > 0"),
                    [Arg::Str(v.to_owned())],
                );
            }
        }
        if let Some(pr) = p.protocol.as_deref().filter(|v| !v.is_empty()) {
            f.and(
                "position(raw, ?) > 0",
                [Arg::Str(format!("\"{}\"", pr.replace(['"', '\\'], "")))],
            );
        }
        let having = if p.hazard == Some(true) { "WHERE open > 0" } else { "" };
        let limit = p.limit.unwrap_or(200).clamp(1, MAX_LIMIT);
        let text = format!(
            "SELECT a.province AS province, a.enterprise_id AS enterprise_id, a.ip AS ip, \
             a.sensor_id AS sensor_id, toUInt32(a.ts) AS ts, a.roles AS roles, a.raw AS raw, \
             h.open AS open, h.max_cvss AS max_cvss \
             FROM (SELECT province, enterprise_id, ip, sensor_id, ts, roles, raw, \
                   concat(enterprise_id, '|', ip) AS key FROM assets_current FINAL{}) AS a \
             ANY LEFT JOIN (SELECT concat(enterprise_id, '|', ip) AS key, \
                   countIf(state != 'verified') AS open, \
                   maxIf(cvss, state != 'verified') AS max_cvss \
                   FROM hazards FINAL WHERE kind = 'advisory' GROUP BY key) AS h USING key \
             {having} ORDER BY open DESC, enterprise_id, ip LIMIT {limit}",
            f.sql
        );
        let q = f.bind(app.store.client().query(&text));
        let rows: Vec<AssetRow> = q.fetch_all().await.map_err(|e| app.storage_error(e))?;
        let list: Vec<Value> = rows
            .into_iter()
            .map(|a| {
                let raw: Value = serde_json::from_str(&a.raw).unwrap_or(Value::Null);
                let rec = if raw["asset"].is_object() { &raw["asset"] } else { &raw };
                json!({
                    "province": a.province, "enterprise_id": a.enterprise_id, "ip": a.ip,
                    "sensor_id": a.sensor_id, "last_seen": time_json(a.ts), "roles": a.roles,
                    "identity": rec["identity"], "serves": rec["serves"], "uses": rec["uses"],
                    "first_seen": rec["first_seen"],
                    "hazards": {"open": a.open, "max_cvss": a.max_cvss},
                })
            })
            .collect();
        Ok(Json(json!({ "assets": list })).into_response())
    }
    .await;
    who.answer(&app, r)
}

/// Rows of each kind the asset page shows.
const ASSET_PAGE_ROWS: u64 = 50;

#[derive(clickhouse::Row, Deserialize, serde::Serialize)]
struct FlowLine {
    ts: u32,
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
    proto: String,
    app_proto: String,
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    alerted: u8,
}

#[derive(clickhouse::Row, Deserialize, serde::Serialize)]
struct AlertLine {
    event_id: String,
    ts: u32,
    src_ip: String,
    dest_ip: String,
    app_proto: String,
    sid: u32,
    signature: String,
    severity: u8,
    technique: String,
}

/// The newest rows of event `table` with `ip` at either end, within one enterprise.
async fn touching<T>(
    app: &App,
    columns: &str,
    table: &str,
    (province, enterprise, ip): (&str, &str, &str),
) -> clickhouse::error::Result<Vec<T>>
where
    T: clickhouse::RowOwned + clickhouse::RowRead,
{
    app.store
        .client()
        .query(&format!(
            "SELECT {columns} FROM {table} \
             WHERE province = ? AND enterprise_id = ? AND (src_ip = ? OR dest_ip = ?) \
             ORDER BY ts DESC LIMIT {ASSET_PAGE_ROWS}"
        ))
        .bind(province)
        .bind(enterprise)
        .bind(ip)
        .bind(ip)
        .fetch_all()
        .await
}

/// `GET /v1/assets/{enterprise}/{ip}`: one device — its latest inventory record, its newest
/// flows and alerts either way, and its hazards.
async fn asset(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path((enterprise, ip)): Path<(String, String)>,
) -> Response {
    let r = async {
        let registry = app.registry();
        let province = registry
            .get(&enterprise)
            .map(|e| e.province.clone())
            .unwrap_or_default();
        let not_found = || ApiError::not_found(format!("no asset {ip} of {enterprise} in {}'s scope", who.who.name));
        if !who.who.sees(&province, &enterprise) || ip.len() > 64 {
            return Err(not_found());
        }
        let err = |e| app.storage_error(e);
        let raw: Vec<String> = app
            .store
            .client()
            .query(
                "SELECT argMax(raw, ts_us) FROM assets_current \
                 WHERE province = ? AND enterprise_id = ? AND ip = ? GROUP BY ip",
            )
            .bind(&province)
            .bind(&enterprise)
            .bind(&ip)
            .fetch_all()
            .await
            .map_err(err)?;
        let Some(raw) = raw.first() else {
            return Err(not_found());
        };
        let raw: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let flows: Vec<FlowLine> = touching(
            &app,
            "toUInt32(ts) AS ts, src_ip, src_port, dest_ip, dest_port, proto, app_proto, \
             pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, alerted",
            "flows",
            (&province, &enterprise, &ip),
        )
        .await
        .map_err(err)?;
        let alerts: Vec<AlertLine> = touching(
            &app,
            "event_id, toUInt32(ts) AS ts, src_ip, dest_ip, app_proto, sid, signature, \
             severity, technique",
            "alerts",
            (&province, &enterprise, &ip),
        )
        .await
        .map_err(err)?;
        let hazards: Vec<Hazard> = app
            .store
            .client()
            .query(
                "SELECT ?fields FROM hazards FINAL WHERE province = ? AND enterprise_id = ? AND ip = ? \
                 ORDER BY state = 'verified', cvss DESC",
            )
            .bind(&province)
            .bind(&enterprise)
            .bind(&ip)
            .fetch_all()
            .await
            .map_err(err)?;
        let rec = if raw["asset"].is_object() { &raw["asset"] } else { &raw };
        Ok(Json(json!({
            "province": province, "enterprise_id": enterprise, "ip": ip,
            "asset": rec,
            "flows": flows,
            "alerts": alerts,
            "hazards": hazards.iter().map(hazard_json).collect::<Vec<_>>(),
        }))
        .into_response())
    }
    .await;
    who.answer(&app, r)
}
