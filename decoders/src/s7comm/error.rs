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

impl AnomalyName for super::cotp::CotpError {
    fn anomaly_name(&self) -> &'static str {
        match self {
            super::cotp::CotpError::UnknownType(_) => "s7comm.invalid_cotp_type",
            super::cotp::CotpError::ShortHeader { .. } => "s7comm.invalid_cotp_length",
            super::cotp::CotpError::BadParameter => "s7comm.invalid_cotp_parameter",
        }
    }
}

impl fmt::Display for super::cotp::CotpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            super::cotp::CotpError::UnknownType(t) => {
                write!(f, "COTP TPDU type 0x{t:02x} is unknown")
            }
            super::cotp::CotpError::ShortHeader { kind, li } => {
                write!(
                    f,
                    "COTP length indicator {li} too small for TPDU type 0x{kind:02x}"
                )
            }
            super::cotp::CotpError::BadParameter => {
                f.write_str("COTP parameter runs past the header")
            }
        }
    }
}

impl AnomalyName for super::header::HeaderError {
    fn anomaly_name(&self) -> &'static str {
        match self {
            super::header::HeaderError::Short(_) => "s7comm.invalid_header",
            super::header::HeaderError::ProtocolId(_) => "s7comm.unknown_protocol_id",
        }
    }
}

impl fmt::Display for super::header::HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            super::header::HeaderError::Short(n) => {
                write!(f, "S7 PDU of {n} bytes is shorter than its header")
            }
            super::header::HeaderError::ProtocolId(p) => {
                write!(
                    f,
                    "COTP data starts with 0x{p:02x}, neither S7comm (0x32) nor S7comm-plus (0x72)"
                )
            }
        }
    }
}

impl AnomalyName for super::reassembly::TooLong {
    fn anomaly_name(&self) -> &'static str {
        "s7comm.fragment_too_long"
    }
}

impl fmt::Display for super::reassembly::TooLong {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "COTP fragments add up to {} bytes, beyond the cap of {}",
            self.len,
            super::reassembly::MAX_TSDU
        )
    }
}

impl AnomalyName for super::userdata::UserdataError {
    fn anomaly_name(&self) -> &'static str {
        "s7comm.invalid_userdata"
    }
}

impl fmt::Display for super::userdata::UserdataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let super::userdata::UserdataError::Short(n) = self;
        write!(f, "userdata parameter of {n} bytes lacks its 8-byte head")
    }
}

impl AnomalyName for super::plus::PlusError {
    fn anomaly_name(&self) -> &'static str {
        "s7comm.invalid_plus_header"
    }
}

impl fmt::Display for super::plus::PlusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            super::plus::PlusError::Short(n) => write!(f, "S7comm-plus frame of {n} bytes"),
            super::plus::PlusError::ProtocolId(p) => write!(f, "protocol id 0x{p:02x} is not 0x72"),
        }
    }
}
