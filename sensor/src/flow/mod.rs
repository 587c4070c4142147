//! Flows: what the sensor remembers about each conversation.

mod key;
mod table;
pub mod tcp;

pub use key::FlowKey;
pub use table::{Class, FlowTable};

use std::net::IpAddr;

use decoders::{AppProto, Direction};

use crate::app::AppState;
use icsight_eve::{Proto, Timestamp, Tuple};

/// Why a flow record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    /// Idle past its state's timeout.
    Timeout,
    /// Evicted to stay under the flow or memory cap.
    Forced,
    /// A new TCP connection reused its 5-tuple.
    TcpReuse,
    /// The capture ended.
    Shutdown,
}

impl EndReason {
    /// EVE's `flow.reason`, spelled as Suricata does.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Forced => "forced",
            EndReason::TcpReuse => "tcp_reuse",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// What events about a flow repeat: its id, its orientation and its protocols.
#[derive(Clone, Copy, Debug)]
pub struct FlowMeta {
    pub id: u64,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub proto: Proto,
    pub vlan: [u16; 2],
    pub vlan_len: u8,
    pub app_proto: Option<AppProto>,
    /// The protocol the flow started as, when it changed (HTTP, for what a `CONNECT` tunnel
    /// carries): the flow event's `app_proto_orig`, as Suricata's.
    pub app_proto_orig: Option<AppProto>,
    /// Protocol detection gave up: the flow event says `app_proto: failed`, as Suricata's.
    pub app_failed: bool,
    /// Some rule alerted on the flow.
    pub alerted: bool,
    /// The Ethernet source address first seen from the client and from the server.
    pub macs: [Option<[u8; 6]>; 2],
}

impl FlowMeta {
    pub fn tuple(&self) -> Tuple {
        let ports = self.proto == Proto::TCP || self.proto == Proto::UDP;
        Tuple {
            src_ip: self.client.0,
            src_port: ports.then_some(self.client.1),
            dest_ip: self.server.0,
            dest_port: ports.then_some(self.server.1),
            proto: self.proto,
        }
    }

    pub fn vlan(&self) -> &[u16] {
        &self.vlan[..usize::from(self.vlan_len)]
    }
}

/// What the app layer borrows of a flow: its metadata, its flowbits, and whether it is
/// established.
pub type FlowParts<'a> = (&'a mut FlowMeta, &'a mut rules::FlowVars, bool);

/// One tracked flow.
pub struct Flow {
    pub key: FlowKey,
    pub meta: FlowMeta,
    /// Whether the client is side `a` of the key.
    pub client_is_a: bool,
    pub start: Timestamp,
    pub last: Timestamp,
    /// Packets and bytes (whole frames) per direction.
    pub pkts: [u64; 2],
    pub bytes: [u64; 2],
    pub tcp: tcp::TcpSession,
    pub app: AppState,
    /// Flowbits set by rules.
    pub bits: rules::FlowVars,
    /// Heap bytes this flow held when last measured (reassembly queues, app buffers).
    pub heap: usize,
}

impl Flow {
    /// The direction of a packet whose source is side `a` (`src_is_a`) or side `b`.
    pub fn direction(&self, src_is_a: bool) -> Direction {
        if src_is_a == self.client_is_a {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// The flow taken apart for the app layer: its TCP session and app state, and what the
    /// app layer borrows of the rest (metadata, flowbits, whether it is established).
    pub fn split(&mut self) -> (&mut tcp::TcpSession, &mut AppState, FlowParts<'_>) {
        let established = self.established();
        (
            &mut self.tcp,
            &mut self.app,
            (&mut self.meta, &mut self.bits, established),
        )
    }

    /// Memory attributable to this flow, for the memcap.
    pub fn heap_bytes(&self) -> usize {
        self.tcp.streams[0].queued_bytes()
            + self.tcp.streams[1].queued_bytes()
            + self.app.heap_bytes()
            + self.bits.heap_bytes()
    }

    /// EVE's `flow.state`: `new` until both sides have spoken, `closed` after FIN/RST.
    pub fn state_name(&self) -> &'static str {
        use tcp::TcpState::*;
        if self.meta.proto == Proto::TCP {
            match self.tcp.state {
                None | SynSent | SynRecv => "new",
                Established | FinWait => "established",
                Closed => "closed",
            }
        } else if self.pkts[0] > 0 && self.pkts[1] > 0 {
            "established"
        } else {
            "new"
        }
    }

    /// Whether the flow counts as established for `flow:established`: a TCP handshake seen
    /// (or picked up mid-stream), or packets both ways.
    pub fn established(&self) -> bool {
        match self.meta.proto {
            Proto::TCP => matches!(
                self.tcp.state,
                tcp::TcpState::Established | tcp::TcpState::FinWait
            ),
            _ => self.pkts[0] > 0 && self.pkts[1] > 0,
        }
    }

    /// The timeout class this flow belongs in now.
    pub fn class(&self) -> Class {
        let both = self.pkts[0] > 0 && self.pkts[1] > 0;
        match self.meta.proto {
            Proto::TCP => match self.tcp.state {
                tcp::TcpState::Established | tcp::TcpState::FinWait => Class::TcpEstablished,
                tcp::TcpState::Closed => Class::TcpClosed,
                _ => Class::TcpNew,
            },
            Proto::UDP if both => Class::UdpEstablished,
            Proto::UDP => Class::UdpNew,
            _ if both => Class::OtherEstablished,
            _ => Class::OtherNew,
        }
    }
}
