//! The situation of a scope over a window (态势): the figures the overview pages draw and the
//! situation reports print, gathered once so the two never disagree.
//!
//! Alerts are counted from the 5-minute roll-ups (the national tier's are the ones the
//! provinces report), so a month of a country costs a scan of roll-up rows, not of alerts.
//! Incidents come from their table, bulletins and sensors from memory.
//!
//! Risk, which colours the map and orders the tables, is one number per place:
//! every alert weighted by its severity (1: 10, 2: 3, other: 1) and its enterprise's security
//! grade (1: 3, 2: 2, 3: 1), plus 50 per open incident and 20 per enterprise overdue on a
//! bulletin. It is a ranking, not a probability: it says where to look first.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::bulletin::Book;
use super::fleet::Fleet;
use super::registry::Registry;
use super::report::Status;
use crate::codes;
use crate::store::settle::{self, Settled};
use crate::store::Store;
use crate::time::CST;

/// Alerts weighted by severity and grade, as SQL over a roll-up's columns.
const WEIGHTED: &str = "sum(alerts * multiIf(severity = 1, 10, severity = 2, 3, 1) \
                        * multiIf(grade = 1, 3, grade = 2, 2, 1))";
/// What an open incident adds to its place's risk.
const INCIDENT_RISK: u64 = 50;
/// What an enterprise overdue on a bulletin adds to its place's risk.
const OVERDUE_RISK: u64 = 20;
/// Series kept per trend; the rest are summed as "other".
const SERIES: usize = 6;
/// Rows in a top list.
const TOP: usize = 10;

/// Whose situation: everything, a province, or one enterprise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Scope {
    pub province: String,
    pub enterprise: String,
}

impl Scope {
    pub fn sees(&self, province: &str, enterprise: &str) -> bool {
        (self.province.is_empty() || self.province == province)
            && (self.enterprise.is_empty() || self.enterprise == enterprise)
    }

    /// What a place is at this scope: a province nationally, an enterprise in a province.
    pub fn area(&self) -> Area {
        match (self.province.is_empty(), self.enterprise.is_empty()) {
            (true, true) => Area::Province,
            (false, true) => Area::Enterprise,
            _ => Area::None,
        }
    }

    fn sql(&self, binds: &mut Vec<String>) -> String {
        let mut s = String::new();
        if !self.province.is_empty() {
            s.push_str(" AND province = ?");
            binds.push(self.province.clone());
        }
        if !self.enterprise.is_empty() {
            s.push_str(" AND enterprise_id = ?");
            binds.push(self.enterprise.clone());
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Province,
    Enterprise,
    /// One enterprise's own scope: no places below it to compare.
    None,
}

/// The time a situation covers, UNIX seconds `[from, to)`, and its trend's bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Window {
    pub from: u64,
    pub to: u64,
    pub step: u64,
}

impl Window {
    /// The `days` up to `to`, in buckets that give a readable line: hours for a day, six
    /// hours for a week, days beyond — days and quarter-days as Beijing counts them.
    pub fn last(days: u64, to: u64) -> Window {
        let step = match days {
            0 | 1 => 3_600,
            2..=7 => 6 * 3_600,
            _ => 86_400,
        };
        let cst = CST as u64;
        let to = (to + cst).div_ceil(step) * step - cst;
        Window {
            from: to.saturating_sub(days.max(1) * 86_400),
            to,
            step,
        }
    }

    pub fn buckets(&self) -> Vec<u64> {
        (self.from..self.to).step_by(self.step as usize).collect()
    }
}

/// One place (province or enterprise) and why it ranks where it does.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Place {
    /// GB/T 2260 code or enterprise id.
    pub key: String,
    pub name: String,
    pub alerts: u64,
    pub critical: u64,
    pub weighted: u64,
    pub incidents: u64,
    pub overdue: u64,
    pub risk: u64,
    /// Enterprises: registered, and with a sensor reporting.
    pub registered: u64,
    pub covered: u64,
    /// For an enterprise: its industry, grade and prefecture (GB/T 2260, from its credit code).
    pub industry: String,
    pub grade: u8,
    pub city: String,
}

