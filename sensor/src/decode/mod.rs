//! From a captured frame to the IP addresses, ports and payload the flow table needs.
//!
//! Link layers are stripped here (Ethernet II with 802.1Q/QinQ, Linux cooked SLL and SLL2, raw
//! IP, BSD loopback); IP and TCP/UDP are sliced by etherparse's lax parser, which borrows from the
//! frame and tolerates captures cut short by a snap length. Fragmented datagrams go to
//! [`defrag`], which hands back the reassembled transport payload.

pub mod defrag;

use std::net::IpAddr;

use etherparse::{
    ether_type, EtherType, LaxLinkExtSlice, LaxNetSlice, LaxSlicedPacket, LinkSlice, TcpSlice,
    TransportSlice, UdpSlice,
};
use rules::packet::Ipv4Fields;

/// The link types the sensor reads, by their libpcap `LINKTYPE_` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_NULL (0): BSD loopback, a 4-byte address family in host byte order.
    Null,
    /// LINKTYPE_LOOP (108): BSD loopback, address family in network byte order.
    Loop,
    /// LINKTYPE_RAW (101, and DLT_RAW 12/14 on some systems): an IPv4 or IPv6 packet.
    Raw,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// LINKTYPE_LINUX_SLL (113): Linux cooked capture v1, 16-byte header.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276): Linux cooked capture v2, 20-byte header.
    LinuxSll2,
}

impl LinkType {
    /// The LINKTYPE number and libpcap's name for it.
    pub fn number_and_name(self) -> (u16, &'static str) {
        match self {
            LinkType::Ethernet => (1, "EN10MB"),
            LinkType::Null => (0, "NULL"),
            LinkType::Loop => (108, "LOOP"),
            LinkType::Raw => (101, "RAW"),
            LinkType::Ipv4 => (228, "IPV4"),
            LinkType::Ipv6 => (229, "IPV6"),
            LinkType::LinuxSll => (113, "LINUX_SLL"),
            LinkType::LinuxSll2 => (276, "LINUX_SLL2"),
        }
    }
}

impl LinkType {
    pub fn from_dlt(dlt: i32) -> Option<LinkType> {
        Some(match dlt {
            1 => LinkType::Ethernet,
            0 => LinkType::Null,
            108 => LinkType::Loop,
            12 | 14 | 101 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }

    /// Counter slot in `stats.decoder`.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Ethernet => "ethernet",
            LinkType::Null | LinkType::Loop => "null",
            LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => "raw",
            LinkType::LinuxSll => "sll",
            LinkType::LinuxSll2 => "sll2",
        }
    }
}

/// Why a frame could not be decoded down to IP; the name is EVE's `anomaly.event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Shorter than the link header.
    LinkTruncated,
    /// An IP header that is cut off or malformed.
    IpInvalid,
    /// A TCP or UDP header that is cut off or malformed.
    TransportInvalid,
}

impl DecodeError {
    pub fn name(self) -> &'static str {
        match self {
            DecodeError::LinkTruncated => "decoder.link.trunc_pkt",
            DecodeError::IpInvalid => "decoder.ip.invalid",
            DecodeError::TransportInvalid => "decoder.transport.invalid",
        }
    }
}

/// The transport layer of a packet.
#[derive(Clone, Debug)]
pub enum Transport<'a> {
    Tcp(TcpSlice<'a>),
    Udp(UdpSlice<'a>),
    /// Any other IP protocol (ICMP, GRE, …): tracked by addresses and protocol only.
    Other,
}

/// An IP packet, its link layer stripped.
#[derive(Clone, Debug)]
pub struct IpPacket<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Outer then inner 802.1Q VLAN id; 0 where absent.
    pub vlan: [u16; 2],
    /// IP protocol number of the transport.
    pub proto: u8,
    /// IPv4 time-to-live, IPv6 hop limit.
    pub ttl: u8,
    /// What the IPv4-only rule keywords (`id`, `fragbits`, `ipopts`…) read of the header;
    /// `None` on IPv6.
    pub ipv4: Option<Ipv4Fields>,
    /// The IP payload: the transport's header and data (what ICMP keywords read).
    pub l4: &'a [u8],
    pub transport: Transport<'a>,
    /// The Ethernet source address, where the link layer has one (for the asset inventory).
    pub src_mac: Option<[u8; 6]>,
}

