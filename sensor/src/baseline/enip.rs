//! What an EtherNet/IP pair's baseline holds: the CIP services the client asks for, by class
//! (bundled and embedded requests included), the Logix tags it reads and writes with the
//! envelope of the values written, and the targets its Forward Opens name. A device's
//! `ListIdentity` reply gives its identity: vendor, product name, revision, serial number.

use decoders::enip::cip::{self, connection_target, service_name, CONNECTION_MANAGER};
use decoders::enip::identity::vendor_name;
use decoders::enip::{Cip, Pdu, Segment};
use serde::{Deserialize, Serialize};

use super::anomaly::{Finding, Kind};
use super::judge::{detail, fact_key, Judge, Request};
use super::model::{Activity, Identity, OpKey, Protocol, Values};

/// Tags kept per pair; a controller has thousands, a pair uses tens.
const MAX_TAGS: usize = 256;
/// Forward Open targets kept per pair.
const MAX_TARGETS: usize = 32;
/// Services (by class) kept per pair: the classes a client uses are few.
const MAX_SERVICES: usize = 256;
/// The largest class a service key keeps apart: 16-bit class ids; 32-bit ones share the top.
const MAX_CLASS: u32 = 0x00ff_ffff;
/// Requests read from one message: itself, what it bundles and embeds.
const MAX_REQUESTS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Facts {
    /// `class * 256 + service` of every request (class 0 where the path names none, as a
    /// tag service's).
    pub services: Vec<u32>,
    /// Tags by name, in the order first seen; `values` is keyed by their place here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Envelopes of the values written to tags, by the tag's place in `tags`.
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub values: Values,
    /// Forward Open targets: the connection path's logical segments, as `class 2 instance 1`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub name: String,
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
}

impl Facts {
    pub fn points(&self) -> usize {
        self.values.len()
    }
}

/// What a service does.
pub fn activity(class: u32, service: u8) -> Activity {
    match (class, service) {
        (0xa1, _) => Activity::Program,
        (1, 0x01 | 0x0e | 0x03) => Activity::Identify,
        (_, 0x01 | 0x03 | 0x0e | 0x4c | 0x52) => Activity::Read,
        (_, 0x02 | 0x04 | 0x10 | 0x4d | 0x4e | 0x53) if class != CONNECTION_MANAGER => {
            Activity::Write
        }
        (_, 0x05..=0x07) => Activity::Control,
        (_, 0x08 | 0x09 | 0x15 | 0x16) => Activity::Program,
        _ => Activity::Other,
    }
}

/// Whether `name` is the tag `c`'s symbolic segments spell, read as [`tag_name`] writes them
/// (parts joined by dots, bytes that are not UTF-8 replaced), without building the string.
fn is_tag(name: &str, c: &Cip<'_>) -> bool {
    let mut chars = name.chars();
    for (i, part) in c.symbols().enumerate() {
        if i > 0 && chars.next() != Some('.') {
            return false;
        }
        if !String::from_utf8_lossy(part)
            .chars()
            .all(|ch| chars.next() == Some(ch))
        {
            return false;
        }
    }
    chars.next().is_none()
}

fn tag_name(c: &Cip<'_>) -> String {
    let parts: Vec<String> = c
        .symbols()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    parts.join(".")
}

/// The first value a Write Tag request carries: its CIP data type, the element count and (a
/// Write Tag Fragmented's) the byte offset, then the data. A fragment past the first holds no
/// first element.
fn written_value(c: &Cip<'_>) -> Option<f64> {
    let d = c.request_data()?;
    let ty = u16::from_le_bytes(d.get(..2)?.try_into().ok()?);
    let v = match c.service()? {
        0x53 if d.get(4..8)? != [0, 0, 0, 0] => return None,
        0x53 => d.get(8..)?,
        _ => d.get(4..)?,
    };
    let int = |n: usize| -> Option<[u8; 8]> {
        let mut b = [0; 8];
        b[..n].copy_from_slice(v.get(..n)?);
        Some(b)
    };
    Some(match ty {
        0xc1 | 0xc6 => f64::from(*v.first()?),
        0xc2 => f64::from(*v.first()? as i8),
        0xc3 => f64::from(i16::from_le_bytes(v.get(..2)?.try_into().ok()?)),
        0xc7 => f64::from(u16::from_le_bytes(v.get(..2)?.try_into().ok()?)),
        0xc4 => f64::from(i32::from_le_bytes(v.get(..4)?.try_into().ok()?)),
        0xc8 => f64::from(u32::from_le_bytes(v.get(..4)?.try_into().ok()?)),
        0xca => f64::from(f32::from_le_bytes(v.get(..4)?.try_into().ok()?)),
        0xcb => f64::from_le_bytes(int(8)?),
        _ => return None,
    })
}

/// A Forward Open's connection path as a fact: its route (`port 1 link 3`, each port segment)
/// then its target's logical segments (`class 2 instance 1`).
fn target(path: &[u8]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = path;
    while let Some(&k) = rest.first() {
        if k >> 5 != 0 {
            break;
        }
        let port = k & 0x0f;
        let (link, len) = if k & 0x10 != 0 {
            let n = usize::from(rest.get(1).copied().unwrap_or(0));
            let a = rest.get(2..2 + n).unwrap_or_default();
            (String::from_utf8_lossy(a).into_owned(), 2 + n + (n & 1))
        } else {
            (rest.get(1).map_or_else(String::new, u8::to_string), 2)
        };
        parts.push(format!("port {port} link {link}"));
        rest = rest.get(len..).unwrap_or_default();
    }
    for s in connection_target(path) {
        parts.push(format!("{} {}", s.name(), s.value));
    }
    parts.join(" ")
}

