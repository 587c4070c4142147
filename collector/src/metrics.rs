//! The collector's counters, served as Prometheus text on `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    /// `stored`, or why not: `unauthorized`, `forbidden`, `too_large`, `encoding`, `invalid`,
    /// `unavailable`.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Table {
    pub table: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Endpoint {
    pub endpoint: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub batches: Family<Outcome, Counter>,
    pub stored: Family<Table, Counter>,
    pub duplicates: Counter,
    pub repaired: Counter,
    pub skipped: Counter,
    pub batch_seconds: Histogram,
    pub clickhouse_errors: Counter,
    pub queries: Family<Endpoint, Counter>,
    pub query_seconds: Histogram,
    pub partitions_dropped: Counter,
    pub schema_version: Gauge,
    pub audit_records: Counter,
    pub incidents: Counter,
    /// Connections closed at once: over a limit, or the accept itself failed.
    pub connections_refused: Counter,
    /// Logins refused while a name or address is backing off.
    pub logins_throttled: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("icsight_collector"),
            batches: Family::default(),
            stored: Family::default(),
            duplicates: Counter::default(),
            repaired: Counter::default(),
            skipped: Counter::default(),
            batch_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            clickhouse_errors: Counter::default(),
            queries: Family::default(),
            query_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            partitions_dropped: Counter::default(),
            schema_version: Gauge::default(),
            audit_records: Counter::default(),
            incidents: Counter::default(),
            connections_refused: Counter::default(),
            logins_throttled: Counter::default(),
        };
        let r = &mut m.registry;
        r.register(
            "connections_refused",
            "Connections closed on accept: over the total or per-address limit, or accept failed",
            m.connections_refused.clone(),
        );
        r.register(
            "logins_throttled",
            "Logins refused while their name or address backs off after failures",
            m.logins_throttled.clone(),
        );
        r.register("batches", "Ingest requests, by outcome", m.batches.clone());
        r.register(
            "events_stored",
            "Events written, by table",
            m.stored.clone(),
        );
        r.register(
            "events_duplicate",
            "Events received again and not written twice",
            m.duplicates.clone(),
        );
        r.register(
            "rollup_repaired",
            "Alerts added to the 5-minute and hourly roll-ups (each counted in both) that an interrupted insert left out, found when its batch was resent",
            m.repaired.clone(),
        );
        r.register(
            "events_skipped",
            "Valid events of types this collector does not store",
            m.skipped.clone(),
        );
        r.register(
            "batch_seconds",
            "Time to check and store one accepted batch",
            m.batch_seconds.clone(),
        );
        r.register(
            "clickhouse_errors",
            "Failed ClickHouse requests",
            m.clickhouse_errors.clone(),
        );
        r.register("queries", "Analyst queries, by endpoint", m.queries.clone());
        r.register(
            "query_seconds",
            "Time to answer an analyst query",
            m.query_seconds.clone(),
        );
        r.register(
            "partitions_dropped",
            "Partitions dropped by retention",
            m.partitions_dropped.clone(),
        );
        r.register(
            "schema_version",
            "The ClickHouse schema version in use",
            m.schema_version.clone(),
        );
        r.register(
            "audit_records",
            "Audit records written",
            m.audit_records.clone(),
        );
        r.register(
            "incident_versions",
            "Incident versions stored (opened, grown, moved on)",
            m.incidents.clone(),
        );
        m
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
