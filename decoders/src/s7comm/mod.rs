//! S7comm and S7comm-plus over ISO-on-TCP (RFC 1006: TPKT carrying ISO 8073 COTP).
//!
//! Every S7 PDU travels in a TPKT whose length field frames the stream; TPKT is what
//! [`S7commParser`] frames. Inside, layer by layer, each a borrowed view:
//!
//! * [`cotp`]: the COTP TPDU — connection setup/teardown with TSAPs, data TPDUs;
//! * [`reassembly`]: DT TPDUs with EOT clear joined into one TSDU, per direction, capped;
//! * [`header`]: the S7 header (protocol id 0x32) of a TSDU;
//! * [`param`] and [`item`]: functions of jobs and ack_data, read/write items;
//! * [`userdata`]: userdata (SZL, block functions, clock, security, …);
//! * [`plus`]: S7comm-plus (protocol id 0x72).
//!
//! Names of code points follow Wireshark's `packet-s7comm.c` value strings in snake case.

pub mod cotp;
mod error;
pub mod header;
pub mod item;
pub mod param;
pub mod plus;
pub mod reassembly;
pub mod tpkt;
pub mod userdata;

pub use cotp::Cotp;
pub use error::Error;
pub use header::{Rosctr, S7Pdu};
pub use param::Function;
pub use plus::Plus;
pub use reassembly::Reassembler;
pub use tpkt::{CotpType, Tpkt};
pub use userdata::Userdata;

/// The S7 PDU a transaction is, with the function of the job an ack_data answers (an
/// ack_data's parameter does not always repeat it).
#[derive(Debug, Clone, Copy)]
pub struct S7Tx<'p, 'a> {
    pub pdu: &'p S7Pdu<'a>,
    pub job_function: Option<u8>,
}

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};

/// ISO-TSAP, the port S7 PLCs listen on.
pub const PORT: u16 = 102;

/// Probe the first payload of a direction: a TPKT header (version 3) around a COTP header of a
/// known type whose length fits inside the TPKT.
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    if bytes.len() < tpkt::MIN_LEN {
        return Probe::NeedMore;
    }
    // Data carrying an ISO session SPDU is MMS on the same transport.
    if crate::mms::transport::starts_session(bytes) == Some(true) {
        return Probe::NoMatch;
    }
    match Tpkt::new_checked(bytes) {
        Ok(Some(t)) if t.cotp_type().is_some() => Probe::Match,
        Ok(Some(_)) | Err(_) => Probe::NoMatch,
        // The header is plausible but the TPKT is longer than this segment.
        Ok(None) => match tpkt::check_header(bytes) {
            Ok(_) => Probe::Match,
            Err(_) => Probe::NoMatch,
        },
    }
}

/// Frames an ISO-on-TCP byte stream into TPKTs.
#[derive(Debug, Default, Clone)]
pub struct S7commParser;

impl StreamParser for S7commParser {
    type Pdu<'a> = Tpkt<'a>;
    type Error = Error;
    const PROTO: AppProto = AppProto::S7comm;
    const MAX_PDU: usize = tpkt::MAX_LEN;

