//! Situation reports (态势报告) as people read them: the page that prints a tier's situation
//! over a period, its PDF, the list of reports in the reader's scope, and the API that finds
//! or issues one (`GET /v1/reports?period=…&format=html|pdf`).
//!
//! A report is the overview's sections over a whole period ([`situation::gather`], the same
//! figures), laid out for paper. The PDF is the page printed by headless Chromium: the
//! charts are drawn by the same script as on screen, the Chinese set in Noto Sans CJK, whose
//! glyphs Chromium embeds. A Rust typesetter would need the charts drawn a second way and a
//! second layout kept in step; printing the page keeps one. Chromium runs as a child process
//! per report, bounded in time and one at a time.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;

use super::overview::{bar_of, bulletins, chart, figures, incidents, place_table, trends};
use super::{layout, not_found, page, Viewer};
use crate::account::Account;
use crate::codes::region_name;
use crate::config::TierRole;
use crate::http::extract::{act as action, Authed};
use crate::http::{ApiError, App};
use crate::i18n::Lang;
use crate::store::audit::Record;
use crate::tier::report;
use crate::tier::sitrep::{self, day_of, parse_day, Period, Row};
use crate::tier::situation::{self, Area, Scope, Situation, Sources, Window};
use crate::tier::upstream;
use crate::time::now_s;

/// `/v1/reports`, for the API's router.
pub fn api_router() -> Router<Arc<App>> {
    Router::new().route("/v1/reports", get(api).route_layer(action("report.read")))
}

/// The scope a tier's own reports cover.
fn tier_scope(app: &App) -> Scope {
    let t = &app.config.tier;
    Scope {
        province: t.province.clone(),
        enterprise: if t.role == TierRole::Enterprise {
            t.enterprise_id.clone()
        } else {
            String::new()
        },
    }
}

/// The scope of `who`'s reports at this tier: its own, within the tier's.
fn scope_of(app: &App, who: &Account) -> Scope {
    let t = tier_scope(app);
    Scope {
        province: if who.province.is_empty() {
            t.province
        } else {
            who.province.clone()
        },
        enterprise: if who.enterprise_id.is_empty() {
            t.enterprise
        } else {
            who.enterprise_id.clone()
        },
    }
}

fn period_name(lang: Lang, p: Period) -> &'static str {
    match p {
        Period::Daily => lang.t("report_daily"),
        Period::Weekly => lang.t("report_weekly"),
        Period::Monthly => lang.t("report_monthly"),
    }
}

fn scope_name(lang: Lang, app: &App, s: &Scope) -> String {
    if !s.enterprise.is_empty() {
        return app
            .registry()
            .get(&s.enterprise)
            .map_or_else(|| s.enterprise.clone(), |e| e.name.clone());
    }
    if s.province.is_empty() {
        return lang.t("scope_all").to_owned();
    }
    region_name(&s.province, lang == Lang::En)
        .unwrap_or(&s.province)
        .to_owned()
}

