//! The registry on the pages (企业名录, 分类分级): enterprises of the reader's scope with their
//! type, scale and grade, the key-enterprise list, and one enterprise's grade explained term
//! by term with the administrator's forms — type and scale, and the grade override with its
//! reason — acting through the API's own code ([`registry::save`], [`registry::override_grade`]).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::alerts::encode;
use super::overview::{grade_name, industry_name};
use super::{csrf_of, layout, page, text, Csrf, PageId, Posted, Viewer};
use crate::account::Role;
use crate::codes::{KINDS, SCALES};
use crate::http::registry::{self, Override, Params, Upsert};
use crate::http::App;
use crate::i18n::Lang;

fn kind_label(lang: Lang, k: &str) -> &'static str {
    match k {
        "industrial" => lang.t("kind_industrial"),
        "platform" => lang.t("kind_platform"),
        "infrastructure" => lang.t("kind_infrastructure"),
        _ => "",
    }
}

fn scale_label(lang: Lang, s: &str) -> &'static str {
    match s {
        "large" => lang.t("scale_large"),
        "medium" => lang.t("scale_medium"),
        "small" => lang.t("scale_small"),
        "micro" => lang.t("scale_micro"),
        _ => "",
    }
}

fn factor_label(lang: Lang, f: &str) -> &'static str {
    match f {
        "industry" => lang.t("factor_industry"),
        "kind" => lang.t("factor_kind"),
        "scale" => lang.t("factor_scale"),
        "controllers" => lang.t("factor_controllers"),
        _ => lang.t("factor_exposure"),
    }
}

/// A term's value as people read it.
fn factor_value(lang: Lang, t: &Value) -> String {
    let v = t["value"].as_str().unwrap_or("");
    match t["factor"].as_str().unwrap_or("") {
        "industry" => industry_name(lang, v).to_owned(),
        "kind" => kind_label(lang, v).to_owned(),
        "scale" => scale_label(lang, v).to_owned(),
        _ => v.to_owned(),
    }
}

#[derive(Deserialize, Default)]
pub(super) struct ListParams {
    key: Option<String>,
    q: Option<String>,
}

/// `GET /registry` (`?key=1`: the key-enterprise list)
pub(super) async fn list(
    State(app): State<Arc<App>>,
    v: Viewer,
    q: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = v.lang;
    let p = q.map(|Query(p)| p).unwrap_or_default();
    let key = p.key.as_deref() == Some("1");
    let asked = Params {
        key: Some(key),
        q: p.q.clone().filter(|q| !q.is_empty()),
        limit: Some(2_000),
        ..Params::default()
    };
    let answer = match registry::listing(&app, &v.account, asked).await {
        Ok(a) => a,
        Err(e) => return super::not_found(&app, &v, "/registry", "web.registry", &e.to_string()),
    };
    let title = if key {
        lang.t("key_title")
    } else {
        lang.t("registry_title")
    };
    let body = html! {
        p {
            @if key { a href="/registry" { (lang.t("registry_all")) } } @else { a href="/registry?key=1" { (lang.t("key_title")) } }
        }
        form.filters method="get" action="/registry" {
            @if key { input type="hidden" name="key" value="1"; }
            label { (lang.t("registry_search")) input name="q" value=(p.q.clone().unwrap_or_default()); }
            button type="submit" { (lang.t("filter")) }
        }
        p.totals {
            (lang.t("registry_total")) " " (lang.count(answer["total"].as_u64().unwrap_or(0)))
            @for g in ["1", "2", "3"] {
                " · " (grade_name(lang, g.parse().unwrap_or(0))) " " (lang.count(answer["by_grade"][g].as_u64().unwrap_or(0)))
            }
        }
        (table(lang, &answer["enterprises"]))
        @if v.account.role == Role::Admin && v.account.enterprise_id.is_empty() {
            h2 { (lang.t("registry_new")) }
            form.new-enterprise method="post" action="/registry/new" {
                input type="hidden" name="csrf" value=(csrf_of(&v.session));
                label { (lang.t("col_enterprise")) input name="enterprise_id" required; }
                label { (lang.t("col_name")) input name="name" required; }
                label { (lang.t("col_province")) input name="province" value=(app.config.tier.province) required; }
                label { (lang.t("col_industry")) select name="industry" {
                    @for i in icsight_eve::Industry::ALL { option value=(i.name()) { (industry_name(lang, i.name())) } }
                } }
                label { (lang.t("col_grade")) select name="grade" {
                    @for g in 1..=3u8 { option value=(g) selected[g == 3] { (grade_name(lang, g)) } }
                } }
                label { (lang.t("col_kind")) select name="kind" {
                    option value="" { }
                    @for k in KINDS { option value=(k) { (kind_label(lang, k)) } }
                } }
                label { (lang.t("col_scale")) select name="scale" {
                    option value="" { }
                    @for sc in SCALES { option value=(sc) { (scale_label(lang, sc)) } }
                } }
                button type="submit" { (lang.t("submit")) }
            }
        }
    };
    page(lang, layout(&app, &v, "/registry", title, body))
}

