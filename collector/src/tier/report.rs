//! Reports: what a collector sends to the tier above, and how the tier above takes them.
//!
//! Two kinds of line travel up the same `POST /v1/ingest` a sensor uses:
//!
//! - a sensor's own event, unchanged but for an `origin` block naming the sensor, enterprise,
//!   province, industry and grade it was stored under below. The serious alerts of a
//!   province go up this way, and everything an enterprise collector relays. They are stored and
//!   de-duplicated exactly as if the sensor had sent them.
//! - a report row (`rollup`, `asset_count`, `incident`, `bulletin_progress`, `enterprise`) in
//!   `row`, for a table where the newest version of a key replaces the older.
//!
//! The tier above checks every line against the sending collector's binding: a provincial
//! collector speaks for its province only, an enterprise collector for its enterprise only.
//!
//! The report rows themselves (roll-ups, asset counts, incidents, progress, enterprises) are
//! defined here, below the code that makes them ([`super::incident`], [`super::bulletin`],
//! [`super::upstream`]), so this module needs none of it.

use std::borrow::Cow;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::registry::{self, Enterprise};
use crate::config::{CollectorEntry, SensorEntry};
use crate::event::{self, Envelope, LineError, TypeName};

/// Where an incident is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Open,
    Acknowledged,
    Disposed,
    Closed,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Acknowledged => "acknowledged",
            State::Disposed => "disposed",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        Some(match s {
            "open" => State::Open,
            "acknowledged" => State::Acknowledged,
            "disposed" => State::Disposed,
            "closed" => State::Closed,
            _ => return None,
        })
    }
}

/// An incident as stored at every tier, one row per version.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Incident {
    pub incident_id: String,
    pub province: String,
    /// Empty for an incident of a province (the same technique at several enterprises).
    pub enterprise_id: String,
    pub industry: String,
    pub grade: u8,
    pub sensor_id: String,
    pub criterion: String,
    pub title: String,
    /// 0-100, from severity, grade and industry ([`registry::priority`]).
    pub priority: u8,
    pub severity: u8,
    pub technique: String,
    pub sid: u32,
    pub state: String,
    pub opened: u32,
    pub updated: u32,
    pub alerts: u64,
    /// JSON: `{"alerts": [EVE…], "assets": […], "flows": […], "enterprises": […]}`.
    pub evidence: String,
    /// JSON: `[{"state", "at", "by", "note"}…]`.
    pub history: String,
    /// The tier that opened it and moves it on.
    pub origin: String,
    /// Microseconds of this version; the newest wins everywhere.
    pub version: u64,
    /// Its grade as reported: 1 (I 特别重大) to 4 (IV 一般); 0 before a first report.
    #[serde(default)]
    pub level: u8,
    /// Its type as reported, one of the national classification's (`incident::filing`).
    #[serde(default)]
    pub category: String,
    /// The last report stage received: "", "first", "followup" or "final".
    #[serde(default)]
    pub stage: String,
    /// When that report came, UNIX seconds.
    #[serde(default)]
    pub reported: u32,
    /// When the next report is due, UNIX seconds; 0: none is.
    #[serde(default)]
    pub due: u32,
    /// The deadline last flagged overdue (and escalated), UNIX seconds.
    #[serde(default)]
    pub flagged: u32,
    /// 1: an exercise (演练), handled like any incident and left out of every figure.
    #[serde(default)]
    pub drill: u8,
}

/// One report an incident received (首报, 续报 or 终报), kept as submitted at every tier.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct IncidentReport {
    pub incident_id: String,
    pub province: String,
    pub enterprise_id: String,
    /// The tier the incident belongs to, which took the report.
    pub origin: String,
    /// 1 for the first report, then one more for each.
    pub seq: u32,
    /// "first", "followup" or "final".
    pub stage: String,
    pub level: u8,
    pub category: String,
    pub title: String,
    /// JSON: the affected assets, as the inventory knew them when the report came.
    pub assets: String,
    pub impact: String,
    pub measures: String,
    pub cause: String,
    pub disposal: String,
    pub lessons: String,
    /// The account that submitted it.
    pub author: String,
    pub submitted: u32,
    pub version: u64,
}

