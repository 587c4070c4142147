//! Emergency coordination (应急协同) on the pages: an incident's timeline with its response
//! level, the forms that set the level, comment and assign a task down the tiers, and the task
//! desk where the party a task is for accepts it, reports its result or declines it — the
//! API's own steps ([`coordination`]), audited alike.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::alerts::encode;
use super::{csrf_of, layout, page, text, when, Csrf, Posted, Viewer};
use crate::account::Account;
use crate::http::coordination::{self, Comment, NewTask, ResponseLevel, TaskMove, TaskParams};
use crate::http::{ApiError, App};
use crate::i18n::Lang;
use crate::tier::incident::coordination::{response_level, Entry};
use crate::tier::incident::Incident;
use crate::tier::sitrep::{day_of, parse_day};
use crate::time::now_s;

fn level_label(lang: Lang, level: u8) -> &'static str {
    match level {
        1 => lang.t("level_1"),
        2 => lang.t("level_2"),
        3 => lang.t("level_3"),
        4 => lang.t("level_4"),
        _ => lang.t("response_none"),
    }
}

fn task_state(lang: Lang, s: &str) -> &'static str {
    match s {
        "accepted" => lang.t("task_accepted"),
        "done" => lang.t("task_done"),
        "declined" => lang.t("task_declined"),
        _ => lang.t("task_assigned"),
    }
}

/// Whom a task is for, as a reader says it.
fn assignee(e: &Entry) -> &str {
    if e.assignee_enterprise.is_empty() {
        &e.assignee_province
    } else {
        &e.assignee_enterprise
    }
}

/// The parties `who` may task on incident `i`: a national account the incident's province and
/// its enterprise, a provincial account the enterprise; (province, enterprise) pairs.
fn assignees(who: &Account, i: &Incident) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if !who.enterprise_id.is_empty() || !who.sees(&i.province, &i.enterprise_id) {
        return out;
    }
    if who.province.is_empty() {
        out.push((i.province.clone(), String::new()));
    }
    if !i.enterprise_id.is_empty() {
        out.push((i.province.clone(), i.enterprise_id.clone()));
    }
    out
}

/// Whether `who` is the party task `e` is for.
fn is_for(who: &Account, e: &Entry) -> bool {
    who.province == e.assignee_province && who.enterprise_id == e.assignee_enterprise
}

/// The coordination section of incident `i`'s page.
pub(super) async fn section(app: &App, v: &Viewer, i: &Incident) -> Markup {
    let lang = v.lang;
    let (items, entries) = match coordination::timeline_of(app, &v.account, &i.incident_id).await {
        Ok((_, t)) => t,
        Err(e) => {
            tracing::warn!(error = %e, "reading an incident's timeline for a page failed");
            return html! { p.error role="alert" { (lang.t("unavailable")) } };
        }
    };
    let writes = v.account.may_write("coordinate").is_ok();
    let csrf = csrf_of(&v.session);
    let id = &i.incident_id;
    let parties = assignees(&v.account, i);
    let tomorrow = day_of(now_s() + 86_400);
    html! {
        h2 { (lang.t("coord_h")) }
        table.fields.coordination { tbody {
            tr { th { (lang.t("col_response")) } td.response { (level_label(lang, response_level(&entries))) } }
        } }
        @if writes {
            form.response method="post" action="/incident/response" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="id" value=(id);
                label { (lang.t("col_response"))
                    select name="level" {
                        @for (value, label) in [("I", lang.t("level_1")), ("II", lang.t("level_2")),
                            ("III", lang.t("level_3")), ("IV", lang.t("level_4")), ("none", lang.t("response_none"))] {
                            option value=(value) { (label) }
                        }
                    }
                }
                label { (lang.t("note")) input name="note" maxlength="2000"; }
                button type="submit" { (lang.t("do_response")) }
            }
        }
        h3 { (lang.t("timeline_h")) }
        table.timeline {
            thead { tr { th { (lang.t("col_time")) } th { (lang.t("col_kind")) } th { (lang.t("col_author")) } th { (lang.t("col_content")) } } }
            tbody {
                @for e in &items {
                    @let kind = e["kind"].as_str().unwrap_or("");
                    tr class=(kind) {
                        td { (when(lang, &e["at"])) }
                        td { (timeline_kind(lang, kind)) }
                        td { (text(&e["by"])) @if !text(&e["tier"]).is_empty() { " @ " (text(&e["tier"])) } }
                        td.text { (timeline_content(lang, e)) }
                    }
                }
            }
        }
        @if writes {
            form.comment method="post" action="/incident/comment" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="id" value=(id);
                label { (lang.t("f_comment")) textarea name="text" required maxlength="8000" {} }
                button type="submit" { (lang.t("do_comment")) }
            }
        }
        @if writes && !parties.is_empty() {
            h3 { (lang.t("do_assign")) }
            form.task method="post" action="/incident/task" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="id" value=(id);
                label { (lang.t("col_assignee"))
                    select name="assignee" {
                        @for (p, e) in &parties {
                            @let value = if e.is_empty() { p.clone() } else { format!("{p}/{e}") };
                            option value=(value) { (if e.is_empty() { p } else { e }) }
                        }
                    }
                }
                label { (lang.t("f_task_text")) textarea name="text" required maxlength="8000" {} }
                label { (lang.t("f_task_deadline"))
                    input type="date" name="day" required value=(tomorrow);
                    input type="time" name="time" required value="18:00";
                }
                button type="submit" { (lang.t("do_assign")) }
            }
        }
        (task_forms(lang, v, &entries))
    }
}

