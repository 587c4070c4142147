//! The pages every collector serves on its own listener, for the people the API is for: the
//! situation overview, the sensor fleet and the incidents of the account's scope. Rendered on
//! the server (maud escapes every value it prints), in Simplified Chinese unless the reader
//! chose English ([`crate::i18n`]).
//!
//! A page session is the API's session, carried in a cookie (`HttpOnly`, `Secure`,
//! `SameSite=Strict`); the login is the API's ([`sign_in`]: the same back-off, audit and
//! bounds). Every form carries a CSRF token: the login form's matches a cookie of its own, the
//! others' is derived from the session. Every answer forbids framing, scripts from anywhere and
//! caching. What a page shows is filtered by [`Account::sees`], as the API's reads are.

/// A form struct whose `csrf` field carries the token.
macro_rules! csrf_form {
    ($form:ty) => {
        impl Csrf for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    };
}

mod alerts;
mod assets;
mod bulletins;
mod coordination;
mod files;
mod hazards;

mod incidents;
mod live;
mod overview;
mod registry;
pub use overview::warm_loop;
pub mod reports;

use std::sync::Arc;

use axum::extract::{Form, FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Extension, Router};
use maud::{html, Markup, DOCTYPE};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::login::sign_in;
use super::App;
use crate::account::{Account, Role};
use crate::auth::Peer;
use crate::config::TierRole;
use crate::i18n::Lang;
use crate::tier::report::Status;
use crate::time::now_s;

const SESSION: &str = "icsight_session";
const LOGIN_CSRF: &str = "icsight_login";
const LANG: &str = "icsight_lang";

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(overview::overview))
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/sensors", get(sensors))
        .route("/assets", get(assets::page_of))
        .route("/hazards", get(hazards::list))
        .route("/hazard", get(hazards::one))
        .route("/hazard/step", axum::routing::post(hazards::step))
        .route("/advisory", get(hazards::advisory))
        .route("/registry", get(registry::list))
        .route("/enterprise", get(registry::one))
        .route("/registry/save", axum::routing::post(registry::save))
        .route("/registry/new", axum::routing::post(registry::create))
        .route("/registry/grade", axum::routing::post(registry::grade))
        .route("/incidents", get(incidents::list))
        .route("/incident", get(incidents::one))
        .route("/incident/step", axum::routing::post(incidents::act))
        .route("/incident/new", get(incidents::new).post(incidents::report))
        .route("/incident/report", axum::routing::post(incidents::report))
        .route(
            "/incident/comment",
            axum::routing::post(coordination::comment),
        )
        .route(
            "/incident/response",
            axum::routing::post(coordination::response),
        )
        .route("/incident/task", axum::routing::post(coordination::task))
        .route("/task/update", axum::routing::post(coordination::update))
        .route("/tasks", get(coordination::list))
        .route("/events", get(live::events))
        .route("/reports", get(reports::list))
        .route("/report", get(reports::one))
        .route("/alerts", get(alerts::search))
        .route("/alerts.csv", get(alerts::export))
        .route("/alert", get(alerts::one))
        .route("/bulletins", get(bulletins::list))
        .route("/bulletin", get(bulletins::one))
        .route("/bulletin/step", axum::routing::post(bulletins::act))
        .route("/bulletin/new", get(bulletins::new))
        .route("/bulletin/issue", axum::routing::post(bulletins::issue))
        .route("/bulletin/amend", get(bulletins::amend_form))
        .route("/bulletin/amend", axum::routing::post(bulletins::amend))
        .route("/bulletin/revoke", axum::routing::post(bulletins::revoke))
        .route("/bulletin/remind", axum::routing::post(bulletins::remind))
        .route("/static/{name}", get(files::get))
        .layer(axum::middleware::map_response(guarded))
}

/// The headers every page answer carries.
async fn guarded(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// The value of cookie `name` in the request's headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token of a session's forms: derived from the session token, which a page of
/// another site cannot read.
fn csrf_of(session: &str) -> String {
    let d = Sha256::digest(format!("icsight csrf\n{session}").as_bytes());
    hex::encode(&d[..16])
}

fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The language asked for (`?lang=`, then the cookie), Chinese by default.
#[derive(Deserialize, Default)]
struct LangParam {
    lang: Option<String>,
}

fn lang_of(headers: &HeaderMap, asked: &LangParam) -> Lang {
    asked
        .lang
        .as_deref()
        .or_else(|| cookie(headers, LANG))
        .map_or(Lang::Zh, Lang::parse)
}

/// A page answer in `lang`, remembering the language chosen.
fn page(lang: Lang, body: Markup) -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body.into_string(),
    )
        .into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LANG, lang.code(), 365 * 86_400),
    );
    r
}

