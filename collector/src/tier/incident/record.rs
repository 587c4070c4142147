//! Incidents kept: each new version stored, counted and sent to the tier above at once; the
//! evidence of a newly opened one gathered in the background; lists and moves on for the
//! API, within the scope the caller gives.

use std::borrow::Cow;
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;
use serde::Deserialize;

use super::filing::{self, Checked, Filing};
use super::{Escalator, Evidence, Incident, State};
use crate::event::AlertRow;
use crate::store::{self, Store};
use crate::tier::live::Live;
use crate::tier::registry::grade_points;
use crate::tier::report::{self, IncidentReport};
use crate::tier::upstream::{self, Upstream};
use crate::time::{now_s, now_us};

/// The incidents of this tier: the escalator and what it needs to keep what it opens.
pub struct Incidents {
    pub escalator: Escalator,
    store: Store,
    upstream: Option<Arc<Upstream>>,
    /// Incident versions stored.
    stored: Counter,
    /// Where new incidents are announced.
    pub live: Live,
    /// Comments, response levels and tasks on the incidents.
    pub coordination: Arc<super::coordination::Coordination>,
    /// One change of a stored incident at a time (a report, a move on, an overdue flag), each
    /// made to the newest version: two at once would each write over the other's.
    changes: tokio::sync::Mutex<()>,
}

/// A move on refused, or not stored.
#[derive(Debug, thiserror::Error)]
pub enum MoveError {
    /// Not a move this incident can make (backwards, or to where it is).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Storage(#[from] store::Error),
}

/// Which incidents a list asks for; `None` is no limit on that dimension.
#[derive(Debug, Default)]
pub struct ListQuery {
    /// Opened within, UNIX seconds.
    pub from: u32,
    pub to: u32,
    pub province: Option<String>,
    pub enterprise: Option<String>,
    pub state: Option<String>,
    pub limit: u32,
}

const COLUMNS: &str =
    "incident_id, province, enterprise_id, industry, grade, sensor_id, criterion, \
    title, priority, severity, technique, sid, state, toUInt32(opened) AS opened, \
    toUInt32(updated) AS updated, alerts, evidence, history, origin, version, \
    level, category, stage, reported, due, flagged, drill";

/// The incidents not yet closed, newest version of each: what the escalator takes back at
/// start.
pub async fn load_open(store: &Store) -> clickhouse::error::Result<Vec<Incident>> {
    store
        .client()
        .query(&format!(
            "SELECT {COLUMNS} FROM incidents FINAL WHERE state != 'closed'"
        ))
        .fetch_all()
        .await
}

/// What the evidence gathering reads of an incident's first alert.
#[derive(Deserialize)]
struct FirstAlert<'a> {
    #[serde(borrow, default)]
    src_ip: Cow<'a, str>,
    #[serde(borrow, default)]
    dest_ip: Cow<'a, str>,
    #[serde(borrow, default)]
    sensor: FirstSensor<'a>,
}

#[derive(Deserialize, Default)]
struct FirstSensor<'a> {
    #[serde(borrow)]
    enterprise_id: Option<Cow<'a, str>>,
}

