//! The enterprise registry: who is monitored, where, in which industry and at which security
//! grade. Every tier keeps the part it oversees; the national tier holds the union of what the
//! provinces report.
//!
//! Grade and industry weigh the priority of alerts and incidents ([`priority`]), and a
//! bulletin's scope is resolved against the registry ([`Registry::matching`]).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::store::Store;

pub use crate::codes::{check_grade, check_industry, check_province, check_uscc, PROVINCES};

/// One registered enterprise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clickhouse::Row)]
pub struct Enterprise {
    /// Unified social credit code (GB 32100-2015).
    pub enterprise_id: String,
    pub name: String,
    /// GB/T 2260 province-level code.
    pub province: String,
    pub industry: String,
    /// 1 (highest) to 3, under the classification-and-grading scheme.
    pub grade: u8,
}

/// What an enterprise's grade adds to a priority.
pub fn grade_points(grade: u8) -> u8 {
    match grade {
        1 => 30,
        2 => 20,
        _ => 10,
    }
}

/// The priority of an alert or incident, 0-100: its severity, and the grade and industry of
/// the enterprise it happened at. A severity-1 alert at a grade-1 energy plant is 100; a
/// severity-3 alert at a grade-3 textile mill is 30.
pub fn priority(severity: u8, grade: u8, industry: &str) -> u8 {
    let s = match severity {
        1 => 50,
        2 => 35,
        3 => 15,
        _ => 5,
    };
    let g = grade_points(grade);
    let i = icsight_eve::Industry::parse(industry).map_or(5, crate::codes::weight);
    s + g + i
}

impl Enterprise {
    /// Check every field; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        check_uscc(&self.enterprise_id).map_err(|m| format!("enterprise_id: {m}"))?;
        if self.name.trim().is_empty() || self.name.chars().count() > 200 {
            return Err("name: must be 1-200 characters".into());
        }
        if self.name.chars().any(char::is_control) {
            return Err("name: must not hold control characters".into());
        }
        check_province(&self.province).map_err(|m| format!("province: {m}"))?;
        check_industry(&self.industry).map_err(|m| format!("industry: {m}"))?;
        check_grade(self.grade).map_err(|m| format!("grade: {m}"))?;
        Ok(())
    }
}

/// A registry file that cannot be imported, and where.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
pub struct ImportError {
    pub path: String,
    pub line: Option<u64>,
    pub message: String,
}

/// The columns a registry CSV has, in this order, with this header.
pub const CSV_HEADER: [&str; 5] = ["enterprise_id", "name", "province", "industry", "grade"];

/// The most enterprises one file may hold: the national scale, with room.
pub const MAX_ENTERPRISES: usize = 500_000;

/// Read a registry CSV (header `enterprise_id,name,province,industry,grade`, UTF-8). The whole
/// file is checked before anything is returned: one bad line refuses the file, naming it.
pub fn read_csv(reader: impl Read, path: &Path) -> Result<Vec<Enterprise>, ImportError> {
    let err = |line: Option<u64>, message: String| ImportError {
        path: path.display().to_string(),
        line,
        message,
    };
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = r
        .headers()
        .map_err(|e| err(Some(1), format!("header: {e}")))?;
    if header.iter().collect::<Vec<_>>() != CSV_HEADER {
        return Err(err(
            Some(1),
            format!("the header must be {}", CSV_HEADER.join(",")),
        ));
    }
    let mut out: Vec<Enterprise> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in r.records() {
        let record =
            record.map_err(|e| err(e.position().map(|p| p.line()), format!("not CSV: {e}")))?;
        let line = record.position().map_or(0, |p| p.line());
        let grade = record[4].parse::<u8>().map_err(|_| {
            err(
                Some(line),
                format!("grade: {:?} is not 1, 2 or 3", &record[4]),
            )
        })?;
        let e = Enterprise {
            enterprise_id: record[0].to_owned(),
            name: record[1].to_owned(),
            province: record[2].to_owned(),
            industry: record[3].to_owned(),
            grade,
        };
        e.check().map_err(|m| err(Some(line), m))?;
        if let Some(first) = seen.insert(e.enterprise_id.clone(), line) {
            return Err(err(
                Some(line),
                format!("enterprise_id {} is also on line {first}", e.enterprise_id),
            ));
        }
        out.push(e);
        if out.len() > MAX_ENTERPRISES {
            return Err(err(
                Some(line),
                format!("more than {MAX_ENTERPRISES} enterprises"),
            ));
        }
    }
    Ok(out)
}

