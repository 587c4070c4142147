//! The EtherNet/IP keywords Suricata has had since version 3: `enip_command` (the
//! encapsulation command, a number or its name, with the usual comparisons) and
//! `cip_service:SERVICE[,CLASS[,ATTRIBUTE]]` (a CIP service, and the class and attribute of
//! its request path; services bundled in a Multiple Service Packet count). Both read the
//! message going the way the packet goes: a request to the server, a response to the client
//! (a response matches on its service alone: its path is the request's).

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
}

impl Field {
    pub const KEYWORDS: [&'static str; 4] = [
        "enip_command",
        "enip.command",
        "cip_service",
        "enip.cip_service",
    ];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
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

fn cip_matches(c: &Cip<'_>, service: u8, class: Option<u32>, attribute: Option<u32>) -> bool {
    if c.service() == Some(service) {
        let has = |t: u8, v: u32| c.segments().any(|s| s.logical_type == t && s.value == v);
        return class.is_none_or(|k| has(Segment::CLASS, k))
            && attribute.is_none_or(|a| has(Segment::ATTRIBUTE, a));
    }
    c.bundled()
        .any(|b| cip_matches(&b, service, class, attribute))
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
