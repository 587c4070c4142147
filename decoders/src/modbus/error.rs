use core::fmt;

use crate::app::AnomalyName;

/// Why bytes at the front of a Modbus/TCP stream are not an ADU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The MBAP protocol identifier is not 0 (Modbus).
    ProtocolId(u16),
    /// The MBAP length is outside 2..=512 (unit id plus a PDU of 1..=253 bytes by the
    /// standard, with room for vendor PDUs a little longer).
    Length(u16),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ProtocolId(id) => write!(f, "MBAP protocol id {id} is not 0"),
            Error::Length(len) => write!(f, "MBAP length {len} outside 2..=512"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::ProtocolId(_) => "modbus.invalid_protocol_id",
            Error::Length(_) => "modbus.invalid_length",
        }
    }
}
