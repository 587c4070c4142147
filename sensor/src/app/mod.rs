//! Application-layer detection and dispatch.
//!
//! A new flow starts in [`AppState::Detecting`]. Its first payload in either direction is probed:
//! protocols configured on the flow's server port first, then (unless disabled) every other
//! protocol, so Modbus/TCP is found off port 502 and DNP3 wherever its start bytes appear. A
//! match hands the flow to that protocol's [`Driver`] for good; a flow nothing matches within a
//! few payloads is left alone. What a protocol's logger finds — transactions, anomalies — it
//! hands through its [`AppCtx`] to the detection stage ([`crate::detect::Stage`]), which writes,
//! matches and alerts; the app layer itself decides nothing about alerts.

pub mod dnp3;
pub mod dns;
mod driver;
pub mod enip;
pub mod ether;
pub mod expect;
pub mod fileinfo;
pub mod ftp;
pub mod ftp_data;
pub mod goose;
pub mod http;
pub mod iec104;
pub mod mms;
pub mod modbus;
pub mod opcua;
pub mod s7comm;
pub mod smb;
pub mod smtp;
pub mod ssh;
pub mod sv;
#[cfg(test)]
pub(crate) mod testing;
pub mod text;
pub mod tls;

pub use driver::{Driver, Logged};

use std::fmt::Display;

use decoders::{AppProto, Direction, Probe};
use serde::Serialize;

use crate::config::AppConfig;
use crate::detect::{Here, Stage};
use crate::flow::FlowParts;
use crate::reassembly::Chunk;
use icsight_eve::{EventType, Timestamp};

/// Payloads probed per direction before a flow is declared unknown.
const MAX_PROBES: u8 = 4;

/// Which protocols to look for, and where.
#[derive(Clone, Debug)]
pub struct Detection {
    /// (protocol, ports) of every enabled protocol.
    protos: Vec<(AppProto, Vec<u16>)>,
    probe_all_ports: bool,
}

impl Detection {
    pub fn new(config: &AppConfig) -> Self {
        let protos = AppProto::ALL
            .into_iter()
            .map(|p| (p, config.proto(p)))
            .filter(|(_, c)| c.enabled)
            .map(|(p, c)| (p, c.ports.clone()))
            .collect();
        Detection {
            protos,
            probe_all_ports: config.probe_all_ports,
        }
    }

    /// Whether some protocol is configured on `port`: such a port is taken to be the server's.
    pub fn is_service_port(&self, port: u16) -> bool {
        self.protos.iter().any(|(_, ports)| ports.contains(&port))
    }

    fn detect(&self, dir: Direction, server_port: u16, bytes: &[u8]) -> Option<AppProto> {
        let on_port = self
            .protos
            .iter()
            .filter(|(_, ports)| ports.contains(&server_port));
        for (proto, _) in on_port {
            // On its own port a protocol needs only not to be contradicted.
            match proto.probe(dir, bytes) {
                Probe::Match | Probe::NeedMore => return Some(*proto),
                Probe::NoMatch => {}
            }
        }
        if !self.probe_all_ports {
            return None;
        }
        self.protos
            .iter()
            .filter(|(p, ports)| p.probed_off_port() && !ports.contains(&server_port))
            .find(|(p, _)| p.probe(dir, bytes) == Probe::Match)
            .map(|(p, _)| *p)
    }
}

/// Counters for one protocol.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProtoStats {
    pub flows: u64,
    pub pdus: u64,
    /// Protocol anomalies, all kinds together; `anomaly` breaks them down by name.
    pub anomalies: u64,
    pub gaps: u64,
    pub anomaly: NamedCounts,
}

/// Counters keyed by a static name, serialized as a JSON object. Names are few and fixed, so a
/// short list searched linearly beats a map, and it allocates only when a name first occurs.
#[derive(Clone, Debug, Default)]
pub struct NamedCounts(Vec<(&'static str, u64)>);

impl NamedCounts {
    pub fn add(&mut self, name: &'static str) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => self.0.push((name, 1)),
        }
    }

    pub fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| *c)
    }
}