/// Counts over time, per value of one dimension.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Trend {
    /// `technique`, `proto`, `industry` or `grade`.
    pub dim: &'static str,
    /// The largest first; the last may be `other`.
    pub series: Vec<Series>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Series {
    pub key: String,
    pub total: u64,
    /// One count per bucket of the window.
    pub points: Vec<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct IncidentFigures {
    /// Open now, by priority band: ≥80, 60–79, 40–59, below 40.
    pub open_by_band: [u64; 4],
    pub opened: u64,
    pub closed: u64,
    /// Of those opened in the window and closed: seconds from opening to closing.
    pub mean_close_seconds: u64,
    pub median_close_seconds: u64,
    /// Open now, the most urgent first.
    pub open: Vec<OpenIncident>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, serde::Deserialize, clickhouse::Row)]
pub struct OpenIncident {
    pub incident_id: String,
    pub province: String,
    pub enterprise_id: String,
    pub title: String,
    pub priority: u8,
    pub state: String,
    pub opened: u32,
}

impl From<&super::report::Incident> for OpenIncident {
    fn from(i: &super::report::Incident) -> OpenIncident {
        OpenIncident {
            incident_id: i.incident_id.clone(),
            province: i.province.clone(),
            enterprise_id: i.enterprise_id.clone(),
            title: i.title.clone(),
            priority: i.priority,
            state: i.state.clone(),
            opened: i.opened,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BulletinFigures {
    pub bulletin_id: String,
    pub title: String,
    pub severity: u8,
    pub issued: u32,
    pub deadline: u32,
    pub targets: u64,
    pub received: u64,
    pub acknowledged: u64,
    pub disposed: u64,
    pub overdue: u64,
    /// The enterprises overdue, the first few.
    pub overdue_enterprises: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Coverage {
    pub registered: u64,
    /// Enterprises with a sensor reporting (online, or a replay's stats).
    pub covered: u64,
    pub online: u64,
    pub offline: u64,
    pub replayed: u64,
    pub never_seen: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Situation {
    pub scope: Scope,
    pub window: Option<Window>,
    pub area: Option<Area>,
    pub alerts: u64,
    pub critical: u64,
    /// Places of the scope, riskiest first; every province at national scope.
    pub places: Vec<Place>,
    /// Prefectures of a province's enterprises, riskiest first.
    pub cities: Vec<Place>,
    pub trends: Vec<Trend>,
    pub top_enterprises: Vec<Place>,
    pub incidents: IncidentFigures,
    pub bulletins: Vec<BulletinFigures>,
    pub coverage: Coverage,
    /// When the figures were gathered (UNIX seconds).
    pub as_of: u64,
}

/// Where the figures come from.
pub struct Sources<'a> {
    pub store: &'a Store,
    /// Whether alerts are counted from the roll-ups the provinces report.
    pub national: bool,
    pub registry: &'a Registry,
    pub fleet: &'a Fleet,
    pub book: &'a Book,
}

#[derive(serde::Deserialize, clickhouse::Row)]
struct PlaceRow {
    key: String,
    n: u64,
    n_critical: u64,
    n_weighted: u64,
}

struct TrendRow {
    t: u32,
    key: String,
    n: u64,
}

#[derive(serde::Deserialize, clickhouse::Row)]
struct TrendRows {
    t: u32,
    technique: String,
    app_proto: String,
    industry: String,
    grade: u8,
    n: u64,
}

#[derive(serde::Deserialize, clickhouse::Row)]
struct HandlingRow {
    n_opened: u64,
    n_closed: u64,
    mean: f64,
    median: f64,
}

impl Sources<'_> {
    /// The roll-ups of `scope` in `w` as a FROM clause, its WHERE included: the tier's own, or
    /// at the national tier those the provinces report, settled days read without FINAL.
    fn rollups(
        &self,
        settled: &Settled,
        scope: &Scope,
        w: Window,
        binds: &mut Vec<String>,
    ) -> String {
        let filter = format!(
            " AND bucket >= {} AND bucket < {}{}",
            w.from,
            w.to,
            scope.sql(binds)
        );
        if self.national {
            settle::source("tier_rollup_5m", settled, &filter, binds)
        } else {
            format!("alerts_5m WHERE 1{filter}")
        }
    }

    fn query(&self, sql: &str, binds: &[String]) -> clickhouse::query::Query {
        let mut q = self.store.client().query(sql);
        for b in binds {
            q = q.bind(b.as_str());
        }
        q
    }

    /// Alerts per value of `key` (an SQL expression over roll-up columns) in the window.
    async fn places(
        &self,
        settled: &Settled,
        scope: &Scope,
        w: Window,
        key: &str,
        order_limit: &str,
    ) -> clickhouse::error::Result<Vec<PlaceRow>> {
        let mut binds = Vec::new();
        let sql = format!(
            // Aliases unlike the columns: ClickHouse would read `alerts` in `sumIf` as the alias.
            "SELECT {key} AS key, sum(alerts) AS n, sumIf(alerts, severity = 1) AS n_critical, \
             {WEIGHTED} AS n_weighted FROM {} GROUP BY key {order_limit}",
            self.rollups(settled, scope, w, &mut binds),
        );
        self.query(&sql, &binds).fetch_all().await
    }

    /// The trends by technique, protocol, industry and grade, from one scan of the roll-ups
    /// grouped by all four (a few thousand rows at most), split here.
    async fn trends(
        &self,
        settled: &Settled,
        scope: &Scope,
        w: Window,
    ) -> clickhouse::error::Result<Vec<Trend>> {
        let mut binds = Vec::new();
        let sql = format!(
            "SELECT toUInt32(intDiv(toUInt32(bucket) - {from}, {step}) * {step} + {from}) AS t, \
             technique, app_proto, industry, grade, sum(alerts) AS n FROM {} \
             GROUP BY t, technique, app_proto, industry, grade",
            self.rollups(settled, scope, w, &mut binds),
            from = w.from,
            step = w.step,
        );
        let rows: Vec<TrendRows> = self.query(&sql, &binds).fetch_all().await?;
        let by = |key: fn(&TrendRows) -> String| {
            rows.iter()
                .map(|r| TrendRow {
                    t: r.t,
                    key: key(r),
                    n: r.n,
                })
                .collect::<Vec<_>>()
        };
        Ok(vec![
            trend_of("technique", w, by(|r| r.technique.clone())),
            trend_of("proto", w, by(|r| r.app_proto.clone())),
            trend_of("industry", w, by(|r| r.industry.clone())),
            trend_of("grade", w, by(|r| r.grade.to_string())),
        ])
    }

    /// Open incidents per place, and how the window's were handled.
    async fn incidents(
        &self,
        scope: &Scope,
        w: Window,
        area: Area,
    ) -> clickhouse::error::Result<(IncidentFigures, HashMap<String, u64>)> {
        let mut binds = Vec::new();
        let filter = scope.sql(&mut binds);
        let open: Vec<OpenIncident> = self
            .query(
                &format!(
                    "SELECT incident_id, province, enterprise_id, title, priority, state, \
                     toUInt32(opened) AS opened FROM incidents FINAL \
                     WHERE state != 'closed' AND drill = 0{filter} \
                     ORDER BY priority DESC, opened DESC"
                ),
                &binds,
            )
            .fetch_all()
            .await?;
        let handled: HandlingRow = self
            .query(
                &format!(
                    "SELECT count() AS n_opened, countIf(state = 'closed') AS n_closed, \
                     avgIf(toUInt32(updated) - toUInt32(opened), state = 'closed') AS mean, \
                     quantileIf(0.5)(toUInt32(updated) - toUInt32(opened), state = 'closed') \
                     AS median FROM incidents FINAL \
                     WHERE opened >= {} AND opened < {} AND drill = 0{filter}",
                    w.from, w.to
                ),
                &binds,
            )
            .fetch_one()
            .await?;
        let mut figures = IncidentFigures {
            opened: handled.n_opened,
            closed: handled.n_closed,
            mean_close_seconds: finite(handled.mean),
            median_close_seconds: finite(handled.median),
            ..IncidentFigures::default()
        };
        let mut per_place: HashMap<String, u64> = HashMap::new();
        for i in &open {
            let band = match i.priority {
                80.. => 0,
                60..=79 => 1,
                40..=59 => 2,
                _ => 3,
            };
            figures.open_by_band[band] += 1;
            let key = match area {
                Area::Province => &i.province,
                _ => &i.enterprise_id,
            };
            if !key.is_empty() {
                *per_place.entry(key.clone()).or_default() += 1;
            }
        }
        figures.open = open;
        figures.open.truncate(50);
        Ok((figures, per_place))
    }
}

fn finite(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        x.round() as u64
    } else {
        0
    }
}

/// Rows of (bucket, key, count) as the largest [`SERIES`] series over the window's buckets,
/// the rest summed as `other`.
fn trend_of(dim: &'static str, w: Window, rows: Vec<TrendRow>) -> Trend {
    let buckets = w.buckets();
    let mut by_key: HashMap<String, Vec<u64>> = HashMap::new();
    for r in rows {
        let Some(i) = buckets.iter().position(|b| *b == u64::from(r.t)) else {
            continue;
        };
        by_key
            .entry(r.key)
            .or_insert_with(|| vec![0; buckets.len()])[i] += r.n;
    }
    let mut series: Vec<Series> = by_key
        .into_iter()
        .map(|(key, points)| Series {
            total: points.iter().sum(),
            key,
            points,
        })
        .collect();
    series.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.key.cmp(&b.key)));
    if series.len() > SERIES {
        let rest = series.split_off(SERIES - 1);
        let mut other = Series {
            key: "other".into(),
            total: 0,
            points: vec![0; buckets.len()],
        };
        for s in rest {
            other.total += s.total;
            for (o, p) in other.points.iter_mut().zip(s.points) {
                *o += p;
            }
        }
        series.push(other);
    }
    Trend { dim, series }
}

