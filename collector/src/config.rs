//! `collector.toml`: where the collector listens, which ClickHouse it writes to, and who may
//! write and read.
//!
//! Unknown keys are errors and every error names the file and the key, so a typo never falls
//! back to a default. Credentials are stored as SHA-256 digests: the file grants access without
//! holding a secret anyone could replay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use icsight_eve::{EventType, Timestamp};
use serde::{Deserialize, Serialize};

pub use crate::account::{token_digest, Account};
use crate::codes;
pub use icsight_config::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub clickhouse: ClickHouseConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub tier: TierConfig,
    #[serde(default)]
    pub upstream: UpstreamConfig,
    #[serde(default)]
    pub reports: ReportsConfig,
    #[serde(default)]
    pub incidents: IncidentsConfig,
    #[serde(default)]
    pub notify: NotifyConfig,
    #[serde(default)]
    pub hazards: HazardsConfig,
    #[serde(default)]
    pub grading: GradingConfig,
    /// TAXII 2.1 collections of other platforms pulled into bulletins at this tier.
    #[serde(default)]
    pub taxii: Vec<TaxiiSource>,
    /// CSAF providers whose advisories are pulled into the catalogue on a schedule.
    #[serde(default)]
    pub csaf: Vec<CsafSource>,
    /// The sensors allowed to write, each bound to its enterprise and province.
    #[serde(default)]
    pub sensors: Vec<SensorEntry>,
    /// The collectors of the tier below allowed to report, each bound to its province (and
    /// enterprise, for an enterprise collector).
    #[serde(default)]
    pub collectors: Vec<CollectorEntry>,
    /// The people who query and act, each with a role and a scope.
    #[serde(default)]
    pub accounts: Vec<Account>,
    /// What opens an incident; absent: [`default_criteria`]. `escalation = []`: nothing does.
    #[serde(default = "default_criteria")]
    pub escalation: Vec<Criterion>,
}

/// Situation reports: when they are issued, and what prints their PDF.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportsConfig {
    /// Issue the tier's daily, weekly and monthly reports as each period ends.
    pub scheduled: bool,
    /// The headless Chromium that prints a report's page to PDF.
    pub chromium: String,
    /// Seconds a PDF may take to print.
    pub pdf_timeout_s: u64,
}

impl Default for ReportsConfig {
    fn default() -> Self {
        ReportsConfig {
            scheduled: true,
            chromium: "chromium".into(),
            pdf_timeout_s: 60,
        }
    }
}

/// Incident reports (事件报告): how long each stage may wait, by incident grade I (特别重大) to
/// IV (一般); each list holds grade I's value first.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Seconds from opening to the first report.
    pub first_report_s: [u64; 4],
    /// Seconds from one report to the next follow-up while the incident is not disposed; 0:
    /// none due.
    pub followup_s: [u64; 4],
    /// Seconds from disposal to the final report.
    pub final_report_s: [u64; 4],
    /// How often this tier looks for reports gone overdue.
    pub overdue_check_s: u64,
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            first_report_s: [3_600, 3_600, 4 * 3_600, 24 * 3_600],
            followup_s: [4 * 3_600, 8 * 3_600, 24 * 3_600, 0],
            final_report_s: [7 * 86_400; 4],
            overdue_check_s: 30,
        }
    }
}

/// The hazard register (安全隐患): how often the inventory is matched against the advisories,
/// and how long remediation may take.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HazardsConfig {
    /// Seconds between matches of newly seen identities; a new advisory import re-matches
    /// everything at the next one.
    pub scan_interval_s: f64,
    /// Days to remediate, by the highest CVSS of the hazard: critical (≥ 9), high (≥ 7),
    /// medium (≥ 4), low.
    pub deadline_days: [u32; 4],
    /// The deadline's share by enterprise grade 1, 2, 3 (grade 1, the most important, has the
    /// least time), in percent.
    pub grade_percent: [u32; 3],
    /// Lowest confidence that makes a hazard: `exact`, `model`, `name` or `family`.
    pub min_confidence: String,
    /// A catalogue of known exploited vulnerabilities in CISA's KEV JSON format
    /// (`{"vulnerabilities": [{"cveID": …}]}`); its CVEs mark hazards exploited. Re-read when
    /// it changes. Empty: none.
    pub kev_file: PathBuf,
}

impl Default for HazardsConfig {
    fn default() -> Self {
        HazardsConfig {
            scan_interval_s: 60.0,
            deadline_days: [15, 30, 90, 180],
            grade_percent: [50, 75, 100],
            min_confidence: "family".into(),
            kev_file: PathBuf::new(),
        }
    }
}

/// Classification and grading (分类分级): the rules that work out each enterprise's grade from
/// what it is and what the sensors see of it. A score is summed from the terms below; at
/// least `grade1_at` is grade 1, at least `grade2_at` grade 2, else grade 3. A person's
/// override wins over the rules until cleared.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradingConfig {
    /// Work grades out; off, grades are as imported or typed.
    pub enabled: bool,
    /// Seconds between gradings of the registry.
    pub interval_s: f64,
    /// Points by industry class; a class not named gets twice its priority weight (energy
    /// 40, metallurgy 30, machinery 20, textile 10).
    pub industries: std::collections::BTreeMap<String, u32>,
    /// Points by enterprise type: `industrial` (工业企业), `platform` (工业互联网平台企业),
    /// `infrastructure` (关键信息基础设施运营者).
    pub kinds: std::collections::BTreeMap<String, u32>,
    /// Points by scale: `large`, `medium`, `small`, `micro`.
    pub scales: std::collections::BTreeMap<String, u32>,
    /// Points per controller (PLC, RTU, outstation) the sensors see, up to `controller_cap`.
    pub controller_points: u32,
    pub controller_cap: u32,
    /// Points per open hazard of CVSS 7 or more, up to `exposure_cap`.
    pub exposure_points: u32,
    pub exposure_cap: u32,
    pub grade1_at: u32,
    pub grade2_at: u32,
    /// The key-enterprise list (重点企业清单): grade-1 enterprises of these industries (all
    /// grade-1 enterprises when empty).
    pub key_industries: Vec<String>,
}