/// A 5-minute roll-up row, as reported and as stored in `tier_rollup_5m`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct RollupRow {
    pub bucket: u32,
    pub province: String,
    pub enterprise_id: String,
    pub industry: String,
    pub grade: u8,
    pub severity: u8,
    pub technique: String,
    pub app_proto: String,
    pub kind: String,
    pub alerts: u64,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub collector_id: String,
}

/// An enterprise's asset count, as reported and stored in `asset_counts`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct AssetCount {
    pub province: String,
    pub enterprise_id: String,
    pub assets: u64,
    /// Hosts that answer as a PLC, RTU or outstation.
    pub controllers: u64,
    pub ts: u32,
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub collector_id: String,
}

/// A step of an enterprise's handling of one revision of a bulletin, as stored in
/// `bulletin_steps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Progress {
    pub bulletin_id: String,
    pub province: String,
    pub enterprise_id: String,
    /// `received`, `acknowledged` or `disposed`.
    pub state: String,
    pub at: u32,
    pub actor: String,
    pub note: String,
    /// `u64::MAX` minus the time: the first report of a step is the one kept.
    pub version: u64,
    /// The bulletin's revision the step was taken on.
    #[serde(default = "first_revision")]
    pub revision: u32,
}

fn first_revision() -> u32 {
    1
}

/// One entry of an incident's coordination, as stored in `incident_coordination`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Entry {
    pub incident_id: String,
    /// The incident's province and enterprise (empty: an incident of the province).
    pub province: String,
    pub enterprise_id: String,
    /// `{tier}-{kind}-{µs}`: unique across tiers.
    pub entry_id: String,
    /// `comment`, `task` or `response`.
    pub kind: String,
    /// The collector it was written at.
    pub tier: String,
    pub author: String,
    /// UNIX seconds it was written.
    pub at: u32,
    /// The comment, the task's description or the response's note.
    pub text: String,
    /// A response's level, 1 (I) to 4 (IV); 0 stands the response down.
    pub level: u8,
    /// Whom a task is for: a province (enterprise empty) or an enterprise of it.
    pub assignee_province: String,
    pub assignee_enterprise: String,
    /// A task's deadline, UNIX seconds.
    pub deadline: u32,
    /// A task's state: `assigned`, `accepted`, `done` or `declined`.
    pub state: String,
    /// What the assignee reported on finishing or declining.
    pub result: String,
    /// When and by whom the task last moved on (0 and empty: never).
    pub updated: u32,
    pub updated_by: String,
    /// Arrival order at this tier.
    pub seq: u64,
    pub version: u64,
}

/// The kinds of entry.
pub const KINDS: [&str; 3] = ["comment", "task", "response"];
/// The states of a task, in order.
pub const TASK_STATES: [&str; 4] = ["assigned", "accepted", "done", "declined"];
/// The longest text of an entry or a task's result.
pub const MAX_TEXT: usize = 8000;

/// Whether a task may move from `from` to `to`: forward only, and never out of `done` or
/// `declined`.
pub fn task_move(from: &str, to: &str) -> Result<(), String> {
    let rank = |s: &str| TASK_STATES.iter().position(|x| *x == s);
    let (Some(a), Some(b)) = (rank(from), rank(to)) else {
        return Err(format!("state: {to:?} is not accepted, done or declined"));
    };
    if a >= 2 {
        return Err(format!("state: the task is {from} already"));
    }
    if b <= a {
        return Err(format!("state: a task {from} does not go back to {to}"));
    }
    Ok(())
}

