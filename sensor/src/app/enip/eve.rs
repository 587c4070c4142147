//! The `enip` event: a request and its response, each with its encapsulation command,
//! session and status, and the CIP message it carries (service, class, instance, attribute,
//! general status), with the services of a Multiple Service Packet.

use decoders::enip::{command_name, Cip, Pdu, Segment};
use serde::ser::SerializeMap;
use serde::Serialize;

#[derive(Serialize)]
pub struct Body<'a> {
    pub enip: Enip<'a>,
}

#[derive(Serialize)]
pub struct Enip<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Message<'a>>,
}

pub struct Message<'a>(pub &'a Pdu<'a>);

struct CipLog<'a>(Cip<'a>);

impl Serialize for CipLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = &self.0;
        let mut m = s.serialize_map(None)?;
        if let Some(service) = c.service() {
            m.serialize_entry("service", &service)?;
        }
        for (key, t) in [
            ("class", Segment::CLASS),
            ("instance", Segment::INSTANCE),
            ("attribute", Segment::ATTRIBUTE),
        ] {
            if let Some(v) = c.path_value(t) {
                m.serialize_entry(key, &v)?;
            }
        }
        if let Some(status) = c.general_status() {
            m.serialize_entry("status", &status)?;
        }
        let bundled: Vec<CipLog<'_>> = c.bundled().map(CipLog).collect();
        if !bundled.is_empty() {
            m.serialize_entry("multiple", &bundled)?;
        }
        m.end()
    }
}

impl Serialize for Message<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        match command_name(p.command) {
            Some(name) => m.serialize_entry("command", name)?,
            None => m.serialize_entry("command", &p.command)?,
        }
        m.serialize_entry("session", &p.session)?;
        m.serialize_entry("status", &p.status)?;
        if let Some(c) = p.cip() {
            m.serialize_entry("cip", &CipLog(c))?;
        }
        m.end()
    }
}
