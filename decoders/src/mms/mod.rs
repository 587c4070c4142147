//! MMS (ISO 9506), the client/server protocol of IEC 61850 substations, over ISO-on-TCP
//! (RFC 1006) on port 102 — the transport S7comm also uses.
//!
//! A TSDU (COTP data, reassembled as [`crate::s7comm::reassembly`] does for S7) carries, layer
//! by layer, a session SPDU, a presentation PPDU, while an association is set up or released
//! an ACSE APDU, and the MMS PDU:
//!
//! * [`iso`]: the session, presentation and ACSE layers, read as far as they carry MMS;
//! * [`pdu`]: the MMS PDU — its kind, invoke id, service, object names (IEC 61850's
//!   `LD/LN$FC$DO` references), name lists, data values, file names, identification;
//! * [`ber`]: the Basic Encoding Rules everything above the session layer is written in;
//! * [`transport`]: TPKT framing, and the probe that tells MMS from S7 on port 102.
//!
//! Whether a connection on port 102 is MMS or S7 is told by its first TSDU: S7 starts with
//! its protocol id (0x32, or 0x72 for S7comm-plus), MMS with a session SPDU
//! ([`is_session`]).

pub mod ber;
pub mod iso;
pub mod pdu;
pub mod transport;

pub use iso::{Acse, Spdu, Upper};
pub use pdu::{Data, Kind, Mms, ObjectName};
pub use transport::{probe, MmsParser, PORT};

/// One TSDU read through its upper layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub upper: Upper<'a>,
    pub mms: Option<Mms<'a>>,
}

impl<'a> Message<'a> {
    /// Reads a TSDU; `None` when it is neither a session SPDU nor a bare MMS PDU.
    pub fn read(tsdu: &'a [u8]) -> Option<Self> {
        if let Some(upper) = iso::read(tsdu) {
            return Some(Message {
                upper,
                mms: upper.mms.and_then(Mms::read),
            });
        }
        let mms = bare(tsdu)?;
        Some(Message {
            upper: Upper {
                spdu: Spdu::None,
                acse: None,
                mms: Some(tsdu),
            },
            mms: Some(mms),
        })
    }
}

/// Whether a TSDU is MMS: a session SPDU ([`is_session`]), or an MMS PDU sent bare on COTP
/// (no session or presentation layer, as some test tools and gateways send it; tshark reads it
/// too) that fills the TSDU exactly.
pub fn is_mms(tsdu: &[u8]) -> bool {
    is_session(tsdu) || bare(tsdu).is_some()
}

/// A whole TSDU that is one MMS PDU.
fn bare(tsdu: &[u8]) -> Option<Mms<'_>> {
    let (_, rest) = ber::Tlv::read(tsdu)?;
    if !rest.is_empty() {
        return None;
    }
    Mms::read(tsdu)
}

/// Whether a TSDU's first octets are a session SPDU MMS travels in: Give Tokens + Data
/// Transfer (`01 00 01 00`), or the SPDUs that set up, refuse, release and abort a session
/// connection.
pub fn is_session(tsdu: &[u8]) -> bool {
    match tsdu {
        [0x01, 0x00, 0x01, 0x00, ..] => true,
        [si, li, ..] => {
            matches!(si, 9 | 10 | 12 | 13 | 14 | 25)
                && (*li == 0xff || usize::from(*li) + 2 <= tsdu.len())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
