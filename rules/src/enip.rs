//! The EtherNet/IP keywords Suricata has had since version 3: `enip_command` (the
//! encapsulation command, a number or its name, with the usual comparisons) and
//! `cip_service:SERVICE[,CLASS[,ATTRIBUTE]]` (a CIP service, and the class and attribute of
//! its request path; services bundled in a Multiple Service Packet count); and Suricata 8's:
//! `enip.status` (encapsulation status), `enip.protocol_version`, `enip.cip_class`,
//! `enip.cip_instance`, `enip.cip_attribute` (a segment of a request path), `enip.cip_status`,
//! `enip.cip_extendedstatus` (a response's), the identity fields of a `ListIdentity` reply
//! (`enip.vendor_id`, `enip.device_type`, `enip.product_code`, `enip.revision`, `enip.serial`,
//! `enip.identity_status`, `enip.state`), `enip.capabilities` of a `ListServices` reply — each
//! an unsigned-integer comparison — and the sticky buffers `enip.product_name` and
//! `enip.service_name`. All read the message going the way the packet goes: a request to the
//! server, a response to the client (a response matches on its service alone: its path is
//! the request's).

use decoders::enip::{command_name, Cip, Pdu, Segment, COMMANDS};

use crate::num::UintMatch;
use crate::KeywordError;

/// An EtherNet/IP keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Command(UintMatch),
    CipService {
        service: u8,
        class: Option<u32>,
        attribute: Option<u32>,
    },
    /// A number the message carries, compared.
    Number(Number, UintMatch),
}

/// The numbers Suricata 8's `enip.*` keywords compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Number {
    Status,
    ProtocolVersion,
    CipClass,
    CipInstance,
    CipAttribute,
    CipStatus,
    CipExtendedStatus,
    VendorId,
    DeviceType,
    ProductCode,
    Revision,
    Serial,
    IdentityStatus,
    State,
    Capabilities,
}

const NUMBERS: [(&str, Number); 15] = [
    ("enip.status", Number::Status),
    ("enip.protocol_version", Number::ProtocolVersion),
    ("enip.cip_class", Number::CipClass),
    ("enip.cip_instance", Number::CipInstance),
    ("enip.cip_attribute", Number::CipAttribute),
    ("enip.cip_status", Number::CipStatus),
    ("enip.cip_extendedstatus", Number::CipExtendedStatus),
    ("enip.vendor_id", Number::VendorId),
    ("enip.device_type", Number::DeviceType),
    ("enip.product_code", Number::ProductCode),
    ("enip.revision", Number::Revision),
    ("enip.serial", Number::Serial),
    ("enip.identity_status", Number::IdentityStatus),
    ("enip.state", Number::State),
    ("enip.capabilities", Number::Capabilities),
];

impl Number {
    /// Whether some value of this number in `pdu` matches `m`.
    fn matches(self, pdu: &Pdu<'_>, m: UintMatch) -> bool {
        let hit = |v: u64| m.matches(v);
        let id = pdu.identity();
        let cip = pdu.cip();
        let in_path = |t: u8| {
            cip.is_some_and(|c| {
                c.carried().any(|r| {
                    r.segments()
                        .any(|s| s.logical_type == t && hit(u64::from(s.value)))
                })
            })
        };
        match self {
            Number::Status => hit(u64::from(pdu.status)),
            Number::ProtocolVersion => [
                pdu.session().map(|s| s.protocol_version),
                id.map(|i| i.protocol_version),
                pdu.list_service().map(|l| l.protocol_version),
            ]
            .into_iter()
            .flatten()
            .any(|v| hit(u64::from(v))),
            Number::CipClass => in_path(Segment::CLASS),
            Number::CipInstance => in_path(Segment::INSTANCE),
            // A Get Attribute List names its attributes in its data, as Suricata reads them.
            Number::CipAttribute => {
                in_path(Segment::ATTRIBUTE)
                    || cip.is_some_and(|c| {
                        c.carried()
                            .any(|r| r.attribute_list().any(|a| hit(u64::from(a))))
                    })
            }
            Number::CipStatus => cip.is_some_and(|c| {
                c.carried()
                    .any(|r| r.general_status().is_some_and(|s| hit(u64::from(s))))
            }),
            Number::CipExtendedStatus => cip.is_some_and(|c| {
                c.carried()
                    .any(|r| r.extended_status().is_some_and(|s| hit(u64::from(s))))
            }),
            Number::VendorId => id.is_some_and(|i| hit(u64::from(i.vendor_id))),
            Number::DeviceType => id.is_some_and(|i| hit(u64::from(i.device_type))),
            Number::ProductCode => id.is_some_and(|i| hit(u64::from(i.product_code))),
            Number::Revision => id.is_some_and(|i| hit(u64::from(i.revision_word()))),
            Number::Serial => id.is_some_and(|i| hit(u64::from(i.serial))),
            Number::IdentityStatus => id.is_some_and(|i| hit(u64::from(i.status))),
            Number::State => id.is_some_and(|i| hit(u64::from(i.state))),
            Number::Capabilities => pdu
                .list_service()
                .is_some_and(|l| hit(u64::from(l.capabilities))),
        }
    }
}

/// Suricata 8's EtherNet/IP sticky buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    /// The product name of a `ListIdentity` reply.
    ProductName,
    /// The service name of a `ListServices` reply.
    ServiceName,
}

impl Buf {
    pub fn sticky(name: &str) -> Option<Self> {
        match name {
            "enip.product_name" => Some(Buf::ProductName),
            "enip.service_name" => Some(Buf::ServiceName),
            _ => None,
        }
    }

