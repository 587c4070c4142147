//! Function codes and the names Suricata gives them.
//!
//! Suricata's Modbus EVE (through the `sawp-modbus` crate) names every function, access type,
//! code category, error flag, diagnostic sub-function, MEI type and exception code; the names
//! here are spelled exactly as it writes them, so that rules and dashboards built on Suricata's
//! output read ours unchanged.

use core::fmt;

/// The exception bit a server sets in the function code of an exception response.
pub const EXCEPTION_BIT: u8 = 0x80;

/// Most coils or discrete inputs one request may read or write.
pub const MAX_BITS: u16 = 2000;
/// Most registers one request may read or write.
pub const MAX_WORDS: u16 = 125;

/// A public function code, by its `sawp-modbus` name; anything else is `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FunctionCode {
    RdCoils,
    RdDiscreteInputs,
    RdHoldRegs,
    RdInputRegs,
    WrSingleCoil,
    WrSingleReg,
    RdExcStatus,
    Diagnostic,
    Program484,
    Poll484,
    GetCommEventCtr,
    GetCommEventLog,
    ProgramController,
    PollController,
    WrMultCoils,
    WrMultRegs,
    ReportServerID,
    Program884,
    ResetCommLink,
    RdFileRec,
    WrFileRec,
    MaskWrReg,
    RdWrMultRegs,
    RdFIFOQueue,
    MEI,
    Unknown,
}

impl FunctionCode {
    /// The function a function-code byte names, with the exception bit ignored.
    pub fn from_raw(raw: u8) -> Self {
        use FunctionCode::*;
        match raw & !EXCEPTION_BIT {
            1 => RdCoils,
            2 => RdDiscreteInputs,
            3 => RdHoldRegs,
            4 => RdInputRegs,
            5 => WrSingleCoil,
            6 => WrSingleReg,
            7 => RdExcStatus,
            8 => Diagnostic,
            9 => Program484,
            10 => Poll484,
            11 => GetCommEventCtr,
            12 => GetCommEventLog,
            13 => ProgramController,
            14 => PollController,
            15 => WrMultCoils,
            16 => WrMultRegs,
            17 => ReportServerID,
            18 => Program884,
            19 => ResetCommLink,
            20 => RdFileRec,
            21 => WrFileRec,
            22 => MaskWrReg,
            23 => RdWrMultRegs,
            24 => RdFIFOQueue,
            43 => MEI,
            _ => Unknown,
        }
    }

    /// The name in EVE's `function_code`.
    pub fn name(self) -> &'static str {
        use FunctionCode::*;
        match self {
            RdCoils => "RdCoils",
            RdDiscreteInputs => "RdDiscreteInputs",
            RdHoldRegs => "RdHoldRegs",
            RdInputRegs => "RdInputRegs",
            WrSingleCoil => "WrSingleCoil",
            WrSingleReg => "WrSingleReg",
            RdExcStatus => "RdExcStatus",
            Diagnostic => "Diagnostic",
            Program484 => "Program484",
            Poll484 => "Poll484",
            GetCommEventCtr => "GetCommEventCtr",
            GetCommEventLog => "GetCommEventLog",
            ProgramController => "ProgramController",
            PollController => "PollController",
            WrMultCoils => "WrMultCoils",
            WrMultRegs => "WrMultRegs",
            ReportServerID => "ReportServerID",
            Program884 => "Program884",
            ResetCommLink => "ResetCommLink",
            RdFileRec => "RdFileRec",
            WrFileRec => "WrFileRec",
            MaskWrReg => "MaskWrReg",
            RdWrMultRegs => "RdWrMultRegs",
            RdFIFOQueue => "RdFIFOQueue",
            MEI => "MEI",
            Unknown => "Unknown",
        }
    }

    /// What the function reads or writes.
    pub fn access(self) -> AccessType {
        use FunctionCode::*;
        match self {
            RdCoils => AccessType::COILS | AccessType::READ,
            RdDiscreteInputs => AccessType::DISCRETES | AccessType::READ,
            RdHoldRegs => AccessType::HOLDING | AccessType::READ,
            RdInputRegs => AccessType::INPUT | AccessType::READ,
            WrSingleCoil => AccessType::COILS | AccessType::WRITE_SINGLE,
            WrSingleReg => AccessType::HOLDING | AccessType::WRITE_SINGLE,
            WrMultCoils => AccessType::COILS | AccessType::WRITE_MULTIPLE,
            WrMultRegs => AccessType::HOLDING | AccessType::WRITE_MULTIPLE,
            MaskWrReg => AccessType::HOLDING | AccessType::WRITE,
            RdWrMultRegs => AccessType::HOLDING | AccessType::READ | AccessType::WRITE_MULTIPLE,
            _ => AccessType::NONE,
        }
    }
}

