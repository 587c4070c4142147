//! Keywords on a packet's own headers, as Suricata's: IP `ttl`, `ip_proto`, `id`, `fragbits`,
//! `fragoffset`, `ipopts` and `sameip`; TCP `flags` (`tcp.flags`), `seq`, `ack` and `window`;
//! ICMP `itype`, `icode`, `icmp_id` and `icmp_seq`.
//!
//! They look at one packet, so a rule that uses one is a packet rule and never matches a
//! reassembled stream chunk or a transaction (where [`IpFields`] is absent). `id`, `fragbits`,
//! `fragoffset` and `ipopts` read the IPv4 header and match nothing on IPv6, as in Suricata.

use std::ops::Range;

use crate::num::{parse_number, UintMatch};
use crate::KeywordError;

/// What the header keywords read from the packet being inspected. Plain values, read once per
/// packet: nothing here borrows from or allocates for the packet.
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
    /// The IPv4 header's identification, fragment word and options; `None` on IPv6.
    pub ipv4: Option<Ipv4Fields>,
    /// The TCP header's numbers and window, on a TCP packet.
    pub tcp: Option<TcpFields>,
    /// Whether the source address is the destination address (`sameip`), compared once by
    /// whoever has the addresses.
    pub same_addr: bool,
    /// On a TCP packet of a tracked session: how far each side's stream has come, in
    /// Suricata's measure for `stream_size` (its sequence number past its SYN's: data bytes
    /// plus one), the client's first.
    pub stream: Option<[u64; 2]>,
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

/// The TCP header's sequence and acknowledgement numbers and (unscaled) window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFields {
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
}

/// What `id`, `fragbits`, `fragoffset` and `ipopts` read of an IPv4 header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ipv4Fields {
    pub identification: u16,
    /// The flags and fragment offset word: the reserved, don't-fragment and more-fragments
    /// bits, then the offset in 8-byte units.
    pub frag: u16,
    pub options: IpOptions,
}

/// Byte ranges of the IPv4 header.
mod field {
    use std::ops::Range;
    pub const IDENTIFICATION: Range<usize> = 4..6;
    pub const FRAG: Range<usize> = 6..8;
    /// Where options start, after the fixed header.
    pub const OPTIONS: usize = 20;
}

const RESERVED: u16 = 0x8000;
const DONT_FRAGMENT: u16 = 0x4000;
const MORE_FRAGMENTS: u16 = 0x2000;
const OFFSET: u16 = 0x1fff;

impl Ipv4Fields {
    /// Reads an IPv4 header, options included as far as its header length says; `None` when
    /// it is not IPv4 or is cut short.
    pub fn read(header: &[u8]) -> Option<Ipv4Fields> {
        let &first = header.first()?;
        let len = usize::from(first & 0x0f) * 4;
        if first >> 4 != 4 || len < field::OPTIONS {
            return None;
        }
        let header = header.get(..len)?;
        let word = |r: Range<usize>| header.get(r).map(|b| u16::from_be_bytes([b[0], b[1]]));
        Some(Ipv4Fields {
            identification: word(field::IDENTIFICATION)?,
            frag: word(field::FRAG)?,
            options: IpOptions::read(header.get(field::OPTIONS..)?),
        })
    }

    /// The header Suricata gives a datagram it reassembled, from the header of the fragment
    /// that completed it: the fragment word zeroed (no flag, no offset), and the first
    /// fragment's options — all of this one's if it is the first, else those RFC 791 copies
    /// into every fragment.
    pub fn reassembled(self) -> Ipv4Fields {
        Ipv4Fields {
            frag: 0,
            options: if self.frag & OFFSET == 0 {
                self.options
            } else {
                self.options.copied()
            },
            ..self
        }
    }

    /// The fragment bits as `fragbits` names them.
    fn fragbits(self) -> u8 {
        let bit = |mask: u16, b: u8| if self.frag & mask != 0 { b } else { 0 };
        bit(MORE_FRAGMENTS, FRAG_M) | bit(DONT_FRAGMENT, FRAG_D) | bit(RESERVED, FRAG_R)
    }
}

