//! People at a tier: accounts with a role and a scope, logged in by password (argon2) or by an
//! API token, each session or token with an end.
//!
//! The scope is enforced where data is read and written ([`Account::narrow`]), not in a user
//! interface: an enterprise account sees its enterprise, a provincial one its province, a
//! national one everything the tier holds.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use sha2::{Digest, Sha256};

/// A refusal for the credential or the scope, with its status.
#[derive(Debug)]
pub struct Denied {
    pub status: StatusCode,
    pub message: String,
}

/// The SHA-256 of a token, as `token_sha256` holds it and sessions are keyed.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// What an account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything an analyst may, and issue bulletins.
    Admin,
    /// Read, and act on incidents and bulletins: acknowledge, dispose, close.
    Analyst,
    /// Read only: the regulator's view.
    Regulator,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Regulator => "regulator",
        }
    }
}

/// One account of `collector.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub name: String,
    pub role: Role,
    /// The password's argon2 hash (PHC string, `collector password` makes one); empty: none.
    #[serde(default)]
    pub password_argon2: String,
    /// SHA-256 of an API token, hex; empty: none.
    #[serde(default)]
    pub token_sha256: String,
    /// When the API token stops working (`2027-01-01T00:00:00Z`); required with a token.
    #[serde(default)]
    pub token_expires: String,
    /// Empty: every province the tier holds.
    #[serde(default)]
    pub province: String,
    /// Empty: every enterprise in scope.
    #[serde(default)]
    pub enterprise_id: String,
    /// An industry authority (行业主管部门): the industry it oversees in its province (or the
    /// country). Such an account reads and chases the bulletins of that industry's
    /// enterprises, and nothing else.
    #[serde(default)]
    pub industry: String,
    /// Where this person is told of what happens in the scope (`crate::notify`): an e-mail
    /// address, a webhook (`https://…`) and the file holding its signing secret.
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub webhook: String,
    #[serde(default)]
    pub webhook_secret_file: std::path::PathBuf,
    /// The language of the messages: `zh-CN` (the default) or `en`.
    #[serde(default)]
    pub lang: String,
    /// The events to be told of; absent: the role's (`[[notify.roles]]`).
    #[serde(default)]
    pub notify: Option<Vec<String>>,
}

impl Account {
    /// The scope a request asks for, narrowed to this account's: `Err` names what the request
    /// asked for outside it. `None` in the answer: no limit on that dimension.
    pub fn narrow(
        &self,
        province: Option<&str>,
        enterprise: Option<&str>,
    ) -> Result<(Option<String>, Option<String>), Denied> {
        let one = |param: &str, own: &str, asked: Option<&str>| match (own.is_empty(), asked) {
            (false, Some(a)) if a != own => Err(Denied {
                status: StatusCode::FORBIDDEN,
                message: format!("{param} {a:?} is outside {}'s scope", self.name),
            }),
            (false, _) => Ok(Some(own.to_owned())),
            (true, a) => Ok(a.map(str::to_owned)),
        };
        Ok((
            one("province", &self.province, province)?,
            one("enterprise", &self.enterprise_id, enterprise)?,
        ))
    }

    /// Whether a record of `province` and `enterprise` is within this account's scope.
    pub fn sees(&self, province: &str, enterprise: &str) -> bool {
        (self.province.is_empty() || self.province == province)
            && (self.enterprise_id.is_empty() || self.enterprise_id == enterprise)
    }

    /// Whether an enterprise of `industry` is in this account's scope as far as industry goes:
    /// always, unless it is an industry authority's of another industry.
    pub fn sees_industry(&self, industry: &str) -> bool {
        self.industry.is_empty() || self.industry == industry
    }

    /// Refuse a read-only account a write.
    pub fn may_write(&self, what: &str) -> Result<(), Denied> {
        if self.role == Role::Regulator {
            return Err(Denied {
                status: StatusCode::FORBIDDEN,
                message: format!("{} is read-only: cannot {what}", self.name),
            });
        }
        Ok(())
    }

    /// Refuse anyone but an administrator.
    pub fn may_administer(&self, what: &str) -> Result<(), Denied> {
        if self.role != Role::Admin {
            return Err(Denied {
                status: StatusCode::FORBIDDEN,
                message: format!("{} is not an administrator: cannot {what}", self.name),
            });
        }
        Ok(())
    }
}

/// Hash a password for `password_argon2` (argon2id, random salt).
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// The weakest argon2 a password hash may use: argon2id with at least 19 MiB and 2 passes
/// (what `collector password` makes, OWASP's minimum). A weaker hash is refused when the
/// configuration is read, since it would let a stolen configuration be brute-forced cheaply.
pub const MIN_MEMORY_KIB: u32 = 19_456;
pub const MIN_PASSES: u32 = 2;

