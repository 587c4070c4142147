//! The hazard register (安全隐患排查与整改): devices under published advisories, and
//! inspectors' findings, followed from found to verified.
//!
//! The tier that stores a plant's sensor events keeps its hazards: every `scan_interval_s` it
//! matches the identities newly seen in the inventory (`assets_current`) against the advisory
//! catalogue ([`crate::csaf`]), and all of them again after an import. A hit is a hazard in
//! state `found`, due by its CVSS and the enterprise's grade; a device seen again with a
//! firmware outside every range of an advisory has that hazard `verified` by the matcher
//! (actor `auto`), and one that falls back into a range has it found again. People move a
//! hazard on: `assigned` (to whom), `remediated` (what was done), `verified` (an inspector's
//! note). Every version is a row, sent up the tiers at once; overdue is a hazard not verified
//! past its deadline, counted wherever the rows are.

pub mod feed;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::registry;
use super::report::{self, Hazard, HAZARD_STATES};
use super::upstream::{self, Upstream};
use crate::config::{Config, HazardsConfig};
use crate::csaf::{self, Catalogue, Confidence, Device, Hit};
use crate::store::Store;
use crate::time::{now_s, now_us};

/// Advisories read per query when the catalogue is loaded.
const LOAD_PAGE: u64 = 500;
/// Devices whose hazards are looked up per query.
const LOOKUP_CHUNK: usize = 500;

/// The hazards of one tier and the catalogue they are matched with.
pub struct Register {
    store: Store,
    upstream: Option<Arc<Upstream>>,
    registry: Arc<registry::Shared>,
    config: Arc<Config>,
    catalogue: RwLock<Arc<Catalogue>>,
    /// What the catalogue was read from (the advisories' newest version, the KEV file's
    /// modification time), and the newest asset row matched.
    loaded: Mutex<((u64, u64), u64)>,
    /// One change of the register at a time: a scan and a person's step never cross.
    writing: tokio::sync::Mutex<()>,
}

/// What one scan did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    pub devices: usize,
    pub found: usize,
    pub updated: usize,
    pub verified: usize,
    pub reopened: usize,
}

/// Why a step was refused.
#[derive(Debug)]
pub enum StepError {
    NotFound,
    /// The step does not follow from the hazard's state, or the request is wrong.
    Invalid(String),
    /// Kept at another tier: only it moves the hazard on.
    Elsewhere(String),
    Storage(clickhouse::error::Error),
}

impl From<clickhouse::error::Error> for StepError {
    fn from(e: clickhouse::error::Error) -> Self {
        StepError::Storage(e)
    }
}

/// A person's step on a hazard.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// `assigned`, `remediated`, `verified` or `found` (reopen).
    pub state: String,
    #[serde(default)]
    pub assignee: String,
    #[serde(default)]
    pub note: String,
    /// A new deadline, UNIX seconds (assigning only); 0 keeps it.
    #[serde(default)]
    pub deadline: u32,
}

/// Whether `from` → `to` is a step people may take; `None`: it is.
pub fn step_refusal(from: &str, to: &str) -> Option<String> {
    let ok = matches!(
        (from, to),
        ("found" | "assigned", "assigned")
            | ("found" | "assigned", "remediated")
            | ("found" | "assigned" | "remediated", "verified")
            | ("remediated" | "verified", "found")
    );
    (!ok).then(|| format!("a {from} hazard cannot become {to}"))
}

/// The hazard id of `advisory` on a device: the same device and advisory is one hazard.
fn hazard_id(enterprise: &str, ip: &str, advisory: &str) -> String {
    let d = Sha256::digest(format!("{enterprise}|{ip}|{advisory}").as_bytes());
    format!("hz-{}", hex::encode(&d[..8]))
}

/// Days to remediate a hazard of `cvss` at an enterprise of `grade`.
pub fn deadline_days(c: &HazardsConfig, cvss: f64, grade: u8) -> u32 {
    let band = if cvss >= 9.0 {
        0
    } else if cvss >= 7.0 {
        1
    } else if cvss >= 4.0 {
        2
    } else {
        3
    };
    let percent = match grade {
        1..=3 => c.grade_percent[usize::from(grade) - 1],
        _ => 100,
    };
    (c.deadline_days[band] * percent / 100).max(1)
}

