//! `sensor baseline diff`: what changed between two baselines, one line per fact.
//!
//! Both files are compared as JSON, so every fact a baseline can hold is covered without a
//! line of code per field: hosts by address, pairs by their two ends, units, areas, objects
//! and operations by what identifies them; sets of codes as what was added and removed.
//! Counters and running statistics (counts, means, spreads, times seen) change with every
//! capture and are left out; envelope bounds and ranges are not.

use std::collections::BTreeMap;

use serde_json::Value;

use super::model::Baseline;

/// Fields that change with every capture learned, and say nothing an engineer approves.
const VOLATILE: [&str; 6] = [
    "count",
    "mean",
    "std",
    "requests",
    "first_seen",
    "last_seen",
];

/// Fields that identify an element of a list, tried in order.
const KEYS: [&[&str]; 6] = [
    &["ip"],
    &["client", "server"],
    &["unit"],
    &["area", "db"],
    &["from", "group", "variation"],
    &["op"],
];

/// The differences from `a` to `b`: `+` added, `-` removed, `~` changed.
pub fn diff(a: &Baseline, b: &Baseline) -> Vec<String> {
    let mut out = Vec::new();
    let (va, vb) = (to_value(a), to_value(b));
    for section in ["assets", "pairs"] {
        walk(section, &va[section], &vb[section], &mut out);
    }
    out
}

fn to_value(b: &Baseline) -> Value {
    serde_json::to_value(b).unwrap_or(Value::Null)
}

fn label(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    let fields = KEYS.iter().find(|k| k.iter().any(|f| o.contains_key(*f)))?;
    let parts: Vec<String> = fields
        .iter()
        .map(|f| match o.get(*f) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        })
        .filter(|s| !s.is_empty())
        .collect();
    Some(parts.join(if fields == &["client", "server"] {
        " -> "
    } else {
        " "
    }))
}

fn same_number(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                if VOLATILE.contains(&k.as_str()) {
                    continue;
                }
                let p = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(v), None) => out.push(format!("- {p}: {v}")),
                    (None, Some(v)) => out.push(format!("+ {p}: {v}")),
                    (Some(v), Some(w)) => walk(&p, v, w, out),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            let keyed = |v: &Vec<Value>| -> Option<BTreeMap<String, Value>> {
                v.iter().map(|e| Some((label(e)?, e.clone()))).collect()
            };
            if let (Some(kx), Some(ky)) = (keyed(x), keyed(y)) {
                let labels: std::collections::BTreeSet<&String> =
                    kx.keys().chain(ky.keys()).collect();
                for l in labels {
                    let p = format!("{path}[{l}]");
                    match (kx.get(l), ky.get(l)) {
                        (Some(_), None) => out.push(format!("- {p}")),
                        (None, Some(v)) => out.push(format!("+ {p}: {}", strip(v))),
                        (Some(v), Some(w)) => walk(&p, v, w, out),
                        (None, None) => {}
                    }
                }
            } else if x.iter().chain(y).all(|v| !v.is_array() && !v.is_object()) {
                let added: Vec<String> = y
                    .iter()
                    .filter(|v| !x.contains(v))
                    .map(Value::to_string)
                    .collect();
                let removed: Vec<String> = x
                    .iter()
                    .filter(|v| !y.contains(v))
                    .map(Value::to_string)
                    .collect();
                if !added.is_empty() {
                    out.push(format!("+ {path}: {}", added.join(", ")));
                }
                if !removed.is_empty() {
                    out.push(format!("- {path}: {}", removed.join(", ")));
                }
            } else if a != b {
                out.push(format!("~ {path}: {a} -> {b}"));
            }
        }
        _ if a == b || same_number(a, b) => {}
        _ => out.push(format!("~ {path}: {} -> {}", show(a), show(b))),
    }
}

/// A value as JSON, whole numbers without a fraction (envelopes hold floats).
fn show(v: &Value) -> String {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", x as i64),
        _ => v.to_string(),
    }
}

/// A new element without its volatile fields, to keep the line short.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        v => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &str) -> Baseline {
        let text = format!(r#"{{"format":"icsight-baseline","version":1,"pairs":{pairs}}}"#);
        Baseline::parse(&text).unwrap()
    }

    #[test]
    fn names_what_changed() {
        let a = parse(
            r#"[{"client":"10.0.0.5","server":"10.0.0.10","first_seen":"2026-11-21T00:00:00Z","last_seen":"2026-11-21T00:00:00Z",
                 "modbus":{"functions":[3,6],"units":[{"unit":1,"holding_registers":{"read":[[0,9]],"values":{"5":{"min":450,"max":550,"count":9,"mean":500,"std":3}}}}]}}]"#,
        );
        let b = parse(
            r#"[{"client":"10.0.0.5","server":"10.0.0.10","first_seen":"2026-11-21T00:00:00Z","last_seen":"2026-11-22T00:00:00Z",
                 "modbus":{"functions":[3,16],"units":[{"unit":1,"holding_registers":{"read":[[0,19]],"values":{"5":{"min":450,"max":600,"count":90,"mean":510,"std":4}}}}]}},
                {"client":"10.0.0.66","server":"10.0.0.10","first_seen":"2026-11-21T00:00:00Z","last_seen":"2026-11-21T00:00:00Z"}]"#,
        );
        let d = diff(&a, &b);
        let p = "pairs[10.0.0.5 -> 10.0.0.10].modbus";
        assert_eq!(
            d,
            vec![
                format!("+ {p}.functions: 16"),
                format!("- {p}.functions: 6"),
                format!("~ {p}.units[1].holding_registers.read: [[0,9]] -> [[0,19]]"),
                format!("~ {p}.units[1].holding_registers.values.5.max: 550 -> 600"),
                "+ pairs[10.0.0.66 -> 10.0.0.10]: {\"client\":\"10.0.0.66\",\"server\":\"10.0.0.10\"}".to_owned(),
            ]
        );
        assert!(diff(&a, &a).is_empty());
    }
}
