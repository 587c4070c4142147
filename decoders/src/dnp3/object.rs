//! DNP3 objects: object headers (group, variation, qualifier and range) and their points.
//!
//! The protocol is not self-describing: the size of an object's points follows from its group
//! and variation, so decoding stops at the first object whose variation is unknown. Objects and
//! points are read lazily by iterators over the borrowed fragment; nothing is collected.
//! Field names follow Suricata's DNP3 object tables so that logs read the same.

use core::fmt;

/// Caps on what one fragment may make the decoder walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Object headers per fragment.
    pub max_objects: usize,
    /// Points per fragment, all objects together.
    pub max_points: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_objects: 2048,
            max_points: 16384,
        }
    }
}

/// Why decoding stopped before the end of a fragment's objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectError {
    /// An object header, range or point runs past the end of the fragment.
    Truncated,
    /// A reserved prefix or range code.
    ReservedQualifier(u8),
    /// A range whose stop is below its start.
    BadRange { start: u32, stop: u32 },
    /// A group and variation whose size is not known; nothing after it can be read.
    Unknown { group: u8, variation: u8 },
    /// More object headers than [`Limits::max_objects`].
    TooManyObjects,
    /// More points than [`Limits::max_points`].
    TooManyPoints,
}

impl ObjectError {
    /// The anomaly name (Suricata's app-layer event names where it has one).
    pub fn anomaly_name(&self) -> &'static str {
        match self {
            ObjectError::Truncated
            | ObjectError::ReservedQualifier(_)
            | ObjectError::BadRange { .. } => "dnp3.malformed",
            ObjectError::Unknown { .. } => "dnp3.unknown_object",
            ObjectError::TooManyObjects => "dnp3.too_many_objects",
            ObjectError::TooManyPoints => "dnp3.too_many_points",
        }
    }
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectError::Truncated => f.write_str("object runs past the end of the fragment"),
            ObjectError::ReservedQualifier(q) => write!(f, "reserved qualifier {q:#04x}"),
            ObjectError::BadRange { start, stop } => {
                write!(f, "range stop {stop} below start {start}")
            }
            ObjectError::Unknown { group, variation } => {
                write!(f, "unknown object group {group} variation {variation}")
            }
            ObjectError::TooManyObjects => f.write_str("too many objects in one fragment"),
            ObjectError::TooManyPoints => f.write_str("too many points in one fragment"),
        }
    }
}

