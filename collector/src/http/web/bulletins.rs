//! The bulletin desk: the threat bulletins reaching the reader's scope with how far each
//! enterprise has got (received, acknowledged, disposed, overdue), and, for those who may act,
//! the forms that acknowledge and dispose of one — the API's own steps ([`bulletins::step`]),
//! audited alike.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use serde_json::Value;

use super::alerts::encode;
use super::{csrf_of, layout, not_found, page, text, when, Csrf, PageId, Posted, Viewer};
use crate::http::bulletins::{self, Step};
use crate::http::App;
use crate::store::audit::Record;

pub(super) async fn list(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    let new = html! {
        @if issues(&app, &v) {
            p { a.button href="/bulletin/new" { (lang.t("issue_title")) } }
        }
    };
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
                            td { (when(lang, &b["deadline"])) }
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
    let body = html! { (new) (body) };
    page(
        lang,
        layout(&app, &v, "/bulletins", lang.t("bulletins_title"), body),
    )
}

pub(super) async fn one(State(app): State<Arc<App>>, v: Viewer, PageId(id): PageId) -> Response {
    let lang = v.lang;
    let Ok(b) = bulletins::reading(&app, &v.account, &id).await else {
        return not_found(
            &app,
            &v,
            "/bulletins",
            "web.bulletin",
            &format!("bulletin {id}"),
        );
    };
    let acts = v.account.may_write("act on bulletins").is_ok() && v.account.industry.is_empty();
    let chases = v.account.enterprise_id.is_empty()
        && app.notifier.is_some()
        && b["revoked"] != Value::Bool(true);
    let csrf = csrf_of(&v.session);
    let status = b["status"].as_array().cloned().unwrap_or_default();
    let body = html! {
        table.fields { tbody {
            tr { th { (lang.t("col_bulletin")) } td { (id) } }
            tr { th { (lang.t("col_title")) } td { (text(&b["title"])) } }
            tr { th { (lang.t("col_severity")) } td { (text(&b["severity"])) } }
            tr { th { (lang.t("col_issuer")) } td { (text(&b["issuer"])) } }
            tr { th { (lang.t("col_deadline")) } td { (when(lang, &b["deadline"])) } }
            tr { th { (lang.t("col_revision")) } td { (text(&b["revision"])) } }
            tr { th { (lang.t("col_tlp")) } td.tlp { "TLP:" (text(&b["tlp"]).to_uppercase()) } }
            @if b["revoked"] == Value::Bool(true) {
                tr { th { (lang.t("col_state")) } td { strong.error { (lang.t("revoked_badge")) } } }
            }
            @if b["drill"] == Value::Bool(true) {
                tr { th { (lang.t("f_drill")) } td { span.drill { (lang.t("drill_badge")) } } }
            }
            @if !text(&b["change"]).is_empty() {
                tr { th { (lang.t("col_change")) } td { (text(&b["change"])) } }
            }
            tr { th { (lang.t("col_description")) } td { (text(&b["description"])) } }
        } }
        @if changes(&app, &v, &b) {
            p {
                a.button href={ "/bulletin/amend?id=" (encode(&id)) } { (lang.t("amend_title")) }
            }
            form.revoke method="post" action="/bulletin/revoke" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="id" value=(id);
                label { (lang.t("col_change")) input name="change" required maxlength="4000"; }
                button type="submit" { (lang.t("do_revoke")) }
            }
        }
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
                @if chases { th { (lang.t("do_remind")) } }
            } }
            tbody {
                @for s in &status {
                    @let enterprise = text(&s["enterprise_id"]);
                    tr {
                        td { (enterprise) " " (text(&s["name"])) }
                        td { (text(&s["province"])) }
                        td { (when(lang, &s["received"])) }
                        td { (when(lang, &s["acknowledged"])) }
                        td { (when(lang, &s["disposed"])) }
                        td { @if s["overdue"] == Value::Bool(true) { strong.error { (lang.t("yes")) } } }
                        @if acts && s["disposed"].is_null() && b["revoked"] != Value::Bool(true) {
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
                        @if chases {
                            td {
                                @if s["disposed"].is_null() {
                                    form.remind method="post" action="/bulletin/remind" {
                                        input type="hidden" name="csrf" value=(csrf);
                                        input type="hidden" name="id" value=(id);
                                        input type="hidden" name="enterprise_id" value=(enterprise);
                                        button type="submit" { (lang.t("do_remind")) }
                                    }
                                }
                            }
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

csrf_form!(StepForm);

/// `POST /bulletin/step`: acknowledge or dispose, for an enterprise of the reader's scope.
pub(super) async fn act(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<StepForm>,
) -> Response {
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
    let done = bulletins::step(&app, &v.account, &f.id, s, state)
        .await
        .map(|(_, detail)| detail);
    let back = format!("/bulletin?id={}", encode(&f.id));
    let title = v.lang.t("bulletin_title");
    super::acted(&app, &v, action, &f.id, done, &back, "/bulletins", title)
}

/// Whether the reader may issue bulletins here: an administrator of a national or provincial
/// tier (the API decides again on submission).
fn issues(app: &App, v: &Viewer) -> bool {
    v.account.may_administer("issue bulletins").is_ok()
        && app.config.tier.role != crate::config::TierRole::Enterprise
}

/// Whether the reader may amend or revoke bulletin `b` here: it may issue, the bulletin was
/// issued by this tier and is not revoked (the API decides again on submission).
fn changes(app: &App, v: &Viewer, b: &Value) -> bool {
    issues(app, v) && b["issuer"] == app.config.tier.id.as_str() && b["revoked"] == false
}

/// `GET /bulletin/new`: the form that issues a bulletin.
pub(super) async fn new(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    if !issues(&app, &v) {
        return super::not_found(&app, &v, "/bulletins", "web.bulletin.new", "the issue form");
    }
    page(
        lang,
        layout(
            &app,
            &v,
            "/bulletins",
            lang.t("issue_title"),
            issue_form(&app, &v, &IssueForm::default(), None),
        ),
    )
}

/// `GET /bulletin/amend?id=`: the issue form, filled with the bulletin's current content,
/// that amends it.
pub(super) async fn amend_form(
    State(app): State<Arc<App>>,
    v: Viewer,
    PageId(id): PageId,
) -> Response {
    let lang = v.lang;
    let b = match bulletins::reading(&app, &v.account, &id).await {
        Ok(b) if changes(&app, &v, &b) => b,
        _ => {
            return super::not_found(
                &app,
                &v,
                "/bulletins",
                "web.bulletin.amend",
                &format!("bulletin {id}"),
            )
        }
    };
    let f = IssueForm::of(&b);
    page(
        lang,
        layout(
            &app,
            &v,
            "/bulletins",
            lang.t("amend_title"),
            issue_form(&app, &v, &f, None),
        ),
    )
}

/// The issue form, filled with `f`, with the API's refusal above it if there was one.
fn issue_form(app: &App, v: &Viewer, f: &IssueForm, error: Option<String>) -> maud::Markup {
    let lang = v.lang;
    let province = if app.config.tier.province.is_empty() {
        f.provinces.clone()
    } else {
        app.config.tier.province.clone()
    };
    html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @let action = if f.id.is_empty() { "/bulletin/issue" } else { "/bulletin/amend" };
        form.issue method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf_of(&v.session));
            @if !f.id.is_empty() {
                input type="hidden" name="id" value=(f.id);
                p { (lang.t("col_bulletin")) " " (f.id) }
                label { (lang.t("col_change")) textarea name="change" required { (f.change) } }
            }
            label { (lang.t("col_title")) input name="title" required maxlength="200" value=(f.title); }
            label { (lang.t("col_severity"))
                select name="severity" {
                    @for n in 1..=4u8 {
                        @if n.to_string() == f.severity { option value=(n) selected { (n) } } @else { option value=(n) { (n) } }
                    }
                }
            }
            label { (lang.t("col_description")) textarea name="description" { (f.description) } }
            label { (lang.t("issue_provinces")) input name="provinces" value=(province); }
            label { (lang.t("issue_industries")) input name="industries" value=(f.industries); }
            label { (lang.t("issue_grades")) input name="grades" value=(f.grades); }
            label { (lang.t("issue_enterprises")) input name="enterprises" value=(f.enterprises); }
            label { (lang.t("issue_ips")) textarea name="ips" { (f.ips) } }
            label { (lang.t("issue_domains")) textarea name="domains" { (f.domains) } }
            label { (lang.t("issue_hashes")) textarea name="hashes" { (f.hashes) } }
            label { (lang.t("issue_signatures")) textarea name="signatures" { (f.signatures) } }
            label { (lang.t("issue_actions")) textarea name="actions" { (f.actions) } }
            label { (lang.t("col_deadline")) input type="date" name="deadline" required value=(f.deadline); }
            label { (lang.t("col_tlp"))
                select name="tlp" {
                    @for t in ["clear", "green", "amber", "amber+strict", "red"] {
                        @let chosen = if f.tlp.is_empty() { t == "amber" } else { f.tlp == t };
                        option value=(t) selected[chosen] { "TLP:" (t.to_uppercase()) }
                    }
                }
            }
            @if f.id.is_empty() {
                label.check {
                    input type="checkbox" name="drill" value="1" checked[!f.drill.is_empty()];
                    (lang.t("f_drill"))
                }
                button type="submit" { (lang.t("issue_submit")) }
            } @else {
                @if !f.drill.is_empty() { input type="hidden" name="drill" value="1"; }
                button type="submit" { (lang.t("amend_submit")) }
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    provinces: String,
    #[serde(default)]
    industries: String,
    #[serde(default)]
    grades: String,
    #[serde(default)]
    enterprises: String,
    #[serde(default)]
    ips: String,
    #[serde(default)]
    domains: String,
    #[serde(default)]
    hashes: String,
    #[serde(default)]
    signatures: String,
    #[serde(default)]
    actions: String,
    #[serde(default)]
    deadline: String,
    #[serde(default)]
    drill: String,
    #[serde(default)]
    tlp: String,
    /// Set when the form amends bulletin `id`.
    #[serde(default)]
    id: String,
    #[serde(default)]
    change: String,
}

csrf_form!(IssueForm);

/// Items of a list field: split on commas, whitespace and new lines.
fn items(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c == '，' || c.is_whitespace())
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

impl IssueForm {
    /// The form filled with bulletin `b` as `GET /v1/bulletins/{id}` shows it.
    fn of(b: &Value) -> IssueForm {
        let list = |v: &Value| -> String {
            (v.as_array().into_iter().flatten())
                .map(text)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let lines = |v: &Value| -> String {
            (v.as_array().into_iter().flatten())
                .map(text)
                .collect::<Vec<_>>()
                .join("\n")
        };
        // The deadline's day in Beijing (a deadline ends at midnight there).
        let deadline = icsight_eve::Timestamp::parse(&text(&b["deadline"]))
            .map(|t| crate::tier::sitrep::day_of(t.secs().saturating_sub(1)))
            .unwrap_or_default();
        let generated = format!("metadata: bulletin {};", text(&b["bulletin_id"]));
        let signatures: Vec<&str> = (b["rules"].as_str().unwrap_or(""))
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains(&generated))
            .collect();
        IssueForm {
            title: text(&b["title"]),
            severity: text(&b["severity"]),
            description: text(&b["description"]),
            provinces: list(&b["scope"]["provinces"]),
            industries: list(&b["scope"]["industries"]),
            grades: list(&b["scope"]["grades"]),
            enterprises: list(&b["scope"]["enterprises"]),
            ips: lines(&b["indicators"]["ips"]),
            domains: lines(&b["indicators"]["domains"]),
            hashes: lines(&b["indicators"]["hashes"]),
            signatures: signatures.join("\n"),
            actions: lines(&b["actions"]),
            deadline,
            drill: if b["drill"] == true {
                "1".into()
            } else {
                String::new()
            },
            tlp: text(&b["tlp"]),
            id: text(&b["bulletin_id"]),
            ..IssueForm::default()
        }
    }

    /// The API's body for this form; a field that cannot be one is named.
    fn bulletin(&self) -> Result<crate::tier::bulletin::NewBulletin, String> {
        let numbers = |name: &str, s: &str| -> Result<Vec<u64>, String> {
            items(s)
                .iter()
                .map(|x| {
                    x.parse()
                        .map_err(|_| format!("{name}: {x:?} is not a number"))
                })
                .collect()
        };
        let grades = numbers("grades", &self.grades)?
            .into_iter()
            .map(|g| u8::try_from(g).map_err(|_| format!("grades: {g} is not a grade")))
            .collect::<Result<Vec<_>, _>>()?;
        // A deadline day ends at midnight in Beijing.
        let end = crate::tier::sitrep::parse_day(self.deadline.trim())
            .ok_or_else(|| format!("deadline: {:?} is not a day (2026-12-31)", self.deadline))?
            + 86_400;
        let deadline = icsight_eve::Timestamp(end * 1_000_000).rfc3339();
        let v = serde_json::json!({
            "title": self.title.trim(),
            "severity": self.severity.trim().parse::<u8>().map_err(|_| "severity: 1 to 4".to_owned())?,
            "description": self.description,
            "scope": {
                "provinces": items(&self.provinces),
                "industries": items(&self.industries),
                "grades": grades,
                "enterprises": items(&self.enterprises),
            },
            "indicators": {
                "ips": items(&self.ips),
                "domains": items(&self.domains),
                "hashes": items(&self.hashes),
            },
            "signatures": self.signatures,
            "actions": self.actions.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>(),
            "deadline": deadline,
            "drill": !self.drill.is_empty(),
            "tlp": if self.tlp.is_empty() { "amber" } else { self.tlp.as_str() },
        });
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
}

/// `POST /bulletin/issue`: the API's issue (`POST /v1/bulletins`), audited alike.
pub(super) async fn issue(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<IssueForm>,
) -> Response {
    let lang = v.lang;
    let a = &v.account;
    let r = bulletins::issue_inner(&app, a, f.bulletin()).await;
    match r {
        Ok((resp, detail)) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "bulletin.issue", "ok")
                    .detail(detail)
                    .scope(&a.province, &a.enterprise_id),
            );
            let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
                .await
                .unwrap_or_default();
            let id = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v["bulletin_id"].as_str().map(str::to_owned))
                .unwrap_or_default();
            Redirect::to(&format!("/bulletin?id={}", encode(&id))).into_response()
        }
        Err(e) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "bulletin.issue", "denied")
                    .detail(e.to_string())
                    .scope(&a.province, &a.enterprise_id),
            );
            let status = e.status();
            let mut r = page(
                lang,
                layout(
                    &app,
                    &v,
                    "/bulletins",
                    lang.t("issue_title"),
                    issue_form(&app, &v, &f, Some(e.to_string())),
                ),
            );
            *r.status_mut() = status;
            r
        }
    }
}

