//! Intelligence shared from elsewhere: a TAXII 2.1 client that pulls the collections named in
//! `[[taxii]]` (a national sharing platform's, another tier's) and turns each STIX report in
//! them, with the objects it refers to, into a bulletin issued at this tier for the source's
//! scope — amended when the report comes again with a later `modified`. TLP:RED reports are
//! never taken in. What was pulled (the last `added_after`, and which report became which
//! bulletin) is kept in `state_dir/taxii-NAME.json`, written whole and renamed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{stix, Bulletins, IssueError};
use crate::config::TaxiiSource;
use crate::tier::registry::{self, Scope};
use crate::time::now_s;
use icsight_eve::Timestamp;

const TAXII: &str = "application/taxii+json;version=2.1";
/// Objects asked for in one request.
const PAGE: usize = 500;
/// Pages followed in one pull at most: a runaway server cannot keep a pull going for ever.
const MAX_PAGES: usize = 200;

/// What a source has given so far.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    /// The `X-TAXII-Date-Added-Last` of the last page taken.
    added_after: String,
    /// Report id → (its `modified`, the bulletin it became, or "" if it became none).
    reports: HashMap<String, (String, String)>,
    /// Reports that reached no enterprise here yet (the registry may still fill), as bundles,
    /// tried again at every pull; at most [`MAX_PENDING`].
    #[serde(default)]
    pending: HashMap<String, Value>,
}

/// Reports kept waiting for enterprises at most.
const MAX_PENDING: usize = 1000;

fn state_path(src: &TaxiiSource) -> PathBuf {
    src.state_dir.join(format!("taxii-{}.json", src.name))
}

fn load(src: &TaxiiSource) -> State {
    std::fs::read_to_string(state_path(src))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

fn save(src: &TaxiiSource, state: &State) -> std::io::Result<()> {
    std::fs::create_dir_all(&src.state_dir)?;
    let path = state_path(src);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(state).expect("serializes"))?;
    std::fs::rename(&tmp, &path)
}

/// Pull `src` every `poll_s` into `bulletins`, for this tier's registry.
pub async fn pull_loop(
    src: TaxiiSource,
    tier_id: String,
    bulletins: Arc<Bulletins>,
    registry: Arc<registry::Shared>,
) {
    let (base, path) = match src.collection.find("/taxii2/").or_else(|| {
        // Any API root: the collection's path starts after the host.
        src.collection
            .find("://")
            .and_then(|i| src.collection[i + 3..].find('/').map(|j| i + 3 + j))
    }) {
        Some(i) => (
            src.collection[..i].to_owned(),
            src.collection[i..].to_owned(),
        ),
        None => {
            tracing::error!(source = %src.name, "taxii: no path in the collection's address");
            return;
        }
    };
    let link = uplink::UplinkConfig {
        url: base,
        token_file: src.token_file.clone(),
        ca: src.ca.clone(),
        ..uplink::UplinkConfig::default()
    };
    let fetch = match uplink::Fetch::new(&link, &format!("taxii[{}]", src.name), &tier_id) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            tracing::error!(source = %src.name, error = %format!("{}: {}", e.full_key(), e.detail()), "taxii: cannot pull");
            return;
        }
    };
    let every = Duration::from_secs_f64(src.poll_s);
    loop {
        match pull(&src, &fetch, &path, &bulletins, &registry).await {
            Ok((0, 0)) => {}
            Ok((issued, amended)) => {
                tracing::info!(source = %src.name, issued, amended, "taxii: shared reports taken in as bulletins")
            }
            Err(e) => {
                tracing::warn!(source = %src.name, error = %e, "taxii: pulling failed; will try again")
            }
        }
        tokio::time::sleep(every).await;
    }
}

