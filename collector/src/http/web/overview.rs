//! The situation overview (态势感知): for a nation its provinces on a map coloured by risk,
//! for a province its enterprises and prefectures, for an enterprise its sensors, assets and
//! alerts; at every level trends by technique, protocol, industry and grade, the riskiest
//! enterprises, open incidents by priority, bulletins' disposal and sensor coverage.
//!
//! Each chart has its table beside or under it, for those who cannot read colour and for the
//! tests. The figures are [`situation::gather`]'s, the ones situation reports print. A
//! drill-down (`?province=`, `?enterprise=`) narrows the reader's scope and never widens it:
//! outside it the page is "not found" and the attempt audited.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::alerts::encode;
use super::{files, layout, not_found, page, Viewer};
use crate::codes::region_name;
use crate::config::TierRole;
use crate::http::App;
use crate::i18n::Lang;
use crate::tier::situation::{self, Area, Cached, Place, Scope, Situation, Sources, Trend, Window};
use crate::time::now_s;

#[derive(Deserialize, Default)]
pub(super) struct Params {
    province: Option<String>,
    enterprise: Option<String>,
    days: Option<u64>,
}

/// The scope a page shows: the reader's, narrowed by the drill-down; `None` outside it.
fn scope_of(app: &App, v: &Viewer, p: &Params) -> Option<Scope> {
    fn asked(s: &Option<String>) -> Option<String> {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }
    let mut province = asked(&p.province);
    let enterprise = asked(&p.enterprise);
    if let Some(e) = &enterprise {
        let registered = app.registry().get(e).map(|e| e.province.clone());
        let fleet = app
            .fleet
            .list(|_, id| id == e)
            .first()
            .map(|s| s.province.clone());
        let home = registered.or(fleet)?;
        if province.as_ref().is_some_and(|p| *p != home) {
            return None;
        }
        province = Some(home);
    }
    if let Some(p) = &province {
        crate::codes::check_province(p).ok()?;
    }
    let (province, enterprise) = v
        .account
        .narrow(province.as_deref(), enterprise.as_deref())
        .ok()?;
    // The tier's own scope bounds everyone's.
    let tier = &app.config.tier;
    let province = province.or_else(|| (!tier.province.is_empty()).then(|| tier.province.clone()));
    if !tier.province.is_empty() && province.as_deref() != Some(tier.province.as_str()) {
        return None;
    }
    Some(Scope {
        province: province.unwrap_or_default(),
        enterprise: enterprise.unwrap_or_default(),
    })
}

/// The situation of `scope` over the last `days`. At the national tier, from the cache while
/// it is fresh enough: there a page reads the roll-ups of a whole country, and every regulator
/// opens the same one. Below, gathered for each view (a province's roll-ups answer in tens of
/// milliseconds).
async fn situation_of(
    app: &Arc<App>,
    scope: &Scope,
    days: u64,
) -> clickhouse::error::Result<Arc<Situation>> {
    if app.config.tier.role != TierRole::National {
        return refresh(app, scope, days).await;
    }
    match app.situations.get(scope, days, Instant::now()) {
        Cached::Fresh(s) => Ok(s),
        Cached::Stale(s) => {
            let (app, scope) = (app.clone(), scope.clone());
            tokio::spawn(async move {
                if let Err(e) = refresh(&app, &scope, days).await {
                    app.situations.failed(&scope, days);
                    tracing::warn!(error = %e, "refreshing a page's situation failed");
                }
            });
            Ok(s)
        }
        Cached::Missing => refresh(app, scope, days).await,
    }
}

/// Gather the situation of `scope` over the last `days` now, and keep it.
async fn refresh(app: &App, scope: &Scope, days: u64) -> clickhouse::error::Result<Arc<Situation>> {
    let started = Instant::now();
    let registry = app.registry();
    let src = Sources {
        store: &app.store,
        national: app.config.tier.role == TierRole::National,
        registry: &registry,
        fleet: &app.fleet,
        book: &app.bulletins.book,
    };
    let s = Arc::new(situation::gather(&src, scope, Window::last(days, now_s())).await?);
    app.situations.put(scope, days, s.clone(), started);
    Ok(s)
}

