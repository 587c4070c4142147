//! OPC UA binary over TCP (OPC 10000-6, 7: UA Connection Protocol and UA Secure
//! Conversation), port 4840.
//!
//! Every message chunk starts with an 8-octet header — message type (`HEL`, `ACK`, `ERR`,
//! `RHE`, `OPN`, `MSG`, `CLO`), chunk type (`F` final, `C` more to come, `A` abort) and size
//! — which frames the stream. A secure-channel chunk then names its channel and security
//! token (or, opening a channel, its security policy and certificates), a sequence number and
//! request id, and carries a service request or response.
//!
//! A channel secured with a policy other than `None` encrypts its `OPN` bodies and, in
//! `SignAndEncrypt` mode, every chunk after its token id. Such chunks are recognised and
//! reported as encrypted; a `Sign`-mode channel's chunks are read, their body being in
//! clear.
//!
//! * [`binary`]: the built-in types of the Binary encoding.
//! * [`service`]: the service table and the bodies read: sessions, identity tokens,
//!   endpoints, Read, Write, Browse, Call, monitored items.

pub mod binary;
pub mod service;

pub use binary::{DataValue, Identifier, Items, NodeId, Reader, Value};
pub use service::{
    attribute_name, service_by_id, service_by_name, status_by_name, status_name, Body, Header,
    Kind, Service, ServiceInfo, TokenType, VALUE_ATTRIBUTE,
};

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered port.
pub const PORT: u16 = 4840;

/// The message header: type, chunk type, size.
pub const HEADER_LEN: usize = 8;

/// The most of a chunk kept and decoded; the rest of a larger one is stepped over. Stacks
/// negotiate chunks of 8 KiB to 64 KiB; every header, identity and node list of a request
/// lies in its first chunk's front.
pub const MAX_KEPT: usize = 64 * 1024;

/// Chunks larger than this are not OPC UA (a message is chunked; its chunks are bounded by
/// the receive buffer the peers agree on, which stacks cap well below).
pub const MAX_CHUNK: u32 = 16 << 20;

/// The security policy URI of an unsecured channel.
pub const POLICY_NONE: &[u8] = b"http://opcfoundation.org/UA/SecurityPolicy#None";

/// The kinds of message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    Hello,
    Acknowledge,
    Error,
    ReverseHello,
    Open,
    Message,
    Close,
}

impl MessageType {
    pub const ALL: [MessageType; 7] = [
        MessageType::Hello,
        MessageType::Acknowledge,
        MessageType::Error,
        MessageType::ReverseHello,
        MessageType::Open,
        MessageType::Message,
        MessageType::Close,
    ];

    /// The three letters on the wire.
    pub fn code(self) -> &'static str {
        match self {
            MessageType::Hello => "HEL",
            MessageType::Acknowledge => "ACK",
            MessageType::Error => "ERR",
            MessageType::ReverseHello => "RHE",
            MessageType::Open => "OPN",
            MessageType::Message => "MSG",
            MessageType::Close => "CLO",
        }
    }

    pub fn from_code(code: &[u8]) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code().as_bytes() == code)
    }

    /// Whether the message belongs to a secure channel (has a channel id, security and
    /// sequence headers), rather than to the connection protocol.
    pub fn is_secure_channel(self) -> bool {
        matches!(
            self,
            MessageType::Open | MessageType::Message | MessageType::Close
        )
    }
}

/// Why the front of a stream is not an OPC UA chunk: its framing cannot be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Not one of the seven message types.
    MessageType([u8; 3]),
    /// Not `F`, `C` or `A` (or not `F` for a connection-protocol message).
    ChunkType(u8),
    /// A size below the header's or above [`MAX_CHUNK`].
    Size(u32),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MessageType(t) => write!(f, "message type {:02x?} is not OPC UA", t),
            Error::ChunkType(c) => write!(f, "chunk type {c:#04x} is not F, C or A"),
            Error::Size(n) => write!(f, "message size {n} outside 8..={MAX_CHUNK}"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::MessageType(_) => "opcua.invalid_message_type",
            Error::ChunkType(_) => "opcua.invalid_chunk_type",
            Error::Size(_) => "opcua.invalid_size",
        }
    }
}

