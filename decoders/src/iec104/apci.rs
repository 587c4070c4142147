//! The APCI (IEC 60870-5-104, clause 5): start byte 0x68, the APDU's length, and a four-octet
//! control field whose low bits choose the format — I (numbered information transfer, an ASDU
//! follows), S (numbered supervisory: an acknowledgement) or U (unnumbered control: STARTDT,
//! STOPDT, TESTFR).

/// The start byte of every APDU.
pub const START: u8 = 0x68;
/// APCI length: start byte, length octet and control field.
pub const LEN: usize = 6;
/// The largest APDU length octet (control field and ASDU).
pub const MAX_LENGTH: u8 = 253;
/// Sequence numbers count modulo 2^15.
pub const MODULO: u16 = 1 << 15;

/// The unnumbered control functions: exactly one of the six bits is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UFunction {
    StartDtAct,
    StartDtCon,
    StopDtAct,
    StopDtCon,
    TestFrAct,
    TestFrCon,
}

impl UFunction {
    /// Every function with its control-octet bit.
    pub const ALL: [(UFunction, u8); 6] = [
        (UFunction::StartDtAct, 0x04),
        (UFunction::StartDtCon, 0x08),
        (UFunction::StopDtAct, 0x10),
        (UFunction::StopDtCon, 0x20),
        (UFunction::TestFrAct, 0x40),
        (UFunction::TestFrCon, 0x80),
    ];

    fn from_bits(bits: u8) -> Option<Self> {
        Self::ALL.iter().find(|(_, b)| *b == bits).map(|(f, _)| *f)
    }

    /// The name tshark and the standard use (`STARTDT act`) as EVE spells it.
    pub fn name(self) -> &'static str {
        match self {
            UFunction::StartDtAct => "startdt_act",
            UFunction::StartDtCon => "startdt_con",
            UFunction::StopDtAct => "stopdt_act",
            UFunction::StopDtCon => "stopdt_con",
            UFunction::TestFrAct => "testfr_act",
            UFunction::TestFrCon => "testfr_con",
        }
    }
}

/// A control field, read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apci {
    /// Information transfer: the sender's send and receive sequence numbers.
    I { send: u16, recv: u16 },
    /// Supervisory: the receive sequence number (the count of I-frames acknowledged).
    S { recv: u16 },
    /// Unnumbered control: `None` when the function bits name no single function.
    U(Option<UFunction>),
}

/// Control-field oddities a well-framed APDU may still carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ControlError {
    /// A U-frame's function bits set none or several functions.
    UFunction(u8),
    /// A U-frame's octets 2 to 4, or an S-frame's octet 2, are not zero.
    Reserved,
    /// An S- or U-frame whose length is not 4, or an I-frame too short for an ASDU header.
    Length(u8),
}

impl Apci {
    /// Reads a control field (four octets).
    pub fn read(c: [u8; 4]) -> Self {
        let seq = |lo: u8, hi: u8| (u16::from(lo) >> 1) | (u16::from(hi) << 7);
        if c[0] & 0x01 == 0 {
            Apci::I {
                send: seq(c[0], c[1]),
                recv: seq(c[2], c[3]),
            }
        } else if c[0] & 0x03 == 0x01 {
            Apci::S {
                recv: seq(c[2], c[3]),
            }
        } else {
            Apci::U(UFunction::from_bits(c[0] & 0xfc))
        }
    }

    /// What is wrong with a control field `c` in an APDU of length octet `len`.
    pub fn check(c: [u8; 4], len: u8) -> Option<ControlError> {
        match Apci::read(c) {
            Apci::I { .. } if usize::from(len) < 4 + super::asdu::HEADER_LEN => {
                Some(ControlError::Length(len))
            }
            Apci::I { .. } => None,
            _ if len != 4 => Some(ControlError::Length(len)),
            Apci::S { .. } if c[0] & 0xfc != 0 || c[1] != 0 => Some(ControlError::Reserved),
            Apci::S { .. } => None,
            Apci::U(None) => Some(ControlError::UFunction(c[0] & 0xfc)),
            Apci::U(Some(_)) if c[1..] != [0, 0, 0] => Some(ControlError::Reserved),
            Apci::U(Some(_)) => None,
        }
    }

    /// The format's letter, as the standard names it.
    pub fn format(&self) -> char {
        match self {
            Apci::I { .. } => 'I',
            Apci::S { .. } => 'S',
            Apci::U(_) => 'U',
        }
    }
}
