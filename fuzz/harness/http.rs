//! HTTP/1.x on arbitrary bytes, fed as the sensor's driver feeds a stream — in segments whose
//! size the first byte picks, held bytes growing until a PDU frames — in both directions of
//! one connection: heads, chunked and sized bodies, tunnels. Every PDU lies inside what was
//! held, heads are stored in a transaction and their URI normalized; nothing may panic.

use decoders::http::{uri, HttpParser, Pdu, Transaction};
use decoders::{Direction, Parsed, StreamParser};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let Some((&step, data)) = data.split_first() else {
        return;
    };
    let step = usize::from(step % 64) + 1;
    let mut parser = HttpParser::default();
    let mut tx = Transaction::default();
    let mut normalized = Vec::new();
    for dir in [Direction::ToServer, Direction::ToClient] {
        let mut held: Vec<u8> = Vec::new();
        for segment in data.chunks(step) {
            held.extend_from_slice(segment);
            loop {
                match parser.parse(dir, &held) {
                    Parsed::Pdu { pdu, len } => {
                        assert!(len <= held.len());
                        match pdu {
                            Pdu::Request(h) => {
                                tx.set_request(0, &h);
                                uri::normalize(h.uri, &mut normalized);
                                assert!(normalized.len() <= h.uri.len() + 1);
                                let _ = (tx.method(), tx.raw_uri(), tx.request.raw_header());
                            }
                            Pdu::Response(h) => {
                                tx.set_response(&h);
                                let _ = (tx.status_text(), tx.reason(), tx.response.line());
                            }
                            Pdu::Body { data, .. } => tx.response.add_body(data, 4096),
                            Pdu::Tunnel(_) => {}
                        }
                        held.drain(..len);
                        if len == 0 || held.is_empty() {
                            break;
                        }
                    }
                    Parsed::Incomplete { .. } => break,
                    Parsed::Invalid(_) => {
                        let _ = parser.resync(dir, &held);
                        held.clear();
                        break;
                    }
                }
            }
            assert!(tx.response.body().len() <= 4096);
        }
        let _ = parser.end_of_stream(dir);
    }
}
