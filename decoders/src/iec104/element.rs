//! Information elements (IEC 60870-5-101, 7.2.6): what an object carries, read by type. The
//! element is the object's bytes after its address, time tag included; every accessor reads
//! within them and answers `None` for a type that has no such part.

use core::fmt;

use super::asdu::{type_info, TimeTag};

/// One information element, borrowed, with the type it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element<'a> {
    ty: u8,
    bytes: &'a [u8],
}

/// The process value of an element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    /// Single-point information or single command state: on.
    Single(bool),
    /// Double-point information or double/regulating command state (0 to 3).
    Double(u8),
    /// Step position: -64 to 63, and whether the equipment is in transient state.
    Step {
        value: i8,
        transient: bool,
    },
    /// A 32-bit string (bitstring, packed single points with change detection).
    Bits(u32),
    /// A normalised value, -1 to 1 - 2^-15, as its raw 16 bits.
    Normalized(i16),
    Scaled(i16),
    Float(f32),
    /// An integrated total (binary counter reading) and its sequence number.
    Counter {
        value: i32,
        sequence: u8,
    },
}

impl Value {
    /// The value as a number, for envelopes and comparisons.
    pub fn number(self) -> f64 {
        match self {
            Value::Single(b) => f64::from(u8::from(b)),
            Value::Double(d) => f64::from(d),
            Value::Step { value, .. } => f64::from(value),
            Value::Bits(b) => f64::from(b),
            Value::Normalized(n) => f64::from(n) / 32768.0,
            Value::Scaled(s) => f64::from(s),
            Value::Float(f) => f64::from(f),
            Value::Counter { value, .. } => f64::from(value),
        }
    }
}

/// Quality descriptor flags (QDS, and the quality bits of SIQ, DIQ, BCR, SEP, QDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Quality(pub u8);

impl Quality {
    /// Overflow (QDS), or a counter's carry (BCR).
    pub const OV: u8 = 0x01;
    /// Elapsed time invalid (SEP, QDP).
    pub const EI: u8 = 0x08;
    pub const BL: u8 = 0x10;
    pub const SB: u8 = 0x20;
    pub const NT: u8 = 0x40;
    pub const IV: u8 = 0x80;
    /// The flags by name, in the standard's order.
    pub const NAMES: [(u8, &'static str); 6] = [
        (Self::OV, "OV"),
        (Self::EI, "EI"),
        (Self::BL, "BL"),
        (Self::SB, "SB"),
        (Self::NT, "NT"),
        (Self::IV, "IV"),
    ];

    pub fn is_good(self) -> bool {
        self.0 == 0
    }

    /// The names of the flags set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(b, _)| self.0 & b != 0)
            .map(|(_, n)| n)
    }
}

/// The qualifier of a command or set-point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command {
    /// S/E: select (true) or execute.
    pub select: bool,
    /// QU of a command (0 no additional definition, 1 short pulse, 2 long pulse,
    /// 3 persistent) or QL of a set-point.
    pub qualifier: u8,
}

/// A seven-octet binary time (CP56Time2a).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cp56 {
    /// Milliseconds into the minute, 0 to 59,999.
    pub ms: u16,
    pub minute: u8,
    pub hour: u8,
    pub day: u8,
    /// 1 Monday to 7 Sunday; 0 not used.
    pub weekday: u8,
    pub month: u8,
    /// Years past 2000, 0 to 99.
    pub year: u8,
    /// IV: the time is not valid.
    pub invalid: bool,
    /// SU: summer time.
    pub summer: bool,
}

impl Cp56 {
    pub fn read(b: &[u8]) -> Option<Self> {
        let b: &[u8; 7] = b.get(..7)?.try_into().ok()?;
        Some(Cp56 {
            ms: u16::from_le_bytes([b[0], b[1]]),
            minute: b[2] & 0x3f,
            invalid: b[2] & 0x80 != 0,
            hour: b[3] & 0x1f,
            summer: b[3] & 0x80 != 0,
            day: b[4] & 0x1f,
            weekday: b[4] >> 5,
            month: b[5] & 0x0f,
            year: b[6] & 0x7f,
        })
    }

    /// Whether the fields are a possible date and time.
    pub fn is_plausible(&self) -> bool {
        self.ms < 60_000
            && self.minute < 60
            && self.hour < 24
            && (1..=31).contains(&self.day)
            && (1..=12).contains(&self.month)
    }
}

/// ISO 8601 as the device states it (no time zone: the standard leaves it to the system).
impl fmt::Display for Cp56 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}",
            2000 + u16::from(self.year),
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.ms / 1000,
            self.ms % 1000
        )
    }
}

/// A time tag: CP56Time2a, or the three-octet CP24Time2a of the `_TA_` types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    Cp56(Cp56),
    Cp24 { ms: u16, minute: u8, invalid: bool },
}

/// What a file-transfer element names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// NOF: the name of the file.
    pub name: u16,
    /// NOS: the name of the section, where the type has one.
    pub section: Option<u8>,
    /// LOF/LOS: the length of the file, section or segment.
    pub length: Option<u32>,
}