/// Check text fields of an entry made here or received: bounded, and the kind's own fields
/// well formed.
pub fn check(e: &Entry) -> Result<(), String> {
    if !KINDS.contains(&e.kind.as_str()) {
        return Err(format!(
            "kind: {:?} is not comment, task or response",
            e.kind
        ));
    }
    if e.text.chars().count() > MAX_TEXT || e.result.chars().count() > MAX_TEXT {
        return Err(format!("text: at most {MAX_TEXT} characters"));
    }
    if [
        &e.entry_id,
        &e.incident_id,
        &e.tier,
        &e.author,
        &e.updated_by,
    ]
    .iter()
    .any(|s| s.len() > 200 || s.chars().any(char::is_control))
    {
        return Err("ids and names: at most 200 characters, no control characters".into());
    }
    match e.kind.as_str() {
        "comment" if e.text.trim().is_empty() => Err("text: a comment says something".into()),
        "response" if e.level > 4 => Err(format!("level: {} is not 0 to 4", e.level)),
        "task" => {
            if e.text.trim().is_empty() {
                return Err("text: say what is to be done".into());
            }
            if e.assignee_province.is_empty() {
                return Err("assignee.province: whom is the task for?".into());
            }
            if !TASK_STATES.contains(&e.state.as_str()) {
                return Err(format!("state: {:?} is not a task state", e.state));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// One stored record that touched an indicated address.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Hit {
    pub bulletin_id: String,
    pub revision: u32,
    pub province: String,
    pub enterprise_id: String,
    pub sensor_id: String,
    /// `flow`, `alert` or `asset`.
    pub kind: String,
    /// The record's event id.
    pub event_id: String,
    /// When the record happened, UNIX seconds.
    pub ts: u32,
    pub src_ip: String,
    pub src_port: u16,
    pub dest_ip: String,
    pub dest_port: u16,
    pub proto: String,
    /// The indicator it matched: an address or a network.
    pub indicator: String,
    /// When it was found.
    pub found: u32,
    pub version: u64,
}

/// A hazard (安全隐患) of the register, one row per version, as stored in `hazards` at every
/// tier: a device under an advisory, or an inspector's finding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Hazard {
    pub hazard_id: String,
    pub province: String,
    pub enterprise_id: String,
    pub industry: String,
    pub grade: u8,
    /// `advisory` (matched from the inventory) or `inspection` (an inspector's record).
    pub kind: String,
    /// The device: address, the sensor that saw it, and what it said it is.
    pub ip: String,
    pub sensor_id: String,
    pub vendor: String,
    pub product: String,
    pub model: String,
    pub firmware: String,
    pub advisory_id: String,
    pub title: String,
    pub product_name: String,
    /// `exact`, `model`, `name` or `family`; empty for an inspection finding.
    pub confidence: String,
    /// Which identity field matched which advisory entry.
    pub why: String,
    pub cves: Vec<String>,
    pub cvss: f64,
    pub vector: String,
    pub exploited: u8,
    pub remediation: String,
    pub fixed_in: String,
    /// `found`, `assigned`, `remediated` or `verified`.
    pub state: String,
    pub assignee: String,
    /// UNIX seconds.
    pub deadline: u32,
    /// The last step's note; an inspection finding's evidence.
    pub note: String,
    pub evidence: String,
    pub found: u32,
    pub updated: u32,
    /// Who took the last step (`auto` for the matcher).
    pub actor: String,
    /// The tier that keeps the hazard: only it moves it on.
    pub origin: String,
    pub version: u64,
}

/// The steps of a hazard, in order.
pub const HAZARD_STATES: [&str; 4] = ["found", "assigned", "remediated", "verified"];

/// A registry row as stored in `enterprises`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct EnterpriseRow {
    pub enterprise_id: String,
    pub name: String,
    pub province: String,
    pub industry: String,
    pub grade: u8,
    pub version: u64,
    pub source: String,
    /// 1: taken out of the registry.
    #[serde(default)]
    pub deleted: u8,
}

impl EnterpriseRow {
    pub fn new(e: &Enterprise, version: u64, source: &str) -> EnterpriseRow {
        EnterpriseRow {
            enterprise_id: e.enterprise_id.clone(),
            name: e.name.clone(),
            province: e.province.clone(),
            industry: e.industry.clone(),
            grade: e.grade,
            version,
            source: source.to_owned(),
            deleted: 0,
        }
    }

    pub fn enterprise(&self) -> Enterprise {
        Enterprise {
            enterprise_id: self.enterprise_id.clone(),
            name: self.name.clone(),
            province: self.province.clone(),
            industry: self.industry.clone(),
            grade: self.grade,
        }
    }
}

/// What a sensor's latest heartbeat said.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Heartbeat {
    pub version: String,
    pub baseline: String,
    pub uptime: u64,
    pub packets: u64,
    pub kernel_drops: u64,
    pub rules_loaded: u64,
    pub rules_failed: u64,
    pub spool_segments: u64,
    pub send_lag_seconds: f64,
    /// Whether it comes from a live capture (a replay's never goes missing).
    pub live: bool,
}