/// One field of a point, as laid out on the wire (little endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// One octet split into named bit fields, least significant first: (name, width).
    Flags(&'static [(&'static str, u8)]),
    U8(&'static str),
    U16(&'static str),
    U32(&'static str),
    I16(&'static str),
    I32(&'static str),
    F32(&'static str),
    F64(&'static str),
    /// DNP3 time: milliseconds since the epoch in 48 bits.
    Time(&'static str),
    /// The rest of a size-prefixed point (file names, file data, text).
    Rest(&'static str),
}

impl Field {
    /// Wire size; `Rest` counts 0.
    pub const fn size(&self) -> usize {
        match self {
            Field::Flags(_) | Field::U8(_) => 1,
            Field::U16(_) | Field::I16(_) => 2,
            Field::U32(_) | Field::I32(_) | Field::F32(_) => 4,
            Field::F64(_) => 8,
            Field::Time(_) => 6,
            Field::Rest(_) => 0,
        }
    }
}

/// A decoded field value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Uint(u64),
    Int(i64),
    Float(f64),
    Bytes(&'a [u8]),
}

/// How the points of a group and variation are stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Bits packed into octets, `bits` per point, no prefixes (binary inputs, outputs).
    Packed {
        bits: u8,
        name: &'static str,
    },
    /// Fixed-size points; `fields` is `None` where the size is known but not the fields.
    Fixed {
        size: usize,
        fields: Option<&'static [Field]>,
    },
    /// Points whose size is given by a size prefix (file control).
    Sized(&'static [Field]),
    /// No data follows the header (class data, "all variations" requests).
    Empty,
    Unknown,
}

mod flags {
    pub const BINARY: &[(&str, u8)] = &[
        ("online", 1),
        ("restart", 1),
        ("comm_lost", 1),
        ("remote_forced", 1),
        ("local_forced", 1),
        ("chatter_filter", 1),
        ("reserved", 1),
        ("state", 1),
    ];
    pub const DOUBLE: &[(&str, u8)] = &[
        ("online", 1),
        ("restart", 1),
        ("comm_lost", 1),
        ("remote_forced", 1),
        ("local_forced", 1),
        ("chatter_filter", 1),
        ("state", 2),
    ];
    pub const OUTPUT: &[(&str, u8)] = &[
        ("online", 1),
        ("restart", 1),
        ("comm_lost", 1),
        ("remote_forced", 1),
        ("local_forced", 1),
        ("reserved0", 1),
        ("reserved1", 1),
        ("state", 1),
    ];
    pub const CROB_CODE: &[(&str, u8)] = &[("op_type", 4), ("qu", 1), ("cr", 1), ("tcc", 2)];
    pub const CROB_STATUS: &[(&str, u8)] = &[("status_code", 7), ("reserved", 1)];
    pub const COMMAND_EVENT: &[(&str, u8)] = &[("status_code", 7), ("commanded_state", 1)];
    pub const ANALOG_COMMAND_EVENT: &[(&str, u8)] = &[("status_code", 7), ("reserved0", 1)];
    /// Counters with a discontinuity bit.
    pub const COUNTER: &[(&str, u8)] = &[
        ("online", 1),
        ("restart", 1),
        ("comm_lost", 1),
        ("remote_forced", 1),
        ("local_forced", 1),
        ("rollover", 1),
        ("discontinuity", 1),
        ("reserved0", 1),
    ];
    /// Frozen counter events with time (group 21 variations 5 and 6).
    pub const COUNTER_R1: &[(&str, u8)] = &[
        ("online", 1),
        ("restart", 1),
        ("comm_lost", 1),
        ("remote_forced", 1),
        ("local_forced", 1),
        ("rollover", 1),
        ("discontinuity", 1),
        ("reserved1", 1),
    ];
    /// Delta counters: two reserved bits.
    pub const COUNTER2: &[(&str, u8)] = &[
        ("online", 1),
        ("restart", 1),
        ("comm_lost", 1),
        ("remote_forced", 1),
        ("local_forced", 1),
        ("rollover", 1),
        ("reserved0", 1),
        ("reserved1", 1),
    ];
    pub const ANALOG: &[(&str, u8)] = &[
        ("online", 1),
        ("restart", 1),
        ("comm_lost", 1),
        ("remote_forced", 1),
        ("local_forced", 1),
        ("over_range", 1),
        ("reference_err", 1),
        ("reserved0", 1),
    ];
    pub const BUFFER: &[(&str, u8)] = &[("fill_percentage", 7), ("overflow_state", 1)];
    pub const ATTRIBUTE: &[(&str, u8)] = &[
        ("rd", 1),
        ("wr", 1),
        ("st", 1),
        ("ev", 1),
        ("df", 1),
        ("padding0", 1),
        ("padding1", 1),
        ("padding2", 1),
    ];
}

use Field::*;

const TS: Field = Time("timestamp");

macro_rules! fixed {
    ($($f:expr),* $(,)?) => {{
        const FIELDS: &[Field] = &[$($f),*];
        Layout::Fixed { size: layout_size(FIELDS), fields: Some(FIELDS) }
    }};
}

macro_rules! sized {
    ($($f:expr),* $(,)?) => {{
        const FIELDS: &[Field] = &[$($f),*];
        Layout::Sized(FIELDS)
    }};
}

/// Wire size of fixed fields.
pub const fn layout_size(fields: &[Field]) -> usize {
    let mut i = 0;
    let mut n = 0;
    while i < fields.len() {
        n += fields[i].size();
        i += 1;
    }
    n
}

/// The layout of a group and variation.
pub fn layout(group: u8, variation: u8) -> Layout {
    use flags::*;
    let opaque = |size| Layout::Fixed { size, fields: None };
    match (group, variation) {
        (1, 1) | (10, 1) | (80, 1) => Layout::Packed {
            bits: 1,
            name: "state",
        },
        (12, 3) => Layout::Packed {
            bits: 1,
            name: "point",
        },
        (3, 1) => Layout::Packed {
            bits: 2,
            name: "state",
        },
        (1, 2) => fixed![Flags(BINARY)],
        (2, 1) => fixed![U8("state")],
        (2, 2) => fixed![Flags(BINARY), TS],
        (2, 3) => fixed![Flags(BINARY), U16("timestamp")],
        (3, 2) | (4, 1) => fixed![Flags(DOUBLE)],
        (4, 2) => fixed![Flags(DOUBLE), TS],
        (4, 3) => fixed![Flags(DOUBLE), U16("relative_time_ms")],
        (10, 2) | (11, 1) => fixed![Flags(OUTPUT)],
        (11, 2) => fixed![Flags(OUTPUT), TS],
        (12, 1) | (12, 2) => fixed![
            Flags(CROB_CODE),
            U8("count"),
            U32("ontime"),
            U32("offtime"),
            Flags(CROB_STATUS),
        ],
        (13, 1) => fixed![Flags(COMMAND_EVENT)],
        (13, 2) => fixed![Flags(COMMAND_EVENT), TS],
        (20, 1) | (21, 1) | (22, 1) | (23, 1) => fixed![Flags(COUNTER), U32("count")],
        (20, 2) | (21, 2) | (22, 2) => fixed![Flags(COUNTER), U16("count")],
        (20, 3) | (21, 3) | (22, 3) | (23, 3) => fixed![Flags(COUNTER2), U32("count")],
        (20, 4) | (21, 4) | (22, 4) | (23, 2) | (23, 4) => {
            fixed![Flags(COUNTER2), U16("count")]
        }
        (20, 5) | (20, 7) | (21, 9) | (21, 11) => fixed![U32("count")],
        (20, 6) | (20, 8) | (21, 10) | (21, 12) => fixed![U16("count")],
        (21, 5) => fixed![Flags(COUNTER_R1), U32("count"), TS],
        (21, 6) => fixed![Flags(COUNTER_R1), U16("count"), TS],
        (23, 5) => fixed![Flags(COUNTER), U32("count"), TS],
        (22, 6) | (23, 6) => fixed![Flags(COUNTER), U16("count"), TS],
        (21, 7) | (22, 5) | (22, 7) | (23, 7) => fixed![Flags(COUNTER2), U32("count"), TS],
        (21, 8) | (22, 8) | (23, 8) => fixed![Flags(COUNTER2), U16("count"), TS],
        (30, 1) | (31, 1) | (32, 1) | (33, 1) | (40, 1) | (42, 1) => {
            fixed![Flags(ANALOG), I32("value")]
        }
        (30, 2) | (31, 2) | (32, 2) | (33, 2) | (40, 2) | (42, 2) => {
            fixed![Flags(ANALOG), I16("value")]
        }
        (30, 3) | (31, 5) => fixed![I32("value")],
        (30, 4) | (31, 6) => fixed![I16("value")],
        (30, 5) | (31, 7) | (32, 5) | (33, 5) | (40, 3) | (42, 5) => {
            fixed![Flags(ANALOG), F32("value")]
        }
        (30, 6) | (31, 8) | (32, 6) | (33, 6) | (40, 4) | (42, 6) => {
            fixed![Flags(ANALOG), F64("value")]
        }
        (31, 3) | (32, 3) | (33, 3) | (42, 3) => fixed![Flags(ANALOG), I32("value"), TS],
        (31, 4) | (32, 4) | (33, 4) | (42, 4) => fixed![Flags(ANALOG), I16("value"), TS],
        (32, 7) | (33, 7) | (42, 7) => fixed![Flags(ANALOG), F32("value"), TS],
        (32, 8) | (33, 8) | (42, 8) => fixed![Flags(ANALOG), F64("value"), TS],
        (34, 1) => fixed![U16("deadband_value")],
        (34, 2) => fixed![U32("deadband_value")],
        (34, 3) => fixed![F32("deadband_value")],
        (41, 1) => fixed![I32("value"), U8("control_status")],
        (41, 2) => fixed![I16("value"), U8("control_status")],
        (41, 3) => fixed![F32("value"), U8("control_status")],
        (41, 4) => fixed![F64("value"), U8("control_status")],
        (43, 1) => fixed![Flags(ANALOG_COMMAND_EVENT), I32("commanded_value")],
        (43, 2) => fixed![Flags(ANALOG_COMMAND_EVENT), I16("commanded_value")],
        (43, 3) => fixed![Flags(ANALOG_COMMAND_EVENT), I32("commanded_value"), TS],
        (43, 4) => fixed![Flags(ANALOG_COMMAND_EVENT), I16("commanded_value"), TS],
        (43, 5) => fixed![Flags(ANALOG_COMMAND_EVENT), F32("commanded_value")],
        (43, 6) => fixed![Flags(ANALOG_COMMAND_EVENT), F64("commanded_value")],
        (43, 7) => fixed![Flags(ANALOG_COMMAND_EVENT), F32("commanded_value"), TS],
        (43, 8) => fixed![Flags(ANALOG_COMMAND_EVENT), F64("commanded_value"), TS],
        (50, 1) | (50, 3) | (51, 1) | (51, 2) => fixed![TS],
        (50, 2) => fixed![TS, U32("interval")],
        (50, 4) => fixed![TS, U32("interval_count"), U8("interval_units")],
        (52, 1) => fixed![U16("delay_secs")],
        (52, 2) => fixed![U16("delay_ms")],
        (60, 1..=4) => Layout::Empty,
        (70, 3) => sized![
            U16("filename_offset"),
            U16("filename_size"),
            Time("created"),
            U16("permissions"),
            U32("authentication_key"),
            U32("file_size"),
            U16("operational_mode"),
            U16("maximum_block_size"),
            U16("request_id"),
            Rest("filename"),
        ],
        (70, 4) => sized![
            U32("file_handle"),
            U32("file_size"),
            U16("maximum_block_size"),
            U16("request_id"),
            U8("status_code"),
            Rest("optional_text"),
        ],
        (70, 5) => sized![U32("file_handle"), U32("block_number"), Rest("file_data")],
        (70, 6) => sized![
            U32("file_handle"),
            U32("block_number"),
            U8("status_code"),
            Rest("optional_text"),
        ],
        (70, 7) => sized![
            U16("filename_offset"),
            U16("filename_size"),
            U16("file_type"),
            U32("file_size"),
            Time("created_timestamp"),
            U16("permissions"),
            U16("request_id"),
            Rest("filename"),
        ],
        (70, 8) => sized![Rest("file_specification")],
        (81, 1) => fixed![Flags(BUFFER), U8("group"), U8("variation")],
        (86, 2) => fixed![Flags(ATTRIBUTE)],
        (102, 1) => fixed![U8("value")],
        // Octet strings: the variation is the length.
        (110, v) | (111, v) if v > 0 => opaque(usize::from(v)),
        _ => Layout::Unknown,
    }
}

/// Octets of a prefix of `code`; `None` for the reserved code 7.
fn prefix_len(code: u8) -> Option<usize> {
    match code {
        0 => Some(0),
        1 | 4 => Some(1),
        2 | 5 => Some(2),
        3 | 6 => Some(4),
        _ => None,
    }
}

/// Whether a prefix code gives each point's size rather than its index.
pub fn prefix_is_size(code: u8) -> bool {
    matches!(code, 4..=6)
}

fn read_uint(buf: &[u8], at: usize, len: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(len)?)?;
    Some(
        b.iter()
            .rev()
            .fold(0u32, |acc, &x| (acc << 8) | u32::from(x)),
    )
}

/// One object header and its points, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Object<'a> {
    pub group: u8,
    pub variation: u8,
    pub qualifier: u8,
    /// Range start (0 for count qualifiers).
    pub start: u32,
    /// Range stop (0 for count qualifiers).
    pub stop: u32,
    pub count: u32,
    layout: Layout,
    /// The point data (prefixes included).
    data: &'a [u8],
}

impl<'a> Object<'a> {
    pub fn prefix_code(&self) -> u8 {
        (self.qualifier >> 4) & 0x7
    }

    pub fn range_code(&self) -> u8 {
        self.qualifier & 0xf
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The point data as on the wire.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The points, decoded lazily; none where the fields are not known.
    pub fn points(&self) -> Points<'a> {
        let decodes = match self.layout {
            Layout::Packed { .. } | Layout::Sized(_) => true,
            Layout::Fixed { fields, .. } => fields.is_some(),
            Layout::Empty | Layout::Unknown => false,
        };
        Points {
            data: if decodes { self.data } else { &[] },
            layout: self.layout,
            prefix_code: self.prefix_code(),
            start: self.start,
            next: 0,
            count: if decodes { self.count } else { 0 },
        }
    }
}

/// Where an object's points end, given its layout: `Err` if they run past `buf`.
fn data_len(layout: Layout, prefix_code: u8, count: u32, buf: &[u8]) -> Result<usize, ObjectError> {
    let count_usize = usize::try_from(count).map_err(|_| ObjectError::Truncated)?;
    let prefix = prefix_len(prefix_code).ok_or(ObjectError::ReservedQualifier(prefix_code))?;
    let len = match layout {
        Layout::Empty => 0,
        Layout::Unknown => 0,
        Layout::Packed { bits, .. } => {
            if prefix != 0 {
                return Err(ObjectError::ReservedQualifier(prefix_code));
            }
            count_usize
                .checked_mul(usize::from(bits))
                .ok_or(ObjectError::Truncated)?
                .div_ceil(8)
        }
        Layout::Fixed { size, .. } => count_usize
            .checked_mul(prefix + size)
            .ok_or(ObjectError::Truncated)?,
        Layout::Sized(_) => {
            if !prefix_is_size(prefix_code) {
                return Err(ObjectError::ReservedQualifier(prefix_code));
            }
            let mut at = 0usize;
            for _ in 0..count {
                let size = read_uint(buf, at, prefix).ok_or(ObjectError::Truncated)?;
                at = at
                    .checked_add(prefix)
                    .and_then(|a| a.checked_add(size as usize))
                    .filter(|&a| a <= buf.len())
                    .ok_or(ObjectError::Truncated)?;
            }
            at
        }
    };
    if len > buf.len() {
        return Err(ObjectError::Truncated);
    }
    Ok(len)
}

/// The objects of a fragment, in order. Decoding stops at the first error, which
/// [`Objects::error`] then reports.
#[derive(Clone, Debug)]
pub struct Objects<'a> {
    rest: &'a [u8],
    limits: Limits,
    headers_only: bool,
    objects: usize,
    points: u64,
    error: Option<ObjectError>,
    done: bool,
}

impl<'a> Objects<'a> {
    pub fn new(buf: &'a [u8], limits: Limits) -> Self {
        Objects {
            rest: buf,
            limits,
            headers_only: false,
            objects: 0,
            points: 0,
            error: None,
            done: false,
        }
    }

    /// Objects that are headers alone, without point data, unless a size prefix says
    /// otherwise: those of a read, a freeze, an assign-class request.
    pub fn headers_only(buf: &'a [u8], limits: Limits) -> Self {
        Objects {
            headers_only: true,
            ..Objects::new(buf, limits)
        }
    }

    /// Why decoding stopped early, once the iterator is exhausted.
    pub fn error(&self) -> Option<ObjectError> {
        self.error
    }

    /// Walk every object: `(objects, error)`. The fragment is complete when `error` is `None`.
    pub fn summary(mut self) -> (usize, Option<ObjectError>) {
        let n = self.by_ref().count();
        (n, self.error)
    }

    fn fail(&mut self, e: ObjectError) -> Option<Object<'a>> {
        self.error = Some(e);
        self.done = true;
        None
    }

    /// The object at the front and the octets it spans.
    fn header(&mut self) -> Result<(Object<'a>, usize, Option<ObjectError>), ObjectError> {
        let buf = self.rest;
        let [group, variation, qualifier] = match buf.get(..3) {
            Some(&[g, v, q]) => [g, v, q],
            _ => return Err(ObjectError::Truncated),
        };
        let range_code = qualifier & 0xf;
        let range = |len: usize| -> Result<(u32, u32, usize), ObjectError> {
            let start = read_uint(buf, 3, len).ok_or(ObjectError::Truncated)?;
            let stop = read_uint(buf, 3 + len, len).ok_or(ObjectError::Truncated)?;
            if stop < start {
                return Err(ObjectError::BadRange { start, stop });
            }
            Ok((start, stop, 2 * len))
        };
        let (start, stop, range_len) = match range_code {
            0 | 3 => range(1)?,
            1 | 4 => range(2)?,
            2 | 5 => range(4)?,
            6 => (0, 0, 0),
            7 | 0xb => (0, 0, 1),
            8 => (0, 0, 2),
            9 => (0, 0, 4),
            _ => return Err(ObjectError::ReservedQualifier(qualifier)),
        };
        let n = match range_code {
            0..=5 => (stop - start)
                .checked_add(1)
                .ok_or(ObjectError::BadRange { start, stop })?,
            6 => 0,
            _ => read_uint(buf, 3, range_len).ok_or(ObjectError::Truncated)?,
        };
        let body = buf.get(3 + range_len..).unwrap_or_default();
        // In requests that name objects without data, a size prefix still brings its data
        // (a file read names the file handle in a g70v5 object).
        let bare = self.headers_only && !prefix_is_size((qualifier >> 4) & 0x7);
        let layout = if variation == 0 || n == 0 || bare {
            Layout::Empty
        } else {
            layout(group, variation)
        };
        // The cap comes before the data: a count too large to be there is still too many.
        if layout != Layout::Empty
            && self.points.saturating_add(u64::from(n)) > self.limits.max_points
        {
            return Err(ObjectError::TooManyPoints);
        }
        // Points cut short still come out, as far as they go, before the error.
        let (len, cut) = match data_len(layout, (qualifier >> 4) & 0x7, n, body) {
            Ok(len) => (len, None),
            Err(ObjectError::Truncated) => (body.len(), Some(ObjectError::Truncated)),
            Err(e) => return Err(e),
        };
        let object = Object {
            group,
            variation,
            qualifier,
            start,
            stop,
            count: n,
            layout,
            data: body.get(..len).ok_or(ObjectError::Truncated)?,
        };
        Ok((object, 3 + range_len + len, cut))
    }
}

impl<'a> Iterator for Objects<'a> {
    type Item = Object<'a>;

    fn next(&mut self) -> Option<Object<'a>> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        if self.objects >= self.limits.max_objects {
            return self.fail(ObjectError::TooManyObjects);
        }
        let (object, len, cut) = match self.header() {
            Ok(o) => o,
            Err(e) => return self.fail(e),
        };
        self.objects += 1;
        if object.layout != Layout::Empty {
            self.points += u64::from(object.count);
        }
        self.rest = self.rest.get(len..).unwrap_or_default();
        if object.layout == Layout::Unknown {
            self.error = Some(ObjectError::Unknown {
                group: object.group,
                variation: object.variation,
            });
            self.done = true;
        } else if cut.is_some() {
            self.error = cut;
            self.done = true;
        }
        Some(object)
    }
}

/// One point of an object.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point<'a> {
    /// The prefix as read (0 without one).
    pub prefix: u32,
    /// The point index: the prefix where it is an index, else the range start plus the
    /// point's position.
    pub index: u32,
    /// The point's size, where the prefix gives it.
    pub size: Option<u32>,
    value: PointValue<'a>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum PointValue<'a> {
    Bits {
        name: &'static str,
        value: u8,
    },
    Fields {
        fields: &'static [Field],
        bytes: &'a [u8],
    },
}

impl<'a> Point<'a> {
    /// The point's named values, in wire order.
    pub fn fields(&self) -> Fields<'a> {
        match self.value {
            PointValue::Bits { name, value } => Fields {
                fields: &[],
                bytes: &[],
                bit: Some((name, value)),
                pos: 0,
                sub: 0,
                shift: 0,
                at: 0,
            },
            PointValue::Fields { fields, bytes } => Fields {
                fields,
                bytes,
                bit: None,
                pos: 0,
                sub: 0,
                shift: 0,
                at: 0,
            },
        }
    }
}

/// The points of an object.
#[derive(Clone, Debug)]
pub struct Points<'a> {
    data: &'a [u8],
    layout: Layout,
    prefix_code: u8,
    start: u32,
    next: u32,
    count: u32,
}

