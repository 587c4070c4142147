//! The S7comm header (protocol id 0x32): ROSCTR, PDU reference, parameter and data lengths, and
//! on acknowledgements the error class and code. The parameter and data parts follow it.

mod field {
    pub const PROTOCOL_ID: usize = 0;
    pub const ROSCTR: usize = 1;
    pub const REDUNDANCY_ID: core::ops::Range<usize> = 2..4;
    pub const PDU_REF: core::ops::Range<usize> = 4..6;
    pub const PARAM_LEN: core::ops::Range<usize> = 6..8;
    pub const DATA_LEN: core::ops::Range<usize> = 8..10;
    pub const ERROR_CLASS: usize = 10;
    pub const ERROR_CODE: usize = 11;
}

/// S7comm protocol id, the first byte of every S7 PDU.
pub const PROTOCOL_ID: u8 = 0x32;
/// Header length of jobs and userdata.
pub const HEADER_LEN: usize = 10;
/// Header length of ack and ack_data (with error class and code).
pub const ACK_HEADER_LEN: usize = 12;

/// Message type (ROSCTR).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rosctr {
    Job,
    Ack,
    AckData,
    Userdata,
    /// A value the protocol reserves.
    Unknown(u8),
}

impl Rosctr {
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Rosctr::Job,
            2 => Rosctr::Ack,
            3 => Rosctr::AckData,
            7 => Rosctr::Userdata,
            c => Rosctr::Unknown(c),
        }
    }

    pub fn code(self) -> u8 {
        match self {
            Rosctr::Job => 1,
            Rosctr::Ack => 2,
            Rosctr::AckData => 3,
            Rosctr::Userdata => 7,
            Rosctr::Unknown(c) => c,
        }
    }

    /// Wireshark's name in snake case.
    pub fn name(self) -> &'static str {
        match self {
            Rosctr::Job => "job",
            Rosctr::Ack => "ack",
            Rosctr::AckData => "ack_data",
            Rosctr::Userdata => "userdata",
            Rosctr::Unknown(_) => "unknown",
        }
    }

    /// Whether the header carries error class and code.
    pub fn has_error(self) -> bool {
        matches!(self, Rosctr::Ack | Rosctr::AckData)
    }
}

/// Why bytes are not an S7 PDU at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderError {
    /// Fewer bytes than the header needs.
    Short(usize),
    /// The first byte is not 0x32.
    ProtocolId(u8),
}

/// One S7 PDU, borrowed: header fields and the parameter and data parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct S7Pdu<'a> {
    pub rosctr: Rosctr,
    pub redundancy_id: u16,
    pub pdu_ref: u16,
    pub param_len: u16,
    pub data_len: u16,
    /// Error class and code (ack and ack_data only).
    pub error: Option<(u8, u8)>,
    /// The parameter part, cut to what the PDU holds.
    pub param: &'a [u8],
    /// The data part, cut to what the PDU holds.
    pub data: &'a [u8],
    /// Parameter and data lengths add up to more than the PDU holds.
    pub truncated: bool,
}

fn be16(b: &[u8], r: core::ops::Range<usize>) -> u16 {
    b.get(r).map_or(0, |v| u16::from_be_bytes([v[0], v[1]]))
}

impl<'a> S7Pdu<'a> {
    /// Read the header at the front of `buf` (a whole COTP TSDU).
    pub fn parse(buf: &'a [u8]) -> Result<Self, HeaderError> {
        if buf.len() < HEADER_LEN {
            return Err(HeaderError::Short(buf.len()));
        }
        if buf[field::PROTOCOL_ID] != PROTOCOL_ID {
            return Err(HeaderError::ProtocolId(buf[field::PROTOCOL_ID]));
        }
        let rosctr = Rosctr::from_code(buf[field::ROSCTR]);
        let (error, header_len) = if rosctr.has_error() {
            match (buf.get(field::ERROR_CLASS), buf.get(field::ERROR_CODE)) {
                (Some(&c), Some(&e)) => (Some((c, e)), ACK_HEADER_LEN),
                _ => return Err(HeaderError::Short(buf.len())),
            }
        } else {
            (None, HEADER_LEN)
        };
        let param_len = be16(buf, field::PARAM_LEN);
        let data_len = be16(buf, field::DATA_LEN);
        let body = &buf[header_len..];
        let p = usize::from(param_len).min(body.len());
        let (param, rest) = body.split_at(p);
        let d = usize::from(data_len).min(rest.len());
        Ok(S7Pdu {
            rosctr,
            redundancy_id: be16(buf, field::REDUNDANCY_ID),
            pdu_ref: be16(buf, field::PDU_REF),
            param_len,
            data_len,
            error,
            param,
            data: &rest[..d],
            truncated: usize::from(param_len) + usize::from(data_len) > body.len(),
        })
    }

    /// The function code: the first parameter byte of jobs and ack_data.
    pub fn function(&self) -> Option<u8> {
        match self.rosctr {
            Rosctr::Job | Rosctr::AckData => self.param.first().copied(),
            _ => None,
        }
    }
}

/// Wireshark's name of an error class (header of ack and ack_data).
pub fn error_class_name(class: u8) -> &'static str {
    match class {
        0x00 => "no_error",
        0x81 => "application_relationship",
        0x82 => "object_definition",
        0x83 => "no_resources_available",
        0x84 => "error_on_service_processing",
        0x85 => "error_on_supplies",
        0x87 => "access_error",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ack_data to setup communication (Snap7 server, PDU size 480).
    static SETUP_ACK: [u8; 20] = [
        0x32, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x01, 0xe0,
    ];

    #[test]
    fn ack_data_header() {
        let p = S7Pdu::parse(&SETUP_ACK).unwrap();
        assert_eq!(p.rosctr, Rosctr::AckData);
        assert_eq!(p.error, Some((0, 0)));
        assert_eq!((p.param_len, p.data_len), (8, 0));
        assert_eq!(p.function(), Some(0xf0));
        assert!(!p.truncated);
    }

    #[test]
    fn lengths_beyond_the_pdu() {
        let mut b = SETUP_ACK;
        b[9] = 4; // data length 4, but nothing follows the parameter
        let p = S7Pdu::parse(&b).unwrap();
        assert!(p.truncated);
        assert!(p.data.is_empty());
    }

    #[test]
    fn not_s7() {
        assert_eq!(S7Pdu::parse(&SETUP_ACK[..9]), Err(HeaderError::Short(9)));
        assert_eq!(S7Pdu::parse(&SETUP_ACK[..11]), Err(HeaderError::Short(11)));
        let mut b = SETUP_ACK;
        b[0] = 0x72;
        assert_eq!(S7Pdu::parse(&b), Err(HeaderError::ProtocolId(0x72)));
    }
}