/// A device's `ListIdentity` reply: who it is. `true` when the identity changed.
fn identify(identity: &mut Identity, pdu: &Pdu<'_>) -> bool {
    let Some(i) = pdu.identity() else {
        return false;
    };
    let vendor = match vendor_name(i.vendor_id) {
        Some(v) => v.to_owned(),
        None => format!("vendor {}", i.vendor_id),
    };
    let revision = format!("{}.{}", i.revision.0, i.revision.1);
    let serial = format!("{:08X}", i.serial);
    let mut changed = Identity::set(&mut identity.vendor, vendor.as_bytes());
    changed |= Identity::set(&mut identity.product, i.product_name);
    changed |= Identity::set(&mut identity.firmware, revision.as_bytes());
    changed |= Identity::set(&mut identity.serial, serial.as_bytes());
    changed
}

/// Learn or check one encapsulation message: a device's identity reply, or a CIP request
/// (replies teach nothing more; their services are their requests'). The identity is the
/// device's. Returns the request made, if any, and whether the identity changed.
pub fn observe(
    facts: &mut Facts,
    identity: &mut Identity,
    pdu: &Pdu<'_>,
    j: &mut Judge<'_>,
) -> (Option<Request>, bool) {
    if pdu.identity().is_some() {
        return (None, identify(identity, pdu));
    }
    let Some(top) = pdu.cip().filter(|c| !c.is_response()) else {
        return (None, false);
    };
    j.from_server = false;
    let mut first = None;
    let requests = top.carried().take(MAX_REQUESTS);
    for c in requests {
        let (Some(service), false) = (c.service(), c.is_response()) else {
            continue;
        };
        let class = c.path_value(Segment::CLASS).unwrap_or(0);
        let key = class.min(MAX_CLASS) << 8 | u32::from(service);
        let act = activity(class, service);
        first.get_or_insert((key, act, service));
        if facts.services.len() >= MAX_SERVICES && facts.services.binary_search(&key).is_err() {
            j.dropped.operations += 1;
            continue;
        }
        j.function(&mut facts.services, key, act, "enip.service", || {
            let name = service_name(service, Some(class))
                .map_or_else(|| format!("service {service:#04x}"), str::to_owned);
            let class_name =
                cip::class_name(class).map_or_else(|| format!("class {class:#x}"), str::to_owned);
            format!("CIP {name} on {class_name} not learned for this pair")
        });
        if c.symbols().next().is_some() {
            let write = matches!(service, 0x4d | 0x4e | 0x53);
            tag(facts, &c, write, j);
        }
        if let Some(f) = c.forward_open() {
            let t = target(f.path);
            if !facts.targets.contains(&t) {
                // Where a connection goes is a fact of its own, even when the Forward Open
                // itself was just reported as new.
                let fresh = std::mem::replace(&mut j.fresh_function, false);
                j.report(|| {
                    Finding::new(
                        Kind::NewFunction,
                        "enip.forward_open_target",
                        detail(&[fact_key(&t)]),
                        format!("Forward Open to {t} not learned for this pair"),
                    )
                    .values(t.clone(), &facts.targets)
                });
                j.fresh_function = fresh;
                if facts.targets.len() < MAX_TARGETS {
                    facts.targets.push(t);
                }
            }
        }
    }
    let request = first.map(|(key, activity, service)| Request {
        function: u16::from(service),
        activity,
        op: OpKey {
            object: (key >> 8) as u16,
            ..OpKey::new(Protocol::Enip, u16::from(service))
        },
    });
    (request, false)
}

/// A tag read or written: learned, reported when new, its written value enveloped.
fn tag(facts: &mut Facts, c: &Cip<'_>, write: bool, j: &mut Judge<'_>) {
    let (i, new) = match facts.tags.iter().position(|t| is_tag(&t.name, c)) {
        Some(i) => (i, false),
        None => {
            let name = tag_name(c);
            j.report(|| {
                let learned: Vec<&str> = facts.tags.iter().map(|t| t.name.as_str()).collect();
                Finding::new(
                    Kind::AddressOutsideRange,
                    "enip.tag",
                    detail(&[fact_key(&name)]),
                    format!(
                        "tag {name} {} not learned for this pair",
                        if write { "written" } else { "read" }
                    ),
                )
                .values(name.clone(), learned)
            });
            if facts.tags.len() >= MAX_TAGS {
                j.dropped.points += 1;
                return;
            }
            facts.tags.push(Tag {
                name,
                read: false,
                write: false,
            });
            (facts.tags.len() - 1, true)
        }
    };
    let t = &mut facts.tags[i];
    if write && !t.write {
        t.write = true;
        if !new {
            let name = t.name.clone();
            j.report(|| {
                Finding::new(
                    Kind::AddressOutsideRange,
                    "enip.tag_write",
                    detail(&[fact_key(&name)]),
                    format!("tag {name} written, where it was only read before"),
                )
                .values(name.clone(), "read")
            });
        }
    }
    t.read |= !write;
    if let (true, Some(v)) = (write, written_value(c)) {
        let (tags, values) = (&facts.tags, &mut facts.values);
        let name = &tags[i].name;
        let d = detail(&[fact_key(name)]);
        j.value(values, i as u32, v, "enip.value", d, || {
            format!("tag {name} written {v} outside the learned envelope")
        });
    }
}
