//! The way up: what a provincial (or enterprise) collector reports to the tier above, through
//! the same durable uplink a sensor uses: a spool on disk, sent in order, deleted only once
//! acknowledged, de-duplicated above by event id or by version.
//!
//! - serious alerts (severity ≤ `forward_max_severity`), and for an enterprise collector every
//!   event, are spooled by the ingest as they are stored ([`Upstream::push`]);
//! - incidents and bulletin progress are spooled when they happen and sent at once
//!   ([`Upstream::push_now`]);
//! - roll-ups (not from an enterprise tier, whose events go up whole): every
//!   `rollup_interval_s` the 5-minute buckets that received alerts since the last report
//!   (table `rollup_dirty`) are read whole from `alerts_5m` and reported with a new version,
//!   which replaces the older above; the watermark is kept in the spool directory;
//! - asset counts and the registry: every `inventory_interval_s`, what changed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use sha2::{Digest, Sha256};

use super::registry;
use super::report::{self, AssetCount, EnterpriseRow, RollupRow, SensorState, Status};
use crate::config::{Config, TierRole};
use crate::store::schema::ROLLUP_DIMS;
use crate::store::Store;
use crate::time::{now_s, now_us};

/// Buckets re-read before the watermark: a batch's `received` is set before its insert ends.
const OVERLAP_S: u32 = 120;
/// Buckets read in one query.
const BUCKETS_PER_QUERY: usize = 500;

/// The running uplink to the tier above.
pub struct Upstream {
    link: Mutex<uplink::Uplink>,
    spool_dir: PathBuf,
}

impl Upstream {
    /// Start the uplink of `[upstream.link]`; `None` when no tier above is configured.
    pub fn start(config: &Config) -> anyhow::Result<Option<Upstream>> {
        let cfg = &config.upstream.link;
        if !cfg.enabled() {
            return Ok(None);
        }
        let link = uplink::Uplink::start(cfg, "upstream.link", &config.tier.id)
            .map_err(|e| anyhow::anyhow!("{}: {}", e.full_key(), e.detail()))?;
        Ok(Some(Upstream {
            spool_dir: cfg.spool_dir.clone(),
            link: Mutex::new(link),
        }))
    }

    fn link(&self) -> std::sync::MutexGuard<'_, uplink::Uplink> {
        self.link.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Spool a line; it leaves with its segment.
    pub fn push(&self, line: &[u8]) {
        self.link().push(line);
    }

    /// Spool lines and send them now, not when the segment would close.
    pub fn push_now<'a>(&self, lines: impl IntoIterator<Item = &'a [u8]>) {
        let mut link = self.link();
        for l in lines {
            link.push(l);
        }
        link.flush();
    }

    /// Send lines up at once (incidents, bulletin progress); nothing if there are none.
    pub fn report_now(&self, lines: &[Vec<u8>]) {
        if !lines.is_empty() {
            self.push_now(lines.iter().map(Vec::as_slice));
        }
    }

    pub fn stats(&self) -> uplink::UplinkStats {
        self.link().stats()
    }

    /// Close segments that are old enough.
    pub fn tick(&self) {
        self.link().tick();
    }
}

/// Send lines up at once through `up`, if there is a tier above.
pub fn report_now(up: Option<&Upstream>, lines: &[Vec<u8>]) {
    if let Some(up) = up {
        up.report_now(lines);
    }
}

/// Close old segments every 100 ms.
pub async fn tick_loop(up: Arc<Upstream>) {
    let mut t = tokio::time::interval(Duration::from_millis(100));
    loop {
        t.tick().await;
        up.tick();
    }
}

#[derive(clickhouse::Row, serde::Deserialize)]
struct Bucket {
    bucket: u32,
}

/// Report changed roll-up buckets, every `rollup_interval_s`. An enterprise tier relays every
/// event, and its province rolls them up itself: it reports none.
/// `errors` counts failed reads.
pub async fn rollup_loop(up: Arc<Upstream>, store: Store, config: Arc<Config>, errors: Counter) {
    if config.tier.role == TierRole::Enterprise {
        return;
    }
    let path = up.spool_dir.join("rollup.watermark");
    let mut watermark: u32 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let every = Duration::from_secs_f64(config.upstream.rollup_interval_s);
    loop {
        tokio::time::sleep(every).await;
        let now = now_s() as u32;
        match report_rollups(&store, &up, watermark.saturating_sub(OVERLAP_S)).await {
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(rows = n, "roll-ups reported upstream");
                }
                watermark = now;
                let tmp = path.with_extension("tmp");
                if let Err(e) = std::fs::write(&tmp, format!("{now}\n"))
                    .and_then(|()| std::fs::rename(&tmp, &path))
                {
                    tracing::warn!(error = %e, path = %path.display(), "cannot keep the roll-up watermark");
                }
            }
            Err(e) => {
                errors.inc();
                tracing::warn!(error = %e, "reading roll-ups to report failed; retrying");
            }
        }
    }
}