/// Keep the nation's situation over a day, a week and a month gathered, so that the page most
/// regulators open first never waits for the roll-ups of a whole country.
pub async fn warm_loop(app: Arc<App>) {
    let mut tick = tokio::time::interval(situation::FRESH / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let whole = Scope::default();
    loop {
        tick.tick().await;
        for days in [1, 7, 30] {
            if let Err(e) = refresh(&app, &whole, days).await {
                tracing::warn!(error = %e, days, "gathering the tier's situation failed");
            }
        }
    }
}

pub(super) async fn overview(
    State(app): State<Arc<App>>,
    v: Viewer,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = v.lang;
    let p = q.map(|Query(p)| p).unwrap_or_default();
    let Some(scope) = scope_of(&app, &v, &p) else {
        let asked = format!(
            "province={} enterprise={}",
            p.province.as_deref().unwrap_or(""),
            p.enterprise.as_deref().unwrap_or("")
        );
        return not_found(&app, &v, "/", "web.overview", &asked);
    };
    let days = p.days.filter(|d| (1..=366).contains(d)).unwrap_or(1);
    let registry = app.registry();
    let s = match situation_of(&app, &scope, days).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "gathering the situation for a page failed");
            let body = html! { p.error role="alert" { (lang.t("unavailable")) } };
            return page(lang, layout(&app, &v, "/", lang.t("overview_title"), body));
        }
    };
    let place = match s.area {
        Some(Area::Province) => lang.t("overview_national"),
        Some(Area::Enterprise) => region_name(&scope.province, lang == Lang::En).unwrap_or(""),
        _ => registry
            .get(&scope.enterprise)
            .map_or(scope.enterprise.as_str(), |e| e.name.as_str()),
    };
    let title = format!("{place} · {}", lang.t("overview_title"));
    let body = html! {
        (crumbs(lang, &scope, &registry))
        nav.range {
            @for d in [1u64, 7, 30] {
                @let label = match d { 1 => lang.t("range_day"), 7 => lang.t("range_week"), _ => lang.t("range_month") };
                @let href = drill_link(&scope, d);
                @if d == days { a.here href=(href) { (label) } } @else { a href=(href) { (label) } }
            }
        }
        p.as-of { (lang.t("data_as_of")) " " (lang.time(s.as_of)) }
        (figures(lang, &s))
        @match s.area {
            Some(Area::Province) => (national(lang, &s, days)),
            Some(Area::Enterprise) => (provincial(lang, &s, days)),
            _ => (enterprise(&app, &v, &s).await),
        }
        (trends(lang, &s))
        @if s.area != Some(Area::None) {
            h2 { (lang.t("top_enterprises")) }
            (chart(bar_of(lang, &s.top_enterprises, days)))
            (place_table(lang, &s.top_enterprises, Some(days), true))
        }
        (incidents(lang, &s))
        (bulletins(lang, &s))
        p.note { (lang.t("risk_explained")) }
    };
    page(lang, layout(&app, &v, "/", &title, body))
}

/// The overview of `scope` over `days`, as a link.
fn drill_link(scope: &Scope, days: u64) -> String {
    let mut s = format!("/?days={days}");
    if !scope.enterprise.is_empty() {
        s.push_str(&format!("&enterprise={}", encode(&scope.enterprise)));
    } else if !scope.province.is_empty() {
        s.push_str(&format!("&province={}", encode(&scope.province)));
    }
    s
}

/// Nation › province › enterprise, each a link up.
fn crumbs(lang: Lang, scope: &Scope, registry: &crate::tier::registry::Registry) -> Markup {
    html! {
        nav.crumbs {
            a href="/?days=1" { (lang.t("overview_national")) }
            @if !scope.province.is_empty() {
                " › "
                a href={ "/?province=" (scope.province) } {
                    (region_name(&scope.province, lang == Lang::En).unwrap_or(&scope.province))
                }
            }
            @if !scope.enterprise.is_empty() {
                " › "
                span { (registry.get(&scope.enterprise).map_or(scope.enterprise.as_str(), |e| e.name.as_str())) }
            }
        }
    }
}

