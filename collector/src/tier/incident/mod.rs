//! Incidents: what the escalation criteria open, carried up to every tier above at once, with
//! their evidence and a lifecycle (open → acknowledged → disposed → closed).
//!
//! The tier whose sensors saw the alerts owns an incident and is the only one that moves it
//! on; each version is stored locally and pushed upward, where the newest version replaces the
//! older (ReplacingMergeTree on `version`). Opening is idempotent: an incident's id is made
//! from the criterion and the first alert that met it, and the alerts it holds are kept by
//! event id, so a batch a sensor sends again neither opens a second incident nor counts twice.

pub mod coordination;
pub mod filing;
mod record;

pub use record::{load_open, overdue_loop, Incidents, ListQuery, MoveError};

use std::borrow::Cow;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use icsight_eve::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

pub use crate::tier::report::{Incident, State};

use crate::config::{Criterion, IncidentsConfig};
use crate::event::AlertRow;
use crate::tier::registry::priority;

/// The evidence an incident carries.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evidence {
    /// The first alerts that met the criterion, as the sensor wrote them (up to [`MAX_EVIDENCE`]):
    /// the stored line's text, not read again.
    pub alerts: Vec<Box<RawValue>>,
    /// The hosts involved, from the asset inventory.
    #[serde(default)]
    pub assets: Vec<Box<RawValue>>,
    /// Flows between the hosts involved around the time.
    #[serde(default)]
    pub flows: Vec<Box<RawValue>>,
    /// For an incident of a province: the enterprises involved.
    #[serde(default)]
    pub enterprises: Vec<String>,
}