/// One pull: every page since the last, then every new or changed report as a bulletin. How
/// many bulletins were issued and amended.
async fn pull(
    src: &TaxiiSource,
    fetch: &Arc<uplink::Fetch>,
    path: &str,
    bulletins: &Bulletins,
    registry: &registry::Shared,
) -> Result<(usize, usize), String> {
    let mut state = load(src);
    let mut objects: HashMap<String, Value> = HashMap::new();
    let mut next: Option<String> = None;
    let mut last_added = state.added_after.clone();
    for _ in 0..MAX_PAGES {
        let mut q = format!("{path}objects/?limit={PAGE}");
        if !state.added_after.is_empty() {
            q.push_str(&format!("&added_after={}", state.added_after));
        }
        if let Some(n) = &next {
            q.push_str(&format!("&next={n}"));
        }
        let f = fetch.clone();
        let (body, headers) =
            tokio::task::spawn_blocking(move || f.get_as(&q, TAXII, &["X-TAXII-Date-Added-Last"]))
                .await
                .map_err(|e| e.to_string())??;
        let envelope: Value =
            serde_json::from_str(&body).map_err(|e| format!("not a TAXII envelope: {e}"))?;
        for o in envelope["objects"].as_array().into_iter().flatten() {
            if let Some(id) = o["id"].as_str() {
                objects.insert(id.to_owned(), o.clone());
            }
        }
        if !headers[0].is_empty() {
            last_added = headers[0].clone();
        }
        next = (envelope["more"] == true)
            .then(|| envelope["next"].as_str().map(str::to_owned))
            .flatten();
        if next.is_none() {
            break;
        }
    }
    let scope = Scope {
        provinces: Vec::new(),
        industries: src.industries.clone(),
        grades: src.grades.clone(),
        enterprises: src.enterprises.clone(),
    };
    let (mut issued, mut amended) = (0, 0);
    // New and changed reports, and those still waiting for enterprises, oldest change first.
    let mut bundles: Vec<(String, String, Value)> = (objects.values())
        .filter(|o| o["type"] == "report")
        .map(|r| {
            (
                r["modified"].as_str().unwrap_or("").to_owned(),
                r["id"].as_str().unwrap_or("").to_owned(),
                bundle_of(r, &objects),
            )
        })
        .collect();
    for (id, b) in std::mem::take(&mut state.pending) {
        if !bundles.iter().any(|(_, i, _)| *i == id) {
            let modified = (b["objects"].as_array().into_iter().flatten())
                .find(|o| o["id"] == id.as_str())
                .and_then(|o| o["modified"].as_str())
                .unwrap_or("")
                .to_owned();
            bundles.push((modified, id, b));
        }
    }
    bundles.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    for (modified, id, bundle) in bundles {
        let known = state.reports.get(&id).cloned();
        if known.as_ref().is_some_and(|(m, _)| *m >= modified) {
            continue;
        }
        let taken = match stix::import(&bundle) {
            Ok(n) if n.tlp == "red" => Err("TLP:RED: not taken in".to_owned()),
            Ok(mut n) => {
                n.scope = scope.clone();
                n.description = format!("[{}] {}", src.name, n.description);
                let deadline = Timestamp::parse(&n.deadline).map_or(0, Timestamp::secs);
                if deadline <= now_s() {
                    n.deadline =
                        Timestamp((now_s() + u64::from(src.deadline_days) * 86_400) * 1_000_000)
                            .rfc3339();
                }
                match known
                    .as_ref()
                    .map(|(_, b)| b.as_str())
                    .filter(|b| !b.is_empty())
                {
                    Some(bid) => {
                        let change = format!("updated at {} ({modified})", src.name);
                        match bulletins.amend(bid, &n, &change, |_, _| true).await {
                            Ok(b) => {
                                amended += 1;
                                Ok(b.bulletin_id)
                            }
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    None => {
                        let reg = registry.get();
                        match bulletins.issue(&n, &reg, |_, _| true).await {
                            Ok(i) => {
                                issued += 1;
                                Ok(i.bulletin.bulletin_id)
                            }
                            Err(IssueError::Storage(e)) => return Err(format!("storage: {e}")),
                            Err(IssueError::NoTargets) if state.pending.len() < MAX_PENDING => {
                                tracing::info!(source = %src.name, report = %id, "taxii: a shared report reaches no enterprise here yet; kept to try again");
                                state.pending.insert(id.clone(), bundle.clone());
                                continue;
                            }
                            Err(e) => Err(e.to_string()),
                        }
                    }
                }
            }
            Err(e) => Err(e),
        };
        let bulletin = match taken {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(source = %src.name, report = %id, reason = %e, "taxii: a shared report not taken in");
                known.map(|(_, b)| b).unwrap_or_default()
            }
        };
        state.reports.insert(id, (modified, bulletin));
    }
    state.added_after = last_added;
    save(src, &state).map_err(|e| format!("keeping {}: {e}", state_path(src).display()))?;
    Ok((issued, amended))
}

/// A bundle of `report` and the objects it refers to (and their markings and creators) among
/// `objects`.
fn bundle_of(report: &Value, objects: &HashMap<String, Value>) -> Value {
    let mut ids: Vec<String> = vec![report["id"].as_str().unwrap_or("").to_owned()];
    let refs = |o: &Value| -> Vec<String> {
        let mut r: Vec<String> = ["object_refs", "object_marking_refs"]
            .iter()
            .flat_map(|k| o[*k].as_array().cloned().unwrap_or_default())
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        if let Some(c) = o["created_by_ref"].as_str() {
            r.push(c.to_owned());
        }
        r
    };
    let mut i = 0;
    while i < ids.len() && ids.len() < 10_000 {
        if let Some(o) = objects.get(&ids[i]) {
            for r in refs(o) {
                if !ids.contains(&r) {
                    ids.push(r);
                }
            }
        }
        i += 1;
    }
    let list: Vec<Value> = ids
        .iter()
        .filter_map(|id| objects.get(id).cloned())
        .collect();
    let uuid = report["id"].as_str().and_then(|i| i.get(8..)).unwrap_or("");
    json!({ "type": "bundle", "id": format!("bundle--{uuid}"), "objects": list })
}