/// The report's page, whole: it links its style sheet and scripts relatively (`static/…`),
/// which resolves to the collector's `/static/` when served and to the files beside it when
/// printed.
fn render(lang: Lang, title: &str, meta: &[(&str, String)], s: &Situation) -> String {
    let days = s.window.map_or(1, |w| (w.to - w.from).div_ceil(86_400));
    let body: Markup = html! {
        h1 { (title) }
        table.fields { tbody {
            @for (k, v) in meta { tr { th { (k) } td { (v) } } }
        } }
        h2 { (lang.t("report_summary")) }
        (figures(lang, s))
        p.summary { (summary(lang, s)) }
        @if s.area != Some(Area::None) {
            h2 { (lang.t("report_ranking")) }
            @let top: Vec<_> = s.places.iter().filter(|p| p.risk > 0).take(15).cloned().collect();
            (chart(bar_of(lang, &top, days)))
            (place_table(lang, &top, None, s.area == Some(Area::Enterprise)))
        }
        (trends(lang, s))
        @if s.area != Some(Area::None) {
            h2 { (lang.t("top_enterprises")) }
            (place_table(lang, &s.top_enterprises, None, true))
        }
        (incidents(lang, s))
        (bulletins(lang, s))
        @let overdue: Vec<_> = s.bulletins.iter().filter(|b| b.overdue > 0).collect();
        @if !overdue.is_empty() {
            h3 { (lang.t("report_overdue")) }
            ul { @for b in overdue { li { (b.bulletin_id) ": " (b.overdue_enterprises.join(", ")) } } }
        }
        h2 { (lang.t("report_coverage")) }
        @let c = &s.coverage;
        table.compact { tbody {
            tr { td { (lang.t("report_registered")) } td.num { (lang.count(c.registered)) } }
            tr { td { (lang.t("report_covered")) } td.num { (lang.count(c.covered)) } }
            tr { td { (lang.t("sensors_online")) } td.num { (lang.count(c.online)) } }
            tr { td { (lang.t("sensors_replayed")) } td.num { (lang.count(c.replayed)) } }
            tr { td { (lang.t("sensors_offline")) } td.num { (lang.count(c.offline)) } }
            tr { td { (lang.t("sensors_never_seen")) } td.num { (lang.count(c.never_seen)) } }
        } }
        p.note { (lang.t("risk_explained")) }
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                title { (title) }
                link rel="stylesheet" href="static/app.css";
            }
            body.print.report {
                main { (body) }
                script src="static/echarts.min.js" {}
                script src="static/app.js" {}
            }
        }
    }
    .into_string()
}

/// One sentence that says it all, for the reader who reads nothing else.
fn summary(lang: Lang, s: &Situation) -> String {
    let open: u64 = s.incidents.open_by_band.iter().sum();
    let overdue: u64 = s.bulletins.iter().map(|b| b.overdue).sum();
    let c = &s.coverage;
    match lang {
        Lang::Zh => format!(
            "本期共监测到告警 {} 条，其中严重告警 {} 条；新增安全事件 {} 起，已关闭 {} 起，目前未关闭 {} 起；通报逾期未处置 {} 家次；已登记企业 {} 家，其中 {} 家有探针上报。",
            lang.count(s.alerts), lang.count(s.critical), lang.count(s.incidents.opened),
            lang.count(s.incidents.closed), lang.count(open), lang.count(overdue),
            lang.count(c.registered), lang.count(c.covered)
        ),
        Lang::En => format!(
            "{} alerts in the period, {} of them critical; {} incidents opened, {} closed, {} open now; {} enterprise(s) overdue on bulletins; {} enterprises registered, {} with a sensor reporting.",
            lang.count(s.alerts), lang.count(s.critical), lang.count(s.incidents.opened),
            lang.count(s.incidents.closed), lang.count(open), lang.count(overdue),
            lang.count(c.registered), lang.count(c.covered)
        ),
    }
}

/// Print `html` to PDF with headless Chromium.
async fn print(app: &App, html: &str) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let statics = dir.path().join("static");
    std::fs::create_dir_all(&statics).map_err(|e| format!("{}: {e}", statics.display()))?;
    for name in ["app.css", "app.js", "echarts.min.js"] {
        let bytes = super::files::bytes(name).unwrap_or_default();
        std::fs::write(statics.join(name), bytes).map_err(|e| format!("{name}: {e}"))?;
    }
    let page = dir.path().join("report.html");
    std::fs::write(&page, html).map_err(|e| format!("{}: {e}", page.display()))?;
    let out = dir.path().join("report.pdf");
    let cfg = &app.config.reports;
    let mut cmd = tokio::process::Command::new(&cfg.chromium);
    cmd.arg("--headless")
        .arg("--disable-gpu")
        .arg("--no-pdf-header-footer")
        .arg("--virtual-time-budget=20000")
        .arg(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", out.display()))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    // Chromium's sandbox cannot start as root; the page printed is our own, its text escaped.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        cmd.arg("--no-sandbox");
    }
    let status = tokio::time::timeout(Duration::from_secs(cfg.pdf_timeout_s), cmd.status())
        .await
        .map_err(|_| format!("{} took longer than {} s", cfg.chromium, cfg.pdf_timeout_s))?
        .map_err(|e| format!("{}: {e}", cfg.chromium))?;
    if !status.success() {
        return Err(format!("{} exited with {status}", cfg.chromium));
    }
    std::fs::read(&out).map_err(|e| format!("{}: {e}", out.display()))
}

