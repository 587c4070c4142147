//! Classification and grading (分类分级): each enterprise's type and scale, a grade worked out
//! by the configured rules (`[grading]`) from those, its industry and what the sensors see of
//! it (controllers, exposure), and a person's override with who and why.
//!
//! The tier that registers an enterprise grades it, every `interval_s`: the score's terms are
//! kept as the explanation; the effective grade (the override, else the computed one) goes into
//! the registry when it differs, which reports it up like any registry change, and the
//! enterprise's open incidents and hazards are moved to it ([`super::incident::Incidents::
//! regrade`], [`super::hazard::Register::regrade`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::hazard::Register;
use super::incident::Incidents;
use super::registry::{self, Enterprise};
use super::report::EnterpriseRow;
use crate::config::{Config, GradingConfig};
use crate::store::Store;
use crate::time::{now_s, now_us};

/// An enterprise's profile, as stored in `enterprise_profiles`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Profile {
    pub enterprise_id: String,
    pub province: String,
    /// `industrial`, `platform`, `infrastructure`; empty: not said.
    pub kind: String,
    /// `large`, `medium`, `small`, `micro`; empty: not said.
    pub scale: String,
    /// The grade the rules work out (0: not graded yet), its score and terms (JSON).
    pub computed: u8,
    pub score: u32,
    pub explanation: String,
    /// A person's grade (0: none), who set it and why.
    pub override_grade: u8,
    pub override_by: String,
    pub override_reason: String,
    pub updated: u32,
    pub version: u64,
}

impl Profile {
    /// The grade that counts: the override, else the computed one, else `declared`.
    pub fn effective(&self, declared: u8) -> u8 {
        match (self.override_grade, self.computed) {
            (o, _) if o != 0 => o,
            (_, c) if c != 0 => c,
            _ => declared,
        }
    }
}

/// One term of a score: what it is, the value it was read from, and the points it gave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub factor: String,
    pub value: String,
    pub points: u32,
}

/// What the sensors see of an enterprise.
#[derive(Clone, Copy, Debug, Default)]
pub struct Seen {
    pub controllers: u64,
    /// Open hazards of CVSS 7 or more.
    pub exposed: u64,
}

/// The grade `c` gives enterprise `e` of `kind` and `scale`, its score and terms.
pub fn grade(
    c: &GradingConfig,
    e: &Enterprise,
    kind: &str,
    scale: &str,
    seen: Seen,
) -> (u8, u32, Vec<Term>) {
    let industry = c.industries.get(&e.industry).copied().unwrap_or_else(|| {
        icsight_eve::Industry::parse(&e.industry)
            .map_or(10, |i| 2 * u32::from(crate::codes::weight(i)))
    });
    let mut terms = vec![Term {
        factor: "industry".into(),
        value: e.industry.clone(),
        points: industry,
    }];
    if !kind.is_empty() {
        terms.push(Term {
            factor: "kind".into(),
            value: kind.into(),
            points: c.kinds.get(kind).copied().unwrap_or(0),
        });
    }
    if !scale.is_empty() {
        terms.push(Term {
            factor: "scale".into(),
            value: scale.into(),
            points: c.scales.get(scale).copied().unwrap_or(0),
        });
    }
    let capped = |n: u64, each: u32, cap: u32| {
        (n.min(u64::from(u32::MAX)) as u32)
            .saturating_mul(each)
            .min(cap)
    };
    terms.push(Term {
        factor: "controllers".into(),
        value: seen.controllers.to_string(),
        points: capped(seen.controllers, c.controller_points, c.controller_cap),
    });
    terms.push(Term {
        factor: "exposure".into(),
        value: seen.exposed.to_string(),
        points: capped(seen.exposed, c.exposure_points, c.exposure_cap),
    });
    let score: u32 = terms.iter().map(|t| t.points).sum();
    let g = if score >= c.grade1_at {
        1
    } else if score >= c.grade2_at {
        2
    } else {
        3
    };
    (g, score, terms)
}

/// Whether `e` is on the key-enterprise list (重点企业清单).
pub fn is_key(c: &GradingConfig, e: &Enterprise) -> bool {
    e.grade == 1 && (c.key_industries.is_empty() || c.key_industries.contains(&e.industry))
}

