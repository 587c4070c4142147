//! Advisories pulled from CSAF providers (`[[csaf]]`) on a schedule.
//!
//! A provider publishes `provider-metadata.json` (CSAF 2.0 §7.1.7) naming its distributions:
//! directories, whose `changes.csv` lists each document's path and when it last changed
//! (§7.1.16), and ROLIE feeds, whose entries carry a document's address and `updated` time
//! (§7.1.18). Each pull reads the lists and fetches the documents that are new, or changed
//! since the copy held (the `current` release date stored with the document's address); a
//! document with a published `.sha512` or `.sha256` must match it. Every document is checked
//! as an imported one is, and a bad one is refused by address in the log while the rest go in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::config::CsafSource;
use crate::csaf;
use crate::store::Store;

/// Documents fetched in one pull at most; the rest come at the next.
const MAX_PER_PULL: usize = 5_000;

/// GETs of one origin (`https://host:port`), with the provider's CA.
struct Origins {
    ca: std::path::PathBuf,
    tier: String,
    fetch: HashMap<String, Arc<uplink::Fetch>>,
}

impl Origins {
    /// GET an absolute `url`: the body of a `200`, or what went wrong.
    async fn get(&mut self, url: &str) -> Result<String, String> {
        let scheme_end = url
            .find("://")
            .ok_or_else(|| format!("{url}: not an address"))?
            + 3;
        let path_at = url[scheme_end..]
            .find('/')
            .map_or(url.len(), |i| scheme_end + i);
        let (origin, path) = url.split_at(path_at);
        let fetch = match self.fetch.get(origin) {
            Some(f) => f.clone(),
            None => {
                let link = uplink::UplinkConfig {
                    url: origin.to_owned(),
                    ca: self.ca.clone(),
                    ..uplink::UplinkConfig::default()
                };
                let f = uplink::Fetch::new(&link, "csaf", &self.tier)
                    .map(Arc::new)
                    .map_err(|e| format!("{}: {}", e.full_key(), e.detail()))?;
                self.fetch.insert(origin.to_owned(), f.clone());
                f
            }
        };
        let path = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        tokio::task::spawn_blocking(move || fetch.get_as(&path, "*/*", &[]).map(|(b, _)| b))
            .await
            .map_err(|e| e.to_string())?
    }
}

/// `base` joined with a relative `path` as a directory listing names it.
fn join(base: &str, path: &str) -> String {
    if path.contains("://") {
        path.to_owned()
    } else {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

/// Each document's address and when it last changed (UNIX seconds), from the provider's
/// lists.
async fn listed(src: &CsafSource, get: &mut Origins) -> Result<Vec<(String, i64)>, String> {
    let mut dirs = Vec::new();
    let mut feeds = Vec::new();
    if src.url.ends_with(".json") {
        let text = get.get(&src.url).await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", src.url))?;
        if v["feed"].is_object() {
            feeds.push(src.url.clone());
        } else {
            for d in v["distributions"].as_array().into_iter().flatten() {
                if let Some(u) = d["directory_url"].as_str() {
                    dirs.push(u.to_owned());
                }
                for f in d["rolie"]["feeds"].as_array().into_iter().flatten() {
                    if let Some(u) = f["url"].as_str() {
                        feeds.push(u.to_owned());
                    }
                }
            }
            if dirs.is_empty() && feeds.is_empty() {
                return Err(format!("{}: names no directory and no ROLIE feed", src.url));
            }
        }
    } else {
        dirs.push(src.url.clone());
    }
    let mut out = Vec::new();
    for d in dirs {
        let csv = get.get(&join(&d, "changes.csv")).await?;
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(csv.as_bytes());
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| format!("{d}changes.csv line {}: {e}", i + 1))?;
            let (Some(path), Some(at)) = (rec.get(0), rec.get(1)) else {
                continue;
            };
            let Ok(at) = time::OffsetDateTime::parse(
                at.trim(),
                &time::format_description::well_known::Rfc3339,
            ) else {
                tracing::warn!(provider = %src.name, line = i + 1, "csaf: changes.csv: not an RFC 3339 time; skipped");
                continue;
            };
            out.push((join(&d, path.trim()), at.unix_timestamp()));
        }
    }
    for f in feeds {
        let text = get.get(&f).await?;
        let v: Value = serde_json::from_str(&text).map_err(|e| format!("{f}: {e}"))?;
        for e in v["feed"]["entry"].as_array().into_iter().flatten() {
            let url = e["content"]["src"].as_str().or_else(|| {
                (e["link"].as_array().into_iter().flatten())
                    .find(|l| l["rel"] == "self")
                    .and_then(|l| l["href"].as_str())
            });
            let at = e["updated"].as_str().and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            });
            if let (Some(u), Some(at)) = (url, at) {
                out.push((u.to_owned(), at.unix_timestamp()));
            }
        }
    }
    Ok(out)
}

