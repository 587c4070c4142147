//! The enterprise registry over HTTP (`/v1/registry`): enterprises in scope with their type,
//! scale, grade and why, the key-enterprise list, and an administrator's create, update,
//! removal and grade override — each audited ([`crate::tier::grading`] works grades out).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{act, Authed};
use super::{ApiError, App};
use crate::account::Account;
use crate::codes::{KINDS, SCALES};
use crate::tier::grading::{is_key, Profile, Term};
use crate::tier::registry::{self, Enterprise};
use crate::tier::report::{self, EnterpriseRow};
use crate::tier::upstream;
use crate::time::now_us;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/registry", get(list).route_layer(act("registry.list")))
        .route(
            "/v1/registry",
            post(upsert).route_layer(act("registry.write")),
        )
        .route(
            "/v1/registry/{id}",
            delete(remove).route_layer(act("registry.delete")),
        )
        .route(
            "/v1/registry/{id}/grade",
            post(set_grade).route_layer(act("registry.grade")),
        )
}

/// An enterprise with its profile, as the API shows it.
pub fn enterprise_json(app: &App, e: &Enterprise, p: Option<&Profile>) -> Value {
    let p = p.cloned().unwrap_or_default();
    let terms: Vec<Term> = serde_json::from_str(&p.explanation).unwrap_or_default();
    json!({
        "enterprise_id": e.enterprise_id,
        "name": e.name,
        "province": e.province,
        "industry": e.industry,
        "grade": e.grade,
        "kind": p.kind,
        "scale": p.scale,
        "computed": {"grade": p.computed, "score": p.score, "terms": terms},
        "override": {"grade": p.override_grade, "by": p.override_by, "reason": p.override_reason},
        "key": is_key(app.grading.config(), e),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub province: Option<String>,
    pub industry: Option<String>,
    pub grade: Option<u8>,
    pub kind: Option<String>,
    /// `true`: the key-enterprise list (重点企业清单) only.
    pub key: Option<bool>,
    /// Words in the name or id.
    pub q: Option<String>,
    pub limit: Option<usize>,
}

/// `GET /v1/registry`
async fn list(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(p) = params.map_err(|e| ApiError::bad(e.body_text()))?;
        Ok(Json(listing(&app, &who.who, p).await?).into_response())
    }
    .await;
    who.answer(&app, r)
}

/// The registry in `who`'s scope as `p` narrows it: the API and the registry page read here.
pub async fn listing(app: &App, who: &Account, p: Params) -> Result<Value, ApiError> {
    let (province, enterprise) = who.narrow(p.province.as_deref(), None)?;
    let profiles = app
        .grading
        .profiles()
        .await
        .map_err(|e| app.storage_error(e))?;
    let registry = app.registry();
    let q = p.q.as_deref().map(str::to_lowercase);
    let mut list: Vec<&Enterprise> = registry
        .iter()
        .filter(|e| who.sees(&e.province, &e.enterprise_id))
        .filter(|e| province.as_deref().is_none_or(|w| w == e.province))
        .filter(|e| enterprise.as_deref().is_none_or(|w| w == e.enterprise_id))
        .filter(|e| p.industry.as_deref().is_none_or(|w| w == e.industry))
        .filter(|e| p.grade.is_none_or(|g| g == e.grade))
        .filter(|e| {
            p.kind
                .as_deref()
                .is_none_or(|k| profiles.get(&e.enterprise_id).is_some_and(|p| p.kind == k))
        })
        .filter(|e| p.key != Some(true) || is_key(app.grading.config(), e))
        .filter(|e| {
            q.as_deref().is_none_or(|q| {
                e.name.to_lowercase().contains(q) || e.enterprise_id.to_lowercase().contains(q)
            })
        })
        .collect();
    list.sort_by(|a, b| {
        (a.grade, &a.province, &a.enterprise_id).cmp(&(b.grade, &b.province, &b.enterprise_id))
    });
    let total = list.len();
    let by_grade: Vec<usize> = (1..=3)
        .map(|g| list.iter().filter(|e| e.grade == g).count())
        .collect();
    let limit = p.limit.unwrap_or(500).clamp(1, 10_000);
    let rows: Vec<Value> = list
        .into_iter()
        .take(limit)
        .map(|e| enterprise_json(app, e, profiles.get(&e.enterprise_id)))
        .collect();
    Ok(json!({
        "total": total,
        "by_grade": {"1": by_grade[0], "2": by_grade[1], "3": by_grade[2]},
        "enterprises": rows,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upsert {
    pub enterprise_id: String,
    pub name: String,
    pub province: String,
    pub industry: String,
    /// The declared grade, used while the rules have not graded it.
    pub grade: u8,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub scale: String,
}

/// Who may change enterprise `e`'s entry: an administrator of this tier whose scope holds it,
/// and only in this tier's own province.
fn may_change(app: &App, who: &Account, province: &str, id: &str) -> Result<(), ApiError> {
    who.may_administer("change the registry")?;
    if !who.sees(province, id) {
        return Err(ApiError::forbidden(format!(
            "enterprise {id} of {province} is outside {}'s scope",
            who.name
        )));
    }
    let tier = &app.config.tier;
    if !tier.province.is_empty() && tier.province != province {
        return Err(ApiError::forbidden(format!(
            "this tier registers enterprises of {}, not {province}",
            tier.province
        )));
    }
    Ok(())
}

/// `POST /v1/registry`: create or update an enterprise.
async fn upsert(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    body: Result<Json<Upsert>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = async {
        let Json(u) = body.map_err(|e| ApiError::bad(e.body_text()))?;
        let (existed, j, detail) = save(&app, &who.who, u).await?;
        let status = if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        Ok(((status, Json(j)).into_response(), detail))
    }
    .await;
    who.audited(&app, r)
}

/// Create or update an enterprise as `who`: whether it existed, its entry, the audit's words.
pub async fn save(app: &App, who: &Account, u: Upsert) -> Result<(bool, Value, String), ApiError> {
    may_change(app, who, &u.province, &u.enterprise_id)?;
    let e = Enterprise {
        enterprise_id: u.enterprise_id.trim().to_owned(),
        name: u.name.trim().to_owned(),
        province: u.province.clone(),
        industry: u.industry.clone(),
        grade: u.grade,
    };
    e.check().map_err(ApiError::bad)?;
    if !u.kind.is_empty() && !KINDS.contains(&u.kind.as_str()) {
        return Err(ApiError::bad(format!(
            "kind {:?}: use industrial, platform or infrastructure",
            u.kind
        )));
    }
    if !u.scale.is_empty() && !SCALES.contains(&u.scale.as_str()) {
        return Err(ApiError::bad(format!(
            "scale {:?}: use large, medium, small or micro",
            u.scale
        )));
    }
    let held = app
        .registry()
        .get(&e.enterprise_id)
        .map(|o| o.province.clone());
    let existed = held.is_some();
    if let Some(other) = held.filter(|p| *p != e.province) {
        return Err(ApiError::forbidden(format!(
            "enterprise {} is registered in province {other}",
            e.enterprise_id
        )));
    }
    let row = EnterpriseRow::new(&e, now_us(), &format!("api:{}", who.name));
    app.store
        .insert("enterprises", std::slice::from_ref(&row))
        .await
        .map_err(|err| app.storage_error(err))?;
    let mut r = (*app.registry()).clone();
    r.insert(e.clone());
    app.registry.replace(r);
    let mut p = (app.grading.profile(&e.enterprise_id).await)
        .map_err(|err| app.storage_error(err))?
        .unwrap_or_default();
    p.enterprise_id = e.enterprise_id.clone();
    p.province = e.province.clone();
    p.kind = u.kind.clone();
    p.scale = u.scale.clone();
    app.grading
        .set(p)
        .await
        .map_err(|err| app.storage_error(err))?;
    let e = app.registry().get(&e.enterprise_id).cloned().unwrap_or(e);
    let profile =
        (app.grading.profile(&e.enterprise_id).await).map_err(|err| app.storage_error(err))?;
    let detail = format!(
        "{} {}: {} grade {} kind {:?} scale {:?}",
        if existed { "updated" } else { "created" },
        e.enterprise_id,
        e.industry,
        e.grade,
        u.kind,
        u.scale
    );
    Ok((existed, enterprise_json(app, &e, profile.as_ref()), detail))
}

/// `DELETE /v1/registry/{id}`: take an enterprise out; the removal is reported up.
async fn remove(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
) -> Response {
    let r = async {
        let Some(e) = app.registry().get(&id).cloned() else {
            return Err(ApiError::not_found(format!(
                "no enterprise {id:?} in the registry"
            )));
        };
        may_change(&app, &who.who, &e.province, &id)?;
        let mut row = EnterpriseRow::new(&e, now_us(), &format!("api:{}", who.who.name));
        row.deleted = 1;
        app.store
            .insert("enterprises", std::slice::from_ref(&row))
            .await
            .map_err(|err| app.storage_error(err))?;
        let reloaded = registry::load(&app.store)
            .await
            .map_err(|err| app.storage_error(err))?;
        app.registry.replace(reloaded);
        upstream::report_now(
            app.upstream.as_deref(),
            &[report::line(
                "enterprise",
                &format!("e-{}-{}", id, row.version),
                &row,
            )],
        );
        Ok((
            StatusCode::NO_CONTENT.into_response(),
            format!("removed {id} ({})", e.name),
        ))
    }
    .await;
    who.audited(&app, r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    /// 1, 2 or 3; 0 clears the override.
    pub grade: u8,
    #[serde(default)]
    pub reason: String,
}

/// `POST /v1/registry/{id}/grade`: a person's grade, with why, over the rules'.
async fn set_grade(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    Path(id): Path<String>,
    body: Result<Json<Override>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let r = async {
        let Json(o) = body.map_err(|e| ApiError::bad(e.body_text()))?;
        let (j, detail) = override_grade(&app, &who.who, &id, o).await?;
        Ok((Json(j).into_response(), detail))
    }
    .await;
    who.audited(&app, r)
}

/// Set or clear `who`'s grade over the rules' for enterprise `id`: its entry, the audit's words.
pub async fn override_grade(
    app: &App,
    who: &Account,
    id: &str,
    o: Override,
) -> Result<(Value, String), ApiError> {
    let id = id.to_owned();
    let Some(e) = app.registry().get(&id).cloned() else {
        return Err(ApiError::not_found(format!(
            "no enterprise {id:?} in the registry"
        )));
    };
    may_change(app, who, &e.province, &id)?;
    if o.grade > 3 {
        return Err(ApiError::bad(
            "grade: 1, 2 or 3, or 0 to clear the override",
        ));
    }
    let reason = o.reason.trim();
    if o.grade != 0 && reason.is_empty() {
        return Err(ApiError::bad(
            "reason: say why the rules' grade is overridden",
        ));
    }
    if reason.len() > 2048 || reason.chars().any(char::is_control) {
        return Err(ApiError::bad(
            "reason: at most 2048 characters, no control characters",
        ));
    }
    let mut p = (app.grading.profile(&id).await)
        .map_err(|err| app.storage_error(err))?
        .unwrap_or_default();
    p.enterprise_id = id.clone();
    p.province = e.province.clone();
    p.override_grade = o.grade;
    p.override_by = if o.grade == 0 {
        String::new()
    } else {
        who.name.clone()
    };
    p.override_reason = if o.grade == 0 {
        String::new()
    } else {
        reason.to_owned()
    };
    app.grading
        .set(p)
        .await
        .map_err(|err| app.storage_error(err))?;
    let now = app.registry().get(&id).cloned().unwrap_or(e.clone());
    let profile = (app.grading.profile(&id).await).map_err(|err| app.storage_error(err))?;
    let detail = if o.grade == 0 {
        format!("{id}: override cleared, grade {} → {}", e.grade, now.grade)
    } else {
        format!(
            "{id}: grade {} → {} by override: {reason}",
            e.grade, now.grade
        )
    };
    Ok((enterprise_json(app, &now, profile.as_ref()), detail))
}
