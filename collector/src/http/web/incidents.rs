//! The incident desk: open incidents of the reader's scope, and one incident with its
//! evidence and history and, where this tier handles it and the reader may act, the form that
//! moves it on with a note — the API's own step ([`incidents::step`]), audited alike.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::alerts::{encode, tree};
use super::i18n::Lang;
use super::{csrf_of, layout, not_found, page, state_name, Csrf, PageId, Posted, Viewer};
use crate::http::incidents::{self, Transition};
use crate::http::App;
use crate::store::audit::Record;
use crate::tier::incident::{ListQuery, State as Lifecycle};
use crate::tier::situation::OpenIncident;

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
        } }
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

impl Csrf for StepForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// `POST /incident/step`
pub(super) async fn act(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<StepForm>,
) -> Response {
    let a = &v.account;
    let t = Transition {
        state: f.state,
        note: f.note,
    };
    match incidents::step(&app, a, &f.id, t).await {
        Ok((_, detail)) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "incident.transition", "ok")
                    .target(&f.id)
                    .detail(detail)
                    .scope(&a.province, &a.enterprise_id),
            );
            Redirect::to(&format!("/incident?id={}", encode(&f.id))).into_response()
        }
        Err(e) => {
            app.audit.record(
                Record::new(&a.name, a.role.name(), "incident.transition", "denied")
                    .target(&f.id)
                    .detail(e.to_string())
                    .scope(&a.province, &a.enterprise_id),
            );
            let lang = v.lang;
            let status = e.status();
            let body = html! { p.error role="alert" { (e.to_string()) } };
            let mut r = page(
                lang,
                layout(&app, &v, "/incidents", lang.t("incident_title"), body),
            );
            *r.status_mut() = status;
            r
        }
    }
}
