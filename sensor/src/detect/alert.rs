//! The one writer of `alert` events. A signature's match and a baseline's finding both leave
//! here, laid out as Suricata lays alerts out: the envelope of the packet (or flow, or pair of
//! hosts) the alert stands on, `direction`, `packet_info` when a packet raised it, the
//! [`AlertRecord`], a baseline finding's `anomaly` block, and the transaction that triggered
//! it (its `modbus`/`s7comm`/`dnp3` block) when there is one.

use std::net::IpAddr;

use icsight_eve::{AlertRecord, Event, EventType, Proto, Timestamp, Tuple};
use serde::Serialize;

use crate::eve::EveWriter;

/// Where an alert stands in the traffic.
pub struct Place<'a> {
    pub ts: Timestamp,
    pub flow_id: Option<u64>,
    /// `None` for a frame outside IP (GOOSE).
    pub tuple: Option<Tuple>,
    pub vlan: &'a [u16],
    /// The packet that raised the alert; `None` for alerts raised by time (a silent master)
    /// or by a flow's end.
    pub pcap_cnt: Option<u64>,
    pub app_proto: Option<&'static str>,
    pub direction: Option<&'static str>,
    /// The capture's link type (number, libpcap name), written as `packet_info` when a packet
    /// raised the alert.
    pub linktype: (u16, &'static str),
}

impl Place<'_> {
    /// An alert about two hosts outside any flow (a silent master).
    pub fn hosts(ts: Timestamp, src: IpAddr, dst: IpAddr) -> Place<'static> {
        Place {
            ts,
            flow_id: None,
            tuple: Some(Tuple {
                src_ip: src,
                src_port: None,
                dest_ip: dst,
                dest_port: None,
                proto: Proto(0),
            }),
            vlan: &[],
            pcap_cnt: None,
            app_proto: None,
            direction: None,
            linktype: (1, "EN10MB"),
        }
    }
}

#[derive(Serialize)]
#[serde(bound = "")]
struct Body<'a, M: Serialize, X: Serialize, B: Serialize> {
    #[serde(skip_serializing_if = "Option::is_none")]
    direction: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packet_info: Option<PacketInfo>,
    alert: &'a AlertRecord<'a, M>,
    #[serde(skip_serializing_if = "Option::is_none")]
    anomaly: Option<&'a X>,
    #[serde(flatten)]
    app: Option<&'a B>,
}

/// The link type of the packet, as Suricata 8 reports it.
#[derive(Serialize)]
struct PacketInfo {
    linktype: u16,
    linktype_name: &'static str,
}

/// Write one `alert` event: `alert` placed at `place`, with a baseline finding's `anomaly`
/// block and the transaction's block `app` when there are.
pub fn write<M: Serialize, X: Serialize, B: Serialize>(
    eve: &mut EveWriter,
    place: &Place<'_>,
    alert: &AlertRecord<'_, M>,
    anomaly: Option<&X>,
    app: Option<&B>,
) {
    eve.write(&Event {
        timestamp: place.ts,
        flow_id: place.flow_id,
        event_type: EventType::Alert,
        tuple: place.tuple,
        vlan: place.vlan,
        pcap_cnt: place.pcap_cnt,
        app_proto: place.app_proto,
        body: Body {
            direction: place.direction,
            packet_info: place.pcap_cnt.map(|_| PacketInfo {
                linktype: place.linktype.0,
                linktype_name: place.linktype.1,
            }),
            alert,
            anomaly,
            app,
        },
    });
}
