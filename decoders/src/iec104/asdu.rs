//! The ASDU (IEC 60870-5-101, clause 7, with the field sizes 104 fixes): type identification,
//! variable structure qualifier, a two-octet cause of transmission (cause, P/N and test bits,
//! originator address), a two-octet common address and the information objects, each a
//! three-octet information object address (IOA) and the type's element.
//!
//! Every standard type of 101/104 is known with its element's size, so the objects are framed
//! exactly, and an ASDU whose length disagrees with its type and count is told apart from one
//! that is merely of a type this table lacks.

use core::fmt;

use super::element::Element;

/// Type id, qualifier, cause (2), common address (2).
pub const HEADER_LEN: usize = 6;
/// An information object address.
pub const IOA_LEN: usize = 3;

/// Which time tag ends a type's element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeTag {
    None,
    /// CP24Time2a: milliseconds and minutes (101 only, seen on 104 links in the wild).
    Cp24,
    /// CP56Time2a: a full date and time to the millisecond.
    Cp56,
}

/// What a type carries and which way it goes (101, 7.2.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Process information in the monitor direction (`M_`).
    Monitor,
    /// Process information in the control direction: commands and set-points (`C_`).
    Control,
    /// System information in the monitor direction (end of initialisation).
    SystemMonitor,
    /// System information in the control direction: interrogation, clock sync, reset …
    SystemControl,
    /// Parameters in the control direction (`P_`).
    Parameter,
    /// File transfer (`F_`).
    File,
}

/// One standard type identification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeInfo {
    pub id: u8,
    /// The standard's mnemonic, `M_SP_NA_1`.
    pub name: &'static str,
    /// The element's length in octets, time tag included; for `F_SG_NA_1` the fixed part
    /// before the segment.
    pub len: u8,
    pub time: TimeTag,
    pub class: Class,
}

const fn t(id: u8, name: &'static str, len: u8, time: TimeTag, class: Class) -> TypeInfo {
    TypeInfo {
        id,
        name,
        len,
        time,
        class,
    }
}

use Class::{Control, File, Monitor, Parameter, SystemControl, SystemMonitor};
use TimeTag::{Cp24, Cp56, None as NoTime};

