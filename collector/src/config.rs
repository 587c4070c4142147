//! `collector.toml`: where the collector listens, which ClickHouse it writes to, and who may
//! write and read.
//!
//! Unknown keys are errors and every error names the file and the key, so a typo never falls
//! back to a default. Credentials are stored as SHA-256 digests: the file grants access without
//! holding a secret anyone could replay.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: key `{key}`: {message}")]
    Key {
        path: PathBuf,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub clickhouse: ClickHouseConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    /// The sensors allowed to write, each bound to its enterprise and province.
    #[serde(default)]
    pub sensors: Vec<SensorEntry>,
    /// The analysts allowed to query, each limited to a scope.
    #[serde(default)]
    pub analysts: Vec<AnalystEntry>,
}

/// The HTTPS listener and the limits on one ingest request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    /// Server certificate chain and key (PEM). Both empty: plain HTTP, for a collector behind a
    /// TLS-terminating proxy only.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA (PEM) whose client certificates identify sensors by their common name. Empty: bearer
    /// tokens only.
    pub client_ca: PathBuf,
    /// Largest request body as sent (compressed), in KiB.
    pub max_body_kb: u64,
    /// Largest batch once decompressed, in KiB: bounds what a small compressed body may expand to.
    pub max_batch_kb: u64,
    /// Most events in one batch.
    pub max_batch_events: usize,
    /// Largest single event line, in KiB.
    pub max_line_kb: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8443".into(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
            client_ca: PathBuf::new(),
            max_body_kb: 4096,
            max_batch_kb: 16384,
            max_batch_events: 10_000,
            max_line_kb: 256,
        }
    }
}

/// Any ClickHouse reachable over HTTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    pub url: String,
    pub user: String,
    pub password: String,
    pub database: String,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            user: "default".into(),
            password: String::new(),
            database: "icsight".into(),
        }
    }
}

/// What is stored, and for how long.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Protocol transaction events stored (`modbus`, `s7comm`, `s7commplus`, `dnp3`); others are
    /// acknowledged and counted, not stored.
    pub transactions: Vec<String>,
    /// Days of events kept, by event time; 0 keeps everything.
    pub retention_days: u32,
    /// Days of roll-ups kept; 0 keeps everything.
    pub rollup_retention_days: u32,
    /// Seconds between retention runs.
    pub retention_interval_s: u64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            transactions: TRANSACTION_TYPES.map(String::from).to_vec(),
            retention_days: 180,
            rollup_retention_days: 730,
            retention_interval_s: 3600,
        }
    }
}

/// The protocol transaction event types a sensor writes.
pub const TRANSACTION_TYPES: [&str; 4] = ["modbus", "s7comm", "s7commplus", "dnp3"];

/// One sensor's credential and the scope it writes into.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorEntry {
    pub id: String,
    pub enterprise_id: String,
    pub province: String,
    #[serde(default = "other_industry")]
    pub industry: String,
    /// Security grade 1 (highest) to 3.
    #[serde(default = "lowest_grade")]
    pub grade: u8,
    /// SHA-256 of the sensor's bearer token, hex. Empty: the sensor authenticates by client
    /// certificate only (its common name is `id`).
    #[serde(default)]
    pub token_sha256: String,
}

fn other_industry() -> String {
    "other".into()
}

fn lowest_grade() -> u8 {
    3
}

/// One analyst's credential and what they may see.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalystEntry {
    pub name: String,
    pub token_sha256: String,
    /// Empty: every province.
    #[serde(default)]
    pub province: String,
    /// Empty: every enterprise (in the province, if one is set).
    #[serde(default)]
    pub enterprise_id: String,
}