/// The prefecture an enterprise is registered in: characters 3–8 of a unified social credit
/// code are its registering authority's GB/T 2260 division, of which the first four name the
/// prefecture.
pub fn city_of(enterprise_id: &str) -> String {
    match enterprise_id.get(2..6) {
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => format!("{p}00"),
        _ => String::new(),
    }
}

/// Gather the situation of `scope` over `w`.
pub async fn gather(
    src: &Sources<'_>,
    scope: &Scope,
    w: Window,
) -> clickhouse::error::Result<Situation> {
    let area = scope.area();
    let key = match area {
        Area::Province => "province",
        _ => "enterprise_id",
    };
    let settled = if src.national {
        settle::settled(src.store.client(), src.store.db(), "tier_rollup_5m").await?
    } else {
        Settled::default()
    };
    let settled = &settled;
    let (places, top, incidents, trends) = tokio::try_join!(
        src.places(settled, scope, w, key, ""),
        async {
            if area == Area::Province {
                src.places(
                    settled,
                    scope,
                    w,
                    "enterprise_id",
                    &format!("ORDER BY n_weighted DESC LIMIT {TOP}"),
                )
                .await
            } else {
                Ok(Vec::new())
            }
        },
        src.incidents(scope, w, area),
        src.trends(settled, scope, w),
    )?;
    let (incidents, open_per_place) = incidents;
    let mut s = Situation {
        scope: scope.clone(),
        window: Some(w),
        area: Some(area),
        alerts: places.iter().map(|p| p.n).sum(),
        critical: places.iter().map(|p| p.n_critical).sum(),
        trends,
        incidents,
        as_of: crate::time::now_s(),
        ..Situation::default()
    };
    s.bulletins = bulletin_figures(src.book, scope, w.to);
    let overdue_per_place = overdue_by_place(src.book, scope, area, w.to);
    let (coverage, covered_per_place, registered_per_place) = coverage(src, scope, area);
    s.coverage = coverage;

    // Every place of the scope, with alerts or without.
    let mut all: BTreeMap<String, Place> = BTreeMap::new();
    match area {
        Area::Province => {
            for code in codes::PROVINCES.iter().take(31) {
                all.insert((*code).to_owned(), Place::default());
            }
        }
        Area::Enterprise => {
            for e in src
                .registry
                .iter()
                .filter(|e| scope.sees(&e.province, &e.enterprise_id))
            {
                all.insert(e.enterprise_id.clone(), Place::default());
            }
        }
        Area::None => {}
    }
    for r in places {
        let p = all.entry(r.key).or_default();
        p.alerts = r.n;
        p.critical = r.n_critical;
        p.weighted = r.n_weighted;
    }
    for (key, n) in &open_per_place {
        if area != Area::None {
            all.entry(key.clone()).or_default().incidents = *n;
        }
    }
    for (key, n) in &overdue_per_place {
        if area != Area::None {
            all.entry(key.clone()).or_default().overdue = *n;
        }
    }
    for (key, mut p) in all {
        p.registered = registered_per_place.get(&key).copied().unwrap_or_default();
        p.covered = covered_per_place.get(&key).copied().unwrap_or_default();
        p.risk = p.weighted + INCIDENT_RISK * p.incidents + OVERDUE_RISK * p.overdue;
        match area {
            Area::Province => p.name = key.clone(),
            _ => describe(src.registry, &key, &mut p),
        }
        p.key = key;
        s.places.push(p);
    }
    s.places
        .sort_by(|a, b| b.risk.cmp(&a.risk).then_with(|| a.key.cmp(&b.key)));

    s.top_enterprises = match area {
        Area::Province => top
            .into_iter()
            .filter(|r| r.n_weighted > 0)
            .map(|r| {
                let mut p = Place {
                    alerts: r.n,
                    critical: r.n_critical,
                    weighted: r.n_weighted,
                    risk: r.n_weighted,
                    ..Place::default()
                };
                describe(src.registry, &r.key, &mut p);
                p.key = r.key;
                p
            })
            .collect(),
        _ => s
            .places
            .iter()
            .filter(|p| p.risk > 0)
            .take(TOP)
            .cloned()
            .collect(),
    };
    if area == Area::Enterprise {
        s.cities = by_city(&s.places);
    }
    Ok(s)
}

