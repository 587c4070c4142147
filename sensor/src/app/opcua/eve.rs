//! The `opcua` event: the way the chunk went, its header (message and chunk type, size), the
//! connection protocol's fields (Hello, Acknowledge, Error, Reverse Hello), a secure-channel
//! chunk's channel, token, sequence number and request id or, encrypted, only that; and the
//! service it begins — type, request handle, service result, the session's identity — with
//! what the body says: endpoints and application descriptions, identity tokens, the nodes read,
//! written, browsed, called and monitored, and values. Written straight from the borrowed
//! chunk, allocating nothing; lists stop at [`MAX_LISTED`] entries.

use decoders::opcua::binary::builtin_name;
use decoders::opcua::service::{
    application_kind_name, security_mode_name, Application, Endpoint, ServiceInfo,
};
use decoders::opcua::{
    attribute_name, policy_name, status_name, Body as ServiceBody, Identity, Message, NodeId,
    Protection, Service, TokenType, Transaction, Value,
};
use decoders::Direction;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::app::text::Text;

/// Entries written of one list (nodes, endpoints, results).
pub const MAX_LISTED: usize = 64;

#[derive(Serialize)]
pub struct Body<'a> {
    pub opcua: Opcua<'a>,
}

/// A chunk and the way it went.
pub struct Opcua<'a>(pub &'a Transaction<'a>, pub Direction);

impl Serialize for Opcua<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let msg = &t.message;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("direction", crate::app::direction_name(self.1))?;
        m.serialize_entry("message_type", msg.kind.code())?;
        m.serialize_entry("chunk", &char::from(msg.chunk))?;
        m.serialize_entry("size", &msg.size)?;
        if let Some(h) = msg.hello() {
            m.serialize_entry(
                "hello",
                &Limits {
                    version: h.version,
                    receive_buffer: h.receive_buffer,
                    send_buffer: h.send_buffer,
                    max_message: h.max_message,
                    max_chunks: h.max_chunks,
                    endpoint_url: Some(Text(h.endpoint_url)),
                },
            )?;
        }
        if let Some(a) = msg.acknowledge() {
            m.serialize_entry(
                "acknowledge",
                &Limits {
                    version: a.version,
                    receive_buffer: a.receive_buffer,
                    send_buffer: a.send_buffer,
                    max_message: a.max_message,
                    max_chunks: a.max_chunks,
                    endpoint_url: None,
                },
            )?;
        }
        if let Some(e) = msg.error() {
            m.serialize_entry("error", &Status(e.status))?;
            m.serialize_entry("reason", &Text(e.reason))?;
        }
        if let Some(r) = msg.reverse_hello() {
            m.serialize_entry("server_uri", &Text(r.server_uri))?;
            m.serialize_entry("endpoint_url", &Text(r.endpoint_url))?;
        }
        if msg.kind.is_secure_channel() {
            secure_channel(&mut m, msg)?;
        }
        if let Some(svc) = &t.service {
            m.serialize_entry("service", &ServiceLog(svc, t.session))?;
        }
        m.end()
    }
}

fn secure_channel<M: SerializeMap>(m: &mut M, msg: &Message<'_>) -> Result<(), M::Error> {
    if let Some(id) = msg.channel_id() {
        m.serialize_entry("channel_id", &id)?;
    }
    if let Some(a) = msg.asymmetric() {
        m.serialize_entry("security_policy", &Text(a.policy_name()))?;
        m.serialize_entry("security_policy_uri", &Text(a.policy))?;
        m.serialize_entry("sender_certificate", &!a.sender_certificate.is_empty())?;
    }
    if let Some(id) = msg.token_id() {
        m.serialize_entry("token_id", &id)?;
    }
    m.serialize_entry("encrypted", &(msg.protection == Protection::Encrypted))?;
    if let Some((seq, req)) = msg.sequence() {
        m.serialize_entry("sequence", &seq)?;
        m.serialize_entry("request_id", &req)?;
    }
    if msg.continued {
        m.serialize_entry("continued", &true)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct Limits<'a> {
    version: u32,
    receive_buffer: u32,
    send_buffer: u32,
    max_message: u32,
    max_chunks: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint_url: Option<Text<'a>>,
}

/// A StatusCode, with its name when it has a known one.
struct Status(u32);

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("code", &self.0)?;
        if let Some(n) = status_name(self.0) {
            m.serialize_entry("name", n)?;
        }
        m.end()
    }
}

struct Node<'a>(NodeId<'a>);

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

struct ServiceLog<'a>(&'a Service<'a>, Option<Identity<'a>>);

