//! A batch of events from a sensor or the tier below, carried through the tier in steps:
//! [`check_batch`] reads and checks the whole batch without any I/O (one bad line refuses all of
//! it, naming the line), then [`store_rows`] and [`store_reports`] write it, [`Incidents::escalate`]
//! opens or grows incidents, and [`forward`] spools what goes up. The HTTP room decides when
//! each step runs; nothing here knows of a request.
//!
//! [`Incidents::escalate`]: crate::tier::incident::Incidents::escalate

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::Sender;
use crate::config::{CollectorEntry, Config, SensorEntry, ServerConfig, TierRole};
use crate::event::{Envelope, LineError, Row};
use crate::metrics::{Metrics, Table};
use crate::store::{Batch, Store};
use crate::tier::bulletin::Bulletins;
use crate::tier::incident::coordination::{Coordination, KeepError, Source};

use crate::tier::registry::Registry;
use crate::tier::report::{self, Heartbeat, Report, SensorState};
use crate::tier::upstream::{self, Upstream};

/// What a batch may hold and what of it goes up: the configuration's part that checking reads.
pub struct Policy<'a> {
    pub limits: &'a ServerConfig,
    /// Transaction types stored (`storage.transactions`).
    pub transactions: &'a [String],
    /// Whether to spool lines for the tier above, and which.
    pub forward: Option<Forward>,
}

/// Which events go up whole: all of them (an enterprise tier), or alerts at least this severe.
#[derive(Clone, Copy, Debug)]
pub struct Forward {
    pub all: bool,
    pub max_severity: u8,
}

impl Policy<'_> {
    /// The policy of `config`; `upstream`: whether there is a tier above to forward to.
    pub fn of(config: &Config, upstream: bool) -> Policy<'_> {
        Policy {
            limits: &config.server,
            transactions: &config.storage.transactions,
            forward: upstream.then_some(Forward {
                all: config.tier.role == TierRole::Enterprise,
                max_severity: config.upstream.forward_max_severity,
            }),
        }
    }
}

/// Why a line refuses its batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Not a valid event (or a repeated one).
    Invalid,
    /// It speaks for a sensor or enterprise the sender is not.
    Forbidden,
    /// Too long, or one event too many.
    TooLarge,
}

/// The line that refused a batch, 1-based, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineFault {
    pub line: usize,
    pub fault: Fault,
    pub message: String,
}

impl LineFault {
    fn new(line: usize, fault: Fault, message: impl Into<String>) -> LineFault {
        LineFault {
            line,
            fault,
            message: message.into(),
        }
    }
}

/// A batch checked whole, ready to store.
#[derive(Default)]
pub struct Checked {
    /// Lines that held an event or a report.
    pub accepted: usize,
    /// Events of a kind not stored here (a transaction type not kept).
    pub skipped: usize,
    /// Rows by the sensor they are stored under: one for a sensor, any of its scope for a
    /// collector below. Shared: the store's buffers write them, and the alerts are escalated
    /// from them once stored.
    pub batches: Vec<(SensorEntry, Arc<Batch>)>,
    /// Report rows of the tier below.
    pub reports: Vec<Report>,
    /// Lines to spool for the tier above.
    pub forward: Vec<Vec<u8>>,
    /// Sensors' heartbeats (their `stats` events), for the fleet.
    pub heartbeats: Vec<(SensorEntry, Heartbeat)>,
    /// The tier below's sensors, as it reports them.
    pub sensors: Vec<SensorState>,
    /// Relayed by a collector below, whose tier escalated them already: only criteria that
    /// span enterprises apply.
    pub relayed: bool,
}

