//! One EVE line, read once into its [`Envelope`], checked, and turned into the row of the
//! table its type belongs in.
//!
//! The line is deserialized once, into typed fields borrowed from it: the shared contract's
//! [`Timestamp`], [`EventType`], [`Proto`] and [`AlertRecord`], and the few keys of the other
//! blocks that are stored in columns. Everything else is kept in the row as the line's text.
//!
//! The collector trusts a sensor's credential, not its words: the enterprise, province,
//! industry and grade stored come from the credential's binding, and a line claiming another
//! sensor or enterprise is refused. Every error says what is wrong in terms of the line's keys.

use std::borrow::Cow;
use std::fmt;

use icsight_eve::{AlertRecord, EventType, Proto, Timestamp};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::config::SensorEntry;

/// Why a line was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum LineError {
    /// Not an event of ours: bad JSON, a missing or mistyped key, an unknown type.
    Invalid(String),
    /// The line speaks for a sensor or enterprise this credential is not.
    Forbidden(String),
}

fn invalid(m: impl Into<String>) -> LineError {
    LineError::Invalid(m.into())
}

/// The event types a sensor writes, and where each is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Alert,
    Anomaly,
    Flow,
    Transaction,
    Asset,
    Stats,
}

impl Kind {
    pub fn of(event_type: EventType) -> Kind {
        match event_type {
            EventType::Alert => Kind::Alert,
            EventType::Anomaly => Kind::Anomaly,
            EventType::Flow => Kind::Flow,
            EventType::Asset => Kind::Asset,
            EventType::Stats => Kind::Stats,
            t => {
                debug_assert!(t.is_transaction());
                Kind::Transaction
            }
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Kind::Alert => "alerts",
            Kind::Anomaly => "anomalies",
            Kind::Flow => "flows",
            Kind::Transaction => "transactions",
            Kind::Asset => "assets",
            Kind::Stats => "sensor_stats",
        }
    }
}

/// Declares a row struct whose first columns are the ones every event table starts with.
macro_rules! event_row {
    // A row of an event with a flow's tuple: the tuple's columns come next.
    (tuple $(#[$m:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        event_row!($(#[$m])* $name {
            flow_id: u64,
            src_ip: String,
            src_port: u16,
            dest_ip: String,
            dest_port: u16,
            proto: String,
            app_proto: String,
            $($field: $ty,)*
        });
    };
    ($(#[$m:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, clickhouse::Row, Serialize, serde::Deserialize, PartialEq)]
        pub struct $name {
            pub ts: u32,
            pub ts_us: u64,
            pub received: u32,
            pub event_id: String,
            pub sensor_id: String,
            pub enterprise_id: String,
            pub province: String,
            pub industry: String,
            pub grade: u8,
            $(pub $field: $ty,)*
        }
    };
}

event_row!(
    tuple
    /// An alert: a rule's (`kind` "signature") or a baseline's (`kind` "baseline").
    AlertRow {
        kind: String,
        action: String,
        gid: u32,
        sid: u32,
        rev: u32,
        signature: String,
        category: String,
        severity: u8,
        technique: String,
        techniques: Vec<String>,
        anomaly_event: String,
        raw: String,
    }
);

event_row!(
    tuple
    /// A decoder, stream or protocol anomaly.
    AnomalyRow {
        anomaly_type: String,
        event: String,
        raw: String,
    }
);

event_row!(
    tuple
    /// A flow that ended.
    FlowRow {
        flow_start: u32,
        flow_end: u32,
        pkts_toserver: u64,
        pkts_toclient: u64,
        bytes_toserver: u64,
        bytes_toclient: u64,
        state: String,
        reason: String,
        alerted: u8,
    }
);

event_row!(
    tuple
    /// A protocol transaction (Modbus, S7comm, S7comm-plus, DNP3), kept whole in `raw`.
    TransactionRow {
        raw: String,
    }
);

event_row!(
    /// A host that appeared or changed in a sensor's inventory.
    AssetRow {
        ip: String,
        change: String,
        macs: Vec<String>,
        roles: Vec<String>,
        vendor: String,
        product: String,
        raw: String,
    }
);