/// The identity an asset event's record carries.
fn device_of(raw: &str) -> Option<Device> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let a = if v["asset"].is_object() {
        &v["asset"]
    } else {
        &v
    };
    let id = &a["identity"];
    let field = |k: &str| {
        id[k]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let d = Device {
        vendor: field("vendor"),
        product: field("product"),
        model: field("model"),
        firmware: field("firmware"),
    };
    (d.product.is_some() || d.model.is_some()).then_some(d)
}

#[derive(clickhouse::Row, Deserialize)]
struct AssetRow {
    province: String,
    enterprise_id: String,
    ip: String,
    sensor_id: String,
    raw: String,
    ts_us: u64,
}

impl Register {
    pub fn new(
        store: Store,
        upstream: Option<Arc<Upstream>>,
        registry: Arc<registry::Shared>,
        config: Arc<Config>,
    ) -> Register {
        Register {
            store,
            upstream,
            registry,
            config,
            catalogue: RwLock::new(Arc::new(Catalogue::default())),
            loaded: Mutex::new(((0, 0), 0)),
            writing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue.read().expect("catalogue lock").clone()
    }

    /// The newest version among stored advisories.
    async fn advisories_version(&self) -> clickhouse::error::Result<u64> {
        self.store
            .client()
            .query("SELECT max(version) FROM advisories")
            .fetch_one()
            .await
    }

    /// Reads every stored advisory into a new catalogue.
    async fn load_catalogue(&self) -> clickhouse::error::Result<Catalogue> {
        let mut docs = Vec::new();
        let mut after = String::new();
        loop {
            let page: Vec<(String, String)> = self
                .store
                .client()
                .query(
                    "SELECT advisory_id, argMax(doc, version) FROM advisories \
                     WHERE advisory_id > ? GROUP BY advisory_id ORDER BY advisory_id LIMIT ?",
                )
                .bind(&after)
                .bind(LOAD_PAGE)
                .fetch_all()
                .await?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            docs.extend(page.into_iter().map(|(_, d)| d));
        }
        // Parsing 2,000 documents takes a second: off the async threads.
        let catalogue = tokio::task::spawn_blocking(move || {
            Catalogue::new(docs.iter().filter_map(|d| match csaf::parse(d.as_bytes()) {
                Ok(a) => Some(a),
                Err(e) => {
                    tracing::warn!(error = %e, "a stored advisory no longer reads; skipped");
                    None
                }
            }))
        })
        .await
        .expect("catalogue parsing does not panic");
        Ok(catalogue)
    }

    /// When the KEV file last changed (microseconds), 0 without one.
    fn kev_modified(&self) -> u64 {
        let path = &self.config.hazards.kev_file;
        if path.as_os_str().is_empty() {
            return 0;
        }
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(1, |d| d.as_micros() as u64)
    }

    /// The CVEs of the KEV file; none when it cannot be read (said in the log).
    fn known_exploited(&self) -> Vec<String> {
        let path = &self.config.hazards.kev_file;
        if path.as_os_str().is_empty() {
            return Vec::new();
        }
        let read = std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<serde_json::Value>(&b).map_err(|e| e.to_string())
            });
        match read {
            Ok(v) => (v["vulnerabilities"].as_array().into_iter().flatten())
                .filter_map(|x| x["cveID"].as_str().map(str::to_owned))
                .collect(),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "hazards.kev_file: cannot read; no CVE marked exploited");
                Vec::new()
            }
        }
    }

    /// Enterprises whose events this tier receives from an enterprise collector below: that
    /// collector keeps their hazards and reports them.
    fn kept_below(&self) -> HashSet<&str> {
        (self.config.collectors.iter())
            .filter(|c| !c.enterprise_id.is_empty())
            .map(|c| c.enterprise_id.as_str())
            .collect()
    }

    /// Matches what changed since the last scan (everything, after an import).
    pub async fn scan(&self) -> clickhouse::error::Result<Scan> {
        let _writing = self.writing.lock().await;
        let version = (self.advisories_version().await?, self.kev_modified());
        let (loaded, mut cursor) = *self.loaded.lock().expect("scan state");
        if version != loaded {
            let mut c = self.load_catalogue().await?;
            let kev = self.known_exploited();
            tracing::info!(
                advisories = c.len(),
                known_exploited = kev.len(),
                "advisory catalogue loaded"
            );
            c.set_known_exploited(kev);
            *self.catalogue.write().expect("catalogue lock") = Arc::new(c);
            cursor = 0;
        }
        let catalogue = self.catalogue();
        let rows: Vec<AssetRow> = self
            .store
            .client()
            .query(
                "SELECT province, enterprise_id, ip, sensor_id, raw, ts_us \
                 FROM assets_current FINAL WHERE ts_us > ?",
            )
            .bind(cursor)
            .fetch_all()
            .await?;
        let newest = rows.iter().map(|r| r.ts_us).max().unwrap_or(cursor);
        let below = self.kept_below();
        let devices: Vec<(AssetRow, Device)> = rows
            .into_iter()
            .filter(|r| !below.contains(r.enterprise_id.as_str()))
            .filter_map(|r| device_of(&r.raw).map(|d| (r, d)))
            .collect();
        let mut scan = Scan {
            devices: devices.len(),
            ..Scan::default()
        };
        let mut out = Vec::new();
        for chunk in devices.chunks(LOOKUP_CHUNK) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|(r, _)| format!("{}|{}", r.enterprise_id, r.ip))
                .collect();
            let held = self.held(&keys).await?;
            for (row, device) in chunk {
                self.judge(&catalogue, row, device, &held, &mut scan, &mut out);
            }
        }
        self.write(&out).await?;
        *self.loaded.lock().expect("scan state") = (version, newest);
        Ok(scan)
    }

    /// The advisory hazards held for devices `keys` (`enterprise|ip`), newest version each.
    async fn held(&self, keys: &[String]) -> clickhouse::error::Result<HashMap<String, Hazard>> {
        let rows: Vec<Hazard> = self
            .store
            .client()
            .query(
                "SELECT ?fields FROM hazards FINAL \
                 WHERE kind = 'advisory' AND has(?, concat(enterprise_id, '|', ip))",
            )
            .bind(keys)
            .fetch_all()
            .await?;
        Ok(rows.into_iter().map(|h| (h.hazard_id.clone(), h)).collect())
    }

    /// What the catalogue says of one device, against what the register holds of it.
    fn judge(
        &self,
        catalogue: &Catalogue,
        row: &AssetRow,
        device: &Device,
        held: &HashMap<String, Hazard>,
        scan: &mut Scan,
        out: &mut Vec<Hazard>,
    ) {
        let least =
            Confidence::parse(&self.config.hazards.min_confidence).unwrap_or(Confidence::Family);
        let hits: BTreeMap<String, Hit> = catalogue
            .matches(device)
            .into_iter()
            .filter(|h| h.confidence >= least)
            .map(|h| (hazard_id(&row.enterprise_id, &row.ip, &h.advisory), h))
            .collect();
        let now = now_s() as u32;
        let firmware = device.firmware.clone().unwrap_or_default();
        for (id, hit) in &hits {
            match held.get(id) {
                None => {
                    scan.found += 1;
                    out.push(self.new_hazard(id, row, device, hit, now));
                }
                Some(h) if h.state == "verified" => {
                    // Verified by the firmware, and the firmware is back in the range.
                    if h.actor == "auto" && h.firmware != firmware {
                        scan.reopened += 1;
                        let mut n = self.refreshed(h, device, hit, now);
                        n.state = "found".into();
                        n.actor = "auto".into();
                        n.note =
                            format!("firmware {firmware} seen: within the advisory's range again");
                        out.push(n);
                    }
                }
                Some(h) => {
                    let changed = h.firmware != firmware
                        || h.confidence != hit.confidence.as_str()
                        || h.why != hit.why
                        || h.cves != hit.cves
                        || h.exploited != u8::from(hit.exploited)
                        || h.cvss != hit.cvss;
                    if changed {
                        scan.updated += 1;
                        let mut n = self.refreshed(h, device, hit, now);
                        n.actor = "auto".into();
                        out.push(n);
                    }
                }
            }
        }
        // Hazards of this device no advisory covers any more: a fixed firmware.
        let prefix = (row.enterprise_id.as_str(), row.ip.as_str());
        for h in held.values() {
            if (h.enterprise_id.as_str(), h.ip.as_str()) != prefix
                || hits.contains_key(&h.hazard_id)
                || h.state == "verified"
                || device.firmware.is_none()
                || catalogue.get(&h.advisory_id).is_none()
            {
                continue;
            }
            scan.verified += 1;
            let mut n = h.clone();
            n.firmware = firmware.clone();
            n.state = "verified".into();
            n.actor = "auto".into();
            n.note = format!(
                "firmware {firmware} seen on the wire is outside the advisory's affected versions{}",
                if h.fixed_in.is_empty() {
                    String::new()
                } else {
                    format!(" (fixed in {})", h.fixed_in)
                }
            );
            n.updated = now;
            n.version = now_us();
            out.push(n);
        }
    }

    fn new_hazard(&self, id: &str, row: &AssetRow, d: &Device, hit: &Hit, now: u32) -> Hazard {
        let registry = self.registry.get();
        let e = registry.get(&row.enterprise_id);
        let grade = e.map_or(0, |e| e.grade);
        let days = deadline_days(&self.config.hazards, hit.cvss, grade);
        let mut h = Hazard {
            hazard_id: id.to_owned(),
            province: row.province.clone(),
            enterprise_id: row.enterprise_id.clone(),
            industry: e.map(|e| e.industry.clone()).unwrap_or_default(),
            grade,
            kind: "advisory".into(),
            ip: row.ip.clone(),
            sensor_id: row.sensor_id.clone(),
            state: "found".into(),
            deadline: now + days * 86_400,
            found: now,
            updated: now,
            actor: "auto".into(),
            origin: self.config.tier.id.clone(),
            version: now_us(),
            ..Hazard::default()
        };
        fill(&mut h, d, hit);
        h
    }

    /// A new version of `h` with what the device and the advisory now say.
    fn refreshed(&self, h: &Hazard, d: &Device, hit: &Hit, now: u32) -> Hazard {
        let mut n = h.clone();
        fill(&mut n, d, hit);
        n.updated = now;
        n.version = now_us();
        n
    }

    async fn write(&self, rows: &[Hazard]) -> clickhouse::error::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.store.insert("hazards", rows).await?;
        let lines: Vec<Vec<u8>> = rows.iter().map(report::hazard_line).collect();
        upstream::report_now(self.upstream.as_deref(), &lines);
        Ok(())
    }

    /// One hazard, newest version.
    pub async fn get(&self, id: &str) -> clickhouse::error::Result<Option<Hazard>> {
        let rows: Vec<Hazard> = self
            .store
            .client()
            .query("SELECT ?fields FROM hazards WHERE hazard_id = ? ORDER BY version DESC LIMIT 1")
            .bind(id)
            .fetch_all()
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Every version of a hazard, oldest first: its history.
    pub async fn history(&self, id: &str) -> clickhouse::error::Result<Vec<Hazard>> {
        self.store
            .client()
            .query("SELECT ?fields FROM hazards WHERE hazard_id = ? ORDER BY version")
            .bind(id)
            .fetch_all()
            .await
    }

    /// A person's step on hazard `id` (already checked to be in their scope by the caller
    /// through `check`).
    pub async fn step(
        &self,
        id: &str,
        step: &Step,
        actor: &str,
        check: impl FnOnce(&Hazard) -> Result<(), StepError>,
    ) -> Result<Hazard, StepError> {
        let _writing = self.writing.lock().await;
        let h = self.get(id).await?.ok_or(StepError::NotFound)?;
        check(&h)?;
        if h.origin != self.config.tier.id {
            return Err(StepError::Elsewhere(h.origin.clone()));
        }
        if !HAZARD_STATES.contains(&step.state.as_str()) {
            return Err(StepError::Invalid(format!(
                "state {:?}: use assigned, remediated, verified or found",
                step.state
            )));
        }
        if let Some(why) = step_refusal(&h.state, &step.state) {
            return Err(StepError::Invalid(why));
        }
        let note = step.note.trim();
        if note.len() > 8 << 10 || step.assignee.len() > 256 {
            return Err(StepError::Invalid("note or assignee too long".into()));
        }
        if step.state == "assigned" && step.assignee.trim().is_empty() {
            return Err(StepError::Invalid(
                "assignee: who is to remediate it".into(),
            ));
        }
        if step.state != "assigned" && note.is_empty() {
            return Err(StepError::Invalid(format!(
                "note: say what makes it {}",
                step.state
            )));
        }
        let now = now_s() as u32;
        let mut n = h.clone();
        n.state = step.state.clone();
        if step.state == "assigned" {
            n.assignee = step.assignee.trim().to_owned();
            if step.deadline != 0 {
                if step.deadline <= now {
                    return Err(StepError::Invalid("deadline: in the past".into()));
                }
                n.deadline = step.deadline;
            }
        }
        n.note = note.to_owned();
        n.actor = actor.to_owned();
        n.updated = now;
        n.version = now_us();
        self.write(std::slice::from_ref(&n)).await?;
        Ok(n)
    }

    /// Enterprise `enterprise` is now of `grade`: its open hazards kept here carry it, and
    /// those not yet taken on are due by it.
    pub async fn regrade(&self, enterprise: &str, grade: u8) -> clickhouse::error::Result<usize> {
        let _writing = self.writing.lock().await;
        let open: Vec<Hazard> = self
            .store
            .client()
            .query(
                "SELECT ?fields FROM hazards FINAL WHERE enterprise_id = ? AND origin = ? \
                 AND state != 'verified' AND grade != ?",
            )
            .bind(enterprise)
            .bind(&self.config.tier.id)
            .bind(grade)
            .fetch_all()
            .await?;
        let now = now_s() as u32;
        let moved: Vec<Hazard> = open
            .into_iter()
            .map(|mut h| {
                h.grade = grade;
                if h.state == "found" {
                    h.deadline =
                        h.found + deadline_days(&self.config.hazards, h.cvss, grade) * 86_400;
                }
                h.note = format!("enterprise regraded to grade {grade}");
                h.actor = "grading".into();
                h.updated = now;
                h.version = now_us();
                h
            })
            .collect();
        self.write(&moved).await?;
        Ok(moved.len())
    }

    /// Records an inspector's finding (检查检测) as a hazard of the register.
    pub async fn inspect(&self, mut h: Hazard) -> clickhouse::error::Result<Hazard> {
        let _writing = self.writing.lock().await;
        let registry = self.registry.get();
        let e = registry.get(&h.enterprise_id);
        h.grade = e.map_or(0, |e| e.grade);
        h.industry = e.map(|e| e.industry.clone()).unwrap_or_default();
        let now = now_s() as u32;
        if h.deadline == 0 {
            h.deadline = now + deadline_days(&self.config.hazards, h.cvss, h.grade) * 86_400;
        }
        let mut raw = [0u8; 8];
        getrandom::fill(&mut raw).expect("randomness");
        h.hazard_id = format!("hz-i{}", hex::encode(raw));
        h.kind = "inspection".into();
        h.state = "found".into();
        h.found = now;
        h.updated = now;
        h.origin = self.config.tier.id.clone();
        h.version = now_us();
        self.write(std::slice::from_ref(&h)).await?;
        Ok(h)
    }
}

