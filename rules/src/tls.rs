//! The TLS keywords: sticky buffers of the handshake (`tls.sni`, `tls.cert_subject`,
//! `tls.cert_issuer`, `tls.cert_serial`, `tls.cert_fingerprint`, `ja3.hash`, `ja3s.hash`,
//! `ja4.hash` … and their underscore names as Emerging Threats writes them), and the value
//! keywords `tls.version`, `tls.subject`, `tls.issuerdn`, `tls.fingerprint`, `ssl_version`,
//! `ssl_state`.
//!
//! A rule is inspected once per handshake: after the ClientHello when it reads only what the
//! client sent, else once the server's hello and certificate are in.

use decoders::tls::{Progress, Tls};

use crate::content::quoted_text;
use crate::KeywordError;

/// A buffer of a TLS handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buf {
    Sni,
    CertSubject,
    CertIssuer,
    CertSerial,
    CertFingerprint,
    Ja3Hash,
    Ja3String,
    Ja3sHash,
    Ja3sString,
    Ja4Hash,
    /// The client's handshake messages as sent: what the payload keywords of a TLS rule read
    /// going to the server, as Suricata reads them on the stream.
    ClientWire,
    /// The server's handshake messages in the clear (hello, certificate …), likewise.
    ServerWire,
}

impl Buf {
    pub fn sticky(name: &str) -> Option<Self> {
        Some(match name {
            "tls.sni" | "tls_sni" => Buf::Sni,
            "tls.cert_subject" | "tls_cert_subject" => Buf::CertSubject,
            "tls.cert_issuer" | "tls_cert_issuer" => Buf::CertIssuer,
            "tls.cert_serial" | "tls_cert_serial" => Buf::CertSerial,
            "tls.cert_fingerprint" | "tls_cert_fingerprint" => Buf::CertFingerprint,
            "ja3.hash" | "ja3_hash" => Buf::Ja3Hash,
            "ja3.string" | "ja3_string" => Buf::Ja3String,
            "ja3s.hash" => Buf::Ja3sHash,
            "ja3s.string" => Buf::Ja3sString,
            "ja4.hash" => Buf::Ja4Hash,
            _ => return None,
        })
    }

    /// When the buffer is there to inspect.
    pub fn ready_at(self) -> Progress {
        match self {
            Buf::Sni | Buf::Ja3Hash | Buf::Ja3String | Buf::Ja4Hash | Buf::ClientWire => {
                Progress::ClientHello
            }
            _ => Progress::Server,
        }
    }

    /// The buffer's bytes, if the handshake has them.
    pub fn get(self, t: &Tls) -> Option<&[u8]> {
        let b: &[u8] = match self {
            Buf::Sni => &t.sni,
            Buf::CertSubject => &t.subject,
            Buf::CertIssuer => &t.issuer,
            Buf::CertSerial => &t.serial,
            Buf::CertFingerprint => &t.fingerprint,
            Buf::Ja3Hash => t.ja3_hash.as_bytes(),
            Buf::Ja3String => t.ja3.as_bytes(),
            Buf::Ja3sHash => t.ja3s_hash.as_bytes(),
            Buf::Ja3sString => t.ja3s.as_bytes(),
            Buf::Ja4Hash => t.ja4.as_bytes(),
            Buf::ClientWire => &t.wire[0],
            Buf::ServerWire => &t.wire[1],
        };
        (!b.is_empty()).then_some(b)
    }
}

/// `ssl_state` states.
const STATES: [(&str, u8); 5] = [
    ("client_hello", 1),
    ("server_hello", 2),
    ("client_keyx", 4),
    ("server_keyx", 8),
    ("unknown", 16),
];

/// A TLS value keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `tls.version`: the negotiated (else offered) version.
    Version(u16),
    /// `tls.subject`, `tls.issuerdn`: a substring of the certificate's subject or issuer.
    Subject {
        text: Vec<u8>,
        negated: bool,
    },
    Issuer {
        text: Vec<u8>,
        negated: bool,
    },
    /// `tls.fingerprint`: the certificate's SHA-1, any case.
    Fingerprint {
        text: Vec<u8>,
        negated: bool,
    },
    /// `ssl_version`: one of the versions (`any` of `sslv3,tls1.2`), or none of the negated.
    SslVersion {
        any: Vec<u16>,
        none: Vec<u16>,
    },
    /// `ssl_state`: all of `all` seen and none of `none` (`client_hello,!server_hello`), or any
    /// of `any` (`client_hello|server_hello`).
    SslState {
        all: u8,
        any: u8,
        none: u8,
    },
}

fn version(name: &str) -> Option<u16> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "sslv2" => 0x0200,
        "sslv3" | "ssl3" => 0x0300,
        "tls1.0" | "1.0" | "tls1" => 0x0301,
        "tls1.1" | "1.1" => 0x0302,
        "tls1.2" | "1.2" => 0x0303,
        "tls1.3" | "1.3" => 0x0304,
        other => u16::from_str_radix(other.strip_prefix("0x")?, 16).ok()?,
    })
}