event_row!(
    /// A sensor's periodic counters.
    StatsRow {
        uptime: u64,
        packets: u64,
        bytes: u64,
        kernel_drops: u64,
        raw: String,
    }
);

/// A checked event, ready for its table.
#[derive(Debug)]
pub enum Row {
    Alert(AlertRow),
    Anomaly(AnomalyRow),
    Flow(FlowRow),
    Transaction(TransactionRow),
    Asset(AssetRow),
    Stats(StatsRow),
}

impl Row {
    pub fn kind(&self) -> Kind {
        match self {
            Row::Alert(_) => Kind::Alert,
            Row::Anomaly(_) => Kind::Anomaly,
            Row::Flow(_) => Kind::Flow,
            Row::Transaction(_) => Kind::Transaction,
            Row::Asset(_) => Kind::Asset,
            Row::Stats(_) => Kind::Stats,
        }
    }

    pub fn event_id(&self) -> &str {
        match self {
            Row::Alert(r) => &r.event_id,
            Row::Anomaly(r) => &r.event_id,
            Row::Flow(r) => &r.event_id,
            Row::Transaction(r) => &r.event_id,
            Row::Asset(r) => &r.event_id,
            Row::Stats(r) => &r.event_id,
        }
    }

    pub fn ts(&self) -> u32 {
        match self {
            Row::Alert(r) => r.ts,
            Row::Anomaly(r) => r.ts,
            Row::Flow(r) => r.ts,
            Row::Transaction(r) => r.ts,
            Row::Asset(r) => r.ts,
            Row::Stats(r) => r.ts,
        }
    }
}

/// The common columns, before they are spread into a row.
struct Common<'a> {
    ts: u32,
    ts_us: u64,
    received: u32,
    event_id: String,
    who: &'a SensorEntry,
}

/// Fill the common columns of an `event_row!` struct.
macro_rules! with_common {
    // ... and the tuple's columns from a `Tuple`.
    ($row:ident, $c:expr, tuple $t:expr, { $($field:ident $(: $value:expr)?),* $(,)? }) => {{
        let t: Tuple = $t;
        with_common!($row, $c, {
            flow_id: t.flow_id,
            src_ip: t.src_ip,
            src_port: t.src_port,
            dest_ip: t.dest_ip,
            dest_port: t.dest_port,
            proto: t.proto,
            app_proto: t.app_proto,
            $($field $(: $value)?,)*
        })
    }};
    ($row:ident, $c:expr, { $($field:ident $(: $value:expr)?),* $(,)? }) => {
        $row {
            ts: $c.ts,
            ts_us: $c.ts_us,
            received: $c.received,
            event_id: $c.event_id,
            sensor_id: $c.who.id.clone(),
            enterprise_id: $c.who.enterprise_id.clone(),
            province: $c.who.province.clone(),
            industry: $c.who.industry.clone(),
            grade: $c.who.grade,
            $($field $(: $value)?,)*
        }
    };
}

/// The longest event id accepted.
const MAX_EVENT_ID: usize = 64;

/// An `event_type` as a line spells it: one of EVE's, or another name (a report of the tier
/// below, or a type nobody knows).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypeName<'a> {
    Eve(EventType),
    Other(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for TypeName<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = TypeName<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(EventType::parse(s).map_or(TypeName::Other(Cow::Borrowed(s)), TypeName::Eve))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(EventType::parse(s)
                    .map_or_else(|| TypeName::Other(Cow::Owned(s.to_owned())), TypeName::Eve))
            }
        }
        d.deserialize_str(Name)
    }
}

impl TypeName<'_> {
    /// EVE's type, or the refusal of a name that is none.
    pub fn eve(&self) -> Result<EventType, LineError> {
        match self {
            TypeName::Eve(t) => Ok(*t),
            TypeName::Other(s) => Err(invalid(format!(
                "unknown event_type {s:?} (known: {})",
                EventType::known()
            ))),
        }
    }
}