/// One report issued (or printed) at a time: Chromium is heavy.
fn printer() -> &'static tokio::sync::Mutex<()> {
    static P: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    P.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// The report of `scope` for the period starting `from`, issued now if it was not before.
pub async fn issue(
    app: &App,
    scope: &Scope,
    period: Period,
    from: u64,
    lang: Lang,
) -> Result<Row, ApiError> {
    let tier = &app.config.tier;
    let id = sitrep::id_of(
        &tier.id,
        &scope.province,
        &scope.enterprise,
        period,
        from,
        lang.code(),
    );
    let _one = printer().lock().await;
    if let Some(r) = sitrep::get(&app.store, &id)
        .await
        .map_err(|e| app.storage_error(e))?
    {
        return Ok(r);
    }
    let (from, to) = period.around(from);
    if to > now_s() {
        return Err(ApiError::conflict(format!(
            "the {} period from {} is not over: it ends {}",
            period.name(),
            day_of(from),
            day_of(to)
        )));
    }
    let w = Window {
        from,
        to,
        step: match period {
            Period::Daily => 3_600,
            Period::Weekly => 6 * 3_600,
            Period::Monthly => 86_400,
        },
    };
    let registry = app.registry();
    let src = Sources {
        store: &app.store,
        national: tier.role == TierRole::National,
        registry: &registry,
        fleet: &app.fleet,
        book: &app.bulletins.book,
    };
    let s = situation::gather(&src, scope, w)
        .await
        .map_err(|e| app.storage_error(e))?;
    let title = format!(
        "{} · {} · {}",
        scope_name(lang, app, scope),
        lang.t("report_title"),
        period_name(lang, period)
    );
    let issued = now_s();
    let meta = [
        (
            lang.t("report_period"),
            format!(
                "{} – {} ({})",
                day_of(from),
                day_of(to - 1),
                lang.t("report_cst")
            ),
        ),
        (lang.t("report_issuer"), tier.id.clone()),
        (lang.t("report_issued"), lang.time(issued)),
        (lang.t("report_id"), id.clone()),
    ];
    let html = render(lang, &title, &meta, &s);
    let pdf = match print(app, &html).await {
        Ok(b) => base64::engine::general_purpose::STANDARD.encode(b),
        Err(e) => {
            tracing::warn!(report = %id, error = %e, "printing a report to PDF failed; its page is kept");
            String::new()
        }
    };
    let row = Row {
        report_id: id,
        origin: tier.id.clone(),
        province: scope.province.clone(),
        enterprise_id: scope.enterprise.clone(),
        period: period.name().into(),
        period_from: from as u32,
        period_to: to as u32,
        issued: issued as u32,
        lang: lang.code().into(),
        title,
        figures: serde_json::to_string(&s).unwrap_or_default(),
        html,
        pdf,
        version: crate::time::now_us(),
    };
    sitrep::put(&app.store, &row)
        .await
        .map_err(|e| app.storage_error(e))?;
    upstream::report_now(app.upstream.as_deref(), &[report::sitrep_line(&row)]);
    tracing::info!(report = %row.report_id, "situation report issued");
    Ok(row)
}

/// The PDF of a report: the one stored, or printed now from its page and kept.
async fn pdf_of(app: &App, mut r: Row) -> Result<Vec<u8>, ApiError> {
    if r.pdf.is_empty() {
        let _one = printer().lock().await;
        let bytes = print(app, &r.html).await.map_err(|e| {
            tracing::warn!(report = %r.report_id, error = %e, "printing a report to PDF failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the PDF cannot be printed now; the HTML is available",
            )
        })?;
        r.pdf = base64::engine::general_purpose::STANDARD.encode(&bytes);
        r.version += 1;
        sitrep::put(&app.store, &r)
            .await
            .map_err(|e| app.storage_error(e))?;
        return Ok(bytes);
    }
    base64::engine::general_purpose::STANDARD
        .decode(&r.pdf)
        .map_err(|_| {
            ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the stored PDF is damaged",
            )
        })
}

