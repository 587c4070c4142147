//! The baseline file: versioned JSON an engineer reads and edits.
//!
//! Approving what detection reported is an edit: add a function code to a pair's list, widen a
//! range, add a pair. Every field but the header may be left out and means "nothing learned";
//! unknown fields are refused by name, so a typo cannot silently disable a check.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::envelope::Envelope;
use super::{dnp3, enip, iec104, mms, modbus, opcua, s7comm};
use icsight_eve::Timestamp;

/// The `format` every baseline file carries.
pub const FORMAT: &str = "icsight-baseline";
/// The version this sensor writes and reads.
pub const VERSION: u32 = 1;
/// Capture files or interfaces named in `learned.sources`; older ones give way.
const MAX_SOURCES: usize = 64;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub learned: Learned,
    #[serde(default)]
    pub assets: Vec<Asset>,
    #[serde(default)]
    pub pairs: Vec<Pair>,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline {
            format: FORMAT.into(),
            version: VERSION,
            learned: Learned::default(),
            assets: Vec::new(),
            pairs: Vec::new(),
        }
    }
}

/// What the baseline was learned from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Learned {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Timestamp>,
    /// Seconds of traffic learned, summed over captures.
    pub seconds: f64,
    pub transactions: u64,
    /// Capture files or interfaces learned from, the latest last.
    pub sources: Vec<String>,
    /// What the caps kept out of the baseline.
    pub dropped: Dropped,
}

impl Learned {
    pub fn add_source(&mut self, s: String) {
        if !self.sources.contains(&s) {
            self.sources.push(s);
        }
        let excess = self.sources.len().saturating_sub(MAX_SOURCES);
        self.sources.drain(..excess);
    }
}

/// Counts of what a cap kept out: hosts, pairs, value points, polling operations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dropped {
    pub assets: u64,
    pub pairs: u64,
    pub points: u64,
    pub operations: u64,
}

/// The industrial protocols a baseline knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Modbus,
    S7comm,
    S7commplus,
    Dnp3,
    Iec104,
    Enip,
    Opcua,
    Mms,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Modbus => "modbus",
            Protocol::S7comm => "s7comm",
            Protocol::S7commplus => "s7commplus",
            Protocol::Dnp3 => "dnp3",
            Protocol::Iec104 => "iec104",
            Protocol::Enip => "enip",
            Protocol::Opcua => "opcua",
            Protocol::Mms => "mms",
        }
    }
}

/// What a request does, which sets how much a new one matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    /// Reads process values.
    Read,
    /// Writes process values or commands outputs.
    Write,
    /// Asks who the device is (Modbus device identification, S7 SZL, block lists).
    Identify,
    /// Changes the device's operating state: PLC stop/start, restarts, controls (CROB).
    Control,
    /// Programs the device: block download/upload/delete, file transfer, configuration.
    Program,
    /// Session and housekeeping functions.
    Other,
}

impl Activity {
    pub fn name(self) -> &'static str {
        match self {
            Activity::Read => "read",
            Activity::Write => "write",
            Activity::Identify => "identify",
            Activity::Control => "control",
            Activity::Program => "program",
            Activity::Other => "other",
        }
    }
}

/// An asset's role, inferred from how it behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Polls devices and only reads (SCADA master, historian), or is a DNP3 master.
    Master,
    /// Serves an industrial protocol: PLC, RTU, Modbus slave, DNP3 outstation.
    Outstation,
    /// Programs or changes the state of devices.
    EngineeringStation,
    /// Reads and writes process values: an operator station.
    Hmi,
    /// Seen only in other traffic.
    Other,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Outstation => "outstation",
            Role::EngineeringStation => "engineering_station",
            Role::Hmi => "hmi",
            Role::Other => "other",
        }
    }
}

/// An Ethernet address, written `00:1b:1b:12:34:56`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl Serialize for Mac {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mac {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut m = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for b in &mut m {
            *b = parts
                .next()
                .filter(|p| p.len() == 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a MAC address")))?;
        }
        if parts.next().is_some() {
            return Err(serde::de::Error::custom(format!(
                "{s:?} is not a MAC address"
            )));
        }
        Ok(Mac(m))
    }
}