/// One line, read once. Every key is optional here, so that what is missing is named by the
/// checks that follow ([`Envelope::row`]); a key of the wrong type is refused while reading,
/// by its path (`alert.severity: …`).
#[derive(Deserialize, Default)]
pub struct Envelope<'a> {
    pub timestamp: Option<Timestamp>,
    #[serde(borrow)]
    pub event_type: Option<TypeName<'a>>,
    #[serde(borrow)]
    pub event_id: Option<Cow<'a, str>>,
    pub flow_id: Option<u64>,
    #[serde(borrow)]
    pub src_ip: Option<Cow<'a, str>>,
    pub src_port: Option<u64>,
    #[serde(borrow)]
    pub dest_ip: Option<Cow<'a, str>>,
    pub dest_port: Option<u64>,
    pub proto: Option<Proto>,
    #[serde(borrow)]
    pub app_proto: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub sensor: Option<SensorClaim<'a>>,
    #[serde(borrow)]
    pub alert: Option<AlertRecord<'a, AlertMetadata>>,
    #[serde(borrow)]
    pub anomaly: Option<AnomalyBlock<'a>>,
    #[serde(borrow)]
    pub flow: Option<FlowBlock<'a>>,
    #[serde(borrow)]
    pub asset: Option<AssetBlock<'a>>,
    pub stats: Option<StatsBlock>,
    /// On a collector's line: whose event it is, as the tier below stored it. Read by the
    /// tier ([`crate::tier::report`]), which also rewrites it in place for the tier above.
    #[serde(borrow)]
    pub origin: Option<&'a RawValue>,
    /// On a collector's line: a report row, read by the tier as its type says.
    #[serde(borrow)]
    pub row: Option<&'a RawValue>,
}

/// The `sensor` block: who the line says it is.
#[derive(Deserialize, Default)]
pub struct SensorClaim<'a> {
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub enterprise_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub province: Option<Cow<'a, str>>,
}

/// What an alert's `metadata` holds that is stored in columns.
#[derive(Deserialize, Default)]
pub struct AlertMetadata {
    pub mitre_attack_ics: Option<Vec<String>>,
}

/// The `anomaly` block of an anomaly event, or of a baseline's alert.
#[derive(Deserialize, Default)]
pub struct AnomalyBlock<'a> {
    #[serde(borrow, rename = "type")]
    pub anomaly_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub event: Option<Cow<'a, str>>,
    /// An application layer's anomaly: its protocol, the event's name then being the name
    /// within it, as Suricata writes it.
    #[serde(borrow)]
    pub app_proto: Option<Cow<'a, str>>,
}

impl AnomalyBlock<'_> {
    /// The anomaly's whole name, as rules and the sensor's stats spell it, whichever layout
    /// the sensor wrote it in: see [`icsight_eve::anomaly_name`].
    pub fn name(&self) -> String {
        let kind = self
            .anomaly_type
            .as_deref()
            .or(self.kind.as_deref())
            .unwrap_or("");
        icsight_eve::anomaly_name(kind, self.app_proto.as_deref(), &text(&self.event))
    }
}

/// The `flow` block.
#[derive(Deserialize, Default)]
pub struct FlowBlock<'a> {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub pkts_toserver: Option<u64>,
    pub pkts_toclient: Option<u64>,
    pub bytes_toserver: Option<u64>,
    pub bytes_toclient: Option<u64>,
    #[serde(borrow)]
    pub state: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
    pub alerted: Option<bool>,
}

/// The `asset` block.
#[derive(Deserialize, Default)]
pub struct AssetBlock<'a> {
    #[serde(borrow)]
    pub ip: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub change: Option<Cow<'a, str>>,
    pub macs: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
    #[serde(borrow)]
    pub identity: Option<AssetIdentity<'a>>,
}

#[derive(Deserialize, Default)]
pub struct AssetIdentity<'a> {
    #[serde(borrow)]
    pub vendor: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub product: Option<Cow<'a, str>>,
}