/// What is odd about a well-framed chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Anomaly {
    /// The chunk is too short for its message type's fields.
    Truncated,
    /// A readable service message whose body type is not a standard service.
    UnknownService(u32),
    /// A chunk aborting its message (`A`).
    Aborted,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::Truncated => f.write_str("message too short for its fields"),
            Anomaly::UnknownService(id) => write!(f, "body type i={id} is not a service"),
            Anomaly::Aborted => f.write_str("the sender aborted the message"),
        }
    }
}

impl AnomalyName for Anomaly {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Anomaly::Truncated => "opcua.truncated",
            Anomaly::UnknownService(_) => "opcua.unknown_service",
            Anomaly::Aborted => "opcua.aborted",
        }
    }
}

/// How a secure-channel chunk's contents could be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protection {
    /// In clear: read.
    Clear,
    /// Encrypted (a secured `OPN`, or a `SignAndEncrypt` channel's chunk): not readable.
    Encrypted,
}

/// A Hello: what the client can take, and the endpoint it asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hello<'a> {
    pub version: u32,
    pub receive_buffer: u32,
    pub send_buffer: u32,
    pub max_message: u32,
    pub max_chunks: u32,
    pub endpoint_url: &'a [u8],
}

/// An Acknowledge: the limits the server sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acknowledge {
    pub version: u32,
    pub receive_buffer: u32,
    pub send_buffer: u32,
    pub max_message: u32,
    pub max_chunks: u32,
}

/// An Error message, or an aborted chunk's reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorMessage<'a> {
    pub status: u32,
    pub reason: &'a [u8],
}

/// A Reverse Hello: a server behind a firewall calling its client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReverseHello<'a> {
    pub server_uri: &'a [u8],
    pub endpoint_url: &'a [u8],
}

/// How an `OPN` chunk is secured: the policy, and whether certificates are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asymmetric<'a> {
    pub policy: &'a [u8],
    pub sender_certificate: &'a [u8],
    pub receiver_thumbprint: &'a [u8],
}

impl Asymmetric<'_> {
    /// The policy's short name: what follows `#` in its URI ("None", "Basic256Sha256").
    pub fn policy_name(&self) -> &[u8] {
        policy_name(self.policy)
    }
}

/// The short name of security policy URI `uri`.
pub fn policy_name(uri: &[u8]) -> &[u8] {
    match uri.iter().rposition(|&b| b == b'#') {
        Some(i) => &uri[i + 1..],
        None => uri,
    }
}

/// One message chunk, borrowed (its first [`MAX_KEPT`] octets).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Message<'a> {
    pub kind: MessageType,
    /// `F`, `C` or `A`.
    pub chunk: u8,
    /// The size the header states.
    pub size: u32,
    /// The chunk as kept, header included.
    pub bytes: &'a [u8],
    /// Whether the chunk continues a message begun by an earlier `C` chunk.
    pub continued: bool,
    pub protection: Protection,
}