impl Serialize for ServiceLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let svc = self.0;
        let mut m = s.serialize_map(None)?;
        match svc.type_id.standard() {
            Some(id) => m.serialize_entry("type_id", &id)?,
            None => m.serialize_entry("type_id", &Node(svc.type_id))?,
        }
        if let Some((ServiceInfo { name, .. }, response)) = svc.info {
            m.serialize_entry("name", name)?;
            m.serialize_entry("response", &response)?;
        }
        if let Some(h) = svc.handle() {
            m.serialize_entry("request_handle", &h)?;
        }
        if let Some(r) = svc.result() {
            m.serialize_entry("result", &Status(r))?;
        }
        if let Some(who) = self.1 {
            m.serialize_entry("session", &Who(who))?;
        }
        body(&mut m, &svc.body)?;
        m.end()
    }
}

struct Who<'a>(Identity<'a>);

impl Serialize for Who<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("identity", self.0.token.map_or("other", |t| t.name()))?;
        if !self.0.user.is_empty() {
            m.serialize_entry("user", &Text(self.0.user))?;
        }
        m.end()
    }
}

fn body<M: SerializeMap>(m: &mut M, b: &ServiceBody<'_>) -> Result<(), M::Error> {
    match *b {
        ServiceBody::OpenSecureChannel {
            protocol_version,
            request_type,
            security_mode,
            lifetime,
        } => {
            m.serialize_entry("protocol_version", &protocol_version)?;
            let kind = if request_type == 1 { "renew" } else { "issue" };
            m.serialize_entry("request_type", kind)?;
            m.serialize_entry("security_mode", security_mode_name(security_mode))?;
            m.serialize_entry("lifetime", &lifetime)?;
        }
        ServiceBody::OpenSecureChannelResponse {
            protocol_version,
            channel_id,
            token_id,
            lifetime,
        } => {
            m.serialize_entry("protocol_version", &protocol_version)?;
            m.serialize_entry("channel_id", &channel_id)?;
            m.serialize_entry("token_id", &token_id)?;
            m.serialize_entry("lifetime", &lifetime)?;
        }
        ServiceBody::GetEndpoints { url } => m.serialize_entry("endpoint_url", &Text(url))?,
        ServiceBody::Endpoints(e) => m.serialize_entry("endpoints", &List(e.iter().map(Ep)))?,
        ServiceBody::CreateSession {
            client,
            endpoint_url,
            session_name,
            certificate,
            timeout,
        } => {
            m.serialize_entry("client", &App(client))?;
            m.serialize_entry("endpoint_url", &Text(endpoint_url))?;
            m.serialize_entry("session_name", &Text(session_name))?;
            m.serialize_entry("client_certificate", &certificate)?;
            finite(m, "session_timeout", timeout)?;
        }
        ServiceBody::CreateSessionResponse {
            session_id,
            timeout,
            endpoints,
        } => {
            m.serialize_entry("session_id", &Node(session_id))?;
            finite(m, "session_timeout", timeout)?;
            if let Some(e) = endpoints.iter().next() {
                m.serialize_entry("server", &App(e.server))?;
            }
            m.serialize_entry("endpoints", &List(endpoints.iter().map(Ep)))?;
        }
        ServiceBody::ActivateSession(t) => {
            let user = t.kind == Some(TokenType::UserName);
            let tok = Token {
                kind: t.kind.map_or("other", |k| k.name()),
                policy_id: Text(t.policy_id),
                user: user.then_some(Text(t.user)),
                password_encrypted: user.then_some(t.password_encrypted),
            };
            m.serialize_entry("identity_token", &tok)?;
        }
        ServiceBody::Read { max_age, nodes } => {
            finite(m, "max_age", max_age)?;
            let list = nodes.iter().map(|v| NodeAttr(v.node, v.attribute, None));
            m.serialize_entry("nodes", &List(list))?;
        }
        ServiceBody::ReadResults(r) => {
            let list = r.iter().map(|d| Val(d.value, Some(d.status)));
            m.serialize_entry("results", &List(list))?;
        }
        ServiceBody::Write(w) => {
            let list = w
                .iter()
                .map(|v| NodeAttr(v.node, v.attribute, Some(Val(v.value, None))));
            m.serialize_entry("nodes", &List(list))?;
        }
        ServiceBody::Results(r) => {
            m.serialize_entry("results", &List(r.iter().map(Status)))?;
        }
        ServiceBody::Browse(b) => {
            let list = b.iter().map(|v| Browsed(v.node, v.direction));
            m.serialize_entry("nodes", &List(list))?;
        }
        ServiceBody::Call(c) => {
            let list = c.iter().map(|c| Called {
                object_id: Node(c.object),
                method_id: Node(c.method),
                arguments: c.arguments,
                first_argument: c.first_argument.map(|v| Val(Some(v), None)),
            });
            m.serialize_entry("methods", &List(list))?;
        }
        ServiceBody::CallResults(r) => {
            m.serialize_entry("results", &List(r.iter().map(|r| Status(r.status))))?;
        }
        ServiceBody::CreateMonitoredItems {
            subscription,
            items,
        } => {
            m.serialize_entry("subscription_id", &subscription)?;
            let list = items
                .iter()
                .map(|i| NodeAttr(i.item.node, i.item.attribute, None));
            m.serialize_entry("nodes", &List(list))?;
        }
        ServiceBody::CreateSubscription {
            publishing_interval,
        } => finite(m, "publishing_interval", publishing_interval)?,
        ServiceBody::Other => {}
    }
    Ok(())
}

