//! Application-layer detection and dispatch.
//!
//! A new flow starts in [`AppState::Detecting`]. Its first payload in either direction is probed:
//! protocols configured on the flow's server port first, then (unless disabled) every other
//! protocol, so Modbus/TCP is found off port 502 and DNP3 wherever its start bytes appear. A
//! match hands the flow to that protocol's [`Driver`] for good; a flow nothing matches within a
//! few payloads is left alone.

pub mod dnp3;
mod driver;
pub mod modbus;
pub mod s7comm;

pub use driver::{Driver, Logged};

use std::fmt::Display;

use decoders::{AppProto, Direction, Probe};
use serde::Serialize;

use crate::config::AppConfig;
use crate::detect::alert::Place;
use crate::detect::Stage;
use crate::flow::{FlowMeta, FlowParts};
use crate::reassembly::Chunk;
use icsight_eve::{Event, EventType, Proto, Timestamp};

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
            .filter(|(_, ports)| !ports.contains(&server_port))
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
/// the bytes belong to, and the stage its findings go to.
pub struct AppCtx<'a> {
    pub ts: Timestamp,
    /// Number of the packet being handled, counted from 1 over the run (EVE's `pcap_cnt`).
    pub pcap_cnt: u64,
    pub meta: &'a mut FlowMeta,
    /// The flow's flowbits.
    pub bits: &'a mut rules::FlowBits,
    /// Whether the flow was established when the packet arrived.
    pub established: bool,
    pub stats: &'a mut AppStats,
    /// Where transactions, anomalies and alerts go.
    pub out: &'a mut Stage,
}

#[derive(Serialize)]
#[serde(bound = "")]
struct AnomalyBody<'a, M: Display> {
    anomaly: Anomaly<'a, M>,
}

#[derive(Serialize)]
#[serde(bound = "")]
struct Anomaly<'a, M: Display> {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'a str,
    direction: &'static str,
    #[serde(serialize_with = "display")]
    message: &'a M,
}

fn display<S: serde::Serializer, M: Display>(m: &&M, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(*m)
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
            ts,
            pcap_cnt,
            meta,
            bits,
            established,
            stats,
            out,
        }
    }
}

