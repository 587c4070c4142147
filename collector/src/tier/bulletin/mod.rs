//! Threat bulletins: issued at the national (or a provincial) tier, passed down to exactly the
//! enterprises in their scope, and followed there until each has disposed of them.
//!
//! ```text
//!  national: POST /v1/bulletins ─ scope resolved against the registry ─▶ targets
//!     ▲ progress              │ GET /v1/bulletins/feed (provincial collector, by seq)
//!  provincial ────────────────┘ stores it with its province's targets
//!     ▲ progress              │ GET /v1/bulletins/feed (sensor, by seq)
//!  sensor: hot-loads the bulletin's rules (its signatures and its indicators as rules)
//! ```
//!
//! Each tier numbers the bulletins it holds in the order it got them (`seq`); a reader of a
//! feed passes the last `seq` it stored, which also confirms it received everything up to it.
//! Progress (received, acknowledged, disposed) is stored at the tier where it happens and
//! reported up at once; the first report of a step is the one kept.

pub mod hunt;
mod issue;
pub mod share;
pub mod stix;

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::tier::registry::Scope;

pub use issue::{make, Bulletins, IssueError, Issued, NewBulletin, FEED_PAGE, FEED_PAGE_MAX};

/// The TLP levels a bulletin may carry, and the marking definitions STIX 2.1 (section
/// 7.2.1.4) fixes for them; `clear` is TLP 2.0's name of `white`, `amber+strict` shares
/// `amber`'s definition and is kept in `x_icsight_tlp`.
pub const TLP: [(&str, &str); 6] = [
    (
        "clear",
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        "white",
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    ),
    (
        "green",
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    ),
    (
        "amber",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        "amber+strict",
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    ),
    (
        "red",
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
    ),
];

/// A bulletin as stored at every tier it reaches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Bulletin {
    pub bulletin_id: String,
    /// Order of arrival at this tier.
    pub seq: u64,
    /// The tier that issued it.
    pub issuer: String,
    pub issued: u32,
    pub title: String,
    /// 1 (most severe) to 4.
    pub severity: u8,
    pub description: String,
    /// JSON of a [`Scope`].
    pub scope: String,
    /// JSON of [`Indicators`].
    pub indicators: String,
    /// Rules for the sensors: the issuer's signatures, then one rule per indicator group.
    pub rules: String,
    /// JSON list of recommended actions.
    pub actions: String,
    pub deadline: u32,
    pub revoked: u8,
    pub version: u64,
    /// 1 as issued, one more at each amendment: progress is kept per revision, and the
    /// generated rules carry it as their `rev`.
    #[serde(default = "first_revision")]
    pub revision: u32,
    /// An exercise (演练): it runs the whole loop, and no figure counts it.
    #[serde(default)]
    pub drill: u8,
    /// What the issuer said of its last amendment or of its revocation.
    #[serde(default)]
    pub change: String,
    /// Traffic Light Protocol level (`stix::TLP`): who it may be shared with.
    #[serde(default = "amber")]
    pub tlp: String,
}

fn amber() -> String {
    "amber".into()
}

fn first_revision() -> u32 {
    1
}

/// What a bulletin tells sensors and people to look for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Indicators {
    pub ips: Vec<String>,
    pub domains: Vec<String>,
    /// SHA-256 (or SHA-1, MD5) of files: for host checks; sensors do not see files.
    pub hashes: Vec<String>,
    /// Existing signatures whose alerts bear on the threat.
    pub sids: Vec<u32>,
}

/// One enterprise a bulletin is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row)]
pub struct Target {
    pub bulletin_id: String,
    pub province: String,
    pub enterprise_id: String,
    pub name: String,
    pub industry: String,
    pub grade: u8,
}

/// The most indicators of each kind in one bulletin.
pub const MAX_INDICATORS: usize = 1000;
/// IP addresses per generated rule.
const IPS_PER_RULE: usize = 50;

