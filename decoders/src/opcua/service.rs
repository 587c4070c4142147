//! OPC UA services (OPC 10000-4, 5): each request and response is an ExtensionObject-like
//! body whose type is named by a namespace-0 NodeId, its `DefaultBinary` encoding id. The
//! table names every standard service; the bodies read here are those that say who connects,
//! how, and what they read, write, browse and call.

use super::binary::{DataValue, Decode, Items, NodeId, Reader, Value};

/// What a service does to the server, for rules and the baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Finding servers and their endpoints.
    Discovery,
    /// Secure channels and sessions.
    Session,
    /// Browsing and reading the address space, subscriptions and their notifications.
    Read,
    /// Writing attribute values and history.
    Write,
    /// Calling methods.
    Call,
    /// Adding and deleting nodes and references: changing what the server is.
    NodeManagement,
    /// A fault in place of a response.
    Fault,
}

/// A standard service type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServiceInfo {
    /// The service's name, as Part 4 spells it ("Read", "CreateSession").
    pub name: &'static str,
    /// The request's `DefaultBinary` encoding id; the response's is 3 above it.
    pub request: u32,
    pub kind: Kind,
}

macro_rules! services {
    ($($name:literal $id:literal $kind:ident,)*) => {
        /// Every standard service, by its request's encoding id.
        pub const SERVICES: &[ServiceInfo] = &[
            $(ServiceInfo { name: $name, request: $id, kind: Kind::$kind },)*
        ];
    };
}

services! {
    "FindServers" 422 Discovery,
    "GetEndpoints" 428 Discovery,
    "RegisterServer" 437 Discovery,
    "OpenSecureChannel" 446 Session,
    "CloseSecureChannel" 452 Session,
    "CreateSession" 461 Session,
    "ActivateSession" 467 Session,
    "CloseSession" 473 Session,
    "Cancel" 479 Session,
    "AddNodes" 488 NodeManagement,
    "AddReferences" 494 NodeManagement,
    "DeleteNodes" 500 NodeManagement,
    "DeleteReferences" 506 NodeManagement,
    "Browse" 527 Read,
    "BrowseNext" 533 Read,
    "TranslateBrowsePathsToNodeIds" 554 Read,
    "RegisterNodes" 560 Read,
    "UnregisterNodes" 566 Read,
    "QueryFirst" 615 Read,
    "QueryNext" 621 Read,
    "Read" 631 Read,
    "HistoryRead" 664 Read,
    "Write" 673 Write,
    "HistoryUpdate" 700 Write,
    "Call" 712 Call,
    "CreateMonitoredItems" 751 Read,
    "ModifyMonitoredItems" 763 Read,
    "SetMonitoringMode" 769 Read,
    "SetTriggering" 775 Read,
    "DeleteMonitoredItems" 781 Read,
    "CreateSubscription" 787 Read,
    "ModifySubscription" 793 Read,
    "SetPublishingMode" 799 Read,
    "Publish" 826 Read,
    "Republish" 832 Read,
    "TransferSubscriptions" 841 Read,
    "DeleteSubscriptions" 847 Read,
    "FindServersOnNetwork" 12208 Discovery,
    "RegisterServer2" 12211 Discovery,
}

/// The ServiceFault's encoding id: a response to any request.
pub const SERVICE_FAULT: u32 = 397;

/// Encoding ids of the user identity tokens an ActivateSession carries.
const ANONYMOUS_TOKEN: u32 = 321;
const USER_NAME_TOKEN: u32 = 324;
const X509_TOKEN: u32 = 327;
const ISSUED_TOKEN: u32 = 940;

/// The service whose request or response `id` encodes, and whether it is the response. The
/// two services added later (FindServersOnNetwork, RegisterServer2) number their responses
/// one above.
pub fn service_by_id(id: u32) -> Option<(&'static ServiceInfo, bool)> {
    if id == SERVICE_FAULT {
        return Some((&FAULT, true));
    }
    SERVICES.iter().find_map(|s| {
        let response = if s.request > 10_000 { 1 } else { 3 };
        if s.request == id {
            Some((s, false))
        } else if s.request + response == id {
            Some((s, true))
        } else {
            None
        }
    })
}

/// The service called `name` ("Write"; case ignored).
pub fn service_by_name(name: &str) -> Option<&'static ServiceInfo> {
    SERVICES
        .iter()
        .chain([&FAULT])
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

const FAULT: ServiceInfo = ServiceInfo {
    name: "ServiceFault",
    request: SERVICE_FAULT,
    kind: Kind::Fault,
};

