//! OPC UA keywords (icsight's: neither Suricata nor Snort 3 inspects OPC UA). Each reads one
//! message chunk, whichever way it goes:
//!
//! * `opcua.msg_type:MSG` — the message type (`HEL`, `ACK`, `ERR`, `RHE`, `OPN`, `MSG`,
//!   `CLO`), or a comma-separated list;
//! * `opcua.service:Write` — the service a chunk begins, by name (its request and its response;
//!   `ServiceFault` too) or by encoding id (`673`, the request alone); a list matches any;
//! * `opcua.node:"ns=2\;s=Setpoint"` — some node a request reads, writes, browses, calls
//!   (object or method) or monitors, in the standard string form (its `;` escaped, as every
//!   `;` in a rule option is);
//! * `opcua.token:anonymous` — the identity token an ActivateSession request presents
//!   (`anonymous`, `username`, `certificate`, `issued`);
//! * `opcua.session:anonymous` — the identity the request's session was activated as, when
//!   the activation was seen;
//! * `opcua.status:BadUserAccessDenied` — a response's service result or an Error message's
//!   status: by name, as a number (`0x801f0000`), or by class (`good`, `uncertain`, `bad`); a
//!   list matches any;
//! * `opcua.security_policy:None` — the policy an OpenSecureChannel names (the part of its URI
//!   after `#`);
//! * `opcua.encrypted:yes|no` — whether the chunk's contents are encrypted.

use decoders::opcua::{
    service_by_id, service_by_name, status_by_name, MessageType, Protection, TokenType, Transaction,
};

use crate::num::yes_no;
use crate::KeywordError;

/// An OPC UA keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    MessageType(Vec<MessageType>),
    /// Services by the request's encoding id (either way), or exact encoding ids.
    Service {
        requests: Vec<u32>,
        ids: Vec<u32>,
    },
    Node(String),
    Token(TokenType),
    Session(TokenType),
    Status(Vec<Status>),
    SecurityPolicy(String),
    Encrypted(bool),
}

/// A StatusCode test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The code (its top 16 bits).
    Code(u32),
    Good,
    Uncertain,
    Bad,
}

impl Status {
    fn matches(self, s: u32) -> bool {
        match self {
            Status::Code(c) => s & 0xffff_0000 == c,
            Status::Good => s >> 30 == 0,
            Status::Uncertain => s >> 30 == 1,
            Status::Bad => s >> 30 >= 2,
        }
    }
}

fn number(v: &str) -> Option<u32> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

fn token(v: &str) -> Result<TokenType, KeywordError> {
    TokenType::from_name(v).ok_or_else(|| KeywordError::unknown("OPC UA identity token type", v))
}

