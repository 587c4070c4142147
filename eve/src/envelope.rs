//! The fields every event shares: when, which flow, which endpoints, which event, whose.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{EventType, Timestamp};

/// The 5-tuple of an event, oriented client → server for flow and transaction events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tuple {
    pub src_ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    pub dest_ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    pub proto: Proto,
}

/// An IP protocol number, spelled as Suricata does (`TCP`, `UDP`, `ICMP`, …, else the number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Proto(pub u8);

impl Proto {
    pub const TCP: Proto = Proto(6);
    pub const UDP: Proto = Proto(17);

    /// Suricata's names, by protocol number.
    const NAMES: [(u8, &'static str); 7] = [
        (1, "ICMP"),
        (6, "TCP"),
        (17, "UDP"),
        (58, "IPv6-ICMP"),
        (47, "GRE"),
        (50, "ESP"),
        (132, "SCTP"),
    ];

    pub fn name(self) -> Option<&'static str> {
        Self::NAMES
            .iter()
            .find(|(n, _)| *n == self.0)
            .map(|(_, name)| *name)
    }

    /// The protocol a name or a number spells.
    pub fn parse(s: &str) -> Option<Proto> {
        Self::NAMES
            .iter()
            .find(|(_, name)| *name == s)
            .map(|(n, _)| Proto(*n))
            .or_else(|| s.parse().ok().map(Proto))
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Proto {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.serialize_u8(self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Proto {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Spelled<'a> {
            Number(u8),
            Name(std::borrow::Cow<'a, str>),
        }
        match Spelled::deserialize(d)? {
            Spelled::Number(n) => Ok(Proto(n)),
            Spelled::Name(s) => Proto::parse(&s).ok_or_else(|| {
                serde::de::Error::custom(format!("{s:?} is not an IP protocol name or number"))
            }),
        }
    }
}

/// The fields every event shares. `B` adds the event-specific keys (flattened).
#[derive(Serialize)]
pub struct Event<'a, B: Serialize> {
    pub timestamp: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    pub event_type: EventType,
    #[serde(flatten)]
    pub tuple: Option<Tuple>,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    pub vlan: &'a [u16],
    /// The packet that completed what the event reports, numbered from 1 over the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'static str>,
    #[serde(flatten)]
    pub body: B,
}

impl<B: Serialize> Event<'static, B> {
    /// An event about no flow (a sensor's counters, an asset, a frame that did not decode).
    pub fn unattached(timestamp: Timestamp, event_type: EventType, body: B) -> Self {
        Event {
            timestamp,
            flow_id: None,
            event_type,
            tuple: None,
            vlan: &[],
            pcap_cnt: None,
            app_proto: None,
            body,
        }
    }
}

/// An event's id: the writer's run (its start in microseconds since the epoch) and the event's
/// number in that run, from 1. Spelled `{run:016x}-{seq}`, at most 37 characters. Unique to
/// its sensor: the collector knows an event by (sensor, event id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventId {
    pub run: u64,
    pub seq: u64,
}

impl EventId {
    /// Longest spelling: 16 hex digits, `-`, 20 decimal digits.
    pub const MAX_LEN: usize = 37;

    /// Spell the id into `buf`, without touching the heap.
    pub fn format(self, buf: &mut [u8; 40]) -> &str {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in buf[..16].iter_mut().enumerate() {
            *b = HEX[((self.run >> (60 - 4 * i)) & 15) as usize];
        }
        buf[16] = b'-';
        let mut digits = [0u8; 20];
        let mut n = self.seq;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for (dst, src) in buf[17..17 + len].iter_mut().zip(digits[..len].iter().rev()) {
            *dst = *src;
        }
        // Only ASCII hex digits, '-' and decimal digits were written.
        core::str::from_utf8(&buf[..17 + len]).unwrap_or("0000000000000000-0")
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.format(&mut [0; 40]))
    }
}

impl Serialize for EventId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.format(&mut [0; 40]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_id_spelling() {
        let mut buf = [0; 40];
        let id = EventId {
            run: 0x0006_1a2b_3c4d_5e6f,
            seq: 1,
        };
        assert_eq!(id.format(&mut buf), "00061a2b3c4d5e6f-1");
        let id = EventId {
            run: u64::MAX,
            seq: u64::MAX,
        };
        let s = id.format(&mut buf).to_owned();
        assert_eq!(s, format!("{:016x}-{}", u64::MAX, u64::MAX));
        assert_eq!(s.len(), EventId::MAX_LEN);
        for (run, seq) in [(0, 0), (1, 9), (12345, 10), (1 << 60, 1_000_000_007)] {
            let id = EventId { run, seq };
            assert_eq!(id.to_string(), format!("{run:016x}-{seq}"));
        }
    }

    #[test]
    fn proto_both_ways() {
        for p in [Proto::TCP, Proto::UDP, Proto(1), Proto(58), Proto(89)] {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Proto>(&json).unwrap(), p, "{json}");
        }
        assert_eq!(serde_json::to_string(&Proto::TCP).unwrap(), r#""TCP""#);
        assert_eq!(serde_json::to_string(&Proto(89)).unwrap(), "89");
        assert!(serde_json::from_str::<Proto>(r#""TCPX""#).is_err());
    }

    #[test]
    fn tuple_both_ways() {
        let t = Tuple {
            src_ip: "10.0.0.1".parse().unwrap(),
            src_port: Some(40000),
            dest_ip: "10.0.0.2".parse().unwrap(),
            dest_port: None,
            proto: Proto::UDP,
        };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","proto":"UDP"}"#
        );
        assert_eq!(serde_json::from_str::<Tuple>(&json).unwrap(), t);
    }
}
