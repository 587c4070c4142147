//! The rule header: `ACTION PROTO SRC SPORT DIR DST DPORT`.
//!
//! Address and port expressions follow Suricata: `any`, a value, `$VAR`, `!expr`, and lists
//! `[a, b, !c]` that nest. A list matches what any of its positive members matches and none of
//! its negated members; a list of negations alone matches everything else. Variables are
//! resolved while parsing, so a matcher holds no names.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::{Error, KeywordError, ListError, Vars};

/// What a matching rule does. The sensor is passive: `drop` and `reject` rules alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Alert,
    Pass,
    /// `drop`, `reject`, `rejectsrc`, `rejectdst`, `rejectboth`: written for an inline IPS,
    /// alerted on here since a mirror port can block nothing.
    AlertInsteadOfBlock,
}

/// The protocol a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Ip,
    Tcp,
    Udp,
    Icmp,
    Modbus,
    Dnp3,
    Enip,
    Iec104,
    Opcua,
    Mms,
    S7comm,
    S7commPlus,
    Http,
    Dns,
    Tls,
    Ssh,
    Ftp,
    FtpData,
    Smtp,
    Smb,
    /// IEC 61850 GOOSE frames (ethertype 0x88B8): Ethernet only, no addresses or ports.
    Goose,
    /// IEC 61850-9-2 Sampled Values frames (ethertype 0x88BA).
    Sv,
}

impl Protocol {
    /// The name a rule writes (its canonical spelling).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Ip => "ip",
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::Modbus => "modbus",
            Protocol::Dnp3 => "dnp3",
            Protocol::Enip => "enip",
            Protocol::Iec104 => "iec104",
            Protocol::Opcua => "opcua",
            Protocol::Mms => "mms",
            Protocol::S7comm => "s7comm",
            Protocol::S7commPlus => "s7commplus",
            Protocol::Http => "http",
            Protocol::Dns => "dns",
            Protocol::Tls => "tls",
            Protocol::Ssh => "ssh",
            Protocol::Ftp => "ftp",
            Protocol::FtpData => "ftp-data",
            Protocol::Smtp => "smtp",
            Protocol::Smb => "smb",
            Protocol::Goose => "goose",
            Protocol::Sv => "sv",
        }
    }

    /// The ethertype of a protocol carried on Ethernet without IP.
    pub fn ether_type(self) -> Option<u16> {
        match self {
            Protocol::Goose => Some(decoders::goose::ETHERTYPE),
            Protocol::Sv => Some(decoders::sv::ETHERTYPE),
            _ => None,
        }
    }

    /// The protocol carried on Ethernet without IP under ethertype `t`.
    pub fn of_ether_type(t: u16) -> Option<Self> {
        [Protocol::Goose, Protocol::Sv]
            .into_iter()
            .find(|p| p.ether_type() == Some(t))
    }

    /// The application protocol a rule of this protocol is about; `None` for the network and
    /// transport protocols.
    pub fn app_proto(self) -> Option<decoders::AppProto> {
        use decoders::AppProto;
        match self {
            Protocol::Ip
            | Protocol::Tcp
            | Protocol::Udp
            | Protocol::Icmp
            | Protocol::Goose
            | Protocol::Sv => None,
            Protocol::Modbus => Some(AppProto::Modbus),
            Protocol::Dnp3 => Some(AppProto::Dnp3),
            Protocol::Enip => Some(AppProto::Enip),
            Protocol::Iec104 => Some(AppProto::Iec104),
            Protocol::Opcua => Some(AppProto::Opcua),
            Protocol::Mms => Some(AppProto::Mms),
            Protocol::S7comm | Protocol::S7commPlus => Some(AppProto::S7comm),
            Protocol::Http => Some(AppProto::Http),
            Protocol::Dns => Some(AppProto::Dns),
            Protocol::Tls => Some(AppProto::Tls),
            Protocol::Ssh => Some(AppProto::Ssh),
            Protocol::Ftp => Some(AppProto::Ftp),
            Protocol::FtpData => Some(AppProto::FtpData),
            Protocol::Smtp => Some(AppProto::Smtp),
            Protocol::Smb => Some(AppProto::Smb),
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "ip" | "pkthdr" => Protocol::Ip,
            "tcp" | "tcp-pkt" | "tcp-stream" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "icmp" => Protocol::Icmp,
            "modbus" => Protocol::Modbus,
            "dnp3" => Protocol::Dnp3,
            "enip" => Protocol::Enip,
            "iec104" | "iec-104" => Protocol::Iec104,
            "opcua" | "opc-ua" => Protocol::Opcua,
            "mms" => Protocol::Mms,
            "s7comm" => Protocol::S7comm,
            "s7commplus" => Protocol::S7commPlus,
            "http" | "http1" => Protocol::Http,
            "dns" => Protocol::Dns,
            "tls" | "ssl" => Protocol::Tls,
            "ssh" => Protocol::Ssh,
            "ftp" => Protocol::Ftp,
            "ftp-data" => Protocol::FtpData,
            "smtp" => Protocol::Smtp,
            "smb" => Protocol::Smb,
            "goose" => Protocol::Goose,
            "sv" => Protocol::Sv,
            _ => return None,
        })
    }
}

