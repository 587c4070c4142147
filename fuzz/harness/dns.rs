//! DNS on arbitrary bytes: as a datagram and as a TCP stream of length-prefixed messages. A
//! message that checks is read whole — questions, every section's records, their names
//! decompressed, names inside record data — and nothing may panic or loop.

use decoders::dns::{probe, DnsParser, Message, Pdu, Section};
use decoders::{Direction, Parsed, StreamParser};

fn read(m: &Message<'_>, name: &mut Vec<u8>) {
    for q in m.questions() {
        q.name.write_dotted(name);
        assert!(name.len() <= 255 + 63);
    }
    for s in [Section::Answer, Section::Authority, Section::Additional] {
        for r in m.records(s) {
            r.name.write_dotted(name);
            for offset in [0, 2, 6] {
                if let Some(n) = r.name_in_data(offset) {
                    n.write_dotted(name);
                }
            }
        }
    }
    let _ = (m.id(), m.opcode(), m.rcode(), m.trailing());
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let mut name = Vec::new();
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    if let Ok(m) = Message::parse(data) {
        read(&m, &mut name);
    }
    let mut stream = DnsParser::default();
    let mut rest = data;
    while let Parsed::Pdu { pdu, len } = stream.parse(Direction::ToServer, rest) {
        assert!(len > 0 && len <= rest.len());
        if let Pdu::Message(m) = pdu {
            read(&m, &mut name);
        }
        rest = &rest[len..];
    }
}
