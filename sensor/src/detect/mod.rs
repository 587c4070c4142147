//! Signature matching in the sensor, and the EVE `alert` events it writes.
//!
//! The pipeline hands every packet's payload to the ruleset, and the protocol loggers every
//! transaction they log and every anomaly they raise; a rule that matches becomes one `alert`
//! event, laid out as Suricata writes it (`alert.signature_id`, `rev`, `signature`,
//! `category`, `severity`, `metadata`), carrying the transaction that triggered it — its
//! `modbus`/`s7comm`/`dnp3` block — when there is one.
//!
//! The ruleset sits behind an [`Arc`] so that a reload can swap it between two packets: flows,
//! their flowbits and the threshold counters carry over.

pub mod alert;
mod stage;

pub use stage::{FrameAt, Here, Stage};

use std::sync::Arc;

use rules::{Detector, PacketView, Ruleset};
use serde::ser::SerializeMap;
use serde::Serialize;

use crate::eve::EveWriter;
use icsight_eve::{AlertRecord, Proto, Timestamp, Tuple};

/// Counters of the `stats.detect` block.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct DetectStats {
    /// Rules loaded now.
    pub rules_loaded: u64,
    /// Rules that failed to load, at the last (re)load.
    pub rules_failed: u64,
    pub reloads: u64,
    pub alerts: u64,
    /// Rules evaluated in full after the prefilter and the protocol-field index.
    pub rules_evaluated: u64,
    /// Thresholded matches that alerted because the threshold table was full.
    pub threshold_untracked: u64,
    /// Backtracking expressions given up on at PCRE2's match or depth limit.
    pub pcre_limit_hits: u64,
    /// Rule script calls that failed (a Lua error: the rule did not match).
    pub lua_errors: u64,
    /// Rule script calls stopped at the memory or instruction limit.
    pub lua_limit_hits: u64,
}

/// The ruleset and the matching state of one pipeline.
pub struct Detect {
    pub ruleset: Arc<Ruleset>,
    pub detector: Detector,
    /// Rules that matched the current packet or transaction (reused).
    pub alerts: Vec<u32>,
    pub stats: DetectStats,
    /// The capture's link type, for `packet_info` (number, libpcap name).
    pub linktype: (u16, &'static str),
}

impl Default for Detect {
    fn default() -> Self {
        Detect::new(Arc::new(Ruleset::default()), 0)
    }
}

impl Detect {
    pub fn new(ruleset: Arc<Ruleset>, failed: usize) -> Self {
        Detect {
            stats: DetectStats {
                rules_loaded: ruleset.rules().len() as u64,
                rules_failed: failed as u64,
                ..DetectStats::default()
            },
            ruleset,
            detector: Detector::default(),
            alerts: Vec::with_capacity(16),
            linktype: (1, "EN10MB"),
        }
    }

    /// Install the ruleset loaded at start.
    pub fn replace_initial(&mut self, ruleset: Arc<Ruleset>, failed: usize) {
        self.replace(ruleset, failed);
        self.stats.reloads = 0;
    }

    /// Swap in a new ruleset; flows and thresholds carry over.
    pub fn replace(&mut self, ruleset: Arc<Ruleset>, failed: usize) {
        self.stats.rules_loaded = ruleset.rules().len() as u64;
        self.stats.rules_failed = failed as u64;
        self.stats.reloads += 1;
        self.ruleset = ruleset;
        // Scripts' states are kept by rule number, which the new ruleset renumbers; the counts
        // carry over.
        let lua = std::mem::take(&mut self.detector.lua);
        self.detector.lua.errors = lua.errors;
        self.detector.lua.limit_hits = lua.limit_hits;
    }

    pub fn refresh_stats(&mut self) {
        self.stats.rules_evaluated = self.detector.evaluated;
        self.stats.threshold_untracked = self.detector.thresholds.untracked;
        self.stats.pcre_limit_hits = rules::pcre::backtrack::limit_hits();
        self.stats.lua_errors = self.detector.lua.errors;
        self.stats.lua_limit_hits = self.detector.lua.limit_hits;
    }