impl<'a> Message<'a> {
    fn reader(&self) -> Reader<'a> {
        Reader::new(&self.bytes[HEADER_LEN..])
    }

    pub fn hello(&self) -> Option<Hello<'a>> {
        if self.kind != MessageType::Hello {
            return None;
        }
        let mut r = self.reader();
        Some(Hello {
            version: r.u32()?,
            receive_buffer: r.u32()?,
            send_buffer: r.u32()?,
            max_message: r.u32()?,
            max_chunks: r.u32()?,
            endpoint_url: r.bytes()?,
        })
    }

    pub fn acknowledge(&self) -> Option<Acknowledge> {
        if self.kind != MessageType::Acknowledge {
            return None;
        }
        let mut r = self.reader();
        Some(Acknowledge {
            version: r.u32()?,
            receive_buffer: r.u32()?,
            send_buffer: r.u32()?,
            max_message: r.u32()?,
            max_chunks: r.u32()?,
        })
    }

    /// An Error message's status and reason; likewise an aborted chunk's (in clear after its
    /// security headers).
    pub fn error(&self) -> Option<ErrorMessage<'a>> {
        let mut r = match (self.kind, self.chunk) {
            (MessageType::Error, _) => self.reader(),
            (_, b'A') if self.protection == Protection::Clear => Reader::new(self.body()?),
            _ => return None,
        };
        Some(ErrorMessage {
            status: r.u32()?,
            reason: r.bytes()?,
        })
    }

    pub fn reverse_hello(&self) -> Option<ReverseHello<'a>> {
        if self.kind != MessageType::ReverseHello {
            return None;
        }
        let mut r = self.reader();
        Some(ReverseHello {
            server_uri: r.bytes()?,
            endpoint_url: r.bytes()?,
        })
    }

    /// A secure-channel chunk's channel id (0 in the first `OPN` request).
    pub fn channel_id(&self) -> Option<u32> {
        self.kind
            .is_secure_channel()
            .then(|| self.reader().u32())
            .flatten()
    }

    /// An `OPN` chunk's security header.
    pub fn asymmetric(&self) -> Option<Asymmetric<'a>> {
        self.security().and_then(|(a, _)| a)
    }

    /// A `MSG` or `CLO` chunk's security token id.
    pub fn token_id(&self) -> Option<u32> {
        match self.security()? {
            (None, r) => Reader::new(r).u32(),
            _ => None,
        }
    }

    /// The security header (asymmetric for `OPN`) and what follows it.
    fn security(&self) -> Option<(Option<Asymmetric<'a>>, &'a [u8])> {
        let mut r = self.reader();
        match self.kind {
            MessageType::Open => {
                r.u32()?;
                let a = Asymmetric {
                    policy: r.bytes()?,
                    sender_certificate: r.bytes()?,
                    receiver_thumbprint: r.bytes()?,
                };
                Some((Some(a), r.rest()))
            }
            MessageType::Message | MessageType::Close => {
                r.u32()?;
                Some((None, r.rest()))
            }
            _ => None,
        }
    }

    /// What follows the security header: the sequence header then the body; of a `MSG` or
    /// `CLO` the token id comes first.
    fn after_security(&self) -> Option<&'a [u8]> {
        let (a, rest) = self.security()?;
        match a {
            Some(_) => Some(rest),
            None => rest.get(4..),
        }
    }

    /// The sequence number and request id, when the chunk is in clear.
    pub fn sequence(&self) -> Option<(u32, u32)> {
        if self.protection != Protection::Clear {
            return None;
        }
        let mut r = Reader::new(self.after_security()?);
        Some((r.u32()?, r.u32()?))
    }

    /// The body after the sequence header, when the chunk is in clear.
    pub fn body(&self) -> Option<&'a [u8]> {
        if self.protection != Protection::Clear {
            return None;
        }
        self.after_security()?.get(8..)
    }

    /// The service request or response the chunk begins, when it is in clear and does.
    pub fn service(&self) -> Option<Service<'a>> {
        if self.continued || self.chunk == b'A' {
            return None;
        }
        Service::read(self.body()?)
    }

    /// The first thing wrong with the chunk, if anything is.
    pub fn anomaly(&self) -> Option<Anomaly> {
        if self.chunk == b'A' {
            return Some(Anomaly::Aborted);
        }
        let whole = match self.kind {
            MessageType::Hello => self.hello().is_some(),
            MessageType::Acknowledge => self.acknowledge().is_some(),
            MessageType::Error => self.error().is_some(),
            MessageType::ReverseHello => self.reverse_hello().is_some(),
            _ if self.protection == Protection::Encrypted => self.channel_id().is_some(),
            _ if self.continued => self.sequence().is_some(),
            _ => {
                let Some(s) = self.service() else {
                    return Some(Anomaly::Truncated);
                };
                if s.info.is_none() {
                    return Some(Anomaly::UnknownService(s.type_id.standard().unwrap_or(0)));
                }
                s.header.is_some()
            }
        };
        (!whole).then_some(Anomaly::Truncated)
    }
}