/// The `stats` block's counters that are stored in columns.
#[derive(Deserialize, Default)]
pub struct StatsBlock {
    pub uptime: Option<u64>,
    pub decoder: Option<DecoderStats>,
    pub capture: Option<CaptureStats>,
}

#[derive(Deserialize, Default)]
pub struct DecoderStats {
    pub pkts: Option<u64>,
    pub bytes: Option<u64>,
}

#[derive(Deserialize, Default)]
pub struct CaptureStats {
    pub kernel_drops: Option<u64>,
}

/// A `serde_json` error's message without its position (the line is one line; the key names
/// the place).
pub fn message(e: &serde_json::Error) -> String {
    let m = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    m.strip_suffix(&at).map_or(m.clone(), str::to_owned)
}

impl<'a> Envelope<'a> {
    /// Read a line: the one `serde_json` pass over it.
    pub fn parse(line: &'a str) -> Result<Envelope<'a>, LineError> {
        if !line.trim_start().starts_with('{') {
            // A struct reads from a JSON array too: say what the line is instead.
            return Err(match serde_json::from_str::<de::IgnoredAny>(line) {
                Err(e) => invalid(format!("invalid JSON: {e}")),
                Ok(_) => invalid("not a JSON object"),
            });
        }
        serde_json::from_str(line).map_err(|e| {
            if !e.is_data() {
                return invalid(format!("invalid JSON: {e}"));
            }
            // Refused: read again only to name the key.
            let mut de = serde_json::Deserializer::from_str(line);
            match serde_path_to_error::deserialize::<_, Envelope<'_>>(&mut de) {
                Err(e) => keyed(e.path().to_string(), &message(e.inner())),
                Ok(_) => invalid(message(&e)),
            }
        })
    }