/// `POST /bulletin/amend`: the API's amendment (`POST /v1/bulletins/{id}/amend`), audited
/// alike.
pub(super) async fn amend(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<IssueForm>,
) -> Response {
    let lang = v.lang;
    let a = &v.account;
    let content = f.bulletin().map(|content| {
        Box::new(bulletins::Amendment {
            change: f.change.clone(),
            content,
        })
    });
    let r = bulletins::change_inner(&app, a, &f.id, bulletins::Change::Amend(content)).await;
    match r {
        Ok((_, detail)) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "bulletin.amend", "ok")
                    .detail(detail)
                    .scope(&a.province, &a.enterprise_id),
            );
            Redirect::to(&format!("/bulletin?id={}", encode(&f.id))).into_response()
        }
        Err(e) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "bulletin.amend", "denied")
                    .detail(e.to_string())
                    .scope(&a.province, &a.enterprise_id),
            );
            let status = e.status();
            let mut r = page(
                lang,
                layout(
                    &app,
                    &v,
                    "/bulletins",
                    lang.t("amend_title"),
                    issue_form(&app, &v, &f, Some(e.to_string())),
                ),
            );
            *r.status_mut() = status;
            r
        }
    }
}

#[derive(Deserialize)]
pub(super) struct RevokeForm {
    csrf: String,
    id: String,
    #[serde(default)]
    change: String,
}

