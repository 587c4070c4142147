//! IP fragment reassembly, bounded.
//!
//! etherparse's [`IpDefragPool`] does the reassembly; this wrapper bounds it. Datagrams waiting
//! for fragments are dropped after `timeout` seconds of packet time, and at most `max_trackers`
//! wait at once: every tracker remembers the sequence number of its latest fragment, and a
//! tracker more than `max_trackers` fragments behind is dropped, so the pool never holds more
//! than `max_trackers` (plus the few admitted between two sweeps) datagrams of at most 64 KiB.

use std::cell::Cell;
use std::net::IpAddr;

use etherparse::defrag::{IpDefragPayloadVec, IpDefragPool};
use etherparse::{EtherType, NetSlice, SlicedPacket};
use rules::packet::Ipv4Fields;

use super::LinkType;
use crate::config::DefragConfig;
use icsight_eve::Timestamp;

/// When the latest fragment of a datagram arrived: packet time, and its arrival number.
#[derive(Clone, Copy, Debug)]
struct Seen {
    secs: u64,
    seq: u64,
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct DefragStats {
    pub fragments: u64,
    pub reassembled: u64,
    pub timeouts: u64,
    /// Datagrams dropped because `max_trackers` were already waiting.
    pub max_trackers_reached: u64,
    /// Fragments that contradict each other or exceed 64 KiB.
    pub invalid: u64,
}

/// A reassembled datagram: its addresses and transport payload.
pub struct Datagram {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub vlan: [u16; 2],
    /// The time-to-live (hop limit) of the fragment that completed it.
    pub ttl: u8,
    /// Its IPv4 header as Suricata rebuilds it for the rules (no fragment bits or offset,
    /// the first fragment's options); `None` on IPv6.
    pub ipv4: Option<Ipv4Fields>,
    pub payload: IpDefragPayloadVec,
}

pub struct Defrag {
    pool: IpDefragPool<Seen, ()>,
    max_trackers: u64,
    timeout: u64,
    seq: u64,
    since_sweep: u64,
    last_sweep_secs: u64,
    pub stats: DefragStats,
}

impl Defrag {
    pub fn new(config: &DefragConfig) -> Self {
        Defrag {
            pool: IpDefragPool::new(),
            max_trackers: u64::from(config.max_trackers),
            timeout: u64::from(config.timeout),
            seq: 0,
            since_sweep: 0,
            last_sweep_secs: 0,
            stats: DefragStats::default(),
        }
    }

    /// Add one fragment (the whole frame, sliced strictly for the pool). Returns the datagram once
    /// its last missing fragment arrives; give its buffer back with [`Defrag::recycle`].
    pub fn push(&mut self, link: LinkType, frame: &[u8], ts: Timestamp) -> Option<Datagram> {
        self.stats.fragments += 1;
        let sliced = match strict_slice(link, frame) {
            Some(s) => s,
            None => {
                self.stats.invalid += 1;
                return None;
            }
        };
        let (src, dst, ttl, ipv4) = match &sliced.net {
            Some(NetSlice::Ipv4(ip)) => (
                IpAddr::from(ip.header().source()),
                IpAddr::from(ip.header().destination()),
                ip.header().ttl(),
                Ipv4Fields::read(ip.header().slice()).map(Ipv4Fields::reassembled),
            ),
            Some(NetSlice::Ipv6(ip)) => (
                IpAddr::from(ip.header().source()),
                IpAddr::from(ip.header().destination()),
                ip.header().hop_limit(),
                None,
            ),
            _ => return None,
        };
        let vlan = match sliced.vlan_ids().as_slice() {
            [] => [0, 0],
            [a] => [a.value(), 0],
            [a, b, ..] => [a.value(), b.value()],
        };
        self.seq += 1;
        let seen = Seen {
            secs: ts.secs(),
            seq: self.seq,
        };
        let out = match self.pool.process_sliced_packet(&sliced, seen, ()) {
            Ok(Some(payload)) => {
                self.stats.reassembled += 1;
                Some(Datagram {
                    src,
                    dst,
                    vlan,
                    ttl,
                    ipv4,
                    payload,
                })
            }
            Ok(None) => None,
            Err(_) => {
                self.stats.invalid += 1;
                None
            }
        };
        self.since_sweep += 1;
        if self.since_sweep >= (self.max_trackers / 4).max(1) {
            self.sweep(ts);
        }
        out
    }

    /// Return a reassembled datagram's buffer for reuse.
    pub fn recycle(&mut self, datagram: Datagram) {
        self.pool.return_buf(datagram.payload);
    }

