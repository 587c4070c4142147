//! TLS on arbitrary bytes: records framed, handshake records gathered into messages under the
//! cap, and every message read as a ClientHello, a ServerHello and a Certificate (whatever its
//! type, so the readers meet every shape). The hellos and the record probe see the raw bytes
//! too. Nothing may panic.

use decoders::tls::{content, hello, probe, Handshake, Tls, TlsParser, MAX_HANDSHAKE};
use decoders::{Direction, Parsed, StreamParser};

/// One fuzz input.
pub fn run(data: &[u8]) {
    let mut tls = Tls::default();
    for dir in [Direction::ToServer, Direction::ToClient] {
        let _ = probe(dir, data);
    }
    let _ = hello::client(&mut tls, data);
    let _ = hello::server(&mut tls, data);
    let _ = hello::certificate(&mut tls, data);
    let mut parser = TlsParser;
    let mut gathered = Handshake::default();
    let mut rest = data;
    while let Parsed::Pdu { pdu, len } = parser.parse(Direction::ToServer, rest) {
        assert!(len > 0 && len <= rest.len());
        rest = &rest[len..];
        if pdu.content_type != content::HANDSHAKE || !gathered.push(pdu.fragment) {
            continue;
        }
        assert!(gathered.heap_bytes() <= 2 * MAX_HANDSHAKE);
        while let Some((_, msg)) = gathered.next_message() {
            let mut t = Tls::default();
            let _ = hello::client(&mut t, msg);
            let _ = hello::server(&mut t, msg);
            let _ = hello::certificate(&mut t, msg);
        }
    }
}
