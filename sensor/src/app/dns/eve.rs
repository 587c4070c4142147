//! The `dns` event in Suricata 8's layout (version 3): one event per message, the questions,
//! the records of each section with their data, and the answers grouped by type.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use decoders::dns::{rcode_name, rrtype_name, Message, Record, Section};
use serde::ser::SerializeMap;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Serialize)]
pub struct Body<'a> {
    pub dns: Dns<'a>,
}

pub struct Dns<'a> {
    m: &'a Message<'a>,
    tx_id: u64,
}

impl<'a> Dns<'a> {
    pub fn new(m: &'a Message<'a>, tx_id: u64) -> Self {
        Dns { m, tx_id }
    }
}

/// A record type as Suricata names it, else its number.
fn rrtype(t: u16) -> String {
    rrtype_name(t).map_or_else(|| t.to_string(), str::to_owned)
}

/// A record's data as text, where Suricata writes it as text: one string for most types, one
/// per character-string of a TXT record (Suricata logs each as an answer of its own).
fn rdata(r: &Record<'_>) -> Vec<String> {
    let d = r.rdata;
    let one = match r.rrtype {
        1 => <[u8; 4]>::try_from(d)
            .ok()
            .map(|a| Ipv4Addr::from(a).to_string()),
        28 => <[u8; 16]>::try_from(d)
            .ok()
            .map(|a| Ipv6Addr::from(a).to_string()),
        2 | 5 | 12 | 15 | 39 => r.data_name().map(|n| n.to_string()),
        16 => {
            let mut out = Vec::new();
            let mut at = 0;
            while let Some(&len) = d.get(at) {
                let Some(s) = d.get(at + 1..at + 1 + usize::from(len)) else {
                    break;
                };
                out.push(String::from_utf8_lossy(s).into_owned());
                at += 1 + usize::from(len);
            }
            return out;
        }
        _ => None,
    };
    one.into_iter().collect()
}

/// Bytes of a name's encoding at the start of `d` (labels up to a zero or a pointer).
fn encoded_len(d: &[u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        match *d.get(at)? {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}

/// The structured data Suricata writes instead of `rdata`: `srv` and `soa`.
fn structured(r: &Record<'_>) -> Option<(&'static str, Value)> {
    let d = r.rdata;
    let u16_at = |i: usize| d.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match r.rrtype {
        33 => Some((
            "srv",
            json!({
                "priority": u16_at(0)?,
                "weight": u16_at(2)?,
                "port": u16_at(4)?,
                "name": r.data_name()?.to_string(),
            }),
        )),
        6 => {
            let first = encoded_len(d)?;
            let second = first + encoded_len(d.get(first..)?)?;
            let n = |i: usize| {
                d.get(second + i..second + i + 4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            };
            Some((
                "soa",
                json!({
                    "mname": r.data_name()?.to_string(),
                    "rname": r.name_in_data(first)?.to_string(),
                    "serial": n(0)?,
                    "refresh": n(4)?,
                    "retry": n(8)?,
                    "expire": n(12)?,
                    "minimum": n(16)?,
                }),
            ))
        }
        _ => None,
    }
}

struct Questions<'a>(&'a Message<'a>);

impl Serialize for Questions<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.questions().map(|q| {
            json!({
                "rrname": q.name.to_string(),
                "rrtype": rrtype(q.rrtype),
            })
        }))
    }
}

struct Records<'a>(&'a Message<'a>, Section);

impl Serialize for Records<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.records(self.1).flat_map(|r| {
            let base = json!({
                "rrname": r.name.to_string(),
                "rrtype": rrtype(r.rrtype),
                "ttl": r.ttl,
            });
            let mut entries = Vec::new();
            if let Some((key, v)) = structured(&r) {
                let mut o = base.clone();
                o[key] = v;
                entries.push(o);
            }
            for d in rdata(&r) {
                let mut o = base.clone();
                o["rdata"] = d.into();
                entries.push(o);
            }
            if entries.is_empty() {
                entries.push(base);
            }
            entries
        }))
    }
}

impl Serialize for Dns<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.m;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("version", &3)?;
        let response = m.is_response();
        map.serialize_entry("type", if response { "response" } else { "request" })?;
        map.serialize_entry("tx_id", &self.tx_id)?;
        map.serialize_entry("id", &m.id())?;
        map.serialize_entry("flags", &format!("{:x}", m.flags()))?;
        for (mask, name) in [
            (0x8000, "qr"),
            (0x0400, "aa"),
            (0x0200, "tc"),
            (0x0100, "rd"),
            (0x0080, "ra"),
            (0x0040, "z"),
        ] {
            if m.flag(mask) {
                map.serialize_entry(name, &true)?;
            }
        }
        map.serialize_entry("opcode", &m.opcode())?;
        if response {
            let rcode = rcode_name(m.rcode()).map_or_else(|| m.rcode().to_string(), str::to_owned);
            map.serialize_entry("rcode", &rcode)?;
        }
        if m.questions().next().is_some() {
            map.serialize_entry("queries", &Questions(m))?;
        }
        for (section, name) in [
            (Section::Answer, "answers"),
            (Section::Authority, "authorities"),
            (Section::Additional, "additionals"),
        ] {
            if m.records(section).next().is_some() {
                map.serialize_entry(name, &Records(m, section))?;
            }
        }
        let mut grouped: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for r in m.records(Section::Answer) {
            if let Some((_, v)) = structured(&r) {
                grouped.entry(rrtype(r.rrtype)).or_default().push(v);
            }
            for d in rdata(&r) {
                grouped.entry(rrtype(r.rrtype)).or_default().push(d.into());
            }
        }
        if !grouped.is_empty() {
            map.serialize_entry("grouped", &grouped)?;
        }
        map.end()
    }
}
