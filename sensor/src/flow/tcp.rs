//! TCP connection state, as a passive observer can follow it.

use decoders::Direction;
use etherparse::TcpSlice;

use crate::reassembly::Stream;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;
pub const URG: u8 = 0x20;
pub const ECE: u8 = 0x40;
pub const CWR: u8 = 0x80;

/// The state of a connection, from what both directions showed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TcpState {
    #[default]
    None,
    SynSent,
    SynRecv,
    Established,
    /// One side has sent FIN.
    FinWait,
    /// Both sides have sent FIN, or one has reset the connection.
    Closed,
}

impl TcpState {
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::FinWait => "fin_wait",
            TcpState::Closed => "closed",
        }
    }
}

/// The flag byte of a TCP header.
pub fn flags(tcp: &TcpSlice<'_>) -> u8 {
    u8::from(tcp.fin())
        | u8::from(tcp.syn()) << 1
        | u8::from(tcp.rst()) << 2
        | u8::from(tcp.psh()) << 3
        | u8::from(tcp.ack()) << 4
        | u8::from(tcp.urg()) << 5
        | u8::from(tcp.ece()) << 6
        | u8::from(tcp.cwr()) << 7
}

/// Both directions of one connection.
#[derive(Default)]
pub struct TcpSession {
    pub state: TcpState,
    /// Flags seen, per direction (index: [`Direction::index`]).
    pub flags: [u8; 2],
    /// The first sequence number seen per direction (the SYN's, or the first segment's - 1).
    base_seq: [Option<u32>; 2],
    /// Picked up without seeing the handshake.
    pub midstream: bool,
    pub streams: [Stream; 2],
}

impl TcpSession {
    /// Whether a segment opens a new connection on this flow's 5-tuple (port reuse): a SYN
    /// without ACK whose sequence number differs from the first one seen that way. A SYN sent
    /// again with the same sequence number, even after a RST, is the same connection attempt.
    /// Wireshark 4.0 draws the same line.
    pub fn is_reuse(&self, dir: Direction, flags: u8, seq: u32) -> bool {
        flags & (SYN | ACK) == SYN && self.base_seq[dir.index()].is_some_and(|base| seq != base)
    }

    /// Follow one segment's flags.
    pub fn track(&mut self, dir: Direction, flags: u8, seq: u32) {
        let d = dir.index();
        self.flags[d] |= flags;
        if self.base_seq[d].is_none() {
            self.base_seq[d] = Some(if flags & SYN != 0 {
                seq
            } else {
                seq.wrapping_sub(1)
            });
        }
        if flags & SYN != 0 {
            self.streams[d].start(seq.wrapping_add(1));
        }
        self.state = match (self.state, dir) {
            _ if flags & RST != 0 => TcpState::Closed,
            (TcpState::None, _) if flags & (SYN | ACK) == SYN => TcpState::SynSent,
            (TcpState::None | TcpState::SynSent, _) if flags & (SYN | ACK) == SYN | ACK => {
                TcpState::SynRecv
            }
            (TcpState::SynRecv, Direction::ToServer) if flags & ACK != 0 => TcpState::Established,
            (TcpState::None, _) => {
                self.midstream = true;
                TcpState::Established
            }
            (s, _) => s,
        };
        if flags & FIN != 0
            && matches!(
                self.state,
                TcpState::Established | TcpState::FinWait | TcpState::SynRecv
            )
        {
            let both = self.flags[0] & self.flags[1] & FIN != 0;
            self.state = if both {
                TcpState::Closed
            } else {
                TcpState::FinWait
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Direction::*;

    #[test]
    fn handshake_to_close() {
        let mut t = TcpSession::default();
        t.track(ToServer, SYN, 100);
        assert_eq!(t.state, TcpState::SynSent);
        t.track(ToClient, SYN | ACK, 900);
        assert_eq!(t.state, TcpState::SynRecv);
        t.track(ToServer, ACK, 101);
        assert_eq!(t.state, TcpState::Established);
        t.track(ToServer, FIN | ACK, 101);
        assert_eq!(t.state, TcpState::FinWait);
        t.track(ToClient, FIN | ACK, 901);
        assert_eq!(t.state, TcpState::Closed);
        assert!(!t.midstream);
        assert!(
            !t.is_reuse(ToServer, SYN, 100),
            "the same SYN again is a retransmission"
        );
        assert!(
            t.is_reuse(ToServer, SYN, 5000),
            "a new ISN opens a new connection"
        );
    }

    #[test]
    fn midstream_and_reuse() {
        let mut t = TcpSession::default();
        t.track(ToServer, ACK | PSH, 5000);
        assert_eq!(t.state, TcpState::Established);
        assert!(t.midstream);
        assert!(t.is_reuse(ToServer, SYN, 7000));
        let mut t = TcpSession::default();
        t.track(ToServer, SYN, 100);
        assert!(
            !t.is_reuse(ToServer, SYN, 100),
            "a retransmitted SYN is the same connection"
        );
        assert!(t.is_reuse(ToServer, SYN, 101));
        t.track(ToClient, RST | ACK, 0);
        assert_eq!(t.state, TcpState::Closed);
    }
}