async fn report_rollups(
    store: &Store,
    up: &Upstream,
    since: u32,
) -> clickhouse::error::Result<usize> {
    let client = store.client();
    let buckets: Vec<u32> = client
        .query("SELECT DISTINCT toUInt32(bucket) AS bucket FROM rollup_dirty WHERE received >= ?")
        .bind(since)
        .fetch_all::<Bucket>()
        .await?
        .into_iter()
        .map(|b| b.bucket)
        .collect();
    let mut n = 0;
    for chunk in buckets.chunks(BUCKETS_PER_QUERY) {
        let rows: Vec<RollupRow> = client
            .query(&format!(
                "SELECT toUInt32(bucket) AS bucket, {ROLLUP_DIMS}, sum(alerts) AS alerts, \
                 toUInt64(0) AS version, '' AS collector_id FROM alerts_5m \
                 WHERE has(?, toUInt32(bucket)) GROUP BY bucket, {ROLLUP_DIMS}"
            ))
            .bind(chunk)
            .fetch_all()
            .await?;
        let version = now_us();
        for mut r in rows {
            r.version = version;
            let id = format!("r-{}-{}-{version}", r.bucket, key_digest(&r));
            up.push(&report::line("rollup", &id, &r));
            n += 1;
        }
    }
    Ok(n)
}

/// A short digest of a roll-up row's dimensions, for its event id.
fn key_digest(r: &RollupRow) -> String {
    let d = Sha256::digest(
        format!(
            "{}|{}|{}|{}|{}|{}|{}|{}",
            r.province,
            r.enterprise_id,
            r.industry,
            r.grade,
            r.severity,
            r.technique,
            r.app_proto,
            r.kind
        )
        .as_bytes(),
    );
    hex::encode(&d[..6])
}

/// Report asset counts and registry entries that changed, every `inventory_interval_s`.
/// Every how many inventory reports all sensors are reported, changed or not.
const SENSORS_FULL_EVERY: u64 = 10;

