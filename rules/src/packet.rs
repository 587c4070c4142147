//! Keywords on a packet's own headers, as Suricata's: `flags` (`tcp.flags`), `ttl`,
//! `ip_proto`, `itype`, `icode`, `icmp_id` and `icmp_seq`.
//!
//! They look at one packet, so a rule that uses one is a packet rule and never matches a
//! reassembled stream chunk or a transaction (where [`IpFields`] is absent).

use crate::num::{parse_number, UintMatch};
use crate::KeywordError;

/// What the header keywords read from the packet being inspected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpFields {
    /// IPv4 time-to-live, IPv6 hop limit.
    pub ttl: u8,
    /// IP protocol number of the transport (IPv6: the last next-header).
    pub proto: u8,
    /// The TCP flags byte, on a TCP packet.
    pub tcp_flags: Option<u8>,
    /// The ICMP (or ICMPv6) message's type and code, on an ICMP packet.
    pub icmp: Option<IcmpFields>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IcmpFields {
    pub kind: u8,
    pub code: u8,
    /// Identifier and sequence number, on the messages that carry them (echo, timestamp,
    /// information and address-mask requests and replies).
    pub id_seq: Option<(u16, u16)>,
}

impl IcmpFields {
    /// Reads the first bytes of an ICMP (`v6`: ICMPv6) message.
    pub fn read(message: &[u8], v6: bool) -> Option<IcmpFields> {
        let (&kind, &code) = (message.first()?, message.get(1)?);
        let carries = if v6 {
            matches!(kind, 128 | 129)
        } else {
            matches!(kind, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
        };
        let id_seq = match (carries, message.get(4..8)) {
            (true, Some(b)) => Some((
                u16::from_be_bytes([b[0], b[1]]),
                u16::from_be_bytes([b[2], b[3]]),
            )),
            _ => None,
        };
        Some(IcmpFields { kind, code, id_seq })
    }
}

/// How `flags` compares the packet's flags with the rule's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Modifier {
    /// Exactly these (the default).
    Exact,
    /// `+`: these, and any others.
    All,
    /// `*`: any of these.
    Any,
    /// `!`: not (all of) these.
    Not,
}

/// `flags:[!|*|+]<FSRPAUCE0>[,<FSRPAUCE>]`: the flags to test, and those to ignore.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags {
    modifier: Modifier,
    flags: u8,
    ignore: u8,
}

/// The TCP flag bits by their letters; `1` and `2` are Snort's old names for CWR and ECE.
fn flag_bit(c: char) -> Option<u8> {
    Some(match c.to_ascii_uppercase() {
        'F' => 0x01,
        'S' => 0x02,
        'R' => 0x04,
        'P' => 0x08,
        'A' => 0x10,
        'U' => 0x20,
        'E' | '2' => 0x40,
        'C' | '1' => 0x80,
        _ => return None,
    })
}

impl Flags {
    pub fn parse(value: &str) -> Result<Flags, KeywordError> {
        let form = || KeywordError::Form {
            keyword: "flags",
            form: "[!|*|+]<FSRPAUCE0>[,<FSRPAUCE>]",
        };
        let (test, ignore) = match value.trim().split_once(',') {
            Some((t, i)) => (t.trim(), Some(i.trim())),
            None => (value.trim(), None),
        };
        let mut modifier = Modifier::Exact;
        let mut flags = 0u8;
        let mut zero = false;
        // The modifier leads in Suricata's form and trails in Snort 2's (`A+`, `RSF*`); one.
        let mut modifiers = 0;
        for c in test.chars() {
            match c {
                '+' | '*' | '!' => {
                    modifiers += 1;
                    modifier = match c {
                        '+' => Modifier::All,
                        '*' => Modifier::Any,
                        _ => Modifier::Not,
                    }
                }
                '0' => zero = true,
                c => flags |= flag_bit(c).ok_or_else(form)?,
            }
        }
        if modifiers > 1
            || (flags == 0 && !zero)
            || (zero && (flags != 0 || modifier != Modifier::Exact))
        {
            return Err(form());
        }
        let mut mask = 0u8;
        for c in ignore.unwrap_or("").chars() {
            mask |= flag_bit(c).ok_or_else(form)?;
        }
        if ignore.is_some() && mask == 0 {
            return Err(form());
        }
        Ok(Flags {
            modifier,
            flags,
            ignore: mask,
        })
    }

