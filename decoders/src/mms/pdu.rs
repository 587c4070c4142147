//! MMS PDUs (ISO 9506-2), BER-encoded: the PDU's kind, a confirmed service's invoke id and
//! service, and what IEC 61850 clients and servers say with them — object names
//! (`LD/LN$FC$DO` as domain and item), name lists, data values written and reported, file
//! names, the server's identification and the initiate parameters.

use super::ber::{Children, Class, Tlv};

/// The top-level MMS PDU choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    ConfirmedRequest,
    ConfirmedResponse,
    ConfirmedError,
    Unconfirmed,
    Reject,
    CancelRequest,
    CancelResponse,
    CancelError,
    InitiateRequest,
    InitiateResponse,
    InitiateError,
    ConcludeRequest,
    ConcludeResponse,
    ConcludeError,
}

impl Kind {
    const ALL: [Kind; 14] = [
        Kind::ConfirmedRequest,
        Kind::ConfirmedResponse,
        Kind::ConfirmedError,
        Kind::Unconfirmed,
        Kind::Reject,
        Kind::CancelRequest,
        Kind::CancelResponse,
        Kind::CancelError,
        Kind::InitiateRequest,
        Kind::InitiateResponse,
        Kind::InitiateError,
        Kind::ConcludeRequest,
        Kind::ConcludeResponse,
        Kind::ConcludeError,
    ];

    /// The name as ISO 9506-2 (and tshark) spells it, in snake case.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ConfirmedRequest => "confirmed_request",
            Kind::ConfirmedResponse => "confirmed_response",
            Kind::ConfirmedError => "confirmed_error",
            Kind::Unconfirmed => "unconfirmed",
            Kind::Reject => "reject",
            Kind::CancelRequest => "cancel_request",
            Kind::CancelResponse => "cancel_response",
            Kind::CancelError => "cancel_error",
            Kind::InitiateRequest => "initiate_request",
            Kind::InitiateResponse => "initiate_response",
            Kind::InitiateError => "initiate_error",
            Kind::ConcludeRequest => "conclude_request",
            Kind::ConcludeResponse => "conclude_response",
            Kind::ConcludeError => "conclude_error",
        }
    }

    pub fn from_name(s: &str) -> Option<Kind> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s))
    }

    /// The context tag the PDU is sent with.
    pub fn tag(self) -> u32 {
        self as u32
    }
}

/// Confirmed service names by their tag (ISO 9506-2, 7.4), in snake case.
const CONFIRMED: [&str; 88] = [
    "status",
    "get_name_list",
    "identify",
    "rename",
    "read",
    "write",
    "get_variable_access_attributes",
    "define_named_variable",
    "define_scattered_access",
    "get_scattered_access_attributes",
    "delete_variable_access",
    "define_named_variable_list",
    "get_named_variable_list_attributes",
    "delete_named_variable_list",
    "define_named_type",
    "get_named_type_attributes",
    "delete_named_type",
    "input",
    "output",
    "take_control",
    "relinquish_control",
    "define_semaphore",
    "delete_semaphore",
    "report_semaphore_status",
    "report_pool_semaphore_status",
    "report_semaphore_entry_status",
    "initiate_download_sequence",
    "download_segment",
    "terminate_download_sequence",
    "initiate_upload_sequence",
    "upload_segment",
    "terminate_upload_sequence",
    "request_domain_download",
    "request_domain_upload",
    "load_domain_content",
    "store_domain_content",
    "delete_domain",
    "get_domain_attributes",
    "create_program_invocation",
    "delete_program_invocation",
    "start",
    "stop",
    "resume",
    "reset",
    "kill",
    "get_program_invocation_attributes",
    "obtain_file",
    "define_event_condition",
    "delete_event_condition",
    "get_event_condition_attributes",
    "report_event_condition_status",
    "alter_event_condition_monitoring",
    "trigger_event",
    "define_event_action",
    "delete_event_action",
    "get_event_action_attributes",
    "report_event_action_status",
    "define_event_enrollment",
    "delete_event_enrollment",
    "alter_event_enrollment",
    "report_event_enrollment_status",
    "get_event_enrollment_attributes",
    "acknowledge_event_notification",
    "get_alarm_summary",
    "get_alarm_enrollment_summary",
    "read_journal",
    "write_journal",
    "initialize_journal",
    "report_journal_status",
    "create_journal",
    "delete_journal",
    "get_capability_list",
    "file_open",
    "file_read",
    "file_close",
    "file_rename",
    "file_delete",
    "file_directory",
    "unsolicited_status",
    "information_report",
    "event_notification",
    "attach_to_event_condition",
    "attach_to_semaphore",
    "conclude",
    "cancel",
    "get_data_exchange_attributes",
    "exchange_data",
    "define_access_control_list",
];