/// Read and check a whole batch (NDJSON, decompressed) of `sender`'s, received at `received`
/// (UNIX s): every line an event or report within `policy`, no event id twice. No I/O.
pub fn check_batch(
    text: &[u8],
    sender: &Sender,
    registry: &Registry,
    policy: &Policy<'_>,
    received: u32,
) -> Result<Checked, LineFault> {
    let limits = policy.limits;
    let max_line = limits.max_line_kb * 1024;
    let mut out = Checked {
        relayed: matches!(sender, Sender::Collector(_)),
        ..Checked::default()
    };
    // (sensor's batch, event id) → line: event ids are unique to their sensor, and a
    // collector's batch holds many sensors'. Ids are borrowed from the text.
    let mut seen: HashMap<(usize, Cow<'_, str>), usize> = HashMap::new();
    let mut batches: Vec<(SensorEntry, Batch)> = Vec::new();
    // A sensor speaks for itself on every line: bound once.
    let speaker = match sender {
        Sender::Sensor(s) => Speaker::Sensor(bound(s, registry)),
        Sender::Collector(c) => Speaker::Collector(c),
    };
    for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
        let n = i + 1;
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if raw.len() > max_line {
            return Err(LineFault::new(
                n,
                Fault::TooLarge,
                format!("longer than {} KiB", limits.max_line_kb),
            ));
        }
        out.accepted += 1;
        if out.accepted > limits.max_batch_events {
            return Err(LineFault::new(
                n,
                Fault::TooLarge,
                format!("more than {} events in one batch", limits.max_batch_events),
            ));
        }
        let line = std::str::from_utf8(raw)
            .map_err(|e| LineFault::new(n, Fault::Invalid, format!("not UTF-8: {e}")))?;
        let refuse = |e: LineError| match e {
            LineError::Invalid(m) => LineFault::new(n, Fault::Invalid, m),
            LineError::Forbidden(m) => LineFault::new(n, Fault::Forbidden, m),
        };
        // The one read of the line: everything after works on `env`.
        let env = Envelope::parse(line).map_err(refuse)?;
        let who = match &speaker {
            Speaker::Sensor(s) => Cow::Borrowed(s),
            Speaker::Collector(c) => match report::parse(&env, c).map_err(refuse)? {
                report::Line::Event(who) => Cow::Owned(who),
                report::Line::Report(Report::Sensor(s)) => {
                    out.sensors.push(s);
                    continue;
                }
                report::Line::Report(mut r) => {
                    if let Report::Enterprise(e) = &mut r {
                        owned_here(e, registry, received, n).map_err(refuse)?;
                    }
                    out.reports.push(r);
                    continue;
                }
            },
        };
        let row = env
            .row(line, &who, received, |t| {
                policy.transactions.iter().any(|s| s == t)
            })
            .map_err(refuse)?;
        let Some(row) = row else {
            out.skipped += 1;
            continue;
        };
        let at = match batches.iter().position(|(w, _)| w.id == who.id) {
            Some(at) => at,
            None => {
                batches.push((who.clone().into_owned(), Batch::default()));
                batches.len() - 1
            }
        };
        let id = env.event_id.clone().unwrap_or_default();
        if let Some(first) = seen.insert((at, id), n) {
            return Err(LineFault::new(
                n,
                Fault::Invalid,
                format!("event_id {:?} repeats line {first}", row.event_id()),
            ));
        }
        if let Some(f) = policy.forward {
            let serious = matches!(&row, Row::Alert(a) if a.severity <= f.max_severity);
            if f.all || serious {
                out.forward.push(report::forwarded(line, &env, &who));
            }
        }
        if let Row::Stats(s) = &row {
            out.heartbeats
                .push((who.clone().into_owned(), Heartbeat::of(s)));
        }
        batches[at].1.push(row);
    }
    out.batches = (batches.into_iter())
        .map(|(who, b)| (who, Arc::new(b)))
        .collect();
    Ok(out)
}

/// Whose lines a batch holds: a sensor's own, bound to the registry once for all of them, or
/// a lower collector's, each line saying whose.
enum Speaker<'a> {
    Sensor(SensorEntry),
    Collector(&'a CollectorEntry),
}

/// An enterprise belongs to one province: a lower tier's row for an id registered here under
/// another province is refused, whoever sent it. Its version is stamped on receipt (`received`,
/// then the line `n` within the batch), never taken from the sender, so a report cannot
/// outrank this tier's own imports by claiming a version from the future.
fn owned_here(
    e: &mut report::EnterpriseRow,
    registry: &Registry,
    received: u32,
    n: usize,
) -> Result<(), LineError> {
    if let Some(held) = registry.get(&e.enterprise_id) {
        if held.province != e.province {
            return Err(LineError::Forbidden(format!(
                "enterprise {} is registered in province {}, not {}",
                e.enterprise_id, held.province, e.province
            )));
        }
    }
    e.version = u64::from(received) * 1_000_000 + (n as u64).min(999_999);
    Ok(())
}

/// A sensor's binding, with industry and grade as the registry has them now.
fn bound(s: &SensorEntry, registry: &Registry) -> SensorEntry {
    let mut who = s.clone();
    if let Some(e) = registry.get(&s.enterprise_id) {
        who.industry = e.industry.clone();
        who.grade = e.grade;
    }
    who
}

/// What the store step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub stored: usize,
    pub duplicates: usize,
}