pub(super) fn figures(lang: Lang, s: &Situation) -> Markup {
    let overdue: u64 = s.bulletins.iter().map(|b| b.overdue).sum();
    let open: u64 = s.incidents.open_by_band.iter().sum();
    let c = &s.coverage;
    let items: [(&str, String); 7] = [
        (lang.t("fig_alerts"), lang.count(s.alerts)),
        (lang.t("fig_critical"), lang.count(s.critical)),
        (lang.t("incidents_open"), lang.count(open)),
        (lang.t("sensors_online"), lang.count(c.online + c.replayed)),
        (lang.t("sensors_offline"), lang.count(c.offline)),
        (
            lang.t("fig_coverage"),
            format!("{} / {}", lang.count(c.covered), lang.count(c.registered)),
        ),
        (lang.t("fig_overdue"), lang.count(overdue)),
    ];
    html! {
        section.figures {
            @for (label, n) in items {
                div.figure { span.n { (n) } span.label { (label) } }
            }
        }
    }
}

/// A chart, its description in `data-spec`.
pub(super) fn chart(spec: Value) -> Markup {
    let map = spec["type"] == "map";
    html! {
        @if map {
            div.chart.map data-spec=(spec.to_string()) data-map=(files::url("china.json")) {}
        } @else {
            div.chart data-spec=(spec.to_string()) {}
        }
    }
}

fn national(lang: Lang, s: &Situation, days: u64) -> Markup {
    let en = lang == Lang::En;
    let data: Vec<Value> = s
        .places
        .iter()
        .map(|p| json!({ "name": p.key, "value": p.risk, "label": region_name(&p.key, en).unwrap_or(&p.key) }))
        .collect();
    let max = s.places.iter().map(|p| p.risk).max().unwrap_or(0);
    let spec = json!({
        "type": "map", "data": data, "max": max,
        "high": lang.t("risk_high"), "low": lang.t("risk_low"),
        "link": format!("/?days={days}&province="),
    });
    html! {
        h2 { (lang.t("risk_by_province")) }
        div.side {
            (chart(spec))
            (place_table(lang, &s.places, Some(days), false))
        }
    }
}

fn provincial(lang: Lang, s: &Situation, days: u64) -> Markup {
    let en = lang == Lang::En;
    let cities: Vec<Place> = s
        .cities
        .iter()
        .map(|c| Place {
            name: region_name(&c.key, en).unwrap_or(&c.key).to_owned(),
            ..c.clone()
        })
        .collect();
    let spec = json!({
        "type": "bar",
        "x": cities.iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
        "series": [{ "name": lang.t("col_risk"), "data": cities.iter().map(|c| c.risk).collect::<Vec<_>>() }],
    });
    let shown: Vec<Place> = s.places.iter().take(50).cloned().collect();
    html! {
        h2 { (lang.t("risk_by_city")) }
        div.side {
            (chart(spec))
            (place_table(lang, &cities, None, false))
        }
        h2 { (lang.t("risk_by_enterprise")) }
        (place_table(lang, &shown, Some(days), true))
    }
}

/// An enterprise's own: its sensors, its assets and its latest alerts.
async fn enterprise(app: &App, v: &Viewer, s: &Situation) -> Markup {
    let lang = v.lang;
    let fleet = app.fleet.list(|p, e| s.scope.sees(p, e));
    let assets = super::assets::inventory(app, &v.account, &s.scope, 20).await;
    let alerts = super::alerts::latest(app, &v.account, &s.scope, 20).await;
    html! {
        h2 { (lang.t("nav_sensors")) }
        (super::sensor_table(lang, &fleet, s.window.map_or(0, |w| w.from)))
        h2 { a href={ "/assets?enterprise=" (encode(&s.scope.enterprise)) } { (lang.t("assets_title")) } }
        (super::assets::table(lang, &assets))
        h2 { a href={ "/alerts?enterprise=" (encode(&s.scope.enterprise)) } { (lang.t("latest_alerts")) } }
        (super::alerts::table(lang, &alerts))
    }
}