/// A float as JSON allows: not-a-number and infinities have no JSON form.
fn finite<M: SerializeMap>(m: &mut M, key: &'static str, x: f64) -> Result<(), M::Error> {
    if x.is_finite() {
        m.serialize_entry(key, &x)
    } else {
        m.serialize_entry(key, &Option::<f64>::None)
    }
}

/// The first [`MAX_LISTED`] items of an iterator, as a JSON array.
struct List<I>(I);

impl<I> Serialize for List<I>
where
    I: Iterator + Clone,
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for item in self.0.clone().take(MAX_LISTED) {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

struct App<'a>(Application<'a>);

impl Serialize for App<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("application_uri", &Text(a.uri))?;
        m.serialize_entry("product_uri", &Text(a.product_uri))?;
        m.serialize_entry("application_name", &Text(a.name))?;
        m.serialize_entry("application_type", application_kind_name(a.kind))?;
        m.end()
    }
}

struct Ep<'a>(Endpoint<'a>);

impl Serialize for Ep<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("endpoint_url", &Text(e.url))?;
        m.serialize_entry("security_mode", security_mode_name(e.security_mode))?;
        m.serialize_entry("security_policy", &Text(policy_name(e.security_policy)))?;
        let tokens = TokenType::ALL
            .into_iter()
            .filter(|t| e.token_types & 1 << *t as u8 != 0)
            .map(|t| t.name());
        m.serialize_entry("user_tokens", &List(tokens))?;
        m.serialize_entry("security_level", &e.security_level)?;
        m.end()
    }
}

#[derive(Serialize)]
struct Token<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    policy_id: Text<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_encrypted: Option<bool>,
}

/// A value read or written: the value when it is a scalar read here, its type, a read's
/// status.
struct Val<'a>(Option<Value<'a>>, Option<u32>);

impl Serialize for Val<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(v) = self.0 {
            value(&mut m, v)?;
        }
        if let Some(st) = self.1 {
            m.serialize_entry("status", &Status(st))?;
        }
        m.end()
    }
}

fn value<M: SerializeMap>(m: &mut M, v: Value<'_>) -> Result<(), M::Error> {
    match v {
        Value::Bool(b) => m.serialize_entry("value", &b)?,
        Value::Int(n) => m.serialize_entry("value", &n)?,
        Value::UInt(n) => m.serialize_entry("value", &n)?,
        Value::Float(x) => finite(m, "value", x)?,
        Value::String(t) => m.serialize_entry("value", &Text(t))?,
        Value::DateTime(t) => m.serialize_entry("value", &t)?,
        Value::Status(c) => m.serialize_entry("value", &Status(c))?,
        Value::NodeId(n) => m.serialize_entry("value", &Node(n))?,
        Value::Array { ty, len } => {
            m.serialize_entry("type", builtin_name(ty))?;
            return m.serialize_entry("array_length", &len);
        }
        Value::Null | Value::Other(_) => {}
    }
    if !matches!(v, Value::Int(_) | Value::UInt(_) | Value::Float(_)) {
        m.serialize_entry("type", v.type_name())?;
    }
    Ok(())
}

struct NodeAttr<'a>(NodeId<'a>, u32, Option<Val<'a>>);

impl Serialize for NodeAttr<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("node_id", &Node(self.0))?;
        match attribute_name(self.1) {
            Some(a) => m.serialize_entry("attribute", a)?,
            None => m.serialize_entry("attribute", &self.1)?,
        }
        if let Some(Val(Some(v), _)) = self.2 {
            value(&mut m, v)?;
        }
        m.end()
    }
}

struct Browsed<'a>(NodeId<'a>, u32);

impl Serialize for Browsed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("node_id", &Node(self.0))?;
        let d = match self.1 {
            0 => "forward",
            1 => "inverse",
            2 => "both",
            _ => "invalid",
        };
        m.serialize_entry("direction", d)?;
        m.end()
    }
}

#[derive(Serialize)]
struct Called<'a> {
    object_id: Node<'a>,
    method_id: Node<'a>,
    arguments: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_argument: Option<Val<'a>>,
}
