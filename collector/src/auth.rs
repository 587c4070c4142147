//! Who is asking: a sensor or a lower tier's collector (by client certificate or bearer token),
//! or a person's account (by API token or login session).
//!
//! A sensor's credential is bound, in `collector.toml`, to its id, enterprise and province;
//! nothing the sensor sends can change that binding.

use std::collections::HashMap;

use axum::http::{header, HeaderMap, StatusCode};

pub use crate::account::Denied;
use crate::account::{token_digest, verify_password, Account, Sessions};
use crate::config::{parse_digest, CollectorEntry, Config, SensorEntry};
use icsight_eve::Timestamp;

/// The verified client certificate's common name, if the peer presented one. The accept loop
/// puts it into every request of the connection.
#[derive(Clone, Debug, Default)]
pub struct Peer {
    pub common_name: Option<String>,
    /// The client's address.
    pub remote: Option<std::net::SocketAddr>,
}

/// The header a sensor may use to say who it is; it must agree with its credential.
pub const SENSOR_HEADER: &str = "x-icsight-sensor";

fn denied(status: StatusCode, message: impl Into<String>) -> Denied {
    Denied {
        status,
        message: message.into(),
    }
}

/// Who posts events: a sensor, or a collector of the tier below (its entry of the
/// configuration).
#[derive(Clone, Debug)]
pub enum Sender {
    Sensor(SensorEntry),
    Collector(CollectorEntry),
}

impl Sender {
    pub fn id(&self) -> &str {
        match self {
            Sender::Sensor(s) => &s.id,
            Sender::Collector(c) => &c.id,
        }
    }

    pub fn role(&self) -> &'static str {
        match self {
            Sender::Sensor(_) => "sensor",
            Sender::Collector(_) => "collector",
        }
    }
}

/// Every credential of the configuration, indexed, and the open sessions.
pub struct Credentials {
    sensors: Vec<SensorEntry>,
    collectors: Vec<CollectorEntry>,
    /// Client certificate common name → sender.
    by_id: HashMap<String, Who>,
    sender_tokens: HashMap<[u8; 32], Who>,
    accounts: Vec<Account>,
    account_tokens: HashMap<[u8; 32], usize>,
    /// When each account's token stops working (UNIX s).
    token_expires: Vec<u64>,
    pub sessions: Sessions,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Who {
    Sensor(usize),
    Collector(usize),
}

impl Credentials {
    /// Index a validated configuration.
    pub fn new(config: &Config) -> Credentials {
        // Made now, not by the first login for an unknown name (which would take longer).
        crate::account::decoy_hash();
        let digest = |h: &str| parse_digest(h).expect("validated by Config::parse");
        let mut by_id = HashMap::new();
        let mut sender_tokens = HashMap::new();
        for (i, s) in config.sensors.iter().enumerate() {
            by_id.insert(s.id.clone(), Who::Sensor(i));
            if !s.token_sha256.is_empty() {
                sender_tokens.insert(digest(&s.token_sha256), Who::Sensor(i));
            }
        }
        for (i, c) in config.collectors.iter().enumerate() {
            by_id.insert(c.id.clone(), Who::Collector(i));
            if !c.token_sha256.is_empty() {
                sender_tokens.insert(digest(&c.token_sha256), Who::Collector(i));
            }
        }
        Credentials {
            by_id,
            sender_tokens,
            account_tokens: (config.accounts.iter().enumerate())
                .filter(|(_, a)| !a.token_sha256.is_empty())
                .map(|(i, a)| (digest(&a.token_sha256), i))
                .collect(),
            token_expires: (config.accounts.iter())
                .map(|a| Timestamp::parse(&a.token_expires).map_or(0, Timestamp::secs))
                .collect(),
            sensors: config.sensors.clone(),
            collectors: config.collectors.clone(),
            accounts: config.accounts.clone(),
            sessions: Sessions::default(),
        }
    }

    fn resolve(&self, who: Who) -> Sender {
        match who {
            Who::Sensor(i) => Sender::Sensor(self.sensors[i].clone()),
            Who::Collector(i) => Sender::Collector(self.collectors[i].clone()),
        }
    }

    fn id_of(&self, who: Who) -> (&'static str, &str) {
        match who {
            Who::Sensor(i) => ("sensor", &self.sensors[i].id),
            Who::Collector(i) => ("collector", &self.collectors[i].id),
        }
    }

