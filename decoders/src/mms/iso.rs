//! The OSI upper layers MMS rides on, between COTP and the MMS PDU: the session layer (ISO
//! 8327-1 SPDUs), the presentation layer (ISO 8823 PPDUs, BER) and, while an association is
//! set up or released, ACSE (ISO 8650 APDUs). Only what carries the MMS PDU is read: the SPDU's
//! kind and user data, the presentation data values, the ACSE APDU's kind and its
//! user-information.

use super::ber::{Class, Tlv};

/// A session SPDU's kind (its SI code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Spdu {
    /// Give Tokens followed by Data Transfer: the SPDUs of every data TSDU.
    Data,
    Connect,
    Accept,
    Refuse,
    Finish,
    Disconnect,
    Abort,
    /// Another SI code.
    Other(u8),
    /// No session layer: an MMS PDU sent bare on COTP.
    None,
}

impl Spdu {
    fn from_si(si: u8) -> Spdu {
        match si {
            1 => Spdu::Data,
            13 => Spdu::Connect,
            14 => Spdu::Accept,
            12 => Spdu::Refuse,
            9 => Spdu::Finish,
            10 => Spdu::Disconnect,
            25 => Spdu::Abort,
            si => Spdu::Other(si),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Spdu::Data => "data",
            Spdu::Connect => "connect",
            Spdu::Accept => "accept",
            Spdu::Refuse => "refuse",
            Spdu::Finish => "finish",
            Spdu::Disconnect => "disconnect",
            Spdu::Abort => "abort",
            Spdu::Other(_) => "other",
            Spdu::None => "none",
        }
    }
}

/// An ACSE APDU's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Acse {
    /// A-ASSOCIATE request.
    Aarq,
    /// A-ASSOCIATE response.
    Aare,
    /// A-RELEASE request.
    Rlrq,
    /// A-RELEASE response.
    Rlre,
    /// A-ABORT.
    Abrt,
}

impl Acse {
    pub fn name(self) -> &'static str {
        match self {
            Acse::Aarq => "associate_request",
            Acse::Aare => "associate_response",
            Acse::Rlrq => "release_request",
            Acse::Rlre => "release_response",
            Acse::Abrt => "abort",
        }
    }
}

/// What a TSDU carries above the transport layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upper<'a> {
    pub spdu: Spdu,
    pub acse: Option<Acse>,
    /// The MMS PDU, a whole TLV, when there is one.
    pub mms: Option<&'a [u8]>,
}

/// Reads a session length indicator: one octet, or 0xff and two.
fn length(b: &[u8]) -> Option<(usize, &[u8])> {
    match *b.first()? {
        0xff => Some((
            usize::from(u16::from_be_bytes(b.get(1..3)?.try_into().ok()?)),
            &b[3..],
        )),
        n => Some((usize::from(n), &b[1..])),
    }
}

/// Session parameter group carrying the user data of connection and release SPDUs.
const USER_DATA: u8 = 193;
/// The same, extended (more than 512 octets of user data).
const EXTENDED_USER_DATA: u8 = 194;

/// Reads the upper layers of a TSDU (a COTP DT's reassembled user data). `None` when it does
/// not start with a session SPDU.
pub fn read(tsdu: &[u8]) -> Option<Upper<'_>> {
    let si = *tsdu.first()?;
    // The SPDUs an MMS association uses, and those of the kernel and duplex functional units
    // a peer may answer with (expedited data, prepare, not finished, overflow, abort accept).
    if !matches!(si, 1 | 5 | 7 | 8 | 9 | 10 | 12..=16 | 25 | 26) {
        return None;
    }
    let (li, rest) = length(&tsdu[1..])?;
    let params = rest.get(..li)?;
    let after = &rest[li..];
    let spdu = Spdu::from_si(si);
    let user = match spdu {
        // Give Tokens (SI 1, parameters none) then Data Transfer (SI 1): user information
        // follows the second SPDU's header.
        Spdu::Data => {
            let (li, rest) = length(after.get(1..)?)?;
            if after.first() != Some(&1) {
                return None;
            }
            rest.get(li..)?
        }
        Spdu::Other(_) => after,
        _ => user_data(params).unwrap_or(after),
    };
    let (acse, mms) = match Tlv::read(user) {
        Some((ppdu, _)) => presentation(ppdu),
        None => (None, None),
    };
    Some(Upper { spdu, acse, mms })
}