/// The IPv4 options a header carries, one bit per kind of [`OPTION_KINDS`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpOptions(u16);

/// The option kinds Suricata's decoder records, by type octet, in bit order, with the name
/// `ipopts` gives them. Quick-start, CIPSO and router alert have none: only `any` sees them.
const OPTION_KINDS: [(u8, Option<&str>); 12] = [
    (0, Some("eol")),
    (1, Some("nop")),
    (7, Some("rr")),
    (68, Some("ts")),
    (130, Some("sec")),
    (131, Some("lsrr")),
    (133, Some("esec")),
    (136, Some("satid")),
    (137, Some("ssrr")),
    (25, None),
    (134, None),
    (148, None),
];

/// The type octet's copied flag: the option is in every fragment, not only the first.
const COPIED: u8 = 0x80;

impl IpOptions {
    /// Every kind: what `ipopts:any` asks for.
    const ANY: IpOptions = IpOptions((1 << OPTION_KINDS.len()) - 1);

    /// Reads an options area as Suricata's decoder does: EOL ends it, NOP is one byte, every
    /// other option gives its own length. An option that fails its kind's checks is not
    /// recorded, nor is a kind Suricata does not know; a length that cannot be (under 2, past
    /// the area) ends the reading with what came before.
    pub fn read(mut area: &[u8]) -> IpOptions {
        let mut set = IpOptions::default();
        while let Some(&kind) = area.first() {
            let len = match (kind, area.get(1)) {
                (0, _) => {
                    set = set.with(kind);
                    break;
                }
                (1, _) => 1,
                (_, Some(&len)) if len >= 2 => usize::from(len),
                _ => break,
            };
            let Some(option) = area.get(..len) else { break };
            if well_formed(option) {
                set = set.with(kind);
            }
            area = area.get(len..).unwrap_or_default();
        }
        set
    }

    /// `ipopts:<name>`: one kind by its name, or `any`.
    fn parse(value: &str) -> Result<IpOptions, KeywordError> {
        let v = value.trim();
        if v.eq_ignore_ascii_case("any") {
            return Ok(IpOptions::ANY);
        }
        OPTION_KINDS
            .iter()
            .position(|(_, name)| name.is_some_and(|n| n.eq_ignore_ascii_case(v)))
            .map(|i| IpOptions(1 << i))
            .ok_or_else(|| KeywordError::Unknown {
                what: "IP option",
                value: v.into(),
                hint: Some("rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid or any"),
            })
    }

    /// This set with the option of type `kind`, if it is a kind Suricata records.
    fn with(self, kind: u8) -> IpOptions {
        match OPTION_KINDS.iter().position(|(k, _)| *k == kind) {
            Some(i) => IpOptions(self.0 | (1 << i)),
            None => self,
        }
    }

    /// The options of this set that every fragment carries.
    fn copied(self) -> IpOptions {
        let mut out = IpOptions::default();
        for (i, (kind, _)) in OPTION_KINDS.iter().enumerate() {
            if kind & COPIED != 0 {
                out.0 |= self.0 & (1 << i);
            }
        }
        out
    }

    fn intersects(self, other: IpOptions) -> bool {
        self.0 & other.0 != 0
    }
}

/// Suricata's checks of one option (type, length, data…): a route option points at a 4-byte
/// slot inside it, a timestamp at a record of the size its flag says, a fixed-size option has
/// its size. CIPSO's tags are not walked, only its least length.
fn well_formed(option: &[u8]) -> bool {
    let len = option.len();
    let pointer = option.get(2).map_or(0, |&p| usize::from(p));
    match option.first() {
        // Record route, loose and strict source route.
        Some(7 | 131 | 137) => {
            len >= 3 && pointer >= 4 && pointer.is_multiple_of(4) && pointer <= len + 1
        }
        // Timestamp: flag 1 or 3 records an address with each time.
        Some(68) => {
            let record = match option.get(3).map(|f| f & 0x0f) {
                Some(1 | 3) => 8,
                _ => 4,
            };
            len >= 5 && pointer >= 5 && (pointer - 5).is_multiple_of(record) && pointer <= len + 1
        }
        // Security, extended security.
        Some(130 | 133) => len >= 3,
        // Stream identifier, router alert.
        Some(136 | 148) => len == 4,
        // Quick-start.
        Some(25) => len >= 8,
        // CIPSO.
        Some(134) => len >= 10,
        _ => true,
    }
}