impl Indicators {
    pub fn check(&self) -> Result<(), String> {
        for (what, n) in [
            ("ips", self.ips.len()),
            ("domains", self.domains.len()),
            ("hashes", self.hashes.len()),
            ("sids", self.sids.len()),
        ] {
            if n > MAX_INDICATORS {
                return Err(format!("indicators.{what}: more than {MAX_INDICATORS}"));
            }
        }
        for ip in &self.ips {
            if ip.parse::<std::net::IpAddr>().is_err() && ip.parse::<ipnet::IpNet>().is_err() {
                return Err(format!(
                    "indicators.ips: {ip:?} is not an IP address or network"
                ));
            }
        }
        for d in &self.domains {
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !ok {
                return Err(format!("indicators.domains: {d:?} is not a domain name"));
            }
        }
        for h in &self.hashes {
            if !matches!(h.len(), 32 | 40 | 64) || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "indicators.hashes: {h:?} is not an MD5, SHA-1 or SHA-256 in hex"
                ));
            }
        }
        Ok(())
    }

    /// The indicators as sensor rules, with sids from the bulletin's own block and the
    /// bulletin's revision as their `rev`.
    pub fn rules(&self, bulletin_id: &str, revision: u32) -> String {
        let base = sid_base(bulletin_id);
        let mut out = String::new();
        let mut k = 0;
        for chunk in self.ips.chunks(IPS_PER_RULE) {
            let list = chunk.join(",");
            out.push_str(&format!(
                "alert ip [{list}] any <> any any (msg:\"ICSIGHT BULLETIN {bulletin_id} traffic with an indicated address\"; \
                 classtype:trojan-activity; metadata: bulletin {bulletin_id}; sid:{}; rev:{revision};)\n",
                base + k
            ));
            k += 1;
        }
        for d in &self.domains {
            // The name as a DNS question carries it: length-prefixed labels.
            let wire: String = d
                .split('.')
                .map(|l| format!("|{:02x}|{l}", l.len()))
                .collect();
            out.push_str(&format!(
                "alert udp any any -> any 53 (msg:\"ICSIGHT BULLETIN {bulletin_id} DNS query for {d}\"; \
                 content:\"{wire}|00|\"; nocase; classtype:trojan-activity; metadata: bulletin {bulletin_id}; sid:{}; rev:{revision};)\n",
                base + k
            ));
            k += 1;
        }
        out
    }
}

/// The first sid of a bulletin's generated rules: a block of 100 in 3,000,000,000-3,999,999,999
/// picked by the bulletin id, far from the default ruleset's and Suricata's.
pub fn sid_base(bulletin_id: &str) -> u32 {
    let d = Sha256::digest(bulletin_id.as_bytes());
    let n = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 10_000_000;
    3_000_000_000 + n * 100
}

impl Bulletin {
    pub fn scope(&self) -> Scope {
        serde_json::from_str(&self.scope).unwrap_or_default()
    }

    pub fn indicators(&self) -> Indicators {
        serde_json::from_str(&self.indicators).unwrap_or_default()
    }

    pub fn actions(&self) -> Vec<String> {
        serde_json::from_str(&self.actions).unwrap_or_default()
    }
}

/// What a tier holds of bulletins, in memory: they are few (a few thousand a year) and every
/// feed request reads them.
#[derive(Default)]
pub struct Book {
    inner: RwLock<Inner>,
}

/// A step of one enterprise's handling of one revision of a bulletin: (bulletin, revision,
/// enterprise, state).
pub type StepKey = (String, u32, String, String);

#[derive(Default)]
struct Inner {
    /// By `seq`.
    list: Vec<Bulletin>,
    /// Bulletin id → its targets here.
    targets: HashMap<String, Vec<Target>>,
    /// Steps already recorded.
    progress: HashSet<StepKey>,
}