/// The registry as a tier holds it in memory, by enterprise id.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    by_id: HashMap<String, Enterprise>,
}

/// A bulletin's scope: which enterprises it is for. Named enterprises are in scope whatever
/// the other lists say; otherwise an enterprise is in scope when it matches every list that
/// is not empty. All lists empty: every enterprise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scope {
    pub provinces: Vec<String>,
    pub industries: Vec<String>,
    pub grades: Vec<u8>,
    pub enterprises: Vec<String>,
}

impl Scope {
    pub fn check(&self) -> Result<(), String> {
        for p in &self.provinces {
            check_province(p).map_err(|m| format!("scope.provinces: {m}"))?;
        }
        for i in &self.industries {
            check_industry(i).map_err(|m| format!("scope.industries: {m}"))?;
        }
        for g in &self.grades {
            check_grade(*g).map_err(|m| format!("scope.grades: {m}"))?;
        }
        for e in &self.enterprises {
            check_uscc(e).map_err(|m| format!("scope.enterprises: {m}"))?;
        }
        Ok(())
    }

    pub fn contains(&self, e: &Enterprise) -> bool {
        if !self.enterprises.is_empty() {
            return self.enterprises.contains(&e.enterprise_id);
        }
        (self.provinces.is_empty() || self.provinces.contains(&e.province))
            && (self.industries.is_empty() || self.industries.contains(&e.industry))
            && (self.grades.is_empty() || self.grades.contains(&e.grade))
    }

    /// Whether some enterprise of `province` could be in scope.
    pub fn may_reach(&self, province: &str) -> bool {
        self.provinces.is_empty() || self.provinces.iter().any(|p| p == province)
    }
}