impl Default for GradingConfig {
    fn default() -> Self {
        let map =
            |pairs: &[(&str, u32)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        GradingConfig {
            enabled: false,
            interval_s: 60.0,
            industries: Default::default(),
            kinds: map(&[("industrial", 10), ("platform", 20), ("infrastructure", 30)]),
            scales: map(&[("large", 20), ("medium", 10), ("small", 5), ("micro", 0)]),
            controller_points: 1,
            controller_cap: 20,
            exposure_points: 2,
            exposure_cap: 20,
            grade1_at: 70,
            grade2_at: 40,
            key_industries: vec![
                "energy".into(),
                "water".into(),
                "petrochemical".into(),
                "chemical".into(),
            ],
        }
    }
}

/// Notifications by e-mail and signed webhook (`crate::notify`): the mail server, how hard a
/// delivery is tried, when deadlines are recalled, and what each role hears of by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// The mail server; empty: no e-mail is sent.
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `starttls` (the default), `tls` (implicit, port 465) or `none` (a server on this host
    /// only).
    pub smtp_security: String,
    /// PEM certificate(s) of a private CA the mail server's certificate chains to; empty: the
    /// public web roots.
    pub smtp_ca: PathBuf,
    /// Log in as this user, with the password in `smtp_password_file`; empty: no login.
    pub smtp_user: String,
    pub smtp_password_file: PathBuf,
    /// The sender: `icsight <icsight@example.cn>`.
    pub from: String,
    /// The webhook secret of accounts that name none of their own (a file holding it).
    pub webhook_secret_file: PathBuf,
    /// Deliveries tried before a message goes to the dead letters.
    pub attempts: u32,
    /// Backoff between tries, doubling from the first to the second, jittered.
    pub retry_min_s: f64,
    pub retry_max_s: f64,
    /// Seconds one delivery may take.
    pub timeout_s: f64,
    /// How long before a bulletin's deadline its enterprises are reminded.
    pub remind_before_s: u64,
    /// How often this tier looks for what to tell (new bulletins, deadlines, incidents, tasks).
    pub check_s: f64,
    /// Messages waiting to be delivered at most; beyond, new ones are dropped and counted.
    pub queue: usize,
    /// What each role hears of when its account names nothing.
    pub roles: Vec<RoleEvents>,
}

/// A TAXII 2.1 collection this tier pulls (a national sharing platform's, another tier's):
/// every report in it becomes a bulletin issued here for `scope`, amended when the report is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxiiSource {
    /// Names the source in the log, the bulletins' description and the state file.
    pub name: String,
    /// The collection's address: `https://share.example/taxii2/api/collections/ID/`.
    pub collection: String,
    /// A file holding the bearer token the server knows this tier by.
    #[serde(default)]
    pub token_file: PathBuf,
    /// PEM of a private CA the server's certificate chains to; empty: the web roots.
    #[serde(default)]
    pub ca: PathBuf,
    /// Seconds between pulls.
    #[serde(default = "taxii_poll_s")]
    pub poll_s: f64,
    /// Which enterprises of this tier the bulletins are for, as a bulletin's scope says it
    /// (all lists empty: every enterprise of the tier).
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub grades: Vec<u8>,
    #[serde(default)]
    pub enterprises: Vec<String>,
    /// Days to dispose of a bulletin whose report says no deadline (or one already past).
    #[serde(default = "taxii_deadline_days")]
    pub deadline_days: u32,
    /// Where what was pulled is remembered (`taxii-NAME.json`).
    #[serde(default = "taxii_state_dir")]
    pub state_dir: PathBuf,
}

/// A CSAF 2.0 provider (`[[csaf]]`): its `provider-metadata.json`, a ROLIE feed or a
/// directory (`…/white/`, read through its `changes.csv`); new and updated documents are
/// imported as `collector advisories import` does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsafSource {
    /// Names the provider in the log.
    pub name: String,
    pub url: String,
    /// PEM of a private CA the provider's certificate chains to; empty: the web roots.
    #[serde(default)]
    pub ca: PathBuf,
    /// Seconds between pulls.
    #[serde(default = "csaf_poll_s")]
    pub poll_s: f64,
}

fn csaf_poll_s() -> f64 {
    3_600.0
}

fn taxii_poll_s() -> f64 {
    300.0
}

fn taxii_deadline_days() -> u32 {
    7
}

fn taxii_state_dir() -> PathBuf {
    PathBuf::from("taxii-state")
}

/// The events a role hears of by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleEvents {
    pub role: crate::account::Role,
    pub events: Vec<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: "starttls".into(),
            smtp_ca: PathBuf::new(),
            smtp_user: String::new(),
            smtp_password_file: PathBuf::new(),
            from: "icsight <icsight@localhost>".into(),
            webhook_secret_file: PathBuf::new(),
            attempts: 6,
            retry_min_s: 2.0,
            retry_max_s: 300.0,
            timeout_s: 10.0,
            remind_before_s: 86_400,
            check_s: 15.0,
            queue: 10_000,
            roles: Vec::new(),
        }
    }
}

