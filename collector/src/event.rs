//! One EVE line, checked and turned into the row of the table its type belongs in.
//!
//! The collector trusts a sensor's credential, not its words: the enterprise, province,
//! industry and grade stored come from the credential's binding, and a line claiming another
//! sensor or enterprise is refused. Every error says what is wrong in terms of the line's keys.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::SensorEntry;
use icsight_eve::Timestamp;

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
    pub fn of(event_type: &str) -> Option<Kind> {
        Some(match event_type {
            "alert" => Kind::Alert,
            "anomaly" => Kind::Anomaly,
            "flow" => Kind::Flow,
            "modbus" | "s7comm" | "s7commplus" | "dnp3" => Kind::Transaction,
            "asset" => Kind::Asset,
            "stats" => Kind::Stats,
            _ => return None,
        })
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

pub const KNOWN_TYPES: &str =
    "alert, anomaly, flow, asset, stats, modbus, s7comm, s7commplus, dnp3";

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

/// Parse and check one line for the sensor `who`. `received` is the batch's arrival (UNIX s).
/// `Ok(None)`: a valid event of a type this collector does not store (`app_proto` not among
/// the configured transactions).
pub fn parse(
    line: &str,
    who: &SensorEntry,
    received: u32,
    store_transaction: impl Fn(&str) -> bool,
) -> Result<Option<Row>, LineError> {
    let v: Value = serde_json::from_str(line).map_err(|e| invalid(format!("invalid JSON: {e}")))?;
    let o = v.as_object().ok_or_else(|| invalid("not a JSON object"))?;
    let event_type = str_key(o, "event_type")?;
    let kind = Kind::of(event_type).ok_or_else(|| {
        invalid(format!(
            "unknown event_type {event_type:?} (known: {KNOWN_TYPES})"
        ))
    })?;
    let event_id = str_key(o, "event_id")?;
    if event_id.is_empty()
        || event_id.len() > MAX_EVENT_ID
        || event_id.chars().any(char::is_control)
    {
        return Err(invalid(format!(
            "event_id {event_id:?} must be 1-{MAX_EVENT_ID} printable characters"
        )));
    }
    check_sensor(o, who)?;
    let ts_us = Timestamp::parse(str_key(o, "timestamp")?)
        .map(|t| t.0)
        .ok_or_else(|| invalid("timestamp: not a time like 2026-11-21T10:00:00.000000+0000"))?;
    let ts =
        u32::try_from(ts_us / 1_000_000).map_err(|_| invalid("timestamp: outside 1970-2106"))?;
    let c = Common {
        ts,
        ts_us,
        received,
        event_id: event_id.to_owned(),
        who,
    };
    Ok(Some(match kind {
        Kind::Alert => Row::Alert(alert(o, c, line)?),
        Kind::Anomaly => Row::Anomaly(anomaly(o, c, line)?),
        Kind::Flow => Row::Flow(flow(o, c)?),
        Kind::Transaction => {
            if !store_transaction(event_type) {
                return Ok(None);
            }
            // The transaction's protocol is its event type.
            let t = Tuple {
                app_proto: event_type.to_owned(),
                ..Tuple::of(o)?
            };
            Row::Transaction(with_common!(TransactionRow, c, tuple t, {
                raw: line.to_owned(),
            }))
        }
        Kind::Asset => Row::Asset(asset(o, c, line)?),
        Kind::Stats => Row::Stats(stats(o, c, line)?),
    }))
}

/// A line's `sensor` block must name the credential's sensor, and (where it says) its
/// enterprise and province.
fn check_sensor(o: &Map<String, Value>, who: &SensorEntry) -> Result<(), LineError> {
    let s = o
        .get("sensor")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("sensor: missing or not an object"))?;
    let id = s
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("sensor.id: missing or not a string"))?;
    if id != who.id {
        return Err(LineError::Forbidden(format!(
            "sensor.id {id:?} is not this credential's sensor {:?}",
            who.id
        )));
    }
    for (key, bound) in [
        ("enterprise_id", &who.enterprise_id),
        ("province", &who.province),
    ] {
        match s.get(key) {
            None | Some(Value::Null) => {}
            Some(Value::String(v)) if v == bound => {}
            Some(v) => {
                return Err(LineError::Forbidden(format!(
                    "sensor.{key} {v} is not this sensor's {bound:?}"
                )))
            }
        }
    }
    Ok(())
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

