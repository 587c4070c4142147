//! Who is asking: a sensor (by client certificate or bearer token) or an analyst (by token).
//!
//! A sensor's credential is bound, in `collector.toml`, to its id, enterprise and province;
//! nothing the sensor sends can change that binding.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};

use crate::config::{parse_digest, token_digest, AnalystEntry, Config, SensorEntry};

/// The verified client certificate's common name, if the peer presented one. The accept loop
/// puts it into every request of the connection.
#[derive(Clone, Debug, Default)]
pub struct Peer {
    pub common_name: Option<String>,
}

/// The header a sensor may use to say who it is; it must agree with its credential.
pub const SENSOR_HEADER: &str = "x-icsight-sensor";

/// A refusal, with its status.
#[derive(Debug)]
pub struct Denied {
    pub status: StatusCode,
    pub message: String,
}

fn denied(status: StatusCode, message: impl Into<String>) -> Denied {
    Denied {
        status,
        message: message.into(),
    }
}

/// Every credential of the configuration, indexed.
pub struct Credentials {
    sensors: Vec<SensorEntry>,
    by_id: HashMap<String, usize>,
    sensor_tokens: HashMap<[u8; 32], usize>,
    analysts: Vec<AnalystEntry>,
    analyst_tokens: HashMap<[u8; 32], usize>,
}

impl Credentials {
    /// Index a validated configuration.
    pub fn new(config: &Config) -> Credentials {
        let digest = |h: &str| parse_digest(h).expect("validated by Config::parse");
        Credentials {
            by_id: (config.sensors.iter().enumerate())
                .map(|(i, s)| (s.id.clone(), i))
                .collect(),
            sensor_tokens: (config.sensors.iter().enumerate())
                .filter(|(_, s)| !s.token_sha256.is_empty())
                .map(|(i, s)| (digest(&s.token_sha256), i))
                .collect(),
            analyst_tokens: (config.analysts.iter().enumerate())
                .map(|(i, a)| (digest(&a.token_sha256), i))
                .collect(),
            sensors: config.sensors.clone(),
            analysts: config.analysts.clone(),
        }
    }

    /// The sensor making this request.
    pub fn sensor(&self, headers: &HeaderMap, peer: &Peer) -> Result<&SensorEntry, Denied> {
        let by_token = match bearer(headers)? {
            Some(t) => Some(
                self.sensor_tokens
                    .get(&token_digest(t))
                    .map(|&i| &self.sensors[i])
                    .ok_or_else(|| denied(StatusCode::UNAUTHORIZED, "unknown sensor token"))?,
            ),
            None => None,
        };
        let by_cert =
            match &peer.common_name {
                Some(cn) => Some(self.by_id.get(cn).map(|&i| &self.sensors[i]).ok_or_else(
                    || {
                        denied(
                            StatusCode::FORBIDDEN,
                            format!("client certificate {cn:?} names no registered sensor"),
                        )
                    },
                )?),
                None => None,
            };
        let who = match (by_token, by_cert) {
            (Some(t), Some(c)) if t.id != c.id => {
                return Err(denied(
                    StatusCode::FORBIDDEN,
                    format!(
                        "token of sensor {:?} used with the certificate of sensor {:?}",
                        t.id, c.id
                    ),
                ))
            }
            (Some(s), _) | (None, Some(s)) => s,
            (None, None) => {
                return Err(denied(
                    StatusCode::UNAUTHORIZED,
                    "no credential: present a client certificate or a bearer token",
                ))
            }
        };
        if let Some(claimed) = headers.get(SENSOR_HEADER) {
            let claimed = claimed.to_str().unwrap_or("(not text)");
            if claimed != who.id {
                return Err(denied(
                    StatusCode::FORBIDDEN,
                    format!(
                        "{SENSOR_HEADER} {claimed:?} is not this credential's sensor {:?}",
                        who.id
                    ),
                ));
            }
        }
        Ok(who)
    }

    /// The analyst making this request.
    pub fn analyst(&self, headers: &HeaderMap) -> Result<&AnalystEntry, Denied> {
        let t = bearer(headers)?.ok_or_else(|| {
            denied(
                StatusCode::UNAUTHORIZED,
                "no credential: send an analyst's bearer token",
            )
        })?;
        self.analyst_tokens
            .get(&token_digest(t))
            .map(|&i| &self.analysts[i])
            .ok_or_else(|| denied(StatusCode::UNAUTHORIZED, "unknown analyst token"))
    }
}

/// The bearer token of the `Authorization` header, if any.
fn bearer(headers: &HeaderMap) -> Result<Option<&str>, Denied> {
    let Some(v) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| Some(t.trim()))
        .ok_or_else(|| {
            denied(
                StatusCode::UNAUTHORIZED,
                "Authorization: expected \"Bearer <token>\"",
            )
        })
}