csrf_form!(RevokeForm);

/// `POST /bulletin/revoke`: the API's revocation (`POST /v1/bulletins/{id}/revoke`), audited
/// alike.
pub(super) async fn revoke(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<RevokeForm>,
) -> Response {
    let why = Ok(bulletins::Revocation { change: f.change });
    let done = bulletins::change_inner(&app, &v.account, &f.id, bulletins::Change::Revoke(why))
        .await
        .map(|(_, detail)| detail);
    let back = format!("/bulletin?id={}", encode(&f.id));
    let title = v.lang.t("bulletin_title");
    super::acted(
        &app,
        &v,
        "bulletin.revoke",
        &f.id,
        done,
        &back,
        "/bulletins",
        title,
    )
}

#[derive(Deserialize)]
pub(super) struct RemindForm {
    csrf: String,
    id: String,
    enterprise_id: String,
}

csrf_form!(RemindForm);

/// `POST /bulletin/remind`: the API's chase (`POST /v1/bulletins/{id}/remind`), audited alike.
pub(super) async fn remind(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<RemindForm>,
) -> Response {
    let done = bulletins::chase(&app, &v.account, &f.id, &f.enterprise_id)
        .await
        .map(|(_, detail)| detail);
    let back = format!("/bulletin?id={}", encode(&f.id));
    let title = v.lang.t("bulletin_title");
    super::acted(
        &app,
        &v,
        "bulletin.remind",
        &f.id,
        done,
        &back,
        "/bulletins",
        title,
    )
}