/// Whether a sensor is heard from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Configured, no heartbeat yet.
    NeverSeen,
    Online,
    /// A replay's stats came, and nothing live since.
    Replayed,
    Offline,
}

/// One sensor as `/v1/sensors` shows it, and as a tier reports it to the tier above.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SensorState {
    pub sensor_id: String,
    pub enterprise_id: String,
    pub province: String,
    pub industry: String,
    pub grade: u8,
    pub status: Status,
    /// UNIX seconds of the last heartbeat received; 0: never.
    pub last_seen: u64,
    #[serde(flatten)]
    pub heartbeat: Heartbeat,
    /// The open `sensor_offline` incident, if any.
    #[serde(default)]
    pub incident_id: String,
}

/// A report row, checked.
#[derive(Debug)]
pub enum Report {
    Rollup(RollupRow),
    AssetCount(AssetCount),
    /// Boxed, like the report: the largest rows.
    Incident(Box<Incident>),
    IncidentReport(Box<IncidentReport>),
    Progress(Progress),
    Enterprise(EnterpriseRow),
    Sensor(SensorState),
    /// A situation report issued below.
    Sitrep(super::sitrep::Row),
    /// An entry of an incident's coordination, written or moved on below.
    Coordination(Box<Entry>),
    /// What a bulletin's retro-hunt found below.
    Hit(Box<Hit>),
    /// A version of a hazard of the register below.
    Hazard(Box<Hazard>),
}

/// The report types and their `event_type`.
pub const REPORT_TYPES: [&str; 11] = [
    "rollup",
    "asset_count",
    "incident",
    "incident_report",
    "bulletin_progress",
    "enterprise",
    "sensor",
    "sitrep",
    "coordination",
    "bulletin_hit",
    "hazard",
];

/// A line for the tier above: `{"event_type", "event_id", "row"}`.
pub fn line<T: Serialize>(event_type: &str, event_id: &str, row: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec(&serde_json::json!({
        "event_type": event_type,
        "event_id": event_id,
        "row": row,
    }))
    .expect("rows serialize");
    v.push(b'\n');
    v
}

/// A situation report as a line for the tier above: the page and figures, not the PDF (the
/// tier above renders its own from the same page).
pub fn sitrep_line(r: &super::sitrep::Row) -> Vec<u8> {
    let row = super::sitrep::Row {
        pdf: String::new(),
        ..r.clone()
    };
    line("sitrep", &format!("r-{}", r.report_id), &row)
}

/// An incident's version as a line for the tier above.
pub fn incident_line(i: &Incident) -> Vec<u8> {
    line("incident", &format!("i-{}-{}", i.incident_id, i.version), i)
}

/// An incident's report as a line for the tier above.
pub fn incident_report_line(r: &IncidentReport) -> Vec<u8> {
    line(
        "incident_report",
        &format!("ir-{}-{}", r.incident_id, r.seq),
        r,
    )
}

/// A retro-hunt hit as a line for the tier above.
pub fn hit_line(h: &Hit) -> Vec<u8> {
    line(
        "bulletin_hit",
        &format!("h-{}-{}", h.bulletin_id, h.event_id),
        h,
    )
}

/// A hazard's version as a line for the tier above.
pub fn hazard_line(h: &Hazard) -> Vec<u8> {
    line("hazard", &format!("hz-{}-{}", h.hazard_id, h.version), h)
}

/// An entry of an incident's coordination as a line for the tier above.
pub fn coordination_line(e: &Entry) -> Vec<u8> {
    line(
        "coordination",
        &format!("c-{}-{}", e.entry_id, e.version),
        e,
    )
}

/// A step of a bulletin's handling as a line for the tier above.
pub fn progress_line(p: &Progress) -> Vec<u8> {
    line(
        "bulletin_progress",
        &format!(
            "p-{}-{}-{}-{}",
            p.bulletin_id, p.revision, p.enterprise_id, p.state
        ),
        p,
    )
}