    /// Check the line for the sensor `who` and make its row. `received` is the batch's arrival
    /// (UNIX s). `Ok(None)`: a valid event of a type this collector does not store (a
    /// transaction not among `store_transaction`'s).
    pub fn row(
        &self,
        line: &str,
        who: &SensorEntry,
        received: u32,
        store_transaction: impl Fn(&str) -> bool,
    ) -> Result<Option<Row>, LineError> {
        let event_type = self
            .event_type
            .as_ref()
            .ok_or_else(|| invalid("event_type: missing or not a string"))?
            .eve()?;
        let event_id = self
            .event_id
            .as_deref()
            .ok_or_else(|| invalid("event_id: missing or not a string"))?;
        if event_id.is_empty()
            || event_id.len() > MAX_EVENT_ID
            || event_id.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "event_id {event_id:?} must be 1-{MAX_EVENT_ID} printable characters"
            )));
        }
        self.check_sensor(who)?;
        let ts_us = self
            .timestamp
            .ok_or_else(|| invalid("timestamp: missing or not a string"))?
            .0;
        let ts = u32::try_from(ts_us / 1_000_000)
            .map_err(|_| invalid("timestamp: outside 1970-2106"))?;
        let c = Common {
            ts,
            ts_us,
            received,
            event_id: event_id.to_owned(),
            who,
        };
        Ok(Some(match Kind::of(event_type) {
            Kind::Alert => Row::Alert(self.alert_row(c, line)?),
            Kind::Anomaly => Row::Anomaly(self.anomaly_row(c, line)?),
            Kind::Flow => Row::Flow(self.flow_row(c)?),
            Kind::Transaction => {
                if !store_transaction(event_type.name()) {
                    return Ok(None);
                }
                // The transaction's protocol is its event type.
                let t = Tuple {
                    app_proto: event_type.name().to_owned(),
                    ..self.tuple()?
                };
                Row::Transaction(with_common!(TransactionRow, c, tuple t, {
                    raw: line.to_owned(),
                }))
            }
            Kind::Asset => Row::Asset(self.asset_row(c, line)?),
            Kind::Stats => Row::Stats(self.stats_row(c, line)?),
        }))
    }

    /// A line's `sensor` block must name the credential's sensor, and (where it says) its
    /// enterprise and province.
    fn check_sensor(&self, who: &SensorEntry) -> Result<(), LineError> {
        let s = self
            .sensor
            .as_ref()
            .ok_or_else(|| invalid("sensor: missing or not an object"))?;
        let id =
            s.id.as_deref()
                .ok_or_else(|| invalid("sensor.id: missing or not a string"))?;
        if id != who.id {
            return Err(LineError::Forbidden(format!(
                "sensor.id {id:?} is not this credential's sensor {:?}",
                who.id
            )));
        }
        for (key, said, bound) in [
            ("enterprise_id", &s.enterprise_id, &who.enterprise_id),
            ("province", &s.province, &who.province),
        ] {
            match said.as_deref() {
                None => {}
                Some(v) if v == bound => {}
                Some(v) => {
                    return Err(LineError::Forbidden(format!(
                        "sensor.{key} {v:?} is not this sensor's {bound:?}"
                    )))
                }
            }
        }
        Ok(())
    }

    /// The envelope's tuple; every part is optional, as in EVE.
    fn tuple(&self) -> Result<Tuple, LineError> {
        Ok(Tuple {
            flow_id: self.flow_id.unwrap_or(0),
            src_ip: ip("src_ip", &self.src_ip)?,
            src_port: port("src_port", self.src_port)?,
            dest_ip: ip("dest_ip", &self.dest_ip)?,
            dest_port: port("dest_port", self.dest_port)?,
            proto: self.proto.map(|p| p.to_string()).unwrap_or_default(),
            app_proto: text(&self.app_proto),
        })
    }

    fn alert_row(&self, c: Common<'_>, line: &str) -> Result<AlertRow, LineError> {
        let t = self.tuple()?;
        let a = self
            .alert
            .as_ref()
            .ok_or_else(|| invalid("alert: missing or not an object"))?;
        if a.severity == 0 {
            return Err(invalid("alert.severity: 0 is not 1-255"));
        }
        let techniques = a
            .metadata
            .as_ref()
            .and_then(|m| m.mitre_attack_ics.clone())
            .unwrap_or_default();
        let anomaly_event = match &self.anomaly {
            Some(an) => an
                .event
                .as_deref()
                .ok_or_else(|| invalid("anomaly.event: missing or not a string"))?
                .to_owned(),
            None => String::new(),
        };
        Ok(with_common!(AlertRow, c, tuple t, {
            kind: if anomaly_event.is_empty() { "signature" } else { "baseline" }.to_owned(),
            action: a.action.as_ref().to_owned(),
            gid: a.gid,
            sid: a.signature_id,
            rev: a.rev,
            signature: a.signature.as_ref().to_owned(),
            category: a.category.as_ref().to_owned(),
            severity: a.severity,
            technique: techniques.first().cloned().unwrap_or_default(),
            techniques,
            anomaly_event,
            raw: line.to_owned(),
        }))
    }

    fn anomaly_row(&self, c: Common<'_>, line: &str) -> Result<AnomalyRow, LineError> {
        let t = self.tuple()?;
        let a = self
            .anomaly
            .as_ref()
            .ok_or_else(|| invalid("anomaly: missing or not an object"))?;
        let anomaly_type = a
            .anomaly_type
            .as_ref()
            .or(a.kind.as_ref())
            .ok_or_else(|| invalid("anomaly.type: missing or not a string"))?
            .as_ref()
            .to_owned();
        Ok(with_common!(AnomalyRow, c, tuple t, {
            anomaly_type,
            event: a.name(),
            raw: line.to_owned(),
        }))
    }

    fn flow_row(&self, c: Common<'_>) -> Result<FlowRow, LineError> {
        let t = self.tuple()?;
        let f = self
            .flow
            .as_ref()
            .ok_or_else(|| invalid("flow: missing or not an object"))?;
        let time = |k: &str, v: Option<Timestamp>| -> Result<u32, LineError> {
            let v = v.ok_or_else(|| invalid(format!("flow.{k}: missing or not a string")))?;
            u32::try_from(v.secs()).map_err(|_| invalid(format!("flow.{k}: not a time")))
        };
        Ok(with_common!(FlowRow, c, tuple t, {
            flow_start: time("start", f.start)?,
            flow_end: time("end", f.end)?,
            pkts_toserver: f.pkts_toserver.unwrap_or(0),
            pkts_toclient: f.pkts_toclient.unwrap_or(0),
            bytes_toserver: f.bytes_toserver.unwrap_or(0),
            bytes_toclient: f.bytes_toclient.unwrap_or(0),
            state: text(&f.state),
            reason: text(&f.reason),
            alerted: u8::from(f.alerted.unwrap_or(false)),
        }))
    }

    fn asset_row(&self, c: Common<'_>, line: &str) -> Result<AssetRow, LineError> {
        let a = self
            .asset
            .as_ref()
            .ok_or_else(|| invalid("asset: missing or not an object"))?;
        let ip = ip("ip", &a.ip)?;
        if ip.is_empty() {
            return Err(invalid("asset.ip: missing"));
        }
        let identity = a.identity.as_ref();
        Ok(with_common!(AssetRow, c, {
            ip,
            change: text(&a.change),
            macs: a.macs.clone().unwrap_or_default(),
            roles: a.roles.clone().unwrap_or_default(),
            vendor: identity.map(|i| text(&i.vendor)).unwrap_or_default(),
            product: identity.map(|i| text(&i.product)).unwrap_or_default(),
            raw: line.to_owned(),
        }))
    }

    fn stats_row(&self, c: Common<'_>, line: &str) -> Result<StatsRow, LineError> {
        let s = self
            .stats
            .as_ref()
            .ok_or_else(|| invalid("stats: missing or not an object"))?;
        let decoder = s.decoder.as_ref();
        Ok(with_common!(StatsRow, c, {
            uptime: s.uptime.unwrap_or(0),
            packets: decoder.and_then(|d| d.pkts).unwrap_or(0),
            bytes: decoder.and_then(|d| d.bytes).unwrap_or(0),
            kernel_drops: s.capture.as_ref().and_then(|c| c.kernel_drops).unwrap_or(0),
            raw: line.to_owned(),
        }))
    }
}