/// `->` or `<>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Source to destination only.
    OneWay,
    /// Either way.
    Both,
}

/// An address expression, variables resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrExpr {
    Any,
    Net(IpNet),
    Not(Box<AddrExpr>),
    List(Vec<AddrExpr>),
    /// A long list of plain networks (reputation lists of hundreds of addresses), as sorted,
    /// merged ranges searched by halves.
    Set(Box<NetSet>),
}

/// Networks as sorted, non-overlapping inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetSet {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

/// Lists at least this long, all plain networks, become a [`NetSet`].
const SET_FROM: usize = 8;

impl NetSet {
    fn new(nets: &[IpNet]) -> Self {
        let mut set = NetSet::default();
        for n in nets {
            match n {
                IpNet::V4(n) => set
                    .v4
                    .push((u32::from(n.network()), u32::from(n.broadcast()))),
                IpNet::V6(n) => set
                    .v6
                    .push((u128::from(n.network()), u128::from(n.broadcast()))),
            }
        }
        merge(&mut set.v4);
        merge(&mut set.v6);
        set
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => within(&self.v4, u32::from(a)),
            IpAddr::V6(a) => within(&self.v6, u128::from(a)),
        }
    }
}

fn merge<T: Ord + Copy>(ranges: &mut Vec<(T, T)>) {
    ranges.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges.iter() {
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    *ranges = out;
}

fn within<T: Ord + Copy>(ranges: &[(T, T)], x: T) -> bool {
    let i = ranges.partition_point(|&(lo, _)| lo <= x);
    i > 0 && x <= ranges[i - 1].1
}

impl AddrExpr {
    pub fn matches(&self, ip: IpAddr) -> bool {
        match self {
            AddrExpr::Any => true,
            AddrExpr::Net(n) => net_contains(n, ip),
            AddrExpr::Not(e) => !e.matches(ip),
            AddrExpr::List(items) => list_matches(items, |e| e.matches(ip)),
            AddrExpr::Set(set) => set.contains(ip),
        }
    }
}

/// Whether `net` holds `ip`: the address's prefix bits compared with the network's, as
/// integers. Every candidate rule asks this of both addresses of every packet, so it is kept to
/// a mask and a compare.
fn net_contains(net: &IpNet, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpNet::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(n.prefix_len()))
                .unwrap_or(0);
            (u32::from(a) ^ u32::from(n.addr())) & mask == 0
        }
        (IpNet::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(n.prefix_len()))
                .unwrap_or(0);
            (u128::from(a) ^ u128::from(n.addr())) & mask == 0
        }
        _ => false,
    }
}

/// A port expression, variables resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortExpr {
    Any,
    /// An inclusive range; a single port is `n..=n`.
    Range(u16, u16),
    Not(Box<PortExpr>),
    List(Vec<PortExpr>),
}

impl PortExpr {
    pub fn matches(&self, port: u16) -> bool {
        match self {
            PortExpr::Any => true,
            PortExpr::Range(lo, hi) => (*lo..=*hi).contains(&port),
            PortExpr::Not(e) => !e.matches(port),
            PortExpr::List(items) => list_matches(items, |e| e.matches(port)),
        }
    }
}

trait Negated {
    fn negated(&self) -> Option<&Self>;
}

impl Negated for AddrExpr {
    fn negated(&self) -> Option<&Self> {
        match self {
            AddrExpr::Not(e) => Some(e),
            _ => None,
        }
    }
}

impl Negated for PortExpr {
    fn negated(&self) -> Option<&Self> {
        match self {
            PortExpr::Not(e) => Some(e),
            _ => None,
        }
    }
}