/// The confirmed service with tag `tag`.
pub fn service_name(tag: u32) -> Option<&'static str> {
    match tag {
        // 78-85 are the unconfirmed services and modifiers, not confirmed services.
        78..=85 => None,
        t => CONFIRMED.get(t as usize).copied(),
    }
}

/// The confirmed service called `name` (snake case, or a number).
pub fn service_by_name(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return service_name(n).map(|_| n);
    }
    let want = name.replace('-', "_");
    (0..CONFIRMED.len() as u32)
        .find(|&t| service_name(t).is_some_and(|n| n.eq_ignore_ascii_case(&want)))
}

/// Unconfirmed service names by tag.
pub fn unconfirmed_name(tag: u32) -> Option<&'static str> {
    [
        "information_report",
        "unsolicited_status",
        "event_notification",
    ]
    .get(tag as usize)
    .copied()
}

/// Confirmed services that change the server: values, variable lists, domains and programs,
/// files, journals, event conditions.
pub fn is_modifying(service: u32) -> bool {
    matches!(
        service,
        3 | 5 | 7 | 8 | 10 | 11 | 13 | 14 | 16 | 26..=28 | 32 | 34 | 36 | 38..=44 | 46..=48 | 51..=54 | 57..=59 | 62 | 66 | 67 | 69 | 70 | 75 | 76
    )
}

/// A named MMS object; in IEC 61850 the domain is the logical device and the item
/// `LN$FC$DO$DA`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectName<'a> {
    Vmd(&'a [u8]),
    Domain { domain: &'a [u8], item: &'a [u8] },
    Association(&'a [u8]),
}

impl<'a> ObjectName<'a> {
    fn read(t: Tlv<'a>) -> Option<Self> {
        match (t.class, t.tag) {
            (Class::Context, 0) => Some(ObjectName::Vmd(t.value)),
            (Class::Context, 1) => {
                let mut c = t.children();
                Some(ObjectName::Domain {
                    domain: c.next()?.value,
                    item: c.next()?.value,
                })
            }
            (Class::Context, 2) => Some(ObjectName::Association(t.value)),
            _ => None,
        }
    }

    /// The item's (or VMD or association name's) identifier.
    pub fn item(&self) -> &'a [u8] {
        match *self {
            ObjectName::Vmd(i) | ObjectName::Association(i) => i,
            ObjectName::Domain { item, .. } => item,
        }
    }

    pub fn domain(&self) -> Option<&'a [u8]> {
        match *self {
            ObjectName::Domain { domain, .. } => Some(domain),
            _ => None,
        }
    }

    /// The IEC 61850 functional constraint: the item's second `$`-separated part (`MX`,
    /// `ST`, `CO`, `SP`, `CF` …).
    pub fn functional_constraint(&self) -> Option<&'a [u8]> {
        let mut parts = self.item().split(|&b| b == b'$');
        parts.next()?;
        parts.next().filter(|fc| fc.len() == 2)
    }
}

