//! Modbus/TCP (Modbus Application Protocol v1.1b3, Modbus Messaging on TCP/IP v1.0b).
//!
//! A Modbus/TCP ADU is a 7-byte MBAP header followed by a PDU of at most 253 bytes: a function
//! code and its data. The MBAP length field frames the stream, so a PDU split over segments or
//! several PDUs in one segment are framed without looking inside the PDU.
//!
//! Framing ([`ModbusParser`]) yields an [`Adu`]; [`Message::decode`] then reads its PDU the way
//! its direction lays it out (`function`, `request`, `response`, `mei`, `records`), and
//! [`pair`] tells whether a response answers a request.

mod error;
pub mod function;
pub mod mbap;
pub mod mei;
pub mod message;
pub mod records;
mod request;
mod response;

pub use error::Error;
pub use function::{AccessType, Category, ErrorFlags, FunctionCode};
pub use mbap::{Adu, Mbap};
pub use message::{pair, Data, Message, Pairing, Read, Write};

use crate::app::{AppProto, Direction, Parsed, Probe, StreamParser};

/// The registered Modbus/TCP port.
pub const PORT: u16 = 502;

/// Probe the first payload of a direction: a plausible MBAP header and a function code.
///
/// Used to find Modbus/TCP off port 502. It asks for the whole MBAP header and the function
/// code byte, a protocol id of 0 and a length the standard allows. A function code with the
/// exception bit matches in either direction: a server that opens the TCP connection itself
/// sends its responses "to the server". Function code 0 (or 0x80) is no function at all: it
/// leaves the probe undecided ([`Probe::NeedMore`]), which is enough on a Modbus port (where
/// such a PDU is malformed Modbus, decoded and flagged) and not enough elsewhere (where other
/// protocols' headers can look like an MBAP header followed by a zero).
pub fn probe(_dir: Direction, bytes: &[u8]) -> Probe {
    let Some(mbap) = Mbap::new_checked(bytes) else {
        return Probe::NeedMore;
    };
    if mbap.validate().is_err() || !mbap.length_within_spec() {
        return Probe::NoMatch;
    }
    match bytes.get(mbap::HEADER_LEN) {
        Some(f) if f & !function::EXCEPTION_BIT != 0 => Probe::Match,
        _ => Probe::NeedMore,
    }
}

