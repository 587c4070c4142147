//! Emergency coordination (应急协同) over HTTP: comments, a response level and tasks on an
//! incident at any tier that holds it, the incident's timeline, the tasks assigned to an
//! account's scope and their moving on, and the feed the tier below pulls
//! ([`crate::tier::incident::coordination`]).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{act, Authed};
use super::incidents::{load_seen, reports_seen};
use super::{ApiError, App};
use crate::account::Account;
use crate::auth::Sender;
use crate::tier::incident::coordination::{
    self, response_name, Entry, KeepError, Source, FEED_PAGE,
};
use crate::tier::incident::filing;
use crate::tier::incident::Incident;
use crate::time::now_s;
use icsight_eve::Timestamp;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v1/incidents/{id}/comments",
            post(comment).route_layer(act("incident.comment")),
        )
        .route(
            "/v1/incidents/{id}/response",
            post(response).route_layer(act("incident.response")),
        )
        .route(
            "/v1/incidents/{id}/tasks",
            post(assign).route_layer(act("incident.task")),
        )
        .route(
            "/v1/incidents/{id}/timeline",
            get(timeline).route_layer(act("incident.timeline")),
        )
        .route("/v1/tasks", get(tasks).route_layer(act("task.list")))
        .route(
            "/v1/tasks/{id}",
            post(move_task).route_layer(act("task.update")),
        )
        .route(
            "/v1/coordination/feed",
            get(feed).route_layer(act("coordination.feed")),
        )
}

fn bad(param: &str, m: impl std::fmt::Display) -> ApiError {
    ApiError::bad(format!("{param}: {m}"))
}

/// A new entry on incident `i` written here by `who`.
fn entry(app: &App, i: &Incident, who: &Account, kind: &str) -> Entry {
    let now = crate::time::now_us();
    Entry {
        incident_id: i.incident_id.clone(),
        province: i.province.clone(),
        enterprise_id: i.enterprise_id.clone(),
        entry_id: app.incidents.coordination.new_id(kind),
        kind: kind.to_owned(),
        tier: app.incidents.coordination.tier().to_owned(),
        author: who.name.clone(),
        at: (now / 1_000_000) as u32,
        text: String::new(),
        level: 0,
        assignee_province: String::new(),
        assignee_enterprise: String::new(),
        deadline: 0,
        state: String::new(),
        result: String::new(),
        updated: 0,
        updated_by: String::new(),
        seq: 0,
        version: now,
    }
}

/// Store an entry written here; a refusal names the field.
async fn keep(app: &App, e: Entry) -> Result<Entry, ApiError> {
    match app
        .incidents
        .coordination
        .keep(vec![e.clone()], Source::Here)
        .await
    {
        Ok(_) => Ok(e),
        Err(KeepError::Invalid(m)) => Err(ApiError::bad(m)),
        Err(KeepError::Storage(err)) => Err(app.storage_error(err)),
    }
}

/// An entry as the API shows it.
pub fn entry_json(e: &Entry) -> serde_json::Value {
    let time = super::time_json;
    let mut j = serde_json::json!({
        "entry_id": e.entry_id,
        "incident_id": e.incident_id,
        "kind": e.kind,
        "tier": e.tier,
        "author": e.author,
        "at": time(e.at),
        "text": e.text,
    });
    match e.kind.as_str() {
        "response" => j["level"] = response_name(e.level).into(),
        "task" => {
            j["assignee"] = serde_json::json!({
                "province": e.assignee_province,
                "enterprise_id": e.assignee_enterprise,
            });
            j["deadline"] = time(e.deadline);
            j["state"] = e.state.clone().into();
            j["result"] = e.result.clone().into();
            j["updated"] = time(e.updated);
            j["updated_by"] = e.updated_by.clone().into();
            j["overdue"] = (matches!(e.state.as_str(), "assigned" | "accepted")
                && now_s() > u64::from(e.deadline))
            .into();
        }
        _ => {}
    }
    j
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Comment {
    pub text: String,
}

/// `POST /v1/incidents/{id}/comments`
async fn comment(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Comment>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(c)) => add_comment(&app, &who.who, &id, c).await,
        Err(e) => Err(ApiError::bad(e.body_text())),
    };
    who.audited(&app, r.map(created))
}