impl Incidents {
    pub fn new(
        escalator: Escalator,
        store: Store,
        upstream: Option<Arc<Upstream>>,
        stored: Counter,
        live: Live,
        coordination: Arc<super::coordination::Coordination>,
    ) -> Incidents {
        Incidents {
            escalator,
            store,
            upstream,
            stored,
            live,
            coordination,
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Store incidents' new versions, count them and send them to the tier above at once.
    async fn store_versions(&self, incidents: &[Incident]) -> clickhouse::error::Result<()> {
        self.store.insert("incidents", incidents).await?;
        self.stored.inc_by(incidents.len() as u64);
        self.live.incidents(incidents);
        let lines: Vec<Vec<u8>> = incidents.iter().map(report::incident_line).collect();
        upstream::report_now(self.upstream.as_deref(), &lines);
        Ok(())
    }

    /// Run a batch's alerts through the criteria and keep what they open or grow. Stored
    /// before the batch is acknowledged: a batch sent again after a failure here is escalated
    /// again, and the same incident comes out. `relayed`: alerts an enterprise tier escalated
    /// already.
    pub async fn escalate(
        self: &Arc<Self>,
        alerts: &[AlertRow],
        relayed: bool,
    ) -> clickhouse::error::Result<()> {
        let incidents = self.escalator.observe(alerts, now_us(), relayed);
        if incidents.is_empty() {
            return Ok(());
        }
        self.record(&incidents).await
    }

    /// Store incidents made outside the criteria (a sensor gone silent) and send them up at
    /// once.
    pub async fn raise(&self, incidents: &[Incident]) -> clickhouse::error::Result<()> {
        if incidents.is_empty() {
            return Ok(());
        }
        self.store_versions(incidents).await?;
        for i in incidents {
            tracing::warn!(incident = %i.incident_id, criterion = %i.criterion, province = %i.province,
                enterprise = %i.enterprise_id, sensor = %i.sensor_id, priority = i.priority, "incident opened");
        }
        Ok(())
    }

    /// Store incidents' new versions and send them up at once; look for the evidence of the
    /// newly opened ones in the background.
    pub async fn record(self: &Arc<Self>, incidents: &[Incident]) -> clickhouse::error::Result<()> {
        self.store_versions(incidents).await?;
        self.escalator.saved(incidents);
        for i in incidents
            .iter()
            .filter(|i| i.alerts == 1 && i.state == "open")
        {
            tracing::warn!(incident = %i.incident_id, criterion = %i.criterion, province = %i.province,
                enterprise = %i.enterprise_id, priority = i.priority, "incident opened");
            let this = self.clone();
            let i = i.clone();
            tokio::spawn(async move {
                if let Err(e) = this.enrich(&i).await {
                    tracing::warn!(incident = %i.incident_id, error = %e, "gathering evidence failed");
                }
            });
        }
        Ok(())
    }

    /// The hosts of the first alert, from the inventory, and the flows between them in the hour
    /// around it.
    async fn enrich(&self, i: &Incident) -> anyhow::Result<()> {
        let ev: Evidence = serde_json::from_str(&i.evidence)?;
        let Some(first) = ev.alerts.first() else {
            return Ok(());
        };
        let first: FirstAlert<'_> = serde_json::from_str(first.get())?;
        let (src, dest) = (first.src_ip.into_owned(), first.dest_ip.into_owned());
        let enterprise = first
            .sensor
            .enterprise_id
            .map_or_else(|| i.enterprise_id.clone(), Cow::into_owned);
        let client = self.store.client();
        let assets = self
            .inventory(&i.province, &enterprise, &[src.clone(), dest.clone()])
            .await?;
        let t = i.opened;
        let flows: Vec<FlowSummary> = client
            .query(
                "SELECT flow_id, src_ip, src_port, dest_ip, dest_port, app_proto, \
                 toUInt32(flow_start) AS flow_start, toUInt32(flow_end) AS flow_end, \
                 bytes_toserver, bytes_toclient, state FROM flows \
                 WHERE province = ? AND enterprise_id = ? AND ts >= ? AND ts <= ? \
                 AND ((src_ip = ? AND dest_ip = ?) OR (src_ip = ? AND dest_ip = ?)) \
                 ORDER BY ts DESC LIMIT 20",
            )
            .bind(&i.province)
            .bind(&enterprise)
            .bind(t.saturating_sub(3600))
            .bind(t + 3600)
            .bind(&src)
            .bind(&dest)
            .bind(&dest)
            .bind(&src)
            .fetch_all()
            .await?;
        // The inventory's lines as stored, checked as JSON and kept as text.
        let assets = assets
            .into_iter()
            .filter_map(|a| serde_json::value::RawValue::from_string(a.raw).ok())
            .collect();
        let flows = flows
            .iter()
            .filter_map(|f| serde_json::value::to_raw_value(f).ok())
            .collect();
        if let Some(next) = self
            .escalator
            .enrich(&i.incident_id, assets, flows, now_us())
        {
            self.store_versions(std::slice::from_ref(&next)).await?;
            self.escalator.saved(std::slice::from_ref(&next));
        }
        Ok(())
    }

    /// The newest version of each incident changed since `secs` (UNIX seconds), for the
    /// notifications.
    pub async fn changed_since(&self, secs: u64) -> clickhouse::error::Result<Vec<Incident>> {
        self.store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incidents FINAL WHERE updated >= ? ORDER BY updated LIMIT 10000"
            ))
            .bind(secs.min(u64::from(u32::MAX)) as u32)
            .fetch_all()
            .await
    }

    /// The newest version of each incident `q` asks for, by priority.
    pub async fn list(&self, q: &ListQuery) -> clickhouse::error::Result<Vec<Incident>> {
        let mut sql =
            format!("SELECT {COLUMNS} FROM incidents FINAL WHERE opened >= ? AND opened <= ?");
        if q.province.is_some() {
            sql.push_str(" AND province = ?");
        }
        if q.enterprise.is_some() {
            sql.push_str(" AND enterprise_id = ?");
        }
        if q.state.is_some() {
            sql.push_str(" AND state = ?");
        }
        sql.push_str(" ORDER BY priority DESC, updated DESC LIMIT ?");
        let mut query = self.store.client().query(&sql).bind(q.from).bind(q.to);
        for v in [&q.province, &q.enterprise, &q.state].into_iter().flatten() {
            query = query.bind(v);
        }
        query.bind(q.limit).fetch_all().await
    }