fn timeline_kind(lang: Lang, kind: &str) -> &'static str {
    match kind {
        "state" => lang.t("tl_state"),
        "report" => lang.t("tl_report"),
        "response" => lang.t("tl_response"),
        "comment" => lang.t("tl_comment"),
        "task" => lang.t("tl_task"),
        _ => lang.t("tl_task_update"),
    }
}

fn timeline_content(lang: Lang, e: &Value) -> Markup {
    let kind = e["kind"].as_str().unwrap_or("");
    html! {
        @match kind {
            "state" => { (super::state_name(lang, &text(&e["state"]))) @if !text(&e["text"]).is_empty() { " · " (text(&e["text"])) } }
            "report" => { (text(&e["seq"])) ". " (text(&e["stage"])) " · " (text(&e["level"])) }
            "response" => {
                (level_label(lang, crate::tier::incident::filing::parse_level(&text(&e["level"])).unwrap_or(0)))
                @if !text(&e["text"]).is_empty() { " · " (text(&e["text"])) }
            }
            "task" => {
                @let enterprise = text(&e["assignee"]["enterprise_id"]);
                "→ " (if enterprise.is_empty() { text(&e["assignee"]["province"]) } else { enterprise })
                ": " (text(&e["text"]))
                " (" (lang.t("f_task_deadline")) " " (when(lang, &e["deadline"])) "; " (task_state(lang, &text(&e["state"]))) ")"
                @if e["overdue"] == true { " " span.overdue { (lang.t("overdue_badge")) } }
            }
            "task_update" => { (task_state(lang, &text(&e["state"]))) @if !text(&e["text"]).is_empty() { " · " (text(&e["text"])) } }
            _ => { (text(&e["text"])) }
        }
    }
}

/// The forms that move on the tasks of `entries` assigned to the reader's own party.
fn task_forms(lang: Lang, v: &Viewer, entries: &[Entry]) -> Markup {
    let mine: Vec<&Entry> = (entries.iter())
        .filter(|e| e.kind == "task" && is_for(&v.account, e))
        .filter(|e| matches!(e.state.as_str(), "assigned" | "accepted"))
        .collect();
    if mine.is_empty() || v.account.may_write("move tasks on").is_err() {
        return html! {};
    }
    let csrf = csrf_of(&v.session);
    html! {
        @for e in mine {
            form.task-move method="post" action="/task/update" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="id" value=(e.entry_id);
                input type="hidden" name="incident" value=(e.incident_id);
                p { strong { (lang.t("tl_task")) } " " (e.text) " (" (task_state(lang, &e.state)) ")" }
                label { (lang.t("f_result")) input name="result" maxlength="8000"; }
                @if e.state == "assigned" {
                    button type="submit" name="state" value="accepted" { (lang.t("do_accept")) }
                }
                button type="submit" name="state" value="done" { (lang.t("do_done")) }
                button type="submit" name="state" value="declined" { (lang.t("do_decline")) }
            }
        }
    }
}

/// `GET /tasks`: the tasks assigned inside the reader's scope, open first.
pub(super) async fn list(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    let p = TaskParams {
        state: Some("all".into()),
        limit: Some(500),
    };
    let body = match coordination::tasks_of(&app, &v.account, p).await {
        Err(e) => html! { p.error role="alert" { (e.to_string()) } },
        Ok(list) if list.is_empty() => html! { p.none { (lang.t("none")) } },
        Ok(mut list) => {
            list.sort_by_key(|e| !matches!(e.state.as_str(), "assigned" | "accepted"));
            html! {
                table.tasks {
                    thead { tr {
                        th { (lang.t("col_incident")) } th { (lang.t("col_assignee")) }
                        th { (lang.t("col_task")) } th { (lang.t("f_task_deadline")) }
                        th { (lang.t("col_state")) } th { (lang.t("f_result")) }
                    } }
                    tbody {
                        @for e in &list {
                            tr {
                                td { a href={ "/incident?id=" (encode(&e.incident_id)) } { (e.incident_id) } }
                                td { (assignee(e)) }
                                td.text { (e.text) " · " (e.author) " @ " (e.tier) }
                                td { (lang.time(u64::from(e.deadline)))
                                    @if matches!(e.state.as_str(), "assigned" | "accepted") && now_s() > u64::from(e.deadline) {
                                        " " span.overdue { (lang.t("overdue_badge")) }
                                    }
                                }
                                td.state { (task_state(lang, &e.state)) }
                                td.text { (e.result) }
                            }
                        }
                    }
                }
                (task_forms(lang, &v, &list))
            }
        }
    };
    page(
        lang,
        layout(&app, &v, "/tasks", lang.t("tasks_title"), body),
    )
}