    /// Write one `alert` event per rule in [`Detect::alerts`], and clear it: the packet's time
    /// and number, its VLANs and IP protocol. `app` is the transaction block the alerts carry;
    /// `true` if any alert was written.
    pub fn write_alerts<B: Serialize>(
        &mut self,
        eve: &mut EveWriter,
        pkt: &PacketView,
        (ts, pcap_cnt): (Timestamp, u64),
        (vlan, proto): (&[u16], Proto),
        app: Option<&B>,
    ) -> bool {
        if self.alerts.is_empty() {
            return false;
        }
        // The ethertype of a frame outside IP.
        let frame = match pkt.transport {
            rules::Transport::Ether(t) => Some(t),
            _ => None,
        };
        for &i in &self.alerts {
            let rule = self.ruleset.rule(i);
            let s = &rule.sig;
            let place = alert::Place {
                ts,
                // 0 is no flow's (a raw fragment's).
                flow_id: (pkt.flow_id != 0).then_some(pkt.flow_id),
                // A frame outside IP (GOOSE) has no tuple and goes no way.
                tuple: frame.is_none().then(|| tuple(pkt, proto)),
                vlan,
                pcap_cnt: Some(pcap_cnt),
                app_proto: match frame {
                    Some(t) => rules::Protocol::of_ether_type(t).map(rules::Protocol::name),
                    None => pkt.app_proto.map(decoders::AppProto::label),
                },
                direction: frame.is_none().then(|| crate::app::direction_name(pkt.dir)),
                linktype: self.linktype,
            };
            let record = AlertRecord {
                tag: s.tag.as_ref().map(|t| t.0.as_str().into()),
                ..AlertRecord::allowed(
                    (s.gid, s.sid, s.rev),
                    &s.msg,
                    &rule.category,
                    rule.severity,
                    (!rule.metadata.is_empty()).then_some(Metadata(&rule.metadata)),
                )
            };
            alert::write::<_, (), _>(eve, &place, &record, None, app);
        }
        self.stats.alerts += self.alerts.len() as u64;
        self.alerts.clear();
        true
    }
}

/// The tuple of a packet going the way `pkt` goes; ports only for TCP and UDP.
pub fn tuple(pkt: &PacketView, proto: Proto) -> Tuple {
    let ports = proto == Proto::TCP || proto == Proto::UDP;
    Tuple {
        src_ip: pkt.src,
        src_port: ports.then_some(pkt.sport),
        dest_ip: pkt.dst,
        dest_port: ports.then_some(pkt.dport),
        proto,
    }
}

/// `metadata` as Suricata writes it: each key with the list of its values.
struct Metadata<'a>(&'a [(String, Vec<String>)]);

impl Serialize for Metadata<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The rule variables: Suricata's defaults, then the configuration's groups.
pub fn rule_vars(cfg: &crate::config::RulesConfig) -> rules::Vars {
    let mut vars = rules::Vars::suricata_defaults();
    for (k, v) in &cfg.address_groups {
        vars.set_address(k, v);
    }
    for (k, v) in &cfg.port_groups {
        vars.set_port(k, v);
    }
    vars
}

/// Load the rules: `paths` when given, else the configuration's `rules.files`, else the
/// default ICS ruleset built into the sensor; and, in addition, every `*.rules` file in
/// `bulletins` (the bulletins directory, when bulletins are on; nothing while it does not
/// exist), held to `rules::bulletin`'s caps and refused whole when one could silence others.
/// Bad rules are reported in the result, not as an error; an unreadable classification file is
/// an error.
pub fn load_rules(
    paths: &[std::path::PathBuf],
    cfg: &crate::config::RulesConfig,
    bulletins: Option<&std::path::Path>,
) -> anyhow::Result<rules::Loaded> {
    use anyhow::Context;
    let classes = match &cfg.classification {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("rules.classification {}: cannot read", p.display()))?;
            let (c, errors) = rules::Classification::parse(&text);
            if let Some(e) = errors.first() {
                anyhow::bail!("{}:{}: {}", p.display(), e.line, e.message);
            }
            c
        }
        None => rules::Classification::builtin(),
    };
    let vars = rule_vars(cfg);
    let paths = if paths.is_empty() {
        &cfg.files[..]
    } else {
        paths
    };
    let mut errors = Vec::new();
    let mut files = Vec::new();
    let mut sources: Vec<(std::path::PathBuf, String)> = if paths.is_empty() {
        rules::default::SOURCES
            .iter()
            .map(|(name, text)| (std::path::PathBuf::from(name), (*text).to_owned()))
            .collect()
    } else {
        for p in paths {
            rules::load::rule_files(p, &mut files, &mut errors);
        }
        Vec::new()
    };
    let builtin = sources.len();
    let configured = files.len();
    if let Some(dir) = bulletins.filter(|d| d.is_dir()) {
        rules::load::rule_files(dir, &mut files, &mut errors);
    }
    let mut bulletins_from = usize::MAX;
    for (i, f) in files.iter().enumerate() {
        if i == configured {
            bulletins_from = sources.len();
        }
        match std::fs::read_to_string(f) {
            Ok(text) => sources.push((f.clone(), text)),
            Err(e) => errors.push(rules::LoadError {
                file: f.clone(),
                line: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    // Bulletins' rules come last and may only add alerts (`rules::bulletin`).
    let mut loaded = rules::load_layered(
        &sources,
        bulletins_from,
        &vars,
        &classes,
        &cfg.load_options(),
    );
    errors.append(&mut loaded.errors);
    loaded.errors = errors;
    // As `rules::load` reports them: the built-in sources, then every file found, read or not.
    loaded.files.truncate(builtin);
    loaded.files.extend(files);
    Ok(loaded)
}
