//! Retro-hunt: when a bulletin (or a new revision of one) reaches a tier, its indicated
//! addresses are searched in what that tier already stores of the last `tier.retro_days` —
//! flows, alerts and the asset inventory of the bulletin's target enterprises only. Each hit is
//! kept in `bulletin_hits` (and reported up, so the issuer sees them), and a flow or an asset
//! that touched an indicated address becomes an alert of the enterprise (`kind` "retro", the
//! bulletin's sid block), so it shows where alerts show.
//!
//! Addresses match exactly or by IPv4 network; IPv6 networks and domains are not searched
//! (the stored flows carry no names yet).

use serde::Deserialize;

use super::{sid_base, Bulletin, Target};
use crate::event::AlertRow;
use crate::store::Store;
use crate::tier::report;
pub use crate::tier::report::Hit;
use crate::tier::upstream::{self, Upstream};
use crate::time::{now_s, now_us};

/// Records of one kind searched at most, per bulletin.
const MAX_HITS: u64 = 10_000;

/// The indicated addresses, as exact addresses and IPv4 networks (first, last).
struct Wanted {
    exact: Vec<String>,
    v4: Vec<(u32, u32, String)>,
}

impl Wanted {
    fn of(ips: &[String]) -> Wanted {
        let mut w = Wanted {
            exact: Vec::new(),
            v4: Vec::new(),
        };
        for ip in ips {
            if let Ok(a) = ip.parse::<std::net::IpAddr>() {
                w.exact.push(a.to_string());
            } else if let Ok(ipnet::IpNet::V4(n)) = ip.parse::<ipnet::IpNet>() {
                w.v4.push((
                    u32::from(n.network()),
                    u32::from(n.broadcast()),
                    n.to_string(),
                ));
            }
        }
        w
    }

    fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.v4.is_empty()
    }

    /// The SQL condition that `column` holds a wanted address; the exact ones bound as the
    /// first parameter (numbers only are written into the text).
    fn condition(&self, column: &str) -> String {
        let mut c = format!("has(?, {column})");
        for (lo, hi, _) in &self.v4 {
            c.push_str(&format!(
                " OR (IPv4StringToNum({column}) BETWEEN {lo} AND {hi})"
            ));
        }
        format!("({c})")
    }

    /// The indicator `ip` matches, if any.
    fn matched(&self, ip: &str) -> Option<String> {
        if self.exact.iter().any(|x| x == ip) {
            return Some(ip.to_owned());
        }
        let a: std::net::Ipv4Addr = ip.parse().ok()?;
        let n = u32::from(a);
        (self.v4.iter())
            .find(|(lo, hi, _)| (*lo..=*hi).contains(&n))
            .map(|(_, _, net)| net.clone())
    }
}

/// The indicator among `ips` (addresses and networks) that `ip` matches, if any.
pub fn indicator_of(ips: &[String], ip: &str) -> Option<String> {
    Wanted::of(ips).matched(ip)
}

/// What a flow or an alert is searched by.
#[derive(clickhouse::Row, Deserialize)]
struct Record {
    event_id: String,
    sensor_id: String,
    enterprise_id: String,
    province: String,
    industry: String,
    grade: u8,
    ts: u32,
    ts_us: u64,
    flow_id: u64,
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
    proto: String,
    app_proto: String,
}