impl fmt::Display for FunctionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Write a set of flags as `sawp-flags` does: every named flag (single or composite, in
/// declaration order) whose bits are all set, joined by `" | "`; `NONE` when empty.
fn write_flags(f: &mut fmt::Formatter<'_>, bits: u8, names: &[(&str, u8)]) -> fmt::Result {
    if bits == 0 {
        return f.write_str("NONE");
    }
    let mut first = true;
    for (name, flag) in names {
        if bits & flag == *flag {
            if !first {
                f.write_str(" | ")?;
            }
            f.write_str(name)?;
            first = false;
        }
    }
    Ok(())
}

macro_rules! flag_set {
    ($(#[$doc:meta])* $name:ident { $($flag:ident = $bits:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
        pub struct $name(pub u8);

        impl $name {
            pub const NONE: $name = $name(0);
            $(pub const $flag: $name = $name($bits);)*
            const NAMES: &'static [(&'static str, u8)] = &[$((stringify!($flag), $bits)),*];

            /// Whether every bit of `other` is set.
            pub fn contains(self, other: $name) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether some bit of `other` is set.
            pub fn intersects(self, other: $name) -> bool {
                self.0 & other.0 != 0
            }

            pub fn is_empty(self) -> bool {
                self.0 == 0
            }
        }

        impl core::ops::BitOr for $name {
            type Output = $name;
            fn bitor(self, rhs: $name) -> $name {
                $name(self.0 | rhs.0)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, rhs: $name) {
                self.0 |= rhs.0;
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_flags(f, self.0, Self::NAMES)
            }
        }
    };
}

flag_set! {
    /// What a function touches and how (EVE's `access_type`, e.g. `READ | COILS`).
    AccessType {
        READ = 0b0000_0001,
        WRITE = 0b0000_0010,
        DISCRETES = 0b0000_0100,
        COILS = 0b0000_1000,
        INPUT = 0b0001_0000,
        HOLDING = 0b0010_0000,
        SINGLE = 0b0100_0000,
        MULTIPLE = 0b1000_0000,
        BIT_ACCESS_MASK = 0b0000_1100,
        FUNC_MASK = 0b0011_1100,
        WRITE_SINGLE = 0b0100_0010,
        WRITE_MULTIPLE = 0b1000_0010,
    }
}

flag_set! {
    /// Where a function code sits in the standard's code space (EVE's `category`).
    Category {
        PUBLIC_ASSIGNED = 0b0001,
        PUBLIC_UNASSIGNED = 0b0010,
        USER_DEFINED = 0b0100,
        RESERVED = 0b1000,
    }
}

flag_set! {
    /// What is wrong with a PDU that still decoded (EVE's `error_flags`).
    ErrorFlags {
        DATA_VALUE = 0b0_0001,
        DATA_LENGTH = 0b0_0010,
        EXC_CODE = 0b0_0100,
        FUNC_CODE = 0b0_1000,
        PROTO_ID = 0b1_0000,
    }
}

impl Category {
    /// The category of a function code byte the standard does not assign: user-defined
    /// (65–72, 100–110), reserved (9–14, 41–42, 90–91, 125–127) or public unassigned.
    pub fn of_unassigned(raw: u8) -> Category {
        match raw {
            0 => Category::NONE,
            1..=8 | 15..=40 | 43..=64 | 73..=89 | 92..=99 | 111..=124 => {
                Category::PUBLIC_UNASSIGNED
            }
            9..=14 | 41..=42 | 90..=91 | 125..=127 => Category::RESERVED,
            65..=72 | 100..=110 => Category::USER_DEFINED,
            _ => Category::NONE,
        }
    }
}