/// What one frame decoded to.
#[derive(Debug)]
pub enum Decoded<'a> {
    Ip(IpPacket<'a>),
    /// A fragment of an IP datagram, as it travels (the packet rules see it so): to be
    /// reassembled by [`defrag`] before its flow's transport is read. The first fragment's
    /// transport header is read when it is whole.
    Fragment(IpPacket<'a>),
    /// Not IP (ARP, LLDP, STP, GOOSE, …): counted, not tracked; what an Ethernet frame carries
    /// when the link layer says (GOOSE and Sampled Values are read from it).
    NotIp(Option<EtherFrame<'a>>),
}

/// A frame that is not IP, as its link layer carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EtherFrame<'a> {
    /// The Ethernet addresses, where the link layer has them (Linux cooked captures have none).
    pub macs: Option<([u8; 6], [u8; 6])>,
    /// Outer and inner VLAN ids; 0 for none.
    pub vlan: [u16; 2],
    /// The ethertype after any VLAN tags.
    pub ether_type: u16,
    pub payload: &'a [u8],
}

/// Counters of what the decoder saw.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct DecodeStats {
    pub vlan: u64,
    pub vlan_qinq: u64,
    pub ipv4: u64,
    pub ipv6: u64,
    pub tcp: u64,
    pub udp: u64,
    pub other_ip: u64,
    pub not_ip: u64,
    pub truncated: u64,
}

impl DecodeStats {
    /// Count a packet's transport layer.
    pub fn count(&mut self, t: &Transport<'_>) {
        match t {
            Transport::Tcp(_) => self.tcp += 1,
            Transport::Udp(_) => self.udp += 1,
            Transport::Other => self.other_ip += 1,
        }
    }
}

/// Strip the link header and slice the rest.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<LaxSlicedPacket<'_>, DecodeError> {
    let from_ip = |b| LaxSlicedPacket::from_ip(b).map_err(|_| DecodeError::IpInvalid);
    let after = |n: usize| frame.get(n..).ok_or(DecodeError::LinkTruncated);
    match link {
        LinkType::Ethernet => {
            LaxSlicedPacket::from_ethernet(frame).map_err(|_| DecodeError::LinkTruncated)
        }
        LinkType::Null | LinkType::Loop => from_ip(after(4)?),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => from_ip(frame),
        LinkType::LinuxSll => {
            let proto = frame.get(14..16).ok_or(DecodeError::LinkTruncated)?;
            let proto = EtherType(u16::from_be_bytes([proto[0], proto[1]]));
            Ok(LaxSlicedPacket::from_ether_type(proto, after(16)?))
        }
        LinkType::LinuxSll2 => {
            let proto = frame.get(0..2).ok_or(DecodeError::LinkTruncated)?;
            let proto = EtherType(u16::from_be_bytes([proto[0], proto[1]]));
            Ok(LaxSlicedPacket::from_ether_type(proto, after(20)?))
        }
    }
}

/// Read addresses, VLANs and transport out of a sliced frame.
pub fn classify<'a>(
    pkt: LaxSlicedPacket<'a>,
    stats: &mut DecodeStats,
) -> Result<Decoded<'a>, DecodeError> {
    let vlan = vlan_ids(&pkt, stats);
    let (src, dst, ttl, ipv4, payload) = match &pkt.net {
        Some(LaxNetSlice::Ipv4(ip)) => {
            stats.ipv4 += 1;
            let h = ip.header();
            (
                IpAddr::from(h.source()),
                IpAddr::from(h.destination()),
                h.ttl(),
                Ipv4Fields::read(h.slice()),
                ip.payload(),
            )
        }
        Some(LaxNetSlice::Ipv6(ip)) => {
            stats.ipv6 += 1;
            let h = ip.header();
            (
                IpAddr::from(h.source()),
                IpAddr::from(h.destination()),
                h.hop_limit(),
                None,
                ip.payload(),
            )
        }
        Some(LaxNetSlice::Arp(_)) => {
            stats.not_ip += 1;
            return Ok(Decoded::NotIp(None));
        }
        None => {
            if pkt.stop_err.is_some() && is_ip_ether_type(&pkt) {
                return Err(DecodeError::IpInvalid);
            }
            stats.not_ip += 1;
            let frame = pkt.ether_payload().map(|p| EtherFrame {
                macs: match &pkt.link {
                    Some(LinkSlice::Ethernet2(e)) => Some((e.source(), e.destination())),
                    _ => None,
                },
                vlan,
                ether_type: p.ether_type.0,
                payload: p.payload,
            });
            return Ok(Decoded::NotIp(frame));
        }
    };
    if payload.incomplete {
        stats.truncated += 1;
    }
    let proto = payload.ip_number.0;
    let src_mac = match &pkt.link {
        Some(LinkSlice::Ethernet2(e)) => Some(e.source()),
        _ => None,
    };
    let transport = if payload.fragmented {
        // The first fragment carries the transport header; the others only data.
        // IPv6 keeps its offset in an extension header: its fragments are read as data only.
        match ipv4.is_some_and(|f| f.frag & 0x1fff == 0) {
            true => transport_of(proto, payload.payload).unwrap_or(Transport::Other),
            false => Transport::Other,
        }
    } else {
        match pkt.transport {
            Some(TransportSlice::Tcp(t)) => Transport::Tcp(t),
            Some(TransportSlice::Udp(u)) => Transport::Udp(u),
            _ if proto == 6 || proto == 17 => return Err(DecodeError::TransportInvalid),
            _ => Transport::Other,
        }
    };
    let packet = IpPacket {
        src,
        dst,
        vlan,
        proto,
        ttl,
        ipv4,
        l4: payload.payload,
        transport,
        src_mac,
    };
    if payload.fragmented {
        return Ok(Decoded::Fragment(packet));
    }
    stats.count(&packet.transport);
    Ok(Decoded::Ip(packet))
}