/// The reader of a page: an account with a live session, or a redirect to the login.
struct Viewer {
    account: Account,
    session: String,
    lang: Lang,
}

/// The pages an industry authority's account opens.
const INDUSTRY_PAGES: [&str; 4] = ["/bulletins", "/bulletin", "/bulletin/remind", "/logout"];

impl FromRequestParts<Arc<App>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Viewer, Response> {
        let asked = Query::<LangParam>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        let lang = lang_of(&parts.headers, &asked);
        let session = cookie(&parts.headers, SESSION).unwrap_or_default();
        match app.credentials.session(session, now_s()) {
            // An industry authority reads and chases its industry's bulletins only.
            Some(a) if !a.industry.is_empty() && !INDUSTRY_PAGES.contains(&parts.uri.path()) => {
                Err(Redirect::to("/bulletins").into_response())
            }
            Some(a) => Ok(Viewer {
                account: a.clone(),
                session: session.to_owned(),
                lang,
            }),
            None => Err(Redirect::to(&format!("/login?lang={}", lang.code())).into_response()),
        }
    }
}

/// A form a signed-in reader posted: the session is checked before the body is read, then
/// the body parsed (400 when malformed) and its CSRF token matched against the session's (403).
/// Every form handler behind a login takes one, so the check is written once.
struct Posted<T> {
    v: Viewer,
    form: T,
}

/// A form carrying the CSRF token of the session it was served to.
trait Csrf {
    fn csrf(&self) -> &str;
}

impl<T> FromRequest<Arc<App>> for Posted<T>
where
    T: DeserializeOwned + Csrf + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<App>) -> Result<Posted<T>, Response> {
        let (mut parts, body) = req.into_parts();
        let v = match Viewer::from_request_parts(&mut parts, app).await {
            Ok(v) => v,
            Err(to_login) => {
                // Unread, but let the client finish sending, briefly, so it reads the answer.
                crate::http::extract::linger(body);
                return Err(to_login);
            }
        };
        let req = Request::from_parts(parts, body);
        let Ok(Form(form)) = Form::<T>::from_request(req, app).await else {
            return Err(StatusCode::BAD_REQUEST.into_response());
        };
        if !same(&csrf_of(&v.session), form.csrf()) {
            return Err(StatusCode::FORBIDDEN.into_response());
        }
        Ok(Posted { v, form })
    }
}

/// The `?id=` of a page showing one record; empty when absent, so the page answers "not
/// found" like any id outside the reader's scope.
struct PageId(String);

#[derive(Deserialize)]
struct IdParam {
    id: String,
}

impl<S: Sync> FromRequestParts<S> for PageId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<PageId, Self::Rejection> {
        Ok(PageId(
            Query::<IdParam>::try_from_uri(&parts.uri)
                .map(|q| q.0.id)
                .unwrap_or_default(),
        ))
    }
}

fn tier_name(lang: Lang, role: TierRole) -> &'static str {
    match role {
        TierRole::National => lang.t("tier_national"),
        TierRole::Provincial => lang.t("tier_provincial"),
        TierRole::Enterprise => lang.t("tier_enterprise"),
    }
}

fn role_name(lang: Lang, role: Role) -> &'static str {
    match role {
        Role::Admin => lang.t("role_admin"),
        Role::Analyst => lang.t("role_analyst"),
        Role::Regulator => lang.t("role_regulator"),
    }
}

pub(super) fn state_name(lang: Lang, state: &str) -> &'static str {
    match state {
        "acknowledged" => lang.t("state_acknowledged"),
        "disposed" => lang.t("state_disposed"),
        "closed" => lang.t("state_closed"),
        _ => lang.t("state_open"),
    }
}

fn status_name(lang: Lang, s: Status) -> &'static str {
    match s {
        Status::Online => lang.t("sensors_online"),
        Status::Offline => lang.t("sensors_offline"),
        Status::Replayed => lang.t("sensors_replayed"),
        Status::NeverSeen => lang.t("sensors_never_seen"),
    }
}