/// Search what is stored here for bulletin `b`'s addresses, over its `targets`' records of the
/// last `days`; keep, report and alert on what was not found before. The new hits.
pub async fn hunt(
    store: &Store,
    up: Option<&Upstream>,
    b: &Bulletin,
    targets: &[Target],
    days: u32,
) -> clickhouse::error::Result<Vec<Hit>> {
    let wanted = Wanted::of(&b.indicators().ips);
    if days == 0 || b.revoked != 0 || wanted.is_empty() || targets.is_empty() {
        return Ok(Vec::new());
    }
    let since = now_s().saturating_sub(u64::from(days) * 86_400) as u32;
    let enterprises: Vec<&str> = targets.iter().map(|t| t.enterprise_id.as_str()).collect();
    let c = store.client();
    let tuple = "event_id, sensor_id, enterprise_id, province, industry, grade, \
                 toUInt32(ts) AS ts, ts_us, flow_id, src_ip, src_port, dest_ip, dest_port, proto, app_proto";
    let mut found: Vec<(&str, Record)> = Vec::new();
    for (kind, table, extra) in [
        ("flow", "flows", ""),
        ("alert", "alerts", " AND kind != 'retro'"),
    ] {
        let sql = format!(
            "SELECT {tuple} FROM {table} WHERE ts >= ? AND has(?, enterprise_id){extra} \
             AND ({} OR {}) ORDER BY ts LIMIT {MAX_HITS}",
            wanted.condition("src_ip"),
            wanted.condition("dest_ip"),
        );
        let rows: Vec<Record> = c
            .query(&sql)
            .bind(since)
            .bind(&enterprises)
            .bind(&wanted.exact)
            .bind(&wanted.exact)
            .fetch_all()
            .await?;
        found.extend(rows.into_iter().map(|r| (kind, r)));
    }
    #[derive(clickhouse::Row, Deserialize)]
    struct Asset {
        event_id: String,
        sensor_id: String,
        enterprise_id: String,
        province: String,
        industry: String,
        grade: u8,
        ts: u32,
        ts_us: u64,
        ip: String,
    }
    let assets: Vec<Asset> = c
        .query(&format!(
            "SELECT event_id, sensor_id, enterprise_id, province, industry, grade, \
             toUInt32(ts) AS ts, ts_us, ip FROM assets WHERE ts >= ? AND has(?, enterprise_id) \
             AND {} ORDER BY ts LIMIT {MAX_HITS}",
            wanted.condition("ip")
        ))
        .bind(since)
        .bind(&enterprises)
        .bind(&wanted.exact)
        .fetch_all()
        .await?;
    found.extend(assets.into_iter().map(|a| {
        (
            "asset",
            Record {
                event_id: a.event_id,
                sensor_id: a.sensor_id,
                enterprise_id: a.enterprise_id,
                province: a.province,
                industry: a.industry,
                grade: a.grade,
                ts: a.ts,
                ts_us: a.ts_us,
                flow_id: 0,
                src_ip: a.ip,
                src_port: 0,
                dest_ip: String::new(),
                dest_port: 0,
                proto: String::new(),
                app_proto: String::new(),
            },
        )
    }));
    let known: Vec<String> = c
        .query("SELECT DISTINCT event_id FROM bulletin_hits WHERE bulletin_id = ?")
        .bind(&b.bulletin_id)
        .fetch_all()
        .await?;
    let known: std::collections::HashSet<String> = known.into_iter().collect();
    let (now, version) = (now_s() as u32, now_us());
    let mut hits = Vec::new();
    let mut alerts = Vec::new();
    for (kind, r) in found {
        if known.contains(&r.event_id) {
            continue;
        }
        let Some(indicator) = wanted
            .matched(&r.src_ip)
            .or_else(|| wanted.matched(&r.dest_ip))
        else {
            continue;
        };
        if kind != "alert" {
            alerts.push(retro_alert(b, kind, &r, &indicator, now));
        }
        hits.push(Hit {
            bulletin_id: b.bulletin_id.clone(),
            revision: b.revision,
            province: r.province,
            enterprise_id: r.enterprise_id,
            sensor_id: r.sensor_id,
            kind: kind.to_owned(),
            event_id: r.event_id,
            ts: r.ts,
            src_ip: r.src_ip,
            src_port: r.src_port,
            dest_ip: r.dest_ip,
            dest_port: r.dest_port,
            proto: r.proto,
            indicator,
            found: now,
            version,
        });
    }
    store.insert("alerts", &alerts).await?;
    store.insert("bulletin_hits", &hits).await?;
    let lines: Vec<Vec<u8>> = hits.iter().map(report::hit_line).collect();
    upstream::report_now(up, &lines);
    if !hits.is_empty() {
        tracing::info!(bulletin = %b.bulletin_id, hits = hits.len(), alerts = alerts.len(), "retro-hunt found stored records with indicated addresses");
    }
    Ok(hits)
}