/// Which tier this collector is, and the part of the country it oversees.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TierConfig {
    pub role: TierRole,
    /// This collector's id: its client certificate's common name at the tier above, and the
    /// prefix of the bulletins and incidents it issues.
    pub id: String,
    /// The province served (`provincial`, `enterprise`); the national tier leaves it empty.
    pub province: String,
    /// The enterprise served (`enterprise` tier only).
    pub enterprise_id: String,
    /// Minutes a login session lasts.
    pub session_minutes: u64,
    /// Seconds between reloads of the enterprise registry from ClickHouse.
    pub registry_refresh_s: u64,
    /// Seconds without a heartbeat (a live sensor's `stats` event) after which a sensor is
    /// offline and a `sensor_offline` incident is opened.
    pub offline_seconds: u64,
    /// Seconds between merges of the reported roll-ups' unsettled days (national tier), so
    /// that pages read them without FINAL ([`crate::store::settle`]).
    pub settle_interval_s: u64,
    /// Days of stored flows, alerts and assets a new bulletin's addresses are searched in
    /// (retro-hunt); 0: none.
    pub retro_days: u32,
}

impl Default for TierConfig {
    fn default() -> Self {
        TierConfig {
            role: TierRole::Provincial,
            id: "collector".into(),
            province: String::new(),
            enterprise_id: String::new(),
            session_minutes: 480,
            registry_refresh_s: 60,
            offline_seconds: 300,
            settle_interval_s: 60,
            retro_days: 7,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TierRole {
    Enterprise,
    Provincial,
    National,
}

impl TierRole {
    pub fn name(self) -> &'static str {
        match self {
            TierRole::Enterprise => "enterprise",
            TierRole::Provincial => "provincial",
            TierRole::National => "national",
        }
    }
}

/// The tier above: where roll-ups, serious alerts, asset counts, incidents and bulletin
/// progress go, and where bulletins come from. `[upstream.link]` is the same durable uplink a
/// sensor uses (spool, mutual TLS, retries).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UpstreamConfig {
    pub link: uplink::UplinkConfig,
    /// Alerts of this severity or more severe (1 is the most) are forwarded one by one.
    pub forward_max_severity: u8,
    /// Seconds between reports of changed roll-up buckets.
    pub rollup_interval_s: f64,
    /// Seconds between reports of asset counts and the registry.
    pub inventory_interval_s: f64,
    /// Seconds between polls for new bulletins.
    pub bulletin_poll_s: f64,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        UpstreamConfig {
            link: uplink::UplinkConfig {
                spool_dir: PathBuf::from("upstream-spool"),
                ..uplink::UplinkConfig::default()
            },
            forward_max_severity: 2,
            rollup_interval_s: 10.0,
            inventory_interval_s: 60.0,
            bulletin_poll_s: 30.0,
        }
    }
}

/// A collector of the tier below, by client certificate (common name `id`) or token.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorEntry {
    pub id: String,
    pub province: String,
    /// An enterprise collector's enterprise; empty for a provincial collector.
    #[serde(default)]
    pub enterprise_id: String,
    #[serde(default)]
    pub token_sha256: String,
}

/// One escalation criterion: the alerts that open an incident. Every condition given must hold;
/// with `enterprises` ≥ 2 the incident opens when that many enterprises of one province show
/// such alerts of one technique within `window_s`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub name: String,
    #[serde(default)]
    pub title: String,
    /// Severity 1 (most severe) up to this.
    #[serde(default)]
    pub severity_max: Option<u8>,
    #[serde(default)]
    pub grades: Vec<u8>,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub sids: Vec<u32>,
    #[serde(default)]
    pub techniques: Vec<String>,
    #[serde(default)]
    pub enterprises: u32,
    #[serde(default = "one_hour")]
    pub window_s: u64,
    /// The grade an incident it opens starts with, owing a first report by that grade's
    /// deadline (1 = I 特别重大 … 4 = IV 一般); 0: none until someone grades it.
    #[serde(default)]
    pub level: u8,
}

fn one_hour() -> u64 {
    3600
}

/// The criteria a collector escalates by unless told otherwise.
pub fn default_criteria() -> Vec<Criterion> {
    let base = Criterion {
        name: String::new(),
        title: String::new(),
        severity_max: None,
        grades: Vec::new(),
        industries: Vec::new(),
        sids: Vec::new(),
        techniques: Vec::new(),
        enterprises: 0,
        window_s: 3600,
        level: 0,
    };
    vec![
        Criterion {
            name: "critical-at-grade-1".into(),
            title: "Critical alert at a grade-1 enterprise".into(),
            severity_max: Some(1),
            grades: vec![1],
            level: 3,
            ..base.clone()
        },
        Criterion {
            name: "plc-stop-or-download".into(),
            title: "PLC stopped or program downloaded".into(),
            sids: vec![9100101, 9100104, 9100214],
            level: 3,
            ..base.clone()
        },
        Criterion {
            name: "technique-spread".into(),
            title: "Same technique at several enterprises of a province within an hour".into(),
            severity_max: Some(2),
            enterprises: 3,
            ..base
        },
    ]
}

