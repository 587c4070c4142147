//! GOOSE (IEC 61850-8-1): the multicast Ethernet frames (ethertype 0x88B8) in which a
//! substation's protection devices publish a data set's state — trips, interlocks, breaker
//! positions — to their subscribers within milliseconds, with no IP, no session and no
//! authentication.
//!
//! A publisher numbers what it sends: `stNum` counts state changes, `sqNum` the frames since the
//! last change (retransmissions, quickly at first, then a heartbeat). A subscriber takes a frame
//! with a higher `stNum` as a new state, which is what a spoofer forges: a jump in `stNum`, or a
//! `sqNum` that restarts without a state change, tells one (the sensor's `app::goose` follows
//! each publisher).
//!
//! The frame after the ethertype: the header every IEC 61850 Ethernet protocol shares
//! ([`Header`], also Sampled Values'), then the BER-encoded `IECGoosePdu`, whose data set
//! members are MMS `Data` ([`crate::mms::Data`]).

use core::fmt;

use crate::mms::ber::{Children, Class, Tlv};
use crate::mms::Data;

/// GOOSE's ethertype.
pub const ETHERTYPE: u16 = 0x88B8;

/// Why a frame is not a GOOSE (or Sampled Values) message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the 8-octet header.
    Truncated,
    /// The header's length is under 8 or past the frame.
    InvalidLength,
    /// The APDU is not the protocol's PDU, or its BER does not read.
    InvalidPdu,
    /// A mandatory field is missing or does not read.
    MissingField(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("frame shorter than the 8-octet header"),
            Error::InvalidLength => f.write_str("header length under 8 or past the frame"),
            Error::InvalidPdu => f.write_str("APDU is not the protocol's PDU"),
            Error::MissingField(name) => write!(f, "mandatory field {name} missing"),
        }
    }
}

/// The header of IEC 61850's Ethernet messages (IEC 61850-8-1 Annex C, 9-2 5.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Application id: 0x0000–0x3FFF for GOOSE type 1, 0x4000–0x7FFF for SV.
    pub appid: u16,
    /// Octets from the APPID to the end of the APDU.
    pub length: u16,
    /// Edition 2 sets its top bit when the message is simulated (test).
    pub reserved1: u16,
    pub reserved2: u16,
}

impl Header {
    /// The header, and the APDU its length bounds (trailing padding left out).
    pub fn read(b: &[u8]) -> Result<(Header, &[u8]), Error> {
        let h = b.get(..8).ok_or(Error::Truncated)?;
        let word = |i: usize| u16::from_be_bytes([h[i], h[i + 1]]);
        let header = Header {
            appid: word(0),
            length: word(2),
            reserved1: word(4),
            reserved2: word(6),
        };
        let len = usize::from(header.length);
        if len < 8 {
            return Err(Error::InvalidLength);
        }
        let apdu = b.get(8..len).ok_or(Error::InvalidLength)?;
        Ok((header, apdu))
    }

    /// The header, and the PDU after it, which must be `[APPLICATION tag]` constructed (GOOSE's
    /// 1, Sampled Values' 0).
    pub fn read_pdu(b: &[u8], tag: u32) -> Result<(Header, Tlv<'_>), Error> {
        let (header, apdu) = Header::read(b)?;
        let (pdu, _) = Tlv::read(apdu).ok_or(Error::InvalidPdu)?;
        if (pdu.class, pdu.tag, pdu.constructed) != (Class::Application, tag, true) {
            return Err(Error::InvalidPdu);
        }
        Ok((header, pdu))
    }

    /// Edition 2's simulation bit.
    pub fn simulated(&self) -> bool {
        self.reserved1 & 0x8000 != 0
    }
}

/// An IEC 61850 timestamp (UtcTime): seconds since 1970, a 24-bit binary fraction of a second,
/// and the time quality octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcTime {
    pub seconds: u32,
    pub fraction: u32,
    pub quality: u8,
}