pub async fn inventory_loop(
    up: Arc<Upstream>,
    store: Store,
    registry: Arc<registry::Shared>,
    config: Arc<Config>,
    sensors: impl Fn() -> Vec<SensorState> + Send + 'static,
) {
    let every = Duration::from_secs_f64(config.upstream.inventory_interval_s);
    let mut counts: HashMap<String, (u64, u64)> = HashMap::new();
    let mut enterprises: HashMap<String, registry::Enterprise> = HashMap::new();
    let mut reported: HashMap<String, (Status, String, String)> = HashMap::new();
    let mut ticks = 0u64;
    loop {
        // The sensors whose status, version or outage changed; all of them now and then, so
        // a restarted tier above learns the fleet again. An enterprise tier relays its
        // sensors' heartbeats whole: the province watches them itself.
        if config.tier.role != TierRole::Enterprise {
            let full = ticks.is_multiple_of(SENSORS_FULL_EVERY);
            for s in sensors() {
                let key = (s.status, s.heartbeat.version.clone(), s.incident_id.clone());
                if !full && reported.get(&s.sensor_id) == Some(&key) {
                    continue;
                }
                up.push(&report::line(
                    "sensor",
                    &format!("s-{}-{}", s.sensor_id, now_us()),
                    &s,
                ));
                reported.insert(s.sensor_id.clone(), key);
            }
        }
        ticks += 1;
        let registry = registry.get();
        for e in registry.iter() {
            if enterprises.get(&e.enterprise_id) != Some(e) {
                let row = EnterpriseRow::new(e, now_us(), &config.tier.id);
                up.push(&report::line(
                    "enterprise",
                    &format!("e-{}-{}", e.enterprise_id, row.version),
                    &row,
                ));
                enterprises.insert(e.enterprise_id.clone(), e.clone());
            }
        }
        match asset_counts(&store).await {
            Ok(rows) => {
                for mut r in rows {
                    let now = (r.assets, r.controllers);
                    if counts.get(&r.enterprise_id) == Some(&now) {
                        continue;
                    }
                    r.version = now_us();
                    r.ts = now_s() as u32;
                    up.push(&report::line(
                        "asset_count",
                        &format!("a-{}-{}", r.enterprise_id, r.version),
                        &r,
                    ));
                    counts.insert(r.enterprise_id.clone(), now);
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading asset counts to report failed"),
        }
        tokio::time::sleep(every).await;
    }
}

async fn asset_counts(store: &Store) -> clickhouse::error::Result<Vec<AssetCount>> {
    store
        .client()
        .query(
            "SELECT province, enterprise_id, count() AS assets, \
             countIf(has(roles, 'outstation')) AS controllers, toUInt32(0) AS ts, \
             toUInt64(0) AS version, '' AS collector_id \
             FROM (SELECT province, enterprise_id, ip, argMax(roles, ts_us) AS roles \
                   FROM assets_current GROUP BY province, enterprise_id, ip) \
             GROUP BY province, enterprise_id",
        )
        .fetch_all()
        .await
}

/// What a tier pulls from the tier above: a feed paged by `seq`.
pub struct Feed<'a> {
    /// For the log: "bulletins", "coordination".
    pub what: &'static str,
    /// The feed's path, to which `?after=N` is added.
    pub path: &'a str,
    /// The answer's list: `{"<key>": [...], "last": N}`.
    pub key: &'static str,
    /// The cursor's file in the spool directory.
    pub cursor: &'static str,
}

/// Follow `feed` of the tier above every `bulletin_poll_s`, from the cursor kept in the spool
/// directory: each item is given to `take`, in order; the cursor moves on once every item of
/// an answer is taken, so an item not taken (storage away) is pulled again.
pub async fn follow<F, Fut>(
    cfg: crate::config::UpstreamConfig,
    tier_id: String,
    feed: Feed<'_>,
    take: F,
) where
    F: Fn(serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(flatten)]
        items: HashMap<String, serde_json::Value>,
        last: u64,
    }
    if !cfg.link.enabled() {
        return;
    }
    let fetch = match uplink::Fetch::new(&cfg.link, "upstream.link", &tier_id) {
        Ok(f) => Arc::new(f),
        Err(e) => {
            tracing::error!(error = %format!("{}: {}", e.full_key(), e.detail()), what = feed.what, "cannot pull from the tier above");
            return;
        }
    };
    let path = cfg.link.spool_dir.join(feed.cursor);
    let mut cursor: u64 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let every = Duration::from_secs_f64(cfg.bulletin_poll_s);
    loop {
        let f = fetch.clone();
        let url = format!("{}?after={cursor}", feed.path);
        let got = tokio::task::spawn_blocking(move || f.get(&url)).await;
        let text = match got {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, what = feed.what, "pulling from the tier above failed");
                tokio::time::sleep(every).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, what = feed.what, "pulling from the tier above failed");
                tokio::time::sleep(every).await;
                continue;
            }
        };
        let mut a = match serde_json::from_str::<Answer>(&text) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, what = feed.what, "the feed above answered something else");
                tokio::time::sleep(every).await;
                continue;
            }
        };
        let items = match a.items.remove(feed.key) {
            Some(serde_json::Value::Array(items)) => items,
            _ => {
                tracing::warn!(
                    what = feed.what,
                    key = feed.key,
                    "the feed above answered without its list"
                );
                tokio::time::sleep(every).await;
                continue;
            }
        };
        let mut ok = true;
        for item in items {
            if let Err(e) = take(item).await {
                tracing::warn!(error = %e, what = feed.what, "storing an item from above failed; will pull it again");
                ok = false;
                break;
            }
        }
        if ok && a.last > cursor {
            cursor = a.last;
            let tmp = path.with_extension("tmp");
            if let Err(e) = std::fs::write(&tmp, format!("{cursor}\n"))
                .and_then(|()| std::fs::rename(&tmp, &path))
            {
                tracing::warn!(error = %e, what = feed.what, "cannot keep the feed's cursor");
            }
            continue;
        }
        tokio::time::sleep(every).await;
    }
}