/// A sensor's event line with its `origin` (the binding it was stored under here), for the
/// tier above. The line was read once already, into `env`: it is not read again. An `origin`
/// it has (relayed from an enterprise tier, or one a sensor made up) is replaced where it
/// stands; else one is added as the last key.
pub fn forwarded(line: &str, env: &Envelope<'_>, who: &SensorEntry) -> Vec<u8> {
    let origin = Origin {
        sensor_id: Cow::Borrowed(&who.id),
        enterprise_id: Cow::Borrowed(&who.enterprise_id),
        province: Cow::Borrowed(&who.province),
        industry: Cow::Borrowed(&who.industry),
        grade: who.grade,
    };
    let origin = serde_json::to_vec(&origin).expect("strings and a number serialize");
    let line = line.trim_end();
    let mut out = Vec::with_capacity(line.len() + origin.len() + 16);
    match env.origin.and_then(|o| span(line, o.get())) {
        Some(at) => {
            out.extend_from_slice(&line.as_bytes()[..at.start]);
            out.extend_from_slice(&origin);
            out.extend_from_slice(&line.as_bytes()[at.end..]);
        }
        None => {
            // An object, read whole: it ends with its `}`.
            let body = line.strip_suffix('}').unwrap_or(line);
            out.extend_from_slice(body.as_bytes());
            if !body.trim_end().ends_with('{') {
                out.push(b',');
            }
            out.extend_from_slice(b"\"origin\":");
            out.extend_from_slice(&origin);
            out.push(b'}');
        }
    }
    out.push(b'\n');
    out
}

/// Where `part`, a slice of `line`, lies in it.
fn span(line: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(line.as_ptr() as usize)?;
    let at = start..start + part.len();
    line.get(at.clone())
        .is_some_and(|s| std::ptr::eq(s, part))
        .then_some(at)
}

/// What a collector's line is.
pub enum Line {
    /// A sensor's event, to be stored as its sensor's, bound as `origin` says.
    Event(SensorEntry),
    Report(Report),
}

fn invalid(m: impl Into<String>) -> LineError {
    LineError::Invalid(m.into())
}