    /// The newest version of incident `id` within `province` and `enterprise` (`None`: any),
    /// the scope filtered in the query: an incident is keyed by its province as well as its
    /// id, and a row of another province never stands in for it.
    pub async fn get(
        &self,
        id: &str,
        province: Option<&str>,
        enterprise: Option<&str>,
    ) -> clickhouse::error::Result<Option<Incident>> {
        let mut sql = format!("SELECT {COLUMNS} FROM incidents FINAL WHERE incident_id = ?");
        if province.is_some() {
            sql.push_str(" AND province = ?");
        }
        if enterprise.is_some() {
            sql.push_str(" AND enterprise_id = ?");
        }
        sql.push_str(" ORDER BY version DESC LIMIT 1");
        let mut q = self.store.client().query(&sql).bind(id);
        for v in [province, enterprise].into_iter().flatten() {
            q = q.bind(v);
        }
        Ok(q.fetch_all().await?.into_iter().next())
    }

    /// File report `f` (checked as `c`) by `author`: on incident `current`, or opening
    /// `current` when it is new (not stored yet). The report is stored and sent up before the
    /// incident's new version, so no tier shows a report stage it does not hold.
    pub async fn file(
        &self,
        current: &Incident,
        new: bool,
        f: &Filing,
        c: &Checked,
        author: &str,
    ) -> Result<(Incident, IncidentReport), MoveError> {
        let _one = self.changes.lock().await;
        let (current, seq) = if new {
            (current.clone(), 1)
        } else {
            let newest = self.newest(current).await?;
            (newest, self.last_seq(&current.incident_id).await? + 1)
        };
        let current = &current;
        let assets = self.affected(current, &f.assets).await?;
        let now = now_us();
        let mut kept = None;
        let next = self.escalator.amend(current, now, |next| {
            kept = Some(filing::apply(next, f, c, author, seq, assets, now));
        });
        let kept = kept.expect("amend runs the change");
        self.store
            .insert("incident_reports", std::slice::from_ref(&kept))
            .await?;
        upstream::report_now(
            self.upstream.as_deref(),
            &[report::incident_report_line(&kept)],
        );
        self.store_versions(std::slice::from_ref(&next)).await?;
        Ok((next, kept))
    }

    /// The newest stored version of `i`, or `i` when it is the newest.
    async fn newest(&self, i: &Incident) -> clickhouse::error::Result<Incident> {
        Ok(self
            .get(&i.incident_id, Some(&i.province), Some(&i.enterprise_id))
            .await?
            .filter(|n| n.version > i.version)
            .unwrap_or_else(|| i.clone()))
    }

    async fn last_seq(&self, id: &str) -> clickhouse::error::Result<u32> {
        self.store
            .client()
            .query("SELECT toUInt32(max(seq)) FROM incident_reports WHERE incident_id = ?")
            .bind(id)
            .fetch_one()
            .await
    }

    /// Addresses `ips` of `i`'s enterprise as the inventory knows them here: each with its
    /// stored asset line, or only the address where none is (another tier's inventory).
    async fn affected(&self, i: &Incident, ips: &[String]) -> clickhouse::error::Result<String> {
        if ips.is_empty() {
            return Ok("[]".into());
        }
        let known = self.inventory(&i.province, &i.enterprise_id, ips).await?;
        let out: Vec<serde_json::Value> = ips
            .iter()
            .map(|ip| {
                let asset = known
                    .iter()
                    .find(|k| &k.ip == ip)
                    .and_then(|k| serde_json::from_str::<serde_json::Value>(&k.raw).ok());
                serde_json::json!({ "ip": ip, "asset": asset })
            })
            .collect();
        Ok(serde_json::to_string(&out).unwrap_or_else(|_| "[]".into()))
    }

    /// The inventory's newest line of each of `ips` at an enterprise, as stored here.
    async fn inventory(
        &self,
        province: &str,
        enterprise: &str,
        ips: &[String],
    ) -> clickhouse::error::Result<Vec<Known>> {
        self.store
            .client()
            .query(
                "SELECT ip, argMax(raw, ts_us) AS raw FROM assets_current \
                 WHERE province = ? AND enterprise_id = ? AND has(?, ip) GROUP BY ip",
            )
            .bind(province)
            .bind(enterprise)
            .bind(ips)
            .fetch_all()
            .await
    }

