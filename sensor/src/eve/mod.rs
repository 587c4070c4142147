//! EVE JSON output: one JSON object a line, field names as Suricata writes them.
//!
//! Every event shares an envelope — `timestamp`, `flow_id`, the 5-tuple, `event_type`,
//! `app_proto` — and carries this sensor's identity in a `sensor` block, rendered once at start,
//! and an `event_id` unique to this sensor across runs: `{run:016x}-{seq}`, the run being the
//! writer's start time in microseconds and `seq` counting its events from 1. The collector
//! de-duplicates on it, so an event sent twice (a retry after a lost acknowledgement) is stored
//! once. Events are serialized into one reused buffer, so logging allocates nothing in steady
//! state. Each completed line goes to the sinks: the uplink's spool first (what must not lose the
//! event), then the EVE file.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use icsight_eve::{Event, EventId, EventType, SensorIdentity, Timestamp};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::uplink::{UplinkSink, UplinkStats};

#[derive(Serialize)]
struct WithSensor<'a, E: Serialize> {
    #[serde(flatten)]
    event: &'a E,
    event_id: EventId,
    sensor: &'a RawValue,
}

/// The last run number handed out in this process, so two writers never share one.
static LAST_RUN: AtomicU64 = AtomicU64::new(0);

/// A run number: now in microseconds since the epoch, above every run this process used.
fn new_run() -> u64 {
    let now = Timestamp::now().0;
    let mut last = LAST_RUN.load(Ordering::Relaxed);
    loop {
        let run = now.max(last + 1);
        match LAST_RUN.compare_exchange_weak(last, run, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return run,
            Err(seen) => last = seen,
        }
    }
}

/// Counts of events written, by type; `other` counts the types without a field (`asset`).
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
    pub http: u64,
    pub dns: u64,
    pub tls: u64,
    pub enip: u64,
    pub iec104: u64,
    pub opcua: u64,
    pub mms: u64,
    pub goose: u64,
    pub sv: u64,
    pub ssh: u64,
    pub ftp: u64,
    pub ftp_data: u64,
    pub smtp: u64,
    pub smb: u64,
    pub fileinfo: u64,
    pub other: u64,
}

impl EventCounts {
    /// The counter of `t`.
    fn of(&mut self, t: EventType) -> &mut u64 {
        match t {
            EventType::Flow => &mut self.flow,
            EventType::Alert => &mut self.alert,
            EventType::Anomaly => &mut self.anomaly,
            EventType::Stats => &mut self.stats,
            EventType::Modbus => &mut self.modbus,
            EventType::S7comm => &mut self.s7comm,
            EventType::S7commPlus => &mut self.s7commplus,
            EventType::Dnp3 => &mut self.dnp3,
            EventType::Http => &mut self.http,
            EventType::Dns => &mut self.dns,
            EventType::Tls => &mut self.tls,
            EventType::Enip => &mut self.enip,
            EventType::Iec104 => &mut self.iec104,
            EventType::Opcua => &mut self.opcua,
            EventType::Mms => &mut self.mms,
            EventType::Goose => &mut self.goose,
            EventType::Sv => &mut self.sv,
            EventType::Ssh => &mut self.ssh,
            EventType::Ftp => &mut self.ftp,
            EventType::FtpData => &mut self.ftp_data,
            EventType::Smtp => &mut self.smtp,
            EventType::Smb => &mut self.smb,
            EventType::Fileinfo => &mut self.fileinfo,
            EventType::Asset => &mut self.other,
        }
    }

    /// Every count but the total, by the name of its type (`other` last), for the metrics.
    pub fn by_type(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        let mut c = *self;
        EventType::ALL
            .into_iter()
            .filter(|t| *t != EventType::Asset)
            .map(move |t| (t.name(), *c.of(t)))
            .chain(std::iter::once(("other", self.other)))
    }
}

/// Writes EVE lines to a file, stdout or any writer.
pub struct EveWriter {
    out: io::BufWriter<Box<dyn Write + Send>>,
    line: Vec<u8>,
    sensor: Box<RawValue>,
    error: Option<io::Error>,
    pub counts: EventCounts,
    run: u64,
    seq: u64,
    /// The uplink's spool, a peer of `out`.
    uplink: Option<UplinkSink>,
}

impl EveWriter {
    pub fn new(out: Box<dyn Write + Send>, identity: &SensorIdentity) -> Self {
        let sensor = serde_json::value::to_raw_value(identity)
            .expect("the sensor identity is plain strings and numbers");
        EveWriter {
            out: io::BufWriter::with_capacity(1 << 16, out),
            line: Vec::with_capacity(4096),
            sensor,
            error: None,
            counts: EventCounts::default(),
            run: new_run(),
            seq: 0,
            uplink: None,
        }
    }

    /// Also hand every event to `uplink` (which spools the types it is configured for).
    pub fn with_uplink(mut self, uplink: Option<UplinkSink>) -> Self {
        self.uplink = uplink;
        self
    }

    /// This writer's run: the first half of every `event_id` it writes.
    pub fn run(&self) -> u64 {
        self.run
    }

    /// The uplink's counters, when one runs.
    pub fn uplink_stats(&self) -> Option<UplinkStats> {
        self.uplink.as_ref().map(UplinkSink::stats)
    }

    /// Let the sinks act on time passing: the uplink closes a segment that has been open long
    /// enough. Call it regularly.
    pub fn tick(&mut self) {
        if let Some(u) = &mut self.uplink {
            u.tick();
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
            event_id: EventId {
                run: self.run,
                seq: self.seq + 1,
            },
            sensor: &self.sensor,
        };
        if let Err(e) = serde_json::to_writer(&mut self.line, &with_sensor) {
            self.error = Some(io::Error::other(e));
            return;
        }
        self.seq += 1;
        self.line.push(b'\n');
        // The spool first: it is what must not lose the event.
        if let Some(u) = &mut self.uplink {
            u.push(event.event_type, &self.line);
        }
        if let Err(e) = self.out.write_all(&self.line) {
            self.error = Some(e);
            return;
        }
        self.counts.total += 1;
        *self.counts.of(event.event_type) += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_differ_within_a_process() {
        let a = new_run();
        let b = new_run();
        assert!(b > a);
    }

    #[test]
    fn every_line_has_a_new_id() {
        #[derive(Clone)]
        struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let out = Shared(Default::default());
        let identity = crate::Config::unregistered().sensor;
        let mut w = EveWriter::new(Box::new(out.clone()), &identity);
        for _ in 0..3 {
            w.write(&Event::unattached(
                Timestamp(1),
                EventType::Stats,
                serde_json::json!({"x": 1}),
            ));
        }
        w.flush().unwrap();
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let ids: Vec<String> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["event_id"].as_str().unwrap().to_owned()
            })
            .collect();
        let run = format!("{:016x}", w.run());
        assert_eq!(ids, [1, 2, 3].map(|n| format!("{run}-{n}")));
    }
}