/// What a hit says of a device, into a hazard.
fn fill(h: &mut Hazard, d: &Device, hit: &Hit) {
    h.vendor = d.vendor.clone().unwrap_or_default();
    h.product = d.product.clone().unwrap_or_default();
    h.model = d.model.clone().unwrap_or_default();
    h.firmware = d.firmware.clone().unwrap_or_default();
    h.advisory_id = hit.advisory.clone();
    h.title = hit.title.clone();
    h.product_name = hit.product_name.clone();
    h.confidence = hit.confidence.as_str().to_owned();
    h.why = hit.why.clone();
    h.cves = hit.cves.clone();
    h.cvss = hit.cvss;
    h.vector = hit.vector.clone();
    h.exploited = u8::from(hit.exploited);
    h.remediation = hit.remediation.clone();
    h.fixed_in = hit.fixed_in.clone().unwrap_or_default();
}

/// Match the inventory every `scan_interval_s`, for as long as the collector serves.
pub async fn run(register: Arc<Register>) {
    let every = Duration::from_secs_f64(register.config.hazards.scan_interval_s);
    loop {
        match register.scan().await {
            Ok(s) if s.found + s.updated + s.verified + s.reopened > 0 => tracing::info!(
                devices = s.devices,
                found = s.found,
                updated = s.updated,
                verified = s.verified,
                reopened = s.reopened,
                "hazards matched"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "matching the inventory against advisories failed")
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// An advisory's summary row, as stored in `advisories`.
#[derive(Clone, Debug, clickhouse::Row, serde::Serialize, Deserialize)]
pub struct AdvisoryRow {
    pub advisory_id: String,
    pub title: String,
    pub publisher: String,
    pub revision: String,
    pub status: String,
    pub tlp: String,
    pub initial: u32,
    pub current: u32,
    pub cves: Vec<String>,
    pub max_cvss: f64,
    pub exploited: u8,
    pub vendors: Vec<String>,
    pub products: u32,
    pub source: String,
    pub doc: String,
    pub imported: u32,
    pub version: u64,
}

impl AdvisoryRow {
    pub fn new(a: &csaf::Advisory, doc: Vec<u8>, source: &str) -> AdvisoryRow {
        AdvisoryRow {
            advisory_id: a.id.clone(),
            title: a.title.clone(),
            publisher: a.publisher.clone(),
            revision: a.version.clone(),
            status: a.status.clone(),
            tlp: a.tlp.clone(),
            initial: a.initial.clamp(0, i64::from(u32::MAX)) as u32,
            current: a.current.clamp(0, i64::from(u32::MAX)) as u32,
            cves: a.cves(),
            max_cvss: a.max_cvss(),
            exploited: u8::from(a.exploited()),
            vendors: a.vendors(),
            products: a.products.len() as u32,
            source: source.to_owned(),
            doc: String::from_utf8(doc).unwrap_or_default(),
            imported: now_s() as u32,
            version: now_us(),
        }
    }
}

/// Stores advisories read by [`csaf::load`]; how many.
pub async fn import(
    store: &Store,
    loaded: &mut csaf::Loaded,
    source: &str,
) -> clickhouse::error::Result<usize> {
    let mut n = 0;
    let mut rows = Vec::new();
    for (_, a, doc) in loaded.advisories.drain(..) {
        rows.push(AdvisoryRow::new(&a, doc, source));
        if rows.len() == 200 {
            store.insert("advisories", &rows).await?;
            n += rows.len();
            rows.clear();
        }
    }
    store.insert("advisories", &rows).await?;
    Ok(n + rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_the_register() {
        assert!(step_refusal("found", "assigned").is_none());
        assert!(step_refusal("assigned", "remediated").is_none());
        assert!(step_refusal("remediated", "verified").is_none());
        assert!(step_refusal("verified", "found").is_none());
        assert!(step_refusal("verified", "assigned").is_some());
        assert!(step_refusal("found", "found").is_some());
        assert!(step_refusal("remediated", "assigned").is_some());
    }

    #[test]
    fn deadlines_by_cvss_and_grade() {
        let c = HazardsConfig::default();
        assert_eq!(deadline_days(&c, 9.8, 1), 7);
        assert_eq!(deadline_days(&c, 9.8, 3), 15);
        assert_eq!(deadline_days(&c, 7.5, 2), 22);
        assert_eq!(deadline_days(&c, 5.0, 0), 90);
        assert_eq!(deadline_days(&c, 0.0, 3), 180);
    }

    #[test]
    fn identities_are_read_from_asset_events() {
        let raw = r#"{"event_type":"asset","asset":{"ip":"10.0.0.5","identity":{"vendor":"Siemens","product":"6ES7 315-2EH14-0AB0","model":"CPU 315-2 PN/DP","firmware":"V3.2.6"}}}"#;
        let d = device_of(raw).unwrap();
        assert_eq!(d.product.as_deref(), Some("6ES7 315-2EH14-0AB0"));
        assert_eq!(d.firmware.as_deref(), Some("V3.2.6"));
        assert!(device_of(r#"{"asset":{"ip":"10.0.0.6","roles":["hmi"]}}"#).is_none());
        assert!(device_of("not json").is_none());
    }
}
