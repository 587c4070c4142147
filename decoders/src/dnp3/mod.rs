//! DNP3 (IEEE 1815) over TCP and UDP.
//!
//! On IP, DNP3 keeps its serial link layer: every frame starts with 0x05 0x64 and a header whose
//! length field, with one CRC per 16-byte block, gives the frame's size. That length frames the
//! stream; the transport and application layers inside are read from the borrowed [`Frame`]:
//!
//! * [`link`]: the frame, its control octet and its CRC-checked user-data blocks;
//! * [`transport`]: the segment header and the per-direction [`Reassembler`];
//! * [`application`]: a reassembled [`Fragment`]'s header and internal indications;
//! * [`object`]: object headers and their points, decoded lazily.
//!
//! Bytes that do not start a frame do not cost the stream its framing: the parser skips to the
//! next start bytes whose header CRC checks and reports what it skipped as a
//! [`Pdu::Skipped`].

pub mod application;
mod error;
pub mod link;
pub mod object;
pub mod transport;

pub use application::Fragment;
pub use error::Error;
pub use link::Frame;
pub use object::{Limits, ObjectError};
pub use transport::{Push, Reassembler};

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

/// What the parser found at the front of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pdu<'a> {
    /// A link frame whose header checks.
    Frame(Frame<'a>),
    /// Bytes that do not start a frame, up to the next start bytes that may: `why` says what
    /// was wrong with the first of them.
    Skipped { bytes: &'a [u8], why: Error },
}

/// Frames a DNP3 byte stream into link-layer frames, resynchronising past bad bytes.
#[derive(Debug, Default, Clone)]
pub struct Dnp3Parser;

/// Where the next frame may start after a bad header at the front of `buf`: the first later
/// 0x05 0x64 whose header checks, or whose header is not all there yet.
fn resync(buf: &[u8]) -> usize {
    (1..buf.len())
        .find(|&i| buf[i] == link::START[0] && link::check_header(&buf[i..]).is_ok())
        .unwrap_or(buf.len())
}

impl StreamParser for Dnp3Parser {
    type Pdu<'a> = Pdu<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::Dnp3;
    const MAX_PDU: usize = link::MAX_FRAME_LEN;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Pdu<'a>, Error> {
        match link::check_header(buf) {
            Err(why) => {
                let len = resync(buf);
                Parsed::Pdu {
                    pdu: Pdu::Skipped {
                        bytes: &buf[..len],
                        why,
                    },
                    len,
                }
            }
            Ok(None) => Parsed::Incomplete {
                needed: link::HEADER_LEN - buf.len(),
            },
            Ok(Some(len)) => Parsed::take(buf, len, |b| Pdu::Frame(Frame::new(b))),
        }
    }
}

/// A frame around `user` (transport header included), with correct CRCs: for tests.
#[cfg(test)]
pub(crate) fn test_frame(control: u8, dst: u16, src: u16, user: &[u8]) -> Vec<u8> {
    let len = u8::try_from(user.len() + usize::from(link::MIN_LENGTH)).unwrap();
    let mut f = vec![0x05, 0x64, len, control];
    f.extend_from_slice(&dst.to_le_bytes());
    f.extend_from_slice(&src.to_le_bytes());
    let c = link::crc(&f);
    f.extend_from_slice(&c.to_le_bytes());
    for block in user.chunks(16) {
        f.extend_from_slice(block);
        f.extend_from_slice(&link::crc(block).to_le_bytes());
    }
    assert_eq!(f.len(), link::frame_len(len));
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AnomalyName;

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
            Parsed::Pdu {
                pdu: Pdu::Frame(pdu),
                len,
            } => {
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
            Parsed::Pdu {
                pdu: Pdu::Skipped {
                    why: Error::HeaderCrc { .. },
                    ..
                },
                len: 27
            }
        ));
        assert_eq!(
            p.parse(Direction::ToServer, &READ[..20]),
            Parsed::Incomplete { needed: 7 }
        );
    }

    #[test]
    fn resynchronises_on_the_next_good_header() {
        // A frame with a bad header CRC, garbage, then a good frame: everything up to the good
        // frame is skipped at once, named after what was wrong at the front.
        let mut bad = READ;
        bad[9] ^= 0x40;
        let mut stream = bad.to_vec();
        stream.extend_from_slice(b"junk\x05");
        stream.extend_from_slice(&READ);
        stream.extend_from_slice(b"\x05\x64junk");
        stream.extend_from_slice(&READ);
        let mut p = Dnp3Parser;
        let mut rest = &stream[..];
        let mut seen = Vec::new();
        while !rest.is_empty() {
            match p.parse(Direction::ToServer, rest) {
                Parsed::Pdu { pdu, len } => {
                    seen.push(match pdu {
                        Pdu::Frame(_) => "frame",
                        Pdu::Skipped { why, .. } => why.anomaly_name(),
                    });
                    rest = &rest[len..];
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(
            seen,
            ["dnp3.bad_link_crc", "frame", "dnp3.bad_link_crc", "frame"]
        );
        // A lone 0x05 at the end may start a frame: skip up to it and wait.
        match p.parse(Direction::ToServer, b"ab\x05") {
            Parsed::Pdu { len, .. } => assert_eq!(len, 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p.parse(Direction::ToServer, b"\x05"),
            Parsed::Incomplete { needed: 9 }
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = probe(Direction::ToServer, &bytes);
            if let Parsed::Pdu { len, .. } = Dnp3Parser.parse(Direction::ToServer, &bytes) {
                proptest::prop_assert!(len > 0 && len <= bytes.len());
            }
        }
    }
}