/// Who a session was activated as: the identity token's type and, for a user name token,
/// the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity<'a> {
    pub token: Option<TokenType>,
    pub user: &'a [u8],
}

/// A chunk with the service it begins read once, and the identity of the session a request
/// runs in when the activation was seen: what rules and the baseline inspect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transaction<'a> {
    pub message: Message<'a>,
    pub service: Option<Service<'a>>,
    pub session: Option<Identity<'a>>,
}

impl<'a> Transaction<'a> {
    pub fn new(message: Message<'a>) -> Self {
        Transaction {
            message,
            service: message.service(),
            session: None,
        }
    }

    /// A request's service, when the chunk begins one.
    pub fn request(&self) -> Option<&Service<'a>> {
        self.service.as_ref().filter(|s| !s.is_response())
    }
}

/// A chunk, or the tail of one past [`MAX_KEPT`], stepped over.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pdu<'a> {
    Message(Message<'a>),
    Skipped(usize),
}

fn header(buf: &[u8]) -> Result<Option<(MessageType, u8, u32)>, Error> {
    let n = buf.len().min(3);
    let Some(kind) = MessageType::from_code(&buf[..n]).filter(|_| n == 3) else {
        let known = MessageType::ALL
            .iter()
            .any(|t| t.code().as_bytes()[..n] == buf[..n]);
        if known {
            return Ok(None);
        }
        let mut t = [0; 3];
        t[..n].copy_from_slice(&buf[..n]);
        return Err(Error::MessageType(t));
    };
    let Some(&chunk) = buf.get(3) else {
        return Ok(None);
    };
    let chunk_ok = match kind.is_secure_channel() {
        true => matches!(chunk, b'F' | b'C' | b'A'),
        false => chunk == b'F',
    };
    if !chunk_ok {
        return Err(Error::ChunkType(chunk));
    }
    let Some(size) = buf.get(4..8) else {
        return Ok(None);
    };
    let size = u32::from_le_bytes(size.try_into().unwrap_or_default());
    if !(HEADER_LEN as u32..=MAX_CHUNK).contains(&size) {
        return Err(Error::Size(size));
    }
    Ok(Some((kind, chunk, size)))
}

/// Whether the first payload of a direction starts an OPC UA chunk. Only the message types
/// that open a connection or a channel, in upper case, are taken off the port: `HEL`, `ACK`,
/// `RHE`, `OPN`, `ERR`; and `MSG` whose size fits what has come.
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    if bytes.len() < HEADER_LEN {
        let n = bytes.len().min(3);
        let known = MessageType::ALL
            .iter()
            .any(|t| t.code().as_bytes()[..n] == bytes[..n]);
        return match known {
            true => Probe::NeedMore,
            false => Probe::NoMatch,
        };
    }
    match header(bytes) {
        Ok(Some((kind, _, size))) => {
            let fits = match kind {
                MessageType::Hello => size >= 32,
                MessageType::Acknowledge => size == 28,
                MessageType::Error => size >= 16,
                _ => size >= 24,
            };
            if fits {
                Probe::Match
            } else {
                Probe::NoMatch
            }
        }
        _ => Probe::NoMatch,
    }
}

/// Per direction: what the current message is, across its chunks.
#[derive(Clone, Copy, Debug, Default)]
struct Progress {
    /// Octets of a chunk past [`MAX_KEPT`] still to step over.
    skipping: u32,
    /// A `C` chunk came last: the next chunks continue its message.
    continuing: bool,
    /// How the message's first chunk read.
    protection: Option<Protection>,
}