/// The name of a diagnostic (FC 8) sub-function; 5–9 and 22 on are `Reserved`.
pub fn diagnostic_name(sub: u16) -> &'static str {
    match sub {
        0x00 => "RetQueryData",
        0x01 => "RestartCommOpt",
        0x02 => "RetDiagReg",
        0x03 => "ChangeInputDelimiter",
        0x04 => "ForceListenOnlyMode",
        0x0a => "ClearCtrDiagReg",
        0x0b => "RetBusMsgCount",
        0x0c => "RetBusCommErrCount",
        0x0d => "RetBusExcErrCount",
        0x0e => "RetServerMsgCount",
        0x0f => "RetServerNoRespCount",
        0x10 => "RetServerNAKCount",
        0x11 => "RetServerBusyCount",
        0x12 => "RetBusCharOverrunCount",
        0x13 => "RetOverrunErrCount",
        0x14 => "ClearOverrunCounterFlag",
        0x15 => "GetClearPlusStats",
        _ => DIAGNOSTIC_RESERVED,
    }
}

/// The name [`diagnostic_name`] gives every reserved sub-function.
pub const DIAGNOSTIC_RESERVED: &str = "Reserved";

/// MEI type 13: CANopen general reference.
pub const MEI_CANOPEN: u8 = 0x0d;
/// MEI type 14: read device identification.
pub const MEI_READ_DEVICE_ID: u8 = 0x0e;

/// The name of an MEI type (FC 43).
pub fn mei_name(mei: u8) -> &'static str {
    match mei {
        MEI_CANOPEN => "CANOpenGenRefReqResp",
        MEI_READ_DEVICE_ID => "RdDevId",
        _ => "Unknown",
    }
}

/// The name of an exception code.
pub fn exception_name(code: u8) -> &'static str {
    match code {
        0x01 => "IllegalFunction",
        0x02 => "IllegalDataAddr",
        0x03 => "IllegalDataValue",
        0x04 => "ServerDeviceFail",
        0x05 => "Ack",
        0x06 => "ServerDeviceBusy",
        0x07 => "NegAck",
        0x08 => "MemParityErr",
        0x0a => "GatewayPathUnavailable",
        0x0b => "GatewayTargetFailToResp",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_spellings() {
        let s = |a: AccessType| format!("{a}");
        assert_eq!(s(FunctionCode::RdCoils.access()), "READ | COILS");
        assert_eq!(s(FunctionCode::RdHoldRegs.access()), "READ | HOLDING");
        assert_eq!(
            s(FunctionCode::WrSingleCoil.access()),
            "WRITE | COILS | SINGLE | WRITE_SINGLE"
        );
        assert_eq!(
            s(FunctionCode::RdWrMultRegs.access()),
            "READ | WRITE | HOLDING | MULTIPLE | WRITE_MULTIPLE"
        );
        assert_eq!(s(FunctionCode::MEI.access()), "NONE");
        assert_eq!(
            format!("{}", ErrorFlags::DATA_VALUE | ErrorFlags::DATA_LENGTH),
            "DATA_VALUE | DATA_LENGTH"
        );
        assert_eq!(format!("{}", Category::PUBLIC_ASSIGNED), "PUBLIC_ASSIGNED");
    }

    #[test]
    fn categories() {
        assert_eq!(Category::of_unassigned(65), Category::USER_DEFINED);
        assert_eq!(Category::of_unassigned(110), Category::USER_DEFINED);
        assert_eq!(Category::of_unassigned(90), Category::RESERVED);
        assert_eq!(Category::of_unassigned(9), Category::RESERVED);
        assert_eq!(
            Category::of_unassigned(100 - 1),
            Category::PUBLIC_UNASSIGNED
        );
        assert_eq!(Category::of_unassigned(0), Category::NONE);
        assert_eq!(Category::of_unassigned(0x90), Category::NONE);
        assert_eq!(FunctionCode::from_raw(0x83), FunctionCode::RdHoldRegs);
        assert_eq!(FunctionCode::from_raw(90), FunctionCode::Unknown);
    }
}