/// The user data parameter of a connection or release SPDU.
fn user_data(mut params: &[u8]) -> Option<&[u8]> {
    while let Some((&code, rest)) = params.split_first() {
        let (len, rest) = length(rest)?;
        let value = rest.get(..len)?;
        if code == USER_DATA || code == EXTENDED_USER_DATA {
            return Some(value);
        }
        params = &rest[len..];
    }
    None
}

/// The ACSE APDU and the MMS PDU a presentation PPDU carries.
fn presentation(ppdu: Tlv<'_>) -> (Option<Acse>, Option<&[u8]>) {
    let data = match (ppdu.class, ppdu.tag) {
        // Fully-encoded-data (in a data TSDU and in release SPDUs).
        (Class::Application, 1) => Some(ppdu),
        // CP-type and CPA-PPDU: the normal-mode parameters' user data.
        (Class::Universal, 17) => ppdu.child(2).and_then(|n| {
            n.children()
                .find(|c| c.class == Class::Application && c.tag == 1)
        }),
        _ => None,
    };
    let Some(value) = data.and_then(pdv) else {
        return (None, None);
    };
    let Some((inner, _)) = Tlv::read(value) else {
        return (None, None);
    };
    if inner.class != Class::Application {
        return (None, Some(value));
    }
    let acse = match inner.tag {
        0 => Acse::Aarq,
        1 => Acse::Aare,
        2 => Acse::Rlrq,
        3 => Acse::Rlre,
        4 => Acse::Abrt,
        _ => return (None, None),
    };
    // User-information [30]: an EXTERNAL whose single-ASN1-type encoding is the MMS PDU.
    let mms = inner
        .child(30)
        .and_then(|u| {
            u.children()
                .find(|c| c.class == Class::Universal && c.tag == 8)
        })
        .and_then(|ext| ext.child(0))
        .map(|enc| enc.value);
    (Some(acse), mms)
}

/// The first presentation data value of fully-encoded data: its single-ASN1-type or
/// octet-aligned encoding.
fn pdv<'a>(data: Tlv<'a>) -> Option<&'a [u8]> {
    let list = data
        .children()
        .find(|c| c.class == Class::Universal && c.tag == 16)?;
    list.children()
        .find(|c| c.is_context(0) || c.is_context(1))
        .map(|c| c.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn data_release_and_connect() {
        // A getVariableAccessAttributes request in a data TSDU (nDPI's iso9506-1-mms.pcap).
        let b = unhex("0100010061353033020103a02ea02c020304a273a625a023a1211a0e41413145315130314650324c44301a0f4c4c4e30244252247263625f423032");
        let u = read(&b).unwrap();
        assert_eq!((u.spdu, u.acse), (Spdu::Data, None));
        assert_eq!(u.mms.map(|m| m[0]), Some(0xa0));
        // A-RELEASE request in a FINISH SPDU.
        let b = unhex("0910c10e610c300a020101a0056203800101");
        let u = read(&b).unwrap();
        assert_eq!(
            (u.spdu, u.acse, u.mms),
            (Spdu::Finish, Some(Acse::Rlrq), None)
        );
        // The association: CONNECT with CP-type, AARQ and the MMS initiate request.
        let b = unhex("0d9e0506130100160102140200023302000134020001c188318185a003800101a27e810400000001820400000001a423300f0201010604520100013004060251013010020103060528ca2202013004060251018802060061473045020101a040603e80020780a107060528ca220203be2f282d020103a028a826800300fa0081010a82010a830105a416800101810305e100820c03a00000000000000000e110");
        let u = read(&b).unwrap();
        assert_eq!((u.spdu, u.acse), (Spdu::Connect, Some(Acse::Aarq)));
        assert_eq!(u.mms.map(|m| m[0]), Some(0xa8));
        // ACCEPT, CPA-PPDU, AARE and the initiate response.
        let b = unhex("0e89050613010016010214020002c17b3179a003800101a272830400000001a5123007800100810251013007800100810251018802060061523050020101a04b614980020780a107060528ca220203a203020100a305a103020100be2e282c020103a027a92580027d0081010a820108830105a416800101810305e100820c03ee0800000400000001ed18");
        let u = read(&b).unwrap();
        assert_eq!((u.spdu, u.acse), (Spdu::Accept, Some(Acse::Aare)));
        assert_eq!(u.mms.map(|m| m[0]), Some(0xa9));
        assert_eq!(read(&[0x01, 0x00, 0x02]), None);
        // An S7 header is no SPDU.
        assert_eq!(read(&[0x32, 0x01, 0x00, 0x00]), None);
        assert_eq!(read(&[]), None);
    }
}