    pub fn matches(self, packet: u8) -> bool {
        let p = packet & !self.ignore;
        match self.modifier {
            Modifier::Exact => p == self.flags,
            Modifier::All => p & self.flags == self.flags,
            Modifier::Any => p & self.flags != 0,
            Modifier::Not => p & self.flags != self.flags,
        }
    }
}

/// IP protocol names `ip_proto` takes besides numbers.
const PROTOCOLS: [(&str, u64); 12] = [
    ("icmp", 1),
    ("igmp", 2),
    ("ipip", 4),
    ("tcp", 6),
    ("egp", 8),
    ("udp", 17),
    ("ipv6", 41),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("ipv6-icmp", 58),
    ("sctp", 132),
];

/// One header keyword of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderMatch {
    Flags(Flags),
    Ttl(UintMatch),
    IpProto(UintMatch),
    Itype(UintMatch),
    Icode(UintMatch),
    IcmpId(u16),
    IcmpSeq(u16),
}

/// The header keywords, as rules name them.
pub const KEYWORDS: [&str; 8] = [
    "flags",
    "tcp.flags",
    "ttl",
    "ip_proto",
    "itype",
    "icode",
    "icmp_id",
    "icmp_seq",
];

/// The header keywords written without a value.
pub const NO_VALUE: [&str; 0] = [];

impl HeaderMatch {
    /// Reads `keyword:value` for one of [`KEYWORDS`].
    pub fn parse(keyword: &str, value: &str) -> Result<HeaderMatch, KeywordError> {
        let byte = |m: UintMatch| -> Result<UintMatch, KeywordError> {
            let too_large = |n: u64| n > 255;
            let over = match m {
                UintMatch::Eq(n)
                | UintMatch::Ne(n)
                | UintMatch::Lt(n)
                | UintMatch::Le(n)
                | UintMatch::Gt(n)
                | UintMatch::Ge(n) => too_large(n),
                UintMatch::Between(a, b) => too_large(a) || too_large(b),
            };
            if over {
                return Err(KeywordError::OutOfRange {
                    value: value.trim().into(),
                    min: 0,
                    max: 255,
                });
            }
            Ok(m)
        };
        let u16_of = |v: &str| -> Result<u16, KeywordError> {
            let n = parse_number(v.trim())?;
            u16::try_from(n).map_err(|_| KeywordError::OutOfRange {
                value: v.trim().into(),
                min: 0,
                max: 65535,
            })
        };
        Ok(match keyword {
            "flags" | "tcp.flags" => HeaderMatch::Flags(Flags::parse(value)?),
            "ttl" => HeaderMatch::Ttl(byte(UintMatch::parse(value)?)?),
            "itype" => HeaderMatch::Itype(byte(UintMatch::parse(value)?)?),
            "icode" => HeaderMatch::Icode(byte(UintMatch::parse(value)?)?),
            "icmp_id" => HeaderMatch::IcmpId(u16_of(value)?),
            "icmp_seq" => HeaderMatch::IcmpSeq(u16_of(value)?),
            _ => {
                // `ip_proto:[!|<|>]NUMBER|NAME`.
                let v = value.trim();
                let (op, name) = match v.chars().next() {
                    Some(c @ ('!' | '<' | '>')) => (Some(c), v[1..].trim()),
                    _ => (None, v),
                };
                let n = PROTOCOLS
                    .iter()
                    .find(|(p, _)| p.eq_ignore_ascii_case(name))
                    .map(|(_, n)| *n)
                    .map_or_else(|| parse_number(name), Ok)?;
                let m = match op {
                    Some('!') => UintMatch::Ne(n),
                    Some('<') => UintMatch::Lt(n),
                    Some('>') => UintMatch::Gt(n),
                    _ => UintMatch::Eq(n),
                };
                HeaderMatch::IpProto(byte(m)?)
            }
        })
    }

