//! The alert pages: a search with the filters of `/v1/alerts` (and its CSV export), and one
//! alert with its decoded ICS transaction, its flow, the asset it reached and its ATT&CK for
//! ICS techniques by name. The reads are the API's ([`query::find`]), scope included: an alert
//! outside the reader's scope is "not found", and the attempt is audited.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::{layout, page, Viewer};
use crate::account::Account;
use crate::event::AlertRow;
use crate::http::query::{self, AlertParams};
use crate::http::App;
use crate::i18n::Lang;
use crate::store::audit::Record;
use crate::tier::situation::Scope;

/// The search form's fields, as `/v1/alerts` names them.
#[derive(Deserialize, Default)]
pub(super) struct Search {
    from: Option<String>,
    to: Option<String>,
    province: Option<String>,
    enterprise: Option<String>,
    sensor: Option<String>,
    severity: Option<String>,
    technique: Option<String>,
    proto: Option<String>,
    q: Option<String>,
    cursor: Option<String>,
    #[serde(rename = "lang")]
    _lang: Option<String>,
}

/// A form field: empty is absent.
fn field(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

impl Search {
    fn params(&self) -> AlertParams {
        AlertParams {
            // The form's default is the last 30 days, not the API's 24 hours.
            from: field(&self.from)
                .or_else(|| Some((crate::time::now_s().saturating_sub(30 * 86_400)).to_string())),
            to: field(&self.to),
            province: field(&self.province),
            enterprise: field(&self.enterprise),
            sensor: field(&self.sensor),
            severity: field(&self.severity),
            technique: field(&self.technique),
            proto: field(&self.proto),
            q: field(&self.q),
            cursor: field(&self.cursor),
            sort: Some("time_desc".into()),
            limit: Some(50),
            ..AlertParams::default()
        }
    }

    /// The query string of this search, without the cursor, for links.
    fn query(&self) -> String {
        let mut out = Vec::new();
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("province", &self.province),
            ("enterprise", &self.enterprise),
            ("sensor", &self.sensor),
            ("severity", &self.severity),
            ("technique", &self.technique),
            ("proto", &self.proto),
            ("q", &self.q),
        ] {
            if let Some(v) = field(v) {
                out.push(format!("{k}={}", encode(&v)));
            }
        }
        out.join("&")
    }
}

/// Percent-encoding of a query value.
pub(super) fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A technique as people read it: `T0855 未授权命令消息`.
pub(super) fn technique(lang: Lang, id: &str) -> String {
    match rules::attack::technique(id) {
        Some(t) if lang == Lang::Zh => format!("{id} {}", t.name_zh),
        Some(t) => format!("{id} {}", t.name),
        None => id.to_owned(),
    }
}

fn alert_link(a: &AlertRow) -> String {
    format!(
        "/alert?sensor={}&id={}",
        encode(&a.sensor_id),
        encode(&a.event_id)
    )
}

pub(super) async fn search(
    State(app): State<Arc<App>>,
    v: Viewer,
    Query(s): Query<Search>,
) -> Response {
    let lang = v.lang;
    let found = query::find(&app, &v.account, &s.params()).await;
    let form = html! {
        form.search method="get" action="/alerts" {
            @for (name, key, value) in [
                ("from", "filter_from", &s.from), ("to", "filter_to", &s.to),
                ("province", "col_province", &s.province), ("enterprise", "col_enterprise", &s.enterprise),
                ("sensor", "col_sensor", &s.sensor), ("severity", "col_severity", &s.severity),
                ("technique", "col_techniques", &s.technique), ("proto", "filter_proto", &s.proto),
                ("q", "filter_q", &s.q),
            ] {
                label {
                    (label_of(lang, key))
                    input name=(name) value=(value.clone().unwrap_or_default());
                }
            }
            button type="submit" { (lang.t("search")) }
            a.button href={ "/alerts.csv?" (s.query()) } { (lang.t("export_csv")) }
        }
    };
    let body = match found {
        Err(e) => html! {
            (form)
            p.error role="alert" { (e.to_string()) }
        },
        Ok((rows, next)) => html! {
            (form)
            (table(lang, &rows))
            @if !rows.is_empty() {
                @if let Some(c) = next {
                    a.next href={ "/alerts?" (s.query()) "&cursor=" (encode(&c)) } { (lang.t("next_page")) }
                }
            }
        },
    };
    page(
        lang,
        layout(&app, &v, "/alerts", lang.t("alerts_title"), body),
    )
}

