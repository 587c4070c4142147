//! A runner for suricata-verify tests: reads a test's `test.yaml`, replays its capture through
//! the sensor and counts, for each `filter` check, the events that match.
//!
//! Matching follows suricata-verify: each key of `match` is a path into the event (`a.b`,
//! `a[0].b`, `a.__len` for an array's length); a value matches when it is equal, or when both
//! are numbers of equal value, or when their string forms are equal (`'16'` matches `16`).
//! `has-key` and `not-has-key` name paths that must or must not exist.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// One `filter` check of a test and what the sensor's events made of it.
#[derive(Debug, Clone)]
pub struct FilterCheck {
    /// Position among the test's checks, from 0.
    pub index: usize,
    /// The `match` object as written in `test.yaml`.
    pub matcher: Value,
    pub expected: Option<u64>,
    pub actual: u64,
}

impl FilterCheck {
    /// The `event_type` the filter selects, if it names one.
    pub fn event_type(&self) -> Option<&str> {
        self.matcher.get("event_type").and_then(Value::as_str)
    }

    pub fn passed(&self) -> bool {
        self.expected.is_none_or(|n| n == self.actual)
    }
}

/// A suricata-verify test directory.
#[derive(Debug)]
pub struct VerifyTest {
    pub dir: PathBuf,
    pub yaml: Value,
}

impl VerifyTest {
    pub fn load(dir: &Path) -> Self {
        let path = dir.join("test.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let yaml: Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
        VerifyTest {
            dir: dir.to_owned(),
            yaml,
        }
    }

    /// The sensor configuration the test runs with: `base`, with the application-layer
    /// limits its `suricata.yaml` sets as the sensor's `[limits]` (written under `tmp` when
    /// there are any).
    pub fn config(&self, base: &Path, tmp: &Path) -> PathBuf {
        let limits = self.limits();
        let lua = self.allows_lua();
        if limits.is_empty() && !lua {
            return base.to_owned();
        }
        let mut text = std::fs::read_to_string(base).unwrap();
        if !limits.is_empty() {
            text.push_str("\n[limits]\n");
        }
        for (key, value) in limits {
            text.push_str(&format!("{key} = {value}\n"));
        }
        if lua {
            text.push_str("\n[rules]\nlua = true\n");
        }
        let name = self.dir.file_name().unwrap().to_string_lossy();
        let path = tmp.join(format!("{name}.toml"));
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Whether the test runs Suricata with Lua rules allowed (`security.lua.allow-rules`).
    fn allows_lua(&self) -> bool {
        let args = self.yaml["args"].as_array().into_iter().flatten();
        args.filter_map(Value::as_str)
            .any(|a| a.contains("security.lua.allow-rules=true"))
    }

    /// The directory of the test's rules, or, when they name Lua scripts the shared copy of
    /// the test lacks, a copy under `tmp` with the project's own script for the test
    /// (`tests/rules/lua/TEST.lua`) in place of each.
    pub fn rules_dir(&self, tmp: &Path) -> PathBuf {
        let rules: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rules"))
            .collect();
        let mut missing = Vec::new();
        for r in &rules {
            let text = std::fs::read_to_string(r).unwrap_or_default();
            for part in text.split(';') {
                let part = part.trim();
                let Some(name) = part
                    .strip_prefix("lua:")
                    .or_else(|| part.strip_prefix("luajit:"))
                else {
                    continue;
                };
                let name = name.trim();
                if !self.dir.join(name).exists() {
                    missing.push(name.to_owned());
                }
            }
        }
        if missing.is_empty() {
            return self.dir.clone();
        }
        let test = self.dir.file_name().unwrap().to_string_lossy().into_owned();
        let out = tmp.join(format!("{test}-rules"));
        std::fs::create_dir_all(&out).unwrap();
        for r in &rules {
            std::fs::copy(r, out.join(r.file_name().unwrap())).unwrap();
        }
        let ours = crate::root().join(format!("tests/rules/lua/{test}.lua"));
        for name in missing {
            std::fs::copy(&ours, out.join(&name))
                .unwrap_or_else(|e| panic!("{}: {e}", ours.display()));
        }
        out
    }

    /// Suricata's app-layer limits in the test's `suricata.yaml`, as `[limits]` keys.
    fn limits(&self) -> Vec<(&'static str, u64)> {
        let Ok(text) = std::fs::read_to_string(self.dir.join("suricata.yaml")) else {
            return Vec::new();
        };
        // `%YAML 1.1` is a directive serde's YAML reader does not take.
        let body: String = text
            .lines()
            .filter(|l| !l.starts_with('%'))
            .map(|l| format!("{l}\n"))
            .collect();
        let yaml: Value = serde_yaml_ng::from_str(&body).unwrap_or(Value::Null);
        let protocols = &yaml["app-layer"]["protocols"];
        let libhtp = &protocols["http"]["libhtp"]["default-config"];
        [
            ("dnp3_max_objects", &protocols["dnp3"]["max-objects"]),
            ("ftp_max_line", &protocols["ftp"]["max-line-length"]),
            ("http_request_body", &libhtp["request-body-limit"]),
            ("http_response_body", &libhtp["response-body-limit"]),
        ]
        .into_iter()
        .filter_map(|(key, v)| Some((key, suricata_size(v)?)))
        .collect()
    }

    /// The capture the test runs on: `pcap:` if given, else the one capture in its directory.
    pub fn pcap(&self) -> Option<PathBuf> {
        if let Some(p) = self.yaml.get("pcap").and_then(Value::as_str) {
            return Some(self.dir.join(p));
        }
        let mut found = std::fs::read_dir(&self.dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect::<Vec<_>>();
        found.sort();
        found.into_iter().next()
    }

    /// Every `filter` check, counted over `events`.
    pub fn check(&self, events: &[Value]) -> Vec<FilterCheck> {
        let checks = self
            .yaml
            .get("checks")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        checks
            .iter()
            .enumerate()
            .filter_map(|(index, c)| {
                let filter = c.get("filter")?;
                if describes_older_suricata(filter) {
                    return None;
                }
                let matcher = filter.get("match").cloned().unwrap_or(Value::Null);
                let expected = filter.get("count").and_then(Value::as_u64);
                let actual = events.iter().filter(|e| matches(e, filter)).count() as u64;
                Some(FilterCheck {
                    index,
                    matcher,
                    expected,
                    actual,
                })
            })
            .collect()
    }
}

/// The Suricata release whose behaviour the sensor follows where versions differ.
const FOLLOWS: [u64; 3] = [8, 0, 6];

/// Whether a filter describes only releases before the one followed (`requires:
/// lt-version: 8` beside a `min-version: 8` twin): such a filter is left out.
fn describes_older_suricata(filter: &Value) -> bool {
    let Some(lt) = filter["requires"].get("lt-version") else {
        return false;
    };
    let text = match lt {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut v: Vec<u64> = text
        .split('.')
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    v.resize(3, 0);
    v.as_slice() <= FOLLOWS.as_slice()
}

/// The suricata-verify test directories under `dir`, sorted.
pub fn tests_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "test.yaml") {
                out.push(d.clone());
            }
        }
    }
    out.sort();
    out
}