/// Check a line posted by collector `by`, read once into `env`.
pub fn parse(env: &Envelope<'_>, by: &CollectorEntry) -> Result<Line, LineError> {
    let event_type = env
        .event_type
        .as_ref()
        .ok_or_else(|| invalid("event_type: missing or not a string"))?;
    let report_type = match event_type {
        TypeName::Other(t) if REPORT_TYPES.contains(&t.as_ref()) => t.as_ref(),
        _ => {
            let origin = env
                .origin
                .ok_or_else(|| invalid("origin: a collector's event must say whose it is"))?;
            let origin: Origin<'_> = read("origin", origin)?;
            within(by, &origin.province, &origin.enterprise_id)?;
            registry::check_grade(origin.grade)
                .map_err(|m| invalid(format!("origin.grade: {m}")))?;
            return Ok(Line::Event(SensorEntry {
                id: origin.sensor_id.into_owned(),
                enterprise_id: origin.enterprise_id.into_owned(),
                province: origin.province.into_owned(),
                industry: origin.industry.into_owned(),
                grade: origin.grade,
                token_sha256: String::new(),
            }));
        }
    };
    let row = env.row.ok_or_else(|| invalid("row: missing"))?;
    let mut report = match report_type {
        "rollup" => Report::Rollup(read("row", row)?),
        "asset_count" => Report::AssetCount(read("row", row)?),
        "incident" => Report::Incident(read("row", row)?),
        "incident_report" => Report::IncidentReport(read("row", row)?),
        "bulletin_progress" => Report::Progress(read("row", row)?),
        "sensor" => Report::Sensor(read("row", row)?),
        "sitrep" => Report::Sitrep(read("row", row)?),
        "coordination" => Report::Coordination(read("row", row)?),
        "bulletin_hit" => Report::Hit(read("row", row)?),
        "hazard" => Report::Hazard(read("row", row)?),
        _ => Report::Enterprise(read("row", row)?),
    };
    match &mut report {
        Report::Rollup(r) => {
            within(by, &r.province, &r.enterprise_id)?;
            r.collector_id = by.id.clone();
        }
        Report::AssetCount(r) => {
            within(by, &r.province, &r.enterprise_id)?;
            r.collector_id = by.id.clone();
        }
        Report::Sensor(s) => within(by, &s.province, &s.enterprise_id)?,
        Report::Sitrep(r) => {
            within(
                by,
                &r.province,
                if r.enterprise_id.is_empty() {
                    &by.enterprise_id
                } else {
                    &r.enterprise_id
                },
            )?;
            if r.origin != by.id || !r.report_id.starts_with(&format!("{}-", by.id)) {
                return Err(LineError::Forbidden(format!(
                    "report {:?} is not collector {}'s",
                    r.report_id, by.id
                )));
            }
            if r.html.len() > 4 << 20 {
                return Err(invalid("row.html: longer than 4 MiB"));
            }
            r.pdf.clear();
        }
        Report::Incident(r) => {
            // An incident of a province has no enterprise: only a provincial collector's.
            if r.enterprise_id.is_empty() && !by.enterprise_id.is_empty() {
                return Err(LineError::Forbidden(format!(
                    "an enterprise collector ({}) reports no incident of a province",
                    by.id
                )));
            }
            within(
                by,
                &r.province,
                if r.enterprise_id.is_empty() {
                    &by.enterprise_id
                } else {
                    &r.enterprise_id
                },
            )?;
            if State::parse(&r.state).is_none() {
                return Err(invalid(format!(
                    "row.state: {:?} is not an incident state",
                    r.state
                )));
            }
        }
        Report::IncidentReport(r) => {
            within(by, &r.province, &r.enterprise_id)?;
            if !["first", "followup", "final"].contains(&r.stage.as_str()) {
                return Err(invalid(format!(
                    "row.stage: {:?} is not first, followup or final",
                    r.stage
                )));
            }
            let long = [
                &r.assets,
                &r.impact,
                &r.measures,
                &r.cause,
                &r.disposal,
                &r.lessons,
            ]
            .iter()
            .map(|f| f.len())
            .sum::<usize>();
            if long > 256 << 10 {
                return Err(invalid("row: a report longer than 256 KiB"));
            }
        }
        Report::Coordination(e) => {
            // Of an incident in the sender's scope, or a task assigned inside it.
            let incident = within(by, &e.province, &e.enterprise_id);
            if incident.is_err() && e.kind == "task" {
                within(by, &e.assignee_province, &e.assignee_enterprise)?;
            } else {
                incident?;
            }
            check(e).map_err(|m| invalid(format!("row.{m}")))?;
        }
        Report::Hit(h) => within(by, &h.province, &h.enterprise_id)?,
        Report::Hazard(h) => {
            within(by, &h.province, &h.enterprise_id)?;
            if !HAZARD_STATES.contains(&h.state.as_str()) {
                return Err(invalid(format!(
                    "row.state: {:?} is not found, assigned, remediated or verified",
                    h.state
                )));
            }
            if !["advisory", "inspection"].contains(&h.kind.as_str()) {
                return Err(invalid(format!(
                    "row.kind: {:?} is not advisory or inspection",
                    h.kind
                )));
            }
            let long = [&h.why, &h.remediation, &h.note, &h.evidence, &h.title]
                .iter()
                .map(|f| f.len())
                .sum::<usize>();
            if long > 64 << 10 || h.cves.len() > 1000 {
                return Err(invalid("row: a hazard longer than 64 KiB"));
            }
            // It is kept below: the origin is the sender, whatever the row says.
            h.origin = by.id.clone();
        }
        Report::Progress(r) => {
            within(by, &r.province, &r.enterprise_id)?;
            if !["received", "acknowledged", "disposed"].contains(&r.state.as_str()) {
                return Err(invalid(format!(
                    "row.state: {:?} is not received, acknowledged or disposed",
                    r.state
                )));
            }
        }
        Report::Enterprise(r) => {
            within(by, &r.province, &r.enterprise_id)?;
            r.enterprise()
                .check()
                .map_err(|m| invalid(format!("row.{m}")))?;
            r.source = by.id.clone();
        }
    }
    Ok(Line::Report(report))
}