    /// The sensor or collector making this request: by token, by client certificate, or both
    /// (then they must agree), and `X-Icsight-Sensor`, if sent, must name the same.
    pub fn sender(&self, headers: &HeaderMap, peer: &Peer) -> Result<Sender, Denied> {
        let by_token = match bearer(headers)? {
            Some(t) => Some(
                *self
                    .sender_tokens
                    .get(&token_digest(t))
                    .ok_or_else(|| denied(StatusCode::UNAUTHORIZED, "unknown sensor token"))?,
            ),
            None => None,
        };
        let by_cert = match &peer.common_name {
            Some(cn) => Some(*self.by_id.get(cn).ok_or_else(|| {
                denied(
                    StatusCode::FORBIDDEN,
                    format!("client certificate {cn:?} names no registered sensor or collector"),
                )
            })?),
            None => None,
        };
        let who = match (by_token, by_cert) {
            (Some(t), Some(c)) if t != c => {
                return Err(denied(
                    StatusCode::FORBIDDEN,
                    format!(
                        "token of {} {:?} used with the certificate of {} {:?}",
                        self.id_of(t).0,
                        self.id_of(t).1,
                        self.id_of(c).0,
                        self.id_of(c).1
                    ),
                ))
            }
            (Some(s), _) | (None, Some(s)) => self.resolve(s),
            (None, None) => {
                return Err(denied(
                    StatusCode::UNAUTHORIZED,
                    "no credential: present a client certificate or a bearer token",
                ))
            }
        };
        if let Some(claimed) = headers.get(SENSOR_HEADER) {
            let claimed = claimed.to_str().unwrap_or("(not text)");
            if claimed != who.id() {
                return Err(denied(
                    StatusCode::FORBIDDEN,
                    format!(
                        "{SENSOR_HEADER} {claimed:?} is not this credential's {} {:?}",
                        who.role(),
                        who.id()
                    ),
                ));
            }
        }
        Ok(who)
    }

    /// The account making this request, by API token or session token.
    pub fn account(&self, headers: &HeaderMap, now: u64) -> Result<&Account, Denied> {
        let t = bearer(headers)?.ok_or_else(|| {
            denied(
                StatusCode::UNAUTHORIZED,
                "no credential: log in (POST /v1/login) or send an API token",
            )
        })?;
        let d = token_digest(t);
        if let Some(&i) = self.account_tokens.get(&d) {
            if self.token_expires[i] <= now {
                return Err(denied(
                    StatusCode::UNAUTHORIZED,
                    format!("the API token of {:?} has expired", self.accounts[i].name),
                ));
            }
            return Ok(&self.accounts[i]);
        }
        self.sessions
            .account(&d, now)
            .map(|i| &self.accounts[i])
            .ok_or_else(|| denied(StatusCode::UNAUTHORIZED, "unknown or expired token"))
    }

    /// The account whose web session `token` is, while it lasts.
    pub fn session(&self, token: &str, now: u64) -> Option<&Account> {
        self.sessions
            .account(&token_digest(token), now)
            .map(|i| &self.accounts[i])
    }

    /// End the web session `token`; whether there was one.
    pub fn end_session(&self, token: &str) -> bool {
        self.sessions.close(&token_digest(token))
    }

    /// The account named `name`, by index, if its password is `password`. One argon2
    /// verification runs whatever the name: against the decoy hash for a name unknown or
    /// without a password, so the answer takes as long either way.
    pub fn check_password(&self, name: &str, password: &str) -> Option<usize> {
        let (i, phc) = self.hash_for(name);
        let right = verify_password(phc, password);
        i.filter(|_| right)
    }

    /// The account named `name` if it has a password, and the hash a login is checked
    /// against: its own, or the decoy.
    fn hash_for(&self, name: &str) -> (Option<usize>, &str) {
        match (self.accounts.iter()).position(|a| a.name == name && !a.password_argon2.is_empty()) {
            Some(i) => (Some(i), &self.accounts[i].password_argon2),
            None => (None, crate::account::decoy_hash()),
        }
    }

    pub fn account_at(&self, i: usize) -> &Account {
        &self.accounts[i]
    }

    /// The token in the `Authorization` header, as `Sessions` keys it.
    pub fn bearer_digest(headers: &HeaderMap) -> Option<[u8; 32]> {
        bearer(headers).ok().flatten().map(token_digest)
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