/// An enterprise's name, industry, grade and prefecture from the registry.
fn describe(registry: &Registry, id: &str, p: &mut Place) {
    if let Some(e) = registry.get(id) {
        p.name = e.name.clone();
        p.industry = e.industry.clone();
        p.grade = e.grade;
    }
    p.city = city_of(id);
}

/// A province's enterprises summed by prefecture.
fn by_city(enterprises: &[Place]) -> Vec<Place> {
    let mut cities: BTreeMap<String, Place> = BTreeMap::new();
    for e in enterprises {
        let c = cities.entry(e.city.clone()).or_default();
        c.alerts += e.alerts;
        c.critical += e.critical;
        c.weighted += e.weighted;
        c.incidents += e.incidents;
        c.overdue += e.overdue;
        c.risk += e.risk;
        c.registered += 1;
        c.covered += u64::from(e.covered > 0);
    }
    let mut out: Vec<Place> = cities
        .into_iter()
        .map(|(key, mut p)| {
            p.key = key;
            p
        })
        .collect();
    out.sort_by(|a, b| b.risk.cmp(&a.risk).then_with(|| a.key.cmp(&b.key)));
    out
}

/// Each bulletin reaching the scope: how many of its enterprises there have received,
/// acknowledged and disposed of it, and which are past the deadline without disposing.
pub fn bulletin_figures(book: &Book, scope: &Scope, now: u64) -> Vec<BulletinFigures> {
    let mut out = Vec::new();
    for (b, targets) in book.all(|t| scope.sees(&t.province, &t.enterprise_id)) {
        if b.drill != 0 {
            continue;
        }
        let id = &b.bulletin_id;
        let mut f = BulletinFigures {
            bulletin_id: id.clone(),
            title: b.title.clone(),
            severity: b.severity,
            issued: b.issued,
            deadline: b.deadline,
            targets: targets.len() as u64,
            ..BulletinFigures::default()
        };
        for t in &targets {
            let e = &t.enterprise_id;
            f.received += u64::from(book.has(id, b.revision, e, "received"));
            f.acknowledged += u64::from(book.has(id, b.revision, e, "acknowledged"));
            let disposed = book.has(id, b.revision, e, "disposed");
            f.disposed += u64::from(disposed);
            if !disposed && b.revoked == 0 && u64::from(b.deadline) < now {
                f.overdue += 1;
                if f.overdue_enterprises.len() < TOP {
                    f.overdue_enterprises.push(e.clone());
                }
            }
        }
        out.push(f);
    }
    out.sort_by(|a, b| {
        b.issued
            .cmp(&a.issued)
            .then_with(|| a.bulletin_id.cmp(&b.bulletin_id))
    });
    out
}