    pub fn get<'a>(self, pdu: &Pdu<'a>) -> Option<&'a [u8]> {
        match self {
            Buf::ProductName => pdu.identity().map(|i| i.product_name),
            Buf::ServiceName => pdu.list_service().map(|l| l.name),
        }
    }
}

impl Field {
    pub const KEYWORDS: [&'static str; 19] = [
        "enip_command",
        "enip.command",
        "cip_service",
        "enip.cip_service",
        "enip.status",
        "enip.protocol_version",
        "enip.cip_class",
        "enip.cip_instance",
        "enip.cip_attribute",
        "enip.cip_status",
        "enip.cip_extendedstatus",
        "enip.vendor_id",
        "enip.device_type",
        "enip.product_code",
        "enip.revision",
        "enip.serial",
        "enip.identity_status",
        "enip.state",
        "enip.capabilities",
    ];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        if let Some((_, n)) = NUMBERS.iter().find(|(k, _)| *k == keyword) {
            return Ok(Field::Number(*n, UintMatch::parse(v)?));
        }
        if keyword.ends_with("command") {
            if let Some((code, _)) = COMMANDS.iter().find(|(_, n)| n.eq_ignore_ascii_case(v)) {
                return Ok(Field::Command(UintMatch::Eq(u64::from(*code))));
            }
            return Ok(Field::Command(UintMatch::parse(v)?));
        }
        let form = || KeywordError::Form {
            keyword: "cip_service",
            form: "SERVICE[,CLASS[,ATTRIBUTE]] (service under 128)",
        };
        let mut parts = v.split(',').map(str::trim);
        let service: u8 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .filter(|s| *s < 0x80)
            .ok_or_else(form)?;
        let number = |p: Option<&str>| -> Result<Option<u32>, KeywordError> {
            p.map(|p| p.parse().map_err(|_| form())).transpose()
        };
        let class = number(parts.next())?;
        // A negated attribute is accepted and ignored, as Suricata does.
        let attribute = match parts.next() {
            Some(a) if a.starts_with('!') => {
                number(Some(&a[1..]))?;
                None
            }
            a => number(a)?,
        };
        if parts.next().is_some() {
            return Err(form());
        }
        Ok(Field::CipService {
            service,
            class,
            attribute,
        })
    }

    pub fn matches(&self, pdu: &Pdu<'_>) -> bool {
        match *self {
            Field::Command(m) => m.matches(u64::from(pdu.command)),
            Field::Number(n, m) => n.matches(pdu, m),
            Field::CipService {
                service,
                class,
                attribute,
            } => pdu
                .cip()
                .is_some_and(|c| cip_matches(&c, service, class, attribute)),
        }
    }
}

/// How deep services nested in Multiple Service Packets and Unconnected Sends are looked for:
/// devices nest one or two levels; a message nesting thousands must not exhaust the stack.
const MAX_NESTING: u8 = 4;

fn cip_matches(c: &Cip<'_>, service: u8, class: Option<u32>, attribute: Option<u32>) -> bool {
    nested_matches(c, (service, class, attribute), 0)
}

fn nested_matches(c: &Cip<'_>, want: (u8, Option<u32>, Option<u32>), depth: u8) -> bool {
    let (service, class, attribute) = want;
    if c.service() == Some(service) {
        let has = |t: u8, v: u32| c.segments().any(|s| s.logical_type == t && s.value == v);
        return class.is_none_or(|k| has(Segment::CLASS, k))
            && attribute.is_none_or(|a| has(Segment::ATTRIBUTE, a));
    }
    depth < MAX_NESTING
        && c.carried()
            .skip(1)
            .any(|b| nested_matches(&b, want, depth + 1))
}

/// A command's name, for messages.
pub fn describe(command: u16) -> String {
    command_name(command).map_or_else(|| format!("{command:#06x}"), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoders::{Direction, Parsed, StreamParser};

    fn pdu_bytes(command: u16, cip: &[u8]) -> Vec<u8> {
        let mut d = vec![0, 0, 0, 0, 0x0a, 0, 2, 0, 0, 0, 0, 0, 0xb2, 0];
        d.extend_from_slice(&(cip.len() as u16).to_le_bytes());
        d.extend_from_slice(cip);
        let mut m = command.to_le_bytes().to_vec();
        m.extend_from_slice(&(d.len() as u16).to_le_bytes());
        m.extend_from_slice(&[0; 20]);
        m.extend_from_slice(&d);
        m
    }

    #[test]
    fn commands_and_services() {
        // Set_Attribute_Single (16) on class 0xf5, instance 1, attribute 3.
        let bytes = pdu_bytes(0x6f, &[0x10, 3, 0x20, 0xf5, 0x24, 0x01, 0x30, 0x03]);
        let Parsed::Pdu { pdu, .. } = decoders::enip::EnipParser.parse(Direction::ToServer, &bytes)
        else {
            panic!()
        };
        let f = |k: &str, v: &str| Field::parse(k, v).unwrap().matches(&pdu);
        assert!(f("enip_command", "111"));
        assert!(f("enip_command", "send_rr_data"));
        assert!(f("enip_command", ">100"));
        assert!(!f("enip_command", "list_identity"));
        assert!(f("cip_service", "16"));
        assert!(f("cip_service", "16, 245"));
        assert!(f("cip_service", "16,245,3"));
        assert!(f("cip_service", "16,245,!9"));
        assert!(!f("cip_service", "16,245,4"));
        assert!(!f("cip_service", "14"));
        assert!(Field::parse("cip_service", "200").is_err());
        assert!(Field::parse("cip_service", "x").is_err());
        assert!(Field::parse("cip_service", "1,2,3,4").is_err());
        assert!(Field::parse("enip_command", "sleep").is_err());
        assert_eq!(describe(0x63), "list_identity");
    }
}
