//! The Modbus probe, framer and decoder on arbitrary bytes: frame the whole input as a stream in
//! both directions, decode every ADU the way its direction lays it out, walk everything a
//! decoded PDU offers (values, MEI objects, file records, FIFO) and pair each response with
//! every request seen. Nothing may panic, and every PDU must lie inside the input.

use decoders::modbus::mei::{DeviceIdRequest, DeviceIdResponse};
use decoders::modbus::message::{bits, words};
use decoders::modbus::records::{Fifo, FileRecordResponses, FileRecords};
use decoders::modbus::{pair, probe, Data, Message, ModbusParser, Read, Write};
use decoders::{Direction, Parsed, StreamParser};

fn walk(m: &Message<'_>) -> usize {
    let mut n = m.category.0 as usize + m.flags.0 as usize + usize::from(m.is_exception());
    n += m.exception_code().map_or(0, usize::from);
    match m.data {
        Data::Read(Read::Response { data, .. })
        | Data::Write(Write::Multiple { data, .. })
        | Data::ReadWrite {
            write: Write::Multiple { data, .. },
            ..
        } => {
            n += words(data).count() + bits(data, 4000).filter(|b| *b).count();
        }
        Data::Mei { data, .. } => {
            n += DeviceIdRequest::parse(data).map_or(0, |r| usize::from(r.object_id));
            if let Some(r) = DeviceIdResponse::parse(data) {
                n += r.objects().map(|o| o.value.len()).sum::<usize>();
                n += usize::from(r.is_well_formed());
            }
        }
        _ => {}
    }
    n += FileRecords::new(m.body, true)
        .map(|r| r.data.len())
        .sum::<usize>();
    n += FileRecords::new(m.body, false).count();
    n += FileRecordResponses::new(m.body)
        .map(|r| r.data.len())
        .sum::<usize>();
    if let Some(f) = Fifo::parse(m.body) {
        n += f.values().count() + usize::from(f.is_well_formed());
    }
    n
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let mut requests = Vec::new();
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
        let mut parser = ModbusParser;
        let mut rest = data;
        while let Parsed::Pdu { pdu, len } = parser.parse(dir, rest) {
            assert!(len > 0 && len <= rest.len());
            let m = Message::decode(&pdu, dir);
            std::hint::black_box(walk(&m));
            match dir {
                Direction::ToServer => requests.push(m),
                Direction::ToClient => {
                    for req in &requests {
                        std::hint::black_box(pair(req, &m));
                    }
                }
            }
            rest = &rest[len..];
        }
    }
}
