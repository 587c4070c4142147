//! Counters, and the `stats` event that reports them (Suricata's layout where it has one).

use serde::Serialize;

use crate::app::AppStats;
use crate::decode::defrag::DefragStats;
use crate::decode::DecodeStats;
use crate::eve::EventCounts;
use crate::reassembly::ReassemblyStats;

/// What libpcap reports about a live capture.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct CaptureStats {
    /// Packets the kernel delivered to the capture.
    pub kernel_packets: u64,
    /// Packets the kernel dropped because the ring was full.
    pub kernel_drops: u64,
    /// Packets the interface or its driver dropped.
    pub kernel_ifdrops: u64,
    /// Packets the kernel took into the ring that were still unread when the capture stopped
    /// (after draining for `capture.drain_seconds`): received = processed + kernel drops + these.
    pub shutdown_drops: u64,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct DecoderStats {
    pub pkts: u64,
    pub bytes: u64,
    /// Frames that could not be decoded down to IP.
    pub invalid: u64,
    pub ethernet: u64,
    pub sll: u64,
    pub sll2: u64,
    pub null: u64,
    pub raw: u64,
    #[serde(flatten)]
    pub layers: DecodeStats,
    pub defrag: DefragStats,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct FlowStats {
    /// Flows created.
    pub total: u64,
    pub tcp: u64,
    pub udp: u64,
    pub other: u64,
    /// Flows in the table now.
    pub active: u64,
    /// Ended flows, by reason.
    pub end_timeout: u64,
    pub end_forced: u64,
    pub end_tcp_reuse: u64,
    pub end_shutdown: u64,
    /// Evictions because the memory cap was reached (a subset of `end_forced`).
    pub memcap_evictions: u64,
    /// Bytes held by flows: fixed state plus queues and buffers.
    pub memuse: u64,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct TcpStats {
    pub sessions: u64,
    pub midstream_pickups: u64,
    pub syn: u64,
    pub synack: u64,
    pub rst: u64,
    pub fin: u64,
    #[serde(flatten)]
    pub reassembly: ReassemblyStats,
    /// Out-of-order bytes queued now, over all flows.
    pub reassembly_memuse: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub decoder: DecoderStats,
    pub flow: FlowStats,
    pub tcp: TcpStats,
    pub app_layer: AppStats,
    /// GOOSE and Sampled Values, outside any flow.
    pub goose: crate::app::goose::GooseStats,
    pub sv: crate::app::sv::SvStats,
    pub detect: crate::detect::DetectStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<CaptureStats>,
}

/// The `stats` event body.
#[derive(Serialize)]
pub struct StatsBody<'a> {
    pub stats: StatsEvent<'a>,
}

#[derive(Serialize)]
pub struct StatsEvent<'a> {
    /// The sensor's release: the collector shows its fleet's versions.
    pub version: &'static str,
    /// The baseline file detected against, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<&'a str>,
    pub uptime: u64,
    #[serde(flatten)]
    pub stats: &'a Stats,
    pub eve: EventCounts,
    /// The uplink's counters, when one runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uplink: Option<crate::uplink::UplinkStats>,
    /// The bulletins' counters, when bulletins are pulled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bulletins: Option<crate::bulletin::BulletinStats>,
}
