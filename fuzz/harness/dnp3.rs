//! The whole DNP3 decode on arbitrary bytes, as one stream per direction: link framing with
//! resynchronisation, transport reassembly, the application header, object headers, points
//! and their fields. Nothing may panic, every PDU must lie inside the input, and a fragment
//! never outgrows the reassembler's cap.

use decoders::dnp3::application::Fragment;
use decoders::dnp3::transport::Push;
use decoders::dnp3::{probe, Dnp3Parser, Limits, Pdu, Reassembler};
use decoders::{Direction, Parsed, StreamParser};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let limits = Limits {
        max_objects: 64,
        max_points: 4096,
    };
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
        let mut parser = Dnp3Parser;
        let mut reassembler = Reassembler::with_max(4096);
        let mut rest = data;
        while let Parsed::Pdu { pdu, len } = parser.parse(dir, rest) {
            assert!(len > 0 && len <= rest.len());
            rest = &rest[len..];
            let Pdu::Frame(frame) = pdu else {
                continue;
            };
            let _ = frame.blocks_ok();
            let Push::Fragment(assembled) = reassembler.push(&frame) else {
                continue;
            };
            assert!(assembled.data.len() <= 4096);
            let Ok(fragment) = Fragment::new(assembled.data) else {
                continue;
            };
            let _ = (fragment.kind(), fragment.control(), fragment.iin());
            if let Some(iin) = fragment.iin() {
                for _ in iin.indicators() {}
            }
            let mut objects = fragment.objects(limits);
            let mut n = 0;
            for object in objects.by_ref() {
                n += 1;
                assert!(n <= limits.max_objects);
                for point in object.points() {
                    for _ in point.fields() {}
                }
            }
            let (again, error) = fragment.objects(limits).summary();
            assert_eq!((again, error), (n, objects.error()));
        }
    }
}
