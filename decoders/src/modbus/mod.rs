//! Modbus/TCP (Modbus Application Protocol v1.1b3, Modbus Messaging on TCP/IP v1.0b).
//!
//! A Modbus/TCP ADU is a 7-byte MBAP header followed by a PDU of at most 253 bytes: a function
//! code and its data. The MBAP length field frames the stream, so a PDU split over segments or
//! several PDUs in one segment are framed without looking inside the PDU.

mod error;
pub mod mbap;

pub use error::Error;
pub use mbap::{Adu, Mbap};

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered Modbus/TCP port.
pub const PORT: u16 = 502;

/// Probe the first payload of a direction: a plausible MBAP header and function code.
///
/// Used to find Modbus/TCP off port 502. It asks for the whole MBAP header and the function
/// code, a protocol id of 0 and a length the standard allows; a request must carry a function
/// code below 0x80 (the exception bit is only set by servers), and a function code of 0 is never
/// valid.
pub fn probe(dir: Direction, bytes: &[u8]) -> Probe {
    let Some(mbap) = Mbap::new_checked(bytes) else {
        return Probe::NeedMore;
    };
    if mbap.validate().is_err() {
        return Probe::NoMatch;
    }
    let Some(&function) = bytes.get(mbap::HEADER_LEN) else {
        return Probe::NeedMore;
    };
    let plausible = match dir {
        Direction::ToServer => (1..0x80).contains(&function),
        Direction::ToClient => function != 0 && function != 0x80,
    };
    if plausible {
        Probe::Match
    } else {
        Probe::NoMatch
    }
}

/// Frames a Modbus/TCP byte stream into ADUs.
#[derive(Debug, Default, Clone)]
pub struct ModbusParser;

impl StreamParser for ModbusParser {
    type Pdu<'a> = Adu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Modbus;
    const MAX_PDU: usize = mbap::MAX_ADU_LEN;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Adu<'a>, Error> {
        let Some(mbap) = Mbap::new_checked(buf) else {
            return Parsed::Incomplete {
                needed: mbap::HEADER_LEN - buf.len(),
            };
        };
        if let Err(e) = mbap.validate() {
            return Parsed::Invalid(e);
        }
        Parsed::take(buf, mbap.adu_len(), |adu| {
            Adu::new(mbap, adu.get(mbap::HEADER_LEN..).unwrap_or_default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Read holding registers, transaction 1, unit 17, address 0x006b, 3 registers.
    static READ_HOLDING: [u8; 12] = [
        0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6b, 0x00, 0x03,
    ];

    #[test]
    fn probe_request() {
        assert_eq!(probe(Direction::ToServer, &READ_HOLDING), Probe::Match);
        assert_eq!(
            probe(Direction::ToServer, &READ_HOLDING[..7]),
            Probe::NeedMore
        );
        let mut exception = READ_HOLDING;
        exception[7] = 0x83;
        assert_eq!(probe(Direction::ToServer, &exception), Probe::NoMatch);
        assert_eq!(probe(Direction::ToClient, &exception), Probe::Match);
        let mut bad_proto = READ_HOLDING;
        bad_proto[3] = 1;
        assert_eq!(probe(Direction::ToServer, &bad_proto), Probe::NoMatch);
        assert_eq!(
            probe(Direction::ToServer, b"GET / HTTP/1.1\r\n"),
            Probe::NoMatch
        );
    }

    #[test]
    fn parse_whole_and_partial() {
        let mut p = ModbusParser;
        match p.parse(Direction::ToServer, &READ_HOLDING) {
            Parsed::Pdu { pdu, len } => {
                assert_eq!(len, 12);
                assert_eq!(pdu.header.transaction_id, 1);
                assert_eq!(pdu.header.unit_id, 0x11);
                assert_eq!(pdu.function_code(), Some(3));
                assert_eq!(pdu.data(), &[0x00, 0x6b, 0x00, 0x03]);
            }
            other => panic!("{other:?}"),
        }
        for cut in 0..READ_HOLDING.len() {
            match p.parse(Direction::ToServer, &READ_HOLDING[..cut]) {
                Parsed::Incomplete { needed } => {
                    assert!(needed >= 1 && cut + needed <= READ_HOLDING.len())
                }
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn parse_two_in_one() {
        let two: Vec<u8> = READ_HOLDING
            .iter()
            .chain(READ_HOLDING.iter())
            .copied()
            .collect();
        let mut p = ModbusParser;
        let Parsed::Pdu { len, .. } = p.parse(Direction::ToServer, &two) else {
            panic!()
        };
        assert_eq!(len, 12);
        assert!(matches!(
            p.parse(Direction::ToServer, &two[len..]),
            Parsed::Pdu { len: 12, .. }
        ));
    }

    #[test]
    fn invalid_headers() {
        let mut p = ModbusParser;
        let mut bad = READ_HOLDING;
        bad[2] = 0x12;
        assert_eq!(
            p.parse(Direction::ToServer, &bad),
            Parsed::Invalid(Error::ProtocolId(0x1200))
        );
        let mut short = READ_HOLDING;
        short[5] = 1;
        assert_eq!(
            p.parse(Direction::ToServer, &short),
            Parsed::Invalid(Error::Length(1))
        );
        let mut long = READ_HOLDING;
        long[5] = 255;
        assert_eq!(
            p.parse(Direction::ToServer, &long),
            Parsed::Invalid(Error::Length(255))
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut p = ModbusParser;
            let _ = probe(Direction::ToServer, &bytes);
            let _ = probe(Direction::ToClient, &bytes);
            if let Parsed::Pdu { len, .. } = p.parse(Direction::ToServer, &bytes) {
                proptest::prop_assert!(len <= bytes.len() && len > mbap::HEADER_LEN);
            }
        }
    }
}