/// A Data value (ISO 9506-2, 14.4.1), as far as it is read: scalars, and structures and arrays
/// by their element count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Data<'a> {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    BitString(&'a [u8]),
    OctetString(&'a [u8]),
    VisibleString(&'a [u8]),
    /// UTC time: seconds since 1970, the fraction of a second, and the quality octet.
    UtcTime {
        seconds: u32,
        fraction: u32,
        quality: u8,
    },
    Structure(u32),
    Array(u32),
    /// Another type, by tag.
    Other(u32),
}

impl<'a> Data<'a> {
    /// A Data TLV; `None` when it is not context-specific.
    pub fn read(t: Tlv<'a>) -> Option<Self> {
        if t.class != Class::Context {
            return None;
        }
        Some(match t.tag {
            1 => Data::Array(t.children().count() as u32),
            2 => Data::Structure(t.children().count() as u32),
            3 => Data::Bool(*t.value.first()? != 0),
            4 => Data::BitString(t.value),
            5 => Data::Int(t.signed()?),
            6 => Data::UInt(t.unsigned()?),
            7 => Data::Float(float(t.value)?),
            9 => Data::OctetString(t.value),
            10 | 16 => Data::VisibleString(t.value),
            17 => {
                let v = t.value;
                if v.len() != 8 {
                    return None;
                }
                Data::UtcTime {
                    seconds: u32::from_be_bytes(v[..4].try_into().ok()?),
                    fraction: u32::from_be_bytes([0, v[4], v[5], v[6]]),
                    quality: v[7],
                }
            }
            tag => Data::Other(tag),
        })
    }

    /// The value as a number, when it is one.
    pub fn number(&self) -> Option<f64> {
        match *self {
            Data::Bool(b) => Some(f64::from(u8::from(b))),
            Data::Int(n) => Some(n as f64),
            Data::UInt(n) => Some(n as f64),
            Data::Float(x) => Some(x),
            _ => None,
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Data::Bool(_) => "boolean",
            Data::Int(_) => "integer",
            Data::UInt(_) => "unsigned",
            Data::Float(_) => "floating_point",
            Data::BitString(_) => "bit_string",
            Data::OctetString(_) => "octet_string",
            Data::VisibleString(_) => "visible_string",
            Data::UtcTime { .. } => "utc_time",
            Data::Structure(_) => "structure",
            Data::Array(_) => "array",
            Data::Other(_) => "other",
        }
    }
}

/// A FloatingPoint: an exponent-width octet, then an IEEE 754 single or double.
fn float(v: &[u8]) -> Option<f64> {
    match v {
        [8, b @ ..] if b.len() == 4 => Some(f64::from(f32::from_be_bytes(b.try_into().ok()?))),
        [11, b @ ..] if b.len() == 8 => Some(f64::from_be_bytes(b.try_into().ok()?)),
        _ => None,
    }
}

/// Object names, read lazily: a single name, a list of names, or a list of variable
/// specifications (each `SEQUENCE { variableSpecification, alternateAccess }` whose
/// specification is a name `[0]`, or an address, skipped).
#[derive(Clone, Copy, Debug)]
pub struct Names<'a> {
    single: Option<Tlv<'a>>,
    plain: Option<Children<'a>>,
    variables: Option<Children<'a>>,
}

impl<'a> Names<'a> {
    const NONE: Names<'static> = Names {
        single: None,
        plain: None,
        variables: None,
    };

    /// A variable access specification's names: a list of variables, or a list's name.
    fn access(spec: Option<Tlv<'a>>) -> Self {
        match spec {
            Some(s) if s.is_context(0) => Names {
                variables: Some(s.children()),
                ..Names::NONE
            },
            Some(s) if s.is_context(1) => Names {
                single: s.children().next(),
                ..Names::NONE
            },
            _ => Names::NONE,
        }
    }
}

impl<'a> Iterator for Names<'a> {
    type Item = ObjectName<'a>;

    fn next(&mut self) -> Option<ObjectName<'a>> {
        if let Some(t) = self.single.take() {
            if let Some(n) = ObjectName::read(t) {
                return Some(n);
            }
        }
        if let Some(plain) = self.plain.as_mut() {
            if let Some(n) = plain.find_map(ObjectName::read) {
                return Some(n);
            }
        }
        self.variables.as_mut()?.find_map(|v| {
            v.children()
                .next()
                .filter(|s| s.is_context(0))
                .and_then(|s| s.children().next())
                .and_then(ObjectName::read)
        })
    }
}

/// One MMS PDU, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mms<'a> {
    pub kind: Kind,
    tlv: Tlv<'a>,
}

impl<'a> Mms<'a> {
    /// Reads the PDU TLV at the front of `b`.
    pub fn read(b: &'a [u8]) -> Option<Self> {
        let (tlv, _) = Tlv::read(b)?;
        if tlv.class != Class::Context {
            return None;
        }
        let kind = *Kind::ALL.get(tlv.tag as usize)?;
        Some(Mms { kind, tlv })
    }

