use core::fmt;

use crate::app::AnomalyName;

/// Why bytes at the front of a DNP3 stream are not a link frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// The frame does not begin with 0x05 0x64.
    StartBytes,
    /// The length field is below 5 (control and addresses).
    Length(u8),
    /// The CRC of the link header does not match.
    HeaderCrc { expected: u16, found: u16 },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::StartBytes => f.write_str("link frame does not start with 0x05 0x64"),
            Error::Length(l) => write!(f, "link length {l} below the minimum of 5"),
            Error::HeaderCrc { expected, found } => {
                write!(f, "link header CRC {found:#06x}, expected {expected:#06x}")
            }
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::StartBytes => "dnp3.bad_start_bytes",
            Error::Length(_) => "dnp3.len_too_small",
            Error::HeaderCrc { .. } => "dnp3.bad_link_crc",
        }
    }
}
