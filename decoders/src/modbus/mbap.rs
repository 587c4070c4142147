//! The MBAP header that frames every Modbus/TCP ADU.

use super::Error;

mod field {
    use core::ops::Range;
    pub const TRANSACTION_ID: Range<usize> = 0..2;
    pub const PROTOCOL_ID: Range<usize> = 2..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const UNIT_ID: usize = 6;
}

/// Length of the MBAP header, unit id included.
pub const HEADER_LEN: usize = 7;
/// Largest MBAP length the standard allows: the unit id and a PDU of at most 253 bytes.
pub const MAX_LENGTH: u16 = 254;
/// Largest MBAP length framed. Some vendor functions (Schneider's UMAS on FC 90) send PDUs a
/// little over the standard's 253 bytes; such ADUs are framed and flagged rather than costing
/// the stream its framing.
pub const MAX_FRAMED_LENGTH: u16 = 512;
/// Smallest MBAP length: the unit id and a function code.
pub const MIN_LENGTH: u16 = 2;
/// Largest ADU framed: 6 bytes before the length's scope, plus the longest length framed.
pub const MAX_ADU_LEN: usize = 6 + MAX_FRAMED_LENGTH as usize;

/// A decoded MBAP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mbap {
    pub transaction_id: u16,
    pub protocol_id: u16,
    /// Bytes that follow the length field: the unit id and the PDU.
    pub length: u16,
    pub unit_id: u8,
}

impl Mbap {
    /// Read the header at the front of `buf`, or `None` when fewer than [`HEADER_LEN`] bytes.
    pub fn new_checked(buf: &[u8]) -> Option<Self> {
        let h: &[u8; HEADER_LEN] = buf.get(..HEADER_LEN)?.try_into().ok()?;
        let be16 = |r: core::ops::Range<usize>| u16::from_be_bytes([h[r.start], h[r.start + 1]]);
        Some(Mbap {
            transaction_id: be16(field::TRANSACTION_ID),
            protocol_id: be16(field::PROTOCOL_ID),
            length: be16(field::LENGTH),
            unit_id: h[field::UNIT_ID],
        })
    }

    /// Check the fields that frame the stream.
    pub fn validate(&self) -> Result<(), Error> {
        if self.protocol_id != 0 {
            return Err(Error::ProtocolId(self.protocol_id));
        }
        if !(MIN_LENGTH..=MAX_FRAMED_LENGTH).contains(&self.length) {
            return Err(Error::Length(self.length));
        }
        Ok(())
    }

    /// Whether the length is within the standard's (framing tolerates a little more).
    pub fn length_within_spec(&self) -> bool {
        self.length <= MAX_LENGTH
    }

    /// Length of the whole ADU this header announces.
    pub fn adu_len(&self) -> usize {
        6 + usize::from(self.length)
    }
}

/// One Modbus/TCP ADU: its header and a borrowed PDU (function code and data).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Adu<'a> {
    pub header: Mbap,
    pdu: &'a [u8],
}

impl<'a> Adu<'a> {
    pub(crate) fn new(header: Mbap, pdu: &'a [u8]) -> Self {
        Adu { header, pdu }
    }

    /// The function code, with the exception bit (0x80) as sent.
    pub fn function_code(&self) -> Option<u8> {
        self.pdu.first().copied()
    }

    /// Whether this is an exception response.
    pub fn is_exception(&self) -> bool {
        self.function_code().is_some_and(|f| f & 0x80 != 0)
    }

    /// The PDU after the function code.
    pub fn data(&self) -> &'a [u8] {
        self.pdu.get(1..).unwrap_or_default()
    }

    /// The whole PDU: function code and data.
    pub fn pdu(&self) -> &'a [u8] {
        self.pdu
    }
}