/// The frame of every signed-in page: the tier, the reader, the navigation, the language
/// switch and the logout form.
fn layout(app: &App, v: &Viewer, here: &str, title: &str, body: Markup) -> Markup {
    let lang = v.lang;
    let a = &v.account;
    let scope = match (a.province.as_str(), a.enterprise_id.as_str()) {
        ("", "") => lang.t("scope_all").to_owned(),
        (p, "") => p.to_owned(),
        (p, e) => format!("{p} / {e}"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (lang.t("product")) }
                link rel="stylesheet" href=(files::url("app.css"));
            }
            body {
                header {
                    strong { (lang.t("product")) }
                    span.tier { (tier_name(lang, app.config.tier.role)) " · " (app.config.tier.id) }
                    nav {
                        @for (path, label) in [
                            ("/", lang.t("nav_overview")), ("/sensors", lang.t("nav_sensors")),
                            ("/assets", lang.t("nav_assets")), ("/hazards", lang.t("nav_hazards")),
                            ("/registry", lang.t("nav_registry")), ("/incidents", lang.t("nav_incidents")),
                            ("/alerts", lang.t("nav_alerts")), ("/bulletins", lang.t("nav_bulletins")),
                            ("/tasks", lang.t("nav_tasks")), ("/reports", lang.t("nav_reports")),
                        ] {
                            @if !a.industry.is_empty() && path != "/bulletins" {
                            } @else if path == here { a.here href=(path) { (label) } } @else { a href=(path) { (label) } }
                        }
                    }
                    button #unread.badge type="button" hidden title=(lang.t("live_unread")) { "0" }
                    span.who {
                        (lang.t("signed_in_as")) " " (a.name) " (" (role_name(lang, a.role)) ", " (scope) ")"
                    }
                    a.lang href={ (here) "?lang=" (lang.other().code()) } { (lang.t("other_lang")) }
                    form method="post" action="/logout" {
                        input type="hidden" name="csrf" value=(csrf_of(&v.session));
                        button type="submit" { (lang.t("logout")) }
                    }
                }
                ol #live hidden aria-live="polite" {}
                main {
                    h1 { (title) }
                    (body)
                }
                script src=(files::url("echarts.min.js")) {}
                script src=(files::url("app.js")) {}
            }
        }
    }
}

async fn sensors(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    let fleet = app.fleet.list(|p, e| v.account.sees(p, e));
    let body = sensor_table(lang, &fleet, now_s().saturating_sub(30 * 86_400));
    page(
        lang,
        layout(&app, &v, "/sensors", lang.t("sensors_title"), body),
    )
}

/// Sensors with their heartbeat's figures, each linked to its alerts since `from`.
fn sensor_table(lang: Lang, fleet: &[crate::tier::report::SensorState], from: u64) -> Markup {
    html! {
        @if fleet.is_empty() {
            p.none { (lang.t("none")) }
        } @else {
            table.sensors {
                thead { tr {
                    th { (lang.t("col_sensor")) }
                    th { (lang.t("col_enterprise")) }
                    th { (lang.t("col_province")) }
                    th { (lang.t("col_status")) }
                    th { (lang.t("col_last_seen")) }
                    th { (lang.t("col_version")) }
                    th { (lang.t("col_rules")) }
                    th { (lang.t("col_packets")) }
                    th { (lang.t("col_kernel_drops")) }
                    th { (lang.t("col_spool")) }
                    th { (lang.t("col_send_lag")) }
                } }
                tbody {
                    @for s in fleet {
                        tr class=(format!("{:?}", s.status).to_lowercase()) {
                            td { a href={ "/alerts?sensor=" (alerts::encode(&s.sensor_id)) "&from=" (from) } { (s.sensor_id) } }
                            td { a href={ "/?enterprise=" (alerts::encode(&s.enterprise_id)) } { (s.enterprise_id) } }
                            td { (s.province) }
                            td.status { (status_name(lang, s.status)) }
                            td { (lang.time(s.last_seen)) }
                            td { (s.heartbeat.version) }
                            td.num { (lang.count(s.heartbeat.rules_loaded)) }
                            td.num { (lang.count(s.heartbeat.packets)) }
                            td.num { (lang.count(s.heartbeat.kernel_drops)) }
                            td.num { (lang.count(s.heartbeat.spool_segments)) }
                            td.num { (format!("{:.1}", s.heartbeat.send_lag_seconds)) }
                        }
                    }
                }
            }
        }
    }
}

