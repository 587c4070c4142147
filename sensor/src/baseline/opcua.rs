//! What an OPC UA pair's baseline holds: the services the client calls, the identities it
//! activates sessions as (token types and user names), the security policies of the channels
//! it opens, the nodes it reads, writes, browses, calls and monitors, and the envelope of the
//! values it writes. A server's session and endpoint responses give its identity: application
//! name, URI and product URI.
//!
//! Encrypted chunks teach nothing but the policy their channel was opened with; responses
//! teach nothing else of the pair (their services are their requests').

use decoders::opcua::service::Application;
use decoders::opcua::{Body, Kind as ServiceKind, MessageType, NodeId, TokenType, Transaction};
use serde::{Deserialize, Serialize};

use super::anomaly::{Finding, Kind};
use super::judge::{detail, fact_key, Judge, Request};
use super::model::{Activity, Identity, OpKey, Protocol, Values};

/// Nodes kept per pair; a server has thousands, a client uses tens.
const MAX_NODES: usize = 256;
/// User names kept per pair.
const MAX_USERS: usize = 16;
/// Security policies kept per pair.
const MAX_POLICIES: usize = 8;
/// Nodes read from one request.
const MAX_NODES_PER_REQUEST: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Facts {
    /// Encoding ids of the service requests the client sends.
    pub services: Vec<u32>,
    /// Identity token types sessions are activated with: 0 anonymous, 1 user name,
    /// 2 certificate, 3 issued.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    /// Security policies of the channels opened (`None`, `Basic256Sha256`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Nodes by their standard string form, in the order first seen; `values` is keyed by
    /// their place here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
    /// Envelopes of the values written to nodes, by the node's place in `nodes`.
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub values: Values,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: String,
    /// Read, browsed or monitored.
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
    /// Called as a method, or the object a method is called on.
    #[serde(default)]
    pub call: bool,
}

impl Facts {
    pub fn points(&self) -> usize {
        self.values.len()
    }
}

/// What a kind of service does.
pub fn activity(kind: ServiceKind) -> Activity {
    match kind {
        ServiceKind::Discovery => Activity::Identify,
        ServiceKind::Read => Activity::Read,
        ServiceKind::Write => Activity::Write,
        ServiceKind::Call => Activity::Control,
        ServiceKind::NodeManagement => Activity::Program,
        ServiceKind::Session | ServiceKind::Fault => Activity::Other,
    }
}

/// A server's description of itself. `true` when the identity changed.
fn identify(identity: &mut Identity, app: &Application<'_>) -> bool {
    let mut changed = Identity::set(&mut identity.name, app.name);
    changed |= Identity::set(&mut identity.product, app.product_uri);
    changed |= Identity::set(&mut identity.application_uri, app.uri);
    changed
}

/// How a node is used.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Use {
    Read,
    Write,
    Call,
}