impl<'a> Iterator for Points<'a> {
    type Item = Point<'a>;

    fn next(&mut self) -> Option<Point<'a>> {
        if self.next >= self.count {
            return None;
        }
        let i = self.next;
        self.next += 1;
        let position = self.start.wrapping_add(i);
        if let Layout::Packed { bits, name } = self.layout {
            let bit = usize::try_from(i).ok()?.checked_mul(usize::from(bits))?;
            let octet = *self.data.get(bit / 8)?;
            let mask = (1u8 << bits) - 1;
            return Some(Point {
                prefix: 0,
                index: position,
                size: None,
                value: PointValue::Bits {
                    name,
                    value: (octet >> (bit % 8)) & mask,
                },
            });
        }
        let plen = prefix_len(self.prefix_code)?;
        let prefix = read_uint(self.data, 0, plen)?;
        let (size, fields) = match self.layout {
            Layout::Fixed {
                size,
                fields: Some(f),
            } => (size, f),
            Layout::Sized(f) => (prefix as usize, f),
            _ => return None,
        };
        let bytes = self.data.get(plen..plen.checked_add(size)?)?;
        self.data = self.data.get(plen + size..)?;
        let is_size = prefix_is_size(self.prefix_code);
        Some(Point {
            prefix,
            index: if matches!(self.prefix_code, 1..=3) {
                prefix
            } else {
                position
            },
            size: is_size.then_some(prefix),
            value: PointValue::Fields { fields, bytes },
        })
    }
}