/// How `flags` (and `fragbits`) compare the packet's bits with the rule's.
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

/// The fragment bits as `fragbits` writes them.
const FRAG_M: u8 = 0x01;
const FRAG_D: u8 = 0x02;
const FRAG_R: u8 = 0x04;

/// `fragbits:[!|*|+]<MDR>`: the IPv4 more-fragments, don't-fragment and reserved bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FragBits {
    modifier: Modifier,
    bits: u8,
}

impl FragBits {
    pub fn parse(value: &str) -> Result<FragBits, KeywordError> {
        let form = || KeywordError::Form {
            keyword: "fragbits",
            form: "[!|*|+]<MDR>",
        };
        let v = value.trim();
        let (modifier, rest) = match v.as_bytes().first() {
            Some(b'+') => (Modifier::All, &v[1..]),
            Some(b'*') => (Modifier::Any, &v[1..]),
            Some(b'!') => (Modifier::Not, &v[1..]),
            _ => (Modifier::Exact, v),
        };
        // Snort 2 put the modifier last (`M+`); Suricata's parser stops before it, so that
        // `M+` is `M` there, and here, so that both raise the same alerts.
        let rest = rest.trim_start();
        let rest = rest
            .strip_suffix(['+', '*', '!'])
            .unwrap_or(rest)
            .trim_end();
        let mut bits = 0;
        for c in rest.chars() {
            bits |= match c.to_ascii_uppercase() {
                'M' => FRAG_M,
                'D' => FRAG_D,
                'R' => FRAG_R,
                _ => return Err(form()),
            };
        }
        if bits == 0 {
            return Err(form());
        }
        Ok(FragBits { modifier, bits })
    }

