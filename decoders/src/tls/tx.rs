//! What a TLS handshake tells, kept per flow: it outlives the records it came in, so it holds
//! copies, filled once per handshake.

/// How far the handshake has come: what a rule may inspect of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Progress {
    /// The ClientHello: SNI, client version, JA3, JA4.
    ClientHello,
    /// The server's hello and certificate (or, in TLS 1.3, its hello alone).
    Server,
}

/// A TLS handshake's summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// The ClientHello's legacy version, and the highest in its `supported_versions`.
    pub client_version: u16,
    /// The version the server chose (`supported_versions` in TLS 1.3).
    pub version: u16,
    pub sni: Vec<u8>,
    /// ALPN protocols the client offered, in order.
    pub alpn: Vec<Vec<u8>>,
    pub ja3: String,
    pub ja3_hash: String,
    pub ja3s: String,
    pub ja3s_hash: String,
    pub ja4: String,
    /// The server certificate's subject and issuer, as RFC 4514 strings in certificate order.
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
    /// Upper-case hex, colon-separated, as Suricata writes it.
    pub serial: Vec<u8>,
    /// SHA-1 of the certificate, lower-case hex, colon-separated.
    pub fingerprint: Vec<u8>,
    /// Validity, `YYYY-MM-DDTHH:MM:SS`.
    pub not_before: String,
    pub not_after: String,
    /// Certificates in the server's chain.
    pub chain_len: usize,
    pub seen_client_hello: bool,
    pub seen_server_hello: bool,
    pub seen_certificate: bool,
    pub seen_client_key_exchange: bool,
    pub seen_server_key_exchange: bool,
    /// The handshake messages each side sent in the clear, as sent (headers included), up to
    /// [`MAX_WIRE`]: what the payload keywords of a TLS rule read. Indexed by
    /// [`crate::Direction::index`].
    pub wire: [Vec<u8>; 2],
}

/// Handshake bytes kept per side for the payload keywords of TLS rules.
pub const MAX_WIRE: usize = 16 * 1024;

impl Tls {
    /// The version Suricata names: `TLS 1.2`, `TLSv1`, `SSLv3` …, else the number.
    pub fn version_name(v: u16) -> String {
        match v {
            0x0300 => "SSLv3".into(),
            0x0301 => "TLSv1".into(),
            0x0302 => "TLS 1.1".into(),
            0x0303 => "TLS 1.2".into(),
            0x0304 => "TLS 1.3".into(),
            0x0200 => "SSLv2".into(),
            other => format!("{other:#06x}"),
        }
    }

    /// The negotiated version, else the client's.
    pub fn effective_version(&self) -> u16 {
        if self.version != 0 {
            self.version
        } else {
            self.client_version
        }
    }

    /// Keep a handshake message sent going `dir`, within [`MAX_WIRE`].
    pub fn keep_wire(&mut self, dir: crate::Direction, msg: &[u8]) {
        let w = &mut self.wire[dir.index()];
        let room = MAX_WIRE.saturating_sub(w.len());
        w.extend_from_slice(&msg[..msg.len().min(room)]);
    }

    pub fn heap_bytes(&self) -> usize {
        self.wire[0].capacity()
            + self.wire[1].capacity()
            + self.sni.capacity()
            + self.ja3.capacity()
            + self.ja3s.capacity()
            + self.subject.capacity()
            + self.issuer.capacity()
            + self.serial.capacity()
            + self.fingerprint.capacity()
            + self.alpn.iter().map(Vec::capacity).sum::<usize>()
    }
}
