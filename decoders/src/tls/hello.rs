//! The hellos, read with `tls-parser`, and the fingerprints computed from them: JA3 and JA3S
//! (Salesforce's, MD5 of the hello's fields) and JA4 (FoxIO's JA4 TLS client fingerprint).
//!
//! GREASE values (RFC 8701, `0x?a?a`) are left out of every fingerprint, as their authors
//! specify.

use md5::Md5;
use sha2::{Digest, Sha256};
use tls_parser::{
    parse_tls_client_hello_extensions, parse_tls_message_handshake,
    parse_tls_server_hello_extensions, TlsExtension, TlsMessage, TlsMessageHandshake,
};

use super::Tls;

fn grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// Extension types in order, read straight from the extensions block.
fn extension_types(mut ext: &[u8]) -> Vec<u16> {
    let mut out = Vec::new();
    while ext.len() >= 4 {
        let t = u16::from_be_bytes([ext[0], ext[1]]);
        let len = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        out.push(t);
        ext = ext.get(4 + len..).unwrap_or_default();
    }
    out
}

fn join(v: impl Iterator<Item = u16>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join("-")
}

fn md5_hex(s: &str) -> String {
    hex(&Md5::digest(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Read a ClientHello message (with its four-byte header) into `tls`; `false` if it does not
/// parse.
pub fn client(tls: &mut Tls, msg: &[u8]) -> bool {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        parse_tls_message_handshake(msg)
    else {
        return false;
    };
    tls.seen_client_hello = true;
    tls.client_version = ch.version.0;
    let ciphers: Vec<u16> = ch
        .ciphers
        .iter()
        .map(|c| c.0)
        .filter(|c| !grease(*c))
        .collect();
    let ext_block = ch.ext.unwrap_or_default();
    let types: Vec<u16> = extension_types(ext_block)
        .into_iter()
        .filter(|t| !grease(*t))
        .collect();
    let (mut groups, mut points, mut sigalgs, mut versions) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    tls.sni.clear();
    tls.alpn.clear();
    if let Ok((_, exts)) = parse_tls_client_hello_extensions(ext_block) {
        for e in exts {
            match e {
                TlsExtension::SNI(names) => {
                    if let Some((_, name)) = names.first() {
                        tls.sni = name.to_vec();
                    }
                }
                TlsExtension::EllipticCurves(g) => {
                    groups = g.iter().map(|g| g.0).filter(|g| !grease(*g)).collect()
                }
                TlsExtension::EcPointFormats(p) => {
                    points = p.iter().map(|&p| u16::from(p)).collect()
                }
                TlsExtension::SignatureAlgorithms(s) => sigalgs = s,
                TlsExtension::SupportedVersions(v) => {
                    versions = v.iter().map(|v| v.0).filter(|v| !grease(*v)).collect()
                }
                TlsExtension::ALPN(a) => tls.alpn = a.iter().map(|p| p.to_vec()).collect(),
                _ => {}
            }
        }
    }
    if let Some(&max) = versions.iter().max() {
        tls.client_version = tls.client_version.max(max);
    }
    tls.ja3 = format!(
        "{},{},{},{},{}",
        ch.version.0,
        join(ciphers.iter().copied()),
        join(types.iter().copied()),
        join(groups.iter().copied()),
        join(points.iter().copied()),
    );
    tls.ja3_hash = md5_hex(&tls.ja3);
    tls.ja4 = ja4(tls, &ciphers, &types, &sigalgs, &versions, ch.version.0);
    true
}

/// JA4: `t13d1516h2_8daaf6152771_e5627efa2ab1`: protocol, version, SNI or not, counts of
/// ciphers and extensions, ALPN's first and last characters; then truncated SHA-256 of the
/// sorted ciphers, and of the sorted extensions (less SNI and ALPN) with the signature
/// algorithms in order.
fn ja4(
    tls: &Tls,
    ciphers: &[u16],
    types: &[u16],
    sigalgs: &[u16],
    versions: &[u16],
    legacy: u16,
) -> String {
    let version = versions.iter().copied().max().unwrap_or(legacy);
    let v = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 | 0x0200 => "s2",
        _ => "00",
    };
    let sni = if tls.sni.is_empty() { 'i' } else { 'd' };
    let alpn = match tls.alpn.first() {
        Some(a) if !a.is_empty() => {
            let (f, l) = (a[0], a[a.len() - 1]);
            if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                format!("{}{}", char::from(f), char::from(l))
            } else {
                format!("{:x}{:x}", f >> 4, l & 0xf)
            }
        }
        _ => "00".into(),
    };
    let a = format!(
        "t{v}{sni}{:02}{:02}{alpn}",
        ciphers.len().min(99),
        types.len().min(99)
    );
    let hash12 = |s: &str| {
        if s.is_empty() {
            "000000000000".to_owned()
        } else {
            hex(&Sha256::digest(s.as_bytes()))[..12].to_owned()
        }
    };
    let list = |v: &[u16]| {
        v.iter()
            .map(|x| format!("{x:04x}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut sorted_ciphers = ciphers.to_vec();
    sorted_ciphers.sort_unstable();
    let mut exts: Vec<u16> = types
        .iter()
        .copied()
        .filter(|&t| t != 0x0000 && t != 0x0010)
        .collect();
    exts.sort_unstable();
    let mut c = list(&exts);
    if !sigalgs.is_empty() && !c.is_empty() {
        c.push('_');
        c.push_str(&list(sigalgs));
    }
    format!("{a}_{}_{}", hash12(&list(&sorted_ciphers)), hash12(&c))
}

/// Read a ServerHello message into `tls`; `false` if it does not parse.
pub fn server(tls: &mut Tls, msg: &[u8]) -> bool {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
        parse_tls_message_handshake(msg)
    else {
        return false;
    };
    tls.seen_server_hello = true;
    tls.version = sh.version.0;
    let ext_block = sh.ext.unwrap_or_default();
    let types: Vec<u16> = extension_types(ext_block)
        .into_iter()
        .filter(|t| !grease(*t))
        .collect();
    if let Ok((_, exts)) = parse_tls_server_hello_extensions(ext_block) {
        for e in exts {
            if let TlsExtension::SupportedVersions(v) = e {
                if let Some(v) = v.first() {
                    tls.version = v.0;
                }
            }
        }
    }
    tls.ja3s = format!(
        "{},{},{}",
        sh.version.0,
        sh.cipher.0,
        join(types.into_iter())
    );
    tls.ja3s_hash = md5_hex(&tls.ja3s);
    true
}

/// Read a Certificate message: the chain's first certificate into `tls`.
pub fn certificate(tls: &mut Tls, msg: &[u8]) -> bool {
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) =
        parse_tls_message_handshake(msg)
    else {
        return false;
    };
    match c.cert_chain.first() {
        Some(first) => super::cert::read(tls, first.data, c.cert_chain.len()),
        None => false,
    }
}