fn as_file(r: &Row, format: &str, pdf: Option<Vec<u8>>) -> Response {
    let name = format!("{}.{format}", r.report_id);
    let disposition = format!("inline; filename=\"{name}\"");
    match pdf {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            bytes,
        )
            .into_response(),
        None => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            r.html.clone(),
        )
            .into_response(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct Params {
    id: Option<String>,
    period: Option<String>,
    /// A day of the period, `2026-11-21`; default: the last period that is over.
    date: Option<String>,
    format: Option<String>,
    lang: Option<String>,
}

/// The report `p` names, found or issued for `who`.
async fn find_or_issue(app: &App, who: &Account, p: &Params) -> Result<Row, ApiError> {
    if let Some(id) = &p.id {
        return match sitrep::get(&app.store, id)
            .await
            .map_err(|e| app.storage_error(e))?
        {
            Some(r) if who.sees(&r.province, &r.enterprise_id) => Ok(r),
            _ => Err(ApiError::not_found(format!(
                "no report {id:?} in {}'s scope",
                who.name
            ))),
        };
    }
    let period = match p.period.as_deref() {
        None => Period::Daily,
        Some(s) => Period::parse(s)
            .ok_or_else(|| ApiError::bad(format!("period: {s:?}: use daily, weekly or monthly")))?,
    };
    let from = match p.date.as_deref() {
        Some(d) => parse_day(d)
            .ok_or_else(|| ApiError::bad(format!("date: {d:?} is not a day (2026-11-21)")))?,
        None => period.last_complete(now_s()).0,
    };
    let lang = p.lang.as_deref().map_or(Lang::Zh, Lang::parse);
    issue(app, &scope_of(app, who), period, from, lang).await
}

fn format_of(p: &Params) -> Result<&str, ApiError> {
    match p.format.as_deref() {
        None | Some("html") => Ok("html"),
        Some("pdf") => Ok("pdf"),
        Some("json") => Ok("json"),
        Some(f) => Err(ApiError::bad(format!(
            "format: {f:?}: use html, pdf or json"
        ))),
    }
}

/// `GET /v1/reports`: without `period`, `date` or `id`, the list in the caller's scope;
/// with them, the report (issued now if it was not), as HTML, PDF or its figures in JSON.
async fn api(
    State(app): State<Arc<App>>,
    who: Authed<Account>,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let r = async {
        let Query(p) = q.map_err(|e| ApiError::bad(e.body_text()))?;
        if p.id.is_none() && p.period.is_none() && p.date.is_none() {
            let list = sitrep::list(&app.store, |pr, e| who.who.sees(pr, e), 500)
                .await
                .map_err(|e| app.storage_error(e))?;
            let list: Vec<_> = list
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "report_id": r.report_id, "origin": r.origin, "province": r.province,
                        "enterprise_id": r.enterprise_id, "period": r.period,
                        "from": icsight_eve::Timestamp(u64::from(r.period_from) * 1_000_000).rfc3339(),
                        "to": icsight_eve::Timestamp(u64::from(r.period_to) * 1_000_000).rfc3339(),
                        "issued": icsight_eve::Timestamp(u64::from(r.issued) * 1_000_000).rfc3339(),
                        "lang": r.lang, "title": r.title,
                    })
                })
                .collect();
            return Ok(Json(serde_json::json!({ "reports": list })).into_response());
        }
        let format = format_of(&p)?;
        let r = find_or_issue(&app, &who.who, &p).await?;
        Ok(match format {
            "json" => {
                let figures: serde_json::Value =
                    serde_json::from_str(&r.figures).unwrap_or_default();
                Json(serde_json::json!({
                    "report_id": r.report_id, "period": r.period,
                    "from": icsight_eve::Timestamp(u64::from(r.period_from) * 1_000_000).rfc3339(),
                    "to": icsight_eve::Timestamp(u64::from(r.period_to) * 1_000_000).rfc3339(),
                    "figures": figures,
                }))
                .into_response()
            }
            "pdf" => {
                let bytes = pdf_of(&app, r.clone()).await?;
                as_file(&r, "pdf", Some(bytes))
            }
            _ => as_file(&r, "html", None),
        })
    }
    .await;
    who.answer(&app, r)
}