/// The alert a retro-hunt hit becomes: the enterprise's, at the time of the record, with the
/// last sid of the bulletin's block.
fn retro_alert(b: &Bulletin, kind: &str, r: &Record, indicator: &str, now: u32) -> AlertRow {
    let signature = format!(
        "ICSIGHT BULLETIN {} retro-hunt: {kind} with indicated address {indicator}",
        b.bulletin_id
    );
    let sid = sid_base(&b.bulletin_id) + 99;
    let event_id = format!("retro-{}-{}", b.bulletin_id, r.event_id);
    let severity = b.severity.clamp(1, 3);
    let raw = serde_json::json!({
        "timestamp": icsight_eve::Timestamp(r.ts_us).rfc3339(),
        "event_type": "alert",
        "event_id": event_id,
        "src_ip": r.src_ip, "src_port": r.src_port,
        "dest_ip": r.dest_ip, "dest_port": r.dest_port, "proto": r.proto,
        "alert": {
            "action": "allowed", "gid": 1, "signature_id": sid, "rev": b.revision,
            "signature": signature, "category": "Bulletin retro-hunt", "severity": severity,
            "metadata": { "bulletin": [b.bulletin_id], "retro_of": [r.event_id] },
        },
        "sensor": { "id": r.sensor_id, "enterprise_id": r.enterprise_id, "province": r.province },
    });
    AlertRow {
        ts: r.ts,
        ts_us: r.ts_us,
        received: now,
        event_id,
        sensor_id: r.sensor_id.clone(),
        enterprise_id: r.enterprise_id.clone(),
        province: r.province.clone(),
        industry: r.industry.clone(),
        grade: r.grade,
        flow_id: r.flow_id,
        src_ip: r.src_ip.clone(),
        src_port: r.src_port,
        dest_ip: r.dest_ip.clone(),
        dest_port: r.dest_port,
        proto: r.proto.clone(),
        app_proto: r.app_proto.clone(),
        kind: "retro".into(),
        action: "allowed".into(),
        gid: 1,
        sid,
        rev: b.revision,
        signature,
        category: "Bulletin retro-hunt".into(),
        severity,
        technique: String::new(),
        techniques: Vec::new(),
        anomaly_event: String::new(),
        raw: raw.to_string(),
    }
}

/// The hits of bulletin `id` kept here, newest first, at most `limit`.
pub async fn hits_of(store: &Store, id: &str, limit: u64) -> clickhouse::error::Result<Vec<Hit>> {
    store
        .client()
        .query(
            "SELECT bulletin_id, revision, province, enterprise_id, sensor_id, kind, event_id, \
             toUInt32(ts) AS ts, src_ip, src_port, dest_ip, dest_port, proto, indicator, \
             toUInt32(found) AS found, version FROM bulletin_hits FINAL WHERE bulletin_id = ? \
             ORDER BY ts DESC LIMIT ?",
        )
        .bind(id)
        .bind(limit)
        .fetch_all()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_exactly_or_by_ipv4_network() {
        let w = Wanted::of(&[
            "203.0.113.7".into(),
            "198.51.100.0/24".into(),
            "2001:db8::1".into(),
            "2001:db8::/32".into(),
        ]);
        assert_eq!(w.matched("203.0.113.7").as_deref(), Some("203.0.113.7"));
        assert_eq!(
            w.matched("198.51.100.200").as_deref(),
            Some("198.51.100.0/24")
        );
        assert_eq!(w.matched("198.51.101.1"), None);
        assert_eq!(w.matched("2001:db8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(
            w.matched("2001:db8::2"),
            None,
            "IPv6 networks are not searched"
        );
        let c = w.condition("src_ip");
        assert!(
            c.contains("BETWEEN 3325256704 AND 3325256959"),
            "198.51.100.0/24 as numbers: {c}"
        );
        assert!(Wanted::of(&[]).is_empty());
    }
}