fn list_matches<E: Negated>(items: &[E], matches: impl Fn(&E) -> bool) -> bool {
    let mut positives = items.iter().filter(|e| e.negated().is_none()).peekable();
    let included = positives.peek().is_none() || positives.any(&matches);
    included && !items.iter().filter_map(Negated::negated).any(&matches)
}

/// A parsed rule header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub action: Action,
    pub protocol: Protocol,
    /// Suricata 8's app-layer hook, `dnp3:request_started` → `request_started`: the
    /// transaction state at which the rule is evaluated.
    pub hook: Option<String>,
    pub src: AddrExpr,
    pub src_ports: PortExpr,
    pub direction: Direction,
    pub dst: AddrExpr,
    pub dst_ports: PortExpr,
}

/// Variables may refer to variables; a chain this deep is a loop.
const MAX_VAR_DEPTH: usize = 16;

impl Header {
    /// Parse the header of the rule starting on `line`.
    pub fn parse(text: &str, line: usize, vars: &Vars) -> Result<Self, Error> {
        let err = |m: String| Error::new(line, m);
        let fields = fields(text);
        let [action, protocol, src, sport, dir, dst, dport] = fields.as_slice() else {
            return Err(err(format!(
                "the header has {} fields, not 7 (ACTION PROTO SRC SPORT -> DST DPORT): `{text}`",
                fields.len()
            )));
        };
        let action = match action.to_ascii_lowercase().as_str() {
            "alert" => Action::Alert,
            "pass" => Action::Pass,
            "drop" | "reject" | "rejectsrc" | "rejectdst" | "rejectboth" => {
                Action::AlertInsteadOfBlock
            }
            other => return Err(err(format!("unknown action `{other}`"))),
        };
        let (protocol, hook) = match protocol.split_once(':') {
            Some((p, h)) if !h.is_empty() => (p, Some(h.to_owned())),
            _ => (*protocol, None),
        };
        let protocol = Protocol::parse(protocol)
            .ok_or_else(|| err(format!("unknown protocol `{protocol}`")))?;
        let direction = match *dir {
            "->" => Direction::OneWay,
            "<>" => Direction::Both,
            other => return Err(err(format!("`{other}` is not a direction (`->` or `<>`)"))),
        };
        let addr = |s: &str| {
            parse_addr(s, vars, 0)
                .map_err(|k| Error::keyword_in(line, &format!("address `{s}`"), k))
        };
        let port = |s: &str| {
            parse_port(s, vars, 0).map_err(|k| Error::keyword_in(line, &format!("port `{s}`"), k))
        };
        if protocol.ether_type().is_some() && [src, sport, dst, dport].iter().any(|f| **f != "any")
        {
            return Err(err(format!(
                "{} frames carry no IP addresses or ports: write `{} any any -> any any`",
                protocol.name(),
                protocol.name()
            )));
        }
        Ok(Header {
            action,
            protocol,
            hook,
            src: addr(src)?,
            src_ports: port(sport)?,
            direction,
            dst: addr(dst)?,
            dst_ports: port(dport)?,
        })
    }
}

/// Whitespace-separated fields, keeping bracketed lists (which may hold spaces) whole.
fn fields(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, None);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            c if c.is_whitespace() && depth <= 0 => {
                if let Some(s) = start.take() {
                    out.push(&text[s..i]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(i);
    }
    out.extend(start.map(|s| &text[s..]));
    out
}

/// The members of a bracketed list, split on top-level commas.
fn members(inner: &str) -> Result<Vec<&str>, ListError> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            return Err(ListError::Unbalanced(']'));
        }
    }
    if depth != 0 {
        return Err(ListError::Unbalanced('['));
    }
    out.push(inner[start..].trim());
    if out.iter().any(|m| m.is_empty()) {
        return Err(ListError::EmptyMember);
    }
    Ok(out)
}

