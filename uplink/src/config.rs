//! The uplink's configuration table: where to send, with which credentials, and the limits of the
//! spool. The caller names the table (`[uplink]` in `sensor.toml`, `[upstream]` in
//! `collector.toml`); every error names its key under that name.

use std::path::PathBuf;

use serde::Deserialize;

use crate::UplinkError;

/// The push of records to a collector, through an on-disk spool.
/// See `docs/uplink.md` for the spool layout and what is kept when the link is down.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UplinkConfig {
    /// The collector's base URL (`https://collector.example:8443`); empty: no uplink.
    pub url: String,
    /// A file holding the bearer token (trimmed); empty: no `Authorization` header.
    pub token_file: PathBuf,
    /// PEM of the CA that signed the collector's certificate; required for `https`.
    pub ca: PathBuf,
    /// Client certificate (PEM) for mutual TLS; empty: none.
    pub cert: PathBuf,
    /// The client certificate's private key (PEM).
    pub key: PathBuf,
    /// Where unsent records wait, one file per batch.
    pub spool_dir: PathBuf,
    /// Cap on the spool; beyond it the oldest unsent segments are deleted first.
    pub spool_max_mb: u32,
    /// Records in one segment (one request) at most.
    pub segment_max_events: u32,
    /// Bytes in one segment at most, in KiB, uncompressed.
    pub segment_max_kb: u32,
    /// An open segment is closed, and becomes sendable, this long after its first record.
    pub segment_seconds: f64,
    pub fsync: Fsync,
    pub compression: Compression,
    /// Backoff between retries starts here and doubles …
    pub retry_min_ms: u32,
    /// … up to this, with ±20% jitter.
    pub retry_max_s: u32,
    /// Limit on one request, connect to last byte of the answer.
    pub timeout_s: u32,
    /// At exit, how long the spool may take to drain before what is left stays for next time.
    pub drain_seconds: f64,
}

impl UplinkConfig {
    /// Whether an uplink is configured at all.
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// Check the values, without touching a file: limits always, the URL and the credentials'
    /// keys when [`enabled`](Self::enabled). Errors name the key as `{table}.{key}`, `table`
    /// being the name of the caller's configuration table (`"uplink"`, `"upstream"`).
    pub fn validate(&self, table: &str) -> Result<(), UplinkError> {
        let err =
            |key: &'static str, message: String| Err(UplinkError::invalid(table, key, message));
        let positive: [(&'static str, u32); 6] = [
            ("spool_max_mb", self.spool_max_mb),
            ("segment_max_events", self.segment_max_events),
            ("segment_max_kb", self.segment_max_kb),
            ("retry_min_ms", self.retry_min_ms),
            ("retry_max_s", self.retry_max_s),
            ("timeout_s", self.timeout_s),
        ];
        for (key, v) in positive {
            if v == 0 {
                return err(key, "must be greater than 0".into());
            }
        }
        for (key, v) in [
            ("segment_seconds", self.segment_seconds),
            ("drain_seconds", self.drain_seconds),
        ] {
            if !(v.is_finite() && (0.0..=86_400.0).contains(&v)) {
                return err(
                    key,
                    format!("{v} must be a number of seconds from 0 to 86400"),
                );
            }
        }
        if self.segment_seconds < 0.01 {
            return err("segment_seconds", "must be at least 0.01".into());
        }
        if u64::from(self.segment_max_kb) > u64::from(self.spool_max_mb) * 1024 {
            return err(
                "segment_max_kb",
                format!(
                    "{} KiB does not fit in {table}.spool_max_mb = {} MiB",
                    self.segment_max_kb, self.spool_max_mb
                ),
            );
        }
        if u64::from(self.retry_min_ms) > u64::from(self.retry_max_s) * 1000 {
            return err(
                "retry_min_ms",
                format!(
                    "{} ms is more than {table}.retry_max_s = {} s",
                    self.retry_min_ms, self.retry_max_s
                ),
            );
        }
        if !self.enabled() {
            return Ok(());
        }
        let url = self.url.as_str();
        let Some(rest) = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
        else {
            return err(
                "url",
                format!("{url:?} must start with https:// (or http:// for tests)"),
            );
        };
        if rest.is_empty() || rest.starts_with('/') {
            return err("url", format!("{url:?} names no host"));
        }
        if rest.contains(['?', '#']) {
            return err(
                "url",
                format!("{url:?}: give the base URL only; /v1/ingest is added"),
            );
        }
        if url.starts_with("https://") && self.ca.as_os_str().is_empty() {
            return err(
                "ca",
                format!("an https url ({url}) needs the PEM of the collector's CA"),
            );
        }
        if self.cert.as_os_str().is_empty() != self.key.as_os_str().is_empty() {
            return if self.key.as_os_str().is_empty() {
                err(
                    "key",
                    format!("{table}.cert is set: its private key is needed too"),
                )
            } else {
                err(
                    "cert",
                    format!("{table}.key is set: its certificate is needed too"),
                )
            };
        }
        if self.spool_dir.as_os_str().is_empty() {
            return err("spool_dir", "must not be empty".into());
        }
        Ok(())
    }
}

impl Default for UplinkConfig {
    fn default() -> Self {
        UplinkConfig {
            url: String::new(),
            token_file: PathBuf::new(),
            ca: PathBuf::new(),
            cert: PathBuf::new(),
            key: PathBuf::new(),
            spool_dir: PathBuf::from("spool"),
            spool_max_mb: 1024,
            segment_max_events: 1000,
            segment_max_kb: 1024,
            segment_seconds: 1.0,
            fsync: Fsync::Segment,
            compression: Compression::Zstd,
            retry_min_ms: 500,
            retry_max_s: 30,
            timeout_s: 30,
            drain_seconds: 30.0,
        }
    }
}

/// When spooled records are forced to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fsync {
    /// After every record.
    Always,
    /// When a segment closes: a power loss may cost the open segment.
    Segment,
    /// Never: the kernel writes back when it likes.
    Never,
}