#[derive(Deserialize)]
pub(super) struct NewForm {
    csrf: String,
    enterprise_id: String,
    name: String,
    province: String,
    industry: String,
    #[serde(default)]
    grade: u8,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    scale: String,
}

csrf_form!(NewForm);

/// `POST /registry/new`: an enterprise entered by hand (the API's create, audited alike).
pub(super) async fn create(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<NewForm>,
) -> Response {
    let id = f.enterprise_id.trim().to_owned();
    let u = Upsert {
        enterprise_id: id.clone(),
        name: f.name,
        province: f.province.trim().to_owned(),
        industry: f.industry,
        grade: f.grade,
        kind: f.kind,
        scale: f.scale,
    };
    let done = registry::save(&app, &v.account, u).await.map(|(_, _, d)| d);
    let back = format!("/enterprise?id={}", encode(&id));
    super::acted(
        &app,
        &v,
        "registry.write",
        &id,
        done,
        &back,
        "/registry",
        v.lang.t("registry_title"),
    )
}

fn table(lang: Lang, list: &Value) -> Markup {
    html! {
        @if list.as_array().is_none_or(Vec::is_empty) {
            p.none { (lang.t("none")) }
        } @else {
            table.registry {
                thead { tr {
                    th { (lang.t("col_enterprise")) } th { (lang.t("col_name")) } th { (lang.t("col_province")) }
                    th { (lang.t("col_industry")) } th { (lang.t("col_kind")) } th { (lang.t("col_scale")) }
                    th { (lang.t("col_grade")) } th { (lang.t("col_score")) }
                } }
                tbody {
                    @for e in list.as_array().into_iter().flatten() {
                        tr {
                            td { a href={ "/enterprise?id=" (encode(e["enterprise_id"].as_str().unwrap_or(""))) } { (text(&e["enterprise_id"])) } }
                            td { (text(&e["name"])) @if e["key"] == true { " " span.badge.key { (lang.t("key_badge")) } } }
                            td { (text(&e["province"])) }
                            td { (industry_name(lang, e["industry"].as_str().unwrap_or(""))) }
                            td { (kind_label(lang, e["kind"].as_str().unwrap_or(""))) }
                            td { (scale_label(lang, e["scale"].as_str().unwrap_or(""))) }
                            td.grade { (grade_name(lang, e["grade"].as_u64().unwrap_or(0) as u8))
                                @if e["override"]["grade"].as_u64().unwrap_or(0) != 0 { " " span.badge { (lang.t("grade_overridden")) } } }
                            td.num { (e["computed"]["score"].as_u64().unwrap_or(0)) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /enterprise?id=`: one enterprise, its grade explained, and the administrator's forms.
pub(super) async fn one(State(app): State<Arc<App>>, v: Viewer, PageId(id): PageId) -> Response {
    let lang = v.lang;
    let answer = registry::listing(
        &app,
        &v.account,
        Params {
            q: Some(id.clone()),
            ..Params::default()
        },
    )
    .await;
    let Some(e) = answer.ok().and_then(|a| {
        (a["enterprises"].as_array().into_iter().flatten())
            .find(|e| e["enterprise_id"] == id.as_str())
            .cloned()
    }) else {
        return super::not_found(&app, &v, "/registry", "web.enterprise", &id);
    };
    let admin = v.account.role == Role::Admin;
    let kind = e["kind"].as_str().unwrap_or("").to_owned();
    let scale = e["scale"].as_str().unwrap_or("").to_owned();
    let body = html! {
        dl.facts {
            dt { (lang.t("col_name")) } dd { (text(&e["name"])) @if e["key"] == true { " " span.badge.key { (lang.t("key_badge")) } } }
            dt { (lang.t("col_industry")) } dd { (industry_name(lang, e["industry"].as_str().unwrap_or(""))) }
            dt { (lang.t("col_kind")) } dd { (kind_label(lang, &kind)) }
            dt { (lang.t("col_scale")) } dd { (scale_label(lang, &scale)) }
            dt { (lang.t("col_grade")) } dd.grade { (grade_name(lang, e["grade"].as_u64().unwrap_or(0) as u8)) }
        }
        h2 { (lang.t("grade_explained")) }
        @let terms = e["computed"]["terms"].as_array().cloned().unwrap_or_default();
        @if terms.is_empty() {
            p.none { (lang.t("grade_not_computed")) }
        } @else {
            table.terms {
                thead { tr { th { (lang.t("col_factor")) } th { (lang.t("col_value")) } th { (lang.t("col_points")) } } }
                tbody {
                    @for t in &terms {
                        tr { td { (factor_label(lang, t["factor"].as_str().unwrap_or(""))) } td { (factor_value(lang, t)) } td.num { (t["points"].as_u64().unwrap_or(0)) } }
                    }
                    tr.total { td { (lang.t("col_score")) } td { (grade_name(lang, e["computed"]["grade"].as_u64().unwrap_or(0) as u8)) } td.num { (e["computed"]["score"].as_u64().unwrap_or(0)) } }
                }
            }
        }
        @if e["override"]["grade"].as_u64().unwrap_or(0) != 0 {
            p.override {
                (lang.t("grade_overridden")) ": " (grade_name(lang, e["override"]["grade"].as_u64().unwrap_or(0) as u8))
                " · " (text(&e["override"]["by"])) " · " (text(&e["override"]["reason"]))
            }
        }
        @if admin {
            h2 { (lang.t("registry_profile")) }
            form.profile method="post" action="/registry/save" {
                input type="hidden" name="csrf" value=(csrf_of(&v.session));
                input type="hidden" name="id" value=(id);
                label { (lang.t("col_kind")) select name="kind" {
                    option value="" { }
                    @for k in KINDS { option value=(k) selected[kind == k] { (kind_label(lang, k)) } }
                } }
                label { (lang.t("col_scale")) select name="scale" {
                    option value="" { }
                    @for s in SCALES { option value=(s) selected[scale == s] { (scale_label(lang, s)) } }
                } }
                button type="submit" { (lang.t("submit")) }
            }
            h2 { (lang.t("grade_override")) }
            form.override method="post" action="/registry/grade" {
                input type="hidden" name="csrf" value=(csrf_of(&v.session));
                input type="hidden" name="id" value=(id);
                label { (lang.t("col_grade")) select name="grade" {
                    option value="0" { (lang.t("grade_by_rules")) }
                    @for g in 1..=3u8 { option value=(g) { (grade_name(lang, g)) } }
                } }
                label { (lang.t("grade_reason")) textarea name="reason" rows="2" {} }
                button type="submit" { (lang.t("submit")) }
            }
        }
    };
    page(lang, layout(&app, &v, "/registry", &text(&e["name"]), body))
}

#[derive(Deserialize)]
pub(super) struct ProfileForm {
    csrf: String,
    id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    scale: String,
}

csrf_form!(ProfileForm);

/// `POST /registry/save`: type and scale of an enterprise.
pub(super) async fn save(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<ProfileForm>,
) -> Response {
    let back = format!("/enterprise?id={}", encode(&f.id));
    let done = match app.registry().get(&f.id).cloned() {
        None => Err(crate::http::ApiError::not_found(format!(
            "no enterprise {:?}",
            f.id
        ))),
        Some(e) => {
            let u = Upsert {
                enterprise_id: e.enterprise_id,
                name: e.name,
                province: e.province,
                industry: e.industry,
                grade: e.grade,
                kind: f.kind,
                scale: f.scale,
            };
            registry::save(&app, &v.account, u).await.map(|(_, _, d)| d)
        }
    };
    super::acted(
        &app,
        &v,
        "registry.write",
        &f.id,
        done,
        &back,
        "/registry",
        v.lang.t("registry_title"),
    )
}

#[derive(Deserialize)]
pub(super) struct GradeForm {
    csrf: String,
    id: String,
    #[serde(default)]
    grade: u8,
    #[serde(default)]
    reason: String,
}

csrf_form!(GradeForm);

/// `POST /registry/grade`: the administrator's grade and why.
pub(super) async fn grade(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<GradeForm>,
) -> Response {
    let back = format!("/enterprise?id={}", encode(&f.id));
    let o = Override {
        grade: f.grade,
        reason: f.reason,
    };
    let done = registry::override_grade(&app, &v.account, &f.id, o)
        .await
        .map(|(_, d)| d);
    super::acted(
        &app,
        &v,
        "registry.grade",
        &f.id,
        done,
        &back,
        "/registry",
        v.lang.t("registry_title"),
    )
}