    fn parse<'a>(&mut self, _dir: Direction, buf: &'a [u8]) -> Parsed<Tpkt<'a>, Error> {
        if buf.len() < tpkt::HEADER_LEN {
            return Parsed::Incomplete {
                needed: tpkt::HEADER_LEN - buf.len(),
            };
        }
        match Tpkt::new_checked(buf) {
            Ok(Some(t)) => Parsed::Pdu {
                len: t.len(),
                pdu: t,
            },
            Ok(None) => match tpkt::check_header(buf) {
                Ok(len) => Parsed::Incomplete {
                    needed: len.saturating_sub(buf.len()).max(1),
                },
                Err(e) => Parsed::Invalid(e),
            },
            Err(e) => Parsed::Invalid(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// COTP connection request from a Snap7 client (TSAPs 0x0100 / 0x0102).
    static COTP_CR: [u8; 22] = [
        0x03, 0x00, 0x00, 0x16, 0x11, 0xe0, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1,
        0x02, 0x01, 0x00, 0xc2, 0x02, 0x01, 0x02,
    ];

    #[test]
    fn probe_cr() {
        assert_eq!(probe(Direction::ToServer, &COTP_CR), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &COTP_CR[..3]), Probe::NeedMore);
        assert_eq!(probe(Direction::ToServer, &COTP_CR[..12]), Probe::Match);
        assert_eq!(
            probe(Direction::ToServer, b"\x16\x03\x01\x02\x00\x01\x00"),
            Probe::NoMatch
        );
    }

    #[test]
    fn parse_cr() {
        let mut p = S7commParser;
        match p.parse(Direction::ToServer, &COTP_CR) {
            Parsed::Pdu { pdu, len } => {
                assert_eq!(len, 22);
                assert_eq!(pdu.cotp_type(), Some(CotpType::ConnectionRequest));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            p.parse(Direction::ToServer, &COTP_CR[..10]),
            Parsed::Incomplete { needed: 12 }
        );
        let mut bad = COTP_CR;
        bad[0] = 2;
        assert_eq!(
            p.parse(Direction::ToServer, &bad),
            Parsed::Invalid(Error::Version(2))
        );
    }

    /// Decode every layer of `tsdu` as far as it goes, touching every accessor.
    fn decode_all(tsdu: &[u8]) -> usize {
        let mut n = 0;
        if let Ok(pdu) = S7Pdu::parse(tsdu) {
            match Function::parse(&pdu) {
                Function::VarRequest { items, data, .. } => {
                    n += items
                        .map(|i| i.any().map_or(0, |a| a.byte() as usize))
                        .sum::<usize>();
                    n += data.map(|d| d.data.len()).sum::<usize>();
                }
                Function::ReadResponse { data, .. } => n += data.count(),
                Function::WriteResponse { codes, .. } => n += codes.iter().count(),
                Function::Block(b) => n += b.filename.and_then(|f| f.block()).is_some() as usize,
                Function::PiService(pi) => n += pi.blocks().count(),
                _ => {}
            }
            if let Ok(u) = Userdata::parse(&pdu) {
                n += u.szl().is_some() as usize + u.block().is_some() as usize;
                n += u.clock().map_or(0, |c| c.to_string().len());
            }
        }
        if let Ok(p) = Plus::parse(tsdu) {
            n += p.function.is_some() as usize;
        }
        n
    }

    #[test]
    fn decodes_the_snap7_capture_bytes() {
        // Setup communication job from Snap7, whole TPKT.
        let b = [
            0x03, 0x00, 0x00, 0x19, 0x02, 0xf0, 0x80, 0x32, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x08, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x01, 0x01, 0xe0,
        ];
        let Parsed::Pdu { pdu, .. } = S7commParser.parse(Direction::ToServer, &b) else {
            panic!()
        };
        let Ok(Cotp::Data { payload, eot, .. }) = Cotp::parse(&pdu) else {
            panic!()
        };
        let mut r = Reassembler::default();
        let tsdu = r.push(Direction::ToServer, eot, payload).unwrap().unwrap();
        let s7 = S7Pdu::parse(tsdu).unwrap();
        let Function::Setup(setup) = Function::parse(&s7) else {
            panic!()
        };
        assert_eq!(setup.pdu_size, 480);
    }

    proptest::proptest! {
        #[test]
        fn full_decode_never_panics(
            chunks in proptest::collection::vec(
                proptest::collection::vec(proptest::num::u8::ANY, 0..120), 1..6),
        ) {
            let mut r = Reassembler::with_cap(200);
            for (i, c) in chunks.iter().enumerate() {
                let _ = decode_all(c);
                let mut framed = vec![3, 0, 0, 0, 2, 0xf0, if i % 2 == 0 { 0 } else { 0x80 }];
                framed.extend_from_slice(c);
                let len = framed.len() as u16;
                framed[2..4].copy_from_slice(&len.to_be_bytes());
                let Parsed::Pdu { pdu, .. } = S7commParser.parse(Direction::ToServer, &framed)
                else {
                    continue;
                };
                if let Ok(Cotp::Data { eot, payload, .. }) = Cotp::parse(&pdu) {
                    if let Ok(Some(tsdu)) = r.push(Direction::ToServer, eot, payload) {
                        let _ = decode_all(tsdu);
                    }
                }
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = probe(Direction::ToServer, &bytes);
            if let Parsed::Pdu { len, pdu } = S7commParser.parse(Direction::ToServer, &bytes) {
                proptest::prop_assert!(len <= bytes.len());
                match Cotp::parse(&pdu) {
                    Ok(Cotp::Connect(c)) => {
                        let _ = (c.calling_tsap(), c.called_tsap(), c.tpdu_size(), c.params().count());
                    }
                    Ok(Cotp::Data { payload, .. }) => {
                        let _ = decode_all(payload);
                    }
                    _ => {}
                }
            }
        }
    }
}