    /// Drop datagrams that timed out or fell more than `max_trackers` fragments behind.
    /// Called as packet time passes; cheap when nothing waits.
    pub fn sweep(&mut self, now: Timestamp) {
        if self.since_sweep == 0 && now.secs() == self.last_sweep_secs {
            return;
        }
        // `retain` runs the predicate in a scan that stops at the first `false`, then again over
        // every tracker while it rebuilds the pool: the first tracker dropped is judged twice.
        let (timeouts, evicted, first) = (Cell::new(0u64), Cell::new(0u64), Cell::new(None));
        let (now_secs, seq, max, timeout) = (now.secs(), self.seq, self.max_trackers, self.timeout);
        self.pool.retain(|seen| {
            let verdict = if now_secs.saturating_sub(seen.secs) > timeout {
                &timeouts
            } else if seen.seq + max < seq {
                &evicted
            } else {
                return true;
            };
            verdict.set(verdict.get() + 1);
            if first.get().is_none() {
                first.set(Some(std::ptr::eq(verdict, &timeouts)));
            }
            false
        });
        match first.get() {
            Some(true) => timeouts.set(timeouts.get() - 1),
            Some(false) => evicted.set(evicted.get() - 1),
            None => {}
        }
        self.stats.timeouts += timeouts.get();
        self.stats.max_trackers_reached += evicted.get();
        self.since_sweep = 0;
        self.last_sweep_secs = now_secs;
    }
}

fn strict_slice(link: LinkType, frame: &[u8]) -> Option<SlicedPacket<'_>> {
    let ether = |at: usize, proto: &[u8]| {
        let et = EtherType(u16::from_be_bytes([proto[0], proto[1]]));
        SlicedPacket::from_ether_type(et, frame.get(at..)?).ok()
    };
    match link {
        LinkType::Ethernet => SlicedPacket::from_ethernet(frame).ok(),
        LinkType::Null | LinkType::Loop => SlicedPacket::from_ip(frame.get(4..)?).ok(),
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => SlicedPacket::from_ip(frame).ok(),
        LinkType::LinuxSll => ether(16, frame.get(14..16)?),
        LinkType::LinuxSll2 => ether(20, frame.get(0..2)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{IpNumber, Ipv4Header, PacketBuilder};

    /// A UDP datagram split into two IPv4 fragments, framed as Ethernet.
    fn fragments(id: u16, payload: &[u8]) -> [Vec<u8>; 2] {
        let mut udp = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .udp(20000, 20000)
            .write(&mut udp, payload)
            .unwrap();
        let transport = &udp[20..];
        let split = 16;
        let mut out = [Vec::new(), Vec::new()];
        for (i, (off, part)) in [(0, &transport[..split]), (split, &transport[split..])]
            .into_iter()
            .enumerate()
        {
            let mut h = Ipv4Header::new(
                part.len() as u16,
                64,
                IpNumber::UDP,
                [10, 0, 0, 1],
                [10, 0, 0, 2],
            )
            .unwrap();
            h.identification = id;
            h.more_fragments = i == 0;
            h.fragment_offset = ((off / 8) as u16).try_into().unwrap();
            h.header_checksum = h.calc_header_checksum();
            let f = &mut out[i];
            f.extend_from_slice(&[2; 6]);
            f.extend_from_slice(&[1; 6]);
            f.extend_from_slice(&[0x08, 0x00]);
            h.write(f).unwrap();
            f.extend_from_slice(part);
        }
        out
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defrag::new(&DefragConfig::default());
        let [a, b] = fragments(
            7,
            &[
                0x05, 0x64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
            ],
        );
        assert!(d.push(LinkType::Ethernet, &b, Timestamp(1)).is_none());
        let dg = d
            .push(LinkType::Ethernet, &a, Timestamp(2))
            .expect("reassembled");
        assert_eq!(dg.payload.payload.len(), 8 + 18);
        assert_eq!(&dg.payload.payload[8..10], &[0x05, 0x64]);
        // Seen by the rules as Suricata rebuilds it: the identification kept, no MF, no offset.
        let ipv4 = dg.ipv4.expect("IPv4");
        assert_eq!((ipv4.identification, ipv4.frag), (7, 0));
        d.recycle(dg);
        assert_eq!(d.stats.reassembled, 1);
    }

    #[test]
    fn caps_trackers_and_times_out() {
        let config = DefragConfig {
            max_trackers: 8,
            timeout: 30,
        };
        let mut d = Defrag::new(&config);
        for id in 0..100u16 {
            let [a, _] = fragments(id, &[0; 32]);
            d.push(LinkType::Ethernet, &a, Timestamp(1_000_000));
        }
        d.sweep(Timestamp(1_000_000));
        assert!(d.stats.max_trackers_reached >= 90, "{:?}", d.stats);
        let [_, b] = fragments(99, &[0; 32]);
        assert!(
            d.push(LinkType::Ethernet, &b, Timestamp(2_000_000))
                .is_some(),
            "the newest survives"
        );
        d.sweep(Timestamp(100_000_000));
        assert_eq!(
            d.stats.timeouts + d.stats.max_trackers_reached + d.stats.reassembled,
            100
        );
    }
}
