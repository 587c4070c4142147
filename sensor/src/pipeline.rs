//! The per-packet path: decode → flow → reassembly → application layer → EVE.
//!
//! One [`Pipeline`] owns all per-capture state. It is fed borrowed frames and never copies one:
//! in-order TCP payload and UDP payload reach the protocol parsers as slices of the frame.
//! Flows time out by packet time, so a replay behaves as the live capture it was recorded from.

use decoders::{AppProto, Direction};
use serde::Serialize;

use crate::app::{self, AppCtx, AppState, Detection};
use crate::baseline::Watch;
use crate::config::Config;
use crate::decode::defrag::Defrag;
use crate::decode::{self, DecodeError, Decoded, EtherFrame, IpPacket, LinkType, Transport};
use crate::detect::alert::Place;
use crate::detect::{Detect, FrameAt, Stage};
use crate::eve::EveWriter;
use crate::flow::tcp::{self, TcpSession};
use crate::flow::{EndReason, Flow, FlowKey, FlowMeta, FlowTable};
use crate::reassembly::Budget;
use crate::stats::{CaptureStats, Stats, StatsBody, StatsEvent};
use icsight_eve::{Event, EventType, Proto, Timestamp};

/// Fixed memory charged to every flow against the memcap.
const FLOW_SIZE: usize = std::mem::size_of::<Flow>() + 64;

/// Flow ids fit in 51 bits, so JSON consumers that read numbers as doubles keep them exact.
const FLOW_ID_MASK: u64 = (1 << 51) - 1;

pub struct Pipeline {
    link: LinkType,
    defrag: Defrag,
    flows: FlowTable,
    budget: Budget,
    max_queued: usize,
    memcap: usize,
    heap_used: usize,
    log_flows: bool,
    flow_ids: ahash::RandomState,
    /// Where the app layer's findings go: EVE, signatures, baseline.
    out: Stage,
    /// GOOSE publishers and Sampled Values streams, followed outside any flow.
    goose: crate::app::goose::Follower,
    sv: crate::app::sv::Streams,
    stats: Stats,
    first_ts: Option<Timestamp>,
    last_ts: Timestamp,
    last_tick: u64,
    /// The bulletins' counters, reported in `stats` events, when bulletins are pulled.
    bulletins: Option<crate::bulletin::Status>,
    /// The baseline file detected against, named in every `stats` event (the heartbeat).
    baseline: Option<String>,
}

#[derive(Serialize)]
struct DecodeAnomaly {
    anomaly: DecodeAnomalyBody,
}

#[derive(Serialize)]
struct DecodeAnomalyBody {
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'static str,
}

#[derive(Serialize)]
struct FlowBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    app_proto_orig: Option<&'static str>,
    flow: FlowRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp: Option<TcpRecord>,
}

#[derive(Serialize)]
struct FlowRecord {
    pkts_toserver: u64,
    pkts_toclient: u64,
    bytes_toserver: u64,
    bytes_toclient: u64,
    start: Timestamp,
    end: Timestamp,
    age: u64,
    state: &'static str,
    reason: &'static str,
    alerted: bool,
}

/// A TCP flag byte as Suricata writes it: two hex digits.
struct Hex(u8);

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let b = [
            DIGITS[usize::from(self.0 >> 4)],
            DIGITS[usize::from(self.0 & 15)],
        ];
        s.serialize_str(core::str::from_utf8(&b).unwrap_or("00"))
    }
}

fn is_false(b: &bool) -> bool {
    !b
}

#[derive(Serialize)]
struct TcpRecord {
    tcp_flags: Hex,
    tcp_flags_ts: Hex,
    tcp_flags_tc: Hex,
    #[serde(skip_serializing_if = "is_false")]
    syn: bool,
    #[serde(skip_serializing_if = "is_false")]
    fin: bool,
    #[serde(skip_serializing_if = "is_false")]
    rst: bool,
    #[serde(skip_serializing_if = "is_false")]
    psh: bool,
    #[serde(skip_serializing_if = "is_false")]
    ack: bool,
    #[serde(skip_serializing_if = "is_false")]
    midstream: bool,
    state: &'static str,
}