/// Alerts kept whole as evidence, per incident.
pub const MAX_EVIDENCE: usize = 20;
/// Event ids remembered per incident to count alerts once.
const MAX_IDS: usize = 10_000;
/// Incidents kept in memory (open ones); beyond it the oldest are forgotten first.
pub const MAX_OPEN: usize = 100_000;

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Step {
    pub state: State,
    pub at: String,
    pub by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// The escalation engine of one tier.
pub struct Escalator {
    criteria: Vec<Criterion>,
    origin: String,
    /// When reports are due, by grade.
    deadlines: IncidentsConfig,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Open (not closed) incidents by key: criterion, then enterprise and sid, or province and
    /// technique.
    open: HashMap<String, Open>,
    /// For spread criteria: (criterion, province, technique) → (alert time, enterprise).
    spread: HashMap<(usize, String, String), VecDeque<(u32, String)>>,
    /// Insertion order of `open`, to forget the oldest first.
    order: VecDeque<String>,
    /// Keys of incidents whose newest version is not known to be stored: returned by every
    /// [`Escalator::observe`] until [`Escalator::saved`] says it is.
    unsaved: HashSet<String>,
}

struct Open {
    incident: Incident,
    ids: HashSet<String>,
    evidence: Evidence,
}

impl Escalator {
    pub fn new(criteria: Vec<Criterion>, origin: &str) -> Escalator {
        Escalator {
            criteria,
            origin: origin.to_owned(),
            deadlines: IncidentsConfig::default(),
            inner: Mutex::default(),
        }
    }

    /// Reports due by these deadlines rather than the defaults.
    pub fn with_deadlines(mut self, deadlines: IncidentsConfig) -> Escalator {
        self.deadlines = deadlines;
        self
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Change incident `current` by `change`, starting from the newest copy held here (it
    /// knows the latest alerts count and evidence) when there is one: its new version, with
    /// the next report's deadline worked out again. The copy held is replaced, so the next
    /// alert grows this version.
    pub fn amend(
        &self,
        current: &Incident,
        now_us: u64,
        change: impl FnOnce(&mut Incident),
    ) -> Incident {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let held =
            (inner.open.values_mut()).find(|o| o.incident.incident_id == current.incident_id);
        let mut next = held
            .as_ref()
            .map_or_else(|| current.clone(), |o| o.incident.clone());
        change(&mut next);
        next.version = next.version.max(current.version).max(now_us);
        next.due = filing::due(&next, &self.deadlines);
        if let Some(o) = held {
            o.incident = next.clone();
        }
        next
    }

    /// Take back the open incidents stored earlier (at start).
    pub fn restore(&self, incidents: Vec<Incident>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for i in incidents {
            if i.origin != self.origin || i.state == "closed" {
                continue;
            }
            let evidence: Evidence = serde_json::from_str(&i.evidence).unwrap_or_default();
            let ids = evidence
                .alerts
                .iter()
                .filter_map(|a| {
                    let a: AlertId<'_> = serde_json::from_str(a.get()).ok()?;
                    Some(alert_key(&a.sensor.id, &a.event_id))
                })
                .collect();
            let key = key_of(&i);
            inner.order.push_back(key.clone());
            inner.open.insert(
                key,
                Open {
                    incident: i,
                    ids,
                    evidence,
                },
            );
        }
    }

    /// Run a batch of alerts through the criteria: the incidents opened or grown, each in its
    /// new version, to store and push upward — with any earlier version not yet [`saved`], so
    /// an incident whose storing failed comes out again with the batch sent again.
    ///
    /// [`saved`]: Escalator::saved
    ///
    /// `spread_only`: alerts relayed by an enterprise collector, whose own tier escalated them
    /// already; only criteria that span enterprises apply.
    pub fn observe(&self, alerts: &[AlertRow], now_us: u64, spread_only: bool) -> Vec<Incident> {
        if self.criteria.is_empty() || alerts.is_empty() {
            return Vec::new();
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut changed: Vec<String> = Vec::new();
        for a in alerts {
            for (ci, c) in self.criteria.iter().enumerate() {
                if spread_only && c.enterprises < 2 {
                    continue;
                }
                let Some(technique) = matches(c, a) else {
                    continue;
                };
                if c.enterprises >= 2 {
                    if technique.is_empty() {
                        continue;
                    }
                    let enterprises = {
                        let w = inner
                            .spread
                            .entry((ci, a.province.clone(), technique.to_owned()))
                            .or_default();
                        w.push_back((a.ts, a.enterprise_id.clone()));
                        let newest = w.iter().map(|(t, _)| *t).max().unwrap_or(a.ts);
                        let horizon = newest.saturating_sub(c.window_s as u32);
                        w.retain(|(t, _)| *t >= horizon);
                        while w.len() > 10_000 {
                            w.pop_front();
                        }
                        let mut set: Vec<String> = w.iter().map(|(_, e)| e.clone()).collect();
                        set.sort();
                        set.dedup();
                        set
                    };
                    if enterprises.len() < c.enterprises as usize {
                        continue;
                    }
                    let key = format!("{}|{}||{}", c.name, a.province, technique);
                    let grown = self.add(&mut inner, key.clone(), c, a, technique, true, now_us);
                    if let Some(o) = inner.open.get_mut(&key) {
                        if o.evidence.enterprises != enterprises {
                            o.evidence.enterprises = enterprises;
                            o.incident.version = o.incident.version.max(now_us);
                            changed.push(key.clone());
                        }
                    }
                    if grown {
                        changed.push(key);
                    }
                } else {
                    let key = format!("{}|{}|{}|{}", c.name, a.province, a.enterprise_id, a.sid);
                    if self.add(&mut inner, key.clone(), c, a, technique, false, now_us) {
                        changed.push(key);
                    }
                }
            }
        }
        inner.unsaved.extend(changed);
        let mut keys: Vec<String> = inner.unsaved.iter().cloned().collect();
        keys.sort();
        keys.iter()
            .filter_map(|k| {
                let o = inner.open.get_mut(k)?;
                o.incident.evidence =
                    serde_json::to_string(&o.evidence).unwrap_or_else(|_| "{}".into());
                Some(o.incident.clone())
            })
            .collect()
    }

    /// Add alert `a` to the incident under `key`, opening it if there is none; whether it
    /// changed.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &self,
        inner: &mut Inner,
        key: String,
        c: &Criterion,
        a: &AlertRow,
        technique: &str,
        of_province: bool,
        now_us: u64,
    ) -> bool {
        if let Some(o) = inner.open.get_mut(&key) {
            let k = alert_key(&a.sensor_id, &a.event_id);
            if o.ids.contains(&k) || o.ids.len() >= MAX_IDS {
                return false;
            }
            o.ids.insert(k);
            o.incident.alerts += 1;
            o.incident.updated = (now_us / 1_000_000) as u32;
            o.incident.version = o.incident.version.max(now_us);
            if o.evidence.alerts.len() < MAX_EVIDENCE {
                o.evidence.alerts.push(alert_json(a));
            }
            let p = priority(a.severity, a.grade, &a.industry);
            o.incident.priority = o.incident.priority.max(p);
            o.incident.severity = o.incident.severity.min(a.severity);
            return true;
        }
        let first = alert_key(&a.sensor_id, &a.event_id);
        let id = incident_id(&self.origin, &c.name, &first);
        let at = Timestamp(now_us).rfc3339();
        let title = if c.title.is_empty() {
            format!("{}: {}", c.name, a.signature)
        } else {
            format!("{}: {}", c.title, a.signature)
        };
        let incident = Incident {
            incident_id: id,
            province: a.province.clone(),
            enterprise_id: if of_province {
                String::new()
            } else {
                a.enterprise_id.clone()
            },
            industry: if of_province {
                String::new()
            } else {
                a.industry.clone()
            },
            grade: if of_province { 0 } else { a.grade },
            sensor_id: if of_province {
                String::new()
            } else {
                a.sensor_id.clone()
            },
            criterion: c.name.clone(),
            title,
            priority: priority(a.severity, a.grade, &a.industry),
            severity: a.severity,
            technique: technique.to_owned(),
            sid: a.sid,
            state: State::Open.name().into(),
            opened: (now_us / 1_000_000) as u32,
            updated: (now_us / 1_000_000) as u32,
            alerts: 1,
            evidence: String::new(),
            history: serde_json::to_string(&[Step {
                state: State::Open,
                at,
                by: self.origin.clone(),
                note: format!("criterion {}", c.name),
            }])
            .unwrap_or_default(),
            origin: self.origin.clone(),
            version: now_us,
            level: c.level,
            ..Incident::default()
        };
        let incident = Incident {
            due: filing::due(&incident, &self.deadlines),
            ..incident
        };
        let ids = HashSet::from([first]);
        if inner.open.len() >= MAX_OPEN {
            if let Some(old) = inner.order.pop_front() {
                inner.open.remove(&old);
            }
        }
        inner.order.push_back(key.clone());
        inner.open.insert(
            key,
            Open {
                incident,
                ids,
                evidence: Evidence {
                    alerts: vec![alert_json(a)],
                    ..Evidence::default()
                },
            },
        );
        true
    }

    /// The versions in `incidents` are stored: [`Escalator::observe`] stops returning them.
    pub fn saved(&self, incidents: &[Incident]) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for i in incidents {
            let key = key_of(i);
            if inner
                .open
                .get(&key)
                .is_none_or(|o| o.incident.version == i.version)
            {
                inner.unsaved.remove(&key);
            }
        }
    }

    /// Record evidence found after opening (assets, flows) in the open incident `id`; its new
    /// version, unsaved until [`Escalator::saved`].
    pub fn enrich(
        &self,
        id: &str,
        assets: Vec<Box<RawValue>>,
        flows: Vec<Box<RawValue>>,
        now_us: u64,
    ) -> Option<Incident> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let o = inner
            .open
            .values_mut()
            .find(|o| o.incident.incident_id == id)?;
        o.evidence.assets = assets;
        o.evidence.flows = flows;
        o.incident.version = o.incident.version.max(now_us);
        o.incident.evidence = serde_json::to_string(&o.evidence).unwrap_or_default();
        let next = o.incident.clone();
        inner.unsaved.insert(key_of(&next));
        Some(next)
    }

    /// Move incident `current` on to `to`; the new version. Only forward moves.
    pub fn transition(
        &self,
        current: &Incident,
        to: State,
        by: &str,
        note: &str,
        now_us: u64,
    ) -> Result<Incident, String> {
        let from = State::parse(&current.state).unwrap_or(State::Open);
        if to <= from {
            return Err(format!(
                "incident {} is {}: it can move on to a later state only (open → acknowledged → disposed → closed)",
                current.incident_id,
                from.name()
            ));
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        // The in-memory copy holds the newest alerts count and evidence.
        let key = inner
            .open
            .iter()
            .find(|(_, o)| o.incident.incident_id == current.incident_id)
            .map(|(k, _)| k.clone());
        let mut next = match &key {
            Some(k) => inner.open[k].incident.clone(),
            None => current.clone(),
        };
        let mut history: Vec<Step> = serde_json::from_str(&next.history).unwrap_or_default();
        history.push(Step {
            state: to,
            at: Timestamp(now_us).rfc3339(),
            by: by.to_owned(),
            note: note.to_owned(),
        });
        next.history = serde_json::to_string(&history).unwrap_or_default();
        next.state = to.name().into();
        next.updated = (now_us / 1_000_000) as u32;
        next.version = next.version.max(current.version).max(now_us);
        next.due = filing::due(&next, &self.deadlines);
        if let Some(k) = key {
            if to == State::Closed {
                inner.open.remove(&k);
                inner.unsaved.remove(&k);
                inner.order.retain(|o| *o != k);
            } else if let Some(o) = inner.open.get_mut(&k) {
                o.incident = next.clone();
            }
        }
        Ok(next)
    }
}

fn key_of(i: &Incident) -> String {
    if i.enterprise_id.is_empty() {
        format!("{}|{}||{}", i.criterion, i.province, i.technique)
    } else {
        format!(
            "{}|{}|{}|{}",
            i.criterion, i.province, i.enterprise_id, i.sid
        )
    }
}

/// Whether alert `a` meets criterion `c`: the technique it met it by ("" when the criterion
/// names none and the alert has none).
fn matches<'a>(c: &Criterion, a: &'a AlertRow) -> Option<&'a str> {
    if c.severity_max.is_some_and(|m| a.severity > m) {
        return None;
    }
    if !c.grades.is_empty() && !c.grades.contains(&a.grade) {
        return None;
    }
    if !c.industries.is_empty() && !c.industries.contains(&a.industry) {
        return None;
    }
    if !c.sids.is_empty() && !c.sids.contains(&a.sid) {
        return None;
    }
    if c.techniques.is_empty() {
        return Some(a.technique.as_str());
    }
    a.techniques
        .iter()
        .find(|t| c.techniques.contains(t))
        .map(String::as_str)
}

