//! The sensors of this tier and whether they are alive. Every `stats` event a sensor sends is
//! its heartbeat: the latest is kept per sensor (version, rules, baseline, packets, kernel
//! drops, spool depth, send lag). A sensor capturing live that stays silent for
//! `tier.offline_seconds` is **offline**: a `sensor_offline` incident is opened, stored and
//! reported up at once like any other, so the tiers above know which enterprise has gone dark;
//! when it is heard again the incident is marked disposed by this tier.
//!
//! A file replay's `stats` event counts as seen but never as a heartbeat to miss: a replay
//! ends by design. The configured `[[sensors]]` are listed from the start, "never seen" until
//! their first heartbeat. After a restart the last hour of `sensor_stats` is read back, and the
//! open `sensor_offline` incidents, so an outage is neither forgotten nor opened twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::config::SensorEntry;
use crate::event::StatsRow;
use crate::store::Store;
use crate::tier::incident::{Incidents, State, Step};
use crate::tier::registry::priority;
use crate::tier::report::{Heartbeat, Incident, SensorState, Status};
use crate::time::now_s;
use icsight_eve::Timestamp;

/// The criterion of the incident a silent sensor opens.
pub const OFFLINE: &str = "sensor_offline";
/// Sensors tracked at most: the configured ones and those relayed from below.
const MAX_SENSORS: usize = 100_000;