/// The HTTPS listener and the limits on one ingest request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// Server certificate chain and key (PEM). Both empty: plain HTTP, for a collector behind a
    /// TLS-terminating proxy only.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA (PEM) whose client certificates identify sensors by their common name. Empty: bearer
    /// tokens only.
    pub client_ca: PathBuf,
    /// Revocation list (PEM) of `client_ca`, checked on every handshake and read again when it
    /// changes (`collector pki revoke` writes it). Empty: no certificate is revoked.
    pub crl: PathBuf,
    /// Largest request body as sent (compressed), in KiB.
    pub max_body_kb: u64,
    /// Largest batch once decompressed, in KiB: bounds what a small compressed body may expand to.
    pub max_batch_kb: u64,
    /// Most events in one batch.
    pub max_batch_events: usize,
    /// Largest single event line, in KiB.
    pub max_line_kb: usize,
    /// Connections open at once, all clients together; lowered at start to what the open-file
    /// limit leaves room for.
    pub max_connections: usize,
    /// Connections open at once from one client address.
    pub max_connections_per_address: usize,
    /// Seconds a client has to finish its TLS handshake, and then each request's headers; an
    /// idle HTTP/1 connection is closed after as long.
    pub header_timeout_s: f64,
    /// Seconds a request may take to be answered, its body read included.
    pub request_timeout_s: f64,
    /// Concurrent requests (streams) on one HTTP/2 connection.
    pub max_streams: u32,
    /// Batches read and stored at once; more wait up to `request_timeout_s`, then get a 503.
    pub max_concurrent_ingests: usize,
    /// Password checks (argon2, ~19 MiB each) run at once; more wait their turn.
    pub max_concurrent_logins: usize,
    /// CSV exports streamed at once.
    pub max_concurrent_exports: usize,
    /// Where `/metrics` is served: `"open"` (on this listener, to anyone), `"token"` (on this
    /// listener, to a bearer of `metrics_token_sha256`) or `"off"`.
    pub metrics: String,
    /// SHA-256 (hex) of the token `/metrics` asks for when `metrics = "token"`.
    pub metrics_token_sha256: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8443".into(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
            client_ca: PathBuf::new(),
            crl: PathBuf::new(),
            max_body_kb: 4096,
            max_batch_kb: 16384,
            max_batch_events: 10_000,
            max_line_kb: 256,
            max_connections: 4096,
            max_connections_per_address: 256,
            header_timeout_s: 10.0,
            request_timeout_s: 60.0,
            max_streams: 32,
            max_concurrent_ingests: 64,
            max_concurrent_logins: 2,
            max_concurrent_exports: 4,
            metrics: "open".into(),
            metrics_token_sha256: String::new(),
        }
    }
}

/// Any ClickHouse reachable over HTTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    pub url: String,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            user: "default".into(),
            password: String::new(),
            database: "icsight".into(),
        }
    }
}

/// What is stored, and for how long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Protocol transaction events stored (`modbus`, `s7comm`, `s7commplus`, `dnp3`); others are
    /// acknowledged and counted, not stored.
    pub transactions: Vec<String>,
    /// Days of events kept, by event time; 0 keeps everything.
    pub retention_days: u32,
    /// Days of roll-ups kept; 0 keeps everything.
    pub rollup_retention_days: u32,
    /// Seconds between retention runs.
    pub retention_interval_s: u64,
    /// Rows an event table's insert buffer gathers before it is written at once.
    pub insert_buffer_rows: usize,
    /// Milliseconds a buffer waits for more batches after its first.
    pub insert_linger_ms: u64,
    /// Insert buffers per event table, each a share of the sensors.
    pub insert_lanes: usize,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            transactions: EventType::ALL
                .into_iter()
                .filter(|t| t.is_industrial())
                .map(|t| t.name().to_owned())
                .collect(),
            retention_days: 180,
            rollup_retention_days: 730,
            retention_interval_s: 3600,
            insert_buffer_rows: 200_000,
            insert_linger_ms: 5,
            insert_lanes: 2,
        }
    }
}

/// `value` of `key` within `lo..=hi` (a NaN is not), or the error naming both.
fn between<T: PartialOrd + Copy + std::fmt::Display>(
    key: &str,
    value: T,
    lo: T,
    hi: T,
) -> Result<(), (String, String)> {
    if (lo..=hi).contains(&value) {
        return Ok(());
    }
    Err((key.into(), format!("{value} is not between {lo} and {hi}")))
}

/// The protocol transaction event types a sensor writes.
pub fn transaction_types() -> impl Iterator<Item = &'static str> {
    EventType::ALL
        .into_iter()
        .filter(|t| t.is_transaction())
        .map(EventType::name)
}

/// One sensor's credential and the scope it writes into.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorEntry {
    pub id: String,
    pub enterprise_id: String,
    pub province: String,
    #[serde(default = "other_industry")]
    pub industry: String,
    /// Security grade 1 (highest) to 3.
    #[serde(default = "lowest_grade")]
    pub grade: u8,
    /// SHA-256 of the sensor's bearer token, hex. Empty: the sensor authenticates by client
    /// certificate only (its common name is `id`).
    #[serde(default)]
    pub token_sha256: String,
}

#[cfg(test)]
impl SensorEntry {
    /// Sensor `s1` of enterprise `E1`, a grade-1 water plant in Zhejiang, known by certificate.
    pub fn example() -> SensorEntry {
        SensorEntry {
            id: "s1".into(),
            enterprise_id: "E1".into(),
            province: "330000".into(),
            industry: "water".into(),
            grade: 1,
            token_sha256: String::new(),
        }
    }
}

fn other_industry() -> String {
    "other".into()
}

fn lowest_grade() -> u8 {
    3
}

