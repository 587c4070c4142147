//! The stage after the parsers: what a protocol logger hands over goes through here. A
//! transaction is written to the sinks (the EVE writer, with the uplink's spool beside it),
//! then matched against the signatures, then against the baseline, and every alert of either
//! is written through [`super::alert::write`]. Packets meet the packet rules here, protocol anomalies
//! the `app-layer-event` rules. The app layer parses; it decides nothing about alerts.

use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr};

use decoders::{AppProto, Direction};
use icsight_eve::{Event, EventType, Proto, Timestamp};
use serde::Serialize;

use super::alert::Place;
use super::Detect;
use crate::app::{direction_name, Detection};
use crate::baseline::model::Mac;
use crate::baseline::Watch;
use crate::eve::EveWriter;
use crate::flow::FlowMeta;

/// The stage, owned by the pipeline. The protocol probing settings ride along, as the parsers
/// ask them which protocol a flow speaks.
pub struct Stage {
    pub eve: EveWriter,
    /// The signatures and their matching state.
    pub detect: Detect,
    /// Baseline learning or detection, when on.
    pub watch: Option<Box<Watch>>,
    pub detection: Detection,
    /// Connections announced by others (FTP data connections), awaited by new flows.
    pub expected: crate::app::expect::Expectations,
    /// What the application layers keep at most (`[limits]`).
    pub limits: crate::config::LimitsConfig,
}

/// The flow and the packet a finding comes from.
pub struct Here<'a> {
    pub ts: Timestamp,
    /// Number of the packet being handled, counted from 1 over the run (EVE's `pcap_cnt`).
    pub pcap_cnt: u64,
    pub meta: &'a mut FlowMeta,
    /// The flow's flowbits.
    pub bits: &'a mut rules::FlowVars,
    /// Whether the flow was established when the packet arrived.
    pub established: bool,
}

impl Here<'_> {
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
            ip: None,
        }
    }
}

/// Where a frame outside any flow was seen: GOOSE and Sampled Values travel on Ethernet alone.
pub struct FrameAt<'a> {
    pub ts: Timestamp,
    pub pcap_cnt: u64,
    pub vlan: &'a [u16],
    /// Source and destination, where the link layer has them.
    pub macs: Option<([u8; 6], [u8; 6])>,
    pub ether_type: u16,
}

impl FrameAt<'_> {
    /// The protocol's name in EVE (`goose`, `sv`).
    fn label(&self) -> Option<&'static str> {
        rules::Protocol::of_ether_type(self.ether_type).map(rules::Protocol::name)
    }

    fn ether(&self) -> Option<Ether> {
        self.macs.map(|(src, dst)| Ether {
            src_mac: Mac(src),
            dest_mac: Mac(dst),
        })
    }

    /// What the rules see of the frame: no addresses, no ports, its ethertype.
    fn view(&self) -> rules::PacketView {
        let none = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        rules::PacketView {
            src: none,
            sport: 0,
            dst: none,
            dport: 0,
            transport: rules::Transport::Ether(self.ether_type),
            dir: Direction::ToServer,
            established: false,
            app_proto: None,
            flow_id: 0,
            secs: self.ts.secs(),
            ip: None,
        }
    }
}

/// EVE's `ether` block.
#[derive(Serialize)]
struct Ether {
    src_mac: Mac,
    dest_mac: Mac,
}

#[derive(Serialize)]
struct FrameBody<B: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ether: Option<Ether>,
    #[serde(flatten)]
    body: B,
}

#[derive(Serialize)]
#[serde(bound = "")]
struct AnomalyBody<'a, M: Display> {
    anomaly: Anomaly<'a, M>,
}