impl Registry {
    pub fn new(list: impl IntoIterator<Item = Enterprise>) -> Registry {
        Registry {
            by_id: list
                .into_iter()
                .map(|e| (e.enterprise_id.clone(), e))
                .collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Enterprise> {
        self.by_id.get(id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn insert(&mut self, e: Enterprise) {
        self.by_id.insert(e.enterprise_id.clone(), e);
    }

    /// The enterprises in `scope`, sorted by id.
    pub fn matching(&self, scope: &Scope) -> Vec<&Enterprise> {
        let mut out: Vec<&Enterprise> = self.by_id.values().filter(|e| scope.contains(e)).collect();
        out.sort_by(|a, b| a.enterprise_id.cmp(&b.enterprise_id));
        out
    }

    pub fn iter(&self) -> impl Iterator<Item = &Enterprise> {
        self.by_id.values()
    }
}

/// The registry as last loaded, read by handlers and loops while it is reloaded.
#[derive(Default)]
pub struct Shared(RwLock<Arc<Registry>>);

impl Shared {
    pub fn new(r: Registry) -> Shared {
        Shared(RwLock::new(Arc::new(r)))
    }

    /// The registry as last loaded.
    pub fn get(&self) -> Arc<Registry> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn replace(&self, r: Registry) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(r);
    }
}

/// The registry as ClickHouse holds it: the newest version of each enterprise.
pub async fn load(store: &Store) -> clickhouse::error::Result<Registry> {
    let rows: Vec<Enterprise> = store
        .client()
        .query("SELECT enterprise_id, name, province, industry, grade FROM enterprises FINAL WHERE deleted = 0")
        .fetch_all()
        .await?;
    Ok(Registry::new(rows))
}

/// Reload the registry every `every`: imports and reports from below.
pub async fn refresh_loop(shared: Arc<Shared>, store: Store, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        match load(&store).await {
            Ok(r) => shared.replace(r),
            Err(e) => tracing::warn!(error = %e, "reloading the registry failed; keeping the last"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZJ: &str = "91330100MA27XY1235";
    const GD: &str = "91440300MA5FXT12X5";

    fn read(text: &str) -> Result<Vec<Enterprise>, String> {
        read_csv(text.as_bytes(), Path::new("r.csv")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_registry_file_is_read_and_checked_whole() {
        let list = read(&format!(
            "enterprise_id,name,province,industry,grade\n{ZJ},Hangzhou Petrochem,330000,petrochemical,1\n\
             {GD},\"Shenzhen Electronics, Ltd\",440000,electronics,3\n"
        ))
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[1].name, "Shenzhen Electronics, Ltd");
        let e = read(&format!(
            "enterprise_id,name,province,industry,grade\n{ZJ},A,330000,petrochemical,1\n{GD},B,440000,candy,2\n"
        ))
        .unwrap_err();
        assert!(e.starts_with("r.csv line 3: industry:"), "{e}");
        let e = read(
            "enterprise_id,name,province,industry,grade\n91330100MA27XY1236,A,330000,energy,1\n",
        )
        .unwrap_err();
        assert!(
            e.contains("line 2: enterprise_id:") && e.contains("check character"),
            "{e}"
        );
        let e = read(&format!(
            "enterprise_id,name,province,industry,grade\n{ZJ},A,339900,energy,1\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 2: province:"), "{e}");
        let e = read(&format!(
            "enterprise_id,name,province,industry,grade\n{ZJ},A,330000,energy,4\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 2: grade:"), "{e}");
        let e = read(&format!(
            "enterprise_id,name,province,industry,grade\n{ZJ},A,330000,energy,1\n{ZJ},B,330000,energy,2\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 3") && e.contains("also on line 2"), "{e}");
        let e = read("id,name\n").unwrap_err();
        assert!(e.contains("line 1: the header"), "{e}");
        let e = read(&format!(
            "enterprise_id,name,province,industry,grade\n{ZJ},A,330000\n"
        ))
        .unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn scope_resolution() {
        let r = Registry::new([
            Enterprise {
                enterprise_id: ZJ.into(),
                name: "a".into(),
                province: "330000".into(),
                industry: "energy".into(),
                grade: 1,
            },
            Enterprise {
                enterprise_id: GD.into(),
                name: "b".into(),
                province: "440000".into(),
                industry: "energy".into(),
                grade: 2,
            },
        ]);
        let ids = |s: &Scope| -> Vec<String> {
            r.matching(s)
                .iter()
                .map(|e| e.enterprise_id.clone())
                .collect()
        };
        assert_eq!(ids(&Scope::default()).len(), 2);
        let s = Scope {
            industries: vec!["energy".into()],
            grades: vec![2],
            ..Scope::default()
        };
        assert_eq!(ids(&s), [GD]);
        let s = Scope {
            provinces: vec!["440000".into()],
            enterprises: vec![ZJ.into()],
            ..Scope::default()
        };
        assert_eq!(ids(&s), [ZJ], "named enterprises are the scope");
        assert!(!Scope {
            provinces: vec!["440000".into()],
            ..Scope::default()
        }
        .may_reach("330000"));
    }

    #[test]
    fn priority_weighs_grade_and_industry() {
        assert_eq!(priority(1, 1, "energy"), 100);
        assert_eq!(priority(3, 3, "textile"), 30);
        assert!(priority(2, 1, "water") > priority(2, 3, "water"));
        assert!(priority(2, 2, "energy") > priority(2, 2, "textile"));
    }
}