impl Pipeline {
    pub fn new(config: &Config, eve: EveWriter) -> Self {
        Pipeline {
            link: LinkType::Ethernet,
            defrag: Defrag::new(&config.defrag),
            flows: FlowTable::new(&config.flow),
            budget: Budget {
                used: 0,
                cap: config.stream.memcap_mb as usize * 1024 * 1024,
            },
            max_queued: config.stream.max_queued_kb as usize * 1024,
            memcap: config.flow.memcap_mb as usize * 1024 * 1024,
            heap_used: 0,
            log_flows: config.eve.flow,
            flow_ids: ahash::RandomState::new(),
            out: Stage {
                eve,
                detect: Detect::default(),
                watch: None,
                detection: Detection::new(&config.app),
                expected: Default::default(),
                limits: config.limits,
            },
            stats: Stats::default(),
            goose: Default::default(),
            sv: Default::default(),
            first_ts: None,
            last_ts: Timestamp(0),
            last_tick: 0,
            bulletins: None,
            baseline: None,
        }
    }

    /// Name the baseline file detected against in the `stats` events.
    pub fn set_baseline_file(&mut self, path: &std::path::Path) {
        self.baseline = Some(path.display().to_string());
    }

    /// Learn a baseline, or detect against one, from now on.
    pub fn set_watch(&mut self, watch: Watch) {
        self.out.watch = Some(Box::new(watch));
    }

    pub fn watch(&self) -> Option<&Watch> {
        self.out.watch.as_deref()
    }

    /// Take the watch back (to save what it learned); end the flows first.
    pub fn take_watch(&mut self) -> Option<Watch> {
        self.out.watch.take().map(|w| *w)
    }