/// `GET /reports`: the reports in the reader's scope, and the form that asks for one.
pub(super) async fn list(State(app): State<Arc<App>>, v: Viewer) -> Response {
    let lang = v.lang;
    let reports = sitrep::list(&app.store, |p, e| v.account.sees(p, e), 200).await;
    let body = html! {
        form.search method="get" action="/report" {
            label { (lang.t("report_period"))
                select name="period" {
                    @for p in Period::ALL { option value=(p.name()) { (period_name(lang, p)) } }
                }
            }
            label { (lang.t("report_date")) input type="date" name="date"; }
            input type="hidden" name="lang" value=(lang.code());
            button type="submit" { (lang.t("report_issue")) }
        }
        @match reports {
            Err(_) => p.error role="alert" { (lang.t("unavailable")) },
            Ok(list) if list.is_empty() => p.none { (lang.t("none")) },
            Ok(list) => table.reports {
                thead { tr {
                    th { (lang.t("col_title")) }
                    th { (lang.t("report_period")) }
                    th { (lang.t("report_issuer")) }
                    th { (lang.t("report_issued")) }
                    th { "PDF" }
                } }
                tbody {
                    @for r in &list {
                        @let id = super::alerts::encode(&r.report_id);
                        tr {
                            td { a href={ "/report?id=" (id) } { (r.title) } }
                            td { (day_of(u64::from(r.period_from))) " – " (day_of(u64::from(r.period_to).saturating_sub(1))) }
                            td { (r.origin) }
                            td { (lang.time(u64::from(r.issued))) }
                            td { a href={ "/report?id=" (id) "&format=pdf" } { "PDF" } }
                        }
                    }
                }
            },
        }
    };
    page(
        lang,
        layout(&app, &v, "/reports", lang.t("reports_title"), body),
    )
}

/// `GET /report?id=` or `?period=&date=`: one report, as its page or PDF.
pub(super) async fn one(
    State(app): State<Arc<App>>,
    v: Viewer,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = v.lang;
    let p = q.map(|Query(p)| p).unwrap_or_default();
    let p = Params {
        date: p.date.filter(|d| !d.is_empty()),
        ..p
    };
    let r = match find_or_issue(&app, &v.account, &p).await {
        Ok(r) => r,
        Err(e) if e.status() == StatusCode::NOT_FOUND => {
            return not_found(
                &app,
                &v,
                "/reports",
                "web.report",
                p.id.as_deref().unwrap_or(""),
            );
        }
        Err(e) => {
            let body = html! { p.error role="alert" { (e.to_string()) } };
            let mut r = page(
                lang,
                layout(&app, &v, "/reports", lang.t("reports_title"), body),
            );
            *r.status_mut() = e.status();
            return r;
        }
    };
    app.audit.record(
        Record::new(&v.account.name, v.account.role.name(), "web.report", "ok")
            .target(&r.report_id)
            .scope(&v.account.province, &v.account.enterprise_id),
    );
    match p.format.as_deref() {
        Some("pdf") => match pdf_of(&app, r.clone()).await {
            Ok(bytes) => as_file(&r, "pdf", Some(bytes)),
            Err(e) => e.into_response(),
        },
        _ => {
            let mut resp = as_file(&r, "html", None);
            // Shown in place; the stored page has no inline script or style, so the pages'
            // policy holds for it too.
            resp.headers_mut().remove(header::CONTENT_DISPOSITION);
            resp
        }
    }
}

/// Issue the tier's own reports as each period ends: every day shortly after midnight in
/// Beijing, the day's, and the week's and month's when they end.
pub async fn schedule_loop(app: Arc<App>) {
    if !app.config.reports.scheduled {
        return;
    }
    loop {
        let now = now_s();
        let (_, next_midnight) = Period::Daily.around(now);
        // Ten minutes after midnight: the last roll-ups of the day are in.
        let wait = (next_midnight + 600).saturating_sub(now);
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let now = now_s();
        for period in Period::ALL {
            let (from, to) = period.last_complete(now);
            if now.saturating_sub(to) > 3_600 {
                continue;
            }
            if let Err(e) = issue(&app, &tier_scope(&app), period, from, Lang::Zh).await {
                tracing::warn!(period = period.name(), error = %e, "issuing a scheduled report failed");
            }
        }
    }
}