/// Learn or check one chunk. The identity is the server's. Returns the request made, if any,
/// and whether the identity changed.
pub fn observe(
    facts: &mut Facts,
    identity: &mut Identity,
    t: &Transaction<'_>,
    j: &mut Judge<'_>,
) -> (Option<Request>, bool) {
    // An OpenSecureChannel names its policy in clear, encrypted or not (and so does its
    // response).
    if t.message.kind == MessageType::Open {
        if let Some(a) = t.message.asymmetric() {
            policy(facts, &String::from_utf8_lossy(a.policy_name()), j);
        }
    }
    let Some(s) = t.service else {
        return (None, false);
    };
    let Some((info, response)) = s.info else {
        return (None, false);
    };
    if response {
        let server = match s.body {
            Body::CreateSessionResponse { endpoints, .. } | Body::Endpoints(endpoints) => {
                endpoints.iter().next().map(|e| e.server)
            }
            _ => None,
        };
        return (None, server.is_some_and(|a| identify(identity, &a)));
    }
    j.from_server = false;
    let act = activity(info.kind);
    j.function(
        &mut facts.services,
        info.request,
        act,
        "opcua.service",
        || format!("OPC UA {} not learned for this pair", info.name),
    );
    match s.body {
        Body::ActivateSession(tok) => {
            if let Some(k) = tok.kind {
                let code = TokenType::ALL.iter().position(|x| *x == k).unwrap_or(0) as u8;
                let fresh = std::mem::replace(&mut j.fresh_function, false);
                j.member(
                    &mut facts.identities,
                    code,
                    Kind::NewFunction,
                    "opcua.identity",
                    || {
                        format!(
                            "OPC UA session activated as {} not learned for this pair",
                            k.name()
                        )
                    },
                );
                j.fresh_function = fresh;
            }
            if tok.kind == Some(TokenType::UserName) {
                user(facts, &String::from_utf8_lossy(tok.user), j);
            }
        }
        Body::Write(w) => {
            for v in w.iter().take(MAX_NODES_PER_REQUEST) {
                let i = node(facts, v.node, Use::Write, j);
                if let (Some(i), Some(x)) = (i, v.value.and_then(|v| v.number())) {
                    let (nodes, values) = (&facts.nodes, &mut facts.values);
                    let id = &nodes[i].id;
                    let d = detail(&[fact_key(id)]);
                    j.value(values, i as u32, x, "opcua.value", d, || {
                        format!("OPC UA node {id} written {x} outside the learned envelope")
                    });
                }
            }
        }
        Body::Call(c) => {
            for m in c.iter().take(MAX_NODES_PER_REQUEST) {
                node(facts, m.method, Use::Call, j);
            }
        }
        _ => {
            for n in s.body.nodes().take(MAX_NODES_PER_REQUEST) {
                node(facts, n, Use::Read, j);
            }
        }
    }
    let request = Request {
        function: u16::try_from(info.request).unwrap_or(u16::MAX),
        activity: act,
        op: OpKey::new(
            Protocol::Opcua,
            u16::try_from(info.request).unwrap_or(u16::MAX),
        ),
    };
    (Some(request), false)
}

/// A security policy or user name: reported when new even when the service is too (it says
/// more than the service does).
fn policy(facts: &mut Facts, name: &str, j: &mut Judge<'_>) {
    let fresh = std::mem::replace(&mut j.fresh_function, false);
    j.name(
        &mut facts.policies,
        name,
        MAX_POLICIES,
        Kind::NewFunction,
        "opcua.security_policy",
        || format!("OPC UA secure channel with policy {name} not learned for this pair"),
    );
    j.fresh_function = fresh;
}

fn user(facts: &mut Facts, name: &str, j: &mut Judge<'_>) {
    let fresh = std::mem::replace(&mut j.fresh_function, false);
    j.name(
        &mut facts.users,
        name,
        MAX_USERS,
        Kind::NewFunction,
        "opcua.user",
        || format!("OPC UA session as user {name} not learned for this pair"),
    );
    j.fresh_function = fresh;
}

/// A node used: learned, reported when new or newly written or called; its place in `nodes`.
fn node(facts: &mut Facts, node: NodeId<'_>, how: Use, j: &mut Judge<'_>) -> Option<usize> {
    let verb = match how {
        Use::Read => "read",
        Use::Write => "written",
        Use::Call => "called",
    };
    let (i, new) = match facts.nodes.iter().position(|n| node.is(&n.id)) {
        Some(i) => (i, false),
        None => {
            let id = node.to_string();
            let id = id.as_str();
            j.report(|| {
                let learned: Vec<&str> = facts.nodes.iter().map(|n| n.id.as_str()).collect();
                Finding::new(
                    Kind::AddressOutsideRange,
                    "opcua.node",
                    detail(&[fact_key(id)]),
                    format!("OPC UA node {id} {verb}, not learned for this pair"),
                )
                .values(id, learned)
            });
            if facts.nodes.len() >= MAX_NODES {
                j.dropped.points += 1;
                return None;
            }
            facts.nodes.push(Node {
                id: id.to_owned(),
                read: false,
                write: false,
                call: false,
            });
            (facts.nodes.len() - 1, true)
        }
    };
    let n = &mut facts.nodes[i];
    let id = n.id.as_str();
    let (flag, fact) = match how {
        Use::Read => (&mut n.read, None),
        Use::Write => (&mut n.write, Some("opcua.node_write")),
        Use::Call => (&mut n.call, Some("opcua.node_call")),
    };
    if !*flag {
        *flag = true;
        if let (false, Some(fact)) = (new, fact) {
            j.report(|| {
                Finding::new(
                    Kind::AddressOutsideRange,
                    fact,
                    detail(&[fact_key(id)]),
                    format!("OPC UA node {id} {verb}, where it was only read before"),
                )
                .values(id, "read")
            });
        }
    }
    Some(i)
}