    pub fn matches(self, packet: u8) -> bool {
        let hit = packet & self.bits;
        match self.modifier {
            Modifier::Exact => packet == self.bits,
            // Unlike `flags`, Suricata's `fragbits:+` wants at least one bit besides these.
            Modifier::All => hit == self.bits && packet != self.bits,
            Modifier::Any => hit != 0,
            Modifier::Not => hit != self.bits,
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
    /// `id`: the IPv4 identification.
    Id(u16),
    FragBits(FragBits),
    /// `fragoffset`: the IPv4 fragment offset field, in 8-byte units.
    FragOffset(UintMatch),
    /// Any of these options (one kind, or all of them for `any`).
    IpOpts(IpOptions),
    SameIp,
    Seq(u32),
    Ack(u32),
    Window(UintMatch),
    /// `stream_size`: which side's stream (`client`, `server`, `both`, `either`) and how it
    /// compares.
    StreamSize(StreamSide, UintMatch),
}

/// The stream sides `stream_size` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamSide {
    Client,
    Server,
    Both,
    Either,
}

/// `stream_size:SIDE,OP,N`: OP one of `<` `>` `=` `!=` `<=` `>=`.
fn stream_size(value: &str) -> Result<HeaderMatch, KeywordError> {
    let form = || KeywordError::Form {
        keyword: "stream_size",
        form: "client|server|both|either, <|>|=|!=|<=|>=, N",
    };
    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
    let [side, op, n] = parts.as_slice() else {
        return Err(form());
    };
    let side = match *side {
        "client" => StreamSide::Client,
        "server" => StreamSide::Server,
        "both" => StreamSide::Both,
        "either" => StreamSide::Either,
        _ => return Err(form()),
    };
    let n = parse_number(n)?;
    let m = match *op {
        "<" => UintMatch::Lt(n),
        ">" => UintMatch::Gt(n),
        "=" => UintMatch::Eq(n),
        "!=" => UintMatch::Ne(n),
        "<=" => UintMatch::Le(n),
        ">=" => UintMatch::Ge(n),
        _ => return Err(form()),
    };
    Ok(HeaderMatch::StreamSize(side, m))
}

/// The header keywords, as rules name them.
pub const KEYWORDS: [&str; 20] = [
    "flags",
    "tcp.flags",
    "ttl",
    "ip_proto",
    "itype",
    "icode",
    "icmp_id",
    "icmp_seq",
    "id",
    "fragbits",
    "fragoffset",
    "stream_size",
    "ipopts",
    "sameip",
    "seq",
    "tcp.seq",
    "ack",
    "tcp.ack",
    "window",
    "tcp.window",
];

/// The header keywords written without a value.
pub const NO_VALUE: [&str; 1] = ["sameip"];

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
        Ok(match keyword {
            "flags" | "tcp.flags" => HeaderMatch::Flags(Flags::parse(value)?),
            "ttl" => HeaderMatch::Ttl(byte(UintMatch::parse(value)?)?),
            "itype" => HeaderMatch::Itype(byte(UintMatch::parse(value)?)?),
            "icode" => HeaderMatch::Icode(byte(UintMatch::parse(value)?)?),
            "icmp_id" => HeaderMatch::IcmpId(number(value, u16::MAX)?),
            "icmp_seq" => HeaderMatch::IcmpSeq(number(value, u16::MAX)?),
            // Suricata also takes the number in double quotes.
            "id" => {
                let v = value.trim();
                let v = v
                    .strip_prefix('"')
                    .and_then(|q| q.strip_suffix('"'))
                    .unwrap_or(v);
                HeaderMatch::Id(number(v, u16::MAX)?)
            }
            "fragbits" => HeaderMatch::FragBits(FragBits::parse(value)?),
            "stream_size" => stream_size(value)?,
            "fragoffset" => HeaderMatch::FragOffset(comparison(value, &['!', '<', '>'], 65535)?),
            "ipopts" => HeaderMatch::IpOpts(IpOptions::parse(value)?),
            "sameip" => match value.trim() {
                "" => HeaderMatch::SameIp,
                v => {
                    return Err(KeywordError::TakesNoValue {
                        keyword: "sameip",
                        value: v.into(),
                    })
                }
            },
            "seq" | "tcp.seq" => HeaderMatch::Seq(number(value, u32::MAX)?),
            "ack" | "tcp.ack" => HeaderMatch::Ack(number(value, u32::MAX)?),
            "window" | "tcp.window" => HeaderMatch::Window(comparison(value, &['!'], 65535)?),
            "ip_proto" => {
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
            k => return Err(KeywordError::unknown("header keyword", k)),
        })
    }

    /// Whether the packet's headers satisfy the keyword; no headers (a stream chunk, a
    /// transaction) satisfy none.
    pub fn matches(self, ip: Option<&IpFields>) -> bool {
        let Some(ip) = ip else { return false };
        let v4 = ip.ipv4;
        let tcp = ip.tcp;
        match self {
            HeaderMatch::Flags(f) => ip.tcp_flags.is_some_and(|p| f.matches(p)),
            HeaderMatch::Ttl(m) => m.matches(u64::from(ip.ttl)),
            HeaderMatch::IpProto(m) => m.matches(u64::from(ip.proto)),
            HeaderMatch::Itype(m) => ip.icmp.is_some_and(|i| m.matches(u64::from(i.kind))),
            HeaderMatch::Icode(m) => ip.icmp.is_some_and(|i| m.matches(u64::from(i.code))),
            HeaderMatch::IcmpId(id) => ip.icmp.and_then(|i| i.id_seq).is_some_and(|(i, _)| i == id),
            HeaderMatch::IcmpSeq(s) => ip.icmp.and_then(|i| i.id_seq).is_some_and(|(_, q)| q == s),
            HeaderMatch::Id(id) => v4.is_some_and(|h| h.identification == id),
            HeaderMatch::FragBits(f) => v4.is_some_and(|h| f.matches(h.fragbits())),
            HeaderMatch::FragOffset(m) => v4.is_some_and(|h| m.matches(u64::from(h.frag & OFFSET))),
            HeaderMatch::IpOpts(o) => v4.is_some_and(|h| h.options.intersects(o)),
            HeaderMatch::SameIp => ip.same_addr,
            HeaderMatch::Seq(n) => tcp.is_some_and(|t| t.seq == n),
            HeaderMatch::Ack(n) => tcp.is_some_and(|t| t.ack == n),
            HeaderMatch::Window(m) => tcp.is_some_and(|t| m.matches(u64::from(t.window))),
            HeaderMatch::StreamSize(side, m) => ip.stream.is_some_and(|[c, s]| match side {
                StreamSide::Client => m.matches(c),
                StreamSide::Server => m.matches(s),
                StreamSide::Both => m.matches(c) && m.matches(s),
                StreamSide::Either => m.matches(c) || m.matches(s),
            }),
        }
    }
}