impl AppCtx<'_> {
    /// What the rules see of this flow going the way `dir` goes.
    pub fn view(&self, dir: Direction) -> rules::PacketView {
        let m = &self.meta;
        let (src, dst) = match dir {
            Direction::ToServer => (m.client, m.server),
            Direction::ToClient => (m.server, m.client),
        };
        rules::PacketView {
            src: src.0,
            sport: src.1,
            dst: dst.0,
            dport: dst.1,
            transport: match m.proto {
                Proto::TCP => rules::Transport::Tcp,
                Proto::UDP => rules::Transport::Udp,
                Proto(p) => rules::Transport::Other(p),
            },
            dir,
            established: self.established,
            app_proto: m.app_proto,
            flow_id: m.id,
            secs: self.ts.secs(),
        }
    }

    /// Write a transaction event, then match the rules on the transaction; each alert carries
    /// the same body.
    pub fn transaction<B: Serialize>(
        &mut self,
        event_type: EventType,
        dir: Direction,
        tx: decoders::Tx<'_, '_>,
        body: B,
    ) {
        self.transaction_alerting(event_type, dir, tx, &body, &body);
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
        self.event(event_type, body);
        let pkt = self.view(dir);
        let d = &mut self.out.detect;
        d.ruleset
            .match_tx(&pkt, &tx, self.bits, &mut d.detector, &mut d.alerts);
        self.write_alerts(&pkt, Some(alert_body));
        if let Some(w) = self.out.watch.as_deref_mut() {
            let m = &*self.meta;
            let place = Place {
                ts: self.ts,
                flow_id: Some(m.id),
                tuple: crate::detect::tuple(&pkt, m.proto),
                vlan: m.vlan(),
                pcap_cnt: Some(self.pcap_cnt),
                app_proto: m.app_proto.map(AppProto::name),
                direction: Some(direction_name(dir)),
                linktype: self.out.detect.linktype,
            };
            if w.transaction(&mut self.out.eve, &place, m, &tx, Some(alert_body)) {
                self.meta.alerted = true;
            }
        }
    }

    /// A DNP3 link frame's source address, for the sender's identity.
    pub fn dnp3_link(&mut self, dir: Direction, source: u16) {
        if let Some(w) = self.out.watch.as_deref_mut() {
            w.dnp3_link(self.meta, dir, source, self.ts);
        }
    }

    /// Match the packet rules on one packet's payload (`pkt` oriented the way the packet goes).
    pub fn inspect_packet(&mut self, pkt: &rules::PacketView, payload: &[u8]) {
        let d = &mut self.out.detect;
        d.ruleset.match_packet(
            pkt,
            payload,
            false,
            self.bits,
            &mut d.detector,
            &mut d.alerts,
        );
        self.write_alerts::<()>(pkt, None);
    }

    fn write_alerts<B: Serialize>(&mut self, pkt: &rules::PacketView, app: Option<&B>) {
        let m = &*self.meta;
        if self.out.detect.write_alerts(
            &mut self.out.eve,
            pkt,
            self.ts,
            self.pcap_cnt,
            m.vlan(),
            m.proto,
            app,
        ) {
            self.meta.alerted = true;
        }
    }

    /// Write an event about this flow.
    pub fn event<B: Serialize>(&mut self, event_type: EventType, body: B) {
        let ev = Event {
            timestamp: self.ts,
            flow_id: Some(self.meta.id),
            event_type,
            tuple: Some(self.meta.tuple()),
            vlan: self.meta.vlan(),
            pcap_cnt: Some(self.pcap_cnt),
            app_proto: self.meta.app_proto.map(AppProto::name),
            body,
        };
        self.out.eve.write(&ev);
    }

    /// Count and write an `applayer` anomaly of `proto`: `event` is its stable name, such as
    /// `modbus.invalid_length`.
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
        self.anomaly(dir, "applayer", event, message);
        if self.out.detect.ruleset.has_event_rules() {
            let pkt = self.view(dir);
            let d = &mut self.out.detect;
            d.ruleset
                .match_event(&pkt, event, self.bits, &mut d.detector, &mut d.alerts);
            self.write_alerts::<()>(&pkt, None);
        }
    }

    /// Write an `anomaly` event about this flow.
    pub fn anomaly(
        &mut self,
        dir: Direction,
        kind: &'static str,
        event: &str,
        message: &impl Display,
    ) {
        let body = AnomalyBody {
            anomaly: Anomaly {
                kind,
                event,
                direction: direction_name(dir),
                message,
            },
        };
        self.event(EventType::Anomaly, body);
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
            /// A fresh driver for `proto`.
            fn start(proto: AppProto) -> Self {
                match proto {
                    $(AppProto::$variant => AppState::$variant(Driver::default()),)*
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

            /// Bytes (or a gap) of a TCP direction.
            pub fn chunk(&mut self, dir: Direction, chunk: Chunk<'_>, ctx: &mut AppCtx<'_>) {
                if let (AppState::Detecting { .. }, Chunk::Data(bytes)) = (&*self, &chunk) {
                    self.detect(dir, bytes, ctx);
                }
                match self {
                    $(AppState::$variant(d) => d.chunk(dir, chunk, ctx),)*
                    AppState::Detecting { .. } | AppState::None => {}
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
        match ctx.out.detection.detect(dir, ctx.meta.server.1, bytes) {
            Some(proto) => {
                ctx.meta.app_proto = Some(proto);
                ctx.stats.proto(proto).flows += 1;
                *self = AppState::start(proto);
            }
            None => {
                probes[dir.index()] += 1;
                if probes[dir.index()] >= MAX_PROBES {
                    ctx.stats.unknown += 1;
                    *self = AppState::None;
                }
            }
        }
    }
}
