//! Bulletins as STIX 2.1 bundles: a `report` for the bulletin, an `indicator` per address,
//! domain and file hash (STIX patterns) and per signature (`pattern_type` "suricata"), a
//! `course-of-action` per recommended action, and the issuer's `identity`. What STIX has no
//! word for (scope, deadline, severity, related sids) travels in `x_icsight_*` properties.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::issue::NewBulletin;
use super::{Bulletin, Indicators, TLP};
use icsight_eve::Timestamp;

/// A STIX id for (`kind`, `key`): a name-based UUID, so the same bulletin always exports the
/// same ids.
pub fn stix_id(kind: &str, key: &str) -> String {
    let d = Sha256::digest(format!("icsight\n{kind}\n{key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{kind}--{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// STIX timestamps are UTC with a `Z` and milliseconds.
fn stix_time(unix_s: u32) -> String {
    let t = Timestamp(u64::from(unix_s) * 1_000_000).rfc3339();
    format!("{}Z", &t[..19])
}

fn hash_name(h: &str) -> &'static str {
    match h.len() {
        32 => "MD5",
        40 => "SHA-1",
        _ => "SHA-256",
    }
}

/// The marking definition of TLP level `tlp` (amber if it is none).
pub fn tlp_marking(tlp: &str) -> Value {
    let (name, id) = TLP
        .iter()
        .find(|(n, _)| *n == tlp)
        .copied()
        .unwrap_or(TLP[3]);
    let word = if name == "clear" {
        "white"
    } else {
        name.split('+').next().unwrap_or(name)
    };
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": id,
        "created": "2017-01-20T00:00:00.000Z",
        "definition_type": "tlp",
        "name": format!("TLP:{}", word.to_uppercase()),
        "definition": { "tlp": word },
    })
}

/// The bulletin as a bundle.
pub fn export(b: &Bulletin) -> Value {
    let created = stix_time(b.issued);
    let identity = stix_id("identity", &b.issuer);
    let marking = tlp_marking(&b.tlp);
    let common = |kind: &str, key: &str| {
        json!({
            "type": kind,
            "spec_version": "2.1",
            "id": stix_id(kind, &format!("{}\n{key}", b.bulletin_id)),
            "created": created,
            "modified": created,
            "created_by_ref": identity,
            "object_marking_refs": [marking["id"]],
        })
    };
    let mut objects = vec![json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity,
        "created": created,
        "modified": created,
        "name": b.issuer,
        "identity_class": "organization",
    })];
    let ind: Indicators = b.indicators();
    let mut refs = Vec::new();
    let mut indicator = |key: String, name: String, pattern: String, pattern_type: &str| {
        let mut o = common("indicator", &key);
        o["name"] = name.into();
        o["pattern"] = pattern.into();
        o["pattern_type"] = pattern_type.into();
        o["valid_from"] = created.clone().into();
        o["indicator_types"] = json!(["malicious-activity"]);
        refs.push(o["id"].clone());
        objects.push(o);
    };
    for ip in &ind.ips {
        let kind = if ip.contains(':') {
            "ipv6-addr"
        } else {
            "ipv4-addr"
        };
        indicator(
            format!("ip {ip}"),
            ip.clone(),
            format!("[{kind}:value = '{ip}']"),
            "stix",
        );
    }
    for d in &ind.domains {
        indicator(
            format!("domain {d}"),
            d.clone(),
            format!("[domain-name:value = '{d}']"),
            "stix",
        );
    }
    for h in &ind.hashes {
        indicator(
            format!("hash {h}"),
            h.clone(),
            format!("[file:hashes.'{}' = '{h}']", hash_name(h)),
            "stix",
        );
    }
    // The issuer's signatures; the rules made from the indicators are made again on import.
    let generated = format!("metadata: bulletin {};", b.bulletin_id);
    for rule in b
        .rules
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.contains(&generated))
    {
        indicator(
            format!("rule {rule}"),
            "signature".into(),
            rule.to_owned(),
            "suricata",
        );
    }
    for (i, a) in b.actions().iter().enumerate() {
        let mut o = common("course-of-action", &format!("action {i}"));
        o["name"] = a.chars().take(100).collect::<String>().into();
        o["description"] = a.clone().into();
        refs.push(o["id"].clone());
        objects.push(o);
    }
    let mut report = common("report", "report");
    report["name"] = b.title.clone().into();
    report["description"] = b.description.clone().into();
    report["published"] = created.clone().into();
    report["report_types"] = json!(["threat-report"]);
    report["object_refs"] = if refs.is_empty() {
        json!([identity])
    } else {
        Value::Array(refs)
    };
    report["x_icsight_bulletin_id"] = b.bulletin_id.clone().into();
    report["x_icsight_severity"] = b.severity.into();
    report["x_icsight_scope"] = serde_json::to_value(b.scope()).unwrap_or_default();
    report["x_icsight_deadline"] = stix_time(b.deadline).into();
    report["x_icsight_sids"] = json!(ind.sids);
    report["x_icsight_revision"] = b.revision.into();
    report["x_icsight_tlp"] = b.tlp.clone().into();
    if b.revision > 1 || b.revoked != 0 {
        // An amendment or revocation is a new version of the report: same id, later
        // `modified`.
        let at = (b.version / 1_000_000).clamp(u64::from(b.issued), u64::from(u32::MAX));
        report["modified"] = stix_time(at as u32).into();
    }
    if b.drill != 0 {
        report["x_icsight_drill"] = true.into();
    }
    if b.revoked != 0 {
        report["revoked"] = true.into();
    }
    objects.push(report);
    objects.push(marking);
    json!({
        "type": "bundle",
        "id": stix_id("bundle", &format!("{}\n{}", b.bulletin_id, b.version)),
        "objects": objects,
    })
}

