//! What an S7 pair's baseline holds: job functions, userdata functions and SZL ids, and per
//! memory area (and data block) the byte ranges read and written with the envelopes of the
//! values written; for S7comm-plus, the request functions.
//!
//! Read responses carry no addresses (the job does), so only written values are enveloped.

use decoders::s7comm::item::{area_name, AnyAddress};
use decoders::s7comm::userdata::{group, kind};
use decoders::s7comm::{Function, Plus, Rosctr, S7Pdu, Userdata};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::judge::{detail, Judge, Request};
use super::model::{Activity, Identity, OpKey, Protocol, Values};
use super::ranges::Ranges;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Facts {
    /// Job function codes (setup communication aside).
    pub functions: Vec<u8>,
    /// Userdata requests, as `group * 256 + subfunction`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub userdata: Vec<u16>,
    /// SZL ids read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub szl: Vec<u16>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub areas: Vec<Area>,
}

/// One memory area (one data block for `data_blocks`): byte ranges and written values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub area: AreaCode,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub db: u16,
    #[serde(default, skip_serializing_if = "Ranges::is_empty")]
    pub read: Ranges,
    #[serde(default, skip_serializing_if = "Ranges::is_empty")]
    pub write: Ranges,
    #[serde(default, skip_serializing_if = "Values::is_empty")]
    pub values: Values,
}

fn is_zero(v: &u16) -> bool {
    *v == 0
}

/// An S7 area code, written by its name (`data_blocks`, `flags`, `outputs`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AreaCode(pub u8);

impl Serialize for AreaCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match area_name(self.0) {
            "unknown" => s.serialize_u8(self.0),
            n => s.serialize_str(n),
        }
    }
}

impl<'de> Deserialize<'de> for AreaCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<'a> {
            Code(u8),
            Name(&'a str),
        }
        match Raw::deserialize(d)? {
            Raw::Code(c) => Ok(AreaCode(c)),
            Raw::Name(n) => (0..=255u8)
                .find(|&c| area_name(c) == n && n != "unknown")
                .map(AreaCode)
                .ok_or_else(|| serde::de::Error::custom(format!("{n:?} is not an S7 area"))),
        }
    }
}

/// S7comm-plus request functions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlusFacts {
    pub functions: Vec<u16>,
}

impl Facts {
    pub fn points(&self) -> usize {
        self.areas.iter().map(|a| a.values.len()).sum()
    }

    pub fn validate(&self) -> Result<(), (String, String)> {
        for (i, a) in self.areas.iter().enumerate() {
            for (rw, r) in [("read", &a.read), ("write", &a.write)] {
                r.validate().map_err(|e| (format!("areas[{i}].{rw}"), e))?;
            }
        }
        Ok(())
    }

    fn area(&mut self, area: u8, db: u16) -> (usize, bool) {
        let key = (AreaCode(area), db);
        match self.areas.binary_search_by_key(&key, |a| (a.area, a.db)) {
            Ok(i) => (i, false),
            Err(i) => {
                self.areas.insert(
                    i,
                    Area {
                        area: AreaCode(area),
                        db,
                        read: Ranges::default(),
                        write: Ranges::default(),
                        values: Values::new(),
                    },
                );
                (i, true)
            }
        }
    }
}

mod code {
    pub const READ_VAR: u8 = 0x04;
    pub const WRITE_VAR: u8 = 0x05;
    pub const PI_SERVICE: u8 = 0x28;
    pub const PLC_STOP: u8 = 0x29;
    pub const SETUP: u8 = 0xf0;
}

/// What a job function does.
pub fn activity(function: u8, job: &Function<'_>) -> Activity {
    match function {
        code::READ_VAR => Activity::Read,
        code::WRITE_VAR => Activity::Write,
        0x1a..=0x1f => Activity::Program,
        code::PI_SERVICE => match job {
            // Block insertion and deletion change the program.
            Function::PiService(pi) if pi.has_block_list() => Activity::Program,
            _ => Activity::Control,
        },
        code::PLC_STOP => Activity::Control,
        _ => Activity::Other,
    }
}

/// What a userdata request does.
fn userdata_activity(group: u8, subfunction: u8) -> Activity {
    match (group, subfunction) {
        (group::PROGRAMMER, _) => Activity::Program,
        (group::CYCLIC, _) => Activity::Read,
        (group::BLOCK, _) | (group::CPU, 0x01) => Activity::Identify,
        (group::SECURITY, _) => Activity::Control,
        // Set clock.
        (group::TIME, 0x02 | 0x04) => Activity::Control,
        (group::TIME, _) => Activity::Read,
        _ => Activity::Other,
    }
}

