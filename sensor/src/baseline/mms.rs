//! What an MMS pair's baseline holds: the confirmed services the client asks for, the objects
//! (IEC 61850 `LD/LN$FC$DO$DA` references) it reads and writes, the functional constraints it
//! writes (`CO` operates an output, `SP`/`SE`/`SG` change settings, `CF` configuration), the
//! files it names, the envelope of the values it writes, and the envelope of the values the
//! server answers its reads with (measured values). A server's identify response gives its
//! identity: vendor, model, revision.
//!
//! A read response carries values without names: the request's objects, held by invoke id
//! until the response (a few per pair), name them.

use decoders::mms::pdu::{is_modifying, service_name};
use decoders::mms::{Kind as PduKind, Message, Mms, ObjectName};
use serde::{Deserialize, Serialize};

use super::anomaly::{Finding, Kind};
use super::judge::{detail, fact_key, Judge, Request};
use super::model::{Activity, Identity, OpKey, Protocol, Values};

/// Objects kept per pair; an IED has thousands, a client uses tens.
const MAX_OBJECTS: usize = 256;
/// File names kept per pair.
const MAX_FILES: usize = 32;
/// Functional constraints written, kept per pair (IEC 61850 has 14).
const MAX_FCS: usize = 16;
/// Objects read from one request.
const MAX_OBJECTS_PER_REQUEST: usize = 64;
/// Objects of a read held until its response.
const MAX_READ_OBJECTS: usize = 16;
/// Reads awaiting their response, per pair.
const MAX_PENDING: usize = 4;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Facts {
    /// Tags of the confirmed services the client requests.
    pub services: Vec<u16>,
    /// Objects by reference (`LD/item`; a VMD-specific name alone, an association-specific
    /// one after `@`), in the order first seen; `values` is keyed by their place here.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Object>,
    /// Functional constraints of the objects written (`CO`, `SP`, `RP` …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub written: Vec<String>,
    /// Files opened, listed, renamed or deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Envelopes of the values written to objects and read from them, by the object's place
    /// in `objects`.
    #[serde(skip_serializing_if = "Values::is_empty")]
    pub values: Values,
    /// Reads awaiting their response; not kept in the baseline.
    #[serde(skip)]
    pending: Pending,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    pub id: String,
    /// Read, or asked about (attributes, variable lists).
    #[serde(default)]
    pub read: bool,
    #[serde(default)]
    pub write: bool,
}

/// A read request's invoke id and the places of the objects it names, in order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Read {
    invoke: u32,
    objects: [u16; MAX_READ_OBJECTS],
    len: u8,
}

/// The last reads of a pair, oldest overwritten first.
#[derive(Debug, Clone, Default, PartialEq)]
struct Pending {
    reads: [Option<Read>; MAX_PENDING],
    next: usize,
}

impl Pending {
    fn push(&mut self, r: Read) {
        self.reads[self.next] = Some(r);
        self.next = (self.next + 1) % MAX_PENDING;
    }

    fn take(&mut self, invoke: u32) -> Option<Read> {
        self.reads
            .iter_mut()
            .find(|r| r.is_some_and(|r| r.invoke == invoke))?
            .take()
    }
}

impl Facts {
    pub fn points(&self) -> usize {
        self.values.len()
    }
}

/// What a confirmed service does.
pub fn activity(service: u32) -> Activity {
    match service {
        // status, getNameList, identify, getVariableAccessAttributes, getScatteredAccess-
        // Attributes, getNamedVariableListAttributes, getNamedTypeAttributes,
        // getDomainAttributes, getProgramInvocationAttributes, getCapabilityList
        0..=2 | 6 | 9 | 12 | 15 | 37 | 45 | 71 => Activity::Identify,
        // read, input, readJournal, fileOpen, fileRead, fileClose, fileDirectory
        4 | 17 | 65 | 72..=74 | 77 => Activity::Read,
        // output, take control; create, delete, start, stop, resume, reset, kill a program
        // invocation
        18 | 19 | 38..=44 => Activity::Control,
        // rename; domain download, upload, load, store, delete; obtainFile, fileRename,
        // fileDelete
        3 | 26..=36 | 46 | 75 | 76 => Activity::Program,
        s if is_modifying(s) => Activity::Write,
        _ => Activity::Other,
    }
}

/// What writing an object of a functional constraint does: `CO` operates, `SP`, `SE`, `SG`
/// and `CF` change settings and configuration; the rest (report and log control blocks,
/// substituted values) write.
fn write_activity(fc: &[u8]) -> Activity {
    match fc {
        b"CO" => Activity::Control,
        b"SP" | b"SE" | b"SG" | b"CF" => Activity::Program,
        _ => Activity::Write,
    }
}

fn kind_of(activity: Activity) -> Kind {
    match activity {
        Activity::Control => Kind::PlcControl,
        Activity::Program => Kind::Programming,
        _ => Kind::NewFunction,
    }
}