impl Tuple {
    /// The envelope's tuple; every part is optional, as in EVE.
    fn of(o: &Map<String, Value>) -> Result<Tuple, LineError> {
        Ok(Tuple {
            flow_id: opt_u64(o, "flow_id")?.unwrap_or(0),
            src_ip: opt_ip(o, "src_ip")?,
            src_port: opt_port(o, "src_port")?,
            dest_ip: opt_ip(o, "dest_ip")?,
            dest_port: opt_port(o, "dest_port")?,
            proto: match o.get("proto") {
                None => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(_) => return Err(invalid("proto: not a string or number")),
            },
            app_proto: opt_str(o, "app_proto")?,
        })
    }
}

fn alert(o: &Map<String, Value>, c: Common<'_>, line: &str) -> Result<AlertRow, LineError> {
    let t = Tuple::of(o)?;
    let a = obj(o, "alert")?;
    let at = |k: &str| format!("alert.{k}");
    let sid = u32_in(a, "signature_id", &at("signature_id"))?;
    let severity = u32_in(a, "severity", &at("severity"))?;
    let severity = u8::try_from(severity)
        .ok()
        .filter(|s| *s >= 1)
        .ok_or_else(|| invalid(format!("alert.severity: {severity} is not 1-255")))?;
    let techniques = match a.get("metadata").and_then(|m| m.get("mitre_attack_ics")) {
        None => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|t| t.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("alert.metadata.mitre_attack_ics: not a list of strings"))?,
        Some(_) => return Err(invalid("alert.metadata.mitre_attack_ics: not a list")),
    };
    let anomaly_event = match o.get("anomaly") {
        Some(an) => an
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("anomaly.event: missing or not a string"))?
            .to_owned(),
        None => String::new(),
    };
    Ok(with_common!(AlertRow, c, tuple t, {
        kind: if anomaly_event.is_empty() { "signature" } else { "baseline" }.to_owned(),
        action: opt_str(a, "action")?,
        gid: opt_u64(a, "gid")?.unwrap_or(1).min(u32::MAX as u64) as u32,
        sid,
        rev: opt_u64(a, "rev")?.unwrap_or(0).min(u32::MAX as u64) as u32,
        signature: a
            .get("signature")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("alert.signature: missing or not a string"))?
            .to_owned(),
        category: opt_str(a, "category")?,
        severity,
        technique: techniques.first().cloned().unwrap_or_default(),
        techniques,
        anomaly_event,
        raw: line.to_owned(),
    }))
}

fn anomaly(o: &Map<String, Value>, c: Common<'_>, line: &str) -> Result<AnomalyRow, LineError> {
    let t = Tuple::of(o)?;
    let a = obj(o, "anomaly")?;
    let anomaly_type = match a.get("type").or_else(|| a.get("kind")) {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(invalid("anomaly.type: missing or not a string")),
    };
    Ok(with_common!(AnomalyRow, c, tuple t, {
        anomaly_type,
        event: opt_str(a, "event")?,
        raw: line.to_owned(),
    }))
}

fn flow(o: &Map<String, Value>, c: Common<'_>) -> Result<FlowRow, LineError> {
    let t = Tuple::of(o)?;
    let f = obj(o, "flow")?;
    let time = |k: &str| -> Result<u32, LineError> {
        let s = f
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("flow.{k}: missing or not a string")))?;
        Timestamp::parse(s)
            .map(|t| t.0)
            .and_then(|us| u32::try_from(us / 1_000_000).ok())
            .ok_or_else(|| invalid(format!("flow.{k}: not a time")))
    };
    let count = |k: &str| -> Result<u64, LineError> { Ok(opt_u64(f, k)?.unwrap_or(0)) };
    Ok(with_common!(FlowRow, c, tuple t, {
        flow_start: time("start")?,
        flow_end: time("end")?,
        pkts_toserver: count("pkts_toserver")?,
        pkts_toclient: count("pkts_toclient")?,
        bytes_toserver: count("bytes_toserver")?,
        bytes_toclient: count("bytes_toclient")?,
        state: opt_str(f, "state")?,
        reason: opt_str(f, "reason")?,
        alerted: u8::from(f.get("alerted").and_then(Value::as_bool).unwrap_or(false)),
    }))
}

fn asset(o: &Map<String, Value>, c: Common<'_>, line: &str) -> Result<AssetRow, LineError> {
    let a = obj(o, "asset")?;
    let ip = opt_ip(a, "ip")?;
    if ip.is_empty() {
        return Err(invalid("asset.ip: missing"));
    }
    let identity = a.get("identity").and_then(Value::as_object);
    let ident = |k: &str| -> Result<String, LineError> {
        identity.map_or(Ok(String::new()), |i| opt_str(i, k))
    };
    Ok(with_common!(AssetRow, c, {
        ip,
        change: opt_str(a, "change")?,
        macs: str_list(a, "macs")?,
        roles: str_list(a, "roles")?,
        vendor: ident("vendor")?,
        product: ident("product")?,
        raw: line.to_owned(),
    }))
}

