//! The `dnp3` EVE event: Suricata 7's layout, serialized straight from the borrowed fragment.

use decoders::dnp3::application::{AppControl, Iin, Kind};
use decoders::dnp3::link::{LinkControl, LinkHeader};
use decoders::dnp3::object::{Object, Objects, Point, Value};
use decoders::dnp3::{Fragment, Limits};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

#[derive(Serialize)]
pub struct Body<'a> {
    dnp3: Dnp3<'a>,
}

impl<'a> Body<'a> {
    /// The block an alert carries: Suricata nests the fragment under `request` or `response`.
    pub fn for_alert(&self) -> AlertBody<'_, 'a> {
        let side = if self.dnp3.kind == "request" {
            Side::Request(&self.dnp3)
        } else {
            Side::Response(&self.dnp3)
        };
        AlertBody { dnp3: side }
    }
}

#[derive(Serialize)]
pub struct AlertBody<'b, 'a> {
    dnp3: Side<'b, 'a>,
}

#[derive(Serialize)]
enum Side<'b, 'a> {
    #[serde(rename = "request")]
    Request(&'b Dnp3<'a>),
    #[serde(rename = "response")]
    Response(&'b Dnp3<'a>),
}

#[derive(Serialize)]
struct Dnp3<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    control: LinkControlJson,
    src: u16,
    dst: u16,
    application: Application<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iin: Option<IinJson>,
}

#[derive(Serialize)]
struct LinkControlJson {
    dir: bool,
    pri: bool,
    fcb: bool,
    fcv: bool,
    function_code: u8,
}

#[derive(Serialize)]
struct Application<'a> {
    control: AppControlJson,
    function_code: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    objects: Option<ObjectsJson<'a>>,
    complete: bool,
}

#[derive(Serialize)]
struct AppControlJson {
    fir: bool,
    fin: bool,
    con: bool,
    uns: bool,
    sequence: u8,
}

#[derive(Serialize)]
struct IinJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    indicators: Option<Indicators>,
}

struct Indicators(Iin);

impl Serialize for Indicators {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.indicators())
    }
}

struct ObjectsJson<'a>(Objects<'a>);

impl Serialize for ObjectsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.clone().map(ObjectJson))
    }
}

struct ObjectJson<'a>(Object<'a>);

impl Serialize for ObjectJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let o = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("group", &o.group)?;
        m.serialize_entry("variation", &o.variation)?;
        m.serialize_entry("qualifier", &o.qualifier)?;
        m.serialize_entry("prefix_code", &o.prefix_code())?;
        m.serialize_entry("range_code", &o.range_code())?;
        m.serialize_entry("start", &o.start)?;
        m.serialize_entry("stop", &o.stop)?;
        m.serialize_entry("count", &o.count)?;
        if o.points().next().is_some() {
            m.serialize_entry("points", &PointsJson(o))?;
        }
        m.end()
    }
}

struct PointsJson<'a, 'b>(&'b Object<'a>);

impl Serialize for PointsJson<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.points().map(PointJson))
    }
}

struct PointJson<'a>(Point<'a>);

impl Serialize for PointJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("prefix", &p.prefix)?;
        m.serialize_entry("index", &p.index)?;
        if let Some(size) = p.size {
            m.serialize_entry("size", &size)?;
        }
        for (name, value) in p.fields() {
            m.serialize_entry(name, &ValueJson(value))?;
        }
        m.end()
    }
}

struct ValueJson<'a>(Value<'a>);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Uint(v) => s.serialize_u64(v),
            Value::Int(v) => s.serialize_i64(v),
            Value::Float(v) => s.serialize_f64(v),
            // Names and text: valid UTF-8 is borrowed, anything else replaced.
            Value::Bytes(b) => s.serialize_str(&String::from_utf8_lossy(b)),
        }
    }
}

impl<'a> Body<'a> {
    pub fn new(link: &LinkHeader, fragment: &Fragment<'a>, limits: Limits, complete: bool) -> Self {
        let lc = LinkControl(link.control);
        let ac: AppControl = fragment.control();
        let objects = fragment.objects(limits);
        let has_objects = objects.clone().next().is_some();
        let kind = fragment.kind();
        Body {
            dnp3: Dnp3 {
                kind: kind.name(),
                control: LinkControlJson {
                    dir: lc.dir(),
                    pri: lc.pri(),
                    fcb: lc.fcb(),
                    fcv: lc.fcv(),
                    function_code: lc.function(),
                },
                src: link.source,
                dst: link.destination,
                application: Application {
                    control: AppControlJson {
                        fir: ac.fir(),
                        fin: ac.fin(),
                        con: ac.con(),
                        uns: ac.uns(),
                        sequence: ac.sequence(),
                    },
                    function_code: fragment.function(),
                    objects: has_objects.then_some(ObjectsJson(objects)),
                    complete,
                },
                iin: (kind != Kind::Request).then(|| IinJson {
                    indicators: fragment.iin().filter(|i| i.0 != 0).map(Indicators),
                }),
            },
        }
    }
}