/// The parts of a `stats` line a heartbeat reads.
#[derive(Deserialize, Default)]
struct Line {
    #[serde(default)]
    stats: Stats,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Stats {
    version: String,
    baseline: String,
    uptime: u64,
    decoder: Counters,
    capture: Option<Counters>,
    detect: Counters,
    uplink: Option<Counters>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Counters {
    pkts: u64,
    kernel_drops: u64,
    rules_loaded: u64,
    rules_failed: u64,
    spool_segments: u64,
    send_lag_seconds: f64,
}

impl Heartbeat {
    /// The heartbeat a stored `stats` row carries.
    pub fn of(row: &StatsRow) -> Heartbeat {
        Heartbeat::parse(&row.raw)
    }

    /// The heartbeat of a `stats` line; what it lacks is zero.
    pub fn parse(line: &str) -> Heartbeat {
        let s = serde_json::from_str::<Line>(line).unwrap_or_default().stats;
        let uplink = s.uplink.unwrap_or_default();
        Heartbeat {
            version: s.version,
            baseline: s.baseline,
            uptime: s.uptime,
            packets: s.decoder.pkts,
            kernel_drops: s.capture.as_ref().map_or(0, |c| c.kernel_drops),
            rules_loaded: s.detect.rules_loaded,
            rules_failed: s.detect.rules_failed,
            spool_segments: uplink.spool_segments,
            send_lag_seconds: uplink.send_lag_seconds,
            live: s.capture.is_some(),
        }
    }
}

struct Tracked {
    state: SensorState,
    /// Reported by the tier below, which watches it: never swept here.
    relayed: bool,
    /// The open incident of the current outage.
    incident: Option<Incident>,
}

/// The sensors of this tier.
pub struct Fleet {
    sensors: Mutex<HashMap<String, Tracked>>,
    offline_after: u64,
    origin: String,
}

impl Fleet {
    /// The configured sensors, never seen, silent for `offline_after` seconds before offline;
    /// incidents opened by `origin` (this tier's id).
    pub fn new(configured: &[SensorEntry], offline_after: u64, origin: &str) -> Fleet {
        let sensors = configured
            .iter()
            .map(|s| {
                (
                    s.id.clone(),
                    Tracked {
                        state: state_of(s),
                        relayed: false,
                        incident: None,
                    },
                )
            })
            .collect();
        Fleet {
            sensors: Mutex::new(sensors),
            offline_after,
            origin: origin.to_owned(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tracked>> {
        self.sensors.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Take back, at start, the open `sensor_offline` incidents this tier opened.
    pub fn restore(&self, open: &[Incident]) {
        let mut sensors = self.lock();
        for i in open
            .iter()
            .filter(|i| i.criterion == OFFLINE && i.origin == self.origin)
        {
            if let Some(t) = sensors.get_mut(&i.sensor_id) {
                t.state.status = Status::Offline;
                t.state.incident_id = i.incident_id.clone();
                t.incident = Some(i.clone());
            }
        }
    }

    /// Sensor `who` was heard at `at` (UNIX s). The incident of an outage it ends, to mark
    /// disposed.
    pub fn heard(&self, who: &SensorEntry, beat: Heartbeat, at: u64) -> Option<Incident> {
        let mut sensors = self.lock();
        if !sensors.contains_key(&who.id) && sensors.len() >= MAX_SENSORS {
            return None;
        }
        let t = sensors.entry(who.id.clone()).or_insert_with(|| Tracked {
            state: state_of(who),
            relayed: false,
            incident: None,
        });
        if at < t.state.last_seen {
            return None;
        }
        let live = beat.live;
        t.state.last_seen = at;
        t.state.heartbeat = beat;
        t.state.status = if live {
            Status::Online
        } else if t.state.status == Status::Offline {
            // A replay's stats say nothing of the live capture that went silent.
            Status::Offline
        } else {
            Status::Replayed
        };
        if !live {
            return None;
        }
        t.state.incident_id.clear();
        t.incident.take()
    }

    /// A sensor as the tier below reports it: its status is the one that tier decided.
    pub fn relayed(&self, state: SensorState) {
        let mut sensors = self.lock();
        if !sensors.contains_key(&state.sensor_id) && sensors.len() >= MAX_SENSORS {
            return;
        }
        sensors.insert(
            state.sensor_id.clone(),
            Tracked {
                state,
                relayed: true,
                incident: None,
            },
        );
    }

    /// The sensors newly silent at `now` (UNIX s): each marked offline, with the incident it
    /// opens.
    pub fn sweep(&self, now: u64) -> Vec<Incident> {
        let mut out = Vec::new();
        let mut sensors = self.lock();
        for t in sensors.values_mut() {
            let s = &mut t.state;
            let silent = !t.relayed
                && s.status == Status::Online
                && now.saturating_sub(s.last_seen) >= self.offline_after;
            if !silent {
                continue;
            }
            s.status = Status::Offline;
            let i = self.offline_incident(s, now);
            s.incident_id = i.incident_id.clone();
            t.incident = Some(i.clone());
            out.push(i);
        }
        out
    }

    /// The `sensor_offline` incident of `s`, silent since its last heartbeat.
    fn offline_incident(&self, s: &SensorState, now: u64) -> Incident {
        use sha2::Digest;
        let d = sha2::Sha256::digest(format!("{OFFLINE}\n{}\n{}", s.sensor_id, s.last_seen));
        let now_us = now * 1_000_000;
        let title = format!(
            "Sensor offline: {} silent since {}",
            s.sensor_id,
            Timestamp(s.last_seen * 1_000_000).rfc3339()
        );
        Incident {
            incident_id: format!("{}-{}", self.origin, hex::encode(&d[..8])),
            province: s.province.clone(),
            enterprise_id: s.enterprise_id.clone(),
            industry: s.industry.clone(),
            grade: s.grade,
            sensor_id: s.sensor_id.clone(),
            criterion: OFFLINE.into(),
            title,
            priority: priority(2, s.grade, &s.industry),
            severity: 2,
            technique: String::new(),
            sid: 0,
            state: State::Open.name().into(),
            opened: now as u32,
            updated: now as u32,
            alerts: 0,
            evidence: serde_json::json!({ "sensor": s }).to_string(),
            history: serde_json::to_string(&[Step {
                state: State::Open,
                at: Timestamp(now_us).rfc3339(),
                by: self.origin.clone(),
                note: format!("no heartbeat for {} s", now.saturating_sub(s.last_seen)),
            }])
            .unwrap_or_default(),
            origin: self.origin.clone(),
            version: now_us,
            ..Incident::default()
        }
    }

    /// The sensors `sees` lets through, by province, enterprise and id.
    pub fn list(&self, sees: impl Fn(&str, &str) -> bool) -> Vec<SensorState> {
        let mut out: Vec<SensorState> = (self.lock().values())
            .filter(|t| sees(&t.state.province, &t.state.enterprise_id))
            .map(|t| t.state.clone())
            .collect();
        out.sort_by(|a, b| {
            (&a.province, &a.enterprise_id, &a.sensor_id).cmp(&(
                &b.province,
                &b.enterprise_id,
                &b.sensor_id,
            ))
        });
        out
    }
}

/// Each sensor's latest `stats` line received within the last hour, with its binding and the
/// time it came (UNIX s): what a restarted collector knows of its fleet.
pub async fn recent(store: &Store) -> clickhouse::error::Result<Vec<(SensorEntry, u64, String)>> {
    #[derive(clickhouse::Row, Deserialize)]
    struct Last {
        sensor_id: String,
        enterprise_id: String,
        province: String,
        industry: String,
        grade: u8,
        at: u32,
        raw: String,
    }
    let rows: Vec<Last> = store
        .client()
        .query(
            "SELECT sensor_id, argMax(enterprise_id, received) AS enterprise_id, \
             argMax(province, received) AS province, argMax(industry, received) AS industry, \
             argMax(grade, received) AS grade, toUInt32(max(received)) AS at, \
             argMax(raw, received) AS raw FROM sensor_stats \
             WHERE ts >= now() - 86400 * 2 AND received >= now() - 3600 GROUP BY sensor_id",
        )
        .fetch_all()
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let who = SensorEntry {
                id: r.sensor_id,
                enterprise_id: r.enterprise_id,
                province: r.province,
                industry: r.industry,
                grade: r.grade,
                token_sha256: String::new(),
            };
            (who, u64::from(r.at), r.raw)
        })
        .collect())
}

/// Every quarter of `offline_seconds` (at most 5 s), mark the sensors gone silent offline and
/// open their incidents; an incident not stored comes out again at the next sweep.
pub async fn sweep_loop(fleet: Arc<Fleet>, incidents: Arc<Incidents>, offline_seconds: u64) {
    let every = std::time::Duration::from_secs_f64((offline_seconds as f64 / 4.0).clamp(0.5, 5.0));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut unsaved: Vec<Incident> = Vec::new();
    loop {
        tick.tick().await;
        unsaved.extend(fleet.sweep(now_s()));
        if unsaved.is_empty() {
            continue;
        }
        match incidents.raise(&unsaved).await {
            Ok(()) => unsaved.clear(),
            Err(e) => tracing::warn!(error = %e, pending = unsaved.len(),
                "storing sensor_offline incidents failed; trying again"),
        }
    }
}

fn state_of(s: &SensorEntry) -> SensorState {
    SensorState {
        sensor_id: s.id.clone(),
        enterprise_id: s.enterprise_id.clone(),
        province: s.province.clone(),
        industry: s.industry.clone(),
        grade: s.grade,
        status: Status::NeverSeen,
        last_seen: 0,
        heartbeat: Heartbeat::default(),
        incident_id: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sensor(id: &str) -> SensorEntry {
        SensorEntry {
            id: id.into(),
            enterprise_id: "E1".into(),
            province: "330000".into(),
            industry: "energy".into(),
            grade: 1,
            token_sha256: String::new(),
        }
    }

    fn beat(live: bool) -> Heartbeat {
        Heartbeat {
            live,
            version: "0.1.0".into(),
            ..Heartbeat::default()
        }
    }

    #[test]
    fn a_live_sensor_silent_too_long_opens_one_incident_and_closes_it_when_heard() {
        let f = Fleet::new(&[sensor("s1"), sensor("s2")], 60, "zj");
        assert!(f.sweep(1_000).is_empty(), "never seen is not offline");
        assert!(f.heard(&sensor("s1"), beat(true), 1_000).is_none());
        f.heard(&sensor("s2"), beat(false), 1_000);
        assert!(f.sweep(1_059).is_empty());
        let opened = f.sweep(1_060);
        assert_eq!(opened.len(), 1, "a replay's sensor never goes missing");
        let i = &opened[0];
        assert_eq!(
            (i.criterion.as_str(), i.sensor_id.as_str(), i.state.as_str()),
            (OFFLINE, "s1", "open")
        );
        assert!(f.sweep(2_000).is_empty(), "one incident an outage");
        let listed = f.list(|_, _| true);
        assert_eq!(listed[0].status, Status::Offline);
        assert_eq!(listed[0].incident_id, i.incident_id);
        assert_eq!(listed[1].status, Status::Replayed);
        // A replay's stats do not end the outage; a live heartbeat does.
        assert!(f.heard(&sensor("s1"), beat(false), 2_001).is_none());
        let ended = f
            .heard(&sensor("s1"), beat(true), 2_002)
            .expect("the outage's incident");
        assert_eq!(ended.incident_id, i.incident_id);
        assert_eq!(f.list(|_, _| true)[0].status, Status::Online);
        assert!(f.list(|p, _| p == "440000").is_empty(), "scoped");
    }

    #[test]
    fn the_same_outage_is_the_same_incident_after_a_restart() {
        let f = Fleet::new(&[sensor("s1")], 60, "zj");
        f.heard(&sensor("s1"), beat(true), 1_000);
        let i = f.sweep(1_100).pop().expect("offline");
        let g = Fleet::new(&[sensor("s1")], 60, "zj");
        g.restore(std::slice::from_ref(&i));
        assert_eq!(g.list(|_, _| true)[0].status, Status::Offline);
        assert!(g.sweep(5_000).is_empty(), "not opened again");
        assert_eq!(g.heard(&sensor("s1"), beat(true), 5_001), Some(i));
    }
}
