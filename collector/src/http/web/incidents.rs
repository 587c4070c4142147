//! The incident desk: open incidents of the reader's scope, and one incident with its
//! evidence and history and, where this tier handles it and the reader may act, the form that
//! moves it on with a note — the API's own step ([`incidents::step`]), audited alike. Incident
//! reports (事件报告): a new incident reported, and each incident's reports with the form for
//! the next one (first, follow-up, final), through the API's own checks.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::alerts::{encode, tree};
use super::{csrf_of, layout, not_found, page, state_name, Csrf, PageId, Posted, Viewer};
use crate::http::incidents::{self, Transition};
use crate::http::App;
use crate::i18n::Lang;
use crate::store::audit::Record;
use crate::tier::incident::filing::{self, Filing, Stage, CATEGORIES};
use crate::tier::incident::{Incident, ListQuery, State as Lifecycle};
use crate::tier::report::IncidentReport;
use crate::tier::situation::OpenIncident;
use crate::time::now_s;

/// The incidents of a list, each linked to its page.
pub(super) fn table(lang: Lang, list: &[OpenIncident]) -> Markup {
    html! {
        @if list.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            table.incidents {
                thead { tr {
                    th { (lang.t("col_priority")) }
                    th { (lang.t("col_title")) }
                    th { (lang.t("col_enterprise")) }
                    th { (lang.t("col_province")) }
                    th { (lang.t("col_state")) }
                    th { (lang.t("col_opened")) }
                } }
                tbody {
                    @for i in list {
                        tr {
                            td.num { (i.priority) }
                            td { a href={ "/incident?id=" (encode(&i.incident_id)) } { (i.title) } }
                            td { (i.enterprise_id) }
                            td { (i.province) }
                            td { (state_name(lang, &i.state)) }
                            td { (lang.time(u64::from(i.opened))) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /incidents`: the scope's incidents not closed, most urgent first.
pub(super) async fn list(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    let a = &v.account;
    let q = ListQuery {
        from: 0,
        to: u32::MAX,
        province: (!a.province.is_empty()).then(|| a.province.clone()),
        enterprise: (!a.enterprise_id.is_empty()).then(|| a.enterprise_id.clone()),
        state: None,
        limit: 500,
    };
    let body = match app.incidents.list(&q).await {
        Ok(all) => {
            let mut open: Vec<OpenIncident> = all
                .iter()
                .filter(|i| i.state != "closed" && a.sees(&i.province, &i.enterprise_id))
                .map(OpenIncident::from)
                .collect();
            open.sort_by(|x, y| y.priority.cmp(&x.priority).then(y.opened.cmp(&x.opened)));
            table(lang, &open)
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading incidents for a page failed");
            html! { p.error role="alert" { (lang.t("unavailable")) } }
        }
    };
    let reports = a.may_write("report incidents").is_ok();
    let body = html! {
        @if reports { p.actions { a.button href="/incident/new" { (lang.t("report_new")) } } }
        (body)
    };
    page(
        lang,
        layout(&app, &v, "/incidents", lang.t("incidents_title"), body),
    )
}

/// `GET /incident?id=`
pub(super) async fn one(State(app): State<Arc<App>>, v: Viewer, PageId(id): PageId) -> Response {
    let lang = v.lang;
    let Ok(i) = incidents::load_seen(&app, &v.account, &id).await else {
        return not_found(
            &app,
            &v,
            "/incidents",
            "web.incident",
            &format!("incident {id}"),
        );
    };
    let reports = app
        .incidents
        .reports(&i.incident_id, Some(&i.province), Some(&i.enterprise_id))
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "reading an incident's reports for a page failed");
            Vec::new()
        });
    let history: Value = serde_json::from_str(&i.history).unwrap_or(Value::Null);
    let evidence: Value = serde_json::from_str(&i.evidence).unwrap_or(Value::Null);
    let current = Lifecycle::parse(&i.state).unwrap_or(Lifecycle::Open);
    let handled_here = i.origin == app.config.tier.id;
    let acts = handled_here && v.account.may_write("move incidents on").is_ok();
    let next: Vec<Lifecycle> = [
        Lifecycle::Acknowledged,
        Lifecycle::Disposed,
        Lifecycle::Closed,
    ]
    .into_iter()
    .filter(|s| *s > current)
    .collect();
    let coordination = super::coordination::section(&app, &v, &i).await;
    let body = html! {
        table.fields { tbody {
            tr { th { (lang.t("col_incident")) } td { (i.incident_id) } }
            tr { th { (lang.t("col_title")) } td { (i.title) } }
            tr { th { (lang.t("col_priority")) } td { (i.priority) } }
            tr { th { (lang.t("col_state")) } td.state { (state_name(lang, &i.state)) } }
            tr { th { (lang.t("col_enterprise")) } td { a href={ "/?enterprise=" (encode(&i.enterprise_id)) } { (i.enterprise_id) } } }
            tr { th { (lang.t("col_province")) } td { (i.province) } }
            tr { th { (lang.t("col_sensor")) } td { (i.sensor_id) } }
            tr { th { (lang.t("col_techniques")) } td { (super::alerts::technique(lang, &i.technique)) } }
            tr { th { (lang.t("fig_alerts")) } td { (lang.count(i.alerts)) } }
            tr { th { (lang.t("col_opened")) } td { (lang.time(u64::from(i.opened))) } }
            tr { th { (lang.t("col_origin")) } td { (i.origin) } }
            tr { th { (lang.t("col_level")) } td.level { (level_label(lang, i.level)) } }
            tr { th { (lang.t("col_incident_type")) } td { (category_label(lang, &i.category)) } }
            tr { th { (lang.t("col_stage")) } td.stage { (stage_label(lang, &i.stage)) } }
            @if i.drill == 1 {
                tr { th { (lang.t("f_drill")) } td { span.drill { (lang.t("drill_badge")) } } }
            }
            @if i.due > 0 {
                tr { th { (lang.t("col_due")) } td.due {
                    (lang.time(u64::from(i.due)))
                    @if filing::overdue(&i, now_s()) { " " span.overdue { (lang.t("overdue_badge")) } }
                } }
            }
        } }
        h2 { (lang.t("reports_h")) }
        (reports_table(lang, &reports))
        @if handled_here && v.account.may_write("report incidents").is_ok() {
            @match filing::next_stage(&i) {
                Ok(stage) => {
                    h2 { (lang.t("next_report")) " · " (stage_label(lang, stage.name())) }
                    (report_form(lang, &v, Some(&i), stage, &ReportForm::default()))
                }
                Err(_) => { p.note { (lang.t("report_none_due")) } }
            }
        }
        (coordination)
        h2 { (lang.t("history")) }
        (tree(&history))
        @if acts && !next.is_empty() {
            h2 { (lang.t("move_on")) }
            form.step method="post" action="/incident/step" {
                input type="hidden" name="csrf" value=(csrf_of(&v.session));
                input type="hidden" name="id" value=(i.incident_id);
                label { (lang.t("col_state"))
                    select name="state" {
                        @for s in &next { option value=(s.name()) { (state_name(lang, s.name())) } }
                    }
                }
                label { (lang.t("note")) textarea name="note" maxlength="2000" {} }
                button type="submit" { (lang.t("do_move")) }
            }
        } @else if !handled_here {
            p.note { (lang.t("handled_by_origin")) " " (i.origin) }
        }
        h2 { (lang.t("evidence")) }
        (tree(&evidence))
    };
    page(
        lang,
        layout(&app, &v, "/incidents", lang.t("incident_title"), body),
    )
}

#[derive(Deserialize)]
pub(super) struct StepForm {
    csrf: String,
    id: String,
    state: String,
    #[serde(default)]
    note: String,
}

csrf_form!(StepForm);

/// `POST /incident/step`
pub(super) async fn act(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<StepForm>,
) -> Response {
    let t = Transition {
        state: f.state,
        note: f.note,
    };
    let done = incidents::step(&app, &v.account, &f.id, t)
        .await
        .map(|(_, detail)| detail);
    let back = format!("/incident?id={}", encode(&f.id));
    let title = v.lang.t("incident_title");
    super::acted(
        &app,
        &v,
        "incident.transition",
        &f.id,
        done,
        &back,
        "/incidents",
        title,
    )
}

fn level_label(lang: Lang, level: u8) -> &'static str {
    match level {
        1 => lang.t("level_1"),
        2 => lang.t("level_2"),
        3 => lang.t("level_3"),
        4 => lang.t("level_4"),
        _ => lang.t("level_0"),
    }
}

fn category_label(lang: Lang, category: &str) -> &'static str {
    match category {
        "malware" => lang.t("cat_malware"),
        "network_attack" => lang.t("cat_network_attack"),
        "information_destruction" => lang.t("cat_information_destruction"),
        "information_content" => lang.t("cat_information_content"),
        "equipment_failure" => lang.t("cat_equipment_failure"),
        "disaster" => lang.t("cat_disaster"),
        "other" => lang.t("cat_other"),
        _ => "",
    }
}

fn stage_label(lang: Lang, stage: &str) -> &'static str {
    match stage {
        "first" => lang.t("stage_first"),
        "followup" => lang.t("stage_followup"),
        "final" => lang.t("stage_final"),
        _ => lang.t("stage_none"),
    }
}

/// An incident's reports, each as submitted.
fn reports_table(lang: Lang, list: &[IncidentReport]) -> Markup {
    html! {
        @if list.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            @for r in list {
                table.fields.report { tbody {
                    tr { th { (lang.t("col_stage")) } td.stage { (r.seq) ". " (stage_label(lang, &r.stage)) } }
                    tr { th { (lang.t("col_level")) } td { (level_label(lang, r.level)) } }
                    tr { th { (lang.t("col_incident_type")) } td { (category_label(lang, &r.category)) } }
                    tr { th { (lang.t("col_author")) } td { (r.author) } }
                    tr { th { (lang.t("col_submitted")) } td { (lang.time(u64::from(r.submitted))) } }
                    @for (label, text) in [
                        (lang.t("f_impact"), &r.impact),
                        (lang.t("f_measures"), &r.measures),
                        (lang.t("f_cause"), &r.cause),
                        (lang.t("f_disposal"), &r.disposal),
                        (lang.t("f_lessons"), &r.lessons),
                    ] {
                        @if !text.is_empty() { tr { th { (label) } td.text { (text) } } }
                    }
                    @if r.assets != "[]" {
                        tr { th { (lang.t("f_assets")) } td { (tree(&serde_json::from_str(&r.assets).unwrap_or(Value::Null))) } }
                    }
                } }
            }
        }
    }
}

/// The form of a report: a new incident's (`current` None) or `current`'s next, at `stage`,
/// filled with `f`.
fn report_form(
    lang: Lang,
    v: &Viewer,
    current: Option<&Incident>,
    stage: Stage,
    f: &ReportForm,
) -> Markup {
    let level = if f.level.is_empty() {
        current.map_or("", |i| filing::level_name(i.level))
    } else {
        f.level.as_str()
    };
    let category = if f.category.is_empty() {
        current.map_or("", |i| i.category.as_str())
    } else {
        f.category.as_str()
    };
    let action = if current.is_some() {
        "/incident/report"
    } else {
        "/incident/new"
    };
    html! {
        form.report method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf_of(&v.session));
            input type="hidden" name="stage" value=(stage.name());
            @if let Some(i) = current {
                input type="hidden" name="id" value=(i.incident_id);
            } @else {
                label { (lang.t("col_enterprise"))
                    input name="enterprise_id" maxlength="18" value=(if f.enterprise_id.is_empty() { v.account.enterprise_id.as_str() } else { f.enterprise_id.as_str() });
                }
                label { (lang.t("col_title")) input name="title" required maxlength="200" value=(f.title); }
                label.check {
                    input type="checkbox" name="drill" value="1" checked[!f.drill.is_empty()];
                    (lang.t("f_drill"))
                }
            }
            label { (lang.t("col_level"))
                select name="level" {
                    @for (n, l) in filing::LEVELS.iter().enumerate() {
                        option value=(l) selected[*l == level] { (level_label(lang, n as u8 + 1)) }
                    }
                }
            }
            label { (lang.t("col_incident_type"))
                select name="category" {
                    @for c in CATEGORIES {
                        option value=(c) selected[c == category] { (category_label(lang, c)) }
                    }
                }
            }
            label { (lang.t("f_assets")) textarea name="assets" { (f.assets) } }
            @if stage == Stage::Final {
                label { (lang.t("f_cause")) textarea name="cause" required maxlength="8000" { (f.cause) } }
                label { (lang.t("f_disposal")) textarea name="disposal" required maxlength="8000" { (f.disposal) } }
                label { (lang.t("f_lessons")) textarea name="lessons" required maxlength="8000" { (f.lessons) } }
            } @else {
                label { (lang.t("f_impact")) textarea name="impact" required[stage == Stage::First] maxlength="8000" { (f.impact) } }
                label { (lang.t("f_measures")) textarea name="measures" required[stage == Stage::First] maxlength="8000" { (f.measures) } }
            }
            button type="submit" { (lang.t("report_submit")) }
        }
    }
}

/// A report as the form posts it.
#[derive(Deserialize, Default)]
pub(super) struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    stage: String,
    #[serde(default)]
    enterprise_id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    assets: String,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    cause: String,
    #[serde(default)]
    disposal: String,
    #[serde(default)]
    lessons: String,
    #[serde(default)]
    drill: String,
}

csrf_form!(ReportForm);

impl ReportForm {
    /// The API's filing: assets one a line (or split by commas and spaces).
    fn filing(&self) -> Filing {
        Filing {
            stage: self.stage.clone(),
            enterprise_id: self.enterprise_id.trim().to_owned(),
            title: self.title.clone(),
            level: self.level.clone(),
            category: self.category.clone(),
            assets: (self.assets.split(|c: char| c.is_whitespace() || c == ','))
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            impact: self.impact.clone(),
            measures: self.measures.clone(),
            cause: self.cause.clone(),
            disposal: self.disposal.clone(),
            lessons: self.lessons.clone(),
            drill: !self.drill.is_empty(),
        }
    }
}

/// `GET /incident/new`: the form that reports a new incident.
pub(super) async fn new(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    if v.account.may_write("report incidents").is_err() {
        return not_found(
            &app,
            &v,
            "/incidents",
            "web.incident.new",
            "the report form",
        );
    }
    let form = report_form(lang, &v, None, Stage::First, &ReportForm::default());
    page(
        lang,
        layout(&app, &v, "/incidents", lang.t("report_new"), form),
    )
}

/// `POST /incident/new` and `POST /incident/report`: a new incident's first report, or an
/// incident's next, through the API's checks, audited alike; the form again with the refusal.
pub(super) async fn report(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<ReportForm>,
) -> Response {
    let a = &v.account;
    let r = if f.id.is_empty() {
        incidents::report_new(&app, a, f.filing()).await
    } else {
        incidents::report_next(&app, a, &f.id, f.filing()).await
    };
    match r {
        Ok((i, _, detail)) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "incident.report", "ok")
                    .target(&i.incident_id)
                    .detail(detail)
                    .scope(&a.province, &a.enterprise_id),
            );
            Redirect::to(&format!("/incident?id={}", encode(&i.incident_id))).into_response()
        }
        Err(e) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "incident.report", "denied")
                    .target(&f.id)
                    .detail(e.to_string())
                    .scope(&a.province, &a.enterprise_id),
            );
            let lang = v.lang;
            let stage = Stage::parse(&f.stage).unwrap_or(Stage::First);
            let current = if f.id.is_empty() {
                None
            } else {
                incidents::load_seen(&app, a, &f.id).await.ok()
            };
            let body = html! {
                p.error role="alert" { (e.to_string()) }
                (report_form(lang, &v, current.as_ref(), stage, &f))
            };
            let mut r = page(
                lang,
                layout(&app, &v, "/incidents", lang.t("report_new"), body),
            );
            *r.status_mut() = e.status();
            r
        }
    }
}