/// An anomaly as Suricata lays it out: an application layer's carries its protocol
/// (`app_proto`), its name within the protocol (`event`) and `layer`.
#[derive(Serialize)]
#[serde(bound = "")]
struct Anomaly<'a, M: Display> {
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto: Option<&'static str>,
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    layer: Option<&'static str>,
    /// `None` for a frame outside any flow, which goes no way.
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'static str>,
    #[serde(serialize_with = "display")]
    message: &'a M,
}

/// Names of Suricata's HTTP events are upper case (libhtp's table); no name is longer.
const MAX_EVENT: usize = 64;

/// An application-layer anomaly's name (`ftp.request_command_too_long`, the one its
/// `app-layer-event` rules use) split as Suricata writes it: the protocol, and the name
/// within it (`request_command_too_long`; HTTP's in upper case, written into `buf`). A name
/// not prefixed by a protocol (`applayer.truncated_datagram`) stays whole.
fn app_event<'b>(
    event: &'b str,
    flow: Option<AppProto>,
    buf: &'b mut [u8; MAX_EVENT],
) -> (Option<&'static str>, &'b str) {
    let split = event.split_once('.').and_then(|(prefix, rest)| {
        let p = AppProto::ALL.into_iter().find(|p| p.name() == prefix)?;
        Some((p, rest))
    });
    let Some((proto, rest)) = split else {
        return (flow.map(AppProto::label), event);
    };
    if proto == AppProto::Http && rest.len() <= MAX_EVENT {
        let upper = &mut buf[..rest.len()];
        upper.copy_from_slice(rest.as_bytes());
        upper.make_ascii_uppercase();
        if let Ok(u) = std::str::from_utf8(upper) {
            return (Some(proto.label()), u);
        }
    }
    (Some(proto.label()), rest)
}

fn display<S: serde::Serializer, M: Display>(m: &&M, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(*m)
}

impl Stage {
    /// A transaction: its event (`body`), then the signatures and the baseline, whose alerts
    /// carry `alert_body` (the same as `body` but where Suricata lays alerts out otherwise).
    pub fn transaction<B: Serialize, A: Serialize>(
        &mut self,
        here: &mut Here<'_>,
        (event_type, dir): (EventType, Direction),
        tx: decoders::Tx<'_, '_>,
        body: &B,
        alert_body: &A,
    ) {
        self.event(here, event_type, body);
        self.inspect(here, dir, tx, alert_body);
    }

    /// A transaction against the signatures and the baseline, without its event: for a
    /// protocol whose transactions are inspected as they progress and logged once at the end
    /// (HTTP). Alerts carry `alert_body`.
    pub fn inspect<A: Serialize>(
        &mut self,
        here: &mut Here<'_>,
        dir: Direction,
        tx: decoders::Tx<'_, '_>,
        alert_body: &A,
    ) {
        let pkt = here.view(dir);
        let d = &mut self.detect;
        d.ruleset
            .match_tx(&pkt, &tx, here.bits, &mut d.detector, &mut d.alerts);
        self.alerts(here, &pkt, Some(alert_body));
        if let Some(w) = self.watch.as_deref_mut() {
            let m = &*here.meta;
            let place = Place {
                ts: here.ts,
                flow_id: Some(m.id),
                tuple: Some(super::tuple(&pkt, m.proto)),
                vlan: m.vlan(),
                pcap_cnt: Some(here.pcap_cnt),
                app_proto: m.app_proto.map(AppProto::label),
                direction: Some(direction_name(dir)),
                linktype: self.detect.linktype,
            };
            if w.transaction(&mut self.eve, &place, m, &tx, Some(alert_body)) {
                here.meta.alerted = true;
            }
        }
    }

    /// A packet's payload against the packet rules (`pkt` oriented the way the packet goes).
    pub fn packet(&mut self, here: &mut Here<'_>, pkt: &rules::PacketView, payload: &[u8]) {
        let d = &mut self.detect;
        d.ruleset.match_packet(
            pkt,
            payload,
            false,
            here.bits,
            &mut d.detector,
            &mut d.alerts,
        );
        self.alerts::<()>(here, pkt, None);
    }