/// A new entry: 201 with it, and the audit's words.
fn created((e, detail): (Entry, String)) -> (Response, String) {
    (
        (StatusCode::CREATED, Json(entry_json(&e))).into_response(),
        detail,
    )
}

/// Comment on incident `id` as `who`: the API and the incident's page both act here.
pub async fn add_comment(
    app: &App,
    who: &Account,
    id: &str,
    c: Comment,
) -> Result<(Entry, String), ApiError> {
    let i = load_seen(app, who, id).await?;
    who.may_write("comment on incidents")?;
    let mut e = entry(app, &i, who, "comment");
    e.text = c.text.trim().to_owned();
    let e = keep(app, e).await?;
    let detail = format!("{id}: comment {}", e.entry_id);
    Ok((e, detail))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseLevel {
    /// I, II, III, IV, or "none" to stand the response down.
    pub level: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /v1/incidents/{id}/response`
async fn response(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<ResponseLevel>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(b)) => set_response(&app, &who.who, &id, b).await,
        Err(e) => Err(ApiError::bad(e.body_text())),
    };
    who.audited(&app, r.map(created))
}

/// Set incident `id`'s response level (应急响应级别) as `who`.
pub async fn set_response(
    app: &App,
    who: &Account,
    id: &str,
    b: ResponseLevel,
) -> Result<(Entry, String), ApiError> {
    let level = match b.level.as_str() {
        "none" => 0,
        l => filing::parse_level(l)
            .ok_or_else(|| bad("level", format!("{l:?} is not I, II, III, IV or none")))?,
    };
    let i = load_seen(app, who, id).await?;
    who.may_write("set a response level")?;
    let mut e = entry(app, &i, who, "response");
    e.level = level;
    e.text = b.note.trim().to_owned();
    let e = keep(app, e).await?;
    let detail = format!("{id}: response level {}", response_name(level));
    Ok((e, detail))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// The province the task is for, or the province of the enterprise it is for.
    pub province: String,
    /// The enterprise it is for; empty: the province's own tier.
    #[serde(default)]
    pub enterprise_id: String,
    /// What is to be done.
    pub text: String,
    /// By when, RFC 3339.
    pub deadline: String,
}

/// `POST /v1/incidents/{id}/tasks`
async fn assign(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<NewTask>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(t)) => assign_task(&app, &who.who, &id, t).await,
        Err(e) => Err(ApiError::bad(e.body_text())),
    };
    who.audited(&app, r.map(created))
}

/// Assign a task on incident `id` as `who` to a province or an enterprise below `who`'s
/// scope that the incident concerns.
pub async fn assign_task(
    app: &App,
    who: &Account,
    id: &str,
    t: NewTask,
) -> Result<(Entry, String), ApiError> {
    let i = load_seen(app, who, id).await?;
    who.may_write("assign tasks")?;
    if !who.enterprise_id.is_empty() {
        return Err(ApiError::forbidden(format!(
            "{} acts for an enterprise: it assigns no tasks",
            who.name
        )));
    }
    let (province, enterprise) = (t.province.trim(), t.enterprise_id.trim());
    // Down the tiers only: the nation to a province or an enterprise, a province to an
    // enterprise of its own.
    if !who.province.is_empty() && (province != who.province || enterprise.is_empty()) {
        return Err(ApiError::forbidden(format!(
            "{} assigns tasks to the enterprises of province {} only",
            who.name, who.province
        )));
    }
    if province != i.province {
        return Err(bad(
            "province",
            format!(
                "incident {id} is of province {}, not {province:?}",
                i.province
            ),
        ));
    }
    if !enterprise.is_empty() {
        let known = app.registry().get(enterprise).map(|e| e.province.clone());
        let concerned = if i.enterprise_id.is_empty() {
            known.as_deref() == Some(province)
        } else {
            enterprise == i.enterprise_id
        };
        if !concerned {
            return Err(bad(
                "enterprise_id",
                format!("{enterprise:?} is not an enterprise incident {id} concerns"),
            ));
        }
    }
    let deadline = Timestamp::parse(&t.deadline)
        .map(Timestamp::secs)
        .ok_or_else(|| bad("deadline", format!("{:?} is not a time", t.deadline)))?;
    if deadline <= now_s() {
        return Err(bad("deadline", "already past"));
    }
    let mut e = entry(app, &i, who, "task");
    e.text = t.text.trim().to_owned();
    e.assignee_province = province.to_owned();
    e.assignee_enterprise = enterprise.to_owned();
    e.deadline = deadline.min(u64::from(u32::MAX)) as u32;
    e.state = "assigned".into();
    let e = keep(app, e).await?;
    let to = if enterprise.is_empty() {
        province
    } else {
        enterprise
    };
    let detail = format!("{id}: task {} for {to}", e.entry_id);
    Ok((e, detail))
}

/// `GET /v1/incidents/{id}/timeline`: everything that happened to an incident in scope, in
/// order: opened and moved on, reports, comments, response levels, tasks and their progress.
async fn timeline(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = timeline_of(&app, &who.who, &id).await.map(|(i, items)| {
        Json(serde_json::json!({
            "incident_id": i.incident_id,
            "response": response_name(coordination::response_level(&items.1)),
            "timeline": items.0,
        }))
        .into_response()
    });
    who.answer(&app, r)
}

/// Incident `id`'s timeline as JSON items in time order, and its coordination entries.
pub async fn timeline_of(
    app: &App,
    who: &Account,
    id: &str,
) -> Result<(Incident, (Vec<serde_json::Value>, Vec<Entry>)), ApiError> {
    let i = load_seen(app, who, id).await?;
    let reports = reports_seen(app, who, id).await?;
    let entries = app
        .incidents
        .coordination
        .of_incident(id)
        .await
        .map_err(|e| app.storage_error(e))?;
    let mut items: Vec<(String, serde_json::Value)> = Vec::new();
    let history: Vec<serde_json::Value> = serde_json::from_str(&i.history).unwrap_or_default();
    for h in history {
        let at = h["at"].as_str().unwrap_or("").to_owned();
        items.push((
            at.clone(),
            serde_json::json!({ "at": at, "kind": "state", "state": h["state"],
                "by": h["by"], "text": h["note"] }),
        ));
    }
    for r in &reports {
        let at = Timestamp(u64::from(r.submitted) * 1_000_000).rfc3339();
        items.push((
            at.clone(),
            serde_json::json!({ "at": at, "kind": "report", "stage": r.stage, "seq": r.seq,
                "level": filing::level_name(r.level), "by": r.author, "tier": r.origin }),
        ));
    }
    for e in &entries {
        let mut j = entry_json(e);
        j["by"] = e.author.clone().into();
        items.push((j["at"].as_str().unwrap_or("").to_owned(), j));
        if e.updated != 0 {
            let at = Timestamp(u64::from(e.updated) * 1_000_000).rfc3339();
            items.push((
                at.clone(),
                serde_json::json!({ "at": at, "kind": "task_update", "entry_id": e.entry_id,
                    "state": e.state, "by": e.updated_by, "text": e.result }),
            ));
        }
    }
    // RFC 3339 in UTC with the same precision sorts as text.
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((i, (items.into_iter().map(|(_, j)| j).collect(), entries)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskParams {
    /// `open` (default): assigned or accepted; `all`.
    pub state: Option<String>,
    pub limit: Option<u64>,
}

/// `GET /v1/tasks`: the tasks assigned inside the account's scope, newest first.
async fn tasks(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<TaskParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
        let list = tasks_of(&app, &who.who, p).await?;
        Ok(Json(serde_json::json!({
            "tasks": list.iter().map(entry_json).collect::<Vec<_>>(),
        }))
        .into_response())
    }
    .await;
    who.answer(&app, r)
}

/// The tasks inside `who`'s scope as `GET /v1/tasks` lists them.
pub async fn tasks_of(app: &App, who: &Account, p: TaskParams) -> Result<Vec<Entry>, ApiError> {
    let open = match p.state.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(s) => return Err(bad("state", format!("{s:?}: use open or all"))),
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(bad("limit", format!("{limit} is not 1-1000")));
    }
    app.incidents
        .coordination
        .tasks(&who.province, &who.enterprise_id, open, limit)
        .await
        .map_err(|e| app.storage_error(e))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskMove {
    /// `accepted`, `done` or `declined`.
    pub state: String,
    /// What was done, or why declined: required for both.
    #[serde(default)]
    pub result: String,
}

/// `POST /v1/tasks/{id}`
async fn move_task(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<TaskMove>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = match body {
        Ok(Json(m)) => task_moved(&app, &who.who, &id, m).await,
        Err(e) => Err(ApiError::bad(e.body_text())),
    };
    who.audited(
        &app,
        r.map(|(e, detail)| (Json(entry_json(&e)).into_response(), detail)),
    )
}

/// Move task `id` on as `who`, who must be the party it was assigned to.
pub async fn task_moved(
    app: &App,
    who: &Account,
    id: &str,
    m: TaskMove,
) -> Result<(Entry, String), ApiError> {
    let not_found = || ApiError::not_found(format!("no task {id:?} in {}'s scope", who.name));
    let old = app
        .incidents
        .coordination
        .get(id)
        .await
        .map_err(|e| app.storage_error(e))?
        .filter(|e| e.kind == "task")
        .filter(|e| who.sees(&e.assignee_province, &e.assignee_enterprise))
        .ok_or_else(not_found)?;
    who.may_write("move tasks on")?;
    if who.province != old.assignee_province || who.enterprise_id != old.assignee_enterprise {
        let to = if old.assignee_enterprise.is_empty() {
            &old.assignee_province
        } else {
            &old.assignee_enterprise
        };
        return Err(ApiError::forbidden(format!(
            "task {id} is for {to}: only its accounts move it on"
        )));
    }
    coordination::task_move(&old.state, &m.state).map_err(ApiError::conflict)?;
    if m.state != "accepted" && m.result.trim().is_empty() {
        return Err(bad("result", "say what was done, or why not"));
    }
    let now = crate::time::now_us();
    let mut e = old.clone();
    e.state = m.state.clone();
    if !m.result.trim().is_empty() {
        e.result = m.result.trim().to_owned();
    }
    e.updated = (now / 1_000_000) as u32;
    e.updated_by = who.name.clone();
    e.version = now.max(old.version + 1);
    let e = keep(app, e).await?;
    let detail = format!("task {id}: {} → {}", old.state, e.state);
    Ok((e, detail))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    #[serde(default)]
    pub after: u64,
    pub limit: Option<u64>,
}

/// `GET /v1/coordination/feed?after=SEQ`: for a collector below, the entries of the incidents
/// in its scope and the tasks assigned inside it, after `SEQ`, in `seq` order.
async fn feed(
    State(app): State<Arc<App>>,
    sender: Authed<Sender>,
    params: Result<Query<FeedParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Sender::Collector(c) = &sender.who else {
            return Err(ApiError::forbidden(
                "the coordination feed is for the collectors below",
            ));
        };
        let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
        let limit = p.limit.unwrap_or(FEED_PAGE);
        if !(1..=1000).contains(&limit) {
            return Err(bad("limit", format!("{limit} is not 1-1000")));
        }
        let list = app
            .incidents
            .coordination
            .feed(c, p.after, limit)
            .await
            .map_err(|e| app.storage_error(e))?;
        let last = list.iter().map(|e| e.seq).max().unwrap_or(p.after);
        Ok(Json(serde_json::json!({ "entries": list, "last": last })).into_response())
    }
    .await;
    sender.answer(&app, r)
}
