//! The sensor's counters as a Prometheus text-format file, for node_exporter's textfile
//! collector (or anything that reads the format). The file is rewritten whole, atomically
//! (a temporary file renamed over it), every `[metrics] interval` seconds on live capture and
//! once at the end of a replay or a live capture. Every sample carries a `sensor` label.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::bulletin::BulletinStats;
use crate::config::MetricsConfig;
use crate::eve::EventCounts;
use crate::pipeline::Pipeline;
use crate::stats::{CaptureStats, Stats};
use crate::uplink::UplinkStats;

/// What one rendering reports.
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a> {
    pub stats: &'a Stats,
    pub events: EventCounts,
    /// libpcap's counters, on live capture.
    pub capture: Option<CaptureStats>,
    /// The uplink's counters, when one runs.
    pub uplink: Option<&'a UplinkStats>,
    /// The bulletins' counters, when bulletins are pulled.
    pub bulletins: Option<&'a BulletinStats>,
}

/// Where and how often the metrics file is written.
#[derive(Clone, Debug)]
pub struct MetricsFile {
    path: PathBuf,
    pub interval: Duration,
    sensor: String,
}

impl MetricsFile {
    /// `None` when `[metrics] file` is empty.
    pub fn new(cfg: &MetricsConfig, sensor_id: &str) -> Option<MetricsFile> {
        (!cfg.file.as_os_str().is_empty()).then(|| MetricsFile {
            path: cfg.file.clone(),
            interval: Duration::from_secs(u64::from(cfg.interval.max(1))),
            sensor: sensor_id.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Render `snap` and replace the file with it.
    pub fn write(&self, snap: &Snapshot<'_>) -> io::Result<()> {
        write_atomic(&self.path, render(&self.sensor, snap).as_bytes())
    }

    /// Write the pipeline's counters now, the uplink's too when it has one.
    pub fn write_pipeline(
        &self,
        pipeline: &mut Pipeline,
        capture: Option<CaptureStats>,
    ) -> io::Result<()> {
        pipeline.refresh_stats(capture);
        let uplink = pipeline.eve().uplink_stats();
        let bulletins = pipeline.bulletin_stats();
        let events = pipeline.eve().counts;
        self.write(&Snapshot {
            stats: pipeline.stats(),
            events,
            capture: capture.or(pipeline.stats().capture),
            uplink: uplink.as_ref(),
            bulletins: bulletins.as_ref(),
        })
    }
}

/// Write `bytes` to `path` through a temporary file beside it, renamed over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// A label value with `\`, `"` and newlines escaped (the encoder writes values as given).
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', r#"\""#)
        .replace('\n', r"\n")
}

/// One rendering: every metric registered with the value it has now, under the `icsight`
/// prefix, every sample labelled with the sensor.
struct Out(Registry);

impl Out {
    fn counter(&mut self, name: &str, help: &str, v: u64) {
        self.0.register(name, help, ConstCounter::new(v));
    }

    fn gauge(&mut self, name: &str, help: &str, v: i64) {
        self.0.register(name, help, ConstGauge::new(v));
    }

    fn gauge_f64(&mut self, name: &str, help: &str, v: f64) {
        self.0.register(name, help, ConstGauge::new(v));
    }

    /// A counter family with one label, `label`, and a value for each of its values.
    fn counters(
        &mut self,
        name: &str,
        help: &str,
        label: &'static str,
        values: impl IntoIterator<Item = (&'static str, u64)>,
    ) {
        let family = Family::<[(&'static str, &'static str); 1], Counter>::default();
        for (value, n) in values {
            family.get_or_create(&[(label, value)]).inc_by(n);
        }
        self.0.register(name, help, family);
    }
}

/// The Prometheus text exposition of `snap` for sensor `sensor`.
pub fn render(sensor: &str, snap: &Snapshot<'_>) -> String {
    let labels = [(Cow::Borrowed("sensor"), Cow::Owned(escape(sensor)))];
    let mut o = Out(Registry::with_prefix_and_labels(
        "icsight",
        labels.into_iter(),
    ));
    let s = snap.stats;
    o.counter("sensor_packets", "Packets processed", s.decoder.pkts);
    o.counter(
        "sensor_bytes",
        "Bytes on the wire of the packets processed",
        s.decoder.bytes,
    );
    if let Some(c) = snap.capture {
        o.counter(
            "sensor_kernel_packets",
            "Packets the kernel delivered to the live capture",
            c.kernel_packets,
        );
        o.counter(
            "sensor_kernel_drops",
            "Packets the kernel dropped because the capture ring was full",
            c.kernel_drops,
        );
        o.counter(
            "sensor_interface_drops",
            "Packets the interface or its driver dropped",
            c.kernel_ifdrops,
        );
        o.counter(
            "sensor_shutdown_drops",
            "Packets still unread in the capture ring when the capture stopped",
            c.shutdown_drops,
        );
    }
    o.counters(
        "sensor_events",
        "EVE events written, by type",
        "type",
        snap.events.by_type(),
    );
    o.counter("sensor_flows", "Flows created", s.flow.total);
    o.gauge(
        "sensor_flows_active",
        "Flows in the flow table",
        s.flow.active as i64,
    );
    if let Some(u) = snap.uplink {
        o.gauge(
            "uplink_spool_bytes",
            "Bytes waiting in the uplink spool",
            u.spool_bytes as i64,
        );
        o.gauge(
            "uplink_spool_segments",
            "Segment files waiting in the uplink spool",
            u.spool_segments as i64,
        );
        o.counter(
            "uplink_spooled_events",
            "Events written to the uplink spool",
            u.spooled_events,
        );
        o.counter(
            "uplink_sent_events",
            "Events the collector acknowledged",
            u.sent_events,
        );
        o.counter(
            "uplink_duplicate_events",
            "Acknowledged events the collector already had",
            u.duplicates,
        );
        o.counters(
            "uplink_dropped_events",
            "Events dropped unsent: spool over its cap (oldest first), or the disk refused them",
            "reason",
            [
                ("spool_full", u.dropped_spool_full),
                ("write_error", u.dropped_write_error),
            ],
        );
        o.counter(
            "uplink_rejected_events",
            "Events in segments the collector refused for good (kept in rejected/)",
            u.rejected_events,
        );
        o.gauge_f64("uplink_send_lag_seconds", "From the first event of the last acknowledged segment being spooled to its acknowledgement", u.send_lag_seconds);
        o.gauge_f64(
            "uplink_oldest_unsent_seconds",
            "Age of the oldest event not yet acknowledged (0 when the spool is empty)",
            u.oldest_unsent_age_seconds,
        );
        o.gauge("uplink_connected", "0 after a request that failed in a way that is retried (5xx, 408, 429, no answer), else 1", i64::from(u.connected));
    }
    if let Some(b) = snap.bulletins {
        o.gauge(
            "bulletins_held",
            "Threat bulletins whose rules files the sensor holds",
            b.held as i64,
        );
        o.gauge(
            "bulletins_cursor",
            "The collector's bulletin seq up to which the sensor holds every bulletin",
            b.cursor as i64,
        );
        o.counters(
            "bulletins_pulls",
            "Pulls of the collector's bulletin feed, by result",
            "result",
            [("ok", b.pulls_ok), ("failed", b.pulls_failed)],
        );
        o.gauge_f64("bulletins_last_pull_age_seconds", "Seconds since the last pull of the bulletin feed that succeeded (since start when none has)", b.last_pull_age_seconds);
    }
    let mut open_metrics = String::with_capacity(4096);
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut open_metrics, &o.0);
    text_format(&open_metrics)
}

/// The Prometheus text format (0.0.4) of an OpenMetrics exposition, as node_exporter's textfile
/// collector reads it: a counter's family is named as its samples are, with `_total`, and there
/// is no `# EOF` line.
fn text_format(open_metrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines().filter(|l| *l != "# EOF") {
        let family = ["# HELP ", "# TYPE "].iter().find_map(|tag| {
            let (name, tail) = line.strip_prefix(tag)?.split_once(' ')?;
            counters.contains(name).then_some((tag, name, tail))
        });
        match family {
            Some((tag, name, tail)) => {
                let _ = writeln!(out, "{tag}{name}_total {tail}");
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_families_with_help_type_and_labels() {
        let mut stats = Stats::default();
        stats.decoder.pkts = 34;
        stats.decoder.bytes = 2048;
        stats.flow.total = 2;
        let events = EventCounts {
            total: 5,
            alert: 1,
            flow: 2,
            modbus: 2,
            ..Default::default()
        };
        let uplink = UplinkStats {
            spool_bytes: 900,
            spool_segments: 2,
            sent_events: 40,
            dropped_spool_full: 3,
            send_lag_seconds: 1.5,
            ..Default::default()
        };
        let text = render(
            "plant\"1",
            &Snapshot {
                stats: &stats,
                events,
                capture: Some(CaptureStats {
                    kernel_packets: 40,
                    kernel_drops: 6,
                    kernel_ifdrops: 0,
                    shutdown_drops: 0,
                }),
                uplink: Some(&uplink),
                bulletins: Some(&BulletinStats {
                    held: 2,
                    cursor: 7,
                    pulls_ok: 5,
                    pulls_failed: 1,
                    last_pull_age_seconds: 12.5,
                    last_error: None,
                }),
            },
        );
        for line in [
            "# TYPE icsight_sensor_packets_total counter",
            "icsight_sensor_packets_total{sensor=\"plant\\\"1\"} 34",
            "icsight_sensor_bytes_total{sensor=\"plant\\\"1\"} 2048",
            "icsight_sensor_kernel_drops_total{sensor=\"plant\\\"1\"} 6",
            "icsight_sensor_events_total{sensor=\"plant\\\"1\",type=\"alert\"} 1",
            "icsight_sensor_events_total{sensor=\"plant\\\"1\",type=\"modbus\"} 2",
            "icsight_sensor_flows_total{sensor=\"plant\\\"1\"} 2",
            "# TYPE icsight_uplink_spool_bytes gauge",
            "icsight_uplink_spool_bytes{sensor=\"plant\\\"1\"} 900",
            "icsight_uplink_sent_events_total{sensor=\"plant\\\"1\"} 40",
            "icsight_uplink_dropped_events_total{sensor=\"plant\\\"1\",reason=\"spool_full\"} 3",
            "icsight_uplink_dropped_events_total{sensor=\"plant\\\"1\",reason=\"write_error\"} 0",
            "icsight_uplink_send_lag_seconds{sensor=\"plant\\\"1\"} 1.5",
            "icsight_bulletins_held{sensor=\"plant\\\"1\"} 2",
            "icsight_bulletins_cursor{sensor=\"plant\\\"1\"} 7",
            "icsight_bulletins_pulls_total{sensor=\"plant\\\"1\",result=\"failed\"} 1",
            "icsight_bulletins_last_pull_age_seconds{sensor=\"plant\\\"1\"} 12.5",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "{line} missing from\n{text}"
            );
        }
        // The Prometheus text format, not OpenMetrics: no EOF marker, gauges keep their names.
        assert!(!text.contains("# EOF"), "{text}");
        assert!(text.contains("# TYPE icsight_uplink_spool_bytes gauge\n"));
        // Every family has HELP and TYPE before its samples.
        let mut declared = std::collections::HashSet::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.insert(rest.split(' ').next().unwrap().to_owned());
            } else if !l.starts_with('#') {
                let name = l.split('{').next().unwrap();
                assert!(declared.contains(name), "{name} has no TYPE line");
            }
        }
        let none = render(
            "s",
            &Snapshot {
                stats: &stats,
                events,
                capture: None,
                uplink: None,
                bulletins: None,
            },
        );
        assert!(!none.contains("icsight_uplink_") && !none.contains("kernel_drops"));
        assert!(!none.contains("icsight_bulletins_"));
    }

    #[test]
    fn writes_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sensor.prom");
        write_atomic(&path, b"a 1\n").unwrap();
        write_atomic(&path, b"a 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }
}
