//! The modbus probe and parser on arbitrary bytes: frame the whole input as a stream, in both
//! directions. Nothing may panic, and every PDU must lie inside the input.
#![no_main]

use decoders::modbus::{probe, ModbusParser};
use decoders::{Direction, Parsed, StreamParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
        let mut parser = ModbusParser::default();
        let mut rest = data;
        while let Parsed::Pdu { len, .. } = parser.parse(dir, rest) {
            assert!(len > 0 && len <= rest.len());
            rest = &rest[len..];
        }
    }
});
