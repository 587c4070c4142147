//! The `enip` event, in the shape of Suricata 8's: a request and its response, each with its
//! encapsulation command and status by name, and the CIP message it carries — service by
//! name, request path segments, general status, the services of a Multiple Service Packet.

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

/// Common CIP services (CIP Vol. 1, Appendix A); class-specific ones by number.
fn service_name(s: u8) -> Option<&'static str> {
    Some(match s {
        0x01 => "get_attributes_all",
        0x02 => "set_attributes_all",
        0x03 => "get_attribute_list",
        0x04 => "set_attribute_list",
        0x05 => "reset",
        0x06 => "start",
        0x07 => "stop",
        0x08 => "create",
        0x09 => "delete",
        0x0a => "multiple_service_packet",
        0x0d => "apply_attributes",
        0x0e => "get_attribute_single",
        0x10 => "set_attribute_single",
        0x11 => "find_next_object_instance",
        0x15 => "restore",
        0x16 => "save",
        0x17 => "nop",
        0x18 => "get_member",
        0x19 => "set_member",
        0x1a => "insert_member",
        0x1b => "remove_member",
        0x1c => "group_sync",
        _ => return None,
    })
}

/// Encapsulation status codes (CIP Vol. 2, 2-3.3).
fn status_name(s: u32) -> Option<&'static str> {
    Some(match s {
        0x0000 => "success",
        0x0001 => "invalid_command",
        0x0002 => "no_resources",
        0x0003 => "incorrect_data",
        0x0064 => "invalid_session",
        0x0065 => "invalid_length",
        0x0069 => "unsupported_protocol",
        _ => return None,
    })
}

fn named<T: std::fmt::Display>(name: Option<&'static str>, raw: T) -> String {
    name.map_or_else(|| format!("unknown-{raw}"), str::to_owned)
}

struct Path<'a>(Cip<'a>);

impl Serialize for Path<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.segments().map(|seg| {
            let kind = match seg.logical_type {
                Segment::CLASS => "class",
                Segment::INSTANCE => "instance",
                Segment::ATTRIBUTE => "attribute",
                2 => "member",
                3 => "connection_point",
                _ => "logical",
            };
            serde_json::json!({ "segment_type": kind, "value": seg.value })
        }))
    }
}

struct CipLog<'a>(Cip<'a>);

impl Serialize for CipLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(None)?;
        if let Some(service) = c.service() {
            m.serialize_entry("service", &named(service_name(service), service))?;
        }
        if c.segments().next().is_some() {
            m.serialize_entry("path", &Path(c))?;
        }
        if let Some(status) = c.general_status() {
            let name = (status == 0).then_some("success");
            m.serialize_entry("status", &named(name, status))?;
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
        m.serialize_entry("command", &named(command_name(p.command), p.command))?;
        m.serialize_entry("status", &named(status_name(p.status), p.status))?;
        if let Some(c) = p.cip() {
            m.serialize_entry("cip", &CipLog(c))?;
        }
        m.end()
    }
}