/// Store a checked batch's rows, all its sensors' at once, each row exactly once; counted in
/// `metrics`.
pub async fn store_rows(
    store: &Store,
    metrics: &Metrics,
    batches: &[(SensorEntry, Arc<Batch>)],
) -> clickhouse::error::Result<Totals> {
    let all = futures_util::future::try_join_all(
        (batches.iter()).map(|(who, batch)| store.store(who, batch)),
    )
    .await?;
    let mut t = Totals::default();
    for (kind, s) in all.iter().flatten() {
        t.stored += s.stored;
        t.duplicates += s.duplicates;
        metrics.repaired.inc_by(s.repaired);
        metrics
            .stored
            .get_or_create(&Table {
                table: kind.table(),
            })
            .inc_by(s.stored as u64);
    }
    Ok(t)
}

/// The first incident of `reports` whose id this tier holds under another province, with
/// that province: an incident id belongs to the province that opened it, and a lower tier
/// may not shadow another's.
pub async fn foreign_incident(
    store: &Store,
    reports: &[Report],
) -> clickhouse::error::Result<Option<(String, String)>> {
    let mine: Vec<(&str, &str)> = (reports.iter())
        .filter_map(|r| match r {
            Report::Incident(i) => Some((i.incident_id.as_str(), i.province.as_str())),
            Report::IncidentReport(r) => Some((r.incident_id.as_str(), r.province.as_str())),
            Report::Coordination(e) => Some((e.incident_id.as_str(), e.province.as_str())),
            _ => None,
        })
        .collect();
    if mine.is_empty() {
        return Ok(None);
    }
    #[derive(clickhouse::Row, serde::Deserialize)]
    struct Held {
        incident_id: String,
        province: String,
    }
    let ids: Vec<&str> = mine.iter().map(|(id, _)| *id).collect();
    let held: Vec<Held> = store
        .client()
        .query("SELECT DISTINCT incident_id, province FROM incidents WHERE has(?, incident_id)")
        .bind(ids)
        .fetch_all()
        .await?;
    Ok(held
        .into_iter()
        .find(|h| {
            mine.iter()
                .any(|&(id, p)| id == h.incident_id && p != h.province)
        })
        .map(|h| (h.incident_id, h.province)))
}

/// Store the report rows of a lower tier; how many. Incidents and bulletin progress go on up
/// at once, not at this tier's next report.
pub async fn store_reports(
    store: &Store,
    bulletins: &Bulletins,
    coordination: &Coordination,
    up: Option<&Upstream>,
    reports: Vec<Report>,
) -> clickhouse::error::Result<usize> {
    let (mut rollups, mut counts, mut incidents, mut progress, mut enterprises, mut sitreps) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    let mut filed = Vec::new();
    let mut entries = Vec::new();
    let mut hits = Vec::new();
    let mut hazards = Vec::new();
    let n = reports.len();
    for r in reports {
        match r {
            Report::Rollup(r) => rollups.push(r),
            Report::AssetCount(r) => counts.push(r),
            Report::Incident(r) => incidents.push(*r),
            Report::IncidentReport(r) => filed.push(*r),
            Report::Progress(r) => progress.push(r),
            Report::Enterprise(r) => enterprises.push(r),
            Report::Sitrep(r) => sitreps.push(r),
            Report::Coordination(e) => entries.push(*e),
            Report::Hit(h) => hits.push(*h),
            Report::Hazard(h) => hazards.push(*h),
            // Kept in memory by the fleet (`Checked::sensors`), not stored.
            Report::Sensor(_) => {}
        }
    }
    store.insert("tier_rollup_5m", &rollups).await?;
    store.insert("asset_counts", &counts).await?;
    store.insert("incident_reports", &filed).await?;
    store.insert("incidents", &incidents).await?;
    store.insert("bulletin_steps", &progress).await?;
    for p in &progress {
        (bulletins.book).first(&p.bulletin_id, p.revision, &p.enterprise_id, &p.state);
    }
    store.insert("enterprises", &enterprises).await?;
    store.insert("situation_reports", &sitreps).await?;
    // Checked against what is held, numbered here and sent on up by the coordination itself.
    match coordination.keep(entries, Source::Below).await {
        Ok(_) | Err(KeepError::Invalid(_)) => {}
        Err(KeepError::Storage(e)) => return Err(e),
    }
    store.insert("bulletin_hits", &hits).await?;
    store.insert("hazards", &hazards).await?;
    let lines: Vec<Vec<u8>> = (filed.iter().map(report::incident_report_line))
        .chain(hazards.iter().map(report::hazard_line))
        .chain(hits.iter().map(report::hit_line))
        .chain(incidents.iter().map(report::incident_line))
        .chain(progress.iter().map(report::progress_line))
        .collect();
    upstream::report_now(up, &lines);
    Ok(n)
}

