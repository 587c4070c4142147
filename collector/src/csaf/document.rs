//! A CSAF 2.0 document as read from JSON, checked, and flattened to what matching needs.
//!
//! The structs below mirror the parts of the OASIS CSAF 2.0 schema this collector uses; every
//! other member is ignored, as the standard allows. Reading goes through
//! `serde_path_to_error`, so a document with a wrong type or a missing required member is
//! refused with the JSON path at fault. On top of the types, [`check`] applies the schema's
//! value rules this collector depends on (CSAF version, dates, CVE ids, CVSS bounds) and the
//! standard's first mandatory tests: every referenced product id is defined (6.1.1) and none is
//! defined twice (6.1.2).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::version::Range;

#[derive(Debug, Deserialize)]
pub(super) struct Doc {
    pub document: Meta,
    #[serde(default)]
    pub product_tree: Option<ProductTree>,
    #[serde(default)]
    pub vulnerabilities: Vec<Vuln>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Meta {
    pub category: String,
    pub csaf_version: String,
    pub publisher: Publisher,
    pub title: String,
    pub tracking: Tracking,
    #[serde(default)]
    pub distribution: Option<Distribution>,
    #[serde(default)]
    pub notes: Vec<Note>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Publisher {
    pub category: String,
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Tracking {
    pub id: String,
    pub current_release_date: String,
    pub initial_release_date: String,
    pub revision_history: Vec<Revision>,
    pub status: String,
    pub version: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Revision {
    pub date: String,
    pub number: String,
    pub summary: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Distribution {
    #[serde(default)]
    pub tlp: Option<Tlp>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Tlp {
    pub label: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Note {
    pub text: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ProductTree {
    #[serde(default)]
    pub branches: Vec<Branch>,
    #[serde(default)]
    pub full_product_names: Vec<FullProductName>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Branch {
    pub category: String,
    pub name: String,
    #[serde(default)]
    pub branches: Vec<Branch>,
    #[serde(default)]
    pub product: Option<FullProductName>,
}

#[derive(Debug, Deserialize)]
pub(super) struct FullProductName {
    pub name: String,
    pub product_id: String,
    #[serde(default)]
    pub product_identification_helper: Option<Helper>,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Helper {
    #[serde(default)]
    pub cpe: Option<String>,
    #[serde(default)]
    pub model_numbers: Vec<String>,
    #[serde(default)]
    pub skus: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Relationship {
    pub full_product_name: FullProductName,
    pub product_reference: String,
    pub relates_to_product_reference: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Vuln {
    #[serde(default)]
    pub cve: Option<String>,
    #[serde(default)]
    pub cwe: Option<Cwe>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub product_status: Option<ProductStatus>,
    #[serde(default)]
    pub remediations: Vec<Remediation>,
    #[serde(default)]
    pub scores: Vec<Score>,
    #[serde(default)]
    pub threats: Vec<Threat>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Cwe {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct ProductStatus {
    #[serde(default)]
    pub first_affected: Vec<String>,
    #[serde(default)]
    pub known_affected: Vec<String>,
    #[serde(default)]
    pub last_affected: Vec<String>,
    #[serde(default)]
    pub fixed: Vec<String>,
    #[serde(default)]
    pub first_fixed: Vec<String>,
    #[serde(default)]
    pub known_not_affected: Vec<String>,
    #[serde(default)]
    pub recommended: Vec<String>,
    #[serde(default)]
    pub under_investigation: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Remediation {
    pub category: String,
    pub details: String,
    #[serde(default)]
    pub product_ids: Vec<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Score {
    pub products: Vec<String>,
    #[serde(default)]
    pub cvss_v3: Option<Cvss>,
    /// CSAF 2.1 documents and some 2.0 producers carry CVSS v4 beside v3.
    #[serde(default)]
    pub cvss_v4: Option<Cvss>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Cvss {
    #[serde(rename = "baseScore")]
    pub base_score: f64,
    #[serde(rename = "vectorString")]
    pub vector_string: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Threat {
    pub category: String,
    pub details: String,
    #[serde(default)]
    pub product_ids: Vec<String>,
}

/// Why a document was refused: the JSON path at fault and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

fn refuse(path: impl Into<String>, reason: impl Into<String>) -> Refusal {
    Refusal {
        path: path.into(),
        reason: reason.into(),
    }
}

/// Reads a document, naming the path of the first member that does not fit the types.
pub(super) fn read(bytes: &[u8]) -> Result<Doc, Refusal> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        refuse(
            if path == "." {
                "$".to_owned()
            } else {
                format!("$.{path}")
            },
            inner.to_string(),
        )
    })
}

/// A date the schema requires in RFC 3339 (`date-time`); seconds since the epoch.
pub(super) fn date(path: &str, s: &str) -> Result<i64, Refusal> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| refuse(path, format!("not an RFC 3339 date-time ({s:?})")))
}

fn is_cve(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// Product ids defined in the tree, with the path that defines each.
pub(super) fn defined(tree: &ProductTree) -> Result<BTreeMap<String, String>, Refusal> {
    fn walk(
        branches: &[Branch],
        path: &str,
        out: &mut BTreeMap<String, String>,
    ) -> Result<(), Refusal> {
        for (i, b) in branches.iter().enumerate() {
            let here = format!("{path}.branches[{i}]");
            if let Some(p) = &b.product {
                define(&p.product_id, format!("{here}.product"), out)?;
            }
            walk(&b.branches, &here, out)?;
        }
        Ok(())
    }
    fn define(id: &str, path: String, out: &mut BTreeMap<String, String>) -> Result<(), Refusal> {
        if let Some(first) = out.get(id) {
            return Err(refuse(
                format!("{path}.product_id"),
                format!("product id {id:?} is already defined at {first} (CSAF test 6.1.2)"),
            ));
        }
        out.insert(id.to_owned(), path);
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(&tree.branches, "$.product_tree", &mut out)?;
    for (i, p) in tree.full_product_names.iter().enumerate() {
        define(
            &p.product_id,
            format!("$.product_tree.full_product_names[{i}]"),
            &mut out,
        )?;
    }
    for (i, r) in tree.relationships.iter().enumerate() {
        define(
            &r.full_product_name.product_id,
            format!("$.product_tree.relationships[{i}].full_product_name"),
            &mut out,
        )?;
    }
    Ok(out)
}

/// The schema's value rules and mandatory tests 6.1.1–6.1.2, first failure first.
pub(super) fn check(doc: &Doc) -> Result<(), Refusal> {
    let m = &doc.document;
    if m.csaf_version != "2.0" {
        return Err(refuse(
            "$.document.csaf_version",
            format!("must be \"2.0\" (is {:?})", m.csaf_version),
        ));
    }
    for (path, value) in [
        ("$.document.category", &m.category),
        ("$.document.title", &m.title),
        ("$.document.publisher.name", &m.publisher.name),
        ("$.document.tracking.id", &m.tracking.id),
        ("$.document.tracking.version", &m.tracking.version),
    ] {
        if value.trim().is_empty() {
            return Err(refuse(path, "must not be empty"));
        }
    }
    if !matches!(
        m.publisher.category.as_str(),
        "coordinator" | "discoverer" | "other" | "translator" | "user" | "vendor"
    ) {
        return Err(refuse(
            "$.document.publisher.category",
            format!("not a publisher category ({:?})", m.publisher.category),
        ));
    }
    if !m.publisher.namespace.contains("://") {
        return Err(refuse(
            "$.document.publisher.namespace",
            format!("not a URI ({:?})", m.publisher.namespace),
        ));
    }
    if !matches!(m.tracking.status.as_str(), "draft" | "final" | "interim") {
        return Err(refuse(
            "$.document.tracking.status",
            format!("not draft, final or interim ({:?})", m.tracking.status),
        ));
    }
    date(
        "$.document.tracking.current_release_date",
        &m.tracking.current_release_date,
    )?;
    date(
        "$.document.tracking.initial_release_date",
        &m.tracking.initial_release_date,
    )?;
    if m.tracking.revision_history.is_empty() {
        return Err(refuse(
            "$.document.tracking.revision_history",
            "must list at least one revision",
        ));
    }
    for (i, r) in m.tracking.revision_history.iter().enumerate() {
        date(
            &format!("$.document.tracking.revision_history[{i}].date"),
            &r.date,
        )?;
        if r.number.trim().is_empty() || r.summary.trim().is_empty() {
            return Err(refuse(
                format!("$.document.tracking.revision_history[{i}]"),
                "number and summary must not be empty",
            ));
        }
    }
    let empty = ProductTree::default();
    let tree = doc.product_tree.as_ref().unwrap_or(&empty);
    let ids = defined(tree)?;
    let known = |path: String, id: &str| -> Result<(), Refusal> {
        if ids.contains_key(id) {
            Ok(())
        } else {
            Err(refuse(
                path,
                format!("product id {id:?} is not defined in the product tree (CSAF test 6.1.1)"),
            ))
        }
    };
    for (i, r) in tree.relationships.iter().enumerate() {
        let p = format!("$.product_tree.relationships[{i}]");
        known(format!("{p}.product_reference"), &r.product_reference)?;
        known(
            format!("{p}.relates_to_product_reference"),
            &r.relates_to_product_reference,
        )?;
    }
    for (i, v) in doc.vulnerabilities.iter().enumerate() {
        let p = format!("$.vulnerabilities[{i}]");
        if let Some(cve) = &v.cve {
            if !is_cve(cve) {
                return Err(refuse(
                    format!("{p}.cve"),
                    format!("not a CVE id ({cve:?})"),
                ));
            }
        }
        if let Some(cwe) = &v.cwe {
            let ok = cwe
                .id
                .strip_prefix("CWE-")
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if !ok {
                return Err(refuse(
                    format!("{p}.cwe.id"),
                    format!("not a CWE id ({:?})", cwe.id),
                ));
            }
        }
        if let Some(s) = &v.product_status {
            for (name, list) in [
                ("first_affected", &s.first_affected),
                ("known_affected", &s.known_affected),
                ("last_affected", &s.last_affected),
                ("fixed", &s.fixed),
                ("first_fixed", &s.first_fixed),
                ("known_not_affected", &s.known_not_affected),
                ("recommended", &s.recommended),
                ("under_investigation", &s.under_investigation),
            ] {
                for (j, id) in list.iter().enumerate() {
                    known(format!("{p}.product_status.{name}[{j}]"), id)?;
                }
            }
        }
        for (j, r) in v.remediations.iter().enumerate() {
            let rp = format!("{p}.remediations[{j}]");
            if !matches!(
                r.category.as_str(),
                "mitigation" | "no_fix_planned" | "none_available" | "vendor_fix" | "workaround"
            ) {
                return Err(refuse(
                    format!("{rp}.category"),
                    format!("not a remediation category ({:?})", r.category),
                ));
            }
            for (k, id) in r.product_ids.iter().enumerate() {
                known(format!("{rp}.product_ids[{k}]"), id)?;
            }
        }
        for (j, s) in v.scores.iter().enumerate() {
            let sp = format!("{p}.scores[{j}]");
            for (k, id) in s.products.iter().enumerate() {
                known(format!("{sp}.products[{k}]"), id)?;
            }
            for (name, cvss, prefix) in [
                ("cvss_v3", &s.cvss_v3, "CVSS:3"),
                ("cvss_v4", &s.cvss_v4, "CVSS:4"),
            ] {
                let Some(c) = cvss else { continue };
                if !(0.0..=10.0).contains(&c.base_score) {
                    return Err(refuse(
                        format!("{sp}.{name}.baseScore"),
                        format!("must lie between 0 and 10 (is {})", c.base_score),
                    ));
                }
                if !c.vector_string.starts_with(prefix) {
                    return Err(refuse(
                        format!("{sp}.{name}.vectorString"),
                        format!("not a {prefix} vector ({:?})", c.vector_string),
                    ));
                }
            }
        }
        for (j, t) in v.threats.iter().enumerate() {
            for (k, id) in t.product_ids.iter().enumerate() {
                known(format!("{p}.threats[{j}].product_ids[{k}]"), id)?;
            }
        }
    }
    Ok(())
}

/// Product ids of a vulnerability's status lists that mean "this product is affected".
pub(super) fn affected(s: &ProductStatus) -> BTreeSet<&str> {
    (s.first_affected.iter())
        .chain(&s.known_affected)
        .chain(&s.last_affected)
        .map(String::as_str)
        .collect()
}

/// The version range a branch leaf states, from its own category and name.
pub(super) fn range_of(category: &str, name: &str) -> Option<Range> {
    matches!(category, "product_version_range" | "product_version").then(|| Range::parse(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids() {
        assert!(is_cve("CVE-2019-6568"));
        assert!(is_cve("CVE-2021-123456"));
        assert!(!is_cve("CVE-19-6568"));
        assert!(!is_cve("CVE-2019-65"));
        assert!(!is_cve("cve-2019-6568"));
    }
}