/// The common header of every request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RequestHeader<'a> {
    /// The session's secret token (null before a session is activated).
    pub authentication_token: NodeId<'a>,
    pub timestamp: i64,
    pub handle: u32,
    pub timeout_hint: u32,
}

/// The common header of every response.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResponseHeader {
    pub timestamp: i64,
    pub handle: u32,
    /// The service result: the StatusCode of the whole request.
    pub result: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Header<'a> {
    Request(RequestHeader<'a>),
    Response(ResponseHeader),
}

/// How the server's endpoint secures messages (MessageSecurityMode).
pub fn security_mode_name(mode: u32) -> &'static str {
    match mode {
        1 => "None",
        2 => "Sign",
        3 => "SignAndEncrypt",
        _ => "Invalid",
    }
}

/// An ApplicationDescription: who a client or server says it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Application<'a> {
    pub uri: &'a [u8],
    pub product_uri: &'a [u8],
    pub name: &'a [u8],
    /// 0 server, 1 client, 2 client and server, 3 discovery server.
    pub kind: u32,
}

impl<'a> Decode<'a> for Application<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let uri = r.bytes()?;
        let product_uri = r.bytes()?;
        let name = r.localized_text()?;
        let kind = r.u32()?;
        r.bytes()?; // gateway server URI
        r.bytes()?; // discovery profile URI
        r.skip_strings()?; // discovery URLs
        Some(Application {
            uri,
            product_uri,
            name,
            kind,
        })
    }
}

/// The name of an ApplicationType.
pub fn application_kind_name(kind: u32) -> &'static str {
    match kind {
        0 => "Server",
        1 => "Client",
        2 => "ClientAndServer",
        3 => "DiscoveryServer",
        _ => "Invalid",
    }
}

/// An EndpointDescription: a way to reach a server, with the identity tokens it accepts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Endpoint<'a> {
    pub url: &'a [u8],
    pub server: Application<'a>,
    pub security_mode: u32,
    pub security_policy: &'a [u8],
    /// The token types accepted, a bit per [`TokenType`].
    pub token_types: u8,
    pub security_level: u8,
}

impl<'a> Decode<'a> for Endpoint<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let url = r.bytes()?;
        let server = Application::decode(r)?;
        r.bytes()?; // server certificate
        let security_mode = r.u32()?;
        let security_policy = r.bytes()?;
        let mut token_types = 0;
        for _ in 0..r.count()? {
            r.bytes()?; // policy id
            if let Some(t) = TokenType::from_user_token_type(r.u32()?) {
                token_types |= 1 << t as u8;
            }
            r.bytes()?; // issued token type
            r.bytes()?; // issuer endpoint URL
            r.bytes()?; // security policy URI
        }
        r.bytes()?; // transport profile URI
        let security_level = r.u8()?;
        Some(Endpoint {
            url,
            server,
            security_mode,
            security_policy,
            token_types,
            security_level,
        })
    }
}

/// Who a session is activated as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenType {
    Anonymous,
    UserName,
    Certificate,
    Issued,
}

impl TokenType {
    pub const ALL: [TokenType; 4] = [
        TokenType::Anonymous,
        TokenType::UserName,
        TokenType::Certificate,
        TokenType::Issued,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TokenType::Anonymous => "anonymous",
            TokenType::UserName => "username",
            TokenType::Certificate => "certificate",
            TokenType::Issued => "issued",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(s))
    }

    /// From a UserTokenPolicy's UserTokenType.
    fn from_user_token_type(t: u32) -> Option<Self> {
        Self::ALL.get(t as usize).copied()
    }

    fn from_encoding(id: u32) -> Option<Self> {
        Some(match id {
            ANONYMOUS_TOKEN => TokenType::Anonymous,
            USER_NAME_TOKEN => TokenType::UserName,
            X509_TOKEN => TokenType::Certificate,
            ISSUED_TOKEN => TokenType::Issued,
            _ => return None,
        })
    }
}

/// An ActivateSession's user identity token.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Token<'a> {
    /// The token's type, when it is a standard one.
    pub kind: Option<TokenType>,
    /// The ExtensionObject's encoding id.
    pub encoding: NodeId<'a>,
    pub policy_id: &'a [u8],
    /// A UserNameIdentityToken's user name.
    pub user: &'a [u8],
    /// Whether a UserNameIdentityToken's password is encrypted (an encryption algorithm is
    /// named); a password sent in the clear on an unencrypted channel is readable by anyone.
    pub password_encrypted: bool,
}