/// The page for what is absent or outside the reader's scope (they look the same), with
/// the attempt audited.
fn not_found(app: &App, v: &Viewer, here: &str, action: &str, asked: &str) -> Response {
    let lang = v.lang;
    app.audit.record(
        crate::store::audit::Record::new(
            &v.account.name,
            v.account.role.name(),
            action,
            "not_found",
        )
        .detail(format!("{asked}: none in scope"))
        .scope(&v.account.province, &v.account.enterprise_id),
    );
    let body = html! { p.none { (lang.t("not_found_text")) } };
    let mut r = page(lang, layout(app, v, here, lang.t("not_found"), body));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// What a page answers after a form that acted through the API's own step: the audit row
/// (`action` on `target`, "ok" or "denied" with the API's words), then back to `back`, or the
/// refusal on a page of its own under the navigation's `here` with `title`.
#[allow(clippy::too_many_arguments)]
fn acted(
    app: &App,
    v: &Viewer,
    action: &str,
    target: &str,
    done: Result<String, crate::http::ApiError>,
    back: &str,
    here: &str,
    title: &'static str,
) -> Response {
    let a = &v.account;
    let (outcome, detail) = match &done {
        Ok(d) => ("ok", d.clone()),
        Err(e) => ("denied", e.to_string()),
    };
    app.audit.record(
        crate::store::audit::Record::new(&a.name, a.role.name(), action, outcome)
            .target(target)
            .detail(detail)
            .scope(&a.province, &a.enterprise_id),
    );
    match done {
        Ok(_) => Redirect::to(back).into_response(),
        Err(e) => {
            let lang = v.lang;
            let status = e.status();
            let body = html! { p.error role="alert" { (e.to_string()) } };
            let mut r = page(lang, layout(app, v, here, title, body));
            *r.status_mut() = status;
            r
        }
    }
}

/// A value of the API's answer as a page shows it: a string as it is, nothing for null.
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A time of the API's answer (RFC 3339, UTC) as the reader's language shows times (Beijing);
/// anything else as [`text`] shows it.
fn when(lang: Lang, v: &serde_json::Value) -> String {
    match v.as_str().and_then(icsight_eve::Timestamp::parse) {
        Some(t) => lang.time(t.secs()),
        None => text(v),
    }
}

/// The login page; `error`: the label of why the last try failed.
fn login_page(lang: Lang, csrf: &str, error: Option<&'static str>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (lang.t("login_title")) " · " (lang.t("product")) }
                link rel="stylesheet" href=(files::url("app.css"));
            }
            body.login {
                main {
                    h1 { (lang.t("product")) }
                    @if let Some(e) = error { p.error role="alert" { (e) } }
                    form method="post" action={ "/login?lang=" (lang.code()) } {
                        input type="hidden" name="csrf" value=(csrf);
                        label { (lang.t("login_name")) input name="name" autocomplete="username" required; }
                        label { (lang.t("login_password")) input type="password" name="password" autocomplete="current-password" required; }
                        button type="submit" { (lang.t("login_submit")) }
                    }
                    a.lang href={ "/login?lang=" (lang.other().code()) } { (lang.t("other_lang")) }
                }
            }
        }
    }
}

/// A fresh login form, with the cookie its CSRF token must match.
fn login_answer(lang: Lang, status: StatusCode, error: Option<&'static str>) -> Response {
    let mut raw = [0u8; 16];
    if getrandom::fill(&mut raw).is_err() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let csrf = hex::encode(raw);
    let mut r = page(lang, login_page(lang, &csrf, error));
    *r.status_mut() = status;
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_CSRF, &csrf, 3600));
    r
}

async fn login_form(headers: HeaderMap, Query(asked): Query<LangParam>) -> Response {
    login_answer(lang_of(&headers, &asked), StatusCode::OK, None)
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

async fn login(
    State(app): State<Arc<App>>,
    Extension(peer): Extension<Peer>,
    headers: HeaderMap,
    Query(asked): Query<LangParam>,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = lang_of(&headers, &asked);
    let Ok(Form(f)) = form else {
        return login_answer(lang, StatusCode::BAD_REQUEST, Some(lang.t("login_invalid")));
    };
    let expected = cookie(&headers, LOGIN_CSRF).unwrap_or_default();
    if expected.is_empty() || !same(expected, &f.csrf) {
        return login_answer(lang, StatusCode::FORBIDDEN, Some(lang.t("login_expired")));
    }
    match sign_in(&app, &peer, &f.name, f.password).await {
        Ok(s) => {
            let mut r = Redirect::to("/").into_response();
            let max_age = s.expires.saturating_sub(now_s());
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(SESSION, &s.token, max_age));
            r.headers_mut()
                .append(header::SET_COOKIE, set_cookie(LOGIN_CSRF, "", 0));
            r
        }
        Err(refused) => {
            let status = refused.status();
            let why = match status {
                StatusCode::UNAUTHORIZED => lang.t("login_wrong"),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                    lang.t("login_throttled")
                }
                _ => lang.t("login_invalid"),
            };
            login_answer(lang, status, Some(why))
        }
    }
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

csrf_form!(LogoutForm);

async fn logout(State(app): State<Arc<App>>, Posted { v, .. }: Posted<LogoutForm>) -> Response {
    app.credentials.end_session(&v.session);
    app.audit.record(
        crate::store::audit::Record::new(&v.account.name, v.account.role.name(), "logout", "ok")
            .scope(&v.account.province, &v.account.enterprise_id),
    );
    let mut r = Redirect::to(&format!("/login?lang={}", v.lang.code())).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION, "", 0));
    r
}