/// Learn or check one MMS PDU. The identity is the server's. Returns the request made, if
/// any, and whether the identity changed.
pub fn observe(
    facts: &mut Facts,
    identity: &mut Identity,
    m: &Message<'_>,
    j: &mut Judge<'_>,
) -> (Option<Request>, bool) {
    let Some(pdu) = m.mms else {
        return (None, false);
    };
    match pdu.kind {
        PduKind::ConfirmedRequest => {}
        PduKind::ConfirmedResponse => {
            if let Some((vendor, model, revision)) = pdu.identify() {
                let mut changed = Identity::set(&mut identity.vendor, vendor);
                changed |= Identity::set(&mut identity.model, model);
                changed |= Identity::set(&mut identity.firmware, revision);
                return (None, changed);
            }
            read_response(facts, &pdu, j);
            return (None, false);
        }
        _ => return (None, false),
    }
    let Some(service) = pdu.service() else {
        return (None, false);
    };
    j.from_server = false;
    // A write is as grave as the gravest functional constraint it writes.
    let act = match service {
        5 => pdu
            .object_names()
            .filter_map(|n| n.functional_constraint())
            .map(write_activity)
            .min_by_key(|a| match a {
                Activity::Control => 0,
                Activity::Program => 1,
                _ => 2,
            })
            .unwrap_or(Activity::Write),
        s => activity(s),
    };
    let code = u16::try_from(service).unwrap_or(u16::MAX);
    j.function(&mut facts.services, code, act, "mms.service", || {
        let name = service_name(service).unwrap_or("unknown");
        format!("MMS {name} not learned for this pair")
    });
    match service {
        5 => write(facts, &pdu, j),
        4 => read(facts, &pdu, j),
        _ => {
            for n in pdu.object_names().take(MAX_OBJECTS_PER_REQUEST) {
                object(facts, n, false, j);
            }
        }
    }
    for f in pdu.file_names() {
        let name = String::from_utf8_lossy(f);
        j.name(
            &mut facts.files,
            &name,
            MAX_FILES,
            if is_modifying(service) {
                Kind::Programming
            } else {
                Kind::AddressOutsideRange
            },
            "mms.file",
            || {
                let verb = service_name(service).unwrap_or("unknown");
                format!("MMS {verb} of file {name}, not learned for this pair")
            },
        );
    }
    let request = Request {
        function: code,
        activity: act,
        op: OpKey::new(Protocol::Mms, code),
    };
    (Some(request), false)
}

fn read(facts: &mut Facts, pdu: &Mms<'_>, j: &mut Judge<'_>) {
    let invoke = pdu.invoke_id();
    let mut r = Read {
        invoke: invoke.unwrap_or(u32::MAX),
        ..Read::default()
    };
    let mut all = true;
    for n in pdu.object_names().take(MAX_OBJECTS_PER_REQUEST) {
        match object(facts, n, false, j) {
            Some(i) if usize::from(r.len) < MAX_READ_OBJECTS => {
                r.objects[usize::from(r.len)] = u16::try_from(i).unwrap_or(u16::MAX);
                r.len += 1;
            }
            _ => all = false,
        }
    }
    if all && r.len > 0 && invoke.is_some() {
        facts.pending.push(r);
    }
}

/// A read response's values, enveloped under the objects its request named, when there are as
/// many values as objects (a failed access, or a variable list's many members, would shift
/// them).
fn read_response(facts: &mut Facts, pdu: &Mms<'_>, j: &mut Judge<'_>) {
    if pdu.service() != Some(4) {
        return;
    }
    let Some(r) = pdu.invoke_id().and_then(|i| facts.pending.take(i)) else {
        return;
    };
    let objects = &r.objects[..usize::from(r.len)];
    if pdu.values().count() != objects.len() {
        return;
    }
    j.from_server = true;
    for (&i, v) in objects.iter().zip(pdu.values()) {
        if let Some(x) = v.number() {
            value(facts, usize::from(i), x, "read", j);
        }
    }
    j.from_server = false;
}

fn write(facts: &mut Facts, pdu: &Mms<'_>, j: &mut Judge<'_>) {
    let names = pdu.object_names().take(MAX_OBJECTS_PER_REQUEST);
    let aligned = pdu.object_names().count() == pdu.values().count();
    let mut values = pdu.values();
    for n in names {
        let v = values.next().filter(|_| aligned).and_then(|v| v.number());
        if let Some(fc) = n.functional_constraint() {
            let fc = String::from_utf8_lossy(fc);
            let act = write_activity(fc.as_bytes());
            j.name(
                &mut facts.written,
                &fc,
                MAX_FCS,
                kind_of(act),
                "mms.fc_write",
                || format!("MMS write of functional constraint {fc} not learned for this pair"),
            );
        }
        if let (Some(i), Some(x)) = (object(facts, n, true, j), v) {
            value(facts, i, x, "written", j);
        }
    }
}