impl Field {
    pub const KEYWORDS: [&'static str; 8] = [
        "opcua.msg_type",
        "opcua.service",
        "opcua.node",
        "opcua.token",
        "opcua.session",
        "opcua.status",
        "opcua.security_policy",
        "opcua.encrypted",
    ];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim().trim_matches('"');
        let list = || v.split(',').map(str::trim);
        Ok(match keyword {
            "opcua.msg_type" => Field::MessageType(
                list()
                    .map(|t| {
                        MessageType::from_code(t.to_ascii_uppercase().as_bytes())
                            .ok_or_else(|| KeywordError::unknown("OPC UA message type", t))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "opcua.service" => {
                let (mut requests, mut ids) = (Vec::new(), Vec::new());
                for s in list() {
                    match number(s) {
                        Some(id) if service_by_id(id).is_some() => ids.push(id),
                        Some(_) => return Err(KeywordError::unknown("OPC UA service", s)),
                        None => requests.push(
                            service_by_name(s)
                                .ok_or_else(|| KeywordError::unknown("OPC UA service", s))?
                                .request,
                        ),
                    }
                }
                Field::Service { requests, ids }
            }
            "opcua.node" => {
                if v.is_empty() {
                    return Err(KeywordError::Form {
                        keyword: "opcua.node",
                        form: "a node id such as \"ns=2;s=Setpoint\" or \"i=85\"",
                    });
                }
                // A rule escapes the node id's semicolons (`ns=2\\;s=Setpoint`).
                Field::Node(v.replace("\\;", ";"))
            }
            "opcua.token" => Field::Token(token(v)?),
            "opcua.session" => Field::Session(token(v)?),
            "opcua.status" => Field::Status(
                list()
                    .map(|s| match s.to_ascii_lowercase().as_str() {
                        "good" => Ok(Status::Good),
                        "uncertain" => Ok(Status::Uncertain),
                        "bad" => Ok(Status::Bad),
                        _ => number(s)
                            .or_else(|| status_by_name(s))
                            .map(|c| Status::Code(c & 0xffff_0000))
                            .ok_or_else(|| KeywordError::unknown("OPC UA status code", s)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "opcua.security_policy" => Field::SecurityPolicy(v.to_owned()),
            _ => Field::Encrypted(yes_no("opcua.encrypted", v)?),
        })
    }

    pub fn matches(&self, t: &Transaction<'_>) -> bool {
        let m = &t.message;
        match self {
            Field::MessageType(k) => k.contains(&m.kind),
            Field::Service { requests, ids } => t.service.is_some_and(|s| {
                let id = s.type_id.standard();
                id.is_some_and(|id| ids.contains(&id))
                    || s.info.is_some_and(|(i, _)| requests.contains(&i.request))
            }),
            Field::Node(n) => t
                .request()
                .is_some_and(|s| s.body.nodes().any(|node| node.is(n))),
            Field::Token(k) => t.request().is_some_and(|s| {
                matches!(s.body, decoders::opcua::Body::ActivateSession(tok) if tok.kind == Some(*k))
            }),
            Field::Session(k) => t.session.is_some_and(|w| w.token == Some(*k)),
            Field::Status(list) => {
                let status = t
                    .service
                    .and_then(|s| s.result())
                    .or_else(|| m.error().map(|e| e.status));
                status.is_some_and(|s| list.iter().any(|l| l.matches(s)))
            }
            Field::SecurityPolicy(p) => m
                .asymmetric()
                .is_some_and(|a| a.policy_name().eq_ignore_ascii_case(p.as_bytes())),
            Field::Encrypted(e) => {
                m.kind.is_secure_channel() && (m.protection == Protection::Encrypted) == *e
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoders::opcua::{Identity, OpcuaParser, Pdu};
    use decoders::{Direction, Parsed, StreamParser};

    /// A Write request of ns=2;s=Setpoint := 510.0, node-opcua to asyncua.
    const WRITE: &str = "4d53474660000000060000000d00000009000000090000000100a1020100e903300540a54386dd01090000000000000000000000983a00000000000100000003020008000000536574706f696e740d000000ffffffff010b0000000000e07f40";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn tx(bytes: &[u8]) -> Transaction<'_> {
        match OpcuaParser::default().parse(Direction::ToServer, bytes) {
            Parsed::Pdu {
                pdu: Pdu::Message(m),
                ..
            } => Transaction::new(m),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keywords_on_a_write() {
        let b = unhex(WRITE);
        let mut t = tx(&b);
        let f = |t: &Transaction<'_>, k: &str, v: &str| Field::parse(k, v).unwrap().matches(t);
        assert!(f(&t, "opcua.msg_type", "MSG"));
        assert!(f(&t, "opcua.msg_type", "hel, msg"));
        assert!(!f(&t, "opcua.msg_type", "OPN"));
        assert!(f(&t, "opcua.service", "Write"));
        assert!(f(&t, "opcua.service", "read,write"));
        assert!(f(&t, "opcua.service", "673"));
        assert!(!f(&t, "opcua.service", "676"));
        assert!(!f(&t, "opcua.service", "Call"));
        assert!(f(&t, "opcua.node", "\"ns=2;s=Setpoint\""));
        assert!(f(&t, "opcua.node", "\"ns=2\\;s=Setpoint\""));
        assert!(!f(&t, "opcua.node", "ns=2;s=Setpoin"));
        assert!(!f(&t, "opcua.node", "ns=2;s=Setpoints"));
        assert!(!f(&t, "opcua.token", "anonymous"));
        assert!(!f(&t, "opcua.status", "bad"));
        assert!(f(&t, "opcua.encrypted", "no"));
        assert!(!f(&t, "opcua.session", "anonymous"));
        t.session = Some(Identity {
            token: Some(TokenType::Anonymous),
            user: b"",
        });
        assert!(f(&t, "opcua.session", "anonymous"));
        assert!(!f(&t, "opcua.session", "username"));
        for (k, v) in [
            ("opcua.msg_type", "XYZ"),
            ("opcua.service", "Frobnicate"),
            ("opcua.service", "632"),
            ("opcua.token", "password"),
            ("opcua.status", "BadMood"),
            ("opcua.encrypted", "maybe"),
            ("opcua.node", "\"\""),
        ] {
            assert!(Field::parse(k, v).is_err(), "{k}:{v}");
        }
    }

    #[test]
    fn status_classes_and_codes() {
        let s = |v: &str| match Field::parse("opcua.status", v).unwrap() {
            Field::Status(l) => l,
            other => panic!("{other:?}"),
        };
        assert!(s("BadUserAccessDenied")[0].matches(0x801f_0000));
        assert!(s("0x801F0000")[0].matches(0x801f_0000));
        assert!(s("bad")[0].matches(0x801f_0000));
        assert!(!s("good")[0].matches(0x801f_0000));
        assert!(s("good")[0].matches(0));
        assert!(s("uncertain")[0].matches(0x4000_0000));
    }
}