/// Check a `password_argon2` value is a hash argon2 can verify against, at least as strong as
/// [`MIN_MEMORY_KIB`] and [`MIN_PASSES`].
pub fn check_hash(phc: &str) -> Result<(), String> {
    let h = PasswordHash::new(phc).map_err(|e| {
        format!("not an argon2 PHC string ({e}): make one with `collector password`")
    })?;
    if h.algorithm.as_str() != "argon2id" {
        return Err(format!(
            "{} hash: use argon2id (`collector password`)",
            h.algorithm
        ));
    }
    let params = argon2::Params::try_from(&h).map_err(|e| format!("argon2 parameters: {e}"))?;
    if params.m_cost() < MIN_MEMORY_KIB || params.t_cost() < MIN_PASSES {
        return Err(format!(
            "argon2 with m={} KiB, t={}: at least m={MIN_MEMORY_KIB}, t={MIN_PASSES} \
             (`collector password` makes such a hash)",
            params.m_cost(),
            params.t_cost()
        ));
    }
    Ok(())
}

/// A hash of no one's password, made once: what a login for an unknown name, or a name with
/// no password, is checked against, so that it takes as long as a wrong password and the
/// time does not tell which names exist.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut raw = [0u8; 24];
        let _ = getrandom::fill(&mut raw);
        hash_password(&hex::encode(raw)).unwrap_or_else(|_| {
            // Not reached: hashing fails only without randomness for the salt.
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
             1Zt4kqXl6Zr2x0S3b1v2o3q4r5s6t7u8v9w0x1y2z3A"
                .to_owned()
        })
    })
}

/// Whether `password` is the one `phc` was made from. Slow on purpose (argon2).
pub fn verify_password(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The most sessions open at once; a login beyond it is refused until some expire.
pub const MAX_SESSIONS: usize = 10_000;

/// Open sessions, by the SHA-256 of their token.
#[derive(Default)]
pub struct Sessions {
    open: Mutex<HashMap<[u8; 32], Session>>,
}

#[derive(Clone, Copy)]
struct Session {
    account: usize,
    expires: u64,
}

impl Sessions {
    /// Open a session for account `account` until `expires` (UNIX s): its token.
    pub fn open(&self, account: usize, now: u64, expires: u64) -> Result<String, Denied> {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| Denied {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("no randomness: {e}"),
        })?;
        let token = hex::encode(raw);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.len() >= MAX_SESSIONS {
            open.retain(|_, s| s.expires > now);
        }
        if open.len() >= MAX_SESSIONS {
            return Err(Denied {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!("{MAX_SESSIONS} sessions open: try again later"),
            });
        }
        open.insert(token_digest(&token), Session { account, expires });
        Ok(token)
    }

    /// The account of a live session.
    pub fn account(&self, digest: &[u8; 32], now: u64) -> Option<usize> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        match open.get(digest) {
            Some(s) if s.expires > now => Some(s.account),
            Some(_) => {
                open.remove(digest);
                None
            }
            None => None,
        }
    }

    /// End a session; whether there was one.
    pub fn close(&self, digest: &[u8; 32]) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.remove(digest).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(province: &str, enterprise: &str) -> Account {
        Account {
            name: "a".into(),
            role: Role::Analyst,
            password_argon2: String::new(),
            token_sha256: String::new(),
            token_expires: String::new(),
            province: province.into(),
            enterprise_id: enterprise.into(),
            industry: String::new(),
            email: String::new(),
            webhook: String::new(),
            webhook_secret_file: Default::default(),
            lang: String::new(),
            notify: None,
        }
    }

    #[test]
    fn scope_narrows_never_widens() {
        let p = account("330000", "");
        assert_eq!(p.narrow(None, None).unwrap(), (Some("330000".into()), None));
        assert_eq!(
            p.narrow(Some("330000"), Some("E")).unwrap(),
            (Some("330000".into()), Some("E".into()))
        );
        assert_eq!(
            p.narrow(Some("440000"), None).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        let e = account("330000", "E");
        assert!(e.narrow(None, Some("F")).is_err());
        assert!(e.sees("330000", "E") && !e.sees("330000", "F") && !e.sees("440000", "E"));
        let n = account("", "");
        assert_eq!(
            n.narrow(Some("440000"), None).unwrap().0.as_deref(),
            Some("440000")
        );
    }

    #[test]
    fn passwords_and_sessions() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        check_hash(&h).unwrap();
        assert!(check_hash("plain").is_err());
        let weak = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &SaltString::encode_b64(b"0123456789abcdef").unwrap())
        .unwrap()
        .to_string();
        assert!(check_hash(&weak).unwrap_err().contains("at least m=19456"));
        check_hash(decoy_hash()).unwrap();
        assert!(!verify_password(decoy_hash(), ""));
        assert!(verify_password(&h, "correct horse"));
        assert!(!verify_password(&h, "wrong"));
        let s = Sessions::default();
        let t = s.open(3, 100, 200).unwrap();
        let d = token_digest(&t);
        assert_eq!(s.account(&d, 150), Some(3));
        assert_eq!(s.account(&d, 200), None, "expired");
        assert_eq!(s.account(&d, 150), None, "and forgotten");
        let t = s.open(1, 100, 200).unwrap();
        assert!(s.close(&token_digest(&t)));
    }
}