/// Alerts as a table, each linked to its page.
pub(super) fn table(lang: Lang, rows: &[AlertRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            table.alerts {
                thead { tr {
                    th { (lang.t("col_time")) }
                    th { (lang.t("col_severity")) }
                    th { (lang.t("col_signature")) }
                    th { (lang.t("col_enterprise")) }
                    th { (lang.t("col_sensor")) }
                    th { (lang.t("col_flow")) }
                    th { (lang.t("col_techniques")) }
                } }
                tbody {
                    @for a in rows {
                        tr {
                            td { (lang.time(u64::from(a.ts))) }
                            td.num { (a.severity) }
                            td { a href=(alert_link(a)) { (a.signature) } }
                            td { (a.enterprise_id) }
                            td { (a.sensor_id) }
                            td { (a.src_ip) ":" (a.src_port) " → " (a.dest_ip) ":" (a.dest_port) " " (a.app_proto) }
                            td { @for t in &a.techniques { span.technique { (technique(lang, t)) } " " } }
                        }
                    }
                }
            }
        }
    }
}

/// The latest alerts (30 days) of `scope` as `who` may see them, as the API finds them.
pub(super) async fn latest(app: &App, who: &Account, scope: &Scope, n: usize) -> Vec<AlertRow> {
    let p = AlertParams {
        from: Some(crate::time::now_s().saturating_sub(30 * 86_400).to_string()),
        province: (!scope.province.is_empty()).then(|| scope.province.clone()),
        enterprise: (!scope.enterprise.is_empty()).then(|| scope.enterprise.clone()),
        limit: Some(n),
        ..AlertParams::default()
    };
    query::find(app, who, &p)
        .await
        .map(|(rows, _)| rows)
        .unwrap_or_default()
}

fn label_of(lang: Lang, key: &str) -> &'static str {
    match key {
        "filter_from" => lang.t("filter_from"),
        "filter_to" => lang.t("filter_to"),
        "col_province" => lang.t("col_province"),
        "col_enterprise" => lang.t("col_enterprise"),
        "col_sensor" => lang.t("col_sensor"),
        "col_severity" => lang.t("col_severity"),
        "col_techniques" => lang.t("col_techniques"),
        "filter_proto" => lang.t("filter_proto"),
        _ => lang.t("filter_q"),
    }
}