impl UtcTime {
    pub fn read(v: &[u8]) -> Option<Self> {
        let v: &[u8; 8] = v.try_into().ok()?;
        Some(UtcTime {
            seconds: u32::from_be_bytes([v[0], v[1], v[2], v[3]]),
            fraction: u32::from_be_bytes([0, v[4], v[5], v[6]]),
            quality: v[7],
        })
    }

    /// Microseconds within the second.
    pub fn micros(&self) -> u32 {
        ((u64::from(self.fraction) * 1_000_000) >> 24) as u32
    }
}

/// One GOOSE message, borrowed from the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goose<'a> {
    pub header: Header,
    /// The control block's reference, `LD/LLN0$GO$name`.
    pub gocb_ref: &'a [u8],
    /// Milliseconds the subscriber may wait for the next frame.
    pub time_allowed_to_live: u32,
    /// The data set's reference, `LD/LLN0$name`.
    pub dat_set: &'a [u8],
    pub go_id: Option<&'a [u8]>,
    /// When `stNum` last changed.
    pub t: Option<UtcTime>,
    pub st_num: u32,
    pub sq_num: u32,
    /// `simulation` (Edition 2), `test` (Edition 1).
    pub simulation: bool,
    pub conf_rev: u32,
    /// Needs commissioning: the control block is not configured for the data set.
    pub nds_com: bool,
    pub num_entries: u32,
    all_data: &'a [u8],
}

impl<'a> Goose<'a> {
    /// Reads the frame's payload after the ethertype (and any VLAN tag).
    pub fn read(b: &'a [u8]) -> Result<Self, Error> {
        let (header, pdu) = Header::read_pdu(b, 1)?;
        let mut g = Goose {
            header,
            gocb_ref: &[],
            time_allowed_to_live: 0,
            dat_set: &[],
            go_id: None,
            t: None,
            st_num: 0,
            sq_num: 0,
            simulation: false,
            conf_rev: 0,
            nds_com: false,
            num_entries: 0,
            all_data: &[],
        };
        // Fields seen, by tag: the mandatory ones must all be.
        let mut seen = 0u16;
        for f in pdu.children() {
            if f.class != Class::Context || f.tag > 12 {
                continue;
            }
            let int = || {
                f.unsigned()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or(Error::MissingField(FIELDS[f.tag as usize]))
            };
            match f.tag {
                0 => g.gocb_ref = f.value,
                1 => g.time_allowed_to_live = int()?,
                2 => g.dat_set = f.value,
                3 => g.go_id = Some(f.value),
                4 => g.t = UtcTime::read(f.value),
                5 => g.st_num = int()?,
                6 => g.sq_num = int()?,
                7 => g.simulation = f.value.first().is_some_and(|&b| b != 0),
                8 => g.conf_rev = int()?,
                9 => g.nds_com = f.value.first().is_some_and(|&b| b != 0),
                10 => g.num_entries = int()?,
                11 => g.all_data = f.value,
                _ => {}
            }
            seen |= 1 << f.tag;
        }
        // gocbRef, timeAllowedtoLive, datSet, t, stNum, sqNum, confRev, numDatSetEntries,
        // allData.
        for tag in [0, 1, 2, 4, 5, 6, 8, 10, 11] {
            if seen & (1 << tag) == 0 {
                return Err(Error::MissingField(FIELDS[tag]));
            }
        }
        Ok(g)
    }

    /// The encoded members, as sent (what a digest of the state is taken over).
    pub fn all_data(&self) -> &'a [u8] {
        self.all_data
    }

    /// The data set's members, in order (structures and arrays by their element count).
    pub fn data(&self) -> impl Iterator<Item = Data<'a>> {
        Children(self.all_data).filter_map(Data::read)
    }
}

/// Field names, by tag, as IEC 61850-8-1 spells them.
const FIELDS: [&str; 13] = [
    "gocbRef",
    "timeAllowedtoLive",
    "datSet",
    "goID",
    "t",
    "stNum",
    "sqNum",
    "simulation",
    "confRev",
    "ndsCom",
    "numDatSetEntries",
    "allData",
    "security",
];

#[cfg(test)]
mod tests;