/// A number from 0 to `max` (the type's largest), in decimal or `0x` hex.
fn number<T: TryFrom<u64> + Into<u64>>(value: &str, max: T) -> Result<T, KeywordError> {
    let v = value.trim();
    let n = parse_number(v)?;
    T::try_from(n).map_err(|_| KeywordError::OutOfRange {
        value: v.into(),
        min: 0,
        max: max.into(),
    })
}

/// `[OP]N` with OP one of `ops` (`!`, `<`, `>`), N from 0 to `max`: how `fragoffset` and
/// `window` compare.
fn comparison(value: &str, ops: &[char], max: u64) -> Result<UintMatch, KeywordError> {
    let v = value.trim();
    let (op, n) = match v.chars().next() {
        Some(c) if ops.contains(&c) => (Some(c), v[1..].trim_start()),
        _ => (None, v),
    };
    let n = parse_number(n)?;
    if n > max {
        return Err(KeywordError::OutOfRange {
            value: v.into(),
            min: 0,
            max,
        });
    }
    Ok(match op {
        Some('!') => UintMatch::Ne(n),
        Some('<') => UintMatch::Lt(n),
        Some('>') => UintMatch::Gt(n),
        _ => UintMatch::Eq(n),
    })
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
            ..IpFields::default()
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

    /// An IPv4 header (28 bytes) with identification 0x1234, DF, and options: record route
    /// with room for one address, then the end of the list.
    const HEADER_RR: [u8; 28] = [
        0x47, 0, 0, 28, 0x12, 0x34, 0x40, 0x00, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, //
        7, 7, 4, 0, 0, 0, 0, 0,
    ];

    /// The options of `set` by name (the unnamed ones by their type), sorted.
    fn names(set: IpOptions) -> Vec<String> {
        let mut v: Vec<String> = OPTION_KINDS
            .iter()
            .enumerate()
            .filter(|(i, _)| set.0 & (1 << i) != 0)
            .map(|(_, (kind, name))| name.map_or_else(|| kind.to_string(), str::to_owned))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn ipv4_options_as_suricata_records_them() {
        let cases: [(&[u8], &[&str]); 13] = [
            (&[], &[]),
            (&[0, 0, 0, 0], &["eol"]),
            (&[1, 1, 1, 0], &["eol", "nop"]),
            // Timestamps only (flag 0): the pointer at the first 4-byte record.
            (&[68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0], &["ts"]),
            // Address and timestamp (flag 1): records of 8; pointer 9 is inside one.
            (&[68, 12, 9, 1, 0, 0, 0, 0, 0, 0, 0, 0], &[]),
            (&[131, 7, 4, 10, 0, 0, 3, 1], &["lsrr", "nop"]),
            (&[137, 7, 8, 10, 0, 0, 3, 0], &["eol", "ssrr"]),
            (&[25, 8, 0, 0, 0, 0, 0, 0], &["25"]),
            // A route pointer off a 4-byte slot: not recorded, the rest still read.
            (&[7, 7, 5, 0, 0, 0, 0, 0], &["eol"]),
            (&[136, 4, 0, 1, 148, 4, 0, 0], &["148", "satid"]),
            (
                &[130, 3, 0, 133, 3, 0, 1, 0],
                &["eol", "esec", "nop", "sec"],
            ),
            // An unknown kind is skipped by its length; a length under 2 ends the reading.
            (&[0x99, 4, 0, 0, 1, 1, 0, 7], &["eol", "nop"]),
            (&[1, 7, 1, 7, 7, 4, 0, 0], &["nop"]),
        ];
        for (area, want) in cases {
            assert_eq!(names(IpOptions::read(area)), want, "{area:?}");
        }
        // A length past the area ends it, as does one cut in the middle.
        assert_eq!(names(IpOptions::read(&[1, 7, 40, 4])), ["nop"]);
        assert_eq!(names(IpOptions::read(&[1, 7])), ["nop"]);
    }

    #[test]
    fn ipv4_header_reads_and_never_panics() {
        let h = Ipv4Fields::read(&HEADER_RR).unwrap();
        assert_eq!((h.identification, h.frag), (0x1234, 0x4000));
        assert_eq!(names(h.options), ["eol", "rr"]);
        assert_eq!(h.fragbits(), FRAG_D);
        // The options are read only as far as the header length says.
        let mut short = HEADER_RR;
        short[0] = 0x45;
        assert_eq!(
            Ipv4Fields::read(&short).unwrap().options,
            IpOptions::default()
        );
        let mut v6 = HEADER_RR;
        v6[0] = 0x67;
        assert_eq!(Ipv4Fields::read(&v6), None);
        let mut tiny = HEADER_RR;
        tiny[0] = 0x44;
        assert_eq!(Ipv4Fields::read(&tiny), None, "a header length under 20");
        for cut in 0..HEADER_RR.len() {
            assert_eq!(Ipv4Fields::read(&HEADER_RR[..cut]), None, "cut at {cut}");
        }
        for kind in 0..=255u8 {
            for len in 0..=12u8 {
                let area = [kind, len, 4, 1, 0, 0, 0, 0, 0, 0, 0];
                for cut in 0..=area.len() {
                    let _ = IpOptions::read(&area[..cut]);
                }
            }
        }
    }

    #[test]
    fn reassembled_datagrams_look_as_in_suricata() {
        // The first fragment completing the datagram: MF, offset 0, record route and LSRR.
        let mut first = Ipv4Fields::read(&HEADER_RR).unwrap();
        first.frag = MORE_FRAGMENTS;
        first.options = IpOptions::read(&[7, 7, 4, 0, 0, 0, 0, 131, 7, 4, 10, 0, 0, 3]);
        let r = first.reassembled();
        assert_eq!(
            (r.identification, r.frag, r.options),
            (0x1234, 0, first.options)
        );
        // A later fragment: only the options copied into every fragment are the first's.
        let later = Ipv4Fields { frag: 185, ..first }.reassembled();
        assert_eq!(names(later.options), ["lsrr"]);
        assert_eq!((later.frag, later.fragbits()), (0, 0));
    }

    fn fb(s: &str) -> FragBits {
        FragBits::parse(s).unwrap()
    }

    #[test]
    fn fragbits_as_suricata_reads_them() {
        const MF: u8 = FRAG_M;
        const DF: u8 = FRAG_D;
        const RF: u8 = FRAG_R;
        assert!(fb("M").matches(MF) && !fb("M").matches(MF | RF) && !fb("M").matches(0));
        assert!(fb("D").matches(DF) && fb("DR").matches(DF | RF) && fb("RD").matches(RF | DF));
        assert!(fb("!D").matches(0) && fb("!D").matches(MF) && !fb("!D").matches(DF));
        assert!(fb("!MD").matches(MF), "not both");
        assert!(fb("*MR").matches(RF) && !fb("*MR").matches(DF));
        // `+`: these and at least one other.
        assert!(fb("+D").matches(DF | RF) && !fb("+D").matches(DF) && !fb("+D").matches(RF));
        // Snort 2's trailing modifier is dropped, as Suricata's parser drops it.
        assert_eq!(fb("M+"), fb("M"));
        assert_eq!(fb(" ! M "), fb("!M"));
        assert_eq!(fb("m"), fb("M"));
        for bad in ["", "+", "X", "MX", "!!M", "M,D", "+*M", "M++"] {
            assert_eq!(
                FragBits::parse(bad),
                Err(KeywordError::Form {
                    keyword: "fragbits",
                    form: "[!|*|+]<MDR>"
                }),
                "{bad:?}"
            );
        }
    }

    /// A TCP segment over IPv4 from 10.0.0.1 to 10.0.0.2: identification 0x1234, DF, record
    /// route; sequence 1000, acknowledgement 0, window 2048.
    fn tcp_over_ipv4() -> IpFields {
        IpFields {
            ttl: 64,
            proto: 6,
            tcp_flags: Some(0x02),
            ipv4: Ipv4Fields::read(&HEADER_RR),
            tcp: Some(TcpFields {
                seq: 1000,
                ack: 0,
                window: 2048,
            }),
            ..IpFields::default()
        }
    }

    #[test]
    fn ip_and_tcp_keywords_read_and_match() {
        let pkt = tcp_over_ipv4();
        let m = |k: &str, v: &str| HeaderMatch::parse(k, v).unwrap().matches(Some(&pkt));
        assert!(m("id", "4660") && m("id", "0x1234") && m("id", " \"4660\" ") && !m("id", "1"));
        assert!(m("fragbits", "D") && m("fragbits", "!M") && !m("fragbits", "M"));
        assert!(m("fragoffset", "0") && m("fragoffset", "<1") && !m("fragoffset", ">0"));
        assert!(m("fragoffset", "!5") && !m("fragoffset", "!0"));
        assert!(m("ipopts", "rr") && m("ipopts", "EOL") && m("ipopts", "any"));
        assert!(!m("ipopts", "lsrr") && !m("ipopts", "ts") && !m("ipopts", "ssrr"));
        assert!(m("seq", "1000") && m("tcp.seq", "1000") && !m("seq", "999"));
        assert!(m("ack", "0") && m("tcp.ack", "0") && !m("ack", "1"));
        assert!(m("window", "2048") && m("tcp.window", "!1024") && !m("window", "!2048"));
        assert!(!m("sameip", ""));
        let looped = IpFields {
            same_addr: true,
            stream: None,
            ..pkt
        };
        assert!(HeaderMatch::SameIp.matches(Some(&looped)));

        // A packet without options, fragmented: the more-fragments bit and an offset.
        let fragment = IpFields {
            ipv4: Some(Ipv4Fields {
                identification: 242,
                frag: MORE_FRAGMENTS | 185,
                options: IpOptions::default(),
            }),
            ..pkt
        };
        let f = |k: &str, v: &str| HeaderMatch::parse(k, v).unwrap().matches(Some(&fragment));
        assert!(f("fragbits", "M") && f("fragbits", "M+") && f("id", "242"));
        assert!(f("fragoffset", "185") && f("fragoffset", ">0") && !f("fragoffset", "<185"));
        assert!(!f("ipopts", "any"), "no options, nothing for `any`");

        // IPv6 has no identification, fragment word or options in its header; a UDP packet
        // has no sequence, acknowledgement or window.
        let v6_udp = IpFields {
            ttl: 64,
            proto: 17,
            same_addr: true,
            stream: None,
            ..IpFields::default()
        };
        let n = |k: &str, v: &str| HeaderMatch::parse(k, v).unwrap().matches(Some(&v6_udp));
        for (k, v) in [
            ("id", "0"),
            ("fragbits", "!M"),
            ("fragoffset", "0"),
            ("ipopts", "any"),
            ("seq", "0"),
            ("ack", "0"),
            ("window", "!1"),
        ] {
            assert!(!n(k, v), "{k}:{v} on IPv6 UDP");
        }
        assert!(n("sameip", ""), "sameip is IPv6's too");
        assert!(!HeaderMatch::SameIp.matches(None), "not on a stream chunk");
    }

    #[test]
    fn ip_and_tcp_keywords_refuse_bad_values() {
        let e = |k: &str, v: &str| HeaderMatch::parse(k, v).unwrap_err();
        let range = |v: &str, max: u64| KeywordError::OutOfRange {
            value: v.into(),
            min: 0,
            max,
        };
        let nan = |v: &str| KeywordError::NotANumber { value: v.into() };
        assert_eq!(e("id", "70000"), range("70000", 65535));
        assert_eq!(e("id", "12what?"), nan("12what?"));
        assert_eq!(e("id", "\"12"), nan("\"12"));
        assert_eq!(e("seq", "4294967296"), range("4294967296", 4294967295));
        assert_eq!(e("ack", "-100"), nan("-100"));
        assert_eq!(e("ack", "foo"), nan("foo"));
        assert_eq!(e("window", "1235402"), range("1235402", 65535));
        assert_eq!(e("window", "!70000"), range("!70000", 65535));
        assert_eq!(e("window", "<5"), nan("<5"), "window takes only `!`");
        assert_eq!(e("window", ""), nan(""));
        assert_eq!(e("fragoffset", ">x"), nan("x"));
        assert_eq!(e("fragoffset", "<=5"), nan("=5"));
        assert_eq!(
            e("ipopts", "bogus").to_string(),
            "unknown IP option `bogus` (rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid or any)"
        );
        assert_eq!(
            e("sameip", "yes"),
            KeywordError::TakesNoValue {
                keyword: "sameip",
                value: "yes".into()
            }
        );
        assert!(matches!(e("fragbits", "Q"), KeywordError::Form { .. }));
    }

    #[test]
    fn et_open_forms_load_in_rules() {
        let text = "\
alert ip any any -> any any (msg:\"same\"; sameip; sid:1;)
alert tcp any any -> any any (fragbits:!D; dsize:0; flags:S,12; ack:0; window:2048; sid:2;)
alert tcp any any -> any any (fragbits: !M; fragoffset: >0; sid:3;)
alert ip any any -> any any (fragbits:M+; ip_proto:2; sid:4;)
alert icmp any any -> any any (ipopts:rr; itype:0; sid:5;)
alert ip any any -> any any (ipopts:ssrr ; sid:6;)
alert udp any any -> any any (fragbits:M; id:242; sid:7;)
alert tcp any any -> any any (seq:0; tcp.ack:1; tcp.window:!0; tcp.seq:5; sid:8;)
alert ip any any -> any any (sameip:1; sid:9;)
";
        let (sigs, errs) = crate::parse_rules(text, &crate::Vars::suricata_defaults());
        assert_eq!(
            sigs.iter().map(|s| s.sid).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 9);
        assert!(matches!(
            errs[0].kind,
            Some(KeywordError::TakesNoValue { .. })
        ));
        assert_eq!(sigs[0].headers, [HeaderMatch::SameIp]);
        assert_eq!(sigs[7].headers.len(), 4);
    }
    #[test]
    fn stream_size_compares_each_side() {
        let m = |v: &str| HeaderMatch::parse("stream_size", v).unwrap();
        let ip = |stream| IpFields {
            ttl: 64,
            proto: 6,
            tcp_flags: Some(0x18),
            icmp: None,
            ipv4: None,
            tcp: None,
            same_addr: false,
            stream,
        };
        let p = ip(Some([1, 10]));
        assert!(m("client,=,1").matches(Some(&p)));
        assert!(m("server,=,10").matches(Some(&p)));
        assert!(m("server, >=, 10").matches(Some(&p)));
        assert!(!m("both,>,5").matches(Some(&p)));
        assert!(m("either,>,5").matches(Some(&p)));
        assert!(m("client,!=,2").matches(Some(&p)));
        assert!(!m("client,=,1").matches(Some(&ip(None))), "not TCP");
        for bad in ["client,=", "middle,=,1", "client,~,1", "client,=,x"] {
            assert!(HeaderMatch::parse("stream_size", bad).is_err(), "{bad}");
        }
    }
}