/// Enterprises overdue on a bulletin, counted per place.
fn overdue_by_place(book: &Book, scope: &Scope, area: Area, now: u64) -> HashMap<String, u64> {
    let mut out: HashMap<String, u64> = HashMap::new();
    for (b, targets) in book.all(|t| scope.sees(&t.province, &t.enterprise_id)) {
        if b.revoked != 0 || b.drill != 0 || u64::from(b.deadline) >= now {
            continue;
        }
        for t in targets {
            if !book.has(&b.bulletin_id, b.revision, &t.enterprise_id, "disposed") {
                let key = match area {
                    Area::Province => t.province,
                    _ => t.enterprise_id,
                };
                *out.entry(key).or_default() += 1;
            }
        }
    }
    out
}

/// The fleet's coverage of the registry: overall, and per place enterprises covered and
/// registered.
fn coverage(
    src: &Sources<'_>,
    scope: &Scope,
    area: Area,
) -> (Coverage, HashMap<String, u64>, HashMap<String, u64>) {
    let mut c = Coverage::default();
    let mut reporting: HashMap<&str, &str> = HashMap::new();
    let fleet = src.fleet.list(|p, e| scope.sees(p, e));
    for s in &fleet {
        match s.status {
            Status::Online => c.online += 1,
            Status::Offline => c.offline += 1,
            Status::Replayed => c.replayed += 1,
            Status::NeverSeen => c.never_seen += 1,
        }
        if matches!(s.status, Status::Online | Status::Replayed) {
            reporting.insert(&s.enterprise_id, &s.province);
        }
    }
    let place = |province: &str, enterprise: &str| match area {
        Area::Province => province.to_owned(),
        _ => enterprise.to_owned(),
    };
    let mut registered: HashMap<String, u64> = HashMap::new();
    let mut covered: HashMap<String, u64> = HashMap::new();
    for e in src
        .registry
        .iter()
        .filter(|e| scope.sees(&e.province, &e.enterprise_id))
    {
        c.registered += 1;
        *registered
            .entry(place(&e.province, &e.enterprise_id))
            .or_default() += 1;
        if reporting.contains_key(e.enterprise_id.as_str()) {
            c.covered += 1;
            *covered
                .entry(place(&e.province, &e.enterprise_id))
                .or_default() += 1;
        }
    }
    (c, covered, registered)
}