impl Field {
    pub const KEYWORDS: [&'static str; 6] = [
        "tls.version",
        "tls.subject",
        "tls.issuerdn",
        "tls.fingerprint",
        "ssl_version",
        "ssl_state",
    ];

    pub fn parse(keyword: &str, value: &str) -> Result<Self, KeywordError> {
        let v = value.trim();
        let text = || -> Result<(Vec<u8>, bool), KeywordError> {
            let (negated, v) = match v.strip_prefix('!') {
                Some(r) => (true, r.trim()),
                None => (false, v),
            };
            let t = if v.starts_with('"') {
                quoted_text(v)?
            } else {
                v.to_owned()
            };
            Ok((t.into_bytes(), negated))
        };
        Ok(match keyword {
            "tls.version" => Field::Version(
                version(v)
                    .ok_or_else(|| KeywordError::invalid(Some("tls.version"), v, "1.0–1.3"))?,
            ),
            "tls.subject" => {
                let (text, negated) = text()?;
                Field::Subject { text, negated }
            }
            "tls.issuerdn" => {
                let (text, negated) = text()?;
                Field::Issuer { text, negated }
            }
            "tls.fingerprint" => {
                let (text, negated) = text()?;
                Field::Fingerprint { text, negated }
            }
            "ssl_version" => {
                let (mut any, mut none) = (Vec::new(), Vec::new());
                for item in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (neg, name) = match item.strip_prefix('!') {
                        Some(n) => (true, n),
                        None => (false, item),
                    };
                    let ver =
                        version(name).ok_or_else(|| KeywordError::unknown("ssl_version", name))?;
                    if neg {
                        none.push(ver);
                    } else {
                        any.push(ver);
                    }
                }
                Field::SslVersion { any, none }
            }
            _ => {
                let (mut all, mut any, mut none) = (0u8, 0u8, 0u8);
                let or = v.contains('|');
                for item in v.split([',', '|']).map(str::trim).filter(|s| !s.is_empty()) {
                    let (neg, name) = match item.strip_prefix('!') {
                        Some(n) => (true, n),
                        None => (false, item),
                    };
                    let bit = STATES
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, b)| *b)
                        .ok_or_else(|| KeywordError::unknown("ssl_state", name))?;
                    match (neg, or) {
                        (true, _) => none |= bit,
                        (false, true) => any |= bit,
                        (false, false) => all |= bit,
                    }
                }
                Field::SslState { all, any, none }
            }
        })
    }

    /// When the field can be decided.
    pub fn ready_at(&self) -> Progress {
        match self {
            Field::SslState { all, any, none } if (all | any | none) & !1 == 0 => {
                Progress::ClientHello
            }
            _ => Progress::Server,
        }
    }

    pub fn matches(&self, t: &Tls) -> bool {
        let contains = |hay: &[u8], needle: &[u8]| {
            needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
        };
        match self {
            Field::Version(v) => t.effective_version() == *v,
            Field::Subject { text, negated } => {
                !t.subject.is_empty() && contains(&t.subject, text) != *negated
            }
            Field::Issuer { text, negated } => {
                !t.issuer.is_empty() && contains(&t.issuer, text) != *negated
            }
            Field::Fingerprint { text, negated } => {
                !t.fingerprint.is_empty() && t.fingerprint.eq_ignore_ascii_case(text) != *negated
            }
            Field::SslVersion { any, none } => {
                let v = t.effective_version();
                (any.is_empty() || any.contains(&v)) && !none.contains(&v)
            }
            Field::SslState { all, any, none } => {
                let seen = u8::from(t.seen_client_hello)
                    | u8::from(t.seen_server_hello) << 1
                    | u8::from(t.seen_client_key_exchange) << 2
                    | u8::from(t.seen_server_key_exchange) << 3;
                seen & all == *all && (*any == 0 || seen & any != 0) && seen & none == 0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_keywords() {
        let t = Tls {
            version: 0x0303,
            subject: b"C=US, O=Plant, CN=hmi.plant".to_vec(),
            fingerprint: b"ab:cd".to_vec(),
            seen_client_hello: true,
            seen_server_hello: true,
            ..Tls::default()
        };
        let f = |k: &str, v: &str| Field::parse(k, v).unwrap().matches(&t);
        assert!(f("tls.version", "1.2"));
        assert!(!f("tls.version", "1.3"));
        assert!(f("tls.subject", "\"CN=hmi\""));
        assert!(f("tls.subject", "!\"CN=evil\""));
        assert!(f("tls.fingerprint", "\"AB:CD\""));
        assert!(f("ssl_version", "tls1.2,sslv3"));
        assert!(!f("ssl_version", "!tls1.2"));
        assert!(f("ssl_state", "client_hello,server_hello"));
        assert!(f("ssl_state", "client_keyx|server_hello"));
        assert!(!f("ssl_state", "client_hello,!server_hello"));
        assert!(Field::parse("ssl_state", "sleeping").is_err());
        assert_eq!(
            Field::parse("ssl_state", "client_hello")
                .unwrap()
                .ready_at(),
            Progress::ClientHello
        );
    }
}