/// Who a device says it is, as far as its traffic tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Modbus product code, S7 order number (MLFB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Modbus product or model name, S7 module type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Modbus revision, S7 firmware version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// S7 PLC or module name, Modbus user application name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// DNP3 link addresses this host sends from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dnp3_addresses: Vec<u16>,
    /// IEC 104 common addresses this host reports from (a controlled station's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iec104_addresses: Vec<u16>,
    /// An OPC UA server's application URI: the name it is known by across its endpoints.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_uri: Option<String>,
}

/// Longest identity string kept; device strings are short, this bounds a hostile one.
const MAX_IDENTITY_LEN: usize = 64;
/// DNP3 addresses kept per host.
const MAX_DNP3_ADDRESSES: usize = 8;

impl Identity {
    pub fn is_empty(&self) -> bool {
        *self == Identity::default()
    }

    /// Set one field from device bytes (trimmed, non-printable bytes dropped); `true` when it
    /// changed. Allocates only when it does.
    pub fn set(field: &mut Option<String>, raw: &[u8]) -> bool {
        let mut buf = [0u8; MAX_IDENTITY_LEN];
        let mut n = 0;
        for &b in raw.iter().filter(|b| (0x20..0x7f).contains(*b)) {
            if n == buf.len() {
                break;
            }
            buf[n] = b;
            n += 1;
        }
        // Printable ASCII only, so always UTF-8.
        let clean = std::str::from_utf8(&buf[..n]).unwrap_or_default().trim();
        if clean.is_empty() || field.as_deref() == Some(clean) {
            return false;
        }
        *field = Some(clean.to_owned());
        true
    }

    pub fn add_dnp3_address(&mut self, a: u16) -> bool {
        if self.dnp3_addresses.contains(&a) || self.dnp3_addresses.len() >= MAX_DNP3_ADDRESSES {
            return false;
        }
        self.dnp3_addresses.push(a);
        self.dnp3_addresses.sort_unstable();
        true
    }

    pub fn add_iec104_address(&mut self, a: u16) -> bool {
        let v = &mut self.iec104_addresses;
        if v.contains(&a) || v.len() >= iec104::MAX_IDENTITY_ADDRESSES {
            return false;
        }
        v.push(a);
        v.sort_unstable();
        true
    }

    /// One line: `vendor product model firmware …`, the fields present.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = [
            &self.vendor,
            &self.product,
            &self.model,
            &self.firmware,
            &self.name,
            &self.application_uri,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
        if let Some(s) = &self.serial {
            parts.push(format!("serial {s}"));
        }
        if !self.dnp3_addresses.is_empty() {
            let a: Vec<String> = self.dnp3_addresses.iter().map(u16::to_string).collect();
            parts.push(format!("dnp3 {}", a.join(",")));
        }
        if !self.iec104_addresses.is_empty() {
            let a: Vec<String> = self.iec104_addresses.iter().map(u16::to_string).collect();
            parts.push(format!("iec104 {}", a.join(",")));
        }
        parts.join(" ")
    }
}

/// One host of the inventory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub macs: Vec<Mac>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
    /// Industrial protocols it answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub serves: Vec<Protocol>,
    /// Industrial protocols it speaks as a client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<Protocol>,
    /// What its requests do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<Activity>,
    #[serde(default, skip_serializing_if = "Identity::is_empty")]
    pub identity: Identity,
}

/// MAC addresses kept per host (a router's address shows for every host behind it).
pub const MAX_MACS: usize = 4;

/// Insert into a small sorted set; `true` when new.
pub fn insert_sorted<T: Ord>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(_) => false,
        Err(i) => {
            v.insert(i, x);
            true
        }
    }
}

impl Asset {
    pub fn new(ip: IpAddr, ts: Timestamp) -> Self {
        Asset {
            ip,
            macs: Vec::new(),
            first_seen: ts,
            last_seen: ts,
            roles: vec![Role::Other],
            serves: Vec::new(),
            uses: Vec::new(),
            activity: Vec::new(),
            identity: Identity::default(),
        }
    }