/// `GET /alerts.csv`: the search's alerts as the API exports them, streamed.
pub(super) async fn export(
    State(app): State<Arc<App>>,
    v: Viewer,
    headers: HeaderMap,
    Query(s): Query<Search>,
) -> Response {
    let mut p = s.params();
    p.format = Some("csv".into());
    p.limit = Some(100_000);
    p.cursor = None;
    match query::alerts_inner(&app, &v.account, &headers, Ok(Query(p))).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct One {
    sensor: String,
    id: String,
}

pub(super) async fn one(
    State(app): State<Arc<App>>,
    v: Viewer,
    q: Result<Query<One>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = v.lang;
    let found = match &q {
        Ok(Query(q)) => {
            let p = AlertParams {
                from: Some("0".into()),
                to: Some(u32::MAX.to_string()),
                sensor: Some(q.sensor.clone()),
                event_id: Some(q.id.clone()),
                limit: Some(1),
                ..AlertParams::default()
            };
            query::find(&app, &v.account, &p)
                .await
                .ok()
                .and_then(|(mut rows, _)| rows.pop())
        }
        Err(_) => None,
    };
    let Some(a) = found else {
        // Absent and out of scope look the same; asking is recorded.
        let asked = q
            .map(|Query(q)| format!("{}/{}", q.sensor, q.id))
            .unwrap_or_default();
        app.audit.record(
            Record::new(
                &v.account.name,
                v.account.role.name(),
                "web.alert",
                "not_found",
            )
            .detail(format!("alert {asked}: none in scope"))
            .scope(&v.account.province, &v.account.enterprise_id),
        );
        let body = html! { p.none { (lang.t("not_found_text")) } };
        let mut r = page(lang, layout(&app, &v, "/alerts", lang.t("not_found"), body));
        *r.status_mut() = StatusCode::NOT_FOUND;
        return r;
    };
    let raw: Value = serde_json::from_str(&a.raw).unwrap_or(Value::Null);
    let transaction = raw.get(&a.app_proto).filter(|_| !a.app_proto.is_empty());
    let flow = flow_of(&app, &a).await;
    let asset = asset_of(&app, &a).await;
    let body = html! {
        table.fields { tbody {
            tr { th { (lang.t("col_time")) } td { (lang.time(u64::from(a.ts))) } }
            tr { th { (lang.t("col_severity")) } td { (a.severity) } }
            tr { th { (lang.t("col_signature")) } td { (a.signature) " (sid " (a.sid) ")" } }
            tr { th { (lang.t("col_category")) } td { (a.category) } }
            tr { th { (lang.t("col_techniques")) } td { @for t in &a.techniques { span.technique { (technique(lang, t)) } " " } } }
            tr { th { (lang.t("col_enterprise")) } td { (a.enterprise_id) " · " (a.province) } }
            tr { th { (lang.t("col_sensor")) } td { a href={ "/alerts?sensor=" (encode(&a.sensor_id)) } { (a.sensor_id) } } }
            tr { th { (lang.t("col_flow")) } td { (a.src_ip) ":" (a.src_port) " → " (a.dest_ip) ":" (a.dest_port) " " (a.proto) " " (a.app_proto) } }
        } }
        h2 { (lang.t("transaction")) " (" (a.app_proto) ")" }
        @match transaction {
            Some(t) => (tree(t)),
            None => p.none { (lang.t("none")) },
        }
        h2 { (lang.t("flow_title")) }
        @match &flow {
            Some(f) => (tree(f)),
            None => p.none { (lang.t("none")) },
        }
        h2 { (lang.t("asset_title")) " " (a.dest_ip) }
        @match &asset {
            Some(x) => (tree(x)),
            None => p.none { (lang.t("none")) },
        }
    };
    page(
        lang,
        layout(&app, &v, "/alerts", lang.t("alert_title"), body),
    )
}

/// A JSON value as nested definition lists, every string escaped.
pub(super) fn tree(v: &Value) -> Markup {
    html! {
        @match v {
            Value::Object(m) => dl {
                @for (k, v) in m {
                    dt { (k) }
                    dd { (tree(v)) }
                }
            },
            Value::Array(a) => ol {
                @for v in a { li { (tree(v)) } }
            },
            Value::String(s) => (s),
            other => (other.to_string()),
        }
    }
}

#[derive(clickhouse::Row, Deserialize)]
struct RawLine {
    raw: String,
}

#[derive(clickhouse::Row, Deserialize, serde::Serialize)]
struct FlowFacts {
    flow_start: u32,
    flow_end: u32,
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    state: String,
    reason: String,
}

/// The alert's flow as its sensor ended it, if it ended and was kept.
async fn flow_of(app: &App, a: &AlertRow) -> Option<Value> {
    let rows: Vec<FlowFacts> = app
        .store
        .client()
        .query(
            "SELECT flow_start, flow_end, pkts_toserver, pkts_toclient, bytes_toserver, \
             bytes_toclient, state, reason FROM flows WHERE province = ? AND enterprise_id = ? \
             AND sensor_id = ? AND flow_id = ? LIMIT 1",
        )
        .bind(&a.province)
        .bind(&a.enterprise_id)
        .bind(&a.sensor_id)
        .bind(a.flow_id)
        .fetch_all()
        .await
        .ok()?;
    serde_json::to_value(rows.first()?).ok()
}

/// The inventory's latest record of the host the alert reached.
async fn asset_of(app: &App, a: &AlertRow) -> Option<Value> {
    let rows: Vec<RawLine> = app
        .store
        .client()
        .query(
            "SELECT argMax(raw, ts_us) AS raw FROM assets_current \
             WHERE province = ? AND enterprise_id = ? AND ip = ? GROUP BY ip",
        )
        .bind(&a.province)
        .bind(&a.enterprise_id)
        .bind(&a.dest_ip)
        .fetch_all()
        .await
        .ok()?;
    serde_json::from_str(&rows.first()?.raw).ok()
}
