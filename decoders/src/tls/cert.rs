//! The server certificate's fields, read with `x509-parser`.

use sha1::{Digest, Sha1};
use x509_parser::prelude::*;

use super::Tls;

/// Colon-separated hex of `bytes`.
fn colon_hex(bytes: &[u8], upper: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        let s = if upper {
            format!("{b:02X}")
        } else {
            format!("{b:02x}")
        };
        out.extend_from_slice(s.as_bytes());
    }
    out
}

fn time(t: &ASN1Time) -> String {
    let d = t.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// Fill `tls` from the first (the server's own) certificate of a chain, DER-encoded; `false`
/// if it does not parse.
pub fn read(tls: &mut Tls, der: &[u8], chain_len: usize) -> bool {
    tls.chain_len = chain_len;
    tls.seen_certificate = true;
    let Ok((_, c)) = parse_x509_certificate(der) else {
        return false;
    };
    tls.subject = c.subject().to_string().into_bytes();
    tls.issuer = c.issuer().to_string().into_bytes();
    tls.serial = colon_hex(c.raw_serial(), true);
    tls.fingerprint = colon_hex(&Sha1::digest(der), false);
    tls.not_before = time(&c.validity().not_before);
    tls.not_after = time(&c.validity().not_after);
    true
}