    /// Match the packet rules on a packet that belongs to no flow (a raw fragment): no
    /// flowbits, no `flow_id` on its alerts.
    pub fn flowless_packet(
        &mut self,
        (ts, pcap_cnt): (Timestamp, u64),
        pkt: &rules::PacketView,
        payload: &[u8],
        (vlan, proto): (&[u16], Proto),
    ) {
        let d = &mut self.detect;
        let mut bits = rules::FlowVars::default();
        d.ruleset.match_packet(
            pkt,
            payload,
            false,
            &mut bits,
            &mut d.detector,
            &mut d.alerts,
        );
        d.write_alerts::<()>(&mut self.eve, pkt, (ts, pcap_cnt), (vlan, proto), None);
    }

    /// A DNP3 link frame's source address, for the sender's identity in the baseline.
    pub fn dnp3_link(&mut self, here: &Here<'_>, dir: Direction, source: u16) {
        if let Some(w) = self.watch.as_deref_mut() {
            w.dnp3_link(here.meta, dir, source, here.ts);
        }
    }

    /// An event about the flow.
    pub fn event<B: Serialize>(&mut self, here: &Here<'_>, event_type: EventType, body: B) {
        self.event_towards(here, Direction::ToServer, event_type, body);
    }

    /// An event about one message of the flow, its addresses the way `dir` goes (as Suricata
    /// logs DNS: a response from the server to the client).
    pub fn event_towards<B: Serialize>(
        &mut self,
        here: &Here<'_>,
        dir: Direction,
        event_type: EventType,
        body: B,
    ) {
        let m = &here.meta;
        let tuple = super::tuple(&here.view(dir), m.proto);
        self.eve.write(&Event {
            timestamp: here.ts,
            flow_id: Some(m.id),
            event_type,
            tuple: Some(tuple),
            vlan: m.vlan(),
            pcap_cnt: Some(here.pcap_cnt),
            app_proto: m.app_proto.map(AppProto::label),
            body,
        });
    }