fn i16_le(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u24_le(b: &[u8], at: usize) -> Option<u32> {
    let b = b.get(at..at + 3)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

impl<'a> Element<'a> {
    pub fn new(ty: u8, bytes: &'a [u8]) -> Self {
        Element { ty, bytes }
    }

    pub fn type_id(&self) -> u8 {
        self.ty
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    /// The process value: monitored information, a command's state or a set-point's value.
    pub fn value(&self) -> Option<Value> {
        let b = self.bytes;
        Some(match self.ty {
            1 | 2 | 30 | 45 | 58 => Value::Single(self.at(0)? & 0x01 != 0),
            3 | 4 | 31 | 46 | 59 | 47 | 60 => Value::Double(self.at(0)? & 0x03),
            5 | 6 | 32 => {
                let v = self.at(0)?;
                // Seven-bit two's complement.
                let value = ((v << 1) as i8) >> 1;
                Value::Step {
                    value,
                    transient: v & 0x80 != 0,
                }
            }
            7 | 8 | 33 | 51 | 64 | 20 => Value::Bits(u32_le(b, 0)?),
            9 | 10 | 34 | 21 | 48 | 61 | 110 => Value::Normalized(i16_le(b, 0)?),
            11 | 12 | 35 | 49 | 62 | 111 => Value::Scaled(i16_le(b, 0)?),
            13 | 14 | 36 | 50 | 63 | 112 => {
                Value::Float(f32::from_le_bytes(b.get(..4)?.try_into().ok()?))
            }
            15 | 16 | 37 => Value::Counter {
                value: u32_le(b, 0)? as i32,
                sequence: self.at(4)? & 0x1f,
            },
            _ => return None,
        })
    }

    /// The quality flags of monitored information.
    pub fn quality(&self) -> Option<Quality> {
        let q = match self.ty {
            // SIQ, DIQ: the quality bits share the octet with the value.
            1..=4 | 30 | 31 => self.at(0)? & 0xf0,
            // VTI + QDS.
            5 | 6 | 32 => self.at(1)? & 0xf1,
            7 | 8 | 33 | 13 | 14 | 36 | 20 => self.at(4)? & 0xf1,
            9..=12 | 34 | 35 => self.at(2)? & 0xf1,
            // BCR: CY is overflow's counterpart; CA and SQ are not quality.
            15 | 16 | 37 => (self.at(4)? & 0x80) | u8::from(self.at(4)? & 0x20 != 0),
            // SEP carries its own quality; SPE/OCI are followed by QDP.
            17 | 38 => self.at(0)? & 0xf8,
            18 | 19 | 39 | 40 => self.at(1)? & 0xf8,
            _ => return None,
        };
        Some(Quality(q))
    }

    /// The qualifier of a command or set-point.
    pub fn command(&self) -> Option<Command> {
        let q = match self.ty {
            45..=47 | 58..=60 => {
                let c = self.at(0)?;
                return Some(Command {
                    select: c & 0x80 != 0,
                    qualifier: (c >> 2) & 0x1f,
                });
            }
            48 | 49 | 61 | 62 => self.at(2)?,
            50 | 63 => self.at(4)?,
            _ => return None,
        };
        Some(Command {
            select: q & 0x80 != 0,
            qualifier: q & 0x7f,
        })
    }

    /// The qualifier of a system or parameter element: COI (end of initialisation), QOI
    /// (interrogation), QCC (counter interrogation), QRP (reset process), QPM (parameter of
    /// measured value), QPA (parameter activation).
    pub fn qualifier(&self) -> Option<u8> {
        match self.ty {
            70 | 100 | 101 | 105 | 113 => self.at(0),
            110 | 111 => self.at(2),
            112 => self.at(4),
            _ => None,
        }
    }

    /// The element's time tag.
    pub fn time(&self) -> Option<Time> {
        match type_info(self.ty)?.time {
            TimeTag::None => None,
            TimeTag::Cp24 => {
                let b = self.bytes.get(self.bytes.len().checked_sub(3)?..)?;
                Some(Time::Cp24 {
                    ms: u16::from_le_bytes([b[0], b[1]]),
                    minute: b[2] & 0x3f,
                    invalid: b[2] & 0x80 != 0,
                })
            }
            TimeTag::Cp56 => {
                let at = self.bytes.len().checked_sub(7)?;
                Cp56::read(&self.bytes[at..]).map(Time::Cp56)
            }
        }
    }

    /// A CP16Time2a: elapsed time of a protection event, relay operating time, or the delay
    /// of a delay acquisition command, in milliseconds.
    pub fn elapsed(&self) -> Option<u16> {
        let at = match self.ty {
            17 | 38 => 1,
            18 | 19 | 39 | 40 => 2,
            106 => 0,
            _ => return None,
        };
        Some(u16::from_le_bytes(
            self.bytes.get(at..at + 2)?.try_into().ok()?,
        ))
    }

    /// What a file-transfer element names.
    pub fn file(&self) -> Option<FileRef> {
        let b = self.bytes;
        let name = u16::from_le_bytes(b.get(..2)?.try_into().ok()?);
        let (section, length) = match self.ty {
            120 | 126 => (None, u24_le(b, 2)),
            121 => (self.at(2), u24_le(b, 3)),
            122..=124 => (self.at(2), None),
            125 => (self.at(2), self.at(3).map(u32::from)),
            127 => (None, None),
            _ => return None,
        };
        Some(FileRef {
            name,
            section,
            length,
        })
    }
}