fn token<'a>(encoding: NodeId<'a>, body: &'a [u8]) -> Token<'a> {
    let kind = encoding.standard().and_then(TokenType::from_encoding);
    let mut r = Reader::new(body);
    let policy_id = r.bytes().unwrap_or_default();
    let (user, password_encrypted) = match kind {
        Some(TokenType::UserName) => {
            let user = r.bytes().unwrap_or_default();
            r.bytes(); // password
            let algorithm = r.bytes().unwrap_or_default();
            (user, !algorithm.is_empty())
        }
        _ => (&[][..], false),
    };
    Token {
        kind,
        encoding,
        policy_id,
        user,
        password_encrypted,
    }
}

/// A node and attribute to read or monitor (ReadValueId).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ReadValue<'a> {
    pub node: NodeId<'a>,
    pub attribute: u32,
}

impl<'a> Decode<'a> for ReadValue<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let node = r.node_id()?;
        let attribute = r.u32()?;
        r.bytes()?; // index range
        r.qualified_name()?; // data encoding
        Some(ReadValue { node, attribute })
    }
}

/// A node and attribute written, with the value (WriteValue).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WriteValue<'a> {
    pub node: NodeId<'a>,
    pub attribute: u32,
    pub value: Option<Value<'a>>,
}

impl<'a> Decode<'a> for WriteValue<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let node = r.node_id()?;
        let attribute = r.u32()?;
        r.bytes()?; // index range
        let value = r.data_value()?.value;
        Some(WriteValue {
            node,
            attribute,
            value,
        })
    }
}

/// A node to browse from (BrowseDescription), with the direction (0 forward, 1 inverse,
/// 2 both).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BrowseFrom<'a> {
    pub node: NodeId<'a>,
    pub direction: u32,
}

impl<'a> Decode<'a> for BrowseFrom<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let node = r.node_id()?;
        let direction = r.u32()?;
        r.node_id()?; // reference type
        r.boolean()?; // include subtypes
        r.u32()?; // node class mask
        r.u32()?; // result mask
        Some(BrowseFrom { node, direction })
    }
}

/// A method called on an object (CallMethodRequest), with its first input argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MethodCall<'a> {
    pub object: NodeId<'a>,
    pub method: NodeId<'a>,
    pub arguments: u32,
    pub first_argument: Option<Value<'a>>,
}

impl<'a> Decode<'a> for MethodCall<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let object = r.node_id()?;
        let method = r.node_id()?;
        let arguments = r.count()?;
        let mut first_argument = None;
        for i in 0..arguments {
            let v = r.variant()?;
            if i == 0 {
                first_argument = Some(v);
            }
        }
        Some(MethodCall {
            object,
            method,
            arguments,
            first_argument,
        })
    }
}

/// A method call's outcome (CallMethodResult): its status.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CallResult {
    pub status: u32,
}

impl<'a> Decode<'a> for CallResult {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let status = r.u32()?;
        for _ in 0..r.count()? {
            r.u32()?; // input argument results
        }
        r.skip_diagnostic_infos()?;
        for _ in 0..r.count()? {
            r.variant()?; // output arguments
        }
        Some(CallResult { status })
    }
}

/// A monitored item to create: what it watches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MonitoredItem<'a> {
    pub item: ReadValue<'a>,
    /// 0 disabled, 1 sampling, 2 reporting.
    pub mode: u32,
    pub sampling_interval: f64,
}

impl<'a> Decode<'a> for MonitoredItem<'a> {
    fn decode(r: &mut Reader<'a>) -> Option<Self> {
        let item = ReadValue::decode(r)?;
        let mode = r.u32()?;
        r.u32()?; // client handle
        let sampling_interval = r.f64()?;
        r.extension_object()?; // filter
        r.u32()?; // queue size
        r.boolean()?; // discard oldest
        Some(MonitoredItem {
            item,
            mode,
            sampling_interval,
        })
    }
}

