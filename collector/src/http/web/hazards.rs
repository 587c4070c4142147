//! The hazard register on the pages (安全隐患): the register of the reader's scope with its
//! counts, one hazard with why it matched, what to do and its history, the form that moves it
//! on (the API's own step, [`hazards::take_step`]), and an advisory as the matcher reads it.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::alerts::encode;
use super::overview::{grade_name, industry_name};
use super::{csrf_of, layout, page, text, when, Csrf, PageId, Posted, Viewer};
use crate::http::hazards::{self, HazardParams};
use crate::http::App;
use crate::i18n::Lang;
use crate::tier::hazard::{step_refusal, Step};

pub(super) fn state_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "assigned" => lang.t("hazard_assigned"),
        "remediated" => lang.t("hazard_remediated"),
        "verified" => lang.t("hazard_verified"),
        _ => lang.t("hazard_found"),
    }
}

fn confidence_label(lang: Lang, c: &str) -> &'static str {
    match c {
        "exact" => lang.t("confidence_exact"),
        "model" => lang.t("confidence_model"),
        "name" => lang.t("confidence_name"),
        "family" => lang.t("confidence_family"),
        _ => lang.t("hazard_inspection"),
    }
}

/// Why a hazard matched, in the reader's language, from its fields; the matcher's own
/// account (`why`, in English as the API gives it) stays beside it.
fn why(lang: Lang, h: &Value) -> String {
    let template = match h["confidence"].as_str().unwrap_or("") {
        "exact" => lang.t("why_exact"),
        "model" => lang.t("why_model"),
        "name" => lang.t("why_name"),
        "family" => lang.t("why_family"),
        _ => return String::new(),
    };
    template
        .replace("{product}", h["asset"]["product"].as_str().unwrap_or(""))
        .replace("{model}", h["asset"]["model"].as_str().unwrap_or(""))
        .replace("{firmware}", h["asset"]["firmware"].as_str().unwrap_or(""))
        .replace("{entry}", h["product_name"].as_str().unwrap_or(""))
}

/// The device a hazard is on, as one line.
fn device(h: &Value) -> String {
    let a = &h["asset"];
    ["vendor", "product", "model", "firmware"]
        .iter()
        .filter_map(|k| a[*k].as_str())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ")
}

#[derive(Deserialize, Default)]
pub(super) struct Params {
    province: Option<String>,
    enterprise: Option<String>,
    state: Option<String>,
    ip: Option<String>,
    cve: Option<String>,
    advisory: Option<String>,
    overdue: Option<String>,
}