impl Serialize for NamedCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(n, c)| (*n, *c)))
    }
}

macro_rules! declare_app_stats {
    ($($variant:ident, $name:ident, $parser:ty;)*) => {
        /// The application layer's counters: one [`ProtoStats`] a protocol.
        #[derive(Clone, Debug, Default, Serialize)]
        pub struct AppStats {
            $(pub $name: ProtoStats,)*
            /// Flows with payload that no protocol claimed.
            pub unknown: u64,
        }

        impl AppStats {
            pub fn proto(&mut self, p: AppProto) -> &mut ProtoStats {
                match p {
                    $(AppProto::$variant => &mut self.$name,)*
                }
            }
        }
    };
}

decoders::for_each_protocol!(declare_app_stats);

/// What the app layer needs from the pipeline while it handles one packet's bytes: the flow
/// and packet at hand, its counters, and the stage its findings go to.
pub struct AppCtx<'a> {
    pub here: Here<'a>,
    pub stats: &'a mut AppStats,
    /// Where transactions, anomalies and alerts go.
    pub out: &'a mut Stage,
}

pub fn direction_name(dir: Direction) -> &'static str {
    match dir {
        Direction::ToServer => "to_server",
        Direction::ToClient => "to_client",
    }
}

impl<'a> AppCtx<'a> {
    /// The app layer's view of one flow — its metadata, flowbits and whether it is established —
    /// at packet time `ts`, the `pcap_cnt`-th packet of the run.
    pub fn new(
        ts: Timestamp,
        pcap_cnt: u64,
        (meta, bits, established): FlowParts<'a>,
        stats: &'a mut AppStats,
        out: &'a mut Stage,
    ) -> Self {
        AppCtx {
            here: Here {
                ts,
                pcap_cnt,
                meta,
                bits,
                established,
            },
            stats,
            out,
        }
    }
}