/// The TLP level of a report: its `x_icsight_tlp`, else the TLP marking it refers to (a
/// known definition's id, or a `tlp` marking definition of the bundle), else amber.
fn tlp_of(report: &Value, objects: &[Value]) -> String {
    if let Some(t) = report.get("x_icsight_tlp").and_then(Value::as_str) {
        if TLP.iter().any(|(n, _)| *n == t) {
            return t.to_owned();
        }
    }
    let refs: Vec<&str> = (report.get("object_marking_refs").and_then(Value::as_array))
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // The most restrictive of the levels referred to.
    let mut level: Option<usize> = None;
    for r in refs {
        let known = TLP
            .iter()
            .rposition(|(n, id)| *id == r && *n != "amber+strict");
        let defined = (objects.iter())
            .find(|o| o["id"] == r && o["definition_type"] == "tlp")
            .and_then(|o| o["definition"]["tlp"].as_str())
            .and_then(|t| TLP.iter().position(|(n, _)| *n == t));
        if let Some(i) = known.or(defined) {
            level = Some(level.map_or(i, |l| l.max(i)));
        }
    }
    level.map_or("amber", |i| TLP[i].0).to_owned()
}

/// A new bulletin from a bundle: its one report, the indicators it refers to, and its courses
/// of action. Patterns other than a single comparison of an address, domain or file hash are
/// refused, naming the indicator.
pub fn import(bundle: &Value) -> Result<NewBulletin, String> {
    if bundle.get("type").and_then(Value::as_str) != Some("bundle") {
        return Err("not a STIX bundle: type is not \"bundle\"".into());
    }
    let objects = bundle
        .get("objects")
        .and_then(Value::as_array)
        .ok_or("bundle: no objects")?;
    let reports: Vec<&Value> = objects.iter().filter(|o| o["type"] == "report").collect();
    let [report] = reports[..] else {
        return Err(format!(
            "bundle: {} reports; a bulletin is one report",
            reports.len()
        ));
    };
    let text = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let mut n = NewBulletin {
        title: text(report, "name"),
        severity: report
            .get("x_icsight_severity")
            .and_then(Value::as_u64)
            .unwrap_or(2)
            .min(255) as u8,
        description: text(report, "description"),
        scope: match report.get("x_icsight_scope") {
            Some(s) => {
                serde_json::from_value(s.clone()).map_err(|e| format!("x_icsight_scope: {e}"))?
            }
            None => Default::default(),
        },
        indicators: Indicators::default(),
        signatures: String::new(),
        actions: Vec::new(),
        deadline: report
            .get("x_icsight_deadline")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| {
                Timestamp((crate::time::now_s() + 30 * 86_400) * 1_000_000).rfc3339()
            }),
        drill: report.get("x_icsight_drill").and_then(Value::as_bool) == Some(true),
        tlp: tlp_of(report, objects),
    };
    if let Some(sids) = report.get("x_icsight_sids") {
        n.indicators.sids =
            serde_json::from_value(sids.clone()).map_err(|e| format!("x_icsight_sids: {e}"))?;
    }
    let refs: Vec<&str> = report
        .get("object_refs")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for o in objects
        .iter()
        .filter(|o| refs.contains(&o["id"].as_str().unwrap_or("")))
    {
        let id = text(o, "id");
        match o["type"].as_str() {
            Some("indicator") => {
                let pattern = text(o, "pattern");
                match text(o, "pattern_type").as_str() {
                    "suricata" | "snort" => {
                        n.signatures.push_str(pattern.trim());
                        n.signatures.push('\n');
                    }
                    "stix" => {
                        let (what, value) = comparison(&pattern).ok_or_else(|| format!("{id}: pattern {pattern:?} is not one comparison of an address, domain or file hash"))?;
                        match what {
                            "ipv4-addr:value" | "ipv6-addr:value" => n.indicators.ips.push(value),
                            "domain-name:value" => n.indicators.domains.push(value),
                            w if w.starts_with("file:hashes.") => {
                                n.indicators.hashes.push(value.to_ascii_lowercase())
                            }
                            w => {
                                return Err(format!(
                                    "{id}: {w} is not an indicator a bulletin carries"
                                ))
                            }
                        }
                    }
                    other => {
                        return Err(format!(
                            "{id}: pattern_type {other:?}: use stix or suricata"
                        ))
                    }
                }
            }
            Some("course-of-action") => {
                let d = text(o, "description");
                n.actions
                    .push(if d.is_empty() { text(o, "name") } else { d });
            }
            _ => {}
        }
    }
    Ok(n)
}

