//! EVE JSON output: one JSON object a line, field names as Suricata writes them.
//!
//! Every event shares an envelope — `timestamp`, `flow_id`, the 5-tuple, `event_type`,
//! `app_proto` — and carries this sensor's identity in a `sensor` block, rendered once at start.
//! Events are serialized into one reused buffer, so logging allocates nothing in steady state.

mod time;

pub use time::Timestamp;

use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;
use serde_json::value::RawValue;

use crate::config::Identity;

/// The 5-tuple of an event, oriented client → server for flow and transaction events.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Tuple {
    pub src_ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    pub dest_ip: IpAddr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    pub proto: Proto,
}

/// An IP protocol number, spelled as Suricata does (`TCP`, `UDP`, `ICMP`, …, else the number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Proto(pub u8);

impl Proto {
    pub const TCP: Proto = Proto(6);
    pub const UDP: Proto = Proto(17);

    pub fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "ICMP",
            6 => "TCP",
            17 => "UDP",
            58 => "IPv6-ICMP",
            47 => "GRE",
            50 => "ESP",
            132 => "SCTP",
            _ => return None,
        })
    }
}

impl Serialize for Proto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.serialize_u8(self.0),
        }
    }
}

/// The fields every event shares. `B` adds the event-specific keys (flattened).
#[derive(Serialize)]
pub struct Event<'a, B: Serialize> {
    pub timestamp: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    pub event_type: &'static str,
    #[serde(flatten)]
    pub tuple: Option<Tuple>,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    pub vlan: &'a [u16],
    /// The packet that completed what the event reports, numbered from 1 over the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<&'static str>,
    #[serde(flatten)]
    pub body: B,
}

#[derive(Serialize)]
struct WithSensor<'a, E: Serialize> {
    #[serde(flatten)]
    event: &'a E,
    sensor: &'a RawValue,
}

/// Counts of events written, by type.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct EventCounts {
    pub total: u64,
    pub flow: u64,
    pub alert: u64,
    pub anomaly: u64,
    pub stats: u64,
    pub modbus: u64,
    pub s7comm: u64,
    pub s7commplus: u64,
    pub dnp3: u64,
    pub other: u64,
}

/// Writes EVE lines to a file, stdout or any writer.
pub struct EveWriter {
    out: io::BufWriter<Box<dyn Write + Send>>,
    line: Vec<u8>,
    sensor: Box<RawValue>,
    error: Option<io::Error>,
    pub counts: EventCounts,
}

impl EveWriter {
    pub fn new(out: Box<dyn Write + Send>, identity: &Identity) -> Self {
        let sensor = serde_json::value::to_raw_value(identity)
            .expect("the sensor identity is plain strings and numbers");
        EveWriter {
            out: io::BufWriter::with_capacity(1 << 16, out),
            line: Vec::with_capacity(4096),
            sensor,
            error: None,
            counts: EventCounts::default(),
        }
    }

    /// Write one event. The first I/O error sticks: later writes are dropped and the capture
    /// loop stops at its next check of [`EveWriter::error`].
    pub fn write<B: Serialize>(&mut self, event: &Event<'_, B>) {
        if self.error.is_some() {
            return;
        }
        self.line.clear();
        let with_sensor = WithSensor {
            event,
            sensor: &self.sensor,
        };
        let written = serde_json::to_writer(&mut self.line, &with_sensor)
            .map_err(io::Error::other)
            .and_then(|()| {
                self.line.push(b'\n');
                self.out.write_all(&self.line)
            });
        if let Err(e) = written {
            self.error = Some(e);
            return;
        }
        let c = &mut self.counts;
        c.total += 1;
        match event.event_type {
            "flow" => c.flow += 1,
            "alert" => c.alert += 1,
            "anomaly" => c.anomaly += 1,
            "stats" => c.stats += 1,
            "modbus" => c.modbus += 1,
            "s7comm" => c.s7comm += 1,
            "s7commplus" => c.s7commplus += 1,
            "dnp3" => c.dnp3 += 1,
            _ => c.other += 1,
        }
    }

    /// The first write error, if any.
    pub fn error(&self) -> Option<&io::Error> {
        self.error.as_ref()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}
