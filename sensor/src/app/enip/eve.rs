//! The `enip` event, in the shape of Suricata 8's: a request and its response, each with its
//! encapsulation command and status by name; what `RegisterSession`, `ListIdentity` and
//! `ListServices` say; and the CIP message it carries — service and class by name, request
//! path, general and extended status, the services of a Multiple Service Packet. icsight adds
//! a request's Logix tag name (`tag`), what a Forward Open asks for (`forward_open`) and the
//! request an Unconnected Send carries (`unconnected_send`).

use decoders::enip::cip::{self, class_name, extended_status_meaning, service_name};
use decoders::enip::identity::{device_type_name, vendor_name};
use decoders::enip::{command_name, status_name, Cip, Identity, Pdu, Segment};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

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

/// One encapsulation message; `class` is the class its request addressed, which names a
/// response's class-specific service.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    pub pdu: &'a Pdu<'a>,
    pub class: Option<u32>,
}

/// A name, or the number as text where there is none.
struct Named<T>(Option<&'static str>, T);

impl<T: std::fmt::Display> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(n) => s.serialize_str(n),
            None => s.collect_str(&self.1),
        }
    }
}

/// Device text as sent, printable ASCII kept.
struct Text<'a>(&'a [u8]);

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        for &b in self.0.iter().filter(|b| (0x20..0x7f).contains(*b)) {
            f.write_char(char::from(b))?;
        }
        Ok(())
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

struct Path<'a>(Cip<'a>);

#[derive(Serialize)]
struct SegmentLog {
    segment_type: &'static str,
    value: u32,
}

impl From<Segment> for SegmentLog {
    fn from(s: Segment) -> Self {
        SegmentLog {
            segment_type: s.name(),
            value: s.value,
        }
    }
}

impl Serialize for Path<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.segments().map(SegmentLog::from))
    }
}

/// A Logix tag's name: its symbolic segments joined by dots.
struct Tag<'a>(Cip<'a>);

impl std::fmt::Display for Tag<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, part) in self.0.symbols().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            Text(part).fmt(f)?;
        }
        Ok(())
    }
}

impl Serialize for Tag<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A connection path's target, after its route.
struct Target<'a>(&'a [u8]);

impl Serialize for Target<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(cip::connection_target(self.0).map(SegmentLog::from))
    }
}

struct ForwardOpenLog<'a>(cip::ForwardOpen<'a>);

impl Serialize for ForwardOpenLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("large", &f.large)?;
        m.serialize_entry("o_t_connection_id", &f.o_t_id)?;
        m.serialize_entry("t_o_connection_id", &f.t_o_id)?;
        m.serialize_entry("connection_serial", &f.serial)?;
        m.serialize_entry("vendor_id", &f.vendor_id)?;
        m.serialize_entry("originator_serial", &f.originator_serial)?;
        m.serialize_entry("o_t_rpi_us", &f.o_t_rpi)?;
        m.serialize_entry("t_o_rpi_us", &f.t_o_rpi)?;
        m.serialize_entry("transport", &f.transport)?;
        if cip::connection_target(f.path).next().is_some() {
            m.serialize_entry("target", &Target(f.path))?;
        }
        m.end()
    }
}

/// Levels of Multiple Service Packets and Unconnected Sends logged inside one another; what
/// nests deeper is left out (devices nest one or two; a hostile message, thousands).
const MAX_NESTING: u8 = 4;

/// A CIP message; a response's class-specific service is named by its request's `class`.
struct CipLog<'a> {
    cip: Cip<'a>,
    class: Option<u32>,
    /// How deep inside other messages this one sits.
    depth: u8,
}

impl Serialize for CipLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.cip;
        let class = match c.is_response() {
            true => self.class,
            false => c.path_value(Segment::CLASS),
        };
        let mut m = s.serialize_map(None)?;
        if let Some(service) = c.service() {
            m.serialize_entry("service", &Named(service_name(service, class), service))?;
        }
        if !c.is_response() {
            if let Some(k) = class {
                m.serialize_entry("class_name", &Named(class_name(k), k))?;
            }
            if c.segments().next().is_some() {
                m.serialize_entry("path", &Path(c))?;
            }
            if c.symbols().next().is_some() {
                m.serialize_entry("tag", &Tag(c))?;
            }
            if let Some(f) = c.forward_open() {
                m.serialize_entry("forward_open", &ForwardOpenLog(f))?;
            }
            if let Some(e) = c.unconnected_send().filter(|_| self.depth < MAX_NESTING) {
                let embedded = CipLog {
                    cip: e,
                    class: None,
                    depth: self.depth + 1,
                };
                m.serialize_entry("unconnected_send", &embedded)?;
            }
        }
        if let Some(status) = c.general_status() {
            m.serialize_entry("status", &Named(cip::status_name(status), status))?;
            if let Some(x) = c.extended_status() {
                m.serialize_entry("status_extended", &format_args!("{x:#06x}"))?;
                if let Some(meaning) = extended_status_meaning(status, x) {
                    m.serialize_entry("status_extended_meaning", meaning)?;
                }
            }
        }
        if c.bundled().next().is_some() && self.depth < MAX_NESTING {
            m.serialize_entry("multiple", &Bundled(c, self.depth + 1))?;
        }
        m.end()
    }
}

/// The services a Multiple Service Packet bundles, each logged at `depth`.
struct Bundled<'a>(Cip<'a>, u8);

impl Serialize for Bundled<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.bundled().map(|b| CipLog {
            cip: b,
            class: None,
            depth: self.1,
        }))
    }
}

struct IdentityLog<'a>(Identity<'a>);

impl Serialize for IdentityLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let i = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("protocol_version", &i.protocol_version)?;
        m.serialize_entry(
            "revision",
            &format_args!("{}.{}", i.revision.0, i.revision.1),
        )?;
        m.serialize_entry("vendor_id", &Named(vendor_name(i.vendor_id), i.vendor_id))?;
        m.serialize_entry(
            "device_type",
            &Named(device_type_name(i.device_type), i.device_type),
        )?;
        m.serialize_entry("product_code", &i.product_code)?;
        m.serialize_entry("status", &i.status)?;
        m.serialize_entry("serial", &i.serial)?;
        m.serialize_entry("product_name", &Text(i.product_name))?;
        m.serialize_entry("state", &i.state)?;
        m.end()
    }
}

#[derive(Serialize)]
struct ListServicesLog<'a> {
    protocol_version: u16,
    capabilities: u16,
    service_name: Text<'a>,
}

#[derive(Serialize)]
struct SessionLog {
    protocol_version: u16,
    options: u16,
}

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.pdu;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("command", &Named(command_name(p.command), p.command))?;
        m.serialize_entry("status", &Named(status_name(p.status), p.status))?;
        if let Some(r) = p.session() {
            let r = SessionLog {
                protocol_version: r.protocol_version,
                options: r.options,
            };
            m.serialize_entry("register_session", &r)?;
        }
        if let Some(i) = p.identity() {
            m.serialize_entry("identity", &IdentityLog(i))?;
        }
        if let Some(l) = p.list_service() {
            let ls = ListServicesLog {
                protocol_version: l.protocol_version,
                capabilities: l.capabilities,
                service_name: Text(l.name),
            };
            m.serialize_entry("list_services", &ls)?;
        }
        if let Some(c) = p.cip() {
            m.serialize_entry(
                "cip",
                &CipLog {
                    cip: c,
                    class: self.class,
                    depth: 0,
                },
            )?;
        }
        m.end()
    }
}