/// What a service's body says, for the services read here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Body<'a> {
    OpenSecureChannel {
        protocol_version: u32,
        /// 0 issue, 1 renew.
        request_type: u32,
        security_mode: u32,
        lifetime: u32,
    },
    OpenSecureChannelResponse {
        protocol_version: u32,
        channel_id: u32,
        token_id: u32,
        lifetime: u32,
    },
    GetEndpoints {
        url: &'a [u8],
    },
    /// A GetEndpoints response's endpoints.
    Endpoints(Items<'a, Endpoint<'a>>),
    CreateSession {
        client: Application<'a>,
        endpoint_url: &'a [u8],
        session_name: &'a [u8],
        /// Whether the client sent its certificate.
        certificate: bool,
        timeout: f64,
    },
    CreateSessionResponse {
        session_id: NodeId<'a>,
        timeout: f64,
        endpoints: Items<'a, Endpoint<'a>>,
    },
    ActivateSession(Token<'a>),
    Read {
        max_age: f64,
        nodes: Items<'a, ReadValue<'a>>,
    },
    /// A Read response's values.
    ReadResults(Items<'a, DataValue<'a>>),
    Write(Items<'a, WriteValue<'a>>),
    /// A response's per-operation status codes (Write, and others built alike).
    Results(Items<'a, u32>),
    Browse(Items<'a, BrowseFrom<'a>>),
    Call(Items<'a, MethodCall<'a>>),
    CallResults(Items<'a, CallResult>),
    CreateMonitoredItems {
        subscription: u32,
        items: Items<'a, MonitoredItem<'a>>,
    },
    CreateSubscription {
        publishing_interval: f64,
    },
    /// A body not read further.
    Other,
}

impl<'a> Body<'a> {
    /// Reads the body of service `request` (a response when `response`) after its header.
    fn read(request: u32, response: bool, r: &mut Reader<'a>) -> Option<Self> {
        Some(match (request, response) {
            (446, false) => Body::OpenSecureChannel {
                protocol_version: r.u32()?,
                request_type: r.u32()?,
                security_mode: r.u32()?,
                lifetime: {
                    r.bytes()?; // client nonce
                    r.u32()?
                },
            },
            (446, true) => Body::OpenSecureChannelResponse {
                protocol_version: r.u32()?,
                channel_id: r.u32()?,
                token_id: r.u32()?,
                lifetime: {
                    r.i64()?; // created at
                    r.u32()?
                },
            },
            (428, false) => Body::GetEndpoints { url: r.bytes()? },
            (428, true) => Body::Endpoints(Items::read(r)?),
            (461, false) => {
                let client = Application::decode(r)?;
                r.bytes()?; // server URI
                let endpoint_url = r.bytes()?;
                let session_name = r.bytes()?;
                r.bytes()?; // client nonce
                let certificate = !r.bytes()?.is_empty();
                let timeout = r.f64()?;
                Body::CreateSession {
                    client,
                    endpoint_url,
                    session_name,
                    certificate,
                    timeout,
                }
            }
            (461, true) => {
                let session_id = r.node_id()?;
                r.node_id()?; // authentication token
                let timeout = r.f64()?;
                r.bytes()?; // server nonce
                r.bytes()?; // server certificate
                let endpoints = Items::read(r)?;
                Body::CreateSessionResponse {
                    session_id,
                    timeout,
                    endpoints,
                }
            }
            (467, false) => {
                r.bytes()?; // client signature: algorithm
                r.bytes()?; // and signature
                for _ in 0..r.count()? {
                    r.bytes()?; // software certificates
                    r.bytes()?;
                }
                r.skip_strings()?; // locale ids
                let (encoding, body) = r.extension_object()?;
                Body::ActivateSession(token(encoding, body))
            }
            (631, false) => Body::Read {
                max_age: r.f64()?,
                nodes: {
                    r.u32()?; // timestamps to return
                    Items::read(r)?
                },
            },
            (631, true) => Body::ReadResults(Items::read(r)?),
            (673, false) => Body::Write(Items::read(r)?),
            (673 | 488 | 494 | 500 | 506 | 560 | 566 | 781 | 847, true) => {
                Body::Results(Items::read(r)?)
            }
            (527, false) => {
                r.node_id()?; // view
                r.i64()?;
                r.u32()?;
                r.u32()?; // requested max references per node
                Body::Browse(Items::read(r)?)
            }
            (712, false) => Body::Call(Items::read(r)?),
            (712, true) => Body::CallResults(Items::read(r)?),
            (751, false) => Body::CreateMonitoredItems {
                subscription: r.u32()?,
                items: {
                    r.u32()?; // timestamps to return
                    Items::read(r)?
                },
            },
            (787, false) => Body::CreateSubscription {
                publishing_interval: r.f64()?,
            },
            _ => Body::Other,
        })
    }

    /// The nodes a request names (read, written, browsed, called, monitored), in order.
    pub fn nodes(&self) -> impl Iterator<Item = NodeId<'a>> {
        let read = match self {
            Body::Read { nodes, .. } => Some(nodes.iter().map(|v| v.node)),
            _ => None,
        };
        let written = match self {
            Body::Write(w) => Some(w.iter().map(|v| v.node)),
            _ => None,
        };
        let browsed = match self {
            Body::Browse(b) => Some(b.iter().map(|v| v.node)),
            _ => None,
        };
        let called = match self {
            Body::Call(c) => Some(c.iter().flat_map(|m| [m.object, m.method])),
            _ => None,
        };
        let monitored = match self {
            Body::CreateMonitoredItems { items, .. } => Some(items.iter().map(|m| m.item.node)),
            _ => None,
        };
        read.into_iter()
            .flatten()
            .chain(written.into_iter().flatten())
            .chain(browsed.into_iter().flatten())
            .chain(called.into_iter().flatten())
            .chain(monitored.into_iter().flatten())
    }
}

/// A service request or response, from its type id on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Service<'a> {
    /// The body's type: a service's encoding id, if it is standard.
    pub type_id: NodeId<'a>,
    /// The service, when the type id is a standard one, and whether this is its response.
    pub info: Option<(&'static ServiceInfo, bool)>,
    pub header: Option<Header<'a>>,
    /// What the body says; `Other` when it is not read or does not decode.
    pub body: Body<'a>,
}

impl<'a> Service<'a> {
    /// Reads a message body: the type id, the header and what the body says.
    pub fn read(bytes: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        let type_id = r.node_id()?;
        let info = type_id.standard().and_then(service_by_id);
        let Some((svc, response)) = info else {
            return Some(Service {
                type_id,
                info,
                header: None,
                body: Body::Other,
            });
        };
        let header = if response {
            read_response_header(&mut r).map(Header::Response)
        } else {
            read_request_header(&mut r).map(Header::Request)
        };
        let body = match header {
            Some(_) => Body::read(svc.request, response, &mut r).unwrap_or(Body::Other),
            None => Body::Other,
        };
        Some(Service {
            type_id,
            info,
            header,
            body,
        })
    }

    pub fn name(&self) -> Option<&'static str> {
        self.info.map(|(s, _)| s.name)
    }

    pub fn is_response(&self) -> bool {
        matches!(self.info, Some((_, true)))
    }

    /// The service result of a response.
    pub fn result(&self) -> Option<u32> {
        match self.header {
            Some(Header::Response(h)) => Some(h.result),
            _ => None,
        }
    }

    pub fn handle(&self) -> Option<u32> {
        match self.header? {
            Header::Response(h) => Some(h.handle),
            Header::Request(h) => Some(h.handle),
        }
    }
}