/// An alert's identity: event ids are unique to their sensor only.
fn alert_key(sensor: &str, event_id: &str) -> String {
    format!("{sensor}/{event_id}")
}

/// An incident's id, the same whenever the same alert opens it: the tier, then a digest of the
/// criterion and the first alert's identity.
fn incident_id(origin: &str, criterion: &str, first_event: &str) -> String {
    let d = Sha256::digest(format!("{criterion}\n{first_event}").as_bytes());
    format!("{origin}-{}", hex::encode(&d[..8]))
}

/// An alert as evidence: its line as stored. The line was read at ingest; serde_json only
/// checks that the text is JSON as it wraps it, and builds nothing of it.
fn alert_json(a: &AlertRow) -> Box<RawValue> {
    RawValue::from_string(a.raw.clone()).unwrap_or_else(|_| {
        let id = AlertId {
            event_id: Cow::Borrowed(&a.event_id),
            sensor: SensorId {
                id: Cow::Borrowed(&a.sensor_id),
            },
        };
        serde_json::value::to_raw_value(&id).expect("strings serialize")
    })
}

/// Who an alert of the evidence is: enough to count it once.
#[derive(Serialize, Deserialize)]
struct AlertId<'a> {
    #[serde(borrow)]
    event_id: Cow<'a, str>,
    #[serde(borrow)]
    sensor: SensorId<'a>,
}

