//! TPKT (RFC 1006) and the fixed part of the COTP header (ISO 8073) inside it.

use super::Error;

mod field {
    pub const VERSION: usize = 0;
    pub const LENGTH: core::ops::Range<usize> = 2..4;
    pub const COTP_LI: usize = 4;
    pub const COTP_TYPE: usize = 5;
}

/// TPKT header length.
pub const HEADER_LEN: usize = 4;
/// Smallest TPKT: the header and a COTP DT header (LI, type, TPDU number).
pub const MIN_LEN: usize = 7;
/// Largest TPKT the 16-bit length allows.
pub const MAX_LEN: usize = u16::MAX as usize;

/// COTP TPDU types (the high nibble of the type byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CotpType {
    ConnectionRequest,
    ConnectionConfirm,
    DisconnectRequest,
    DisconnectConfirm,
    Data,
    ExpeditedData,
    DataAck,
    ExpeditedAck,
    Reject,
    Error,
}

impl CotpType {
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code & 0xf0 {
            0xe0 => CotpType::ConnectionRequest,
            0xd0 => CotpType::ConnectionConfirm,
            0x80 => CotpType::DisconnectRequest,
            0xc0 => CotpType::DisconnectConfirm,
            0xf0 => CotpType::Data,
            0x10 => CotpType::ExpeditedData,
            0x60 => CotpType::DataAck,
            0x20 => CotpType::ExpeditedAck,
            0x50 => CotpType::Reject,
            0x70 => CotpType::Error,
            _ => return None,
        })
    }
}

/// Check the TPKT header and return the TPKT length it announces.
pub fn check_header(buf: &[u8]) -> Result<usize, Error> {
    let (Some(&version), Some(len)) = (buf.get(field::VERSION), buf.get(field::LENGTH)) else {
        return Ok(HEADER_LEN);
    };
    if version != 3 {
        return Err(Error::Version(version));
    }
    let len = u16::from_be_bytes([len[0], len[1]]);
    if usize::from(len) < MIN_LEN {
        return Err(Error::Length(len));
    }
    if let Some(&li) = buf.get(field::COTP_LI) {
        if usize::from(li) + 1 > usize::from(len) - HEADER_LEN {
            return Err(Error::CotpLength(li));
        }
    }
    Ok(usize::from(len))
}

/// One TPKT and the COTP TPDU inside it, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tpkt<'a> {
    buf: &'a [u8],
}

impl<'a> Tpkt<'a> {
    /// The TPKT at the front of `buf`: `Ok(None)` while it is not all there yet.
    pub fn new_checked(buf: &'a [u8]) -> Result<Option<Self>, Error> {
        let len = check_header(buf)?;
        Ok(buf
            .get(..len)
            .filter(|b| b.len() >= MIN_LEN)
            .map(|buf| Tpkt { buf }))
    }

    /// The whole TPKT as sent.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }

    /// Length of the whole TPKT.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Never true: a checked TPKT holds at least a COTP header.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The COTP TPDU type, if it is one ISO 8073 defines.
    pub fn cotp_type(&self) -> Option<CotpType> {
        CotpType::from_code(self.buf[field::COTP_TYPE])
    }

    /// The COTP TPDU: everything after the TPKT header.
    pub fn cotp_bytes(&self) -> &'a [u8] {
        self.buf.get(HEADER_LEN..).unwrap_or_default()
    }

    /// What follows the COTP header: the S7 PDU of a DT TPDU.
    pub fn payload(&self) -> &'a [u8] {
        let li = usize::from(self.buf[field::COTP_LI]);
        self.buf.get(HEADER_LEN + 1 + li..).unwrap_or_default()
    }
}