/// Frames chunks of both directions and follows whether their channel is readable.
#[derive(Clone, Debug, Default)]
pub struct OpcuaParser {
    progress: [Progress; 2],
    /// The channel's policy is not `None` (its `OPN` said so): chunks whose front does not
    /// read as a service are taken as encrypted.
    secured: bool,
}

/// Whether a secured channel's chunk reads as a service message in clear (a `Sign`-mode
/// channel): a standard service type after the sequence header. Ciphertext almost never
/// spells one.
fn reads_clear(m: &Message<'_>) -> bool {
    let clear = Message {
        protection: Protection::Clear,
        ..*m
    };
    if m.kind == MessageType::Close || m.chunk == b'A' {
        return clear
            .body()
            .is_some_and(|b| b.len() >= 2 && b[0] == 0x01 && b[1] == 0);
    }
    let Some(body) = clear.body() else {
        return false;
    };
    let mut r = Reader::new(body);
    matches!(r.u8(), Some(0x01) | Some(0x02))
        && Reader::new(body)
            .node_id()
            .and_then(|n| n.standard())
            .and_then(service_by_id)
            .is_some()
}

impl StreamParser for OpcuaParser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Opcua;
    const MAX_PDU: usize = MAX_KEPT;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        let p = &mut self.progress[dir.index()];
        if p.skipping > 0 {
            let n = buf.len().min(p.skipping as usize);
            p.skipping -= n as u32;
            return Parsed::Pdu {
                pdu: Pdu::Skipped(n),
                len: n,
            };
        }
        let (kind, chunk, size) = match header(buf) {
            Err(e) => return Parsed::Invalid(e),
            Ok(None) => {
                return Parsed::Incomplete {
                    needed: HEADER_LEN - buf.len(),
                }
            }
            Ok(Some(h)) => h,
        };
        let kept = (size as usize).min(MAX_KEPT);
        let Some(bytes) = buf.get(..kept) else {
            return Parsed::Incomplete {
                needed: kept - buf.len(),
            };
        };
        p.skipping = size - kept as u32;
        let continued = kind == MessageType::Message && p.continuing;
        let mut m = Message {
            kind,
            chunk,
            size,
            bytes,
            continued,
            protection: Protection::Clear,
        };
        if kind == MessageType::Open {
            // The policy is in clear; under any but None the rest is encrypted.
            let policy = m.asymmetric().map(|a| a.policy);
            self.secured = policy.is_some_and(|p| p != POLICY_NONE && !p.is_empty());
            if self.secured {
                m.protection = Protection::Encrypted;
            }
        } else if kind.is_secure_channel() && self.secured {
            m.protection = match (continued, p.protection) {
                (true, Some(first)) => first,
                _ if reads_clear(&m) => Protection::Clear,
                _ => Protection::Encrypted,
            };
        }
        if kind == MessageType::Message {
            if !continued {
                p.protection = Some(m.protection);
            }
            p.continuing = chunk == b'C';
        }
        Parsed::Pdu {
            pdu: Pdu::Message(m),
            len: kept,
        }
    }

    /// Inside a chunk's skipped tail, a gap is more of what is skipped.
    fn gap(&mut self, dir: Direction, len: u64) -> Option<u64> {
        let p = &mut self.progress[dir.index()];
        if u64::from(p.skipping) < len {
            return None;
        }
        p.skipping -= len as u32;
        Some(len)
    }

    /// After a gap: resume at a chunk that starts with a whole, sound header.
    fn resync(&mut self, dir: Direction, buf: &[u8]) -> bool {
        self.progress[dir.index()] = Progress::default();
        matches!(header(buf), Ok(Some(_)))
    }
}

#[cfg(test)]
mod tests;