/// The transport of a reassembled datagram.
pub fn transport_of(ip_number: u8, payload: &[u8]) -> Result<Transport<'_>, DecodeError> {
    match ip_number {
        6 => TcpSlice::from_slice(payload)
            .map(Transport::Tcp)
            .map_err(|_| DecodeError::TransportInvalid),
        17 => UdpSlice::from_slice_lax(payload)
            .map(Transport::Udp)
            .map_err(|_| DecodeError::TransportInvalid),
        _ => Ok(Transport::Other),
    }
}

fn is_ip_ether_type(pkt: &LaxSlicedPacket<'_>) -> bool {
    let et = match (pkt.link_exts.last(), &pkt.link) {
        (Some(LaxLinkExtSlice::Vlan(v)), _) => v.ether_type(),
        (_, Some(LinkSlice::Ethernet2(e))) => e.ether_type(),
        _ => return true,
    };
    et == ether_type::IPV4 || et == ether_type::IPV6
}

/// Outer and inner VLAN ids (802.1Q, 802.1ad QinQ).
pub fn vlan_ids(pkt: &LaxSlicedPacket<'_>, stats: &mut DecodeStats) -> [u16; 2] {
    let mut ids = [0u16; 2];
    let mut n = 0;
    for ext in &pkt.link_exts {
        if let LaxLinkExtSlice::Vlan(v) = ext {
            if n < 2 {
                ids[n] = v.vlan_identifier().value();
            }
            n += 1;
        }
    }
    match n {
        0 => {}
        1 => stats.vlan += 1,
        _ => stats.vlan_qinq += 1,
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn tcp_frame(vlans: &[u16]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6]);
        let payload = [0u8, 1, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
        let mut out = Vec::new();
        match vlans {
            [] => b
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(40000, 502, 1, 1000)
                .write(&mut out, &payload)
                .unwrap(),
            [a] => b
                .single_vlan((*a).try_into().unwrap())
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(40000, 502, 1, 1000)
                .write(&mut out, &payload)
                .unwrap(),
            [a, c] => b
                .double_vlan((*a).try_into().unwrap(), (*c).try_into().unwrap())
                .ipv6([1; 16], [2; 16], 64)
                .udp(20000, 20000)
                .write(&mut out, &payload)
                .unwrap(),
            _ => unreachable!(),
        }
        out
    }

    #[test]
    fn ethernet_vlan_qinq() {
        let mut st = DecodeStats::default();
        for (vlans, want) in [
            (&[][..], [0, 0]),
            (&[7][..], [7, 0]),
            (&[100, 200][..], [100, 200]),
        ] {
            let f = tcp_frame(vlans);
            let Decoded::Ip(p) =
                classify(decode(LinkType::Ethernet, &f).unwrap(), &mut st).unwrap()
            else {
                panic!()
            };
            assert_eq!(p.vlan, want);
            assert_eq!(
                p.ipv4.is_some(),
                vlans.len() < 2,
                "IPv4 without or with one VLAN"
            );
        }
        assert_eq!(
            (st.vlan, st.vlan_qinq, st.tcp, st.udp, st.ipv6),
            (1, 1, 2, 1, 1)
        );
    }

    #[test]
    fn cooked_loopback_raw() {
        let eth = tcp_frame(&[]);
        let ip = &eth[14..];
        let mut st = DecodeStats::default();
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(ip);
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
        ];
        sll2.extend_from_slice(ip);
        let mut null = 2u32.to_ne_bytes().to_vec();
        null.extend_from_slice(ip);
        for (lt, f) in [
            (LinkType::LinuxSll, &sll[..]),
            (LinkType::LinuxSll2, &sll2[..]),
            (LinkType::Null, &null[..]),
            (LinkType::Raw, ip),
        ] {
            let d = classify(decode(lt, f).unwrap(), &mut st).unwrap();
            assert!(
                matches!(
                    d,
                    Decoded::Ip(IpPacket {
                        transport: Transport::Tcp(_),
                        ..
                    })
                ),
                "{lt:?}"
            );
        }
        assert_eq!(
            decode(LinkType::LinuxSll2, &sll2[..10]).unwrap_err(),
            DecodeError::LinkTruncated
        );
    }

    #[test]
    fn truncated_and_garbage_never_panic() {
        let f = tcp_frame(&[7]);
        let mut st = DecodeStats::default();
        for cut in 0..f.len() {
            for lt in [
                LinkType::Ethernet,
                LinkType::Raw,
                LinkType::LinuxSll,
                LinkType::LinuxSll2,
                LinkType::Null,
            ] {
                if let Ok(p) = decode(lt, &f[..cut]) {
                    let _ = classify(p, &mut st);
                }
            }
        }
    }
}