/// The SHA-256 of a token, as `token_sha256` holds it.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let err = |key: String, message: String| ConfigError::Key {
            path: path.to_owned(),
            key,
            message,
        };
        let de = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            err(key, inner.message().to_owned())
        })?;
        config.validate().map_err(|(k, m)| err(k, m))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let s = &self.server;
        if s.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err((
                "server.listen".into(),
                format!("{:?} is not an address:port", s.listen),
            ));
        }
        if s.cert.as_os_str().is_empty() != s.key.as_os_str().is_empty() {
            return Err((
                "server.cert".into(),
                "cert and key go together: set both or neither".into(),
            ));
        }
        if !s.client_ca.as_os_str().is_empty() && s.cert.as_os_str().is_empty() {
            return Err((
                "server.client_ca".into(),
                "client certificates need TLS: set server.cert and server.key".into(),
            ));
        }
        for (key, v) in [
            ("server.max_body_kb", s.max_body_kb),
            ("server.max_batch_kb", s.max_batch_kb),
            ("server.max_batch_events", s.max_batch_events as u64),
            ("server.max_line_kb", s.max_line_kb as u64),
        ] {
            if v == 0 {
                return Err((key.into(), "must be at least 1".into()));
            }
        }
        if !valid_name(&self.clickhouse.database) {
            return Err((
                "clickhouse.database".into(),
                format!(
                    "{:?} must be letters, digits and '_'",
                    self.clickhouse.database
                ),
            ));
        }
        for (i, t) in self.storage.transactions.iter().enumerate() {
            if !TRANSACTION_TYPES.contains(&t.as_str()) {
                return Err((
                    format!("storage.transactions[{i}]"),
                    format!("{t:?} is not one of {}", TRANSACTION_TYPES.join(", ")),
                ));
            }
        }
        let mut ids = HashMap::new();
        let mut tokens = HashMap::new();
        for (i, e) in self.sensors.iter().enumerate() {
            let key = |k: &str| format!("sensors[{i}].{k}");
            check_id(&e.id).map_err(|m| (key("id"), m))?;
            check_id(&e.enterprise_id).map_err(|m| (key("enterprise_id"), m))?;
            check_id(&e.province).map_err(|m| (key("province"), m))?;
            check_id(&e.industry).map_err(|m| (key("industry"), m))?;
            if !(1..=3).contains(&e.grade) {
                return Err((
                    key("grade"),
                    format!("{} is not a grade: 1, 2 or 3", e.grade),
                ));
            }
            if let Some(j) = ids.insert(e.id.as_str(), i) {
                return Err((key("id"), format!("{:?} is also sensors[{j}]", e.id)));
            }
            if !e.token_sha256.is_empty() {
                let d = parse_digest(&e.token_sha256).map_err(|m| (key("token_sha256"), m))?;
                if let Some(j) = tokens.insert(d, i) {
                    return Err((key("token_sha256"), format!("same token as sensors[{j}]")));
                }
            }
        }
        for (i, a) in self.analysts.iter().enumerate() {
            let key = |k: &str| format!("analysts[{i}].{k}");
            if a.name.is_empty() {
                return Err((key("name"), "must not be empty".into()));
            }
            let d = parse_digest(&a.token_sha256).map_err(|m| (key("token_sha256"), m))?;
            if tokens.insert(d, usize::MAX).is_some() {
                return Err((key("token_sha256"), "token already used".into()));
            }
        }
        Ok(())
    }
}

/// Parse a hex SHA-256 digest.
pub fn parse_digest(hex_text: &str) -> Result<[u8; 32], String> {
    let mut d = [0u8; 32];
    hex::decode_to_slice(hex_text, &mut d)
        .map_err(|_| format!("{hex_text:?} is not 64 hex digits (a SHA-256)"))?;
    Ok(d)
}

/// Identifiers that end up in ClickHouse keys and URLs: printable, short, no separators.
fn check_id(v: &str) -> Result<(), String> {
    if v.is_empty()
        || v.len() > 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(format!(
            "{v:?} must be 1-64 letters, digits, '.', '_' or '-'"
        ));
    }
    Ok(())
}

fn valid_name(v: &str) -> bool {
    !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("c.toml")).map_err(|e| e.to_string())
    }

    const TOKEN: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn defaults_and_a_sensor() {
        let c = parse(&format!(
            "[[sensors]]\nid = \"s1\"\nenterprise_id = \"E1\"\nprovince = \"330000\"\ntoken_sha256 = \"{TOKEN}\"\n"
        ))
        .unwrap();
        assert_eq!(c.sensors[0].grade, 3);
        assert_eq!(c.storage.transactions.len(), 4);
        assert_eq!(token_digest("test"), parse_digest(TOKEN).unwrap());
    }

    #[test]
    fn the_example_file_is_the_defaults() {
        let c = parse(include_str!("../../collector.toml")).unwrap();
        let d = parse("").unwrap();
        assert_eq!(format!("{:?}", c.server), format!("{:?}", d.server));
        assert_eq!(format!("{:?}", c.clickhouse), format!("{:?}", d.clickhouse));
        assert_eq!(format!("{:?}", c.storage), format!("{:?}", d.storage));
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("[server]\nlisten = \"nowhere\"\n").unwrap_err();
        assert!(e.contains("server.listen"), "{e}");
        let e = parse("[server]\nlistn = \"x\"\n").unwrap_err();
        assert!(e.contains("listn"), "{e}");
        let e = parse("[storage]\ntransactions = [\"http\"]\n").unwrap_err();
        assert!(e.contains("storage.transactions[0]"), "{e}");
        let e = parse(&format!(
            "[[sensors]]\nid = \"a\"\nenterprise_id = \"E\"\nprovince = \"P\"\ntoken_sha256 = \"{TOKEN}\"\n\
             [[sensors]]\nid = \"b\"\nenterprise_id = \"E\"\nprovince = \"P\"\ntoken_sha256 = \"{TOKEN}\"\n"
        ))
        .unwrap_err();
        assert!(e.contains("sensors[1].token_sha256"), "{e}");
        let e = parse("[[sensors]]\nid = \"a b\"\nenterprise_id = \"E\"\nprovince = \"P\"\n")
            .unwrap_err();
        assert!(e.contains("sensors[0].id"), "{e}");
    }
}