    /// Whether the packet's headers satisfy the keyword; no headers (a stream chunk, a
    /// transaction) satisfy none.
    pub fn matches(self, ip: Option<&IpFields>) -> bool {
        let Some(ip) = ip else { return false };
        match self {
            HeaderMatch::Flags(f) => ip.tcp_flags.is_some_and(|p| f.matches(p)),
            HeaderMatch::Ttl(m) => m.matches(u64::from(ip.ttl)),
            HeaderMatch::IpProto(m) => m.matches(u64::from(ip.proto)),
            HeaderMatch::Itype(m) => ip.icmp.is_some_and(|i| m.matches(u64::from(i.kind))),
            HeaderMatch::Icode(m) => ip.icmp.is_some_and(|i| m.matches(u64::from(i.code))),
            HeaderMatch::IcmpId(id) => ip.icmp.and_then(|i| i.id_seq).is_some_and(|(i, _)| i == id),
            HeaderMatch::IcmpSeq(s) => ip.icmp.and_then(|i| i.id_seq).is_some_and(|(_, q)| q == s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: u8 = 0x02;
    const SYN_ACK: u8 = 0x12;
    const ECN_SYN: u8 = 0xc2;

    fn f(s: &str) -> Flags {
        Flags::parse(s).unwrap()
    }

    #[test]
    fn tcp_flags_as_suricata_reads_them() {
        assert!(f("S").matches(SYN));
        assert!(!f("S").matches(SYN_ACK), "exactly S");
        assert!(!f("S").matches(ECN_SYN));
        assert!(f("S,CE").matches(ECN_SYN), "CWR and ECE ignored");
        assert!(f("S,12").matches(ECN_SYN), "Snort's old names");
        assert!(f("+S").matches(SYN_ACK));
        assert!(f("*SA").matches(SYN));
        assert!(!f("*FR").matches(SYN_ACK));
        assert!(f("!A").matches(SYN));
        assert!(!f("!A").matches(SYN_ACK));
        assert!(f("SA").matches(SYN_ACK));
        assert!(f("0").matches(0));
        assert!(!f("0").matches(SYN));
        assert!(f("FPU").matches(0x29));
        assert_eq!(f("A+"), f("+A"), "Snort 2 puts the modifier last");
        assert_eq!(f("RSF*"), f("*RSF"));
        for bad in ["", "X", "S,", "+0", "S0", "S,X", "+S*"] {
            assert!(Flags::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn header_keywords_read_and_match() {
        let icmp = IpFields {
            ttl: 64,
            proto: 1,
            tcp_flags: None,
            icmp: IcmpFields::read(&[8, 0, 0, 0, 0x12, 0x34, 0, 7], false),
        };
        let m = |k: &str, v: &str| HeaderMatch::parse(k, v).unwrap().matches(Some(&icmp));
        assert!(m("itype", "8") && !m("itype", "0") && m("itype", ">7"));
        assert!(m("icode", "0") && m("icode", "<1"));
        assert!(m("icmp_id", "4660") && m("icmp_seq", "7") && !m("icmp_seq", "8"));
        assert!(m("ttl", "64") && m("ttl", "<65") && !m("ttl", ">64") && m("ttl", "10-100"));
        assert!(m("ip_proto", "1") && m("ip_proto", "icmp") && m("ip_proto", "!6"));
        assert!(!m("flags", "S"), "no TCP flags on an ICMP packet");
        assert!(!HeaderMatch::parse("ttl", "1").unwrap().matches(None));
        assert!(HeaderMatch::parse("ttl", "300").is_err());
        assert!(HeaderMatch::parse("icmp_id", "70000").is_err());
        assert!(HeaderMatch::parse("ip_proto", "bogus").is_err());
        // An ICMP error message carries no identifier.
        let unreachable = IcmpFields::read(&[3, 1, 0, 0, 0, 0, 0, 0], false).unwrap();
        assert_eq!(unreachable.id_seq, None);
        assert_eq!(
            IcmpFields::read(&[128, 0, 0, 0, 0, 1, 0, 2], true)
                .unwrap()
                .id_seq,
            Some((1, 2))
        );
        assert!(IcmpFields::read(&[8], false).is_none());
    }
}