/// The `current` release date held for each document address of this provider.
async fn held(store: &Store) -> clickhouse::error::Result<HashMap<String, i64>> {
    let rows: Vec<(String, u32)> = store
        .client()
        .query("SELECT source, max(current) FROM advisories GROUP BY source")
        .fetch_all()
        .await?;
    Ok(rows.into_iter().map(|(s, c)| (s, i64::from(c))).collect())
}

/// Whether the document matches the digest published beside it, if one is: `Err` when a
/// digest is published and differs.
async fn digest_ok(get: &mut Origins, url: &str, bytes: &[u8]) -> Result<(), String> {
    use sha2::Digest;
    for (ext, hash) in [
        ("sha512", hex::encode(sha2::Sha512::digest(bytes))),
        ("sha256", hex::encode(sha2::Sha256::digest(bytes))),
    ] {
        if let Ok(text) = get.get(&format!("{url}.{ext}")).await {
            let published = text
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            return if published == hash {
                Ok(())
            } else {
                Err(format!("does not match its .{ext}"))
            };
        }
    }
    Ok(())
}

/// What one pull did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pulled {
    pub imported: usize,
    pub refused: usize,
}

/// One pull of `src`.
pub async fn pull(src: &CsafSource, store: &Store, tier: &str) -> Result<Pulled, String> {
    let mut get = Origins {
        ca: src.ca.clone(),
        tier: tier.to_owned(),
        fetch: HashMap::new(),
    };
    let list = listed(src, &mut get).await?;
    let held = held(store)
        .await
        .map_err(|e| format!("reading the catalogue: {e}"))?;
    let mut docs = Vec::new();
    let mut pulled = Pulled::default();
    for (url, at) in list
        .into_iter()
        .filter(|(u, at)| held.get(u).is_none_or(|h| at > h))
        .take(MAX_PER_PULL)
    {
        let doc = match get.get(&url).await {
            Ok(d) => d.into_bytes(),
            Err(e) => {
                tracing::warn!(provider = %src.name, document = %url, error = %e, "csaf: cannot fetch; will try again");
                continue;
            }
        };
        let checked = match digest_ok(&mut get, &url, &doc).await {
            Err(e) => Err(e),
            Ok(()) => csaf::parse(&doc).map_err(|r| r.to_string()),
        };
        match checked {
            Ok(a) => {
                if a.current < at {
                    tracing::warn!(provider = %src.name, document = %url, "csaf: the document is older than its listing says");
                }
                docs.push((url, a, doc));
            }
            Err(why) => {
                pulled.refused += 1;
                tracing::warn!(provider = %src.name, document = %url, reason = %why, "csaf: document refused");
            }
        }
    }
    // Stored under each document's address, so the next pull knows what it holds.
    for (url, a, doc) in docs {
        let row = super::AdvisoryRow::new(&a, doc, &url);
        store
            .insert("advisories", &[row])
            .await
            .map_err(|e| format!("storing {}: {e}", a.id))?;
        pulled.imported += 1;
    }
    Ok(pulled)
}

/// Pull `src` every `poll_s`, for as long as the collector serves.
pub async fn run(src: CsafSource, store: Store, tier: String) {
    let every = Duration::from_secs_f64(src.poll_s);
    loop {
        match pull(&src, &store, &tier).await {
            Ok(Pulled {
                imported: 0,
                refused: 0,
            }) => {}
            Ok(p) => {
                tracing::info!(provider = %src.name, imported = p.imported, refused = p.refused, "csaf: advisories pulled")
            }
            Err(e) => {
                tracing::warn!(provider = %src.name, error = %e, "csaf: pulling failed; will try again")
            }
        }
        tokio::time::sleep(every).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_join_their_directory() {
        assert_eq!(
            join("https://p.example/.well-known/csaf/white/", "2024/a.json"),
            "https://p.example/.well-known/csaf/white/2024/a.json"
        );
        assert_eq!(join("https://p/x/", "https://q/y.json"), "https://q/y.json");
    }
}