    /// The roles its behaviour implies.
    pub fn infer_roles(&self) -> Vec<Role> {
        let does = |a| self.activity.contains(&a);
        let mut roles = Vec::new();
        if !self.serves.is_empty() {
            roles.push(Role::Outstation);
        }
        if does(Activity::Program) || does(Activity::Control) {
            roles.push(Role::EngineeringStation);
        }
        if !self.uses.is_empty() {
            if does(Activity::Write) {
                roles.push(Role::Hmi);
            } else if does(Activity::Read)
                || self.uses.contains(&Protocol::Dnp3)
                || self.uses.contains(&Protocol::Iec104)
            {
                roles.push(Role::Master);
            }
        }
        if roles.is_empty() {
            roles.push(Role::Other);
        }
        roles.sort_unstable();
        roles
    }

    /// Recompute the roles; `true` when they changed.
    pub fn update_roles(&mut self) -> bool {
        let roles = self.infer_roles();
        if roles == self.roles {
            return false;
        }
        self.roles = roles;
        true
    }
}

/// What a (client, server) pair does, per protocol, and its pace.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub client: IpAddr,
    pub server: IpAddr,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Requests learned.
    #[serde(default)]
    pub requests: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modbus: Option<modbus::Facts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s7comm: Option<s7comm::Facts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s7commplus: Option<s7comm::PlusFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dnp3: Option<dnp3::Facts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iec104: Option<iec104::Facts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enip: Option<enip::Facts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opcua: Option<opcua::Facts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mms: Option<mms::Facts>,
    /// Repeated requests and the seconds between them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<Operation>,
    /// Requests per whole minute of activity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<Envelope>,
}

impl Pair {
    pub fn new(client: IpAddr, server: IpAddr, ts: Timestamp) -> Self {
        Pair {
            client,
            server,
            first_seen: ts,
            last_seen: ts,
            requests: 0,
            modbus: None,
            s7comm: None,
            s7commplus: None,
            dnp3: None,
            iec104: None,
            enip: None,
            opcua: None,
            mms: None,
            operations: Vec::new(),
            requests_per_minute: None,
        }
    }

    pub fn has(&self, p: Protocol) -> bool {
        match p {
            Protocol::Modbus => self.modbus.is_some(),
            Protocol::S7comm => self.s7comm.is_some(),
            Protocol::S7commplus => self.s7commplus.is_some(),
            Protocol::Dnp3 => self.dnp3.is_some(),
            Protocol::Iec104 => self.iec104.is_some(),
            Protocol::Enip => self.enip.is_some(),
            Protocol::Opcua => self.opcua.is_some(),
            Protocol::Mms => self.mms.is_some(),
        }
    }

    pub fn protocols(&self) -> Vec<Protocol> {
        let mut v = Vec::new();
        if self.modbus.is_some() {
            v.push(Protocol::Modbus);
        }
        if self.s7comm.is_some() {
            v.push(Protocol::S7comm);
        }
        if self.s7commplus.is_some() {
            v.push(Protocol::S7commplus);
        }
        if self.dnp3.is_some() {
            v.push(Protocol::Dnp3);
        }
        if self.iec104.is_some() {
            v.push(Protocol::Iec104);
        }
        if self.enip.is_some() {
            v.push(Protocol::Enip);
        }
        if self.opcua.is_some() {
            v.push(Protocol::Opcua);
        }
        if self.mms.is_some() {
            v.push(Protocol::Mms);
        }
        v
    }

    /// Values enveloped on this pair, over every protocol.
    pub fn points(&self) -> usize {
        self.modbus.as_ref().map_or(0, modbus::Facts::points)
            + self.s7comm.as_ref().map_or(0, s7comm::Facts::points)
            + self.dnp3.as_ref().map_or(0, dnp3::Facts::points)
            + self.iec104.as_ref().map_or(0, iec104::Facts::points)
            + self.enip.as_ref().map_or(0, enip::Facts::points)
            + self.opcua.as_ref().map_or(0, opcua::Facts::points)
            + self.mms.as_ref().map_or(0, mms::Facts::points)
    }
}