fn counts_table(lang: Lang, title: &str, rows: &Value, label: &dyn Fn(&str) -> String) -> Markup {
    html! {
        section.counts {
            h2 { (title) }
            @if rows.as_array().is_none_or(Vec::is_empty) {
                p.none { (lang.t("none")) }
            } @else {
                table {
                    thead { tr {
                        th { } th { (lang.t("col_open")) } th { (lang.t("col_overdue")) } th { (lang.t("col_verified")) }
                    } }
                    tbody {
                        @for r in rows.as_array().into_iter().flatten().take(10) {
                            tr {
                                td { (label(r["key"].as_str().unwrap_or(""))) }
                                td.num { (lang.count(r["open"].as_u64().unwrap_or(0))) }
                                td.num.overdue[r["overdue"].as_u64().unwrap_or(0) > 0] { (lang.count(r["overdue"].as_u64().unwrap_or(0))) }
                                td.num { (lang.count(r["verified"].as_u64().unwrap_or(0))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /hazards`
pub(super) async fn list(
    State(app): State<Arc<App>>,
    v: Viewer,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = v.lang;
    let p = q.map(|Query(p)| p).unwrap_or_default();
    let some = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let asked = HazardParams {
        province: some(&p.province),
        enterprise: some(&p.enterprise),
        state: some(&p.state)
            .or_else(|| Some("open".into()))
            .filter(|s| s != "all"),
        ip: some(&p.ip),
        cve: some(&p.cve),
        advisory: some(&p.advisory),
        overdue: p.overdue.as_deref().map(|o| o == "1"),
        limit: Some(500),
        ..HazardParams::default()
    };
    let answer = match hazards::register(&app, &v.account, asked).await {
        Ok(a) => a,
        Err(e) => {
            let detail = format!("{e}");
            return super::not_found(&app, &v, "/hazards", "web.hazards", &detail);
        }
    };
    let c = &answer["counts"];
    let state_now = p.state.clone().unwrap_or_else(|| "open".into());
    let body = html! {
        form.filters method="get" action="/hazards" {
            label { (lang.t("col_state")) select name="state" {
                @for (value, label) in [("open", lang.t("hazard_open")), ("found", lang.t("hazard_found")),
                    ("assigned", lang.t("hazard_assigned")), ("remediated", lang.t("hazard_remediated")),
                    ("verified", lang.t("hazard_verified")), ("all", lang.t("all"))] {
                    option value=(value) selected[state_now == value] { (label) }
                }
            } }
            label { (lang.t("col_enterprise")) input name="enterprise" value=(p.enterprise.clone().unwrap_or_default()); }
            label { "CVE" input name="cve" value=(p.cve.clone().unwrap_or_default()); }
            label { input type="checkbox" name="overdue" value="1" checked[p.overdue.as_deref() == Some("1")]; (lang.t("hazard_overdue_only")) }
            button type="submit" { (lang.t("filter")) }
        }
        div.grid {
            (counts_table(lang, lang.t("hazards_by_province"), &c["by_province"], &|k: &str| k.to_owned()))
            (counts_table(lang, lang.t("hazards_by_industry"), &c["by_industry"], &|k: &str| industry_name(lang, k).to_owned()))
            (counts_table(lang, lang.t("hazards_by_grade"), &c["by_grade"], &|k: &str| grade_name(lang, k.parse().unwrap_or(0)).to_owned()))
            (counts_table(lang, lang.t("hazards_by_product"), &c["by_product"], &|k: &str| k.to_owned()))
            (counts_table(lang, lang.t("hazards_by_cve"), &c["by_cve"], &|k: &str| if k.is_empty() { lang.t("hazard_inspection").to_owned() } else { k.to_owned() }))
        }
        @let list = answer["hazards"].as_array().cloned().unwrap_or_default();
        @if list.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            table.hazards {
                thead { tr {
                    th { (lang.t("col_hazard")) } th { (lang.t("col_enterprise")) } th { (lang.t("col_ip")) }
                    th { (lang.t("col_identity")) } th { (lang.t("col_confidence")) } th { "CVSS" }
                    th { (lang.t("col_state")) } th { (lang.t("col_deadline")) } th { (lang.t("col_assignee")) }
                } }
                tbody {
                    @for h in &list {
                        tr.overdue[h["overdue"] == true] {
                            td {
                                a href={ "/hazard?id=" (encode(h["hazard_id"].as_str().unwrap_or(""))) } { (text(&h["title"])) }
                                @if h["exploited"] == true { " " span.badge.exploited { (lang.t("hazard_exploited")) } }
                            }
                            td { (text(&h["enterprise_id"])) }
                            td { (text(&h["asset"]["ip"])) }
                            td { (device(h)) }
                            td { (confidence_label(lang, h["confidence"].as_str().unwrap_or(""))) }
                            td.num { (format!("{:.1}", h["cvss"].as_f64().unwrap_or(0.0))) }
                            td.state { (state_label(lang, h["state"].as_str().unwrap_or(""))) }
                            td { (when(lang, &h["deadline"])) @if h["overdue"] == true { " " span.badge.overdue { (lang.t("overdue")) } } }
                            td { (text(&h["assignee"])) }
                        }
                    }
                }
            }
        }
    };
    page(
        lang,
        layout(&app, &v, "/hazards", lang.t("hazards_title"), body),
    )
}

/// The steps the reader may take on a hazard in `state`: tier inspectors verify and reopen,
/// everyone who writes assigns and remediates.
fn steps(v: &Viewer, state: &str) -> Vec<&'static str> {
    ["assigned", "remediated", "verified", "found"]
        .into_iter()
        .filter(|to| step_refusal(state, to).is_none() && hazards::may_step(&v.account, to))
        .collect()
}

/// `GET /hazard?id=`
pub(super) async fn one(State(app): State<Arc<App>>, v: Viewer, PageId(id): PageId) -> Response {
    let lang = v.lang;
    let h = match hazards::one(&app, &v.account, &id).await {
        Ok(h) => h,
        Err(_) => return super::not_found(&app, &v, "/hazards", "web.hazard", &id),
    };
    let state = h["state"].as_str().unwrap_or("found").to_owned();
    let allowed = if v.account.role == crate::account::Role::Regulator {
        Vec::new()
    } else {
        steps(&v, &state)
    };
    let advisory = h["advisory_id"].as_str().unwrap_or("").to_owned();
    let body = html! {
        dl.facts {
            dt { (lang.t("col_state")) } dd.state { (state_label(lang, &state)) @if h["overdue"] == true { " " span.badge.overdue { (lang.t("overdue")) } } }
            dt { (lang.t("col_enterprise")) } dd { (text(&h["enterprise_id"])) " · " (industry_name(lang, h["industry"].as_str().unwrap_or(""))) " · " (grade_name(lang, h["grade"].as_u64().unwrap_or(0) as u8)) }
            dt { (lang.t("col_ip")) } dd { (text(&h["asset"]["ip"])) " " (device(&h)) }
            @if !advisory.is_empty() {
                dt { (lang.t("col_advisory")) } dd { a href={ "/advisory?id=" (encode(&advisory)) } { (advisory) } " " (text(&h["title"])) }
                dt { (lang.t("col_confidence")) } dd.confidence { (confidence_label(lang, h["confidence"].as_str().unwrap_or(""))) }
                dt { (lang.t("hazard_why")) } dd.why { (why(lang, &h)) small { (text(&h["why"])) } }
                dt { "CVE" } dd { @for c in h["cves"].as_array().into_iter().flatten() { (text(c)) " " } }
                dt { "CVSS" } dd { (format!("{:.1}", h["cvss"].as_f64().unwrap_or(0.0))) " " (text(&h["vector"])) @if h["exploited"] == true { " " span.badge.exploited { (lang.t("hazard_exploited")) } } }
                @if h["fixed_in"].as_str().is_some_and(|f| !f.is_empty()) { dt { (lang.t("hazard_fixed_in")) } dd { (text(&h["fixed_in"])) } }
            } @else {
                dt { (lang.t("col_hazard")) } dd { (text(&h["title"])) }
                dt { (lang.t("hazard_evidence")) } dd { (text(&h["evidence"])) }
            }
            dt { (lang.t("col_deadline")) } dd { (when(lang, &h["deadline"])) }
            dt { (lang.t("col_assignee")) } dd { (text(&h["assignee"])) }
        }
        @if h["remediation"].as_str().is_some_and(|r| !r.is_empty()) {
            h2 { (lang.t("hazard_remediation")) }
            pre.remediation { (text(&h["remediation"])) }
        }
        h2 { (lang.t("hazard_history")) }
        table.history {
            thead { tr { th { (lang.t("col_time")) } th { (lang.t("col_state")) } th { (lang.t("col_by")) } th { (lang.t("col_note")) } } }
            tbody {
                @for s in h["history"].as_array().into_iter().flatten() {
                    tr {
                        td { (when(lang, &s["at"])) }
                        td { (state_label(lang, s["state"].as_str().unwrap_or(""))) }
                        td { (text(&s["actor"])) }
                        td { (text(&s["note"])) @if s["assignee"].as_str().is_some_and(|a| !a.is_empty()) { " → " (text(&s["assignee"])) } }
                    }
                }
            }
        }
        @if !allowed.is_empty() {
            h2 { (lang.t("hazard_step")) }
            form.step method="post" action="/hazard/step" {
                input type="hidden" name="csrf" value=(csrf_of(&v.session));
                input type="hidden" name="id" value=(id);
                label { (lang.t("col_state")) select name="state" {
                    @for to in &allowed { option value=(to) { (state_label(lang, to)) } }
                } }
                label { (lang.t("col_assignee")) input name="assignee" value=(text(&h["assignee"])); }
                label { (lang.t("col_note")) textarea name="note" rows="3" {} }
                button type="submit" { (lang.t("submit")) }
            }
        }
    };
    page(
        lang,
        layout(&app, &v, "/hazards", lang.t("hazard_title"), body),
    )
}

#[derive(Deserialize)]
pub(super) struct StepForm {
    csrf: String,
    id: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    note: String,
}

csrf_form!(StepForm);

/// `POST /hazard/step`
pub(super) async fn step(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<StepForm>,
) -> Response {
    let s = Step {
        state: f.state,
        assignee: f.assignee,
        note: f.note,
        deadline: 0,
    };
    let done = hazards::take_step(&app, &v.account, &f.id, s)
        .await
        .map(|(_, detail)| detail);
    let back = format!("/hazard?id={}", encode(&f.id));
    super::acted(
        &app,
        &v,
        "hazard.step",
        &f.id,
        done,
        &back,
        "/hazards",
        v.lang.t("hazard_title"),
    )
}

/// `GET /advisory?id=`
pub(super) async fn advisory(
    State(app): State<Arc<App>>,
    v: Viewer,
    PageId(id): PageId,
) -> Response {
    let lang = v.lang;
    let Some(a) = hazards::advisory_json(&app, &id) else {
        return super::not_found(&app, &v, "/hazards", "web.advisory", &id);
    };
    let body = html! {
        p.advisory-title { (text(&a["title"])) }
        dl.facts {
            dt { (lang.t("advisory_publisher")) } dd { (text(&a["publisher"])) " · " (text(&a["revision"])) " · TLP:" (text(&a["tlp"]).to_uppercase()) }
            dt { (lang.t("advisory_released")) } dd { (when(lang, &a["initial"])) " / " (when(lang, &a["current"])) }
            dt { "CVE" } dd { @for c in a["cves"].as_array().into_iter().flatten() { (text(c)) " " } }
            dt { "CVSS" } dd { (format!("{:.1}", a["max_cvss"].as_f64().unwrap_or(0.0))) @if a["exploited"] == true { " " span.badge.exploited { (lang.t("hazard_exploited")) } } }
        }
        p { a href={ "/hazards?state=all&advisory=" (encode(&id)) } { (lang.t("advisory_hazards")) } }
        h2 { (lang.t("advisory_products")) }
        table.products {
            thead { tr { th { (lang.t("advisory_vendor")) } th { (lang.t("advisory_product")) } th { (lang.t("advisory_versions")) } th { (lang.t("advisory_models")) } } }
            tbody {
                @for p in a["products"].as_array().into_iter().flatten().take(500) {
                    tr {
                        td { (text(&p["vendor"])) }
                        td { (text(&p["name"])) }
                        td { (text(&p["versions"])) }
                        td { @for m in p["model_numbers"].as_array().into_iter().flatten() { (text(m)) " " } }
                    }
                }
            }
        }
        h2 { (lang.t("advisory_vulnerabilities")) }
        @for vuln in a["vulnerabilities"].as_array().into_iter().flatten() {
            section.vulnerability {
                h3 { (text(&vuln["cve"])) " " (text(&vuln["title"])) }
                p { (text(&vuln["cwe"])) " · CVSS " (format!("{:.1}", vuln["cvss"].as_f64().unwrap_or(0.0))) }
                ul {
                    @for r in vuln["remediations"].as_array().into_iter().flatten() {
                        li { strong { (text(&r["category"])) } " " (text(&r["details"])) }
                    }
                }
            }
        }
    };
    page(lang, layout(&app, &v, "/hazards", &id, body))
}