impl AppCtx<'_> {
    /// What the rules see of this flow going the way `dir` goes.
    pub fn view(&self, dir: Direction) -> rules::PacketView {
        self.here.view(dir)
    }

    /// Hand a transaction to the stage: its event, then signatures and baseline; each alert
    /// carries the same body.
    pub fn transaction<B: Serialize>(
        &mut self,
        event_type: EventType,
        dir: Direction,
        tx: decoders::Tx<'_, '_>,
        body: B,
    ) {
        self.out
            .transaction(&mut self.here, (event_type, dir), tx, &body, &body);
    }

    /// [`AppCtx::transaction`] where alerts carry the transaction laid out differently from
    /// its own event (as Suricata lays out DNP3).
    pub fn transaction_alerting<B: Serialize, A: Serialize>(
        &mut self,
        event_type: EventType,
        dir: Direction,
        tx: decoders::Tx<'_, '_>,
        body: &B,
        alert_body: &A,
    ) {
        self.out
            .transaction(&mut self.here, (event_type, dir), tx, body, alert_body);
    }

    /// Match a transaction against the signatures without writing its event, seen as going
    /// the way `dir` goes; alerts carry `alert_body`.
    pub fn inspect<A: Serialize>(
        &mut self,
        dir: Direction,
        tx: decoders::Tx<'_, '_>,
        alert_body: &A,
    ) {
        self.out.inspect(&mut self.here, dir, tx, alert_body);
    }

    /// A DNP3 link frame's source address, for the sender's identity.
    pub fn dnp3_link(&mut self, dir: Direction, source: u16) {
        self.out.dnp3_link(&self.here, dir, source);
    }

    /// Match the packet rules on one packet's payload (`pkt` oriented the way the packet goes).
    pub fn inspect_packet(&mut self, pkt: &rules::PacketView, payload: &[u8]) {
        self.out.packet(&mut self.here, pkt, payload);
    }

    /// A message logged as it goes, then matched against the signatures (as DNS is): its
    /// event's addresses are the way `dir` goes; alerts carry the same body.
    pub fn message<B: Serialize>(
        &mut self,
        event_type: EventType,
        dir: Direction,
        tx: decoders::Tx<'_, '_>,
        body: B,
    ) {
        self.out.event_towards(&self.here, dir, event_type, &body);
        self.out.inspect(&mut self.here, dir, tx, &body);
    }

    /// Write an event about this flow.
    pub fn event<B: Serialize>(&mut self, event_type: EventType, body: B) {
        self.out.event(&self.here, event_type, body);
    }

    /// Count and hand over an `applayer` anomaly of `proto`: `event` is its stable name, such
    /// as `modbus.invalid_length`.
    pub fn app_anomaly(
        &mut self,
        proto: AppProto,
        dir: Direction,
        event: &'static str,
        message: &impl Display,
    ) {
        let stats = self.stats.proto(proto);
        stats.anomalies += 1;
        stats.anomaly.add(event);
        self.out
            .anomaly(&mut self.here, ("applayer", dir), event, message);
    }

    /// [`AppCtx::app_anomaly`] of a transaction whose block (`tx`) alerts on the event carry.
    pub fn app_anomaly_in<B: Serialize>(
        &mut self,
        proto: AppProto,
        dir: Direction,
        event: &'static str,
        message: &impl Display,
        tx: &B,
    ) {
        let stats = self.stats.proto(proto);
        stats.anomalies += 1;
        stats.anomaly.add(event);
        self.out
            .anomaly_in(&mut self.here, ("applayer", dir), event, message, Some(tx));
    }

    /// Hand over an `anomaly` of `kind` (`stream`, `applayer`) about this flow.
    pub fn anomaly(
        &mut self,
        dir: Direction,
        kind: &'static str,
        event: &str,
        message: &impl Display,
    ) {
        self.out
            .anomaly(&mut self.here, (kind, dir), event, message);
    }
}

