//! The `iec104` event: the way the APDU went, the APCI (format, sequence numbers or U function) and, for an I-frame,
//! the ASDU — type by id and mnemonic, cause of transmission with its P/N and test bits,
//! originator and common address — and each information object: its address, value, quality
//! flags, command qualifier, time tag. Written straight from the borrowed APDU, allocating
//! nothing.

use decoders::iec104::{cause_name, Apci, Apdu, Asdu, Element, Object, Time, Value};
use decoders::Direction;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

#[derive(Serialize)]
pub struct Body<'a> {
    pub iec104: Iec104<'a>,
}

/// An APDU and the way it went.
pub struct Iec104<'a>(pub &'a Apdu<'a>, pub Direction);

impl Serialize for Iec104<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let apdu = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("direction", crate::app::direction_name(self.1))?;
        m.serialize_entry("apci", &ApciLog(apdu.apci))?;
        if let Some(a) = apdu.asdu() {
            m.serialize_entry("asdu", &AsduLog(a))?;
        }
        m.end()
    }
}

struct ApciLog(Apci);

impl Serialize for ApciLog {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        match self.0 {
            Apci::I { send, recv } => {
                m.serialize_entry("format", "I")?;
                m.serialize_entry("send", &send)?;
                m.serialize_entry("recv", &recv)?;
            }
            Apci::S { recv } => {
                m.serialize_entry("format", "S")?;
                m.serialize_entry("recv", &recv)?;
            }
            Apci::U(f) => {
                m.serialize_entry("format", "U")?;
                m.serialize_entry("function", f.map_or("invalid", |f| f.name()))?;
            }
        }
        m.end()
    }
}

struct AsduLog<'a>(Asdu<'a>);

impl Serialize for AsduLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let cot = a.cot();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("type_id", &a.type_id())?;
        if let Some(t) = a.type_info() {
            m.serialize_entry("type", t.name)?;
        }
        m.serialize_entry("sq", &a.sequence())?;
        m.serialize_entry("count", &a.count())?;
        m.serialize_entry("cot", &cot.cause)?;
        if let Some(c) = cause_name(cot.cause) {
            m.serialize_entry("cause", c)?;
        }
        m.serialize_entry("negative", &cot.negative)?;
        m.serialize_entry("test", &cot.test)?;
        m.serialize_entry("originator", &cot.originator)?;
        m.serialize_entry("common_address", &a.common_address())?;
        if a.type_info().is_some() {
            m.serialize_entry("objects", &Objects(a))?;
        }
        m.end()
    }
}

struct Objects<'a>(Asdu<'a>);

impl Serialize for Objects<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for o in self.0.objects() {
            seq.serialize_element(&ObjectLog(o))?;
        }
        seq.end()
    }
}

struct ObjectLog<'a>(Object<'a>);

/// A double point's or double command's state (101, 7.2.6.2 and 7.2.6.16: a command's 0 and
/// 3 are not permitted); a regulating step command's (7.2.6.17).
fn double_state(ty: u8, d: u8) -> &'static str {
    match (ty, d) {
        (47 | 60, 1) => "lower",
        (47 | 60, 2) => "higher",
        (47 | 60, _) | (46 | 59, 0 | 3) => "not_permitted",
        (_, 0) => "intermediate",
        (_, 1) => "off",
        (_, 2) => "on",
        _ => "indeterminate",
    }
}

struct Flags(decoders::iec104::Quality);

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.names())
    }
}

/// A float as JSON allows: not-a-number and infinities have no JSON form.
fn finite<M: SerializeMap>(m: &mut M, key: &str, x: f64) -> Result<(), M::Error> {
    if x.is_finite() {
        m.serialize_entry(key, &x)
    } else {
        m.serialize_entry(key, &Option::<f64>::None)
    }
}

fn value<M: SerializeMap>(m: &mut M, e: &Element<'_>, v: Value) -> Result<(), M::Error> {
    match v {
        Value::Single(b) => m.serialize_entry("value", &b),
        Value::Double(d) => {
            m.serialize_entry("value", &d)?;
            m.serialize_entry("state", double_state(e.type_id(), d))
        }
        Value::Step { value, transient } => {
            m.serialize_entry("value", &value)?;
            m.serialize_entry("transient", &transient)
        }
        Value::Bits(b) => m.serialize_entry("value", &b),
        Value::Normalized(raw) => {
            finite(m, "value", v.number())?;
            m.serialize_entry("raw", &raw)
        }
        Value::Scaled(x) => m.serialize_entry("value", &x),
        Value::Float(x) => finite(m, "value", f64::from(x)),
        Value::Counter { value, sequence } => {
            m.serialize_entry("value", &value)?;
            m.serialize_entry("sequence", &sequence)
        }
    }
}

impl Serialize for ObjectLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0.element;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("ioa", &self.0.ioa)?;
        if let Some(v) = e.value() {
            value(&mut m, &e, v)?;
        }
        if let Some(q) = e.quality().filter(|q| !q.is_good()) {
            m.serialize_entry("quality", &Flags(q))?;
        }
        if let Some(c) = e.command() {
            m.serialize_entry("select", &c.select)?;
            m.serialize_entry("qualifier", &c.qualifier)?;
        }
        if let Some(q) = e.qualifier() {
            m.serialize_entry("qualifier", &q)?;
        }
        if let Some(ms) = e.elapsed() {
            m.serialize_entry("elapsed_ms", &ms)?;
        }
        if let Some(f) = e.file() {
            m.serialize_entry("file", &f.name)?;
            if let Some(n) = f.section {
                m.serialize_entry("section", &n)?;
            }
            if let Some(n) = f.length {
                m.serialize_entry("length", &n)?;
            }
        }
        match e.time() {
            Some(Time::Cp56(t)) => {
                m.serialize_entry("time", &format_args!("{t}"))?;
                if t.invalid {
                    m.serialize_entry("time_invalid", &true)?;
                }
            }
            Some(Time::Cp24 {
                ms,
                minute,
                invalid,
            }) => {
                let (sec, milli) = (ms / 1000, ms % 1000);
                m.serialize_entry("time", &format_args!("{minute:02}:{sec:02}.{milli:03}"))?;
                if invalid {
                    m.serialize_entry("time_invalid", &true)?;
                }
            }
            None => {}
        }
        m.end()
    }
}