/// `[object:path = 'value']` → (`object:path`, value).
fn comparison(p: &str) -> Option<(&str, String)> {
    let inner = p.trim().strip_prefix('[')?.strip_suffix(']')?;
    let (lhs, rhs) = inner.split_once('=')?;
    let value = rhs.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    if value.contains('\'') {
        return None;
    }
    Some((lhs.trim(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tier::registry::Scope;

    #[test]
    fn a_bulletin_survives_a_round_trip_through_stix() {
        let n = NewBulletin {
            title: "S7 PLC stop campaign".into(),
            severity: 1,
            description: "Attackers stop S7-300 PLCs".into(),
            scope: Scope { industries: vec!["energy".into()], ..Scope::default() },
            indicators: Indicators {
                ips: vec!["203.0.113.7".into()],
                domains: vec!["c2.example".into()],
                hashes: vec!["b".repeat(64)],
                sids: vec![9100101],
            },
            signatures: "alert tcp any any -> any 102 (msg:\"test sig\"; content:\"|32 01|\"; sid:4100001; rev:1;)".into(),
            actions: vec!["Block 203.0.113.7 at the plant firewall".into()],
            deadline: "2099-01-01T00:00:00Z".into(),
            drill: false,
            tlp: "green".into(),
        };
        let b = super::super::issue::make(&n, "CN-000001", "national", 1, 1_800_000_000).unwrap();
        let bundle = export(&b);
        assert_eq!(
            bundle["objects"].as_array().unwrap().len(),
            1 + 4 + 1 + 1 + 1
        );
        assert!(bundle
            .to_string()
            .contains("[ipv4-addr:value = '203.0.113.7']"));
        let back = import(&bundle).unwrap();
        assert_eq!(back.title, n.title);
        assert_eq!(back.severity, 1);
        assert_eq!(back.scope, n.scope);
        assert_eq!(back.indicators, n.indicators);
        assert_eq!(back.signatures.trim(), n.signatures);
        assert_eq!(back.actions, n.actions);
        assert_eq!(back.deadline, "2099-01-01T00:00:00Z");
        let again =
            super::super::issue::make(&back, "CN-000002", "national", 2, 1_800_000_000).unwrap();
        assert_eq!(again.rules.lines().count(), b.rules.lines().count());
        assert!(import(&json!({"type": "bundle", "objects": []}))
            .unwrap_err()
            .contains("0 reports"));
        let mut bad = bundle.clone();
        for o in bad["objects"].as_array_mut().unwrap() {
            if o["pattern_type"] == "stix" {
                o["pattern"] =
                    "[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.8']".into();
            }
        }
        assert!(import(&bad).unwrap_err().contains("not one comparison") || import(&bad).is_err());
    }
}
