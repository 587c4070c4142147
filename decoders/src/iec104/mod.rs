//! IEC 60870-5-104: telecontrol of power systems over TCP 2404. Each APDU is an APCI — start
//! byte, length, control field — and, in an I-frame, an ASDU of IEC 60870-5-101's application
//! layer with 104's field sizes (two-octet cause and common address, three-octet object
//! addresses).
//!
//! The start byte and length octet frame the stream; whatever the control field or ASDU says,
//! an APDU of a sound length is returned whole, with its oddities named by [`Apdu::anomaly`].
//!
//! * [`apci`]: the control field: I, S and U formats, sequence numbers.
//! * [`asdu`]: the ASDU header, the standard types and the information objects.
//! * [`element`]: what each type's information element carries.

pub mod apci;
pub mod asdu;
pub mod element;

pub use apci::{Apci, ControlError, UFunction};
pub use asdu::{
    cause_name, type_by_name, type_info, Asdu, AsduError, Class, Cot, Object, TypeInfo,
};
pub use element::{Command, Cp56, Element, FileRef, Quality, Time, Value};

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered port.
pub const PORT: u16 = 2404;

/// Why the front of a stream is not an APDU: its framing cannot be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The first octet is not 0x68.
    Start(u8),
    /// A length octet below 4 (no room for the control field) or above 253.
    Length(u8),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Start(b) => write!(f, "start byte {b:#04x} is not 0x68"),
            Error::Length(l) => write!(f, "APDU length {l} outside 4..=253"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::Start(_) => "iec104.invalid_start",
            Error::Length(_) => "iec104.invalid_length",
        }
    }
}

/// What is odd about a well-framed APDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Anomaly {
    Control(ControlError),
    Asdu(AsduError),
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::Control(ControlError::UFunction(b)) => {
                write!(f, "U-frame function bits {b:#04x} name no single function")
            }
            Anomaly::Control(ControlError::Reserved) => {
                write!(f, "reserved control field bits are set")
            }
            Anomaly::Control(ControlError::Length(l)) => {
                write!(f, "APDU length {l} does not fit its format")
            }
            Anomaly::Asdu(e) => e.fmt(f),
        }
    }
}

impl AnomalyName for Anomaly {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Anomaly::Control(ControlError::UFunction(_)) => "iec104.invalid_u_function",
            Anomaly::Control(ControlError::Reserved) => "iec104.reserved_bits",
            Anomaly::Control(ControlError::Length(_)) => "iec104.invalid_apdu_length",
            Anomaly::Asdu(AsduError::Short) => "iec104.short_asdu",
            Anomaly::Asdu(AsduError::UnknownType(_)) => "iec104.unknown_type_id",
            Anomaly::Asdu(AsduError::NoObjects) => "iec104.no_objects",
            Anomaly::Asdu(AsduError::Length { .. }) => "iec104.invalid_asdu_length",
            Anomaly::Asdu(AsduError::Structure) => "iec104.invalid_structure",
        }
    }
}

/// One APDU, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Apdu<'a> {
    /// The whole APDU as sent.
    pub bytes: &'a [u8],
    pub control: [u8; 4],
    pub apci: Apci,
}

impl<'a> Apdu<'a> {
    /// The length octet: control field and ASDU.
    pub fn length(&self) -> u8 {
        self.bytes[1]
    }

    /// An I-frame's ASDU, if its header is whole.
    pub fn asdu(&self) -> Option<Asdu<'a>> {
        match self.apci {
            Apci::I { .. } => Asdu::new(&self.bytes[apci::LEN..]),
            _ => None,
        }
    }

    /// The first thing wrong with the APDU, if anything is.
    pub fn anomaly(&self) -> Option<Anomaly> {
        if let Some(e) = Apci::check(self.control, self.length()) {
            return Some(Anomaly::Control(e));
        }
        match self.apci {
            Apci::I { .. } => match self.asdu() {
                None => Some(Anomaly::Asdu(AsduError::Short)),
                Some(a) => a.check().err().map(Anomaly::Asdu),
            },
            _ => None,
        }
    }
}

fn frame(buf: &[u8]) -> Result<Option<usize>, Error> {
    let Some(&start) = buf.first() else {
        return Ok(None);
    };
    if start != apci::START {
        return Err(Error::Start(start));
    }
    let Some(&len) = buf.get(1) else {
        return Ok(None);
    };
    if !(4..=apci::MAX_LENGTH).contains(&len) {
        return Err(Error::Length(len));
    }
    Ok(Some(2 + usize::from(len)))
}

fn view(bytes: &[u8]) -> Apdu<'_> {
    let control = [bytes[2], bytes[3], bytes[4], bytes[5]];
    Apdu {
        bytes,
        control,
        apci: Apci::read(control),
    }
}

/// Whether the first payload of a direction starts an APDU: the start byte, a length that
/// fits the control field's format, a clean control field and, for an I-frame, a standard
/// type whose objects fill the ASDU exactly (once all of it has come).
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    let len = match frame(bytes) {
        Err(_) => return Probe::NoMatch,
        Ok(None) => return Probe::NeedMore,
        Ok(Some(len)) => len,
    };
    if bytes.len() < apci::LEN {
        return Probe::NeedMore;
    }
    let apdu = view(&bytes[..len.min(bytes.len())]);
    if Apci::check(apdu.control, apdu.length()).is_some() {
        return Probe::NoMatch;
    }
    let Apci::I { .. } = apdu.apci else {
        return Probe::Match;
    };
    match bytes.get(apci::LEN) {
        None => Probe::NeedMore,
        Some(&t) if type_info(t).is_none() => Probe::NoMatch,
        Some(_) if bytes.len() < len => Probe::NeedMore,
        Some(_) => match apdu.asdu().map(|a| a.check()) {
            Some(Ok(_)) => Probe::Match,
            _ => Probe::NoMatch,
        },
    }
}

/// Frames APDUs.
#[derive(Clone, Debug, Default)]
pub struct Iec104Parser;

impl StreamParser for Iec104Parser {
    type Pdu<'a> = Apdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Iec104;
    const MAX_PDU: usize = 2 + apci::MAX_LENGTH as usize;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Apdu<'a>, Error> {
        match frame(buf) {
            Err(e) => Parsed::Invalid(e),
            Ok(None) => Parsed::Incomplete {
                needed: apci::LEN - buf.len(),
            },
            Ok(Some(len)) => Parsed::take(buf, len, view),
        }
    }
}

#[cfg(test)]
mod tests;