    fn confirmed(&self) -> bool {
        matches!(
            self.kind,
            Kind::ConfirmedRequest | Kind::ConfirmedResponse | Kind::ConfirmedError
        )
    }

    /// A confirmed PDU's (or cancel's) invoke id.
    pub fn invoke_id(&self) -> Option<u32> {
        match self.kind {
            Kind::CancelRequest | Kind::CancelResponse => {
                self.tlv.unsigned().and_then(|n| u32::try_from(n).ok())
            }
            _ if self.confirmed() || self.kind == Kind::CancelError => {
                let first = self.tlv.children().next()?;
                let t = match (self.kind, first.class, first.tag) {
                    (_, Class::Universal, 2) => first,
                    // A confirmed error's invoke id is context [0].
                    (Kind::ConfirmedError | Kind::CancelError, Class::Context, 0) => first,
                    _ => return None,
                };
                t.unsigned().and_then(|n| u32::try_from(n).ok())
            }
            _ => None,
        }
    }

    /// The service's TLV: a confirmed request's or response's, or an unconfirmed PDU's.
    fn service_tlv(&self) -> Option<Tlv<'a>> {
        match self.kind {
            Kind::ConfirmedRequest | Kind::ConfirmedResponse => self
                .tlv
                .children()
                .skip(1)
                .find(|t| t.class == Class::Context),
            Kind::Unconfirmed => self.tlv.children().next(),
            _ => None,
        }
    }

    /// A confirmed request's or response's service tag, or an unconfirmed PDU's.
    pub fn service(&self) -> Option<u32> {
        self.service_tlv().map(|t| t.tag)
    }

    /// The service's name.
    pub fn service_name(&self) -> Option<&'static str> {
        let s = self.service()?;
        match self.kind {
            Kind::Unconfirmed => unconfirmed_name(s),
            _ => service_name(s),
        }
    }

    /// The objects a request names: variables read, written, reported or asked about,
    /// variable lists defined, deleted or asked about.
    pub fn object_names(&self) -> Names<'a> {
        let Some(s) = self.service_tlv() else {
            return Names::NONE;
        };
        match (self.kind, s.tag) {
            // read: [0] specificationWithResult, then [1] the variable access specification.
            (Kind::ConfirmedRequest, 4) => {
                Names::access(s.child(1).and_then(|v| v.children().next()))
            }
            // write, information report: the variable access specification first.
            (Kind::ConfirmedRequest, 5) | (Kind::Unconfirmed, 0) => {
                Names::access(s.children().next())
            }
            // getVariableAccessAttributes: name [0] (or address [1]).
            (Kind::ConfirmedRequest, 6) => Names {
                single: s.child(0).and_then(|n| n.children().next()),
                ..Names::NONE
            },
            // defineNamedVariableList: the list's name, then [0] its variables.
            (Kind::ConfirmedRequest, 11) => Names {
                single: s.children().next(),
                variables: s
                    .children()
                    .skip(1)
                    .find(|t| t.is_context(0))
                    .map(|l| l.children()),
                ..Names::NONE
            },
            // getNamedVariableListAttributes: the list's name.
            (Kind::ConfirmedRequest, 12) => Names {
                single: s.children().next(),
                ..Names::NONE
            },
            // deleteNamedVariableList: [1] the lists' names.
            (Kind::ConfirmedRequest, 13) => Names {
                plain: s.child(1).map(|l| l.children()),
                ..Names::NONE
            },
            _ => Names::NONE,
        }
    }

    /// A getNameList request's object class (basic class: 0 named variable, 2 named variable
    /// list, 9 domain, 11 journal …) and scope's domain.
    pub fn name_list(&self) -> Option<(u32, Option<&'a [u8]>)> {
        let s = self
            .service_tlv()
            .filter(|_| self.kind == Kind::ConfirmedRequest)?;
        if s.tag != 1 {
            return None;
        }
        let class = s
            .child(0)
            .and_then(|c| c.children().next())
            .and_then(|c| c.unsigned())
            .and_then(|n| u32::try_from(n).ok())?;
        let domain = s
            .child(1)
            .and_then(|scope| scope.children().next())
            .filter(|d| d.is_context(1))
            .map(|d| d.value);
        Some((class, domain))
    }

    /// The data values a write request carries, or a read response's or information report's
    /// results that are data (access failures, `[0]`, skipped).
    pub fn values(&self) -> impl Iterator<Item = Data<'a>> {
        let list = match (self.kind, self.service_tlv()) {
            // After the variable access specification (whose list of variables is [0] too).
            (Kind::ConfirmedRequest, Some(s)) if s.tag == 5 => {
                s.children().skip(1).find(|t| t.is_context(0))
            }
            (Kind::Unconfirmed, Some(s)) if s.tag == 0 => {
                s.children().skip(1).find(|t| t.is_context(0))
            }
            (Kind::ConfirmedResponse, Some(s)) if s.tag == 4 => s.child(1),
            _ => None,
        };
        list.into_iter()
            .flat_map(|l| l.children())
            .filter(|t| !t.is_context(0))
            .filter_map(Data::read)
    }

    /// The file names a file service request names (fileOpen, fileDelete, fileDirectory,
    /// fileRename, obtainFile): each name's first GraphicString.
    pub fn file_names(&self) -> impl Iterator<Item = &'a [u8]> {
        let s = self.service_tlv().filter(|s| {
            self.kind == Kind::ConfirmedRequest && matches!(s.tag, 46 | 72 | 75 | 76 | 77)
        });
        let mut names: [Option<&'a [u8]>; 2] = [None, None];
        if let Some(s) = s {
            let first = |t: Tlv<'a>| t.children().next().map(|g| g.value);
            match s.tag {
                // FileDelete-Request ::= FileName: the GraphicStrings themselves.
                76 => names[0] = s.children().next().map(|g| g.value),
                72 | 77 => names[0] = s.child(0).and_then(first),
                75 => {
                    names[0] = s.child(0).and_then(first);
                    names[1] = s.child(1).and_then(first);
                }
                _ => {
                    names[0] = s.child(1).and_then(first);
                    names[1] = s.child(2).and_then(first);
                }
            }
        }
        names.into_iter().flatten()
    }

    /// An identify response: vendor, model, revision.
    pub fn identify(&self) -> Option<(&'a [u8], &'a [u8], &'a [u8])> {
        let s = self
            .service_tlv()
            .filter(|_| self.kind == Kind::ConfirmedResponse)?;
        if s.tag != 2 {
            return None;
        }
        Some((s.child(0)?.value, s.child(1)?.value, s.child(2)?.value))
    }

    /// An initiate request's or response's negotiated PDU size and version.
    pub fn initiate(&self) -> Option<(Option<u64>, Option<u64>)> {
        if !matches!(self.kind, Kind::InitiateRequest | Kind::InitiateResponse) {
            return None;
        }
        let size = self.tlv.child(0).and_then(|t| t.unsigned());
        let version = self
            .tlv
            .child(4)
            .and_then(|d| d.child(0))
            .and_then(|v| v.unsigned());
        Some((size, version))
    }

    /// A confirmed error's or initiate error's error class and code: (class tag, code).
    pub fn error(&self) -> Option<(u32, u64)> {
        let e = match self.kind {
            Kind::ConfirmedError => self.tlv.child(2)?,
            Kind::InitiateError | Kind::ConcludeError => self.tlv,
            _ => return None,
        };
        let class = e.child(0)?.children().next()?;
        Some((class.tag, class.unsigned().unwrap_or(0)))
    }

    /// A reject's reason: (problem type tag, code).
    pub fn reject(&self) -> Option<(u32, u64)> {
        if self.kind != Kind::Reject {
            return None;
        }
        let r = self
            .tlv
            .children()
            .find(|t| t.class == Class::Context && t.tag > 0)?;
        Some((r.tag, r.unsigned().unwrap_or(0)))
    }
}

/// The names of MMS error classes (ISO 9506-2, 7.5.2).
pub fn error_class_name(tag: u32) -> Option<&'static str> {
    [
        "vmd_state",
        "application_reference",
        "definition",
        "resource",
        "service",
        "service_preempt",
        "time_resolution",
        "access",
        "initiate",
        "conclude",
        "cancel",
        "file",
        "others",
    ]
    .get(tag as usize)
    .copied()
}