/// The standard types of IEC 60870-5-101 and -104 (101 Table 8 and 104 clause 8), in id order.
pub const TYPES: [TypeInfo; 67] = [
    t(1, "M_SP_NA_1", 1, NoTime, Monitor),
    t(2, "M_SP_TA_1", 4, Cp24, Monitor),
    t(3, "M_DP_NA_1", 1, NoTime, Monitor),
    t(4, "M_DP_TA_1", 4, Cp24, Monitor),
    t(5, "M_ST_NA_1", 2, NoTime, Monitor),
    t(6, "M_ST_TA_1", 5, Cp24, Monitor),
    t(7, "M_BO_NA_1", 5, NoTime, Monitor),
    t(8, "M_BO_TA_1", 8, Cp24, Monitor),
    t(9, "M_ME_NA_1", 3, NoTime, Monitor),
    t(10, "M_ME_TA_1", 6, Cp24, Monitor),
    t(11, "M_ME_NB_1", 3, NoTime, Monitor),
    t(12, "M_ME_TB_1", 6, Cp24, Monitor),
    t(13, "M_ME_NC_1", 5, NoTime, Monitor),
    t(14, "M_ME_TC_1", 8, Cp24, Monitor),
    t(15, "M_IT_NA_1", 5, NoTime, Monitor),
    t(16, "M_IT_TA_1", 8, Cp24, Monitor),
    t(17, "M_EP_TA_1", 6, Cp24, Monitor),
    t(18, "M_EP_TB_1", 7, Cp24, Monitor),
    t(19, "M_EP_TC_1", 7, Cp24, Monitor),
    t(20, "M_PS_NA_1", 5, NoTime, Monitor),
    t(21, "M_ME_ND_1", 2, NoTime, Monitor),
    t(30, "M_SP_TB_1", 8, Cp56, Monitor),
    t(31, "M_DP_TB_1", 8, Cp56, Monitor),
    t(32, "M_ST_TB_1", 9, Cp56, Monitor),
    t(33, "M_BO_TB_1", 12, Cp56, Monitor),
    t(34, "M_ME_TD_1", 10, Cp56, Monitor),
    t(35, "M_ME_TE_1", 10, Cp56, Monitor),
    t(36, "M_ME_TF_1", 12, Cp56, Monitor),
    t(37, "M_IT_TB_1", 12, Cp56, Monitor),
    t(38, "M_EP_TD_1", 10, Cp56, Monitor),
    t(39, "M_EP_TE_1", 11, Cp56, Monitor),
    t(40, "M_EP_TF_1", 11, Cp56, Monitor),
    t(45, "C_SC_NA_1", 1, NoTime, Control),
    t(46, "C_DC_NA_1", 1, NoTime, Control),
    t(47, "C_RC_NA_1", 1, NoTime, Control),
    t(48, "C_SE_NA_1", 3, NoTime, Control),
    t(49, "C_SE_NB_1", 3, NoTime, Control),
    t(50, "C_SE_NC_1", 5, NoTime, Control),
    t(51, "C_BO_NA_1", 4, NoTime, Control),
    t(58, "C_SC_TA_1", 8, Cp56, Control),
    t(59, "C_DC_TA_1", 8, Cp56, Control),
    t(60, "C_RC_TA_1", 8, Cp56, Control),
    t(61, "C_SE_TA_1", 10, Cp56, Control),
    t(62, "C_SE_TB_1", 10, Cp56, Control),
    t(63, "C_SE_TC_1", 12, Cp56, Control),
    t(64, "C_BO_TA_1", 11, Cp56, Control),
    t(70, "M_EI_NA_1", 1, NoTime, SystemMonitor),
    t(100, "C_IC_NA_1", 1, NoTime, SystemControl),
    t(101, "C_CI_NA_1", 1, NoTime, SystemControl),
    t(102, "C_RD_NA_1", 0, NoTime, SystemControl),
    t(103, "C_CS_NA_1", 7, Cp56, SystemControl),
    t(104, "C_TS_NA_1", 2, NoTime, SystemControl),
    t(105, "C_RP_NA_1", 1, NoTime, SystemControl),
    t(106, "C_CD_NA_1", 2, NoTime, SystemControl),
    t(107, "C_TS_TA_1", 9, Cp56, SystemControl),
    t(110, "P_ME_NA_1", 3, NoTime, Parameter),
    t(111, "P_ME_NB_1", 3, NoTime, Parameter),
    t(112, "P_ME_NC_1", 5, NoTime, Parameter),
    t(113, "P_AC_NA_1", 1, NoTime, Parameter),
    t(120, "F_FR_NA_1", 6, NoTime, File),
    t(121, "F_SR_NA_1", 7, NoTime, File),
    t(122, "F_SC_NA_1", 4, NoTime, File),
    t(123, "F_LS_NA_1", 5, NoTime, File),
    t(124, "F_AF_NA_1", 4, NoTime, File),
    t(125, "F_SG_NA_1", 4, NoTime, File),
    t(126, "F_DR_TA_1", 13, Cp56, File),
    t(127, "F_SC_NB_1", 16, Cp56, File),
];

/// `F_SG_NA_1`, the one type whose element's length is in the element.
pub const F_SG_NA_1: u8 = 125;
/// `F_DR_TA_1`, a directory: the one file-transfer type with one object a file.
pub const F_DR_TA_1: u8 = 126;

/// A standard type by id.
pub fn type_info(id: u8) -> Option<&'static TypeInfo> {
    TYPES
        .binary_search_by_key(&id, |t| t.id)
        .ok()
        .map(|i| &TYPES[i])
}