/// Parse and check one line for the sensor `who`: [`Envelope::parse`], then
/// [`Envelope::row`].
pub fn parse(
    line: &str,
    who: &SensorEntry,
    received: u32,
    store_transaction: impl Fn(&str) -> bool,
) -> Result<Option<Row>, LineError> {
    Envelope::parse(line)?.row(line, who, received, store_transaction)
}

/// A refusal of the key at `path` (`.` for the line itself).
fn keyed(path: String, message: &str) -> LineError {
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        return if path == "." {
            invalid(format!("{field}: missing"))
        } else {
            invalid(format!("{path}.{field}: missing"))
        };
    }
    if path == "." {
        invalid(message.to_owned())
    } else {
        invalid(format!("{path}: {message}"))
    }
}

struct Tuple {
    flow_id: u64,
    src_ip: String,
    src_port: u16,
    dest_ip: String,
    dest_port: u16,
    proto: String,
    app_proto: String,
}

fn text(v: &Option<Cow<'_, str>>) -> String {
    v.as_deref().unwrap_or_default().to_owned()
}

fn port(key: &str, v: Option<u64>) -> Result<u16, LineError> {
    match v {
        None => Ok(0),
        Some(p) => u16::try_from(p).map_err(|_| invalid(format!("{key}: {p} is not a port"))),
    }
}