fn parse_addr(s: &str, vars: &Vars, depth: usize) -> Result<AddrExpr, KeywordError> {
    let s = s.trim();
    if depth > MAX_VAR_DEPTH {
        return Err(KeywordError::VariableLoop);
    }
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(AddrExpr::Not(Box::new(parse_addr(rest, vars, depth)?)));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let items: Vec<AddrExpr> = members(inner)?
            .into_iter()
            .map(|m| parse_addr(m, vars, depth))
            .collect::<Result<_, _>>()?;
        let nets: Vec<IpNet> = items
            .iter()
            .filter_map(|i| match i {
                AddrExpr::Net(n) => Some(*n),
                _ => None,
            })
            .collect();
        if nets.len() == items.len() && nets.len() >= SET_FROM {
            return Ok(AddrExpr::Set(Box::new(NetSet::new(&nets))));
        }
        return Ok(AddrExpr::List(items));
    }
    if let Some(name) = s.strip_prefix('$') {
        let value = vars
            .address(name)
            .ok_or_else(|| KeywordError::UndefinedVariable { name: name.into() })?;
        return parse_addr(value, vars, depth + 1);
    }
    if s.eq_ignore_ascii_case("any") {
        return Ok(AddrExpr::Any);
    }
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(AddrExpr::Net(net.trunc()));
    }
    s.parse::<IpAddr>()
        .map(|ip| AddrExpr::Net(IpNet::from(ip)))
        .map_err(|_| KeywordError::invalid(None, s, "an address, network, list or variable"))
}