    /// An `anomaly` event about the flow: `kind` is `applayer` or `stream`, `event` its stable
    /// name (`modbus.invalid_length`). An `applayer` anomaly also meets the `app-layer-event`
    /// rules.
    pub fn anomaly(
        &mut self,
        here: &mut Here<'_>,
        (kind, dir): (&'static str, Direction),
        event: &str,
        message: &impl Display,
    ) {
        self.anomaly_in::<()>(here, (kind, dir), event, message, None);
    }

    /// [`Stage::anomaly`] of a transaction: alerts on the event carry `tx`'s block, as
    /// Suricata's alerts on a DNS message's events carry the message.
    pub fn anomaly_in<B: Serialize>(
        &mut self,
        here: &mut Here<'_>,
        (kind, dir): (&'static str, Direction),
        event: &str,
        message: &impl Display,
        tx: Option<&B>,
    ) {
        let mut buf = [0; MAX_EVENT];
        let (app_proto, name, layer) = if kind == "applayer" {
            let (p, n) = app_event(event, here.meta.app_proto, &mut buf);
            (p, n, Some("proto_parser"))
        } else {
            (None, event, None)
        };
        let body = AnomalyBody {
            anomaly: Anomaly {
                app_proto,
                kind,
                event: name,
                layer,
                direction: Some(direction_name(dir)),
                message,
            },
        };
        self.event(here, EventType::Anomaly, body);
        if kind == "applayer" && self.detect.ruleset.has_event_rules() {
            let pkt = here.view(dir);
            let d = &mut self.detect;
            d.ruleset
                .match_event(&pkt, event, here.bits, &mut d.detector, &mut d.alerts);
            self.alerts(here, &pkt, tx);
        }
    }

    /// An event about an Ethernet frame outside any flow (GOOSE, Sampled Values): no tuple,
    /// its MACs in `ether` as Suricata writes them.
    pub fn frame_event<B: Serialize>(&mut self, at: &FrameAt<'_>, event_type: EventType, body: B) {
        self.eve.write(&Event {
            timestamp: at.ts,
            flow_id: None,
            event_type,
            tuple: None,
            vlan: at.vlan,
            pcap_cnt: Some(at.pcap_cnt),
            app_proto: at.label(),
            body: FrameBody {
                ether: at.ether(),
                body,
            },
        });
    }

    /// An `anomaly` about a frame outside any flow (`goose.st_num_jump`): written, then matched
    /// against the `app-layer-event` rules of the frame's protocol (`alert goose any any -> any
    /// any`), whose alerts carry `block` (the frame's `goose` block).
    pub fn frame_anomaly<B: Serialize>(
        &mut self,
        at: &FrameAt<'_>,
        event: &str,
        message: &impl Display,
        block: &B,
    ) {
        let name = event.split_once('.').map_or(event, |(_, n)| n);
        let body = AnomalyBody {
            anomaly: Anomaly {
                app_proto: at.label(),
                kind: "applayer",
                event: name,
                layer: Some("proto_parser"),
                direction: None,
                message,
            },
        };
        self.frame_event(at, EventType::Anomaly, body);
        if !self.detect.ruleset.has_event_rules() {
            return;
        }
        let pkt = at.view();
        let d = &mut self.detect;
        let mut bits = rules::FlowVars::default();
        d.ruleset
            .match_event(&pkt, event, &mut bits, &mut d.detector, &mut d.alerts);
        self.frame_alerts(at, &pkt, block);
    }

    /// A GOOSE frame against the rules on its fields; their alerts carry `block`.
    pub fn goose<B: Serialize>(
        &mut self,
        at: &FrameAt<'_>,
        g: &decoders::goose::Goose<'_>,
        block: &B,
    ) {
        let pkt = at.view();
        let d = &mut self.detect;
        d.ruleset
            .match_goose(&pkt, g, &mut d.detector, &mut d.alerts);
        self.frame_alerts(at, &pkt, block);
    }

    fn frame_alerts<B: Serialize>(&mut self, at: &FrameAt<'_>, pkt: &rules::PacketView, block: &B) {
        let app = FrameBody {
            ether: at.ether(),
            body: block,
        };
        self.detect.write_alerts(
            &mut self.eve,
            pkt,
            (at.ts, at.pcap_cnt),
            (at.vlan, Proto(0)),
            Some(&app),
        );
    }

    /// Write the alerts of the rules that just matched; the flow has alerted if any.
    fn alerts<B: Serialize>(
        &mut self,
        here: &mut Here<'_>,
        pkt: &rules::PacketView,
        app: Option<&B>,
    ) {
        let m = &*here.meta;
        let wrote = self.detect.write_alerts(
            &mut self.eve,
            pkt,
            (here.ts, here.pcap_cnt),
            (m.vlan(), m.proto),
            app,
        );
        if wrote {
            here.meta.alerted = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_events_are_named_as_suricata_writes_them() {
        let mut buf = [0; MAX_EVENT];
        let ftp = Some(AppProto::Ftp);
        assert_eq!(
            app_event("ftp.request_command_too_long", ftp, &mut buf),
            (Some("ftp"), "request_command_too_long")
        );
        assert_eq!(
            app_event("http.request_line_missing_protocol", None, &mut buf),
            (Some("http"), "REQUEST_LINE_MISSING_PROTOCOL")
        );
        assert_eq!(
            app_event("ftp_data.x", None, &mut buf),
            (Some("ftp-data"), "x")
        );
        assert_eq!(
            app_event("applayer.truncated_datagram", Some(AppProto::Dns), &mut buf),
            (Some("dns"), "applayer.truncated_datagram")
        );
        assert_eq!(app_event("odd", None, &mut buf), (None, "odd"));
    }
}
