use core::fmt;

use crate::app::AnomalyName;

/// Why bytes at the front of an ISO-on-TCP stream are not a TPKT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// TPKT version is not 3.
    Version(u8),
    /// TPKT length too small to hold a COTP header.
    Length(u16),
    /// COTP length indicator does not fit inside the TPKT.
    CotpLength(u8),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Version(v) => write!(f, "TPKT version {v} is not 3"),
            Error::Length(l) => write!(f, "TPKT length {l} below the minimum of 7"),
            Error::CotpLength(l) => write!(f, "COTP length indicator {l} exceeds the TPKT"),
        }
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self {
            Error::Version(_) => "s7comm.invalid_tpkt_version",
            Error::Length(_) => "s7comm.invalid_tpkt_length",
            Error::CotpLength(_) => "s7comm.invalid_cotp_length",
        }
    }
}