/// The grading of one tier.
pub struct Grading {
    store: Store,
    registry: Arc<registry::Shared>,
    config: Arc<Config>,
    incidents: Arc<Incidents>,
    hazards: Arc<Register>,
    /// One grading at a time: the loop and a person's override never cross.
    writing: tokio::sync::Mutex<()>,
}

/// What one grading changed: enterprise, old and new grade.
pub type Regraded = Vec<(String, u8, u8)>;

impl Grading {
    pub fn new(
        store: Store,
        registry: Arc<registry::Shared>,
        config: Arc<Config>,
        incidents: Arc<Incidents>,
        hazards: Arc<Register>,
    ) -> Grading {
        Grading {
            store,
            registry,
            config,
            incidents,
            hazards,
            writing: tokio::sync::Mutex::new(()),
        }
    }

    pub fn config(&self) -> &GradingConfig {
        &self.config.grading
    }

    /// Every profile, by enterprise.
    pub async fn profiles(&self) -> clickhouse::error::Result<HashMap<String, Profile>> {
        let rows: Vec<Profile> = self
            .store
            .client()
            .query("SELECT ?fields FROM enterprise_profiles FINAL")
            .fetch_all()
            .await?;
        Ok(rows
            .into_iter()
            .map(|p| (p.enterprise_id.clone(), p))
            .collect())
    }

    pub async fn profile(&self, id: &str) -> clickhouse::error::Result<Option<Profile>> {
        let rows: Vec<Profile> = self
            .store
            .client()
            .query("SELECT ?fields FROM enterprise_profiles FINAL WHERE enterprise_id = ?")
            .bind(id)
            .fetch_all()
            .await?;
        Ok(rows.into_iter().next())
    }

    async fn seen(&self) -> clickhouse::error::Result<HashMap<String, Seen>> {
        let controllers: Vec<(String, u64)> = self
            .store
            .client()
            .query(
                "SELECT enterprise_id, countIf(has(roles, 'outstation')) \
                 FROM assets_current FINAL GROUP BY enterprise_id",
            )
            .fetch_all()
            .await?;
        let exposed: Vec<(String, u64)> = self
            .store
            .client()
            .query(
                "SELECT enterprise_id, countIf(state != 'verified' AND cvss >= 7) \
                 FROM hazards FINAL GROUP BY enterprise_id",
            )
            .fetch_all()
            .await?;
        let mut out: HashMap<String, Seen> = HashMap::new();
        for (e, n) in controllers {
            out.entry(e).or_default().controllers = n;
        }
        for (e, n) in exposed {
            out.entry(e).or_default().exposed = n;
        }
        Ok(out)
    }

    /// The enterprises this tier grades: those of its province (or enterprise).
    fn mine(&self, e: &Enterprise) -> bool {
        let t = &self.config.tier;
        e.province == t.province
            && (t.enterprise_id.is_empty() || e.enterprise_id == t.enterprise_id)
    }

    /// Grade the registry once; what changed.
    pub async fn run_once(&self) -> clickhouse::error::Result<Regraded> {
        let _one = self.writing.lock().await;
        // A national tier grades nothing (it holds what the provinces report): no queries.
        if self.config.tier.province.is_empty() {
            return Ok(Vec::new());
        }
        let registry = self.registry.get();
        let profiles = self.profiles().await?;
        // What the sensors see only counts when the rules grade.
        let seen = if self.config.grading.enabled {
            self.seen().await?
        } else {
            HashMap::new()
        };
        let mut changed = Vec::new();
        let mut rows = Vec::new();
        let mut regraded = Vec::new();
        for e in registry.iter().filter(|e| self.mine(e)) {
            let held = profiles
                .get(&e.enterprise_id)
                .cloned()
                .unwrap_or_else(|| Profile {
                    enterprise_id: e.enterprise_id.clone(),
                    province: e.province.clone(),
                    ..Profile::default()
                });
            let mut p = held.clone();
            if self.config.grading.enabled {
                let (g, score, terms) = grade(
                    &self.config.grading,
                    e,
                    &p.kind,
                    &p.scale,
                    seen.get(&e.enterprise_id).copied().unwrap_or_default(),
                );
                p.computed = g;
                p.score = score;
                p.explanation = serde_json::to_string(&terms).expect("terms serialize");
            }
            if p != held {
                p.updated = now_s() as u32;
                p.version = now_us();
                changed.push(p.clone());
            }
            let effective = p.effective(e.grade);
            if effective != e.grade {
                let mut next = e.clone();
                next.grade = effective;
                rows.push(EnterpriseRow::new(&next, now_us(), "grading"));
                regraded.push((e.enterprise_id.clone(), e.grade, effective));
            }
        }
        self.store.insert("enterprise_profiles", &changed).await?;
        self.apply(rows, &regraded).await?;
        Ok(regraded)
    }