/// A standard type by its mnemonic (any case; `_1` may be left off).
pub fn type_by_name(name: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| {
        t.name.eq_ignore_ascii_case(name)
            || t.name
                .strip_suffix("_1")
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

/// Causes of transmission (101, 7.2.3), as EVE names them; index is the cause.
const CAUSES: [&str; 48] = [
    "not_used",
    "periodic",
    "background",
    "spontaneous",
    "initialized",
    "request",
    "activation",
    "activation_con",
    "deactivation",
    "deactivation_con",
    "activation_term",
    "return_remote",
    "return_local",
    "file_transfer",
    "",
    "",
    "",
    "",
    "",
    "",
    "interrogated_station",
    "interrogated_group_1",
    "interrogated_group_2",
    "interrogated_group_3",
    "interrogated_group_4",
    "interrogated_group_5",
    "interrogated_group_6",
    "interrogated_group_7",
    "interrogated_group_8",
    "interrogated_group_9",
    "interrogated_group_10",
    "interrogated_group_11",
    "interrogated_group_12",
    "interrogated_group_13",
    "interrogated_group_14",
    "interrogated_group_15",
    "interrogated_group_16",
    "counter_request_general",
    "counter_request_group_1",
    "counter_request_group_2",
    "counter_request_group_3",
    "counter_request_group_4",
    "",
    "",
    "unknown_type_id",
    "unknown_cause",
    "unknown_common_address",
    "unknown_ioa",
];

/// The name of cause `c` (0 to 63), if the standard defines it.
pub fn cause_name(c: u8) -> Option<&'static str> {
    CAUSES
        .get(usize::from(c))
        .copied()
        .filter(|n| !n.is_empty())
}

/// A cause by name or number.
pub fn cause_by_name(name: &str) -> Option<u8> {
    if let Ok(n) = name.parse::<u8>() {
        return (n < 64).then_some(n);
    }
    CAUSES
        .iter()
        .position(|n| !n.is_empty() && n.eq_ignore_ascii_case(name))
        .and_then(|i| u8::try_from(i).ok())
}

/// The cause of transmission field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cot {
    /// The cause, 0 to 63.
    pub cause: u8,
    /// P/N: the confirmation is negative.
    pub negative: bool,
    /// T: the ASDU is a test, not to be acted on.
    pub test: bool,
    /// The originator address (0: none).
    pub originator: u8,
}

/// Why an ASDU's objects cannot be read as its header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AsduError {
    /// Shorter than the ASDU header.
    Short,
    /// A type id no standard defines (0, 22–29, 41–44, 52–57, 65–69, 71–99, 108, 109,
    /// 114–119, 128 up: private ranges included).
    UnknownType(u8),
    /// The qualifier's count of objects is zero.
    NoObjects,
    /// The objects' length is not what the type and count require.
    Length { expected: usize, actual: usize },
    /// SQ set, or more than one object, on a type that carries one: only monitor-direction
    /// process information comes in numbers.
    Structure,
}

impl fmt::Display for AsduError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsduError::Short => write!(f, "ASDU shorter than its {HEADER_LEN}-octet header"),
            AsduError::UnknownType(t) => write!(f, "type id {t} is not a standard type"),
            AsduError::NoObjects => write!(f, "variable structure qualifier counts no objects"),
            AsduError::Length { expected, actual } => write!(
                f,
                "information objects take {actual} octets where type and count need {expected}"
            ),
            AsduError::Structure => write!(f, "SQ or several objects on a type that carries one"),
        }
    }
}

/// An ASDU, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asdu<'a> {
    bytes: &'a [u8],
}

impl<'a> Asdu<'a> {
    /// The ASDU in `bytes`, if it holds a header; read it with [`Asdu::check`] before trusting
    /// [`Asdu::objects`] to be complete.
    pub fn new(bytes: &'a [u8]) -> Option<Self> {
        (bytes.len() >= HEADER_LEN).then_some(Asdu { bytes })
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn type_id(&self) -> u8 {
        self.bytes[0]
    }

    pub fn type_info(&self) -> Option<&'static TypeInfo> {
        type_info(self.type_id())
    }