/// Situations recently gathered, by scope and days: many people look at the same page, and
/// the roll-ups under it change once a reporting interval, not once a view. A situation is
/// served as is while [`FRESH`]; after that, still served while [`STALE`] but refreshed behind
/// the reader by exactly one of them ([`Cached::Stale`]); older, gathered again in line.
#[derive(Default)]
pub struct Cache {
    entries: std::sync::Mutex<HashMap<(Scope, u64), Entry>>,
}

struct Entry {
    at: std::time::Instant,
    situation: std::sync::Arc<Situation>,
    refreshing: bool,
}

/// How long a gathered situation is served without a refresh.
pub const FRESH: std::time::Duration = std::time::Duration::from_secs(60);
/// How long a stale one is still served while it is refreshed.
pub const STALE: std::time::Duration = std::time::Duration::from_secs(600);
/// Scopes × windows kept; the oldest goes first.
const CACHED: usize = 512;

pub enum Cached {
    Fresh(std::sync::Arc<Situation>),
    /// Serve it, and refresh it: this caller is the one to.
    Stale(std::sync::Arc<Situation>),
    Missing,
}

impl Cache {
    pub fn get(&self, scope: &Scope, days: u64, now: std::time::Instant) -> Cached {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let Some(e) = entries.get_mut(&(scope.clone(), days)) else {
            return Cached::Missing;
        };
        let age = now.saturating_duration_since(e.at);
        if age < FRESH || (e.refreshing && age < STALE) {
            Cached::Fresh(e.situation.clone())
        } else if age < STALE {
            e.refreshing = true;
            Cached::Stale(e.situation.clone())
        } else {
            Cached::Missing
        }
    }

