//! The COTP TPDU inside a TPKT (ISO 8073 class 0, as RFC 1006 carries it): connection setup and
//! teardown with their TSAPs, and the data TPDUs that carry S7 PDUs, possibly in fragments.

use super::tpkt::{CotpType, Tpkt};

mod field {
    /// Offsets inside the COTP TPDU (after the 4-byte TPKT header).
    pub const LI: usize = 0;
    pub const TYPE: usize = 1;
    /// DT: TPDU number (7 bits) and the EOT flag (high bit).
    pub const DT_NR: usize = 2;
    /// CR, CC, DR, DC, ER: destination reference.
    pub const DST_REF: core::ops::Range<usize> = 2..4;
    /// CR, CC, DR, DC: source reference.
    pub const SRC_REF: core::ops::Range<usize> = 4..6;
    /// CR, CC: class and options.
    pub const CLASS: usize = 6;
    /// CR, CC: variable part.
    pub const CR_PARAMS: usize = 7;
    /// DR: reason.
    pub const DR_REASON: usize = 6;
    /// DR: variable part.
    pub const DR_PARAMS: usize = 7;
    /// ER: reject cause.
    pub const ER_CAUSE: usize = 4;
    /// ER: variable part.
    pub const ER_PARAMS: usize = 5;
}

/// COTP parameter codes (ISO 8073 13.3.4).
pub mod param {
    pub const TPDU_SIZE: u8 = 0xc0;
    pub const CALLING_TSAP: u8 = 0xc1;
    pub const CALLED_TSAP: u8 = 0xc2;
}

/// Why a COTP TPDU cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CotpError {
    /// The type byte names no TPDU ISO 8073 defines.
    UnknownType(u8),
    /// The length indicator is too small for the fixed part of this TPDU type.
    ShortHeader { kind: u8, li: u8 },
    /// A parameter in the variable part runs past the header.
    BadParameter,
}

/// A decoded COTP TPDU, borrowed from the TPKT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cotp<'a> {
    /// DT: user data, complete when `eot` is set.
    Data {
        tpdu_nr: u8,
        eot: bool,
        payload: &'a [u8],
    },
    /// CR or CC: connection setup.
    Connect(Connect<'a>),
    /// DR or DC: connection teardown (`reason` only on DR).
    Disconnect {
        kind: CotpType,
        dst_ref: u16,
        src_ref: u16,
        reason: Option<u8>,
    },
    /// ER: TPDU error.
    Error { dst_ref: u16, cause: u8 },
    /// Any other TPDU type (expedited data, acks, reject): not used by S7, reported by type.
    Other(CotpType),
}

/// A CR or CC TPDU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connect<'a> {
    pub kind: CotpType,
    pub dst_ref: u16,
    pub src_ref: u16,
    /// Protocol class (high nibble of the class byte).
    pub class: u8,
    /// The variable part: `(code, value)` parameters.
    params: &'a [u8],
}

impl<'a> Connect<'a> {
    /// The variable-part parameters, in order. Stops at the first that does not fit.
    pub fn params(&self) -> Params<'a> {
        Params { rest: self.params }
    }

    fn param(&self, code: u8) -> Option<&'a [u8]> {
        self.params().find(|(c, _)| *c == code).map(|(_, v)| v)
    }

    /// Calling TSAP (parameter 0xc1).
    pub fn calling_tsap(&self) -> Option<&'a [u8]> {
        self.param(param::CALLING_TSAP)
    }

    /// Called TSAP (parameter 0xc2).
    pub fn called_tsap(&self) -> Option<&'a [u8]> {
        self.param(param::CALLED_TSAP)
    }

    /// TPDU size in bytes: parameter 0xc0 holds its base-2 logarithm (7..=13).
    pub fn tpdu_size(&self) -> Option<u32> {
        match self.param(param::TPDU_SIZE)? {
            [exp] if *exp < 32 => Some(1u32 << exp),
            _ => None,
        }
    }
}

/// Iterator over the `(code, value)` parameters of a COTP variable part.
#[derive(Clone, Debug)]
pub struct Params<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Params<'a> {
    type Item = (u8, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let (&code, rest) = self.rest.split_first()?;
        let (&len, rest) = rest.split_first()?;
        let value = rest.get(..usize::from(len))?;
        self.rest = &rest[value.len()..];
        Some((code, value))
    }
}

/// Check that every parameter of a variable part fits.
fn check_params(mut rest: &[u8]) -> Result<(), CotpError> {
    while let [_, len, tail @ ..] = rest {
        rest = tail
            .get(usize::from(*len)..)
            .ok_or(CotpError::BadParameter)?;
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(CotpError::BadParameter)
    }
}

fn be16(b: &[u8], r: core::ops::Range<usize>) -> u16 {
    b.get(r).map_or(0, |v| u16::from_be_bytes([v[0], v[1]]))
}