impl Book {
    pub fn load(list: Vec<Bulletin>, targets: Vec<Target>, progress: Vec<StepKey>) -> Book {
        let mut inner = Inner::default();
        for t in targets {
            inner
                .targets
                .entry(t.bulletin_id.clone())
                .or_default()
                .push(t);
        }
        let mut list = list;
        list.sort_by_key(|b| b.seq);
        inner.list = list;
        inner.progress = progress.into_iter().collect();
        Book {
            inner: RwLock::new(inner),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The next `seq` at this tier.
    pub fn next_seq(&self) -> u64 {
        self.read().list.last().map_or(1, |b| b.seq + 1)
    }

    /// Add (or replace, by id) a bulletin and its targets.
    pub fn put(&self, b: Bulletin, targets: Vec<Target>) {
        let mut inner = self.write();
        inner.list.retain(|x| x.bulletin_id != b.bulletin_id);
        inner.targets.insert(b.bulletin_id.clone(), targets);
        inner.list.push(b);
        inner.list.sort_by_key(|b| b.seq);
    }

    pub fn get(&self, id: &str) -> Option<(Bulletin, Vec<Target>)> {
        let inner = self.read();
        let b = inner.list.iter().find(|b| b.bulletin_id == id)?.clone();
        Some((b, inner.targets.get(id).cloned().unwrap_or_default()))
    }

    /// The first `limit` bulletins after `seq` with a target that `pick` accepts, in `seq`
    /// order, each with those targets.
    pub fn after(
        &self,
        seq: u64,
        limit: usize,
        pick: impl Fn(&Target) -> bool,
    ) -> Vec<(Bulletin, Vec<Target>)> {
        let inner = self.read();
        let from = inner.list.partition_point(|b| b.seq <= seq);
        inner.list[from..]
            .iter()
            .filter_map(|b| {
                let t: Vec<Target> = inner
                    .targets
                    .get(&b.bulletin_id)?
                    .iter()
                    .filter(|t| pick(t))
                    .cloned()
                    .collect();
                (!t.is_empty()).then(|| (b.clone(), t))
            })
            .take(limit)
            .collect()
    }

    /// Every bulletin with its targets that `pick` accepts (all, for an unlimited scope).
    pub fn all(&self, pick: impl Fn(&Target) -> bool) -> Vec<(Bulletin, Vec<Target>)> {
        self.after(0, usize::MAX, pick)
    }

    /// Whether this step was recorded; records it if not.
    pub fn first(&self, bulletin: &str, revision: u32, enterprise: &str, state: &str) -> bool {
        self.write()
            .progress
            .insert(key(bulletin, revision, enterprise, state))
    }

    /// Whether this step is recorded.
    pub fn has(&self, bulletin: &str, revision: u32, enterprise: &str, state: &str) -> bool {
        self.read()
            .progress
            .contains(&key(bulletin, revision, enterprise, state))
    }

    /// Forget a step that could not be stored, so it is tried again.
    pub fn forget(&self, bulletin: &str, revision: u32, enterprise: &str, state: &str) {
        self.write()
            .progress
            .remove(&key(bulletin, revision, enterprise, state));
    }
}

fn key(bulletin: &str, revision: u32, enterprise: &str, state: &str) -> StepKey {
    (
        bulletin.to_owned(),
        revision,
        enterprise.to_owned(),
        state.to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicators_become_rules_the_sensor_loads() {
        let i = Indicators {
            ips: vec!["203.0.113.7".into(), "198.51.100.0/24".into()],
            domains: vec!["update.evil-plc.example".into()],
            hashes: vec!["a".repeat(64)],
            sids: vec![9100101],
        };
        i.check().unwrap();
        let text = i.rules("CN-000001", 1);
        let loaded = rules::load::load_sources(
            &[(std::path::PathBuf::from("bulletin"), text.clone())],
            &rules::Vars::suricata_defaults(),
            &rules::classification::Classification::builtin(),
        );
        assert!(loaded.errors.is_empty(), "{:?}\n{text}", loaded.errors);
        assert!(
            text.contains("|06|update|08|evil-plc|07|example|00|"),
            "{text}"
        );
        assert!(text.contains(&format!("sid:{};", sid_base("CN-000001"))));
        let bad = Indicators {
            ips: vec!["not-an-ip".into()],
            ..Indicators::default()
        };
        assert!(bad.check().unwrap_err().contains("indicators.ips"));
    }

    fn numbered(seq: u64, enterprise: &str) -> (Bulletin, Vec<Target>) {
        let id = format!("CN-{seq:06}");
        let b = Bulletin {
            bulletin_id: id.clone(),
            seq,
            issuer: "national".into(),
            issued: 0,
            title: "t".into(),
            severity: 2,
            description: String::new(),
            scope: "{}".into(),
            indicators: "{}".into(),
            rules: String::new(),
            actions: "[]".into(),
            deadline: 0,
            revoked: 0,
            version: 1,
            revision: 1,
            drill: 0,
            change: String::new(),
            tlp: "amber".into(),
        };
        let t = Target {
            bulletin_id: id,
            province: "330000".into(),
            enterprise_id: enterprise.into(),
            name: String::new(),
            industry: "energy".into(),
            grade: 1,
        };
        (b, vec![t])
    }

    #[test]
    fn the_feed_pages_in_seq_order_and_skips_other_enterprises() {
        let book = Book::default();
        // Put out of order: the book keeps `seq` order.
        for seq in [3, 1, 5, 2, 4, 6] {
            let (b, t) = numbered(seq, if seq == 4 { "B" } else { "A" });
            book.put(b, t);
        }
        let seqs = |after, limit| -> Vec<u64> {
            (book.after(after, limit, |t| t.enterprise_id == "A").iter())
                .map(|(b, _)| b.seq)
                .collect()
        };
        assert_eq!(seqs(0, 2), [1, 2]);
        assert_eq!(seqs(2, 2), [3, 5], "4 is another enterprise's");
        assert_eq!(seqs(5, 2), [6]);
        assert!(seqs(6, 2).is_empty());
        assert_eq!(book.all(|_| true).len(), 6);
        assert_eq!(book.next_seq(), 7);
    }
}