    pub fn put(
        &self,
        scope: &Scope,
        days: u64,
        situation: std::sync::Arc<Situation>,
        at: std::time::Instant,
    ) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHED && !entries.contains_key(&(scope.clone(), days)) {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.at)
                .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            (scope.clone(), days),
            Entry {
                at,
                situation,
                refreshing: false,
            },
        );
    }

    /// A refresh failed: the next reader of the stale entry tries again.
    pub fn failed(&self, scope: &Scope, days: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = entries.get_mut(&(scope.clone(), days)) {
            e.refreshing = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_on_a_bucket() {
        let w = Window::last(1, 1_700_000_100);
        assert_eq!(w.step, 3_600);
        assert_eq!(w.to % 3_600, 0);
        assert!(w.to >= 1_700_000_100);
        assert_eq!(w.buckets().len(), 24);
        assert_eq!(Window::last(7, 1_700_000_100).buckets().len(), 28);
        let month = Window::last(30, 1_700_000_100);
        assert_eq!(month.buckets().len(), 30);
        // 2023-11-14 22:15 UTC is 06:15 on the 15th in Beijing: the last day ends at
        // midnight of the 16th there, 16:00 UTC on the 15th.
        assert_eq!(month.to, 1_700_064_000);
        assert_eq!((month.from as i64 + CST) % 86_400, 0);
    }

    #[test]
    fn trends_keep_the_largest_and_sum_the_rest() {
        let w = Window {
            from: 0,
            to: 7_200,
            step: 3_600,
        };
        let rows = (0..8u32)
            .map(|i| TrendRow {
                t: (i % 2) * 3_600,
                key: format!("k{i}"),
                n: u64::from(i) + 1,
            })
            .chain(std::iter::once(TrendRow {
                t: 99,
                key: "k0".into(),
                n: 1_000,
            }))
            .collect();
        let t = trend_of("technique", w, rows);
        assert_eq!(t.series.len(), SERIES);
        assert_eq!(t.series[0].key, "k7");
        assert_eq!(t.series[0].points, vec![0, 8]);
        let other = t.series.last().expect("other");
        assert_eq!(other.key, "other");
        // k0..k2 (1 + 2 + 3): the bucket at 99 is not one of the window's and is dropped.
        assert_eq!(other.total, 6);
        let all: u64 = t.series.iter().map(|s| s.total).sum();
        assert_eq!(all, (1..=8).sum::<u64>());
    }

    #[test]
    fn prefectures_come_from_the_credit_code() {
        assert_eq!(city_of("91330106MA27XL0E2K"), "330100");
        assert_eq!(city_of("9144030071526726XG"), "440300");
        assert_eq!(city_of("x"), "");
        assert_eq!(city_of("91ABCDEF"), "");
    }

    #[test]
    fn scopes_place_by_province_then_enterprise() {
        let nation = Scope::default();
        assert_eq!(nation.area(), Area::Province);
        let zj = Scope {
            province: "330000".into(),
            enterprise: String::new(),
        };
        assert_eq!(zj.area(), Area::Enterprise);
        assert!(zj.sees("330000", "x") && !zj.sees("440000", "x"));
        let one = Scope {
            province: "330000".into(),
            enterprise: "e".into(),
        };
        assert_eq!(one.area(), Area::None);
        let mut binds = Vec::new();
        assert_eq!(
            one.sql(&mut binds),
            " AND province = ? AND enterprise_id = ?"
        );
        assert_eq!(binds, ["330000", "e"]);
    }

    #[test]
    fn the_cache_serves_fresh_refreshes_stale_once_and_forgets_old() {
        let cache = Cache::default();
        let scope = Scope::default();
        let t0 = std::time::Instant::now();
        assert!(matches!(cache.get(&scope, 1, t0), Cached::Missing));
        cache.put(&scope, 1, std::sync::Arc::new(Situation::default()), t0);
        assert!(matches!(
            cache.get(&scope, 1, t0 + FRESH / 2),
            Cached::Fresh(_)
        ));
        assert!(
            matches!(cache.get(&scope, 7, t0), Cached::Missing),
            "by days"
        );
        let stale = t0 + FRESH + std::time::Duration::from_secs(1);
        assert!(matches!(cache.get(&scope, 1, stale), Cached::Stale(_)));
        assert!(
            matches!(cache.get(&scope, 1, stale), Cached::Fresh(_)),
            "one reader refreshes; the others are served"
        );
        cache.failed(&scope, 1);
        assert!(
            matches!(cache.get(&scope, 1, stale), Cached::Stale(_)),
            "tried again"
        );
        assert!(matches!(cache.get(&scope, 1, t0 + STALE), Cached::Missing));
    }
}