fn read_request_header<'a>(r: &mut Reader<'a>) -> Option<RequestHeader<'a>> {
    let authentication_token = r.node_id()?;
    let timestamp = r.i64()?;
    let handle = r.u32()?;
    r.u32()?; // return diagnostics
    r.bytes()?; // audit entry id
    let timeout_hint = r.u32()?;
    r.extension_object()?; // additional header
    Some(RequestHeader {
        authentication_token,
        timestamp,
        handle,
        timeout_hint,
    })
}

fn read_response_header(r: &mut Reader<'_>) -> Option<ResponseHeader> {
    let timestamp = r.i64()?;
    let handle = r.u32()?;
    let result = r.u32()?;
    r.skip_diagnostic_info()?;
    r.skip_strings()?; // string table
    r.extension_object()?; // additional header
    Some(ResponseHeader {
        timestamp,
        handle,
        result,
    })
}

/// The name of node attribute `id` (OPC 10000-6, A.1).
pub fn attribute_name(id: u32) -> Option<&'static str> {
    const NAMES: [&str; 27] = [
        "NodeId",
        "NodeClass",
        "BrowseName",
        "DisplayName",
        "Description",
        "WriteMask",
        "UserWriteMask",
        "IsAbstract",
        "Symmetric",
        "InverseName",
        "ContainsNoLoops",
        "EventNotifier",
        "Value",
        "DataType",
        "ValueRank",
        "ArrayDimensions",
        "AccessLevel",
        "UserAccessLevel",
        "MinimumSamplingInterval",
        "Historizing",
        "Executable",
        "UserExecutable",
        "DataTypeDefinition",
        "RolePermissions",
        "UserRolePermissions",
        "AccessRestrictions",
        "AccessLevelEx",
    ];
    NAMES
        .get(usize::try_from(id).ok()?.checked_sub(1)?)
        .copied()
}