impl<'a> Cotp<'a> {
    /// Decode the COTP TPDU of a framed TPKT.
    pub fn parse(tpkt: &Tpkt<'a>) -> Result<Self, CotpError> {
        let tpdu = tpkt.cotp_bytes();
        let li = tpdu.get(field::LI).copied().unwrap_or(0);
        let code = tpdu.get(field::TYPE).copied().unwrap_or(0);
        // The header is LI + 1 bytes; the TPKT check guarantees it lies inside the TPDU.
        let header = tpdu.get(..usize::from(li) + 1).unwrap_or(tpdu);
        let kind = CotpType::from_code(code).ok_or(CotpError::UnknownType(code))?;
        let need = |n: usize| {
            if header.len() >= n {
                Ok(())
            } else {
                Err(CotpError::ShortHeader { kind: code, li })
            }
        };
        Ok(match kind {
            CotpType::Data => {
                need(field::DT_NR + 1)?;
                let nr = header[field::DT_NR];
                Cotp::Data {
                    tpdu_nr: nr & 0x7f,
                    eot: nr & 0x80 != 0,
                    payload: tpkt.payload(),
                }
            }
            CotpType::ConnectionRequest | CotpType::ConnectionConfirm => {
                need(field::CR_PARAMS)?;
                let params = &header[field::CR_PARAMS..];
                check_params(params)?;
                Cotp::Connect(Connect {
                    kind,
                    dst_ref: be16(header, field::DST_REF),
                    src_ref: be16(header, field::SRC_REF),
                    class: header[field::CLASS] >> 4,
                    params,
                })
            }
            CotpType::DisconnectRequest => {
                need(field::DR_PARAMS)?;
                check_params(&header[field::DR_PARAMS..])?;
                Cotp::Disconnect {
                    kind,
                    dst_ref: be16(header, field::DST_REF),
                    src_ref: be16(header, field::SRC_REF),
                    reason: Some(header[field::DR_REASON]),
                }
            }
            CotpType::DisconnectConfirm => {
                need(field::SRC_REF.end)?;
                Cotp::Disconnect {
                    kind,
                    dst_ref: be16(header, field::DST_REF),
                    src_ref: be16(header, field::SRC_REF),
                    reason: None,
                }
            }
            CotpType::Error => {
                need(field::ER_PARAMS)?;
                Cotp::Error {
                    dst_ref: be16(header, field::DST_REF),
                    cause: header[field::ER_CAUSE],
                }
            }
            other => Cotp::Other(other),
        })
    }
}

impl CotpType {
    /// Wireshark's abbreviation, lower-cased: `cr`, `cc`, `dt`, …
    pub fn name(self) -> &'static str {
        match self {
            CotpType::ConnectionRequest => "cr",
            CotpType::ConnectionConfirm => "cc",
            CotpType::DisconnectRequest => "dr",
            CotpType::DisconnectConfirm => "dc",
            CotpType::Data => "dt",
            CotpType::ExpeditedData => "ed",
            CotpType::DataAck => "ak",
            CotpType::ExpeditedAck => "ea",
            CotpType::Reject => "rj",
            CotpType::Error => "er",
        }
    }
}

/// Name of a DR reason code (ISO 8073 13.5.3 e).
pub fn disconnect_reason_name(reason: u8) -> &'static str {
    match reason {
        0x00 => "reason_not_specified",
        0x01 => "congestion_at_tsap",
        0x02 => "session_entity_not_attached_to_tsap",
        0x03 => "address_unknown",
        0x80 => "normal",
        0x81 => "remote_transport_entity_congestion",
        0x82 => "connection_negotiation_failed",
        0x83 => "duplicate_source_reference",
        0x84 => "mismatched_references",
        0x85 => "protocol_error",
        0x87 => "reference_overflow",
        0x88 => "connection_request_refused",
        0x8a => "header_or_parameter_length_invalid",
        _ => "unknown",
    }
}

/// Name of an ER reject cause (ISO 8073 13.12.3).
pub fn reject_cause_name(cause: u8) -> &'static str {
    match cause {
        0x00 => "reason_not_specified",
        0x01 => "invalid_parameter_code",
        0x02 => "invalid_tpdu_type",
        0x03 => "invalid_parameter_value",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// COTP CR from a Snap7 client: TPDU size 1024, calling TSAP 0x0100, called TSAP 0x0102.
    static CR: [u8; 22] = [
        0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1,
        0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02,
    ];
    /// COTP DT with EOT around a setup communication job.
    static DT: [u8; 25] = [
        0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08,
        0x00, 0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0,
    ];

    fn tpkt(b: &[u8]) -> Tpkt<'_> {
        Tpkt::new_checked(b).unwrap().unwrap()
    }

    #[test]
    fn connection_request() {
        let Ok(Cotp::Connect(c)) = Cotp::parse(&tpkt(&CR)) else {
            panic!()
        };
        assert_eq!(c.kind, CotpType::ConnectionRequest);
        assert_eq!((c.dst_ref, c.src_ref, c.class), (0, 1, 0));
        assert_eq!(c.tpdu_size(), Some(1024));
        assert_eq!(c.calling_tsap(), Some(&[0x01, 0x00][..]));
        assert_eq!(c.called_tsap(), Some(&[0x01, 0x02][..]));
    }

    #[test]
    fn bad_parameter() {
        let mut b = CR;
        b[15] = 9; // calling TSAP length runs past the header
        assert_eq!(Cotp::parse(&tpkt(&b)), Err(CotpError::BadParameter));
    }

    #[test]
    fn data() {
        let Ok(Cotp::Data {
            tpdu_nr,
            eot,
            payload,
        }) = Cotp::parse(&tpkt(&DT))
        else {
            panic!()
        };
        assert_eq!((tpdu_nr, eot), (0, true));
        assert_eq!(payload.first(), Some(&0x32));
        assert_eq!(payload.len(), 18);
    }

    #[test]
    fn unknown_type_and_short() {
        let mut b = DT;
        b[5] = 0x30;
        assert_eq!(Cotp::parse(&tpkt(&b)), Err(CotpError::UnknownType(0x30)));
        let mut b = DT;
        b[4] = 1; // LI 1: no room for the TPDU number
        assert!(matches!(
            Cotp::parse(&tpkt(&b)),
            Err(CotpError::ShortHeader { .. })
        ));
    }
}