fn value(facts: &mut Facts, i: usize, x: f64, verb: &str, j: &mut Judge<'_>) {
    let (objects, values) = (&facts.objects, &mut facts.values);
    let Some(o) = objects.get(i) else {
        return;
    };
    let id = &o.id;
    let d = detail(&[fact_key(id)]);
    j.value(values, i as u32, x, "mms.value", d, || {
        format!("MMS object {id} {verb} {x} outside the learned envelope")
    });
}

/// Whether `id` is the reference of `name`, compared without building it.
fn is(id: &str, name: &ObjectName<'_>) -> bool {
    let id = id.as_bytes();
    match *name {
        ObjectName::Vmd(item) => id == item,
        ObjectName::Association(item) => id.strip_prefix(b"@") == Some(item),
        ObjectName::Domain { domain, item } => {
            id.len() == domain.len() + 1 + item.len()
                && id.starts_with(domain)
                && id[domain.len()] == b'/'
                && id.ends_with(item)
        }
    }
}

fn reference(name: &ObjectName<'_>) -> String {
    match *name {
        ObjectName::Vmd(item) => String::from_utf8_lossy(item).into_owned(),
        ObjectName::Association(item) => format!("@{}", String::from_utf8_lossy(item)),
        ObjectName::Domain { domain, item } => format!(
            "{}/{}",
            String::from_utf8_lossy(domain),
            String::from_utf8_lossy(item)
        ),
    }
}

/// An object used: learned, reported when new or newly written; its place in `objects`.
fn object(
    facts: &mut Facts,
    name: ObjectName<'_>,
    write: bool,
    j: &mut Judge<'_>,
) -> Option<usize> {
    let verb = if write { "written" } else { "read" };
    let (i, new) = match facts.objects.iter().position(|o| is(&o.id, &name)) {
        Some(i) => (i, false),
        None => {
            let id = reference(&name);
            let id = id.as_str();
            j.report(|| {
                let learned: Vec<&str> = facts.objects.iter().map(|o| o.id.as_str()).collect();
                Finding::new(
                    Kind::AddressOutsideRange,
                    "mms.object",
                    detail(&[fact_key(id)]),
                    format!("MMS object {id} {verb}, not learned for this pair"),
                )
                .values(id, learned)
            });
            if facts.objects.len() >= MAX_OBJECTS {
                j.dropped.points += 1;
                return None;
            }
            facts.objects.push(Object {
                id: id.to_owned(),
                read: false,
                write: false,
            });
            (facts.objects.len() - 1, true)
        }
    };
    let o = &mut facts.objects[i];
    let flag = if write { &mut o.write } else { &mut o.read };
    if !*flag {
        *flag = true;
        if write && !new {
            let id = o.id.as_str();
            j.report(|| {
                Finding::new(
                    Kind::AddressOutsideRange,
                    "mms.object_write",
                    detail(&[fact_key(id)]),
                    format!("MMS object {id} written, where it was only read before"),
                )
                .values(id, "read")
            });
        }
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use decoders::mms::pdu::service_by_name;

    #[test]
    fn activities_follow_the_service_names() {
        for (name, a) in [
            ("status", Activity::Identify),
            ("identify", Activity::Identify),
            ("get_capability_list", Activity::Identify),
            ("get_program_invocation_attributes", Activity::Identify),
            ("read", Activity::Read),
            ("file_directory", Activity::Read),
            ("file_close", Activity::Read),
            ("read_journal", Activity::Read),
            ("output", Activity::Control),
            ("start", Activity::Control),
            ("kill", Activity::Control),
            ("rename", Activity::Program),
            ("initiate_download_sequence", Activity::Program),
            ("delete_domain", Activity::Program),
            ("obtain_file", Activity::Program),
            ("file_delete", Activity::Program),
            ("write", Activity::Write),
            ("define_named_variable_list", Activity::Write),
            ("delete_named_variable_list", Activity::Write),
        ] {
            let tag = service_by_name(name).unwrap();
            assert_eq!(activity(tag), a, "{name}");
        }
    }

    #[test]
    fn a_reference_is_compared_without_building_it() {
        let n = ObjectName::Domain {
            domain: b"LD0",
            item: b"GGIO1$CO$SPCSO1$Oper",
        };
        assert!(is(&reference(&n), &n));
        assert!(!is("LD0/GGIO1$CO$SPCSO2$Oper", &n));
        assert!(!is("LD0GGIO1$CO$SPCSO1$Oper", &n));
        let a = ObjectName::Association(b"x");
        assert_eq!(reference(&a), "@x");
        assert!(is("@x", &a) && !is("x", &a));
    }

    #[test]
    fn pending_reads_are_bounded_and_taken_once() {
        let mut p = Pending::default();
        for i in 0..6 {
            p.push(Read {
                invoke: i,
                ..Read::default()
            });
        }
        assert!(p.take(0).is_none() && p.take(1).is_none());
        assert_eq!(p.take(5).map(|r| r.invoke), Some(5));
        assert!(p.take(5).is_none());
    }
}