/// Places with their risk and its parts; `drill`: link each to its own overview.
pub(super) fn place_table(
    lang: Lang,
    places: &[Place],
    drill: Option<u64>,
    enterprises: bool,
) -> Markup {
    let en = lang == Lang::En;
    html! {
        @if places.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            table.places {
                thead { tr {
                    th { (if enterprises { lang.t("col_enterprise") } else { lang.t("col_place") }) }
                    @if enterprises {
                        th { (lang.t("col_city")) }
                        th { (lang.t("col_industry")) }
                        th { (lang.t("col_grade")) }
                    }
                    th { (lang.t("col_risk")) }
                    th { (lang.t("fig_alerts")) }
                    th { (lang.t("fig_critical")) }
                    th { (lang.t("incidents_open")) }
                    th { (lang.t("col_overdue")) }
                    @if !enterprises {
                        th { (lang.t("fig_coverage")) }
                    }
                } }
                tbody {
                    @for p in places {
                        @let name = if enterprises {
                            if p.name.is_empty() { p.key.clone() } else { p.name.clone() }
                        } else {
                            region_name(&p.key, en).map_or_else(|| if p.name.is_empty() { p.key.clone() } else { p.name.clone() }, str::to_owned)
                        };
                        tr {
                            td {
                                @match drill {
                                    Some(d) if enterprises => a href={ "/?days=" (d) "&enterprise=" (encode(&p.key)) } { (name) },
                                    Some(d) => a href={ "/?days=" (d) "&province=" (encode(&p.key)) } { (name) },
                                    None => (name),
                                }
                            }
                            @if enterprises {
                                td { (region_name(&p.city, en).unwrap_or(&p.city)) }
                                td { (industry_name(lang, &p.industry)) }
                                td { (grade_name(lang, p.grade)) }
                            }
                            td.num { (lang.count(p.risk)) }
                            td.num { (lang.count(p.alerts)) }
                            td.num { (lang.count(p.critical)) }
                            td.num { (lang.count(p.incidents)) }
                            td.num { (lang.count(p.overdue)) }
                            @if !enterprises {
                                td.num { (lang.count(p.covered)) " / " (lang.count(p.registered)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub(super) fn bar_of(lang: Lang, places: &[Place], days: u64) -> Value {
    json!({
        "type": "bar", "horizontal": true,
        "x": places.iter().map(|p| if p.name.is_empty() { p.key.clone() } else { p.name.clone() }).collect::<Vec<_>>(),
        "keys": places.iter().map(|p| p.key.clone()).collect::<Vec<_>>(),
        "series": [{ "name": lang.t("col_risk"), "data": places.iter().map(|p| p.risk).collect::<Vec<_>>() }],
        "link": format!("/?days={days}&enterprise="),
    })
}

/// A trend's key as people read it.
fn key_name(lang: Lang, dim: &str, key: &str) -> String {
    match (dim, key) {
        (_, "other") => lang.t("other").to_owned(),
        (_, "") => lang.t("unknown").to_owned(),
        ("technique", id) => super::alerts::technique(lang, id),
        ("industry", i) => industry_name(lang, i).to_owned(),
        ("grade", g) => grade_name(lang, g.parse().unwrap_or(0)).to_owned(),
        (_, k) => k.to_owned(),
    }
}

pub(super) fn trends(lang: Lang, s: &Situation) -> Markup {
    let Some(w) = s.window else {
        return html! {};
    };
    let x: Vec<String> = w
        .buckets()
        .iter()
        .map(|t| lang.bucket(*t, w.step))
        .collect();
    let title = |t: &Trend| match t.dim {
        "technique" => lang.t("trend_technique"),
        "proto" => lang.t("trend_proto"),
        "industry" => lang.t("trend_industry"),
        _ => lang.t("trend_grade"),
    };
    html! {
        h2 { (lang.t("trends")) }
        div.grid {
            @for t in &s.trends {
                div {
                    h3 { (title(t)) }
                    @let spec = json!({
                        "type": "line", "x": x,
                        "series": t.series.iter().map(|s| json!({ "name": key_name(lang, t.dim, &s.key), "data": s.points })).collect::<Vec<_>>(),
                    });
                    (chart(spec))
                    @if t.series.is_empty() {
                        p.none { (lang.t("none")) }
                    } @else {
                        table.compact { tbody {
                            @for s in &t.series {
                                tr { td { (key_name(lang, t.dim, &s.key)) } td.num { (lang.count(s.total)) } }
                            }
                        } }
                    }
                }
            }
        }
    }
}

pub(super) fn incidents(lang: Lang, s: &Situation) -> Markup {
    let i = &s.incidents;
    let bands = [
        lang.t("band_urgent"),
        lang.t("band_high"),
        lang.t("band_medium"),
        lang.t("band_low"),
    ];
    let spec = json!({
        "type": "bar",
        "x": bands,
        "series": [{ "name": lang.t("incidents_open"), "data": i.open_by_band }],
    });
    html! {
        h2 { a href="/incidents" { (lang.t("incidents_by_priority")) } }
        div.side {
            (chart(spec))
            table.compact { tbody {
                @for (b, n) in bands.iter().zip(i.open_by_band) {
                    tr { td { (b) } td.num { (lang.count(n)) } }
                }
                tr { td { (lang.t("incidents_opened")) } td.num { (lang.count(i.opened)) } }
                tr { td { (lang.t("incidents_closed")) } td.num { (lang.count(i.closed)) } }
                tr { td { (lang.t("incidents_median_close")) } td.num { (lang.duration(i.median_close_seconds)) } }
            } }
        }
        (super::incidents::table(lang, &i.open[..i.open.len().min(10)]))
    }
}

pub(super) fn bulletins(lang: Lang, s: &Situation) -> Markup {
    let list: Vec<_> = s.bulletins.iter().take(10).collect();
    let pct = |n: u64, of: u64| (n * 100).checked_div(of).unwrap_or(0);
    let spec = json!({
        "type": "bar", "stack": false,
        "x": list.iter().map(|b| b.bulletin_id.clone()).collect::<Vec<_>>(),
        "keys": list.iter().map(|b| b.bulletin_id.clone()).collect::<Vec<_>>(),
        "link": "/bulletin?id=",
        "series": [
            { "name": lang.t("step_received"), "data": list.iter().map(|b| pct(b.received, b.targets)).collect::<Vec<_>>() },
            { "name": lang.t("step_acknowledged"), "data": list.iter().map(|b| pct(b.acknowledged, b.targets)).collect::<Vec<_>>() },
            { "name": lang.t("step_disposed"), "data": list.iter().map(|b| pct(b.disposed, b.targets)).collect::<Vec<_>>() },
            { "name": lang.t("col_overdue"), "data": list.iter().map(|b| pct(b.overdue, b.targets)).collect::<Vec<_>>() },
        ],
    });
    html! {
        h2 { a href="/bulletins" { (lang.t("bulletin_rates")) } }
        @if list.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            (chart(spec))
            table.bulletins {
                thead { tr {
                    th { (lang.t("col_bulletin")) }
                    th { (lang.t("col_title")) }
                    th { (lang.t("col_targets")) }
                    th { (lang.t("step_received")) }
                    th { (lang.t("step_acknowledged")) }
                    th { (lang.t("step_disposed")) }
                    th { (lang.t("col_overdue")) }
                } }
                tbody {
                    @for b in &list {
                        tr {
                            td { a href={ "/bulletin?id=" (encode(&b.bulletin_id)) } { (b.bulletin_id) } }
                            td { (b.title) }
                            td.num { (lang.count(b.targets)) }
                            td.num { (lang.count(b.received)) " (" (pct(b.received, b.targets)) "%)" }
                            td.num { (lang.count(b.acknowledged)) " (" (pct(b.acknowledged, b.targets)) "%)" }
                            td.num { (lang.count(b.disposed)) " (" (pct(b.disposed, b.targets)) "%)" }
                            td.num { (lang.count(b.overdue)) }
                        }
                    }
                }
            }
        }
    }
}

/// An industry class as people read it.
pub(super) fn industry_name(lang: Lang, name: &str) -> &'static str {
    match name {
        "equipment" => lang.t("industry_equipment"),
        "machinery" => lang.t("industry_machinery"),
        "automotive" => lang.t("industry_automotive"),
        "energy" => lang.t("industry_energy"),
        "electronics" => lang.t("industry_electronics"),
        "metallurgy" => lang.t("industry_metallurgy"),
        "petrochemical" => lang.t("industry_petrochemical"),
        "chemical" => lang.t("industry_chemical"),
        "mining" => lang.t("industry_mining"),
        "pharmaceutical" => lang.t("industry_pharmaceutical"),
        "building_materials" => lang.t("industry_building_materials"),
        "light_industry" => lang.t("industry_light_industry"),
        "textile" => lang.t("industry_textile"),
        "water" => lang.t("industry_water"),
        "" => "",
        _ => lang.t("industry_other"),
    }
}

pub(super) fn grade_name(lang: Lang, grade: u8) -> &'static str {
    match grade {
        1 => lang.t("grade_1"),
        2 => lang.t("grade_2"),
        3 => lang.t("grade_3"),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_industry_class_has_a_name() {
        for i in icsight_eve::Industry::ALL {
            for lang in [Lang::Zh, Lang::En] {
                let n = industry_name(lang, i.name());
                assert!(!n.is_empty() && !n.starts_with("industry_"), "{i:?}");
            }
        }
    }
}