impl Config {
    fn validate_notify(&self) -> Result<(), (String, String)> {
        let n = &self.notify;
        let key = |k: &str| format!("notify.{k}");
        if !n.smtp_host.is_empty() {
            match n.smtp_security.as_str() {
                "starttls" | "tls" => {}
                "none" if matches!(n.smtp_host.as_str(), "127.0.0.1" | "::1" | "localhost") => {}
                "none" => {
                    return Err((
                        key("smtp_security"),
                        "\"none\" sends mail in the clear: only to a server on this host".into(),
                    ))
                }
                other => {
                    return Err((
                        key("smtp_security"),
                        format!("{other:?} is not \"starttls\", \"tls\" or \"none\""),
                    ))
                }
            }
            if n.smtp_port == 0 {
                return Err((key("smtp_port"), "must be 1-65535".into()));
            }
            if n.from.parse::<lettre::message::Mailbox>().is_err() {
                return Err((
                    key("from"),
                    format!(
                        "{:?} is not an address like icsight <icsight@example.cn>",
                        n.from
                    ),
                ));
            }
            if n.smtp_user.is_empty() != n.smtp_password_file.as_os_str().is_empty() {
                return Err((
                    key("smtp_user"),
                    "smtp_user and smtp_password_file go together".into(),
                ));
            }
        }
        if !(1..=50).contains(&n.attempts) {
            return Err((key("attempts"), format!("{} is not 1-50", n.attempts)));
        }
        for (k, v) in [
            ("retry_min_s", n.retry_min_s),
            ("retry_max_s", n.retry_max_s),
            ("timeout_s", n.timeout_s),
            ("check_s", n.check_s),
        ] {
            if !(0.05..=86_400.0).contains(&v) {
                return Err((key(k), format!("{v} is not 0.05-86400 seconds")));
            }
        }
        if n.retry_max_s < n.retry_min_s {
            return Err((key("retry_max_s"), "less than retry_min_s".into()));
        }
        if n.queue == 0 {
            return Err((key("queue"), "must be at least 1".into()));
        }
        for (i, r) in n.roles.iter().enumerate() {
            for (j, e) in r.events.iter().enumerate() {
                crate::notify::Event::parse(e).ok_or_else(|| {
                    (
                        format!("notify.roles[{i}].events[{j}]"),
                        crate::notify::unknown_event(e),
                    )
                })?;
            }
        }
        Ok(())
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::parse(&icsight_config::read(path)?, path)
    }