/// A request a client repeats: the same function on the same addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpKey {
    pub protocol: Protocol,
    pub function: u16,
    /// Modbus unit.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unit: u16,
    /// S7 area, DNP3 object group and variation (`group * 256 + variation`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub object: u16,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub db: u16,
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub address: u32,
    #[serde(default, skip_serializing_if = "is_zero32")]
    pub count: u32,
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

fn is_zero32(v: &u32) -> bool {
    *v == 0
}

impl OpKey {
    pub fn new(protocol: Protocol, function: u16) -> Self {
        OpKey {
            protocol,
            function,
            unit: 0,
            object: 0,
            db: 0,
            address: 0,
            count: 0,
        }
    }
}

impl fmt::Display for OpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} function {}", self.protocol.name(), self.function)?;
        if self.unit != 0 {
            write!(f, " unit {}", self.unit)?;
        }
        if self.object != 0 {
            write!(f, " object {}", self.object)?;
        }
        if self.db != 0 {
            write!(f, " db {}", self.db)?;
        }
        if self.address != 0 || self.count != 0 {
            write!(f, " address {} count {}", self.address, self.count)?;
        }
        Ok(())
    }
}

/// A repeated request and the seconds between its repetitions.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    pub op: OpKey,
    /// Absent until the request was seen twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Envelope>,
}

/// Point values by address: `{"5": {"min": 450, …}}`.
pub type Values = BTreeMap<u32, Envelope>;

/// Why a baseline file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {at}: {message}")]
    Invalid {
        path: String,
        at: String,
        message: String,
    },
}

impl Baseline {
    /// Read and check a baseline file; errors name the file, the place (`pairs[3].modbus…`
    /// or line and column) and the reason.
    pub fn load(path: &Path) -> Result<Baseline, LoadError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: p.clone(),
            source,
        })?;
        Baseline::parse(&text).map_err(|(at, message)| LoadError::Invalid {
            path: p,
            at,
            message,
        })
    }

    /// Parse and check; the error is (place, reason).
    pub fn parse(text: &str) -> Result<Baseline, (String, String)> {
        let mut de = serde_json::Deserializer::from_str(text);
        let b: Baseline = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let at = e.path().to_string();
            let inner = e.into_inner();
            (
                format!("{at} (line {}, column {})", inner.line(), inner.column()),
                strip_position(&inner.to_string()),
            )
        })?;
        b.validate()?;
        Ok(b)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        if self.format != FORMAT {
            return Err((
                "format".into(),
                format!("{:?} is not {FORMAT:?}", self.format),
            ));
        }
        if self.version != VERSION {
            return Err((
                "version".into(),
                format!(
                    "version {} is not one this sensor reads ({VERSION})",
                    self.version
                ),
            ));
        }
        let mut ips = std::collections::HashSet::new();
        for (i, a) in self.assets.iter().enumerate() {
            if !ips.insert(a.ip) {
                return Err((
                    format!("assets[{i}].ip"),
                    format!("{} is listed twice", a.ip),
                ));
            }
        }
        let mut pairs = std::collections::HashSet::new();
        for (i, p) in self.pairs.iter().enumerate() {
            if !pairs.insert((p.client, p.server)) {
                return Err((
                    format!("pairs[{i}]"),
                    format!("{} -> {} is listed twice", p.client, p.server),
                ));
            }
            let at = |field: &str| format!("pairs[{i}].{field}");
            if let Some(m) = &p.modbus {
                m.validate()
                    .map_err(|(f, e)| (at(&format!("modbus.{f}")), e))?;
            }
            if let Some(s) = &p.s7comm {
                s.validate()
                    .map_err(|(f, e)| (at(&format!("s7comm.{f}")), e))?;
            }
            if let Some(d) = &p.dnp3 {
                d.validate()
                    .map_err(|(f, e)| (at(&format!("dnp3.{f}")), e))?;
            }
            if let Some(d) = &p.iec104 {
                d.validate()
                    .map_err(|(f, e)| (at(&format!("iec104.{f}")), e))?;
            }
        }
        Ok(())
    }

    /// Write as pretty JSON, through a temporary file so a crash leaves the old one whole.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let tmp = path.with_extension("json.tmp");
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        serde_json::to_writer_pretty(&mut out, self).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}

/// serde_json appends " at line L column C"; the place is reported separately.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}
