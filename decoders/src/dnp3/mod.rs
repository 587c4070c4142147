//! DNP3 (IEEE 1815) over TCP and UDP.
//!
//! On IP, DNP3 keeps its serial link layer: every frame starts with 0x05 0x64 and a header whose
//! length field, with one CRC per 16-byte block, gives the frame's size. That length frames the
//! stream; the transport and application layers inside are read from the borrowed [`Frame`].

mod error;
pub mod link;

pub use error::Error;
pub use link::Frame;

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered DNP3 port, on TCP and UDP.
pub const PORT: u16 = 20000;

/// Probe the first payload of a direction: the start bytes 0x05 0x64, a valid length and a
/// link header whose CRC checks.
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    match link::check_header(bytes) {
        Ok(Some(_)) => Probe::Match,
        Ok(None) if bytes.len() < 2 || bytes[..2] == link::START => Probe::NeedMore,
        Ok(None) | Err(_) => Probe::NoMatch,
    }
}

/// Frames a DNP3 byte stream into link-layer frames.
#[derive(Debug, Default, Clone)]
pub struct Dnp3Parser;

impl StreamParser for Dnp3Parser {
    type Pdu<'a> = Frame<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Dnp3;
    const MAX_PDU: usize = link::MAX_FRAME_LEN;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Frame<'a>, Error> {
        match link::check_header(buf) {
            Err(e) => Parsed::Invalid(e),
            Ok(None) => Parsed::Incomplete {
                needed: link::HEADER_LEN - buf.len(),
            },
            Ok(Some(len)) => Parsed::take(buf, len, Frame::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Class 1/2/3/0 read from master 1 to outstation 1024; CRCs computed by an independent script.
    static READ: [u8; 27] = [
        0x05, 0x64, 0x14, 0xc4, 0x00, 0x04, 0x01, 0x00, 0xe9, 0xb6, 0xc0, 0xc0, 0x01, 0x3c, 0x02,
        0x06, 0x3c, 0x03, 0x06, 0x3c, 0x04, 0x06, 0x3c, 0x01, 0x06, 0x8a, 0x51,
    ];

    #[test]
    fn crc_matches_reference() {
        // The DNP3 CRC of the link header above, as transmitted (little endian).
        assert_eq!(
            link::crc(&READ[..8]),
            u16::from_le_bytes([READ[8], READ[9]])
        );
    }

    #[test]
    fn probe_and_parse() {
        assert_eq!(probe(Direction::ToServer, &READ), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &READ[..5]), Probe::NeedMore);
        assert_eq!(
            probe(Direction::ToServer, b"\x05\x65abcdefgh"),
            Probe::NoMatch
        );
        let mut p = Dnp3Parser;
        match p.parse(Direction::ToServer, &READ) {
            Parsed::Pdu { pdu, len } => {
                assert_eq!(len, READ.len());
                assert_eq!(pdu.destination(), 1024);
                assert_eq!(pdu.source(), 1);
                assert_eq!(pdu.control(), 0xc4);
            }
            other => panic!("{other:?}"),
        }
        let mut bad = READ;
        bad[8] ^= 1;
        assert!(matches!(
            p.parse(Direction::ToServer, &bad),
            Parsed::Invalid(Error::HeaderCrc { .. })
        ));
        assert_eq!(
            p.parse(Direction::ToServer, &READ[..20]),
            Parsed::Incomplete { needed: 7 }
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = probe(Direction::ToServer, &bytes);
            if let Parsed::Pdu { len, .. } = Dnp3Parser.parse(Direction::ToServer, &bytes) {
                proptest::prop_assert!(len <= bytes.len());
            }
        }
    }
}