/// A block of a line, kept unread when the line was read (its type is the tier's to know),
/// read now from its slice of the line.
fn read<'a, T: Deserialize<'a>>(key: &str, raw: &'a RawValue) -> Result<T, LineError> {
    serde_json::from_str(raw.get()).map_err(|e| invalid(format!("{key}: {}", event::message(&e))))
}

/// Whose a relayed event is: the `origin` block.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Origin<'a> {
    #[serde(borrow)]
    sensor_id: Cow<'a, str>,
    #[serde(borrow)]
    enterprise_id: Cow<'a, str>,
    #[serde(borrow)]
    province: Cow<'a, str>,
    #[serde(borrow)]
    industry: Cow<'a, str>,
    grade: u8,
}

/// A collector speaks for its province, and an enterprise collector for its enterprise.
fn within(by: &CollectorEntry, province: &str, enterprise: &str) -> Result<(), LineError> {
    if province != by.province {
        return Err(LineError::Forbidden(format!(
            "province {province:?} is not collector {}'s {:?}",
            by.id, by.province
        )));
    }
    if !by.enterprise_id.is_empty() && enterprise != by.enterprise_id {
        return Err(LineError::Forbidden(format!(
            "enterprise {enterprise:?} is not collector {}'s {:?}",
            by.id, by.enterprise_id
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> SensorEntry {
        SensorEntry::example()
    }

    fn origin_of(line: &[u8]) -> serde_json::Value {
        let text = std::str::from_utf8(line).unwrap();
        assert!(text.ends_with("}\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        v["origin"].clone()
    }

    #[test]
    fn forwarded_lines_carry_the_binding() {
        let want = serde_json::json!({"sensor_id": "s1", "enterprise_id": "E1",
            "province": "330000", "industry": "water", "grade": 1});
        let line = r#"{"event_type":"alert","event_id":"1-1","sensor":{"id":"s1"}} "#;
        let env = Envelope::parse(line).unwrap();
        let out = forwarded(line, &env, &who());
        assert_eq!(origin_of(&out), want);
        assert!(out.starts_with(
            br#"{"event_type":"alert","event_id":"1-1","sensor":{"id":"s1"},"origin":{"#
        ));
        // An origin already there (relayed, or made up by a sensor) is replaced where it is.
        let line =
            r#"{"event_type":"alert","origin":{"sensor_id":"x","grade":9},"event_id":"1-1"}"#;
        let env = Envelope::parse(line).unwrap();
        let out = forwarded(line, &env, &who());
        assert_eq!(origin_of(&out), want);
        assert!(out.ends_with(b",\"event_id\":\"1-1\"}\n"));
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out.matches("origin").count(), 1, "{out}");
    }

    #[test]
    fn a_collectors_event_says_whose() {
        let by = CollectorEntry {
            id: "zj".into(),
            province: "330000".into(),
            enterprise_id: String::new(),
            token_sha256: String::new(),
        };
        let line = r#"{"event_type":"alert","event_id":"1-1","origin":{"sensor_id":"s1","enterprise_id":"E1","province":"330000","industry":"water","grade":1}}"#;
        let Line::Event(who) = parse(&Envelope::parse(line).unwrap(), &by).ok().unwrap() else {
            panic!("not an event")
        };
        assert_eq!((who.id.as_str(), who.grade), ("s1", 1));
        let refused = |l: &str| match parse(&Envelope::parse(l).unwrap(), &by) {
            Err(LineError::Invalid(m) | LineError::Forbidden(m)) => m,
            Ok(_) => panic!("accepted {l}"),
        };
        assert_eq!(
            refused(r#"{"event_type":"alert"}"#),
            "origin: a collector's event must say whose it is"
        );
        assert!(
            refused(&line.replace(",\"grade\":1", "")).starts_with("origin: missing field `grade`")
        );
        assert!(refused(&line.replace("330000", "440000")).starts_with("province \"440000\""));
        assert_eq!(refused(r#"{"event_type":"rollup"}"#), "row: missing");
        assert!(refused(r#"{"event_type":"rollup","row":{"bucket":1}}"#)
            .starts_with("row: missing field"));
    }
}
