//! Security advisories in CSAF 2.0, and matching them to the devices the sensors identified.
//!
//! A leaf: it reads documents and answers which advisories a device's identity falls under;
//! storing them, the hazard register and the APIs live in the rooms above. A document is
//! read and checked whole ([`parse`]) into an [`Advisory`]: its product entries flattened from
//! the product tree (vendor, product name, model numbers, SKUs, CPE, the version range) and
//! its vulnerabilities (CVE, CWE, CVSS per product, remediations, exploitation). The
//! [`Catalogue`] holds every advisory and matches a [`Device`] against them.

mod document;
pub mod identity;
mod matching;
pub mod version;

use std::collections::{BTreeMap, BTreeSet};

pub use document::Refusal;
pub use matching::{Catalogue, Confidence, Device, Hit};
use version::Range;

/// The largest document read; CISA's largest is 0.7 MB.
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;
/// Product entries kept of one document.
const MAX_PRODUCTS: usize = 100_000;

/// One product entry of an advisory's product tree.
#[derive(Clone, Debug)]
pub struct Product {
    pub id: String,
    /// The vendor branch as written, and folded ([`identity::vendor`]).
    pub vendor: String,
    pub vendor_key: String,
    /// The `product_name` / `product_family` branches above the entry, joined.
    pub product: String,
    /// The entry's full product name.
    pub name: String,
    /// The version branch as written (`vers:all/<V3.2.16`), empty when the entry has none.
    pub range_text: String,
    pub range: Range,
    /// Model numbers and SKUs, in [`identity::order_number`] spelling.
    pub models: Vec<String>,
    pub cpe: Option<String>,
}

/// A remediation of a vulnerability, for some of the advisory's products.
#[derive(Clone, Debug)]
pub struct Remediation {
    pub category: String,
    pub details: String,
    pub url: Option<String>,
    pub products: BTreeSet<String>,
}

/// One vulnerability of an advisory.
#[derive(Clone, Debug)]
pub struct Vulnerability {
    pub cve: Option<String>,
    pub cwe: Option<String>,
    pub title: Option<String>,
    /// Product ids in `first_affected`, `known_affected` or `last_affected`.
    pub affected: BTreeSet<String>,
    /// Base score and vector per product id (the highest when several scores name one).
    pub scores: BTreeMap<String, (f64, String)>,
    pub remediations: Vec<Remediation>,
    /// A `threats` entry of category `exploit_status` names it, or the advisory says exploits
    /// are public.
    pub exploited: bool,
}

/// A CSAF document, checked and flattened.
#[derive(Clone, Debug)]
pub struct Advisory {
    pub id: String,
    pub title: String,
    pub publisher: String,
    pub version: String,
    pub status: String,
    pub tlp: String,
    /// Unix seconds.
    pub initial: i64,
    pub current: i64,
    pub products: Vec<Product>,
    pub vulnerabilities: Vec<Vulnerability>,
}

impl Advisory {
    /// Every CVE the advisory names, in order.
    pub fn cves(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self
            .vulnerabilities
            .iter()
            .filter_map(|v| v.cve.as_ref())
            .collect();
        set.into_iter().cloned().collect()
    }

    /// The highest base score of any vulnerability, 0 when none is scored.
    pub fn max_cvss(&self) -> f64 {
        self.vulnerabilities
            .iter()
            .flat_map(|v| v.scores.values().map(|(s, _)| *s))
            .fold(0.0, f64::max)
    }

    pub fn exploited(&self) -> bool {
        self.vulnerabilities.iter().any(|v| v.exploited)
    }

    /// Vendors named by the product tree, folded and de-duplicated.
    pub fn vendors(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.products.iter().map(|p| &p.vendor).collect();
        set.into_iter().cloned().collect()
    }
}