    /// Every report incident `id` received, in order, within `province` and `enterprise`
    /// (`None`: any).
    pub async fn reports(
        &self,
        id: &str,
        province: Option<&str>,
        enterprise: Option<&str>,
    ) -> clickhouse::error::Result<Vec<IncidentReport>> {
        let mut sql = String::from(
            "SELECT incident_id, province, enterprise_id, origin, seq, stage, level, category, \
             title, assets, impact, measures, cause, disposal, lessons, author, \
             toUInt32(submitted) AS submitted, version FROM incident_reports FINAL \
             WHERE incident_id = ?",
        );
        if province.is_some() {
            sql.push_str(" AND province = ?");
        }
        if enterprise.is_some() {
            sql.push_str(" AND enterprise_id = ?");
        }
        sql.push_str(" ORDER BY seq LIMIT 1000");
        let mut q = self.store.client().query(&sql).bind(id);
        for v in [province, enterprise].into_iter().flatten() {
            q = q.bind(v);
        }
        q.fetch_all().await
    }

    /// Flag this tier's incidents whose next report is late at `now`, each deadline once:
    /// the flagged versions, stored and sent up.
    pub async fn sweep_overdue(&self, now: u64) -> clickhouse::error::Result<Vec<Incident>> {
        let _one = self.changes.lock().await;
        let late: Vec<Incident> = self
            .store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incidents FINAL WHERE origin = ? AND due > 0 \
                 AND due <= ? AND flagged != due AND state != 'closed' LIMIT 10000"
            ))
            .bind(self.escalator.origin())
            .bind(now)
            .fetch_all()
            .await?;
        let now_us = now_us();
        let flagged: Vec<Incident> = late
            .iter()
            .map(|i| {
                let origin = self.escalator.origin().to_owned();
                self.escalator.amend(i, now_us, |next| {
                    *next = filing::flag(next, &origin, now_us)
                })
            })
            // Amended from a newer copy, the deadline may have moved on.
            .filter(|i| filing::overdue(i, now) && i.flagged == i.due)
            .collect();
        if flagged.is_empty() {
            return Ok(flagged);
        }
        self.store_versions(&flagged).await?;
        for i in &flagged {
            tracing::warn!(incident = %i.incident_id, province = %i.province, enterprise = %i.enterprise_id,
                stage = %i.stage, due = i.due, "incident report overdue");
        }
        Ok(flagged)
    }

    /// Enterprise `enterprise` is now of `grade`: its open incidents opened here carry the new
    /// grade, their priority moved by the difference the grade makes ([`grade_points`]); the
    /// new versions, stored and sent up.
    pub async fn regrade(
        &self,
        enterprise: &str,
        grade: u8,
    ) -> clickhouse::error::Result<Vec<Incident>> {
        let _one = self.changes.lock().await;
        let open: Vec<Incident> = self
            .store
            .client()
            .query(&format!(
                "SELECT {COLUMNS} FROM incidents FINAL WHERE origin = ? AND enterprise_id = ? \
                 AND grade != ? AND state != 'closed' LIMIT 10000"
            ))
            .bind(self.escalator.origin())
            .bind(enterprise)
            .bind(grade)
            .fetch_all()
            .await?;
        let now_us = now_us();
        let moved: Vec<Incident> = open
            .iter()
            .map(|i| {
                self.escalator.amend(i, now_us, |next| {
                    let p = i16::from(next.priority) - i16::from(grade_points(next.grade))
                        + i16::from(grade_points(grade));
                    next.priority = p.clamp(0, 100) as u8;
                    next.grade = grade;
                })
            })
            .collect();
        if !moved.is_empty() {
            self.store_versions(&moved).await?;
        }
        Ok(moved)
    }

    /// Move incident `current` on to `to`, by `by`; its new version, stored and sent up.
    pub async fn transition(
        &self,
        current: &Incident,
        to: State,
        by: &str,
        note: &str,
    ) -> Result<Incident, MoveError> {
        let _one = self.changes.lock().await;
        let current = self.newest(current).await?;
        let next = self
            .escalator
            .transition(&current, to, by, note, now_us())
            .map_err(MoveError::Refused)?;
        self.store_versions(std::slice::from_ref(&next)).await?;
        Ok(next)
    }
}

/// Look for overdue incident reports every `interval`.
pub async fn overdue_loop(incidents: Arc<Incidents>, interval: std::time::Duration) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = incidents.sweep_overdue(now_s()).await {
            tracing::warn!(error = %e, "looking for overdue incident reports failed");
        }
    }
}

/// An asset's inventory line.
#[derive(clickhouse::Row, Deserialize)]
struct Known {
    ip: String,
    raw: String,
}

#[derive(clickhouse::Row, Deserialize, serde::Serialize)]
struct FlowSummary {
    flow_id: u64,
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
    app_proto: String,
    flow_start: u32,
    flow_end: u32,
    bytes_toserver: u64,
    bytes_toclient: u64,
    state: String,
}
