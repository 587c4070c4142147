//! The `tls` event, as Suricata writes it: the certificate's fields, the SNI, the version and
//! the JA3, JA3S and JA4 fingerprints, each present when the handshake showed it.

use decoders::tls::Tls;
use serde::ser::SerializeMap;
use serde::Serialize;

#[derive(Serialize)]
pub struct Body<'a> {
    pub tls: TlsLog<'a>,
}

pub struct TlsLog<'a>(pub &'a Tls);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Serialize for TlsLog<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        for (key, value) in [
            ("subject", &t.subject),
            ("issuerdn", &t.issuer),
            ("serial", &t.serial),
            ("fingerprint", &t.fingerprint),
            ("sni", &t.sni),
        ] {
            if !value.is_empty() {
                m.serialize_entry(key, &text(value))?;
            }
        }
        m.serialize_entry("version", &Tls::version_name(t.effective_version()))?;
        if !t.not_before.is_empty() {
            m.serialize_entry("notbefore", &t.not_before)?;
            m.serialize_entry("notafter", &t.not_after)?;
        }
        if !t.ja3.is_empty() {
            m.serialize_entry(
                "ja3",
                &serde_json::json!({ "hash": t.ja3_hash, "string": t.ja3 }),
            )?;
        }
        if !t.ja3s.is_empty() {
            m.serialize_entry(
                "ja3s",
                &serde_json::json!({ "hash": t.ja3s_hash, "string": t.ja3s }),
            )?;
        }
        if !t.ja4.is_empty() {
            m.serialize_entry("ja4", &t.ja4)?;
        }
        m.end()
    }
}