/// How request bodies are compressed (`Content-Encoding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    Zstd,
    Gzip,
}

impl Compression {
    /// The `Content-Encoding` token.
    pub fn name(self) -> &'static str {
        match self {
            Compression::Zstd => "zstd",
            Compression::Gzip => "gzip",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enabled() -> UplinkConfig {
        UplinkConfig {
            url: "http://collector:8080".into(),
            ..Default::default()
        }
    }

    fn key_of(cfg: &UplinkConfig, table: &str) -> Option<String> {
        cfg.validate(table).err().map(|e| e.full_key())
    }

    #[test]
    fn defaults_are_valid_enabled_or_not() {
        UplinkConfig::default().validate("uplink").unwrap();
        enabled().validate("uplink").unwrap();
        assert!(!UplinkConfig::default().enabled());
    }

    #[test]
    fn errors_name_the_key_under_the_callers_table() {
        for (cfg, key) in [
            (
                UplinkConfig {
                    url: "ftp://c".into(),
                    ..enabled()
                },
                "url",
            ),
            (
                UplinkConfig {
                    url: "https://".into(),
                    ..enabled()
                },
                "url",
            ),
            (
                UplinkConfig {
                    url: "http://c/?x".into(),
                    ..enabled()
                },
                "url",
            ),
            (
                UplinkConfig {
                    url: "https://c:8443".into(),
                    ..enabled()
                },
                "ca",
            ),
            (
                UplinkConfig {
                    cert: "c.pem".into(),
                    ..enabled()
                },
                "key",
            ),
            (
                UplinkConfig {
                    key: "k.pem".into(),
                    ..enabled()
                },
                "cert",
            ),
            (
                UplinkConfig {
                    spool_dir: PathBuf::new(),
                    ..enabled()
                },
                "spool_dir",
            ),
            (
                UplinkConfig {
                    segment_max_kb: 0,
                    ..Default::default()
                },
                "segment_max_kb",
            ),
            (
                UplinkConfig {
                    spool_max_mb: 1,
                    segment_max_kb: 2048,
                    ..Default::default()
                },
                "segment_max_kb",
            ),
            (
                UplinkConfig {
                    retry_min_ms: 60_000,
                    ..Default::default()
                },
                "retry_min_ms",
            ),
            (
                UplinkConfig {
                    segment_seconds: 0.001,
                    ..Default::default()
                },
                "segment_seconds",
            ),
            (
                UplinkConfig {
                    drain_seconds: f64::NAN,
                    ..Default::default()
                },
                "drain_seconds",
            ),
        ] {
            assert_eq!(key_of(&cfg, "upstream"), Some(format!("upstream.{key}")));
            let e = cfg.validate("uplink").unwrap_err();
            assert_eq!(e.key(), key);
            assert!(e.to_string().starts_with(&format!("uplink.{key}: ")), "{e}");
        }
        // Keys named inside a message carry the table too.
        let e = UplinkConfig {
            cert: "c.pem".into(),
            ..enabled()
        }
        .validate("upstream")
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "upstream.key: upstream.cert is set: its private key is needed too"
        );
    }

    #[test]
    fn a_disabled_uplink_skips_the_url_checks() {
        let cfg = UplinkConfig {
            cert: "c.pem".into(),
            ..Default::default()
        };
        cfg.validate("uplink").unwrap();
    }
}
