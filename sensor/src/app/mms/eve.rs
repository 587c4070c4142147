//! The `mms` event: the way the TSDU went, its session SPDU and ACSE APDU, and the MMS PDU —
//! kind, invoke id, service, the objects it names (domain, item, IEC 61850 reference and
//! functional constraint), a name list's class and domain, data values, file names, the
//! server's identification, initiate parameters, errors. Written from the borrowed TSDU,
//! allocating nothing; lists stop at [`MAX_LISTED`] entries.

use decoders::mms::pdu::{error_class_name, Data, ObjectName};
use decoders::mms::{Kind, Message, Mms};
use decoders::Direction;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::app::text::{Hex, Text};

/// Entries written of one list.
pub const MAX_LISTED: usize = 64;

#[derive(Serialize)]
pub struct Body<'a> {
    pub mms: MmsLog<'a>,
}

/// A TSDU and the way it went.
pub struct MmsLog<'a>(pub &'a Message<'a>, pub Direction);

impl Serialize for MmsLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("direction", crate::app::direction_name(self.1))?;
        map.serialize_entry("session", m.upper.spdu.name())?;
        if let Some(a) = m.upper.acse {
            map.serialize_entry("acse", a.name())?;
        }
        if let Some(p) = &m.mms {
            pdu(&mut map, p)?;
        }
        map.end()
    }
}

fn pdu<M: SerializeMap>(map: &mut M, p: &Mms<'_>) -> Result<(), M::Error> {
    map.serialize_entry("pdu", p.kind.name())?;
    if let Some(id) = p.invoke_id() {
        map.serialize_entry("invoke_id", &id)?;
    }
    if let Some(tag) = p.service() {
        map.serialize_entry("service_tag", &tag)?;
        if let Some(n) = p.service_name() {
            map.serialize_entry("service", n)?;
        }
    }
    if p.object_names().next().is_some() {
        map.serialize_entry("objects", &Objects(p))?;
    }
    if let Some((class, domain)) = p.name_list() {
        map.serialize_entry("object_class", object_class_name(class))?;
        if let Some(d) = domain {
            map.serialize_entry("domain", &Text(d))?;
        }
    }
    if p.values().next().is_some() {
        map.serialize_entry("values", &Values(p))?;
    }
    if p.file_names().next().is_some() {
        map.serialize_entry("files", &Files(p))?;
    }
    if let Some((vendor, model, revision)) = p.identify() {
        map.serialize_entry("vendor", &Text(vendor))?;
        map.serialize_entry("model", &Text(model))?;
        map.serialize_entry("revision", &Text(revision))?;
    }
    if let Some((size, version)) = p.initiate() {
        if let Some(n) = size {
            map.serialize_entry("max_pdu_size", &n)?;
        }
        if let Some(v) = version {
            map.serialize_entry("version", &v)?;
        }
    }
    if let Some((class, code)) = p.error() {
        map.serialize_entry("error_class", error_class_name(class).unwrap_or("unknown"))?;
        map.serialize_entry("error_code", &code)?;
    }
    if let Some((problem, code)) = p.reject() {
        map.serialize_entry("reject_type", &problem)?;
        map.serialize_entry("reject_code", &code)?;
    }
    if p.kind == Kind::ConfirmedRequest && p.service().is_some_and(decoders::mms::pdu::is_modifying)
    {
        map.serialize_entry("modifies", &true)?;
    }
    Ok(())
}

/// A getNameList's basic object class.
fn object_class_name(class: u32) -> &'static str {
    match class {
        0 => "named_variable",
        1 => "scattered_access",
        2 => "named_variable_list",
        3 => "named_type",
        4 => "semaphore",
        5 => "event_condition",
        6 => "event_action",
        7 => "event_enrollment",
        8 => "journal",
        9 => "domain",
        10 => "program_invocation",
        11 => "operator_station",
        _ => "other",
    }
}

struct Objects<'a>(&'a Mms<'a>);

impl Serialize for Objects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.object_names().take(MAX_LISTED).map(Object))
    }
}

struct Object<'a>(ObjectName<'a>);

impl Serialize for Object<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.0;
        let mut m = s.serialize_map(None)?;
        let scope = match n {
            ObjectName::Vmd(_) => "vmd",
            ObjectName::Domain { .. } => "domain",
            ObjectName::Association(_) => "association",
        };
        m.serialize_entry("scope", scope)?;
        if let Some(d) = n.domain() {
            m.serialize_entry("domain", &Text(d))?;
        }
        m.serialize_entry("item", &Text(n.item()))?;
        if let Some(fc) = n.functional_constraint() {
            m.serialize_entry("fc", &Text(fc))?;
        }
        m.end()
    }
}

struct Values<'a>(&'a Mms<'a>);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.values().take(MAX_LISTED).map(Value))
    }
}

/// One Data value: its type, and its value (a structure's or array's element count).
pub struct Value<'a>(pub Data<'a>);

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type", self.0.type_name())?;
        match self.0 {
            Data::Bool(b) => m.serialize_entry("value", &b)?,
            Data::Int(n) => m.serialize_entry("value", &n)?,
            Data::UInt(n) => m.serialize_entry("value", &n)?,
            Data::Float(x) if x.is_finite() => m.serialize_entry("value", &x)?,
            Data::Float(_) => m.serialize_entry("value", &Option::<f64>::None)?,
            Data::VisibleString(t) => m.serialize_entry("value", &Text(t))?,
            Data::OctetString(b) | Data::BitString(b) => {
                m.serialize_entry("value", &Hex(b))?;
            }
            Data::UtcTime {
                seconds,
                fraction,
                quality,
            } => {
                m.serialize_entry("value", &seconds)?;
                m.serialize_entry("fraction", &fraction)?;
                m.serialize_entry("quality", &quality)?;
            }
            Data::Structure(n) | Data::Array(n) => m.serialize_entry("elements", &n)?,
            Data::Other(tag) => m.serialize_entry("tag", &tag)?,
        }
        m.end()
    }
}

struct Files<'a>(&'a Mms<'a>);

impl Serialize for Files<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.file_names().map(Text))
    }
}