/// Bytes one element of a request item's transport size takes.
fn element_bytes(transport_size: u8) -> u32 {
    match transport_size {
        0x04 | 0x05 | 0x1c | 0x1d => 2,
        0x06..=0x08 => 4,
        _ => 1,
    }
}

fn byte_range(a: &AnyAddress) -> (u32, u32) {
    let first = a.byte();
    let len = u32::from(a.count.max(1)) * element_bytes(a.transport_size);
    (first, first.saturating_add(len - 1))
}

/// A written value as a number, by the item's transport size (big endian, as S7 stores it).
fn number(transport_size: u8, data: &[u8]) -> Option<f64> {
    Some(match (transport_size, data) {
        (_, [b]) => f64::from(*b),
        (0x05, [a, b]) => f64::from(i16::from_be_bytes([*a, *b])),
        (_, [a, b]) => f64::from(u16::from_be_bytes([*a, *b])),
        (0x08, [a, b, c, d]) => f64::from(f32::from_be_bytes([*a, *b, *c, *d])),
        (0x07, [a, b, c, d]) => f64::from(i32::from_be_bytes([*a, *b, *c, *d])),
        (_, [a, b, c, d]) => f64::from(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => return None,
    })
}

/// Learn or check one S7 PDU; returns the request (jobs and userdata requests) and whether
/// the server's identity changed.
pub fn observe(
    facts: &mut Facts,
    server: &mut Identity,
    pdu: &S7Pdu<'_>,
    j: &mut Judge<'_>,
) -> (Option<Request>, bool) {
    match pdu.rosctr {
        Rosctr::Job => (job(facts, pdu, j), false),
        Rosctr::Userdata => match Userdata::parse(pdu) {
            Ok(u) if u.kind == kind::REQUEST => (userdata(facts, &u, j), false),
            Ok(u) if u.kind == kind::RESPONSE => (None, learn_identity(server, &u)),
            _ => (None, false),
        },
        _ => (None, false),
    }
}

fn job(facts: &mut Facts, pdu: &S7Pdu<'_>, j: &mut Judge<'_>) -> Option<Request> {
    let f = pdu.function()?;
    if f == code::SETUP {
        return None;
    }
    let parsed = Function::parse(pdu);
    let act = activity(f, &parsed);
    j.function(&mut facts.functions, f, act, "s7comm.function", || {
        let name = decoders::s7comm::param::function_name(f).unwrap_or("unknown");
        format!("S7 function 0x{f:02x} ({name}) not learned for this pair")
    });
    let mut op = OpKey::new(Protocol::S7comm, u16::from(f));
    if let Function::VarRequest { items, data, .. } = parsed {
        let write = f == code::WRITE_VAR;
        let mut data = data;
        for (n, item) in items.enumerate() {
            let value = if write { data.next() } else { None };
            let Some(a) = item.any() else { continue };
            let db = if a.area == 0x84 { a.db } else { 0 };
            let (first, last) = byte_range(&a);
            if n == 0 {
                (op.object, op.db, op.address, op.count) =
                    (u16::from(a.area), db, first, u32::from(a.count));
            }
            items_seen(
                facts,
                j,
                &a,
                db,
                write,
                (first, last),
                value.map(|v| v.data),
            );
        }
    }
    Some(Request {
        function: u16::from(f),
        activity: act,
        op,
    })
}

/// How an engineer names an area: `DB1`, `flags`, `outputs`…
fn area_label(area: u8, db: u16) -> String {
    match db {
        0 => area_name(area).to_owned(),
        n => format!("DB{n}"),
    }
}

/// One item of a read or write job: its area and range, and the value written.
fn items_seen(
    facts: &mut Facts,
    j: &mut Judge<'_>,
    a: &AnyAddress,
    db: u16,
    write: bool,
    (first, last): (u32, u32),
    value: Option<&[u8]>,
) {
    let (i, new_area) = facts.area(a.area, db);
    let where_ = || area_label(a.area, db);
    let rw = if write { "write" } else { "read" };
    let reported = new_area
        && j.report(|| {
            let learned: Vec<String> = facts
                .areas
                .iter()
                .filter(|x| (x.area.0, x.db) != (a.area, db))
                .map(|x| area_label(x.area.0, x.db))
                .collect();
            super::anomaly::Finding::new(
                super::anomaly::Kind::AddressOutsideRange,
                "s7comm.area",
                detail(&[u64::from(a.area), u64::from(db), u64::from(write)]),
                format!(
                    "S7 {rw} of {} {first}-{last}: area not learned for this pair",
                    where_()
                ),
            )
            .values(where_(), learned)
        });
    if reported {
        // Reported as an area: its range is not reported again.
        j.fresh_function = true;
    }
    let area = &mut facts.areas[i];
    let ranges = if write {
        &mut area.write
    } else {
        &mut area.read
    };
    j.range(
        ranges,
        first,
        last,
        "s7comm.address",
        detail(&[u64::from(a.area), u64::from(db), u64::from(write)]),
        || {
            format!(
                "S7 {rw} of {} bytes {first}-{last} outside the learned ranges",
                where_()
            )
        },
    );
    if let Some(v) = value.and_then(|d| number(a.transport_size, d)) {
        j.value(
            &mut area.values,
            first,
            v,
            "s7comm.value",
            detail(&[u64::from(a.area), u64::from(db), u64::from(first)]),
            || {
                format!(
                    "S7 write of {} byte {first} = {v} outside the learned envelope",
                    where_()
                )
            },
        );
    }
}

fn userdata(facts: &mut Facts, u: &Userdata<'_>, j: &mut Judge<'_>) -> Option<Request> {
    let code = u16::from(u.group) << 8 | u16::from(u.subfunction);
    let act = userdata_activity(u.group, u.subfunction);
    j.function(&mut facts.userdata, code, act, "s7comm.userdata", || {
        format!(
            "S7 userdata {} / {} not learned for this pair",
            decoders::s7comm::userdata::group_name(u.group),
            decoders::s7comm::userdata::subfunction_name(u.group, u.subfunction)
        )
    });
    let mut op = OpKey::new(Protocol::S7comm, 0x100 | code);
    if let Some((id, index)) = u.szl() {
        j.member(
            &mut facts.szl,
            id,
            super::anomaly::Kind::NewFunction,
            "s7comm.szl",
            || format!("S7 read of SZL 0x{id:04x} not learned for this pair"),
        );
        (op.object, op.address) = (id, u32::from(index));
    }
    Some(Request {
        function: op.function,
        activity: act,
        op,
    })
}

/// SZL answers naming the module: 0x0011 (order number, firmware), 0x001c (names, serial).
fn learn_identity(id: &mut Identity, u: &Userdata<'_>) -> bool {
    if (u.group, u.subfunction) != (group::CPU, 0x01) {
        return false;
    }
    let Some(data) = u.data.map(|d| d.bytes) else {
        return false;
    };
    let [i0, i1, _, _, l0, l1, n0, n1, records @ ..] = data else {
        return false;
    };
    let szl = u16::from_be_bytes([*i0, *i1]);
    let len = usize::from(u16::from_be_bytes([*l0, *l1]));
    let count = usize::from(u16::from_be_bytes([*n0, *n1]));
    let mut changed = false;
    let expected = match szl & 0x00ff {
        0x11 => 28,
        0x1c => 34,
        _ => return false,
    };
    if len != expected {
        return false;
    }
    for r in records.chunks_exact(len).take(count) {
        let index = u16::from_be_bytes([r[0], r[1]]);
        match (szl & 0x00ff, index) {
            (0x11, 1) => {
                changed |= Identity::set(&mut id.product, &r[2..22]);
                if r[2..4] == *b"6E" {
                    changed |= Identity::set(&mut id.vendor, b"Siemens");
                }
            }
            (0x11, 7) if r[24] == b'V' => {
                let v = format!("V{}.{}.{}", r[25], r[26], r[27]);
                changed |= Identity::set(&mut id.firmware, v.as_bytes());
            }
            (0x1c, 1) => changed |= Identity::set(&mut id.name, &r[2..]),
            (0x1c, 5) => changed |= Identity::set(&mut id.serial, &r[2..]),
            (0x1c, 7) => changed |= Identity::set(&mut id.model, &r[2..]),
            _ => {}
        }
    }
    changed
}

/// What an S7comm-plus request function does.
fn plus_activity(function: u16) -> Activity {
    match function {
        0x0524 | 0x054c | 0x0598 | 0x05a2 => Activity::Read,
        0x04f2 | 0x0542 | 0x0586 => Activity::Write,
        0x04bb => Activity::Identify,
        0x056b => Activity::Control,
        _ => Activity::Other,
    }
}

/// Learn or check one S7comm-plus frame.
pub fn observe_plus(facts: &mut PlusFacts, plus: &Plus<'_>, j: &mut Judge<'_>) -> Option<Request> {
    if plus.opcode != Some(decoders::s7comm::plus::opcode::REQUEST) {
        return None;
    }
    let f = plus.function?;
    let act = plus_activity(f);
    j.function(&mut facts.functions, f, act, "s7commplus.function", || {
        format!("S7comm-plus function 0x{f:04x} not learned for this pair")
    });
    Some(Request {
        function: f,
        activity: act,
        op: OpKey::new(Protocol::S7commplus, f),
    })
}