/// The ADU that fills `buf` exactly, if its header is valid.
pub fn frame(buf: &[u8]) -> Option<Adu<'_>> {
    match ModbusParser.parse(Direction::ToServer, buf) {
        Parsed::Pdu { pdu, len } if len == buf.len() => Some(pdu),
        _ => None,
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
        assert_eq!(probe(Direction::ToServer, &exception), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &exception), Probe::Match);
        let mut none = READ_HOLDING;
        none[7] = 0;
        assert_eq!(probe(Direction::ToServer, &none), Probe::NeedMore);
        none[7] = 0x80;
        assert_eq!(probe(Direction::ToClient, &none), Probe::NeedMore);
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
        long[4] = 2;
        long[5] = 1;
        assert_eq!(
            p.parse(Direction::ToServer, &long),
            Parsed::Invalid(Error::Length(513))
        );
        // Over the standard's 254 but framed: flagged when decoded.
        long[4] = 0;
        long[5] = 255;
        assert!(matches!(
            p.parse(Direction::ToServer, &long),
            Parsed::Incomplete { .. }
        ));
        assert_eq!(probe(Direction::ToServer, &long), Probe::NoMatch);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Decode one ADU given in hex, sent in `dir`.
    fn decode(dir: Direction, adu: &str, f: impl FnOnce(Message<'_>)) {
        let bytes = hex(adu);
        let Parsed::Pdu { pdu, len } = ModbusParser.parse(dir, &bytes) else {
            panic!("{adu} does not frame");
        };
        assert_eq!(len, bytes.len());
        f(Message::decode(&pdu, dir))
    }

    // ADUs below are taken from pcaps/modbus_pymodbus_libmodbus.pcap (pymodbus client,
    // libmodbus server) unless said otherwise.

    #[test]
    fn reads() {
        decode(Direction::ToServer, "000100000006010100000010", |m| {
            assert_eq!(m.function, FunctionCode::RdCoils);
            assert_eq!(format!("{}", m.access), "READ | COILS");
            assert_eq!(m.category, Category::PUBLIC_ASSIGNED);
            assert_eq!(
                m.data,
                Data::Read(Read::Request {
                    address: 0,
                    quantity: 16
                })
            );
            assert!(m.flags.is_empty());
        });
        decode(
            Direction::ToClient,
            "0003000000170103140000000a0014001e00280032003c00460050005a",
            |m| {
                let Data::Read(Read::Response { byte_count, data }) = m.data else {
                    panic!("{m:?}")
                };
                assert_eq!(byte_count, 20);
                let v: Vec<u16> = message::words(data).collect();
                assert_eq!(v, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
                assert!(m.flags.is_empty());
            },
        );
        // Byte count disagrees with the data: decoded, flagged.
        decode(Direction::ToClient, "0001000000050101034992", |m| {
            assert!(matches!(
                m.data,
                Data::Read(Read::Response { byte_count: 3, .. })
            ));
            assert_eq!(m.flags, ErrorFlags::DATA_VALUE);
        });
        // Quantity out of range.
        decode(Direction::ToServer, "00030000000601030000007e", |m| {
            assert_eq!(m.flags, ErrorFlags::DATA_VALUE);
        });
    }

    #[test]
    fn writes() {
        decode(Direction::ToServer, "000700000009010f000a0009024d01", |m| {
            let Data::Write(Write::Multiple {
                address,
                quantity,
                byte_count,
                data,
            }) = m.data
            else {
                panic!("{m:?}")
            };
            assert_eq!((address, quantity, byte_count), (10, 9, 2));
            let bits: Vec<bool> = message::bits(data, 9).collect();
            assert_eq!(
                bits,
                [true, false, true, true, false, false, true, false, true]
            );
            assert!(m.flags.is_empty());
        });
        decode(Direction::ToClient, "000700000006010f000a0009", |m| {
            assert_eq!(
                m.data,
                Data::Write(Write::Echo {
                    address: 10,
                    quantity: 9
                })
            );
        });
        decode(Direction::ToServer, "000a000000080116000200f20025", |m| {
            assert_eq!(
                m.data,
                Data::Write(Write::Mask {
                    address: 2,
                    and_mask: 0xf2,
                    or_mask: 0x25
                })
            );
        });
        decode(
            Direction::ToServer,
            "00090000000f011700140004001e000204beef0000",
            |m| {
                let Data::ReadWrite { read, write } = m.data else {
                    panic!("{m:?}")
                };
                assert_eq!(
                    read,
                    Read::Request {
                        address: 20,
                        quantity: 4
                    }
                );
                let Write::Multiple { address, data, .. } = write else {
                    panic!()
                };
                assert_eq!(address, 30);
                assert_eq!(message::words(data).collect::<Vec<_>>(), [0xbeef, 0]);
                assert!(m.flags.is_empty());
            },
        );
        // A single coil write of a value other than 0x0000 / 0xff00.
        decode(Direction::ToServer, "00050000000601050003ff01", |m| {
            assert_eq!(m.flags, ErrorFlags::DATA_VALUE);
        });
        // FC 16 whose byte count is not twice the quantity.
        decode(
            Direction::ToServer,
            "00080000000f01100014000508006400c8012c0190",
            |m| {
                assert_eq!(m.flags, ErrorFlags::DATA_VALUE);
            },
        );
    }

    #[test]
    fn exceptions_and_others() {
        decode(Direction::ToClient, "000c00000003018302", |m| {
            assert!(m.is_exception());
            assert_eq!(m.function, FunctionCode::RdHoldRegs);
            assert_eq!(m.exception_code(), Some(2));
            assert!(m.flags.is_empty());
        });
        decode(Direction::ToClient, "000d0000000301ab01", |m| {
            assert_eq!(m.function, FunctionCode::MEI);
            assert_eq!(m.category, Category::NONE);
            assert_eq!(m.exception_code(), Some(1));
        });
        decode(Direction::ToClient, "000d0000000301ab09", |m| {
            assert_eq!(m.flags, ErrorFlags::EXC_CODE);
        });
        decode(Direction::ToServer, "000d00000005012b0e0100", |m| {
            assert_eq!(
                m.data,
                Data::Mei {
                    mei_type: 14,
                    data: &[1, 0]
                }
            );
            assert_eq!(m.category, Category::PUBLIC_ASSIGNED);
        });
        decode(
            Direction::ToClient,
            "000b0000000d01110ab4ff4c4d42332e312e36",
            |m| {
                assert_eq!(m.function, FunctionCode::ReportServerID);
                assert!(matches!(m.data, Data::Bytes(b) if b.len() == 11));
            },
        );
        // Diagnostic, force listen only mode (the sawp-modbus test case).
        decode(Direction::ToServer, "000100000006030800040000", |m| {
            assert_eq!(
                m.data,
                Data::Diagnostic {
                    sub: 4,
                    data: &[0, 0]
                }
            );
            assert_eq!(m.access, AccessType::NONE);
        });
        // User-defined (65) and Schneider UMAS (90) stay raw, with their category.
        decode(Direction::ToServer, "0001000000040141aabb", |m| {
            assert_eq!(m.category, Category::USER_DEFINED);
            assert_eq!(m.data, Data::Bytes(&[0xaa, 0xbb]));
        });
        decode(Direction::ToServer, "000100000004015a0002", |m| {
            assert_eq!(m.category, Category::RESERVED);
            assert_eq!(m.function, FunctionCode::Unknown);
        });
        // A read request cut short.
        decode(Direction::ToServer, "0001000000040103000a", |m| {
            assert_eq!(m.flags, ErrorFlags::DATA_LENGTH);
            assert_eq!(m.data, Data::Bytes(&[0, 0x0a]));
        });
    }

    #[test]
    fn pairing() {
        let req = hex("00040000000601040000000a");
        let resp = hex("00040000001701041403e803e903ea03eb03ec03ed03ee03ef03f003f1");
        let short = hex("00040000001501041203e803e903ea03eb03ec03ed03ee03ef03f0");
        let other = hex("00050000001701041403e803e903ea03eb03ec03ed03ee03ef03f003f1");
        fn m(b: &[u8], dir: Direction) -> Message<'_> {
            let Parsed::Pdu { pdu, .. } = ModbusParser.parse(dir, b) else {
                panic!()
            };
            Message::decode(&pdu, dir)
        }
        let q = m(&req, Direction::ToServer);
        assert_eq!(pair(&q, &m(&resp, Direction::ToClient)), Pairing::Match);
        assert_eq!(pair(&q, &m(&short, Direction::ToClient)), Pairing::Mismatch);
        assert_eq!(pair(&q, &m(&other, Direction::ToClient)), Pairing::NoMatch);
        let (wr, bad) = (
            hex("00050000000601050003ff00"),
            hex("00050000000601050004ff00"),
        );
        let (echo, bad) = (m(&wr, Direction::ToClient), m(&bad, Direction::ToClient));
        let wr = m(&wr, Direction::ToServer);
        assert_eq!(pair(&wr, &echo), Pairing::Match);
        assert_eq!(pair(&wr, &bad), Pairing::Mismatch);
        // An unknown function answered with exception function 0x80 (pymodbus does).
        let (unknown, illegal) = (hex("000000000006011400000001"), hex("000000000003018001"));
        let unknown = m(&unknown, Direction::ToServer);
        assert_eq!(
            pair(&unknown, &m(&illegal, Direction::ToClient)),
            Pairing::Match
        );
        let other_unit = hex("000000000003028001");
        assert_eq!(
            pair(&unknown, &m(&other_unit, Direction::ToClient)),
            Pairing::NoMatch
        );
    }

    /// Walk everything a message offers, as the sensor does.
    fn exercise(m: &Message<'_>) {
        let _ = (m.category, m.flags, m.is_exception(), m.exception_code());
        match m.data {
            Data::Read(Read::Response { data, .. }) => {
                let _ = message::words(data).count() + message::bits(data, 2000).count();
            }
            Data::Mei { data, .. } => {
                let _ = mei::DeviceIdRequest::parse(data);
                if let Some(r) = mei::DeviceIdResponse::parse(data) {
                    let _ = r.objects().count();
                    let _ = r.is_well_formed();
                }
            }
            _ => {}
        }
        let _ = records::FileRecords::new(m.body, true).count();
        let _ = records::FileRecords::new(m.body, false).count();
        let _ = records::FileRecordResponses::new(m.body).count();
        if let Some(f) = records::Fifo::parse(m.body) {
            let _ = f.values().count();
            let _ = f.is_well_formed();
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let mut p = ModbusParser;
            let _ = probe(Direction::ToServer, &bytes);
            let _ = probe(Direction::ToClient, &bytes);
            for dir in [Direction::ToServer, Direction::ToClient] {
                if let Parsed::Pdu { pdu, len } = p.parse(dir, &bytes) {
                    proptest::prop_assert!(len <= bytes.len() && len > mbap::HEADER_LEN);
                    let m = Message::decode(&pdu, dir);
                    exercise(&m);
                    let _ = pair(&m, &m);
                }
            }
        }
    }
}