    /// SQ: one IOA, then `count` elements at consecutive addresses.
    pub fn sequence(&self) -> bool {
        self.bytes[1] & 0x80 != 0
    }

    /// The number of information objects (or elements, with SQ).
    pub fn count(&self) -> u8 {
        self.bytes[1] & 0x7f
    }

    pub fn cot(&self) -> Cot {
        let c = self.bytes[2];
        Cot {
            cause: c & 0x3f,
            negative: c & 0x40 != 0,
            test: c & 0x80 != 0,
            originator: self.bytes[3],
        }
    }

    /// The common address of the ASDU: the station (or sector) it concerns.
    pub fn common_address(&self) -> u16 {
        u16::from_le_bytes([self.bytes[4], self.bytes[5]])
    }

    fn body(&self) -> &'a [u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// Whether the objects are what the header says.
    pub fn check(&self) -> Result<&'static TypeInfo, AsduError> {
        let ty = self
            .type_info()
            .ok_or(AsduError::UnknownType(self.type_id()))?;
        let count = usize::from(self.count());
        if count == 0 {
            return Err(AsduError::NoObjects);
        }
        // Only monitored information comes in numbers, and a directory: one object a file.
        if ty.class != Class::Monitor && ty.id != F_DR_TA_1 && (self.sequence() || count > 1) {
            return Err(AsduError::Structure);
        }
        let actual = self.body().len();
        let element = match ty.id {
            F_SG_NA_1 => {
                usize::from(ty.len) + usize::from(*self.body().get(IOA_LEN + 3).unwrap_or(&0))
            }
            _ => usize::from(ty.len),
        };
        let expected = if self.sequence() {
            IOA_LEN + count * element
        } else {
            count * (IOA_LEN + element)
        };
        if expected != actual {
            return Err(AsduError::Length { expected, actual });
        }
        Ok(ty)
    }

    /// The information objects, as far as the bytes hold them: an ASDU of an unknown type has
    /// none, and one cut short ends at its last whole object.
    pub fn objects(&self) -> Objects<'a> {
        let ty = self.type_info();
        Objects {
            ty: ty.map_or(0, |t| t.id),
            element: ty.map_or(0, |t| usize::from(t.len)),
            sequence: self.sequence(),
            remaining: if ty.is_some() { self.count() } else { 0 },
            base: None,
            rest: self.body(),
        }
    }
}

/// An information object: its address and element.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Object<'a> {
    pub ioa: u32,
    pub element: Element<'a>,
}

/// The information objects of an ASDU, in order.
#[derive(Clone, Debug)]
pub struct Objects<'a> {
    ty: u8,
    element: usize,
    sequence: bool,
    remaining: u8,
    /// With SQ, the next element's address.
    base: Option<u32>,
    rest: &'a [u8],
}

fn ioa(b: &[u8]) -> Option<u32> {
    match b {
        [a, b, c, ..] => Some(u32::from_le_bytes([*a, *b, *c, 0])),
        _ => None,
    }
}

impl<'a> Iterator for Objects<'a> {
    type Item = Object<'a>;

    fn next(&mut self) -> Option<Object<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let address = match self.base {
            Some(a) if self.sequence => a,
            _ => {
                let a = ioa(self.rest)?;
                self.rest = &self.rest[IOA_LEN..];
                a
            }
        };
        let len = match self.ty {
            F_SG_NA_1 => self.element + usize::from(*self.rest.get(3)?),
            _ => self.element,
        };
        let Some(bytes) = self.rest.get(..len) else {
            self.remaining = 0;
            return None;
        };
        self.rest = &self.rest[len..];
        self.base = Some(address.wrapping_add(1) & 0x00ff_ffff);
        Some(Object {
            ioa: address,
            element: Element::new(self.ty, bytes),
        })
    }
}
