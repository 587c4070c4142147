//! `SSH_MSG_KEXINIT` (RFC 4253 §7.1): the algorithm name-lists each side offers, and HASSH —
//! Salesforce's fingerprint of an SSH client or server, the MD5 of the lists a build of it
//! always sends in the same order.

use md5::{Digest, Md5};

/// A KEXINIT's name-lists, borrowed, in the order of the message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KexInit<'a> {
    pub kex: &'a [u8],
    pub host_key: &'a [u8],
    pub encryption_c2s: &'a [u8],
    pub encryption_s2c: &'a [u8],
    pub mac_c2s: &'a [u8],
    pub mac_s2c: &'a [u8],
    pub compression_c2s: &'a [u8],
    pub compression_s2c: &'a [u8],
}

/// One name-list: a 32-bit length and that many bytes.
fn name_list(buf: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?) as usize;
    let list = buf.get(4..4usize.checked_add(len)?)?;
    Some((list, &buf[4 + len..]))
}

impl<'a> KexInit<'a> {
    /// Read a KEXINIT packet's payload, message number first; `None` if it runs short.
    pub fn parse(payload: &'a [u8]) -> Option<Self> {
        if payload.first() != Some(&super::msg::KEXINIT) {
            return None;
        }
        // The message number, then a 16-byte cookie.
        let mut rest = payload.get(17..)?;
        let mut lists = [&[][..]; 10];
        for l in &mut lists {
            let (list, after) = name_list(rest)?;
            *l = list;
            rest = after;
        }
        // `first_kex_packet_follows` and the reserved word.
        rest.get(..5)?;
        Some(KexInit {
            kex: lists[0],
            host_key: lists[1],
            encryption_c2s: lists[2],
            encryption_s2c: lists[3],
            mac_c2s: lists[4],
            mac_s2c: lists[5],
            compression_c2s: lists[6],
            compression_s2c: lists[7],
        })
    }

    /// The HASSH string of a client: its key-exchange, client-to-server encryption, MAC and
    /// compression lists, joined by `;`.
    pub fn hassh_client(&self) -> Vec<u8> {
        [
            self.kex,
            self.encryption_c2s,
            self.mac_c2s,
            self.compression_c2s,
        ]
        .join(&b';')
    }

    /// The HASSH-server string: the same with the server-to-client lists.
    pub fn hassh_server(&self) -> Vec<u8> {
        [
            self.kex,
            self.encryption_s2c,
            self.mac_s2c,
            self.compression_s2c,
        ]
        .join(&b';')
    }
}

/// The MD5 of a HASSH string, lower-case hex.
pub fn hassh_hash(s: &[u8]) -> String {
    Md5::digest(s).iter().map(|b| format!("{b:02x}")).collect()
}