#[derive(Serialize, Deserialize)]
struct SensorId<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_criteria;

    pub fn alert(
        id: &str,
        enterprise: &str,
        sid: u32,
        severity: u8,
        grade: u8,
        technique: &str,
        ts: u32,
    ) -> AlertRow {
        AlertRow {
            ts,
            ts_us: u64::from(ts) * 1_000_000,
            received: ts,
            event_id: id.into(),
            sensor_id: "s1".into(),
            enterprise_id: enterprise.into(),
            province: "330000".into(),
            industry: "energy".into(),
            grade,
            flow_id: 1,
            src_ip: "10.0.0.1".into(),
            src_port: 1000,
            dest_ip: "10.0.0.2".into(),
            dest_port: 102,
            proto: "TCP".into(),
            app_proto: "s7comm".into(),
            kind: "signature".into(),
            action: "allowed".into(),
            gid: 1,
            sid,
            rev: 1,
            signature: format!("sig {sid}"),
            category: String::new(),
            severity,
            technique: technique.into(),
            techniques: if technique.is_empty() {
                vec![]
            } else {
                vec![technique.into()]
            },
            anomaly_event: String::new(),
            raw: format!("{{\"event_id\":\"{id}\",\"sensor\":{{\"id\":\"s1\"}}}}"),
        }
    }

    /// Observe, and store what comes out.
    fn stored(e: &Escalator, alerts: &[AlertRow], now: u64) -> Vec<Incident> {
        let out = e.observe(alerts, now, false);
        e.saved(&out);
        out
    }

    #[test]
    fn a_plc_stop_opens_one_incident_however_often_it_is_sent() {
        let e = Escalator::new(default_criteria(), "zj");
        let stop = alert("r-1", "E1", 9100101, 2, 3, "T0858", 1000);
        let opened = e.observe(std::slice::from_ref(&stop), 5_000_000, false);
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].criterion, "plc-stop-or-download");
        assert_eq!(opened[0].state, "open");
        // Not stored (ClickHouse away): the batch sent again brings the same version out again.
        assert_eq!(
            e.observe(std::slice::from_ref(&stop), 5_500_000, false),
            opened
        );
        e.saved(&opened);
        assert!(
            stored(&e, std::slice::from_ref(&stop), 6_000_000).is_empty(),
            "resent and stored: nothing new"
        );
        let again = alert("r-2", "E1", 9100101, 2, 3, "T0858", 1001);
        let grown = stored(&e, &[again], 7_000_000);
        assert_eq!((grown.len(), grown[0].alerts), (1, 2));
        assert_eq!(grown[0].incident_id, opened[0].incident_id);
        // A harmless alert opens nothing.
        assert!(stored(
            &e,
            &[alert("r-3", "E1", 9100001, 3, 3, "", 1002)],
            8_000_000
        )
        .is_empty());
    }

    #[test]
    fn event_ids_are_told_apart_by_their_sensor() {
        // Two sensors' runs may start in the same microsecond and number their events alike.
        let e = Escalator::new(default_criteria(), "zj");
        let one = alert("r-1", "E1", 9100101, 2, 3, "T0858", 1000);
        let mut other = alert("r-1", "E2", 9100101, 2, 3, "T0858", 1000);
        other.sensor_id = "s2".into();
        let opened = stored(&e, &[one.clone(), other.clone()], 5_000_000);
        assert_eq!(opened.len(), 2, "one incident for each enterprise");
        assert_ne!(opened[0].incident_id, opened[1].incident_id);
        // At one enterprise, both alerts count.
        let e = Escalator::new(default_criteria(), "zj");
        other.enterprise_id = "E1".into();
        let opened = stored(&e, &[one.clone(), other], 5_000_000);
        assert_eq!((opened.len(), opened[0].alerts), (1, 2));
        // Taken back at start, the incident knows its alerts by sensor and id.
        let back = Escalator::new(default_criteria(), "zj");
        back.restore(opened);
        assert!(stored(&back, &[one], 6_000_000).is_empty());
    }

    #[test]
    fn the_same_technique_at_three_enterprises_within_an_hour() {
        let e = Escalator::new(default_criteria(), "zj");
        assert!(e
            .observe(&[alert("a", "E1", 1, 2, 3, "T0855", 1000)], 1, false)
            .is_empty());
        assert!(e
            .observe(&[alert("b", "E2", 1, 2, 3, "T0855", 1100)], 2, false)
            .is_empty());
        // The third comes two hours later: the first has left the window.
        assert!(e
            .observe(&[alert("c", "E3", 1, 2, 3, "T0855", 8300)], 3, false)
            .is_empty());
        assert!(e
            .observe(&[alert("d", "E1", 1, 2, 3, "T0855", 8400)], 4, false)
            .is_empty());
        let i = e.observe(&[alert("f", "E2", 1, 2, 3, "T0855", 8500)], 5, false);
        assert_eq!(i.len(), 1);
        assert_eq!(
            (i[0].criterion.as_str(), i[0].enterprise_id.as_str()),
            ("technique-spread", "")
        );
        let ev: Evidence = serde_json::from_str(&i[0].evidence).unwrap();
        assert_eq!(ev.enterprises, ["E1", "E2", "E3"]);
    }

    #[test]
    fn the_lifecycle_moves_forward_only() {
        let e = Escalator::new(default_criteria(), "zj");
        let i = e
            .observe(&[alert("x", "E1", 9100104, 2, 3, "T0843", 1)], 10, false)
            .remove(0);
        let a = e
            .transition(&i, State::Acknowledged, "ops", "looking", 20)
            .unwrap();
        assert_eq!((a.state.as_str(), a.version), ("acknowledged", 20));
        assert!(e.transition(&a, State::Open, "ops", "", 30).is_err());
        let d = e
            .transition(&a, State::Disposed, "ops", "reflashed", 40)
            .unwrap();
        let c = e.transition(&d, State::Closed, "ops", "", 50).unwrap();
        let h: Vec<Step> = serde_json::from_str(&c.history).unwrap();
        assert_eq!(h.len(), 4);
        // Closed: the next download opens a new incident.
        let n = e.observe(&[alert("y", "E1", 9100104, 2, 3, "T0843", 2)], 60, false);
        assert_ne!(n[0].incident_id, i.incident_id);
    }
}