/// Spool a stored batch's lines for the tier above; they leave with their segment.
pub fn forward(up: Option<&Upstream>, lines: &[Vec<u8>]) {
    if let Some(up) = up {
        for l in lines {
            up.push(l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const ALERT: &str = r#"{"timestamp":"2026-11-21T17:41:00.765135+0000","event_id":"1-1","flow_id":7,"event_type":"alert","src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","dest_port":502,"proto":"TCP","app_proto":"modbus","alert":{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"ICSIGHT MODBUS write","category":"c","severity":2,"metadata":{"mitre_attack_ics":["T0836"]}},"sensor":{"id":"s1","enterprise_id":"E1","province":"330000"}}"#;

    fn config(server: &str) -> Config {
        Config::parse(&format!("[server]\n{server}\n"), Path::new("c.toml")).unwrap()
    }

    fn sensor() -> Sender {
        Sender::Sensor(SensorEntry::example())
    }

    fn alert(n: u32, severity: u8) -> String {
        ALERT
            .replace("\"1-1\"", &format!("\"1-{n}\""))
            .replace("\"severity\":2", &format!("\"severity\":{severity}"))
    }

    fn check(text: &str, config: &Config, upstream: bool) -> Result<Checked, LineFault> {
        let policy = Policy::of(config, upstream);
        check_batch(text.as_bytes(), &sensor(), &Registry::default(), &policy, 7)
    }

    #[test]
    fn a_good_batch_is_sorted_for_the_steps() {
        let c = config("");
        let text = format!("{}\n\n{}\n", alert(1, 1), alert(2, 3));
        let checked = check(&text, &c, false).unwrap();
        assert_eq!((checked.accepted, checked.skipped), (2, 0));
        assert_eq!(checked.batches.len(), 1);
        assert_eq!(checked.batches[0].0.id, "s1");
        assert_eq!(checked.batches[0].1.alerts.len(), 2);
        assert!(checked.forward.is_empty() && checked.reports.is_empty());
        assert!(!checked.relayed);
        // With a tier above, alerts at least as severe as `forward_max_severity` (2) go up.
        let checked = check(&text, &c, true).unwrap();
        assert_eq!(checked.forward.len(), 1);
        assert!(String::from_utf8_lossy(&checked.forward[0]).contains("\"1-1\""));
    }

    #[test]
    fn one_bad_line_refuses_the_batch_and_names_it() {
        let c = config("max_batch_events = 2");
        let fault = |text: &str| check(text, &c, false).err().expect("refused");
        let f = fault(&format!("{}\n{{\n", alert(1, 1)));
        assert_eq!((f.line, f.fault), (2, Fault::Invalid));
        assert!(f.to_string().starts_with("line 2: invalid JSON"), "{f}");
        let f = fault(&format!("{}\n{}\n", alert(1, 1), alert(1, 2)));
        assert_eq!(f.to_string(), "line 2: event_id \"1-1\" repeats line 1");
        let f = fault(&ALERT.replace("\"E1\"", "\"E2\""));
        assert_eq!((f.line, f.fault), (1, Fault::Forbidden));
        let three = format!("{}\n{}\n{}\n", alert(1, 1), alert(2, 1), alert(3, 1));
        let f = fault(&three);
        assert_eq!((f.line, f.fault), (3, Fault::TooLarge));
        assert_eq!(f.message, "more than 2 events in one batch");
        let bytes = [ALERT.as_bytes(), b"\n\xff\xfe\n"].concat();
        let policy = Policy::of(&c, false);
        let f = check_batch(&bytes, &sensor(), &Registry::default(), &policy, 7)
            .err()
            .expect("refused");
        assert_eq!((f.line, f.fault), (2, Fault::Invalid));
        assert!(f.message.starts_with("not UTF-8"), "{f}");
    }

    #[test]
    fn lines_are_bounded() {
        let c = config("max_line_kb = 1");
        let long = alert(1, 1).replace("ICSIGHT MODBUS write", &"x".repeat(2000));
        let f = check(&long, &c, false).err().expect("refused");
        assert_eq!((f.line, f.fault), (1, Fault::TooLarge));
        assert_eq!(f.message, "longer than 1 KiB");
    }
}