/// The named values of a point.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    fields: &'static [Field],
    bytes: &'a [u8],
    bit: Option<(&'static str, u8)>,
    pos: usize,
    sub: usize,
    shift: u8,
    at: usize,
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let b = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(b)
    }
}

fn le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'static str, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some((name, v)) = self.bit.take() {
            return Some((name, Value::Uint(u64::from(v))));
        }
        loop {
            let field = *self.fields.get(self.pos)?;
            if let Flags(bits) = field {
                let octet = *self.bytes.get(self.at)?;
                if let Some(&(name, width)) = bits.get(self.sub) {
                    let v = (u16::from(octet) >> self.shift) & ((1u16 << width) - 1);
                    self.sub += 1;
                    self.shift += width;
                    return Some((name, Value::Uint(u64::from(v))));
                }
                self.sub = 0;
                self.shift = 0;
                self.at += 1;
                self.pos += 1;
                continue;
            }
            self.pos += 1;
            let value = match field {
                Flags(_) => continue,
                U8(n) => (n, Value::Uint(le(self.take(1)?))),
                U16(n) => (n, Value::Uint(le(self.take(2)?))),
                U32(n) => (n, Value::Uint(le(self.take(4)?))),
                Time(n) => (n, Value::Uint(le(self.take(6)?))),
                I16(n) => {
                    let b = self.take(2)?;
                    (n, Value::Int(i64::from(i16::from_le_bytes([b[0], b[1]]))))
                }
                I32(n) => {
                    let b = self.take(4)?;
                    (
                        n,
                        Value::Int(i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                    )
                }
                F32(n) => {
                    let b = self.take(4)?;
                    (
                        n,
                        Value::Float(f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
                    )
                }
                F64(n) => {
                    let b = self.take(8)?;
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    (n, Value::Float(f64::from_le_bytes(a)))
                }
                Rest(n) => {
                    let b = self.bytes.get(self.at..).unwrap_or_default();
                    self.at = self.bytes.len();
                    (n, Value::Bytes(b))
                }
            };
            return Some(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(buf: &[u8]) -> (Vec<Object<'_>>, Option<ObjectError>) {
        let mut it = Objects::new(buf, Limits::default());
        let v: Vec<_> = it.by_ref().collect();
        (v, it.error())
    }

    fn fields<'a>(p: &Point<'a>) -> Vec<(&'static str, Value<'a>)> {
        p.fields().collect()
    }

    #[test]
    fn class_reads_have_no_data() {
        // Read class 1, 2, 3, 0: 3C 02 06 3C 03 06 3C 04 06 3C 01 06.
        let (o, e) = objects(&[0x3c, 2, 6, 0x3c, 3, 6, 0x3c, 4, 6, 0x3c, 1, 6]);
        assert_eq!(e, None);
        assert_eq!(o.len(), 4);
        assert_eq!((o[0].group, o[0].variation, o[0].qualifier), (60, 2, 6));
        assert_eq!((o[0].count, o[0].start, o[0].stop), (0, 0, 0));
        assert_eq!(o[0].points().count(), 0);
    }

    #[test]
    fn packed_binary_inputs() {
        // g1v1, start 0 stop 9, two octets: 0b0000_0101, 0b10.
        let (o, e) = objects(&[1, 1, 0, 0, 9, 0x05, 0x02]);
        assert_eq!(e, None);
        let pts: Vec<_> = o[0].points().collect();
        assert_eq!(pts.len(), 10);
        let states: Vec<_> = pts
            .iter()
            .map(|p| match fields(p)[0] {
                ("state", Value::Uint(v)) => v,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(states, [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(pts[9].index, 9);
    }

    #[test]
    fn crob_with_index_prefix() {
        // Select (dnp3-select-operate capture): g12v1 qualifier 0x28, count 1, index 1,
        // code 03 (latch on), count 1, on 100, off 100, status 0.
        let buf = [
            0x0c, 0x01, 0x28, 0x01, 0x00, 0x01, 0x00, 0x03, 0x01, 0x64, 0x00, 0x00, 0x00, 0x64,
            0x00, 0x00, 0x00, 0x00,
        ];
        let (o, e) = objects(&buf);
        assert_eq!(e, None);
        assert_eq!(
            (o[0].prefix_code(), o[0].range_code(), o[0].count),
            (2, 8, 1)
        );
        let p = o[0].points().next().unwrap();
        assert_eq!((p.prefix, p.index, p.size), (1, 1, None));
        let f = fields(&p);
        let get = |n: &str| f.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(get("op_type"), Some(Value::Uint(3)));
        assert_eq!(get("tcc"), Some(Value::Uint(0)));
        assert_eq!(get("count"), Some(Value::Uint(1)));
        assert_eq!(get("ontime"), Some(Value::Uint(100)));
        assert_eq!(get("offtime"), Some(Value::Uint(100)));
        assert_eq!(get("status_code"), Some(Value::Uint(0)));
        assert_eq!(get("reserved"), Some(Value::Uint(0)));
        assert_eq!(f.len(), 9);
    }

    #[test]
    fn analog_float_and_time() {
        // g32v7 (float with time), qualifier 0x28, one point index 0, flags 01, value 1.5,
        // time 0x0102030405.
        let mut buf = vec![32, 7, 0x28, 1, 0, 0, 0, 0x01];
        buf.extend(1.5f32.to_le_bytes());
        buf.extend([5, 4, 3, 2, 1, 0]);
        let (o, e) = objects(&buf);
        assert_eq!(e, None);
        let f = fields(&o[0].points().next().unwrap());
        assert_eq!(f[0], ("online", Value::Uint(1)));
        assert_eq!(f[8], ("value", Value::Float(1.5)));
        assert_eq!(f[9], ("timestamp", Value::Uint(0x0102030405)));
    }

    #[test]
    fn file_command_with_size_prefix() {
        // g70v5 (file transport), qualifier 0x5b: count 1, size 8, handle 0x12345678, block 0.
        let buf = [70, 5, 0x5b, 1, 8, 0, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0];
        let (o, e) = objects(&buf);
        assert_eq!(e, None);
        let p = o[0].points().next().unwrap();
        assert_eq!((p.prefix, p.index, p.size), (8, 0, Some(8)));
        let f = fields(&p);
        assert_eq!(f[0], ("file_handle", Value::Uint(0x12345678)));
        assert_eq!(f[2], ("file_data", Value::Bytes(&[])));
    }

    #[test]
    fn errors_stop_decoding() {
        // Unknown object: its header is still reported.
        let (o, e) = objects(&[200, 1, 0x07, 1, 0xaa, 0x3c, 1, 6]);
        assert_eq!(o.len(), 1);
        assert_eq!(
            e,
            Some(ObjectError::Unknown {
                group: 200,
                variation: 1
            })
        );
        // Truncated point data: the header and the whole points still come out.
        let (o, e) = objects(&[30, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0]);
        assert_eq!(e, Some(ObjectError::Truncated));
        assert_eq!(o[0].count, 2);
        assert_eq!(o[0].points().count(), 1);
        // Two trailing octets.
        assert_eq!(objects(&[0x3c, 1]).1, Some(ObjectError::Truncated));
        // Reserved range code.
        assert_eq!(
            objects(&[1, 2, 0x0a]).1,
            Some(ObjectError::ReservedQualifier(0x0a))
        );
        assert!(matches!(
            objects(&[1, 2, 0, 5, 4]).1,
            Some(ObjectError::BadRange { .. })
        ));
        // Caps.
        let limits = Limits {
            max_objects: 2,
            max_points: 3,
        };
        let mut it = Objects::new(&[0x3c, 2, 6, 0x3c, 3, 6, 0x3c, 4, 6], limits);
        assert_eq!(it.by_ref().count(), 2);
        assert_eq!(it.error(), Some(ObjectError::TooManyObjects));
        let mut it = Objects::new(&[1, 1, 0, 0, 9, 0, 0], limits);
        assert_eq!(it.by_ref().count(), 0);
        assert_eq!(it.error(), Some(ObjectError::TooManyPoints));
    }

    #[test]
    fn read_requests_carry_headers_only() {
        // Read g30v1 0..=4 (dnp3_opendnp3.pcap, frame 60): 1E 01 01 00 00 04 00.
        let buf = [0x1e, 0x01, 0x01, 0, 0, 4, 0];
        let mut it = Objects::headers_only(&buf, Limits::default());
        let o: Vec<_> = it.by_ref().collect();
        assert_eq!(it.error(), None);
        assert_eq!(
            (o[0].group, o[0].start, o[0].stop, o[0].count),
            (30, 0, 4, 5)
        );
        assert_eq!(o[0].points().count(), 0);
        assert_eq!(objects(&buf).1, Some(ObjectError::Truncated));
    }

    #[test]
    fn point_cap_comes_before_the_data() {
        // dnp3-max-points capture: write g1v1, 2-octet range 0..=65534, data cut short.
        let (o, e) = objects(&[1, 1, 1, 0, 0, 0xfe, 0xff, 0, 0]);
        assert!(o.is_empty());
        assert_eq!(e, Some(ObjectError::TooManyPoints));
    }

    #[test]
    fn fixed_sizes_match_the_spec() {
        let size = |g, v| match layout(g, v) {
            Layout::Fixed { size, .. } => size,
            other => panic!("{g}/{v}: {other:?}"),
        };
        // IEEE 1815 object sizes.
        assert_eq!(size(2, 2), 7);
        assert_eq!(size(12, 1), 11);
        assert_eq!(size(20, 1), 5);
        assert_eq!(size(21, 5), 11);
        assert_eq!(size(30, 6), 9);
        assert_eq!(size(32, 8), 15);
        assert_eq!(size(41, 4), 9);
        assert_eq!(size(43, 7), 11);
        assert_eq!(size(50, 4), 11);
        assert_eq!(size(52, 2), 2);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let limits = Limits { max_objects: 16, max_points: 1000 };
            for o in Objects::new(&bytes, limits) {
                for p in o.points() {
                    for _ in p.fields() {}
                }
            }
        }
    }
}