macro_rules! declare_app_state {
    ($($variant:ident, $name:ident, $parser:ty;)*) => {
        /// Where a flow's application layer stands: still probing, handed to one protocol's
        /// [`Driver`] for good, or given up on.
        pub enum AppState {
            Detecting {
                probes: [u8; 2],
            },
            $($variant(Driver<$parser>),)*
            /// No protocol we decode, or not TCP/UDP.
            None,
        }

        impl AppState {
            /// A fresh driver for `proto`, under the configured limits.
            fn start(proto: AppProto, limits: &crate::config::LimitsConfig) -> Self {
                match proto {
                    $(AppProto::$variant => AppState::$variant(Driver::configured(limits)),)*
                }
            }

            pub fn heap_bytes(&self) -> usize {
                match self {
                    $(AppState::$variant(d) => d.heap_bytes(),)*
                    AppState::Detecting { .. } | AppState::None => 0,
                }
            }

            /// The flow has ended: its queued bytes have been handed over; report what is still
            /// open.
            pub fn close(&mut self, ctx: &mut AppCtx<'_>) {
                match self {
                    $(AppState::$variant(d) => d.close(ctx),)*
                    AppState::Detecting { .. } | AppState::None => {}
                }
            }

            /// A TCP direction has sent FIN.
            pub fn finished(&mut self, dir: Direction, ctx: &mut AppCtx<'_>) {
                match self {
                    $(AppState::$variant(d) => d.finished(dir, ctx),)*
                    AppState::Detecting { .. } | AppState::None => {}
                }
            }

            /// Bytes (or a gap) of a TCP direction.
            pub fn chunk(&mut self, dir: Direction, chunk: Chunk<'_>, ctx: &mut AppCtx<'_>) {
                let data = match chunk {
                    Chunk::Data(bytes) => Some(bytes),
                    Chunk::Gap(_) => None,
                };
                if let (AppState::Detecting { .. }, Some(bytes)) = (&*self, data) {
                    self.detect(dir, bytes, ctx);
                }
                match self {
                    $(AppState::$variant(d) => d.chunk(dir, chunk, ctx),)*
                    AppState::Detecting { .. } | AppState::None => {}
                }
                let handover = match self {
                    $(AppState::$variant(d) => d.handover(),)*
                    AppState::Detecting { .. } | AppState::None => None,
                };
                if let (Some(n), Some(bytes)) = (handover, data) {
                    // Another protocol from here on: what was open is over, and detection
                    // starts on the new protocol's first bytes. The handing protocols are
                    // HTTP (a tunnel) and S7comm (the connection was MMS), neither ever handed
                    // to again, so this recurses once.
                    let prefix = match self {
                        $(AppState::$variant(d) => d.handover_prefix(),)*
                        AppState::Detecting { .. } | AppState::None => Vec::new(),
                    };
                    self.close(ctx);
                    let meta = &mut ctx.here.meta;
                    meta.app_proto_orig = meta.app_proto.take();
                    *self = AppState::detecting();
                    if !prefix.is_empty() {
                        self.chunk(dir, Chunk::Data(&prefix), ctx);
                    }
                    let from = bytes.len().saturating_sub(n);
                    if from < bytes.len() {
                        self.chunk(dir, Chunk::Data(&bytes[from..]), ctx);
                    }
                }
            }

            /// A UDP datagram.
            pub fn datagram(&mut self, dir: Direction, bytes: &[u8], ctx: &mut AppCtx<'_>) {
                if bytes.is_empty() {
                    return;
                }
                if let AppState::Detecting { .. } = self {
                    self.detect(dir, bytes, ctx);
                }
                match self {
                    $(AppState::$variant(d) => d.datagram(dir, bytes, ctx),)*
                    AppState::Detecting { .. } | AppState::None => {}
                }
            }
        }
    };
}

decoders::for_each_protocol!(declare_app_state);

impl AppState {
    pub fn detecting() -> Self {
        AppState::Detecting { probes: [0; 2] }
    }

    fn detect(&mut self, dir: Direction, bytes: &[u8], ctx: &mut AppCtx<'_>) {
        let AppState::Detecting { probes } = self else {
            return;
        };
        // A connection another announced (an FTP data connection) is what it was announced as.
        let expected = &mut ctx.out.expected;
        if !expected.is_empty() && ctx.here.meta.proto == icsight_eve::Proto::TCP {
            let meta = &mut ctx.here.meta;
            if let Some(e) = expected.take(meta.client, meta.server) {
                meta.app_proto = Some(AppProto::FtpData);
                ctx.stats.ftp_data.flows += 1;
                *self = AppState::FtpData(Driver::with_state(ftp_data::State::expected(e.data)));
                return;
            }
        }
        match ctx.out.detection.detect(dir, ctx.here.meta.server.1, bytes) {
            Some(proto) => {
                ctx.here.meta.app_proto = Some(proto);
                ctx.stats.proto(proto).flows += 1;
                *self = AppState::start(proto, &ctx.out.limits);
            }
            None => {
                probes[dir.index()] += 1;
                // A datagram is a message whole: one that no protocol claims, on a port no
                // protocol is configured for, settles it, as in Suricata. A stream's first
                // segments, or junk on a protocol's own port, may be followed by more.
                let meta = &ctx.here.meta;
                let settled = meta.proto == icsight_eve::Proto::UDP
                    && !ctx.out.detection.is_service_port(meta.server.1);
                if settled || probes[dir.index()] >= MAX_PROBES {
                    ctx.stats.unknown += 1;
                    ctx.here.meta.app_failed = true;
                    *self = AppState::None;
                }
            }
        }
    }
}