/// Reads and checks one CSAF 2.0 document.
pub fn parse(bytes: &[u8]) -> Result<Advisory, Refusal> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Refusal {
            path: "$".into(),
            reason: format!(
                "document of {} bytes is over the {} byte limit",
                bytes.len(),
                MAX_DOCUMENT_BYTES
            ),
        });
    }
    let doc = document::read(bytes)?;
    document::check(&doc)?;
    let m = &doc.document;
    let mut products = Vec::new();
    if let Some(tree) = &doc.product_tree {
        flatten(&tree.branches, &Context::default(), &mut products);
        for p in &tree.full_product_names {
            products.push(entry(p, &Context::default()));
        }
        for r in &tree.relationships {
            // A product installed on (or part of) another is the referenced product, under
            // the relationship's own id and name.
            if let Some(base) = products
                .iter()
                .find(|p| p.id == r.product_reference)
                .cloned()
            {
                products.push(Product {
                    id: r.full_product_name.product_id.clone(),
                    name: r.full_product_name.name.clone(),
                    ..base
                });
            }
        }
    }
    if products.len() > MAX_PRODUCTS {
        return Err(Refusal {
            path: "$.product_tree".into(),
            reason: format!("more than {MAX_PRODUCTS} product entries"),
        });
    }
    let public_exploits = m.notes.iter().any(|n| {
        let t = n.text.to_ascii_lowercase();
        (t.contains("exploits") && t.contains("publicly available"))
            || t.contains("known to be exploited")
            || t.contains("actively exploited")
    });
    let vulnerabilities = doc
        .vulnerabilities
        .iter()
        .map(|v| {
            let mut scores: BTreeMap<String, (f64, String)> = BTreeMap::new();
            for s in &v.scores {
                // v4 beside v3 for the same products: the newer metric speaks.
                let Some(c) = s.cvss_v4.as_ref().or(s.cvss_v3.as_ref()) else {
                    continue;
                };
                for p in &s.products {
                    let e = scores
                        .entry(p.clone())
                        .or_insert((c.base_score, c.vector_string.clone()));
                    if c.base_score > e.0 {
                        *e = (c.base_score, c.vector_string.clone());
                    }
                }
            }
            Vulnerability {
                cve: v.cve.clone(),
                cwe: v.cwe.as_ref().map(|c| format!("{} {}", c.id, c.name)),
                title: v.title.clone(),
                affected: v
                    .product_status
                    .as_ref()
                    .map(|s| {
                        document::affected(s)
                            .into_iter()
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
                scores,
                remediations: v
                    .remediations
                    .iter()
                    .map(|r| Remediation {
                        category: r.category.clone(),
                        details: r.details.clone(),
                        url: r.url.clone(),
                        products: r.product_ids.iter().cloned().collect(),
                    })
                    .collect(),
                exploited: public_exploits
                    || v.threats.iter().any(|t| {
                        t.category == "exploit_status"
                            && !t.details.to_ascii_lowercase().contains("no known")
                    }),
            }
        })
        .collect();
    Ok(Advisory {
        id: m.tracking.id.clone(),
        title: m.title.clone(),
        publisher: m.publisher.name.clone(),
        version: m.tracking.version.clone(),
        status: m.tracking.status.clone(),
        tlp: m
            .distribution
            .as_ref()
            .and_then(|d| d.tlp.as_ref())
            .map_or_else(|| "white".to_owned(), |t| t.label.to_ascii_lowercase()),
        initial: document::date("", &m.tracking.initial_release_date)?,
        current: document::date("", &m.tracking.current_release_date)?,
        products,
        vulnerabilities,
    })
}

/// What the branches above a product say about it.
#[derive(Clone, Default)]
struct Context {
    vendor: String,
    product: Vec<String>,
    range: Option<(String, Range)>,
}

fn flatten(branches: &[document::Branch], ctx: &Context, out: &mut Vec<Product>) {
    for b in branches {
        if out.len() > MAX_PRODUCTS {
            return;
        }
        let mut here = ctx.clone();
        match b.category.as_str() {
            "vendor" => here.vendor = b.name.clone(),
            "product_name" | "product_family" => here.product.push(b.name.clone()),
            c => {
                if let Some(r) = document::range_of(c, &b.name) {
                    here.range = Some((b.name.clone(), r));
                }
            }
        }
        if let Some(p) = &b.product {
            out.push(entry(p, &here));
        }
        flatten(&b.branches, &here, out);
    }
}

fn entry(p: &document::FullProductName, ctx: &Context) -> Product {
    let helper = p.product_identification_helper.as_ref();
    let models = helper
        .map(|h| {
            (h.model_numbers.iter())
                .chain(&h.skus)
                .map(|m| identity::order_number(m))
                .filter(|m| !m.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let (range_text, range) = ctx
        .range
        .clone()
        .unwrap_or_else(|| (String::new(), Range::All));
    Product {
        id: p.product_id.clone(),
        vendor_key: identity::vendor(&ctx.vendor),
        vendor: ctx.vendor.clone(),
        product: ctx.product.join(" / "),
        name: p.name.clone(),
        range_text,
        range,
        models,
        cpe: helper.and_then(|h| h.cpe.clone()),
    }
}

/// What a file or directory of documents gave.
#[derive(Default)]
pub struct Loaded {
    /// Each advisory with the file it came from and its bytes as read.
    pub advisories: Vec<(std::path::PathBuf, Advisory, Vec<u8>)>,
    /// Each file refused, with why.
    pub refused: Vec<(std::path::PathBuf, String)>,
}

/// Reads `path`, a CSAF document or a directory walked for `*.json` (in name order), parsing
/// each on its own: a bad file is refused by name and the rest still load.
pub fn load(path: &std::path::Path) -> std::io::Result<Loaded> {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    if path.is_dir() {
        walk(path, &mut files)?;
    } else {
        std::fs::metadata(path)?;
        files.push(path.to_owned());
    }
    let mut loaded = Loaded::default();
    for f in files {
        let read = std::fs::File::open(&f).and_then(|file| {
            use std::io::Read;
            let mut bytes = Vec::new();
            // One byte over the limit is enough to refuse it.
            file.take(MAX_DOCUMENT_BYTES as u64 + 1)
                .read_to_end(&mut bytes)?;
            Ok(bytes)
        });
        match read {
            Err(e) => loaded.refused.push((f, format!("cannot read: {e}"))),
            Ok(bytes) => match parse(&bytes) {
                Ok(a) => loaded.advisories.push((f, a, bytes)),
                Err(r) => loaded.refused.push((f, r.to_string())),
            },
        }
    }
    Ok(loaded)
}
