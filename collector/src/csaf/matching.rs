//! Which advisories a device falls under, how sure we are, and why.
//!
//! A device is what the sensor learned from the wire: vendor, order number (S7's MLFB,
//! Modbus' product code), model name, firmware. Each advisory's product entries are tried in
//! turn, the best one wins:
//!
//! | confidence | the device's … | the entry's … | version |
//! |---|---|---|---|
//! | `exact`  | order number | model number, SKU, or order number in its name | in range |
//! | `model`  | order number | (same) | not comparable (no firmware seen, or a range in words) |
//! | `name`   | model name (`CPU 315-2 PN/DP`) | product name, from the same vendor | in range |
//! | `family` | order number's family (`S7-300`) | "… S7-300 CPU family …" with no model of its own | in range |
//!
//! A version outside the range is no match: that is what a fixed firmware looks like. An entry
//! with its own model numbers is matched by order number only, so "CPU 315F" never stands in
//! for "CPU 315". Every hit says which field matched which entry.

use std::collections::{BTreeSet, HashMap};

use super::identity;
use super::version::{Verdict, Version};
use super::{Advisory, Product};

/// How sure a match is, weakest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    Family,
    Name,
    Model,
    Exact,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Family => "family",
            Confidence::Name => "name",
            Confidence::Model => "model",
            Confidence::Exact => "exact",
        }
    }

    pub fn parse(s: &str) -> Option<Confidence> {
        [
            Confidence::Family,
            Confidence::Name,
            Confidence::Model,
            Confidence::Exact,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// The identity of one device as the sensor reported it.
#[derive(Clone, Debug, Default)]
pub struct Device {
    pub vendor: Option<String>,
    /// Order number / product code.
    pub product: Option<String>,
    /// Model or module name.
    pub model: Option<String>,
    pub firmware: Option<String>,
}

/// One advisory that applies to a device.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub advisory: String,
    pub title: String,
    pub product_id: String,
    pub product_name: String,
    pub confidence: Confidence,
    /// Which identity field matched which entry, and the version check.
    pub why: String,
    pub cves: Vec<String>,
    pub cvss: f64,
    pub vector: String,
    pub exploited: bool,
    pub remediation: String,
    /// The first version outside the range, when the range has an upper bound.
    pub fixed_in: Option<String>,
}

/// Remediation text kept per hit.
const MAX_REMEDIATION: usize = 4000;

/// Every advisory, indexed by vendor key.
#[derive(Default)]
pub struct Catalogue {
    advisories: Vec<Advisory>,
    by_id: HashMap<String, usize>,
    /// Vendor key → (advisory, product) indexes.
    by_vendor: HashMap<String, Vec<(usize, usize)>>,
    /// Order number → (advisory, product), whatever the vendor.
    by_model: HashMap<String, Vec<(usize, usize)>>,
    /// CVEs listed as known exploited by a KEV-style catalogue.
    kev: BTreeSet<String>,
}

impl Catalogue {
    pub fn new(advisories: impl IntoIterator<Item = Advisory>) -> Catalogue {
        let mut c = Catalogue::default();
        for a in advisories {
            c.insert(a);
        }
        c
    }

    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Advisory> {
        self.by_id.get(id).map(|&i| &self.advisories[i])
    }

    /// CVEs known to be exploited (CISA's KEV catalogue and the like).
    pub fn set_known_exploited(&mut self, cves: impl IntoIterator<Item = String>) {
        self.kev = cves.into_iter().collect();
    }

    /// Adds an advisory, or replaces the one with its id.
    pub fn insert(&mut self, a: Advisory) {
        if let Some(&i) = self.by_id.get(&a.id) {
            self.advisories[i] = a;
            self.reindex();
            return;
        }
        let i = self.advisories.len();
        self.by_id.insert(a.id.clone(), i);
        self.index(i, &a);
        self.advisories.push(a);
    }

    fn index(&mut self, i: usize, a: &Advisory) {
        for (j, p) in a.products.iter().enumerate() {
            (self.by_vendor.entry(p.vendor_key.clone()).or_default()).push((i, j));
            for m in &p.models {
                self.by_model.entry(m.clone()).or_default().push((i, j));
            }
        }
    }

    fn reindex(&mut self) {
        self.by_vendor.clear();
        self.by_model.clear();
        let all = std::mem::take(&mut self.advisories);
        for (i, a) in all.iter().enumerate() {
            self.index(i, a);
        }
        self.advisories = all;
    }

    /// The advisories `device` falls under, strongest first.
    pub fn matches(&self, device: &Device) -> Vec<Hit> {
        let order = device
            .product
            .as_deref()
            .map(identity::order_number)
            .filter(|o| o.len() >= 5);
        let vendor = device
            .vendor
            .as_deref()
            .map(identity::vendor)
            .filter(|v| !v.is_empty())
            .or_else(|| {
                order
                    .as_deref()
                    .and_then(identity::vendor_of_order_number)
                    .map(str::to_owned)
            });
        let firmware = device.firmware.as_deref().and_then(Version::parse);
        // Candidates: the vendor's entries, plus any entry naming the order number.
        let mut candidates: BTreeSet<(usize, usize)> = BTreeSet::new();
        if let Some(v) = &vendor {
            candidates.extend(self.by_vendor.get(v).into_iter().flatten());
        }
        if let Some(o) = &order {
            candidates.extend(self.by_model.get(o).into_iter().flatten());
        }
        let mut best: HashMap<usize, (Confidence, usize, String)> = HashMap::new();
        for (i, j) in candidates {
            let p = &self.advisories[i].products[j];
            let Some((confidence, why)) = judge(
                p,
                vendor.as_deref(),
                order.as_deref(),
                device,
                firmware.as_ref(),
            ) else {
                continue;
            };
            // The entry must be affected by at least one vulnerability.
            if !self.advisories[i]
                .vulnerabilities
                .iter()
                .any(|v| v.affected.contains(&p.id))
            {
                continue;
            }
            let better = best.get(&i).is_none_or(|(c, _, _)| confidence > *c);
            if better {
                best.insert(i, (confidence, j, why));
            }
        }
        let mut hits: Vec<Hit> = best
            .into_iter()
            .map(|(i, (confidence, j, why))| self.hit(i, j, confidence, why))
            .collect();
        hits.sort_by(|a, b| {
            (b.confidence.cmp(&a.confidence))
                .then(b.cvss.total_cmp(&a.cvss))
                .then_with(|| a.advisory.cmp(&b.advisory))
        });
        hits
    }

    fn hit(&self, i: usize, j: usize, confidence: Confidence, why: String) -> Hit {
        let a = &self.advisories[i];
        let p = &a.products[j];
        let mut cves = BTreeSet::new();
        let mut cvss = 0.0f64;
        let mut vector = String::new();
        let mut exploited = false;
        let mut remediation: Vec<String> = Vec::new();
        for v in a
            .vulnerabilities
            .iter()
            .filter(|v| v.affected.contains(&p.id))
        {
            if let Some(c) = &v.cve {
                cves.insert(c.clone());
                exploited |= self.kev.contains(c);
            }
            exploited |= v.exploited;
            if let Some((s, vec)) = v.scores.get(&p.id) {
                if *s > cvss {
                    cvss = *s;
                    vector = vec.clone();
                }
            }
            for r in v.remediations.iter().filter(|r| r.products.contains(&p.id)) {
                let line = format!("[{}] {}", r.category, r.details.trim());
                if !remediation.contains(&line) {
                    remediation.push(line);
                }
            }
        }
        // Vendor fixes first: they are what closes a hazard.
        remediation.sort_by_key(|l| !l.starts_with("[vendor_fix]"));
        let mut remediation = remediation.join("\n");
        if remediation.len() > MAX_REMEDIATION {
            let mut cut = MAX_REMEDIATION;
            while !remediation.is_char_boundary(cut) {
                cut -= 1;
            }
            remediation.truncate(cut);
            remediation.push('…');
        }
        Hit {
            advisory: a.id.clone(),
            title: a.title.clone(),
            product_id: p.id.clone(),
            product_name: p.name.clone(),
            confidence,
            why,
            cves: cves.into_iter().collect(),
            cvss,
            vector,
            exploited,
            remediation,
            fixed_in: p.range.fixed_in().map(ToString::to_string),
        }
    }
}

/// Whether `device` is covered by entry `p`, at what confidence, and why.
fn judge(
    p: &Product,
    vendor: Option<&str>,
    order: Option<&str>,
    device: &Device,
    firmware: Option<&Version>,
) -> Option<(Confidence, String)> {
    let name = identity::name_key(&p.name);
    let seen = |v: Option<&Version>| {
        v.map_or_else(
            || "no firmware seen".to_owned(),
            |v| format!("firmware {v}"),
        )
    };
    let range = if p.range_text.is_empty() {
        "every version".to_owned()
    } else {
        format!("{:?}", p.range_text)
    };
    let other_vendor =
        matches!((vendor, p.vendor_key.as_str()), (Some(v), k) if !k.is_empty() && v != k);
    // By order number: the entry's model numbers, or the number in its name.
    if let Some(o) = order.filter(|_| !other_vendor) {
        let named = p.models.iter().any(|m| m == o) || name.contains(&format!(" {o} "));
        if named {
            let field = if p.models.iter().any(|m| m == o) {
                "model number"
            } else {
                "name"
            };
            let head = format!("order number {o} = {field} of {:?}", p.name);
            return match p.range.check(firmware) {
                Verdict::Affected => Some((
                    Confidence::Exact,
                    format!("{head}; {} within {range}", seen(firmware)),
                )),
                Verdict::Unknown => Some((
                    Confidence::Model,
                    format!("{head}; {} not comparable with {range}", seen(firmware)),
                )),
                Verdict::NotAffected => None,
            };
        }
        if !p.models.is_empty() {
            // The entry names its own models, and this is not one of them.
            return None;
        }
    }
    // The rest needs the same vendor.
    if vendor.is_none() || vendor != Some(p.vendor_key.as_str()) || p.vendor_key.is_empty() {
        return None;
    }
    let in_range = |confidence: Confidence, head: String| match p.range.check(firmware) {
        Verdict::Affected => Some((
            confidence,
            format!("{head}; {} within {range}", seen(firmware)),
        )),
        _ => None,
    };
    // By model name: `CPU 315-2 PN/DP` in the entry's name.
    if let Some(model) = device.model.as_deref() {
        let m = identity::name_key(model);
        // At least two words or six letters: "CPU" alone names nothing.
        let specific = m.trim().len() >= 6 || m.trim().contains(' ');
        if specific && (name.contains(&m) || identity::name_key(&p.product).contains(&m)) {
            return in_range(
                Confidence::Name,
                format!("model {model:?} named by {:?}", p.name),
            );
        }
    }
    // By family: the order number's family in an entry for the whole family's CPUs.
    let family = order.and_then(identity::family)?;
    let key = identity::name_key(&format!("{} {}", p.product, p.name));
    let token = format!(" {} ", identity::name_key(family).trim());
    let whole_family = key.contains(&token)
        && (key.contains(" CPU ") || key.contains(" CPUS ") || key.contains(" FAMILY "))
        && !names_a_cpu(&key);
    if whole_family {
        return in_range(
            Confidence::Family,
            format!(
                "order number {} is of the {family} family, and {:?} covers the family",
                order.unwrap_or_default(),
                p.name
            ),
        );
    }
    None
}

/// Whether a name designates one CPU (`CPU 315-2`, `CPU 1516F`) rather than a family.
fn names_a_cpu(key: &str) -> bool {
    key.match_indices(" CPU ")
        .any(|(i, _)| key[i + 5..].starts_with(|c: char| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_entry_is_told_from_one_cpu() {
        assert!(names_a_cpu(&identity::name_key(
            "SIMATIC S7-300 CPU 315-2 PN/DP"
        )));
        assert!(!names_a_cpu(&identity::name_key(
            "SIMATIC S7-300 CPU family (incl. related ET200 CPUs and SIPLUS variants)"
        )));
    }
}
