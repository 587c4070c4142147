//! Sampled Values (IEC 61850-9-2): the multicast Ethernet frames (ethertype 0x88BA) in which a
//! merging unit streams a substation's currents and voltages, thousands of samples a second,
//! to the protection relays that trip on them.
//!
//! After the header GOOSE shares ([`crate::goose::Header`]), the BER-encoded `SavPdu` carries
//! one or more ASDUs, each one sample of one stream: its `svID`, the sample counter `smpCnt`
//! (which wraps at the sample rate, or at 65536), the configuration revision, whether the unit
//! is synchronised, and the samples themselves (9-2LE: a 32-bit value and quality each).

use crate::goose::{Error, Header, UtcTime};
use crate::mms::ber::{Children, Tlv};

/// Sampled Values' ethertype.
pub const ETHERTYPE: u16 = 0x88BA;

/// One Sampled Values message, borrowed from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sv<'a> {
    pub header: Header,
    /// How many ASDUs the message says it carries.
    pub no_asdu: u16,
    asdus: &'a [u8],
}

impl<'a> Sv<'a> {
    /// Reads the frame's payload after the ethertype (and any VLAN tag).
    pub fn read(b: &'a [u8]) -> Result<Self, Error> {
        let (header, pdu) = Header::read_pdu(b, 0)?;
        let no_asdu = pdu
            .child(0)
            .and_then(|t| t.unsigned())
            .and_then(|n| u16::try_from(n).ok())
            .ok_or(Error::MissingField("noASDU"))?;
        let asdus = pdu.child(2).ok_or(Error::MissingField("seqASDU"))?.value;
        Ok(Sv {
            header,
            no_asdu,
            asdus,
        })
    }

    /// The ASDUs, in order; one that lacks a mandatory field ends them.
    pub fn asdus(&self) -> impl Iterator<Item = Asdu<'a>> {
        Children(self.asdus).map_while(Asdu::read)
    }
}

/// One sample of one stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asdu<'a> {
    pub sv_id: &'a [u8],
    pub dat_set: Option<&'a [u8]>,
    pub smp_cnt: u16,
    pub conf_rev: u32,
    pub refr_tm: Option<UtcTime>,
    /// 0 none, 1 local clock, 2 global (IEC 61588) clock; 5–254 a source's id.
    pub smp_synch: u8,
    /// Samples per nominal period (or per second, by `smp_mod`).
    pub smp_rate: Option<u16>,
    /// The samples: 9-2LE's eight values of 4 octets, each with its 4-octet quality.
    pub samples: &'a [u8],
    pub smp_mod: Option<u16>,
}

impl<'a> Asdu<'a> {
    fn read(t: Tlv<'a>) -> Option<Self> {
        let u16_of = |t: Tlv<'_>| t.unsigned().and_then(|n| u16::try_from(n).ok());
        Some(Asdu {
            sv_id: t.child(0)?.value,
            dat_set: t.child(1).map(|d| d.value),
            smp_cnt: t.child(2).and_then(u16_of)?,
            conf_rev: t
                .child(3)
                .and_then(|c| c.unsigned())
                .and_then(|n| u32::try_from(n).ok())?,
            refr_tm: t.child(4).and_then(|r| UtcTime::read(r.value)),
            smp_synch: *t.child(5)?.value.first()?,
            smp_rate: t.child(6).and_then(u16_of),
            samples: t.child(7)?.value,
            smp_mod: t.child(8).and_then(u16_of),
        })
    }

    /// 9-2LE's values: each sample's 32-bit value, with its quality.
    pub fn values(&self) -> impl Iterator<Item = (i32, u32)> + 'a {
        self.samples.chunks_exact(8).map(|c| {
            (
                i32::from_be_bytes([c[0], c[1], c[2], c[3]]),
                u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One 9-2LE frame of `pcaps/iec61850_goose.pcap` (libiec61850's SVPublisher), after the
    /// ethertype.
    const FRAME: &str =
        "4000006f000000006065800101a260305e8009506c616e744d553031820200008304000000018501\
        0286020fa087400000000000000000fffe6a0d00000000000195f300000000000000000000000000\
        00000000000000fff421a700000000000bde59000000000000000000000000";

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_frame_reads_to_its_samples() {
        let b = hex(FRAME);
        let sv = Sv::read(&b).unwrap();
        assert_eq!(sv.header.appid, 0x4000);
        assert_eq!(sv.no_asdu, 1);
        let a = sv.asdus().next().unwrap();
        assert_eq!(a.sv_id, b"PlantMU01");
        assert_eq!((a.smp_cnt, a.conf_rev, a.smp_synch), (0, 1, 2));
        assert_eq!(a.smp_rate, Some(4000));
        assert_eq!(a.values().count(), 8);
    }

    #[test]
    fn every_cut_is_an_error_or_fewer_asdus() {
        let b = hex(FRAME);
        for n in 0..b.len() {
            if let Ok(sv) = Sv::read(&b[..n]) {
                assert!(sv.asdus().count() <= 1);
            }
        }
    }
}