/// Whether `event` satisfies a suricata-verify `filter`.
pub fn matches(event: &Value, filter: &Value) -> bool {
    let keys = |name: &str| -> Vec<String> {
        match filter.get(name) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    if keys("has-key").iter().any(|k| lookup(event, k).is_none()) {
        return false;
    }
    if keys("not-has-key")
        .iter()
        .any(|k| lookup(event, k).is_some())
    {
        return false;
    }
    let Some(m) = filter.get("match").and_then(Value::as_object) else {
        return true;
    };
    m.iter()
        .all(|(path, want)| lookup(event, path).is_some_and(|got| same(&got, want)))
}

/// The value at a suricata-verify path: `a.b`, `a[2].b`, `a.__len`.
pub fn lookup(event: &Value, path: &str) -> Option<Value> {
    let mut cur = event;
    for part in path.split('.') {
        if part == "__len" {
            return match cur {
                Value::Array(a) => Some(Value::from(a.len())),
                Value::Object(o) => Some(Value::from(o.len())),
                Value::String(s) => Some(Value::from(s.len())),
                _ => None,
            };
        }
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            let idx: usize = stripped[..end].parse().ok()?;
            cur = cur.get(idx)?;
            rest = &stripped[end + 1..];
        }
    }
    Some(cur.clone())
}

fn same(got: &Value, want: &Value) -> bool {
    if got == want {
        return true;
    }
    if let (Some(a), Some(b)) = (got.as_f64(), want.as_f64()) {
        return a == b;
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    text(got) == text(want)
}

/// A size as Suricata's configuration writes it: `4096`, `5kb`, `1mb`, `2gb`.
fn suricata_size(v: &Value) -> Option<u64> {
    if let Some(n) = v.as_u64() {
        return Some(n);
    }
    let s = v.as_str()?.trim().to_ascii_lowercase();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits].parse().ok()?;
    let unit = match s[digits..].trim() {
        "" | "b" => 1,
        "kb" | "kib" => 1 << 10,
        "mb" | "mib" => 1 << 20,
        "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    Some(n * unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_as_suricata_writes_them() {
        for (text, n) in [
            ("4096", 4096),
            ("5kb", 5120),
            ("1mb", 1 << 20),
            ("2 KiB", 2048),
        ] {
            assert_eq!(suricata_size(&json!(text)), Some(n), "{text}");
        }
        assert_eq!(suricata_size(&json!(300)), Some(300));
        assert_eq!(suricata_size(&json!("lots")), None);
        assert_eq!(suricata_size(&json!("5 furlongs")), None);
    }

    #[test]
    fn paths_and_values() {
        let ev = json!({"event_type": "dnp3", "dnp3": {"application": {"objects": [
            {"group": 60, "points": [{"value": 2.0}]}]}, "iin": {"indicators": ["device_restart"]}},
            "tcp": {"tcp_flags": "16"}});
        assert_eq!(
            lookup(&ev, "dnp3.application.objects[0].group"),
            Some(json!(60))
        );
        assert_eq!(
            lookup(&ev, "dnp3.application.objects.__len"),
            Some(json!(1))
        );
        assert_eq!(lookup(&ev, "dnp3.application.objects[1].group"), None);
        let f = |m: Value| json!({ "match": m });
        assert!(matches(
            &ev,
            &f(json!({"dnp3.iin.indicators[0]": "device_restart"}))
        ));
        assert!(matches(
            &ev,
            &f(json!({"dnp3.application.objects[0].points[0].value": 2}))
        ));
        assert!(matches(&ev, &f(json!({"tcp.tcp_flags": 16}))));
        assert!(!matches(&ev, &f(json!({"event_type": "modbus"}))));
        assert!(!matches(&ev, &json!({"has-key": "modbus"})));
        assert!(matches(&ev, &json!({"not-has-key": ["modbus"]})));
    }
}