fn stats(o: &Map<String, Value>, c: Common<'_>, line: &str) -> Result<StatsRow, LineError> {
    let s = obj(o, "stats")?;
    let deep = |path: &[&str]| -> u64 {
        let mut v = Some(&o["stats"]);
        for k in path {
            v = v.and_then(|x| x.get(*k));
        }
        v.and_then(Value::as_u64).unwrap_or(0)
    };
    Ok(with_common!(StatsRow, c, {
        uptime: opt_u64(s, "uptime")?.unwrap_or(0),
        packets: deep(&["decoder", "pkts"]),
        bytes: deep(&["decoder", "bytes"]),
        kernel_drops: deep(&["capture", "kernel_drops"]),
        raw: line.to_owned(),
    }))
}

fn obj<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a Map<String, Value>, LineError> {
    o.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format!("{key}: missing or not an object")))
}

fn str_key<'a>(o: &'a Map<String, Value>, key: &str) -> Result<&'a str, LineError> {
    o.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{key}: missing or not a string")))
}

fn opt_str(o: &Map<String, Value>, key: &str) -> Result<String, LineError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(invalid(format!("{key}: not a string"))),
    }
}

fn opt_u64(o: &Map<String, Value>, key: &str) -> Result<Option<u64>, LineError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| invalid(format!("{key}: not a non-negative integer"))),
    }
}

fn u32_in(o: &Map<String, Value>, key: &str, name: &str) -> Result<u32, LineError> {
    o.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| invalid(format!("{name}: missing or not an integer 0-4294967295")))
}

fn opt_port(o: &Map<String, Value>, key: &str) -> Result<u16, LineError> {
    match opt_u64(o, key)? {
        None => Ok(0),
        Some(p) => u16::try_from(p).map_err(|_| invalid(format!("{key}: {p} is not a port"))),
    }
}

fn opt_ip(o: &Map<String, Value>, key: &str) -> Result<String, LineError> {
    let s = opt_str(o, key)?;
    if !s.is_empty() && s.parse::<std::net::IpAddr>().is_err() {
        return Err(invalid(format!("{key}: {s:?} is not an IP address")));
    }
    Ok(s)
}

fn str_list(o: &Map<String, Value>, key: &str) -> Result<Vec<String>, LineError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid(format!("{key}: not a list of strings"))),
        Some(_) => Err(invalid(format!("{key}: not a list"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> SensorEntry {
        SensorEntry {
            id: "s1".into(),
            enterprise_id: "E1".into(),
            province: "330000".into(),
            industry: "water".into(),
            grade: 1,
            token_sha256: String::new(),
        }
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
    fn refusals_say_why() {
        let w = who();
        let p = |l: &str| parse(l, &w, 0, |_| true).map(|_| ()).unwrap_err();
        assert!(matches!(p("{"), LineError::Invalid(m) if m.starts_with("invalid JSON")));
        assert!(matches!(p("[1]"), LineError::Invalid(m) if m == "not a JSON object"));
        let other = ALERT.replace("\"id\":\"s1\"", "\"id\":\"s2\"");
        assert!(matches!(p(&other), LineError::Forbidden(m) if m.contains("\"s2\"")));
        let other = ALERT.replace("\"E1\"", "\"E2\"");
        assert!(matches!(p(&other), LineError::Forbidden(m) if m.contains("enterprise_id")));
        let unknown = ALERT.replace("\"event_type\":\"alert\"", "\"event_type\":\"http\"");
        assert!(
            matches!(p(&unknown), LineError::Invalid(m) if m.contains("unknown event_type \"http\""))
        );
        let no_id = ALERT.replace("\"event_id\":\"1-1\",", "");
        assert!(matches!(p(&no_id), LineError::Invalid(m) if m.starts_with("event_id")));
        let bad_sev = ALERT.replace("\"severity\":2", "\"severity\":0");
        assert!(matches!(p(&bad_sev), LineError::Invalid(m) if m.starts_with("alert.severity")));
        let bad_ip = ALERT.replace("10.0.0.1", "10.0.0.300");
        assert!(matches!(p(&bad_ip), LineError::Invalid(m) if m.starts_with("src_ip")));
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