fn ip(key: &str, v: &Option<Cow<'_, str>>) -> Result<String, LineError> {
    let s = text(v);
    if !s.is_empty() && s.parse::<std::net::IpAddr>().is_err() {
        return Err(invalid(format!("{key}: {s:?} is not an IP address")));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> SensorEntry {
        SensorEntry::example()
    }

    const ALERT: &str = r#"{"timestamp":"2026-11-21T17:41:00.765135+0000","event_id":"1-1","flow_id":7,"event_type":"alert","src_ip":"10.0.0.1","src_port":40000,"dest_ip":"10.0.0.2","dest_port":502,"proto":"TCP","app_proto":"modbus","alert":{"action":"allowed","gid":1,"signature_id":9100002,"rev":1,"signature":"ICSIGHT MODBUS write","category":"c","severity":2,"metadata":{"mitre_attack_ics":["T0836","T0855"]}},"sensor":{"id":"s1","enterprise_id":"E1","province":"330000"}}"#;

    #[test]
    fn an_alert_takes_its_scope_from_the_credential() {
        let Some(Row::Alert(a)) = parse(ALERT, &who(), 5, |_| true).unwrap() else {
            panic!("not an alert")
        };
        assert_eq!(
            (a.sid, a.severity, a.kind.as_str()),
            (9100002, 2, "signature")
        );
        assert_eq!(a.technique, "T0836");
        assert_eq!((a.industry.as_str(), a.grade, a.received), ("water", 1, 5));
        assert_eq!(a.ts, 1_795_282_860);
    }

    #[test]
    fn an_app_layer_anomaly_is_stored_by_its_whole_name() {
        let line = |anomaly: &str| {
            ALERT
                .replace("\"event_type\":\"alert\"", "\"event_type\":\"anomaly\"")
                .replace(
                    &ALERT[ALERT.find("\"alert\":{").unwrap()..ALERT.find(",\"sensor\"").unwrap()],
                    &format!("\"anomaly\":{anomaly}"),
                )
        };
        let event = |anomaly: &str| match parse(&line(anomaly), &who(), 0, |_| true).unwrap() {
            Some(Row::Anomaly(a)) => a.event,
            _ => panic!("not an anomaly"),
        };
        let suricata =
            r#"{"app_proto":"ftp-data","type":"applayer","event":"x_y","layer":"proto_parser"}"#;
        assert_eq!(event(suricata), "ftp_data.x_y");
        let http = r#"{"app_proto":"http","type":"applayer","event":"REQUEST_AUTH_UNRECOGNIZED"}"#;
        assert_eq!(event(http), "http.request_auth_unrecognized");
        let whole = r#"{"type":"applayer","event":"modbus.invalid_length"}"#;
        assert_eq!(event(whole), "modbus.invalid_length");
        let stream = r#"{"app_proto":"modbus","type":"stream","event":"stream.reassembly_gap"}"#;
        assert_eq!(event(stream), "stream.reassembly_gap");
    }

    #[test]
    fn refusals_say_why() {
        let w = who();
        let p = |l: &str| parse(l, &w, 0, |_| true).map(|_| ()).unwrap_err();
        assert!(matches!(p("{"), LineError::Invalid(m) if m.starts_with("invalid JSON")));
        assert!(matches!(p("[1]"), LineError::Invalid(m) if m == "not a JSON object"));
        let other = ALERT.replace("\"id\":\"s1\"", "\"id\":\"s2\"");
        assert!(matches!(p(&other), LineError::Forbidden(m) if m.contains("\"s2\"")));
        let other = ALERT.replace("\"E1\"", "\"E2\"");
        assert!(matches!(p(&other), LineError::Forbidden(m) if m.contains("enterprise_id")));
        let unknown = ALERT.replace("\"event_type\":\"alert\"", "\"event_type\":\"krb5\"");
        assert!(
            matches!(p(&unknown), LineError::Invalid(m) if m.contains("unknown event_type \"krb5\""))
        );
        let no_id = ALERT.replace("\"event_id\":\"1-1\",", "");
        assert!(matches!(p(&no_id), LineError::Invalid(m) if m.starts_with("event_id")));
        let bad_sev = ALERT.replace("\"severity\":2", "\"severity\":0");
        assert!(matches!(p(&bad_sev), LineError::Invalid(m) if m.starts_with("alert.severity")));
        let bad_ip = ALERT.replace("10.0.0.1", "10.0.0.300");
        assert!(matches!(p(&bad_ip), LineError::Invalid(m) if m.starts_with("src_ip")));
    }

    #[test]
    fn keys_are_named_in_refusals() {
        let w = who();
        let p = |l: &str| match parse(l, &w, 0, |_| true).map(|_| ()).unwrap_err() {
            LineError::Invalid(m) | LineError::Forbidden(m) => m,
        };
        let no_sig = ALERT.replace("\"signature\":\"ICSIGHT MODBUS write\",", "");
        assert_eq!(p(&no_sig), "alert.signature: missing");
        let bad_port = ALERT.replace("40000", "\"x\"");
        assert!(
            p(&bad_port).starts_with("src_port: invalid type: string"),
            "{}",
            p(&bad_port)
        );
        let big_port = ALERT.replace("40000", "70000");
        assert_eq!(p(&big_port), "src_port: 70000 is not a port");
        let bad_time = ALERT.replace("2026-11-21T17:41:00.765135+0000", "2026-11-21T17:41:00");
        assert!(p(&bad_time).starts_with("timestamp: \"2026-11-21T17:41:00\" is not a"));
        let no_time = ALERT.replace("\"timestamp\":\"2026-11-21T17:41:00.765135+0000\",", "");
        assert_eq!(p(&no_time), "timestamp: missing or not a string");
        let bad_tech = ALERT.replace("[\"T0836\",\"T0855\"]", "\"T0836\"");
        assert!(p(&bad_tech).starts_with("alert.metadata.mitre_attack_ics: invalid type"));
        assert_eq!(
            p(&ALERT.replace("\"TCP\"", "\"TCPX\"")),
            "proto: \"TCPX\" is not an IP protocol name or number"
        );
        assert_eq!(p("[]"), "not a JSON object");
        assert!(p(" {\"event_type\": \"alert\", ").starts_with("invalid JSON: EOF"));
        let no_sensor = ALERT.replace(
            ",\"sensor\":{\"id\":\"s1\",\"enterprise_id\":\"E1\",\"province\":\"330000\"}",
            "",
        );
        assert_eq!(p(&no_sensor), "sensor: missing or not an object");
        let other = ALERT.replace("\"330000\"}", "\"440000\"}");
        assert_eq!(
            p(&other),
            "sensor.province \"440000\" is not this sensor's \"330000\""
        );
    }

    #[test]
    fn read_once_typed() {
        // Escaped strings are read (owned), numbers for protocols spelled as Suricata does.
        let line = ALERT
            .replace("ICSIGHT MODBUS write", "ICSIGHT \\\"MODBUS\\\" write")
            .replace("\"TCP\"", "6");
        let Some(Row::Alert(a)) = parse(&line, &who(), 0, |_| true).unwrap() else {
            panic!("not an alert")
        };
        assert_eq!(a.signature, "ICSIGHT \"MODBUS\" write");
        assert_eq!(a.proto, "TCP");
        assert_eq!(a.techniques, ["T0836", "T0855"]);
        assert_eq!(a.raw, line);
        let env = Envelope::parse(&line).unwrap();
        assert_eq!(env.event_type, Some(TypeName::Eve(EventType::Alert)));
        assert!(env.origin.is_none() && env.row.is_none());
        let report = r#"{"event_type":"rollup","event_id":"r-1","row":{"bucket":1}}"#;
        let env = Envelope::parse(report).unwrap();
        assert_eq!(env.event_type, Some(TypeName::Other("rollup".into())));
        assert_eq!(env.row.map(RawValue::get), Some(r#"{"bucket":1}"#));
        let e = env
            .row(report, &who(), 0, |_| true)
            .map(|_| ())
            .unwrap_err();
        assert!(
            matches!(e, LineError::Invalid(m) if m.starts_with("unknown event_type \"rollup\" (known: alert,"))
        );
    }

    #[test]
    fn transactions_not_configured_are_skipped() {
        let tx = ALERT
            .replace("\"event_type\":\"alert\"", "\"event_type\":\"dnp3\"")
            .replace("\"alert\":{", "\"dnp3\":{");
        assert!(parse(&tx, &who(), 0, |t| t != "dnp3").unwrap().is_none());
        assert!(
            matches!(parse(&tx, &who(), 0, |_| true).unwrap(), Some(Row::Transaction(t)) if t.app_proto == "dnp3")
        );
    }
}