    /// The registry rows of new grades stored and loaded, and what depends on a grade moved.
    async fn apply(
        &self,
        rows: Vec<EnterpriseRow>,
        regraded: &Regraded,
    ) -> clickhouse::error::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        self.store.insert("enterprises", &rows).await?;
        let mut r = (*self.registry.get()).clone();
        for row in &rows {
            r.insert(row.enterprise());
        }
        self.registry.replace(r);
        for (id, from, to) in regraded {
            tracing::info!(enterprise = %id, from, to, "enterprise regraded");
            self.incidents.regrade(id, *to).await?;
            self.hazards.regrade(id, *to).await?;
        }
        Ok(())
    }

    /// Writes a profile as given (type, scale, override), then grades at once.
    pub async fn set(&self, p: Profile) -> clickhouse::error::Result<Regraded> {
        {
            let _one = self.writing.lock().await;
            let mut p = p;
            p.updated = now_s() as u32;
            p.version = now_us();
            self.store.insert("enterprise_profiles", &[p]).await?;
        }
        self.run_once().await
    }
}

/// Grade the registry every `interval_s`, for as long as the collector serves.
pub async fn run(g: Arc<Grading>) {
    let every = Duration::from_secs_f64(g.config.grading.interval_s);
    loop {
        if let Err(e) = g.run_once().await {
            tracing::warn!(error = %e, "grading the registry failed; will try again");
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(industry: &str, grade: u8) -> Enterprise {
        Enterprise {
            enterprise_id: "91330100MA27XY1235".into(),
            name: "x".into(),
            province: "330000".into(),
            industry: industry.into(),
            grade,
        }
    }

    #[test]
    fn grades_sum_their_terms() {
        let c = GradingConfig::default();
        let seen = Seen {
            controllers: 12,
            exposed: 3,
        };
        // energy 40 + infrastructure 30 + large 20 + 12 controllers + 3 × 2 exposure = 108.
        let (g, score, terms) = grade(&c, &e("energy", 3), "infrastructure", "large", seen);
        assert_eq!((g, score), (1, 108));
        assert_eq!(terms.len(), 5);
        // textile 10 + industrial 10 + small 5 = 25: grade 3.
        let (g, score, _) = grade(&c, &e("textile", 1), "industrial", "small", Seen::default());
        assert_eq!((g, score), (3, 25));
        // machinery 20 + platform 20 + medium 10 = 50: grade 2.
        let (g, _, _) = grade(
            &c,
            &e("machinery", 1),
            "platform",
            "medium",
            Seen::default(),
        );
        assert_eq!(g, 2);
        // Caps hold.
        let many = Seen {
            controllers: 10_000,
            exposed: 10_000,
        };
        let (_, score, _) = grade(&c, &e("textile", 1), "", "", many);
        assert_eq!(score, 10 + 20 + 20);
    }

    #[test]
    fn the_override_wins_and_the_key_list_is_grade_one_of_key_industries() {
        let p = Profile {
            computed: 2,
            override_grade: 1,
            ..Profile::default()
        };
        assert_eq!(p.effective(3), 1);
        assert_eq!(
            Profile {
                computed: 2,
                ..Profile::default()
            }
            .effective(3),
            2
        );
        assert_eq!(Profile::default().effective(3), 3);
        let c = GradingConfig::default();
        assert!(is_key(&c, &e("energy", 1)));
        assert!(!is_key(&c, &e("energy", 2)));
        assert!(!is_key(&c, &e("textile", 1)));
    }
}