fn parse_port(s: &str, vars: &Vars, depth: usize) -> Result<PortExpr, KeywordError> {
    let s = s.trim();
    if depth > MAX_VAR_DEPTH {
        return Err(KeywordError::VariableLoop);
    }
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(PortExpr::Not(Box::new(parse_port(rest, vars, depth)?)));
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return members(inner)?
            .into_iter()
            .map(|m| parse_port(m, vars, depth))
            .collect::<Result<_, _>>()
            .map(PortExpr::List);
    }
    if let Some(name) = s.strip_prefix('$') {
        let value = vars
            .port(name)
            .ok_or_else(|| KeywordError::UndefinedVariable { name: name.into() })?;
        return parse_port(value, vars, depth + 1);
    }
    if s.eq_ignore_ascii_case("any") {
        return Ok(PortExpr::Any);
    }
    let number = |p: &str, default: u16| -> Result<u16, KeywordError> {
        if p.is_empty() {
            return Ok(default);
        }
        p.parse::<u16>()
            .map_err(|_| KeywordError::invalid(None, p, "a port (0–65535)"))
    };
    match s.split_once(':') {
        Some((lo, hi)) => {
            let (lo, hi) = (number(lo, 0)?, number(hi, u16::MAX)?);
            if lo > hi {
                return Err(KeywordError::EmptyPortRange { lo, hi });
            }
            Ok(PortExpr::Range(lo, hi))
        }
        None => number(s, 0).and_then(|p| {
            if s.is_empty() {
                Err(ListError::EmptyPort.into())
            } else {
                Ok(PortExpr::Range(p, p))
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let mut v = Vars::suricata_defaults();
        v.set_address("HOME_NET", "[10.0.0.0/8, 192.168.1.0/24]");
        v.set_address("MODBUS_SERVER", "[10.1.1.20, 10.1.1.21]");
        v.set_address("LOOP_A", "$LOOP_B");
        v.set_address("LOOP_B", "$LOOP_A");
        v
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_full_header() {
        let h = Header::parse(
            "alert modbus $EXTERNAL_NET any -> $MODBUS_SERVER [502, 5020:5030]",
            3,
            &vars(),
        )
        .unwrap();
        assert_eq!(h.action, Action::Alert);
        assert_eq!(h.protocol, Protocol::Modbus);
        assert_eq!(h.direction, Direction::OneWay);
        assert!(h.src.matches(ip("8.8.8.8")));
        assert!(!h.src.matches(ip("10.9.9.9")), "EXTERNAL_NET is !HOME_NET");
        assert!(h.dst.matches(ip("10.1.1.21")) && !h.dst.matches(ip("10.1.1.22")));
        assert!(h.dst_ports.matches(502) && h.dst_ports.matches(5025));
        assert!(!h.dst_ports.matches(503));
        assert!(h.src_ports.matches(40000));
    }

    #[test]
    fn lists_and_negation() {
        let v = vars();
        let a = parse_addr(
            "[10.0.0.0/8, !10.1.0.0/16, ![10.2.0.0/16, 10.3.3.3]]",
            &v,
            0,
        )
        .unwrap();
        assert!(a.matches(ip("10.9.1.1")));
        assert!(!a.matches(ip("10.1.2.3")));
        assert!(!a.matches(ip("10.2.2.2")) && !a.matches(ip("10.3.3.3")));
        assert!(!a.matches(ip("11.0.0.1")));
        let only_neg = parse_addr("[!192.168.1.1]", &v, 0).unwrap();
        assert!(only_neg.matches(ip("192.168.1.2")) && !only_neg.matches(ip("192.168.1.1")));
        let v6 = parse_addr("[2001:db8::/32, ::1]", &v, 0).unwrap();
        assert!(v6.matches(ip("2001:db8::5")) && v6.matches(ip("::1")));
        let p = parse_port("[1:1024, !80, 8080]", &v, 0).unwrap();
        assert!(p.matches(22) && p.matches(8080) && !p.matches(80) && !p.matches(2000));
        let open = parse_port("1024:", &v, 0).unwrap();
        assert!(open.matches(65535) && !open.matches(1023));
        assert!(parse_port("!$HTTP_PORTS", &v, 0).unwrap().matches(81));
    }

    #[test]
    fn long_lists_are_searched_as_ranges() {
        let list: Vec<String> = (0..200)
            .map(|i| format!("10.{}.{}.0/24", i / 50, i % 50))
            .chain(["192.0.2.7".into(), "2001:db8::/32".into()])
            .collect();
        let a = parse_addr(&format!("[{}]", list.join(",")), &vars(), 0).unwrap();
        assert!(matches!(a, AddrExpr::Set(_)));
        for (ip, inside) in [
            ("10.0.0.1", true),
            ("10.3.49.255", true),
            ("10.3.50.0", false),
            ("10.4.0.0", false),
            ("192.0.2.7", true),
            ("192.0.2.8", false),
            ("2001:db8::1", true),
            ("2001:db9::1", false),
            ("9.255.255.255", false),
        ] {
            assert_eq!(a.matches(ip.parse().unwrap()), inside, "{ip}");
        }
        let short = parse_addr("[10.0.0.0/8,!10.1.0.0/16]", &vars(), 0).unwrap();
        assert!(matches!(short, AddrExpr::List(_)));
        assert!(!short.matches("10.1.2.3".parse().unwrap()));
        assert!(AddrExpr::Net("10.0.0.0/8".parse().unwrap()).matches("10.200.0.1".parse().unwrap()));
        assert!(!AddrExpr::Net("0.0.0.0/0".parse().unwrap()).matches("::1".parse().unwrap()));
        assert!(AddrExpr::Net("0.0.0.0/0".parse().unwrap()).matches("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn bidirectional_and_passive_actions() {
        let h = Header::parse("drop tcp any any <> any 102", 1, &vars()).unwrap();
        assert_eq!(h.action, Action::AlertInsteadOfBlock);
        assert_eq!(h.direction, Direction::Both);
        let hooked = Header::parse("alert dnp3:request_started any any -> any any", 1, &vars());
        assert_eq!(hooked.unwrap().hook.as_deref(), Some("request_started"));
        assert_eq!(
            Header::parse("pass dnp3 any any -> any any", 1, &vars())
                .unwrap()
                .protocol,
            Protocol::Dnp3
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let v = vars();
        let e = |t: &str| Header::parse(t, 42, &v).unwrap_err();
        assert_eq!(e("alert tcp any any -> any").line, 42);
        assert!(e("alert tcp any any -> any").message.contains("not 7"));
        assert!(e("block tcp any any -> any any")
            .message
            .contains("unknown action"));
        assert!(e("alert http2x any any -> any any")
            .message
            .contains("unknown protocol"));
        assert!(e("alert tcp any any <- any any")
            .message
            .contains("direction"));
        assert!(e("alert tcp $NOPE any -> any any")
            .message
            .contains("$NOPE"));
        assert!(e("alert tcp $LOOP_A any -> any any")
            .message
            .contains("loop"));
        assert!(e("alert tcp 10.0.0.300 any -> any any")
            .message
            .contains("not an address"));
        assert!(e("alert tcp any 70000 -> any any")
            .message
            .contains("not a port"));
        assert!(e("alert tcp any 20:10 -> any any")
            .message
            .contains("empty"));
        assert!(e("alert tcp [1.1.1.1,] any -> any any")
            .message
            .contains("empty list"));
        assert!(e("alert tcp [1.1.1.1 any -> any any")
            .message
            .contains("not 7"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "[a-z0-9$!\\[\\],:./ >-]{0,80}") {
            let _ = Header::parse(&s, 1, &vars());
        }
    }
}