/// After a form: back to the incident's page, or the refusal on a page of its own; audited
/// either way.
fn answered(
    app: &App,
    v: &Viewer,
    action: &str,
    incident: &str,
    r: Result<(Entry, String), ApiError>,
) -> Response {
    let back = format!("/incident?id={}", encode(incident));
    let title = v.lang.t("incident_title");
    let done = r.map(|(_, detail)| detail);
    super::acted(app, v, action, incident, done, &back, "/incidents", title)
}

#[derive(Deserialize)]
pub(super) struct CommentForm {
    csrf: String,
    id: String,
    #[serde(default)]
    text: String,
}

csrf_form!(CommentForm);

/// `POST /incident/comment`
pub(super) async fn comment(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<CommentForm>,
) -> Response {
    let r = coordination::add_comment(&app, &v.account, &f.id, Comment { text: f.text }).await;
    answered(&app, &v, "incident.comment", &f.id, r)
}

#[derive(Deserialize)]
pub(super) struct ResponseForm {
    csrf: String,
    id: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    note: String,
}

csrf_form!(ResponseForm);

/// `POST /incident/response`
pub(super) async fn response(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<ResponseForm>,
) -> Response {
    let b = ResponseLevel {
        level: f.level,
        note: f.note,
    };
    let r = coordination::set_response(&app, &v.account, &f.id, b).await;
    answered(&app, &v, "incident.response", &f.id, r)
}

#[derive(Deserialize)]
pub(super) struct TaskForm {
    csrf: String,
    id: String,
    /// `PROVINCE` or `PROVINCE/ENTERPRISE`.
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    text: String,
    /// The deadline in Beijing: a day and a time of it.
    #[serde(default)]
    day: String,
    #[serde(default)]
    time: String,
}

csrf_form!(TaskForm);

/// A day and an `HH:MM` in Beijing as RFC 3339 (UTC); `None` if either is no such thing.
fn beijing(day: &str, time: &str) -> Option<String> {
    let start = parse_day(day.trim())?;
    let (h, m) = time.trim().split_once(':')?;
    let (h, m): (u64, u64) = (h.parse().ok()?, m.get(..2)?.parse().ok()?);
    if h > 23 || m > 59 {
        return None;
    }
    Some(icsight_eve::Timestamp((start + h * 3600 + m * 60) * 1_000_000).rfc3339())
}

/// `POST /incident/task`
pub(super) async fn task(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<TaskForm>,
) -> Response {
    let (province, enterprise) = match f.assignee.split_once('/') {
        Some((p, e)) => (p.to_owned(), e.to_owned()),
        None => (f.assignee.clone(), String::new()),
    };
    let r = match beijing(&f.day, &f.time) {
        Some(deadline) => {
            let t = NewTask {
                province,
                enterprise_id: enterprise,
                text: f.text,
                deadline,
            };
            coordination::assign_task(&app, &v.account, &f.id, t).await
        }
        None => Err(ApiError::bad(format!(
            "deadline: {:?} {:?} is not a day and a time",
            f.day, f.time
        ))),
    };
    answered(&app, &v, "incident.task", &f.id, r)
}

#[derive(Deserialize)]
pub(super) struct TaskMoveForm {
    csrf: String,
    id: String,
    incident: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    result: String,
}

csrf_form!(TaskMoveForm);

/// `POST /task/update`
pub(super) async fn update(
    State(app): State<Arc<App>>,
    Posted { v, form: f }: Posted<TaskMoveForm>,
) -> Response {
    let m = TaskMove {
        state: f.state,
        result: f.result,
    };
    let r = coordination::task_moved(&app, &v.account, &f.id, m).await;
    answered(&app, &v, "task.update", &f.incident, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_beijing_deadline_is_read_as_utc() {
        assert_eq!(
            beijing("2026-12-07", "18:00").as_deref(),
            Some("2026-12-07T10:00:00.000000Z")
        );
        assert_eq!(beijing("2026-12-07", "24:00"), None);
        assert_eq!(beijing("tomorrow", "18:00"), None);
    }
}