/// The attribute a process value is read and written through.
pub const VALUE_ATTRIBUTE: u32 = 13;

/// The symbolic name of a StatusCode's code (its top 16 bits), for the codes a monitor meets.
pub fn status_name(status: u32) -> Option<&'static str> {
    STATUS
        .iter()
        .find(|(c, _)| *c == status & 0xffff_0000)
        .map(|(_, n)| *n)
}

/// The StatusCode called `name`.
pub fn status_by_name(name: &str) -> Option<u32> {
    STATUS
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(c, _)| *c)
}

const STATUS: &[(u32, &str)] = &[
    (0x0000_0000, "Good"),
    (0x8001_0000, "BadUnexpectedError"),
    (0x8002_0000, "BadInternalError"),
    (0x8003_0000, "BadOutOfMemory"),
    (0x8004_0000, "BadResourceUnavailable"),
    (0x8005_0000, "BadCommunicationError"),
    (0x8006_0000, "BadEncodingError"),
    (0x8007_0000, "BadDecodingError"),
    (0x8008_0000, "BadEncodingLimitsExceeded"),
    (0x800A_0000, "BadTimeout"),
    (0x800B_0000, "BadServiceUnsupported"),
    (0x800C_0000, "BadShutdown"),
    (0x800D_0000, "BadServerNotConnected"),
    (0x800E_0000, "BadServerHalted"),
    (0x800F_0000, "BadNothingToDo"),
    (0x8010_0000, "BadTooManyOperations"),
    (0x8011_0000, "BadDataTypeIdUnknown"),
    (0x8012_0000, "BadCertificateInvalid"),
    (0x8013_0000, "BadSecurityChecksFailed"),
    (0x8014_0000, "BadCertificateTimeInvalid"),
    (0x801A_0000, "BadCertificateUntrusted"),
    (0x801D_0000, "BadCertificateRevoked"),
    (0x801F_0000, "BadUserAccessDenied"),
    (0x8020_0000, "BadIdentityTokenInvalid"),
    (0x8021_0000, "BadIdentityTokenRejected"),
    (0x8022_0000, "BadSecureChannelIdInvalid"),
    (0x8023_0000, "BadInvalidTimestamp"),
    (0x8024_0000, "BadNonceInvalid"),
    (0x8025_0000, "BadSessionIdInvalid"),
    (0x8026_0000, "BadSessionClosed"),
    (0x8027_0000, "BadSessionNotActivated"),
    (0x8028_0000, "BadSubscriptionIdInvalid"),
    (0x802A_0000, "BadRequestHeaderInvalid"),
    (0x8033_0000, "BadNodeIdInvalid"),
    (0x8034_0000, "BadNodeIdUnknown"),
    (0x8035_0000, "BadAttributeIdInvalid"),
    (0x803A_0000, "BadNotReadable"),
    (0x803B_0000, "BadNotWritable"),
    (0x803C_0000, "BadOutOfRange"),
    (0x803D_0000, "BadNotSupported"),
    (0x803E_0000, "BadNotFound"),
    (0x8055_0000, "BadSecurityPolicyRejected"),
    (0x8056_0000, "BadTooManySessions"),
    (0x8057_0000, "BadUserSignatureInvalid"),
    (0x8074_0000, "BadTypeMismatch"),
    (0x8075_0000, "BadMethodInvalid"),
    (0x8076_0000, "BadArgumentsMissing"),
    (0x807E_0000, "BadTcpMessageTypeInvalid"),
    (0x807F_0000, "BadTcpSecureChannelUnknown"),
    (0x8080_0000, "BadTcpMessageTooLarge"),
    (0x8081_0000, "BadTcpNotEnoughResources"),
    (0x8082_0000, "BadTcpInternalError"),
    (0x8083_0000, "BadTcpEndpointUrlInvalid"),
    (0x8085_0000, "BadRequestTimeout"),
    (0x8086_0000, "BadSecureChannelClosed"),
    (0x8087_0000, "BadSecureChannelTokenUnknown"),
    (0x80AB_0000, "BadInvalidArgument"),
    (0x80AC_0000, "BadConnectionRejected"),
    (0x80AD_0000, "BadDisconnect"),
    (0x80AE_0000, "BadConnectionClosed"),
    (0x80AF_0000, "BadInvalidState"),
    (0x80B0_0000, "BadEndOfStream"),
    (0x80B8_0000, "BadRequestTooLarge"),
    (0x80B9_0000, "BadResponseTooLarge"),
    (0x80BE_0000, "BadProtocolVersionUnsupported"),
];