    /// Parse and check `text`, the contents of `path`; an error names the file and the key
    /// (and, for what the parser refuses, the line).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = icsight_config::parse(text, path)?;
        config
            .validate()
            .map_err(|(key, message)| ConfigError::key(path, key, message))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let g = &self.grading;
        between("grading.interval_s", g.interval_s, 1.0, 86_400.0)?;
        if g.grade2_at > g.grade1_at {
            return Err((
                "grading.grade2_at".into(),
                format!("{} is above grade1_at ({})", g.grade2_at, g.grade1_at),
            ));
        }
        for i in g.industries.keys().chain(&g.key_industries) {
            crate::codes::check_industry(i).map_err(|m| ("grading.industries".to_owned(), m))?;
        }
        for k in g.kinds.keys() {
            if !crate::codes::KINDS.contains(&k.as_str()) {
                return Err((
                    "grading.kinds".into(),
                    format!("{k:?}: use industrial, platform or infrastructure"),
                ));
            }
        }
        for k in g.scales.keys() {
            if !crate::codes::SCALES.contains(&k.as_str()) {
                return Err((
                    "grading.scales".into(),
                    format!("{k:?}: use large, medium, small or micro"),
                ));
            }
        }
        let st = &self.storage;
        between(
            "storage.insert_buffer_rows",
            st.insert_buffer_rows,
            1,
            1_000_000,
        )?;
        between("storage.insert_lanes", st.insert_lanes, 1, 16)?;
        between("storage.insert_linger_ms", st.insert_linger_ms, 0, 10_000)?;
        let h = &self.hazards;
        between("hazards.scan_interval_s", h.scan_interval_s, 1.0, 86_400.0)?;
        if h.deadline_days.iter().any(|d| *d == 0 || *d > 3650) {
            return Err((
                "hazards.deadline_days".into(),
                "each must be 1 to 3650 days".into(),
            ));
        }
        if h.grade_percent.iter().any(|p| *p == 0 || *p > 1000) {
            return Err((
                "hazards.grade_percent".into(),
                "each must be 1 to 1000 percent".into(),
            ));
        }
        if crate::csaf::Confidence::parse(&h.min_confidence).is_none() {
            return Err((
                "hazards.min_confidence".into(),
                format!("{:?}: use exact, model, name or family", h.min_confidence),
            ));
        }
        let s = &self.server;
        if s.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err((
                "server.listen".into(),
                format!("{:?} is not an address:port", s.listen),
            ));
        }
        if s.cert.as_os_str().is_empty() != s.key.as_os_str().is_empty() {
            return Err((
                "server.cert".into(),
                "cert and key go together: set both or neither".into(),
            ));
        }
        if !s.client_ca.as_os_str().is_empty() && s.cert.as_os_str().is_empty() {
            return Err((
                "server.client_ca".into(),
                "client certificates need TLS: set server.cert and server.key".into(),
            ));
        }
        if !s.crl.as_os_str().is_empty() && s.client_ca.as_os_str().is_empty() {
            return Err((
                "server.crl".into(),
                "a revocation list is of client certificates: set server.client_ca".into(),
            ));
        }
        for (key, v) in [
            ("server.max_body_kb", s.max_body_kb),
            ("server.max_batch_kb", s.max_batch_kb),
            ("server.max_batch_events", s.max_batch_events as u64),
            ("server.max_line_kb", s.max_line_kb as u64),
            ("server.max_connections", s.max_connections as u64),
            (
                "server.max_connections_per_address",
                s.max_connections_per_address as u64,
            ),
            ("server.max_streams", u64::from(s.max_streams)),
            (
                "server.max_concurrent_ingests",
                s.max_concurrent_ingests as u64,
            ),
            (
                "server.max_concurrent_logins",
                s.max_concurrent_logins as u64,
            ),
            (
                "server.max_concurrent_exports",
                s.max_concurrent_exports as u64,
            ),
        ] {
            if v == 0 {
                return Err((key.into(), "must be at least 1".into()));
            }
        }
        for (key, v) in [
            ("server.header_timeout_s", s.header_timeout_s),
            ("server.request_timeout_s", s.request_timeout_s),
        ] {
            if !(0.1..=3600.0).contains(&v) {
                return Err((key.into(), format!("{v} is not 0.1-3600 seconds")));
            }
        }
        match s.metrics.as_str() {
            "open" | "off" => {}
            "token" => {
                parse_digest(&s.metrics_token_sha256)
                    .map_err(|m| ("server.metrics_token_sha256".to_owned(), m))?;
            }
            other => {
                return Err((
                    "server.metrics".into(),
                    format!("{other:?} is not \"open\", \"token\" or \"off\""),
                ))
            }
        }
        if !valid_name(&self.clickhouse.database) {
            return Err((
                "clickhouse.database".into(),
                format!(
                    "{:?} must be letters, digits and '_'",
                    self.clickhouse.database
                ),
            ));
        }
        for (i, t) in self.storage.transactions.iter().enumerate() {
            if !EventType::parse(t).is_some_and(EventType::is_transaction) {
                let known: Vec<&str> = transaction_types().collect();
                return Err((
                    format!("storage.transactions[{i}]"),
                    format!("{t:?} is not one of {}", known.join(", ")),
                ));
            }
        }
        let mut ids = HashMap::new();
        let mut tokens = HashMap::new();
        for (i, e) in self.sensors.iter().enumerate() {
            let key = |k: &str| format!("sensors[{i}].{k}");
            check_id(&e.id).map_err(|m| (key("id"), m))?;
            check_id(&e.enterprise_id).map_err(|m| (key("enterprise_id"), m))?;
            check_id(&e.province).map_err(|m| (key("province"), m))?;
            check_id(&e.industry).map_err(|m| (key("industry"), m))?;
            if !(1..=3).contains(&e.grade) {
                return Err((
                    key("grade"),
                    format!("{} is not a grade: 1, 2 or 3", e.grade),
                ));
            }
            if let Some(j) = ids.insert(e.id.as_str(), i) {
                return Err((key("id"), format!("{:?} is also sensors[{j}]", e.id)));
            }
            if !e.token_sha256.is_empty() {
                let d = parse_digest(&e.token_sha256).map_err(|m| (key("token_sha256"), m))?;
                if let Some(j) = tokens.insert(d, i) {
                    return Err((key("token_sha256"), format!("same token as sensors[{j}]")));
                }
            }
        }
        self.validate_tier()?;
        for (i, c) in self.collectors.iter().enumerate() {
            let key = |k: &str| format!("collectors[{i}].{k}");
            check_id(&c.id).map_err(|m| (key("id"), m))?;
            codes::check_province(&c.province).map_err(|m| (key("province"), m))?;
            if !c.enterprise_id.is_empty() {
                codes::check_uscc(&c.enterprise_id).map_err(|m| (key("enterprise_id"), m))?;
            }
            if let Some(j) = ids.insert(c.id.as_str(), usize::MAX - i) {
                return Err((key("id"), format!("{:?} is also sensors[{j}]", c.id)));
            }
            if !c.token_sha256.is_empty() {
                let d = parse_digest(&c.token_sha256).map_err(|m| (key("token_sha256"), m))?;
                if tokens.insert(d, usize::MAX).is_some() {
                    return Err((key("token_sha256"), "token already used".into()));
                }
            }
        }
        self.validate_notify()?;
        for (i, c) in self.csaf.iter().enumerate() {
            let key = |k: &str| format!("csaf[{i}].{k}");
            check_id(&c.name).map_err(|m| (key("name"), m))?;
            if !(c.url.starts_with("https://") || c.url.starts_with("http://")) {
                return Err((key("url"), format!("{:?} is not an http(s) address", c.url)));
            }
            if !(1.0..=604_800.0).contains(&c.poll_s) {
                return Err((
                    key("poll_s"),
                    format!("{} is not 1-604800 seconds", c.poll_s),
                ));
            }
        }
        for (i, t) in self.taxii.iter().enumerate() {
            let key = |k: &str| format!("taxii[{i}].{k}");
            check_id(&t.name).map_err(|m| (key("name"), m))?;
            if !(t.collection.starts_with("https://") || t.collection.starts_with("http://"))
                || !t.collection.contains("/collections/")
                || !t.collection.ends_with('/')
            {
                return Err((
                    key("collection"),
                    format!(
                        "{:?} is not a collection's address like https://host/taxii2/api/collections/ID/",
                        t.collection
                    ),
                ));
            }
            if !(1.0..=86_400.0).contains(&t.poll_s) {
                return Err((
                    key("poll_s"),
                    format!("{} is not 1-86400 seconds", t.poll_s),
                ));
            }
            if !(1..=366).contains(&t.deadline_days) {
                return Err((
                    key("deadline_days"),
                    format!("{} is not 1-366", t.deadline_days),
                ));
            }
            for g in &t.grades {
                if !(1..=3).contains(g) {
                    return Err((key("grades"), format!("{g} is not a grade 1-3")));
                }
            }
            for e in &t.enterprises {
                codes::check_uscc(e).map_err(|m| (key("enterprises"), m))?;
            }
        }
        if self.tier.retro_days > 366 {
            return Err((
                "tier.retro_days".into(),
                format!("{} is more than a year (366)", self.tier.retro_days),
            ));
        }
        let mut names = HashMap::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let key = |k: &str| format!("accounts[{i}].{k}");
            check_id(&a.name).map_err(|m| (key("name"), m))?;
            crate::notify::check_account(a, &self.notify).map_err(|(k, m)| (key(k), m))?;
            if !a.industry.is_empty() {
                check_id(&a.industry).map_err(|m| (key("industry"), m))?;
                if !a.enterprise_id.is_empty() {
                    return Err((
                        key("industry"),
                        "an industry authority oversees a province's (or the country's) enterprises of the industry: leave enterprise_id empty".into(),
                    ));
                }
            }
            if let Some(j) = names.insert(a.name.as_str(), i) {
                return Err((key("name"), format!("{:?} is also accounts[{j}]", a.name)));
            }
            if a.password_argon2.is_empty() && a.token_sha256.is_empty() {
                return Err((
                    key("password_argon2"),
                    "an account needs a password_argon2 or a token_sha256".into(),
                ));
            }
            if !a.password_argon2.is_empty() {
                crate::account::check_hash(&a.password_argon2)
                    .map_err(|m| (key("password_argon2"), m))?;
            }
            if !a.token_sha256.is_empty() {
                let d = parse_digest(&a.token_sha256).map_err(|m| (key("token_sha256"), m))?;
                if tokens.insert(d, usize::MAX).is_some() {
                    return Err((key("token_sha256"), "token already used".into()));
                }
                if Timestamp::parse(&a.token_expires).is_none() {
                    return Err((
                        key("token_expires"),
                        format!(
                            "{:?}: a token needs an end, like 2027-01-01T00:00:00Z",
                            a.token_expires
                        ),
                    ));
                }
            }
            if !a.province.is_empty() {
                codes::check_province(&a.province).map_err(|m| (key("province"), m))?;
                if !self.tier.province.is_empty() && a.province != self.tier.province {
                    return Err((
                        key("province"),
                        format!(
                            "{} is outside this tier's province {}",
                            a.province, self.tier.province
                        ),
                    ));
                }
            }
            if !a.enterprise_id.is_empty() {
                codes::check_uscc(&a.enterprise_id).map_err(|m| (key("enterprise_id"), m))?;
            }
        }
        let mut criteria = HashMap::new();
        for (i, c) in self.escalation.iter().enumerate() {
            let key = |k: &str| format!("escalation[{i}].{k}");
            check_id(&c.name).map_err(|m| (key("name"), m))?;
            if let Some(j) = criteria.insert(c.name.as_str(), i) {
                return Err((key("name"), format!("{:?} is also escalation[{j}]", c.name)));
            }
            for g in &c.grades {
                codes::check_grade(*g).map_err(|m| (key("grades"), m))?;
            }
            for ind in &c.industries {
                codes::check_industry(ind).map_err(|m| (key("industries"), m))?;
            }
            if c.severity_max.is_none()
                && c.grades.is_empty()
                && c.industries.is_empty()
                && c.sids.is_empty()
                && c.techniques.is_empty()
                && c.enterprises < 2
            {
                return Err((
                    key("name"),
                    "a criterion with no condition would escalate every alert".into(),
                ));
            }
            if c.enterprises == 1 {
                return Err((
                    key("enterprises"),
                    "0 (each enterprise) or at least 2".into(),
                ));
            }
            if c.enterprises >= 2 && !(60..=7 * 86_400).contains(&c.window_s) {
                return Err((key("window_s"), "60 s to 7 days".into()));
            }
            if c.level > 4 {
                return Err((
                    key("level"),
                    format!("{}: use 1 (I) to 4 (IV), or 0 for none", c.level),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    fn validate_tier(&self) -> Result<(), (String, String)> {
        let t = &self.tier;
        check_id(&t.id).map_err(|m| ("tier.id".to_string(), m))?;
        match t.role {
            TierRole::National => {
                if !t.province.is_empty() || !t.enterprise_id.is_empty() {
                    return Err((
                        "tier.province".into(),
                        "the national tier oversees every province: leave province and enterprise_id empty".into(),
                    ));
                }
                if self.upstream.link.enabled() {
                    return Err((
                        "upstream.link.url".into(),
                        "the national tier has no tier above".into(),
                    ));
                }
            }
            TierRole::Provincial | TierRole::Enterprise => {
                if !t.province.is_empty() {
                    codes::check_province(&t.province)
                        .map_err(|m| ("tier.province".to_string(), m))?;
                }
                if t.role == TierRole::Enterprise {
                    codes::check_uscc(&t.enterprise_id)
                        .map_err(|m| ("tier.enterprise_id".to_string(), m))?;
                    if t.province.is_empty() {
                        return Err((
                            "tier.province".into(),
                            "an enterprise tier names its province".into(),
                        ));
                    }
                } else if !t.enterprise_id.is_empty() {
                    return Err((
                        "tier.enterprise_id".into(),
                        "only an enterprise tier serves one enterprise".into(),
                    ));
                }
            }
        }
        if !(1..=7 * 24 * 60).contains(&t.session_minutes) {
            return Err(("tier.session_minutes".into(), "1 minute to 7 days".into()));
        }
        if t.registry_refresh_s == 0 {
            return Err((
                "tier.registry_refresh_s".into(),
                "must be at least 1".into(),
            ));
        }
        if t.offline_seconds < 2 {
            return Err(("tier.offline_seconds".into(), "must be at least 2".into()));
        }
        let inc = &self.incidents;
        for (key, list) in [
            ("incidents.first_report_s", &inc.first_report_s),
            ("incidents.final_report_s", &inc.final_report_s),
        ] {
            if list.contains(&0) {
                return Err((
                    key.into(),
                    "every grade needs a deadline of at least 1 s".into(),
                ));
            }
        }
        if inc.overdue_check_s == 0 {
            return Err((
                "incidents.overdue_check_s".into(),
                "must be at least 1".into(),
            ));
        }
        if t.settle_interval_s == 0 {
            return Err(("tier.settle_interval_s".into(), "must be at least 1".into()));
        }
        for (i, e) in self.sensors.iter().enumerate() {
            if !t.province.is_empty() && e.province != t.province {
                return Err((
                    format!("sensors[{i}].province"),
                    format!("{} is not this tier's province {}", e.province, t.province),
                ));
            }
            if !t.enterprise_id.is_empty() && e.enterprise_id != t.enterprise_id {
                return Err((
                    format!("sensors[{i}].enterprise_id"),
                    format!(
                        "{} is not this tier's enterprise {}",
                        e.enterprise_id, t.enterprise_id
                    ),
                ));
            }
        }
        for (i, c) in self.collectors.iter().enumerate() {
            let ok = match t.role {
                TierRole::National => c.enterprise_id.is_empty(),
                TierRole::Provincial => {
                    !c.enterprise_id.is_empty()
                        && (t.province.is_empty() || c.province == t.province)
                }
                TierRole::Enterprise => false,
            };
            if !ok {
                return Err((
                    format!("collectors[{i}]"),
                    format!(
                        "a {} tier takes reports from {}",
                        t.role.name(),
                        match t.role {
                            TierRole::National => "provincial collectors (no enterprise_id)",
                            TierRole::Provincial => "enterprise collectors of its province",
                            TierRole::Enterprise => "no collector",
                        }
                    ),
                ));
            }
        }
        let u = &self.upstream;
        u.link
            .validate("upstream.link")
            .map_err(|e| (e.full_key(), e.detail()))?;
        if !(1..=10).contains(&u.forward_max_severity) {
            return Err(("upstream.forward_max_severity".into(), "1 to 10".into()));
        }
        for (key, v) in [
            ("upstream.rollup_interval_s", u.rollup_interval_s),
            ("upstream.inventory_interval_s", u.inventory_interval_s),
            ("upstream.bulletin_poll_s", u.bulletin_poll_s),
        ] {
            if !(v.is_finite() && (0.1..=86_400.0).contains(&v)) {
                return Err((key.into(), format!("{v}: 0.1 to 86400 seconds")));
            }
        }
        Ok(())
    }
}

/// Parse a hex SHA-256 digest.
pub fn parse_digest(hex_text: &str) -> Result<[u8; 32], String> {
    let mut d = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut d)
        .map_err(|_| format!("{hex_text:?} is not 64 hex digits (a SHA-256)"))?;
    Ok(d)
}

/// Identifiers that end up in ClickHouse keys and URLs: printable, short, no separators.
fn check_id(v: &str) -> Result<(), String> {
    if v.is_empty()
        || v.len() > 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(format!(
            "{v:?} must be 1-64 letters, digits, '.', '_' or '-'"
        ));
    }
    Ok(())
}

fn valid_name(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn defaults_and_a_sensor() {
        let c = parse(&format!(
            "[[sensors]]\nid = \"s1\"\nenterprise_id = \"E1\"\nprovince = \"330000\"\ntoken_sha256 = \"{TOKEN}\"\n"
        ))
        .unwrap();
        assert_eq!(c.sensors[0].grade, 3);
        assert_eq!(
            c.storage.transactions,
            [
                "modbus",
                "s7comm",
                "s7commplus",
                "dnp3",
                "enip",
                "iec104",
                "opcua",
                "mms"
            ]
        );
        assert_eq!(token_digest("test"), parse_digest(TOKEN).unwrap());
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let c = parse(include_str!("../../collector.toml")).unwrap();
        let d = parse("").unwrap();
        assert_eq!(format!("{:?}", c.server), format!("{:?}", d.server));
        assert_eq!(format!("{:?}", c.clickhouse), format!("{:?}", d.clickhouse));
        assert_eq!(format!("{:?}", c.storage), format!("{:?}", d.storage));
        assert_eq!(format!("{:?}", c.tier), format!("{:?}", d.tier));
        assert_eq!(format!("{:?}", c.upstream), format!("{:?}", d.upstream));
        assert_eq!(format!("{:?}", c.incidents), format!("{:?}", d.incidents));
        assert_eq!(c.escalation, default_criteria());
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[server]\nlisten = \"nowhere\"\n").unwrap_err();
        assert!(e.contains("server.listen"), "{e}");
        let e = parse("[server]\nlistn = \"x\"\n").unwrap_err();
        assert!(e.contains("listn"), "{e}");
        let e = parse("[storage]\ntransactions = [\"krb5\"]\n").unwrap_err();
        assert!(e.contains("storage.transactions[0]"), "{e}");
        let c = parse("[storage]\ntransactions = [\"http\", \"fileinfo\"]\n").unwrap();
        assert_eq!(c.storage.transactions, ["http", "fileinfo"]);
        let c = parse("[storage]\ntransactions = []\n").unwrap();
        assert!(c.storage.transactions.is_empty());
        let e = parse("[storage]\ntransactions = [\"alert\"]\n").unwrap_err();
        assert!(e.contains("storage.transactions[0]"), "{e}");
        for (key, bad) in [
            ("insert_buffer_rows", "0"),
            ("insert_lanes", "17"),
            ("insert_linger_ms", "60000"),
        ] {
            let e = parse(&format!("[storage]\n{key} = {bad}\n")).unwrap_err();
            assert!(e.contains(&format!("storage.{key}")), "{e}");
        }
        let e = parse(&format!(
            "[[sensors]]\nid = \"a\"\nenterprise_id = \"E\"\nprovince = \"P\"\ntoken_sha256 = \"{TOKEN}\"\n\
             [[sensors]]\nid = \"b\"\nenterprise_id = \"E\"\nprovince = \"P\"\ntoken_sha256 = \"{TOKEN}\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("sensors[1].token_sha256"), "{e}");
        let e = parse("[[sensors]]\nid = \"a b\"\nenterprise_id = \"E\"\nprovince = \"P\"\n")
            .unwrap_err();
        assert!(e.contains("sensors[0].id"), "{e}");
    }
}
