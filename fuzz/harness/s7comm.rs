//! The s7comm decoders on arbitrary bytes: frame the input as an ISO-on-TCP stream in both
//! directions, read each TPKT's COTP TPDU, join data TPDUs in a (small-capped) reassembler, and
//! decode every TSDU as S7comm (header, functions, items, userdata) or S7comm-plus. Nothing may
//! panic, every PDU must lie inside the input, and every reassembled TSDU within the cap.

use decoders::s7comm::reassembly::Reassembler;
use decoders::s7comm::{probe, Cotp, Function, Plus, S7Pdu, S7commParser, Userdata};
use decoders::{Direction, Parsed, StreamParser};

const CAP: usize = 4096;

fn decode(tsdu: &[u8]) {
    if let Ok(pdu) = S7Pdu::parse(tsdu) {
        match Function::parse(&pdu) {
            Function::VarRequest { items, data, .. } => {
                for i in items {
                    let _ = i.any();
                }
                for d in data {
                    assert!(d.data.len() <= tsdu.len());
                }
            }
            Function::ReadResponse { data, .. } => {
                for d in data {
                    assert!(d.data.len() <= tsdu.len());
                }
            }
            Function::WriteResponse { codes, .. } => {
                let _ = codes.iter().count();
            }
            Function::Block(b) => {
                let _ = b.filename.and_then(|f| f.block()).map(|b| b.kind_name());
            }
            Function::PiService(pi) => {
                let _ = pi.blocks().count();
            }
            _ => {}
        }
        if let Ok(u) = Userdata::parse(&pdu) {
            let _ = (u.szl(), u.block(), u.is_password(), u.more_follows());
            if let Some(c) = u.clock() {
                let _ = c.to_string();
            }
        }
    }
    let _ = Plus::parse(tsdu);
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let mut reassembler = Reassembler::with_cap(CAP);
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
        let mut parser = S7commParser;
        let mut rest = data;
        while let Parsed::Pdu { len, pdu } = parser.parse(dir, rest) {
            assert!(len > 0 && len <= rest.len());
            rest = &rest[len..];
            match Cotp::parse(&pdu) {
                Ok(Cotp::Data { eot, payload, .. }) => {
                    if let Ok(Some(tsdu)) = reassembler.push(dir, eot, payload) {
                        assert!(tsdu.len() <= CAP.max(payload.len()));
                        decode(tsdu);
                    }
                }
                Ok(Cotp::Connect(c)) => {
                    let _ = (c.calling_tsap(), c.called_tsap(), c.tpdu_size());
                    let _ = c.params().count();
                }
                _ => {}
            }
        }
        // The whole input as one TSDU too, so every decoder sees unframed bytes.
        decode(rest);
    }
}
