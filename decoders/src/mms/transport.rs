//! MMS's transport: ISO-on-TCP (RFC 1006), framed by TPKT exactly as S7comm's is; the
//! sensor's logger reads each TPKT's COTP TPDU and joins data TPDUs into TSDUs.

use core::fmt;

use crate::app::{AnomalyName, AppProto, Direction, Parsed, Probe, StreamParser};
use crate::s7comm::{self, tpkt, S7commParser, Tpkt};

/// ISO-TSAP: IEC 61850 servers listen where S7 PLCs do.
pub const PORT: u16 = 102;

/// COTP's data TPDU code.
const DT: u8 = 0xf0;

/// Why the front of a stream is not a TPKT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Error(pub s7comm::Error);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl AnomalyName for Error {
    fn anomaly_name(&self) -> &'static str {
        match self.0 {
            s7comm::Error::Version(_) => "mms.invalid_tpkt_version",
            s7comm::Error::Length(_) => "mms.invalid_tpkt_length",
            s7comm::Error::CotpLength(_) => "mms.invalid_cotp_length",
        }
    }
}

/// Whether `bytes` start with a TPKT carrying a COTP data TPDU whose user data is MMS
/// ([`super::is_mms`]: `Some(true)`) or something else (`Some(false)`); `None` when they
/// start with another TPDU or too little of one.
pub fn starts_session(bytes: &[u8]) -> Option<bool> {
    if bytes.first() != Some(&3) {
        return None;
    }
    let li = usize::from(*bytes.get(4)?);
    if *bytes.get(5)? != DT {
        return None;
    }
    let user = bytes.get(5 + li..)?;
    if user.len() < 2 {
        return None;
    }
    Some(super::is_mms(user))
}

/// Whether the first payload of a direction is MMS: a data TPDU whose user data is a session
/// SPDU or a bare MMS PDU. A connection request says nothing either way; S7comm takes it and hands the
/// connection over at its first such data TPDU.
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    if bytes.len() < tpkt::MIN_LEN {
        return Probe::NeedMore;
    }
    match starts_session(bytes) {
        Some(true) => Probe::Match,
        _ => Probe::NoMatch,
    }
}

/// Frames TPKTs.
#[derive(Clone, Debug, Default)]
pub struct MmsParser;

impl StreamParser for MmsParser {
    type Pdu<'a> = Tpkt<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Mms;
    const MAX_PDU: usize = tpkt::MAX_LEN;

    fn parse<'a>(&mut self, dir: Direction, buf: &'a [u8]) -> Parsed<Tpkt<'a>, Error> {
        match S7commParser.parse(dir, buf) {
            Parsed::Pdu { pdu, len } => Parsed::Pdu { pdu, len },
            Parsed::Incomplete { needed } => Parsed::Incomplete { needed },
            Parsed::Invalid(e) => Parsed::Invalid(Error(e)),
        }
    }
}