    /// Start a new capture whose frames have link type `link`. Its clock starts afresh, since
    /// one file's timestamps say nothing about the next's; end the previous capture's flows with
    /// [`Pipeline::finish`] first.
    pub fn begin_capture(&mut self, link: LinkType, source: &str) {
        if let Some(w) = &mut self.out.watch {
            w.begin_capture(Some(source.to_owned()));
        }
        self.link = link;
        self.out.detect.linktype = link.number_and_name();
        self.last_ts = Timestamp(0);
        self.last_tick = 0;
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Report these bulletins' counters in `stats` events and the metrics file.
    pub fn set_bulletins(&mut self, status: crate::bulletin::Status) {
        self.bulletins = Some(status);
    }

    /// The bulletins' counters, when bulletins are pulled.
    pub fn bulletin_stats(&self) -> Option<crate::bulletin::BulletinStats> {
        self.bulletins.as_ref().map(crate::bulletin::Status::stats)
    }

    /// The signature matching state: swap rulesets through it (between packets).
    pub fn detect(&mut self) -> &mut Detect {
        &mut self.out.detect
    }

    pub fn eve(&mut self) -> &mut EveWriter {
        &mut self.out.eve
    }

    /// Handle one captured frame; `wire_len` is its length on the wire.
    pub fn packet(&mut self, ts: Timestamp, frame: &[u8], wire_len: u32) {
        self.first_ts.get_or_insert(ts);
        if ts > self.last_ts {
            self.last_ts = ts;
        }
        let d = &mut self.stats.decoder;
        d.pkts += 1;
        d.bytes += u64::from(wire_len);
        match self.link {
            LinkType::Ethernet => d.ethernet += 1,
            LinkType::LinuxSll => d.sll += 1,
            LinkType::LinuxSll2 => d.sll2 += 1,
            LinkType::Null | LinkType::Loop => d.null += 1,
            LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => d.raw += 1,
        }
        if let Some(w) = &mut self.out.watch {
            w.packet_time(ts);
        }
        if ts.secs() > self.last_tick {
            self.tick(ts);
        }
        let decoded = decode::decode(self.link, frame)
            .and_then(|sliced| decode::classify(sliced, &mut self.stats.decoder.layers));
        match decoded {
            Ok(Decoded::Ip(ip)) => self.ip(ts, ip, wire_len),
            Ok(Decoded::Fragment(fragment)) => {
                self.fragment(ts, &fragment);
                if let Some(dg) = self.defrag.push(self.link, frame, ts) {
                    match decode::transport_of(dg.payload.ip_number.0, &dg.payload.payload) {
                        Ok(transport) => {
                            let ip = IpPacket {
                                src: dg.src,
                                dst: dg.dst,
                                vlan: dg.vlan,
                                proto: dg.payload.ip_number.0,
                                ttl: dg.ttl,
                                ipv4: dg.ipv4,
                                l4: &dg.payload.payload,
                                transport,
                                src_mac: None,
                            };
                            self.stats.decoder.layers.count(&ip.transport);
                            self.ip(ts, ip, wire_len);
                        }
                        Err(e) => self.decode_anomaly(ts, e),
                    }
                    self.defrag.recycle(dg);
                }
            }
            Ok(Decoded::NotIp(Some(f))) => self.ether(ts, f),
            Ok(Decoded::NotIp(None)) => {}
            Err(e) => self.decode_anomaly(ts, e),
        }
    }

    /// A fragment as it travels, before reassembly: the packet rules see it (`fragbits:M`,
    /// `fragoffset`), outside any flow, as Suricata inspects raw fragments.
    fn fragment(&mut self, ts: Timestamp, ip: &IpPacket<'_>) {
        let (sport, dport, flags) = match &ip.transport {
            Transport::Tcp(t) => (t.source_port(), t.destination_port(), Some(tcp::flags(t))),
            Transport::Udp(u) => (u.source_port(), u.destination_port(), None),
            Transport::Other => (0, 0, None),
        };
        let first = ip.ipv4.is_some_and(|f| f.frag & 0x1fff == 0);
        let payload = match &ip.transport {
            Transport::Tcp(t) => t.payload(),
            Transport::Udp(u) => u.payload(),
            Transport::Other => ip.l4,
        };
        let pkt = rules::PacketView {
            src: ip.src,
            sport,
            dst: ip.dst,
            dport,
            transport: match &ip.transport {
                Transport::Tcp(_) => rules::Transport::Tcp,
                Transport::Udp(_) => rules::Transport::Udp,
                Transport::Other => rules::Transport::Other(ip.proto),
            },
            dir: Direction::ToServer,
            established: false,
            app_proto: None,
            // No flow: the alert carries no flow_id.
            flow_id: 0,
            secs: ts.secs(),
            // The ICMP header is in the first fragment only.
            ip: Some(ip_fields(ip, flags, first, None)),
        };
        let pcap_cnt = self.stats.decoder.pkts;
        let vlan = &ip.vlan[..ip.vlan.iter().filter(|&&v| v != 0).count()];
        self.out
            .flowless_packet((ts, pcap_cnt), &pkt, payload, (vlan, Proto(ip.proto)));
    }

    /// A frame that is not IP: GOOSE and Sampled Values are read, the rest only counted.
    fn ether(&mut self, ts: Timestamp, f: EtherFrame<'_>) {
        let at = FrameAt {
            ts,
            pcap_cnt: self.stats.decoder.pkts,
            vlan: &f.vlan[..f.vlan.iter().filter(|&&v| v != 0).count()],
            macs: f.macs,
            ether_type: f.ether_type,
        };
        let out = &mut self.out;
        match f.ether_type {
            decoders::goose::ETHERTYPE => {
                app::goose::frame(&mut self.goose, &mut self.stats.goose, out, &at, f.payload)
            }
            decoders::sv::ETHERTYPE => {
                app::sv::frame(&mut self.sv, &mut self.stats.sv, out, &at, f.payload)
            }
            _ => {}
        }
    }

    fn decode_anomaly(&mut self, ts: Timestamp, e: DecodeError) {
        self.stats.decoder.invalid += 1;
        let body = DecodeAnomaly {
            anomaly: DecodeAnomalyBody {
                kind: "decode",
                event: e.name(),
            },
        };
        self.out.eve.write(&Event {
            pcap_cnt: Some(self.stats.decoder.pkts),
            ..Event::unattached(ts, EventType::Anomaly, body)
        });
    }

    fn ip(&mut self, ts: Timestamp, ip: IpPacket<'_>, wire_len: u32) {
        let (sport, dport, flags, seq, payload): (u16, u16, u8, u32, &[u8]) = match &ip.transport {
            Transport::Tcp(t) => (
                t.source_port(),
                t.destination_port(),
                tcp::flags(t),
                t.sequence_number(),
                t.payload(),
            ),
            Transport::Udp(u) => (u.source_port(), u.destination_port(), 0, 0, u.payload()),
            Transport::Other => (0, 0, 0, 0, &[]),
        };
        let is_tcp = matches!(ip.transport, Transport::Tcp(_));
        let (key, src_is_a) = FlowKey::new((ip.src, sport), (ip.dst, dport), ip.proto, ip.vlan);
        let (idx, created) = match self.flows.get(&key) {
            Some(i) => {
                let f = self.flows.flow(i);
                if is_tcp && f.tcp.is_reuse(f.direction(src_is_a), flags, seq) {
                    let old = self.flows.remove(i);
                    self.end_flow(old, EndReason::TcpReuse);
                    (
                        self.new_flow(ts, key, src_is_a, &ip, sport, dport, flags),
                        true,
                    )
                } else {
                    (i, false)
                }
            }
            None => (
                self.new_flow(ts, key, src_is_a, &ip, sport, dport, flags),
                true,
            ),
        };
        if let (true, Some(w)) = (created, &mut self.out.watch) {
            let meta = &self.flows.flow(idx).meta;
            let place = Place {
                ts,
                flow_id: Some(meta.id),
                tuple: Some(meta.tuple()),
                vlan: meta.vlan(),
                pcap_cnt: Some(self.stats.decoder.pkts),
                app_proto: None,
                direction: None,
                linktype: self.out.detect.linktype,
            };
            w.flow_started(&mut self.out.eve, &place, meta);
        }

        let flow = self.flows.flow_mut(idx);
        let dir = flow.direction(src_is_a);
        let d = dir.index();
        flow.last = ts;
        if flow.meta.macs[d].is_none() {
            flow.meta.macs[d] = ip.src_mac;
        }
        flow.pkts[d] += 1;
        flow.bytes[d] += u64::from(wire_len);
        let (tcp, app, parts) = flow.split();
        let pkts = self.stats.decoder.pkts;
        let mut ctx = AppCtx::new(ts, pkts, parts, &mut self.stats.app_layer, &mut self.out);
        if is_tcp {
            let tcp_stats = &mut self.stats.tcp;
            tcp_stats.syn += u64::from(flags & (tcp::SYN | tcp::ACK) == tcp::SYN);
            tcp_stats.synack += u64::from(flags & (tcp::SYN | tcp::ACK) == tcp::SYN | tcp::ACK);
            tcp_stats.rst += u64::from(flags & tcp::RST != 0);
            tcp_stats.fin += u64::from(flags & tcp::FIN != 0);
            let was_midstream = tcp.midstream;
            tcp.track(dir, flags, seq);
            if tcp.midstream && !was_midstream {
                tcp_stats.midstream_pickups += 1;
            }
            if !payload.is_empty() && flags & tcp::RST == 0 {
                let data_seq = if flags & tcp::SYN != 0 {
                    seq.wrapping_add(1)
                } else {
                    seq
                };
                let TcpSession { streams, .. } = tcp;
                streams[d].segment(
                    data_seq,
                    payload,
                    self.max_queued,
                    &mut self.budget,
                    &mut tcp_stats.reassembly,
                    &mut |chunk| app.chunk(dir, chunk, &mut ctx),
                );
            }
            if flags & tcp::FIN != 0 {
                app.finished(dir, &mut ctx);
            }
        } else if !payload.is_empty() {
            app.datagram(dir, payload, &mut ctx);
        }
        // Packet rules see the packet as it travels, after the app layer has named the flow's
        // protocol.
        // How far each side's stream has come, as Suricata measures it for `stream_size`:
        // its sequence number past its SYN's.
        let stream = is_tcp.then(|| {
            tcp.streams
                .each_ref()
                .map(|s| s.delivered().map_or(0, |n| n + 1))
        });
        let pkt = rules::PacketView {
            src: ip.src,
            sport,
            dst: ip.dst,
            dport,
            ip: Some(ip_fields(&ip, is_tcp.then_some(flags), true, stream)),
            ..ctx.view(dir)
        };
        ctx.inspect_packet(&pkt, payload);

        let heap = flow.heap_bytes();
        self.heap_used = self.heap_used + heap - flow.heap;
        flow.heap = heap;
        self.flows.touch(idx);
        while self.heap_used + self.flows.len() * FLOW_SIZE > self.memcap && self.flows.len() > 1 {
            let Some(victim) = self.flows.oldest() else {
                break;
            };
            self.stats.flow.memcap_evictions += 1;
            let f = self.flows.remove(victim);
            self.end_flow(f, EndReason::Forced);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn new_flow(
        &mut self,
        ts: Timestamp,
        key: FlowKey,
        src_is_a: bool,
        ip: &IpPacket<'_>,
        sport: u16,
        dport: u16,
        flags: u8,
    ) -> u32 {
        if self.flows.is_full() {
            if let Some(victim) = self.flows.oldest() {
                let f = self.flows.remove(victim);
                self.end_flow(f, EndReason::Forced);
            }
        }
        let src = (ip.src, sport);
        let dst = (ip.dst, dport);
        let src_is_client = self.src_is_client(&ip.transport, flags, sport, dport);
        let (client, server) = if src_is_client {
            (src, dst)
        } else {
            (dst, src)
        };
        // Never 0: that is the flow id of what belongs to no flow (a raw fragment).
        let id = (self.flow_ids.hash_one((key, ts)) & FLOW_ID_MASK).max(1);
        let vlan_len = ip.vlan.iter().filter(|&&v| v != 0).count() as u8;
        let proto = Proto(ip.proto);
        let s = &mut self.stats.flow;
        s.total += 1;
        match &ip.transport {
            Transport::Tcp(_) => {
                s.tcp += 1;
                self.stats.tcp.sessions += 1;
            }
            Transport::Udp(_) => s.udp += 1,
            Transport::Other => s.other += 1,
        }
        let app = match ip.transport {
            Transport::Tcp(_) | Transport::Udp(_) => AppState::detecting(),
            Transport::Other => AppState::None,
        };
        self.flows.insert(Flow {
            key,
            meta: FlowMeta {
                id,
                client,
                server,
                proto,
                vlan: ip.vlan,
                vlan_len,
                app_proto: None,
                app_proto_orig: None,
                app_failed: false,
                alerted: false,
                macs: [None; 2],
            },
            client_is_a: src_is_a == src_is_client,
            start: ts,
            last: ts,
            pkts: [0; 2],
            bytes: [0; 2],
            tcp: TcpSession::default(),
            app,
            bits: rules::FlowVars::default(),
            heap: 0,
        })
    }

    /// Which end opened the flow: the SYN's sender; else the side not on a service port; else
    /// the side on the higher port when the other is privileged; else the first sender.
    fn src_is_client(&self, t: &Transport<'_>, flags: u8, sport: u16, dport: u16) -> bool {
        if matches!(t, Transport::Tcp(_)) && flags & tcp::SYN != 0 {
            return flags & tcp::ACK == 0;
        }
        let (s_svc, d_svc) = (
            self.out.detection.is_service_port(sport),
            self.out.detection.is_service_port(dport),
        );
        if s_svc != d_svc {
            return d_svc;
        }
        if (sport < 1024) != (dport < 1024) {
            return dport < 1024;
        }
        true
    }

    /// Write the record of a flow that ended, after handing its queued bytes to the parser.
    fn end_flow(&mut self, mut flow: Flow, reason: EndReason) {
        let (tcp, app, parts) = flow.split();
        let pkts = self.stats.decoder.pkts;
        let app_stats = &mut self.stats.app_layer;
        let mut ctx = AppCtx::new(self.last_ts, pkts, parts, app_stats, &mut self.out);
        for dir in [Direction::ToServer, Direction::ToClient] {
            tcp.streams[dir.index()].flush(
                &mut self.budget,
                &mut self.stats.tcp.reassembly,
                &mut |chunk| app.chunk(dir, chunk, &mut ctx),
            );
        }
        app.close(&mut ctx);
        if let Some(w) = &mut self.out.watch {
            w.flow_ended(&mut self.out.eve, &flow.meta, flow.last);
        }
        self.heap_used -= flow.heap;
        let s = &mut self.stats.flow;
        match reason {
            EndReason::Timeout => s.end_timeout += 1,
            EndReason::Forced => s.end_forced += 1,
            EndReason::TcpReuse => s.end_tcp_reuse += 1,
            EndReason::Shutdown => s.end_shutdown += 1,
        }
        if !self.log_flows {
            return;
        }
        let tcp = (flow.meta.proto == Proto::TCP).then(|| {
            let f = flow.tcp.flags[0] | flow.tcp.flags[1];
            TcpRecord {
                tcp_flags: Hex(f),
                tcp_flags_ts: Hex(flow.tcp.flags[0]),
                tcp_flags_tc: Hex(flow.tcp.flags[1]),
                syn: f & tcp::SYN != 0,
                fin: f & tcp::FIN != 0,
                rst: f & tcp::RST != 0,
                psh: f & tcp::PSH != 0,
                ack: f & tcp::ACK != 0,
                midstream: flow.tcp.midstream,
                state: flow.tcp.state.name(),
            }
        });
        let body = FlowBody {
            app_proto_orig: flow.meta.app_proto_orig.map(AppProto::label),
            flow: FlowRecord {
                pkts_toserver: flow.pkts[0],
                pkts_toclient: flow.pkts[1],
                bytes_toserver: flow.bytes[0],
                bytes_toclient: flow.bytes[1],
                start: flow.start,
                end: flow.last,
                age: flow.last.secs_since(flow.start),
                state: flow.state_name(),
                reason: reason.name(),
                alerted: flow.meta.alerted,
            },
            tcp,
        };
        self.out.eve.write(&Event {
            timestamp: flow.last,
            flow_id: Some(flow.meta.id),
            event_type: EventType::Flow,
            tuple: Some(flow.meta.tuple()),
            vlan: flow.meta.vlan(),
            pcap_cnt: None,
            app_proto: match (flow.meta.app_proto, flow.meta.app_failed) {
                (Some(p), _) => Some(p.label()),
                (None, true) => Some("failed"),
                (None, false) => None,
            },
            body,
        });
    }

    /// Let time pass: end idle flows, drop stale fragments. Called as packet time advances, and
    /// by a live capture with wall-clock time when no packets come.
    pub fn tick(&mut self, now: Timestamp) {
        self.last_tick = now.secs();
        while let Some(idx) = self.flows.expired(now) {
            let f = self.flows.remove(idx);
            self.end_flow(f, EndReason::Timeout);
        }
        self.defrag.sweep(now);
        if let Some(w) = &mut self.out.watch {
            w.tick(&mut self.out.eve, now);
        }
    }

    /// The capture is over: end every flow.
    pub fn finish(&mut self) {
        while let Some(idx) = self.flows.any() {
            let f = self.flows.remove(idx);
            self.end_flow(f, EndReason::Shutdown);
        }
    }

    /// Write a `stats` event.
    pub fn log_stats(&mut self, now: Timestamp, capture: Option<CaptureStats>) {
        self.refresh_stats(capture);
        let uptime = now.secs_since(self.first_ts.unwrap_or(now));
        let body = StatsBody {
            stats: StatsEvent {
                version: env!("CARGO_PKG_VERSION"),
                baseline: self.baseline.as_deref(),
                uptime,
                stats: &self.stats,
                eve: self.out.eve.counts,
                uplink: self.out.eve.uplink_stats(),
                bulletins: self.bulletin_stats(),
            },
        };
        self.out
            .eve
            .write(&Event::unattached(now, EventType::Stats, body));
    }

    /// Bring the gauges in [`Stats`] up to date.
    pub fn refresh_stats(&mut self, capture: Option<CaptureStats>) {
        self.stats.flow.active = self.flows.len() as u64;
        self.stats.flow.memuse = (self.heap_used + self.flows.len() * FLOW_SIZE) as u64;
        self.stats.tcp.reassembly_memuse = self.budget.used as u64;
        self.stats.decoder.defrag = self.defrag.stats;
        self.out.detect.refresh_stats();
        self.stats.detect = self.out.detect.stats;
        if capture.is_some() {
            self.stats.capture = capture;
        }
    }

    /// Time of the latest packet seen.
    pub fn last_ts(&self) -> Timestamp {
        self.last_ts
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("flows", &self.flows.len())
            .finish()
    }
}

/// What the packet rules read of a packet's own headers; `icmp`: whether the payload starts
/// with the ICMP header (not in a later fragment).
fn ip_fields(
    ip: &IpPacket<'_>,
    tcp_flags: Option<u8>,
    icmp: bool,
    stream: Option<[u64; 2]>,
) -> rules::IpFields {
    rules::IpFields {
        ttl: ip.ttl,
        proto: ip.proto,
        tcp_flags,
        icmp: match ip.proto {
            1 if icmp => rules::IcmpFields::read(ip.l4, false),
            58 if icmp => rules::IcmpFields::read(ip.l4, true),
            _ => None,
        },
        ipv4: ip.ipv4,
        tcp: match &ip.transport {
            Transport::Tcp(t) => Some(rules::packet::TcpFields {
                seq: t.sequence_number(),
                ack: t.acknowledgment_number(),
                window: t.window_size(),
            }),
            _ => None,
        },
        same_addr: ip.src == ip.dst,
        stream,
    }
}
