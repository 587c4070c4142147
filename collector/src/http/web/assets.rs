//! The asset inventory of a scope (`/assets`): every host the sensors learned from the wire,
//! with its roles, identity (vendor, product, firmware), the protocols it serves and uses, and
//! when it was first and last seen. What is stored is the sensor's `asset` event, newest per
//! host.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::alerts::encode;
use super::{layout, page, Viewer};
use crate::account::Account;
use crate::http::filter::{self, Filter};
use crate::http::App;
use crate::i18n::Lang;
use crate::tier::situation::Scope;

/// One host as the page shows it.
pub(super) struct Asset {
    ip: String,
    enterprise_id: String,
    sensor_id: String,
    roles: Vec<String>,
    identity: String,
    protocols: String,
    first_seen: String,
    last_seen: String,
    /// Open hazards and their highest CVSS.
    hazards: (u64, f64),
}

#[derive(clickhouse::Row, Deserialize)]
struct Row {
    ip: String,
    enterprise_id: String,
    sensor_id: String,
    roles: Vec<String>,
    raw: String,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Asset {
    fn of(r: Row) -> Asset {
        let raw: Value = serde_json::from_str(&r.raw).unwrap_or(Value::Null);
        // The event's record, or a bare record.
        let a = if raw["asset"].is_object() {
            &raw["asset"]
        } else {
            &raw
        };
        let id = if a["identity"].is_object() {
            &a["identity"]
        } else {
            a
        };
        let identity = ["vendor", "model", "product", "firmware", "name"]
            .iter()
            .filter_map(|k| id[*k].as_str())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        let serves = strings(&a["serves"]);
        let uses = strings(&a["uses"]);
        let protocols = [
            (!serves.is_empty()).then(|| format!("⇦ {}", serves.join(", "))),
            (!uses.is_empty()).then(|| format!("⇨ {}", uses.join(", "))),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("  ");
        let string = |k: &str| a[k].as_str().unwrap_or("").to_owned();
        Asset {
            ip: r.ip,
            enterprise_id: r.enterprise_id,
            sensor_id: r.sensor_id,
            roles: r.roles,
            identity,
            protocols,
            first_seen: string("first_seen"),
            last_seen: string("last_seen"),
            hazards: (0, 0.0),
        }
    }
}

/// The inventory of `scope` as `who` may see it, controllers first, at most `limit` hosts.
pub(super) async fn inventory(app: &App, who: &Account, scope: &Scope, limit: u32) -> Vec<Asset> {
    let mut f = Filter::default();
    let asked = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    if filter::scope(
        who,
        asked(&scope.province).as_deref(),
        asked(&scope.enterprise).as_deref(),
        &mut f,
    )
    .is_err()
    {
        return Vec::new();
    }
    let sql = format!(
        "SELECT ip, enterprise_id, argMax(sensor_id, ts_us) AS sensor_id, \
         argMax(roles, ts_us) AS roles, argMax(raw, ts_us) AS raw FROM assets_current{} \
         GROUP BY enterprise_id, ip ORDER BY has(roles, 'outstation') DESC, \
         has(roles, 'engineering_station') DESC, enterprise_id, ip LIMIT {limit}",
        f.sql
    );
    match f
        .clone()
        .bind(app.store.client().query(&sql))
        .fetch_all::<Row>()
        .await
    {
        Ok(rows) => {
            let mut list: Vec<Asset> = rows.into_iter().map(Asset::of).collect();
            let open = open_hazards(app, f).await;
            for a in &mut list {
                if let Some(h) = open.get(&(a.enterprise_id.clone(), a.ip.clone())) {
                    a.hazards = *h;
                }
            }
            list
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading the inventory for a page failed");
            Vec::new()
        }
    }
}

/// Open hazards by device (enterprise, address) within the page's scope `f`: how many, and
/// the highest CVSS.
async fn open_hazards(app: &App, mut f: Filter) -> HashMap<(String, String), (u64, f64)> {
    f.and("kind = 'advisory' AND state != 'verified'", []);
    let sql = format!(
        "SELECT enterprise_id, ip, count(), max(cvss) FROM hazards FINAL{} \
         GROUP BY enterprise_id, ip",
        f.sql
    );
    match f
        .bind(app.store.client().query(&sql))
        .fetch_all::<(String, String, u64, f64)>()
        .await
    {
        Ok(rows) => rows
            .into_iter()
            .map(|(e, ip, n, c)| ((e, ip), (n, c)))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "reading open hazards for a page failed");
            HashMap::new()
        }
    }
}

fn role_name(lang: Lang, role: &str) -> &'static str {
    match role {
        "outstation" => lang.t("role_outstation"),
        "engineering_station" => lang.t("role_engineering_station"),
        "hmi" => lang.t("role_hmi"),
        "master" => lang.t("role_master"),
        _ => lang.t("role_other"),
    }
}

pub(super) fn table(lang: Lang, list: &[Asset]) -> Markup {
    html! {
        @if list.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            table.assets {
                thead { tr {
                    th { (lang.t("col_ip")) }
                    th { (lang.t("col_roles")) }
                    th { (lang.t("col_identity")) }
                    th { (lang.t("col_protocols")) }
                    th { (lang.t("col_hazards")) }
                    th { (lang.t("col_enterprise")) }
                    th { (lang.t("col_sensor")) }
                    th { (lang.t("col_first_seen")) }
                    th { (lang.t("col_last_seen")) }
                } }
                tbody {
                    @for a in list {
                        tr {
                            td { a href={ "/alerts?enterprise=" (encode(&a.enterprise_id)) "&q=" (encode(&a.ip)) } { (a.ip) } }
                            td { @for r in &a.roles { span.role { (role_name(lang, r)) } " " } }
                            td { (a.identity) }
                            td { (a.protocols) }
                            td.hazards {
                                @if a.hazards.0 > 0 {
                                    a href={ "/hazards?enterprise=" (encode(&a.enterprise_id)) "&ip=" (encode(&a.ip)) } {
                                        (lang.count(a.hazards.0)) " · CVSS " (format!("{:.1}", a.hazards.1))
                                    }
                                }
                            }
                            td { (a.enterprise_id) }
                            td { (a.sensor_id) }
                            td { (a.first_seen) }
                            td { (a.last_seen) }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Params {
    province: Option<String>,
    enterprise: Option<String>,
}

/// `GET /assets`
pub(super) async fn page_of(
    State(app): State<Arc<App>>,
    v: Viewer,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = v.lang;
    let p = q.map(|Query(p)| p).unwrap_or_default();
    let scope = Scope {
        province: p.province.unwrap_or_default(),
        enterprise: p.enterprise.unwrap_or_default(),
    };
    let asked = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
    if v.account
        .narrow(
            asked(&scope.province).as_deref(),
            asked(&scope.enterprise).as_deref(),
        )
        .is_err()
    {
        let detail = format!(
            "province={} enterprise={}",
            scope.province, scope.enterprise
        );
        return super::not_found(&app, &v, "/assets", "web.assets", &detail);
    }
    let list = inventory(&app, &v.account, &scope, 2_000).await;
    let body = table(lang, &list);
    page(
        lang,
        layout(&app, &v, "/assets", lang.t("assets_title"), body),
    )
}
