//! The bulletin desk: the threat bulletins reaching the reader's scope with how far each
//! enterprise has got (received, acknowledged, disposed, overdue), and, for those who may act,
//! the forms that acknowledge and dispose of one — the API's own steps ([`bulletins::step`]),
//! audited alike.

use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::alerts::encode;
use super::{csrf_of, layout, page, same, Viewer};
use crate::http::bulletins::{self, Step};
use crate::http::App;
use crate::store::audit::Record;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) async fn list(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    let body = match bulletins::listing(&app, &v.account).await {
        Err(e) => html! { p.error role="alert" { (e.to_string()) } },
        Ok(all) if all.is_empty() => html! { p.none { (lang.t("none")) } },
        Ok(all) => html! {
            table.bulletins {
                thead { tr {
                    th { (lang.t("col_bulletin")) }
                    th { (lang.t("col_title")) }
                    th { (lang.t("col_severity")) }
                    th { (lang.t("col_deadline")) }
                    th { (lang.t("col_targets")) }
                    th { (lang.t("step_received")) }
                    th { (lang.t("step_acknowledged")) }
                    th { (lang.t("step_disposed")) }
                } }
                tbody {
                    @for b in &all {
                        @let id = text(&b["bulletin_id"]);
                        tr {
                            td { a href={ "/bulletin?id=" (encode(&id)) } { (id) } }
                            td { (text(&b["title"])) }
                            td.num { (text(&b["severity"])) }
                            td { (text(&b["deadline"])) }
                            td.num { (text(&b["targets"])) }
                            td.num { (text(&b["received"])) }
                            td.num { (text(&b["acknowledged"])) }
                            td.num { (text(&b["disposed"])) }
                        }
                    }
                }
            }
        },
    };
    page(
        lang,
        layout(&app, &v, "/bulletins", lang.t("bulletins_title"), body),
    )
}

#[derive(Deserialize)]
pub(super) struct One {
    id: String,
}

pub(super) async fn one(
    State(app): State<Arc<App>>,
    v: Viewer,
    q: Result<Query<One>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = v.lang;
    let id = q.map(|Query(q)| q.id).unwrap_or_default();
    let b = match bulletins::reading(&app, &v.account, &id).await {
        Ok(b) => b,
        Err(_) => {
            app.audit.record(
                Record::new(
                    &v.account.name,
                    v.account.role.name(),
                    "web.bulletin",
                    "not_found",
                )
                .detail(format!("bulletin {id}: none in scope"))
                .scope(&v.account.province, &v.account.enterprise_id),
            );
            let body = html! { p.none { (lang.t("not_found_text")) } };
            let mut r = page(
                lang,
                layout(&app, &v, "/bulletins", lang.t("not_found"), body),
            );
            *r.status_mut() = StatusCode::NOT_FOUND;
            return r;
        }
    };
    let acts = v.account.may_write("act on bulletins").is_ok();
    let csrf = csrf_of(&v.session);
    let status = b["status"].as_array().cloned().unwrap_or_default();
    let body = html! {
        table.fields { tbody {
            tr { th { (lang.t("col_bulletin")) } td { (id) } }
            tr { th { (lang.t("col_title")) } td { (text(&b["title"])) } }
            tr { th { (lang.t("col_severity")) } td { (text(&b["severity"])) } }
            tr { th { (lang.t("col_issuer")) } td { (text(&b["issuer"])) } }
            tr { th { (lang.t("col_deadline")) } td { (text(&b["deadline"])) } }
            tr { th { (lang.t("col_description")) } td { (text(&b["description"])) } }
        } }
        h2 { (lang.t("col_targets")) }
        table.progress {
            thead { tr {
                th { (lang.t("col_enterprise")) }
                th { (lang.t("col_province")) }
                th { (lang.t("step_received")) }
                th { (lang.t("step_acknowledged")) }
                th { (lang.t("step_disposed")) }
                th { (lang.t("col_overdue")) }
                @if acts { th { (lang.t("col_act")) } }
            } }
            tbody {
                @for s in &status {
                    @let enterprise = text(&s["enterprise_id"]);
                    tr {
                        td { (enterprise) " " (text(&s["name"])) }
                        td { (text(&s["province"])) }
                        td { (text(&s["received"])) }
                        td { (text(&s["acknowledged"])) }
                        td { (text(&s["disposed"])) }
                        td { @if s["overdue"] == Value::Bool(true) { strong.error { (lang.t("yes")) } } }
                        @if acts && s["disposed"].is_null() {
                            td {
                                form.step method="post" action="/bulletin/step" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="id" value=(id);
                                    input type="hidden" name="enterprise_id" value=(enterprise);
                                    input name="note" placeholder=(lang.t("note"));
                                    @if s["acknowledged"].is_null() {
                                        button type="submit" name="state" value="acknowledged" { (lang.t("do_acknowledge")) }
                                    }
                                    button type="submit" name="state" value="disposed" { (lang.t("do_dispose")) }
                                }
                            }
                        } @else if acts {
                            td {}
                        }
                    }
                }
            }
        }
    };
    page(
        lang,
        layout(&app, &v, "/bulletins", lang.t("bulletin_title"), body),
    )
}

#[derive(Deserialize)]
pub(super) struct StepForm {
    csrf: String,
    id: String,
    enterprise_id: String,
    state: String,
    #[serde(default)]
    note: String,
}

/// `POST /bulletin/step`: acknowledge or dispose, for an enterprise of the reader's scope.
pub(super) async fn act(
    State(app): State<Arc<App>>,
    v: Viewer,
    form: Result<Form<StepForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !same(&csrf_of(&v.session), &f.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let state = match f.state.as_str() {
        "acknowledged" => "acknowledged",
        "disposed" => "disposed",
        _ => return StatusCode::BAD_REQUEST.into_response(),
    };
    let action = if state == "disposed" {
        "bulletin.dispose"
    } else {
        "bulletin.acknowledge"
    };
    let s = Step {
        enterprise_id: f.enterprise_id,
        note: f.note,
    };
    let a = &v.account;
    match bulletins::step(&app, a, &f.id, s, state).await {
        Ok((_, detail)) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), action, "ok")
                    .detail(detail)
                    .scope(&a.province, &a.enterprise_id),
            );
            Redirect::to(&format!("/bulletin?id={}", encode(&f.id))).into_response()
        }
        Err(e) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), action, "denied")
                    .detail(e.to_string())
                    .scope(&a.province, &a.enterprise_id),
            );
            let status = e.status();
            let lang = v.lang;
            let body = html! { p.error role="alert" { (e.to_string()) } };
            let mut r = page(
                lang,
                layout(&app, &v, "/bulletins", lang.t("bulletin_title"), body),
            );
            *r.status_mut() = status;
            r
        }
    }
}
