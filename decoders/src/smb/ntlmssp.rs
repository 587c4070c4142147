//! The NTLMSSP `AUTHENTICATE` message (MS-NLMP §2.2.1.3) inside a `SESSION_SETUP`'s security
//! blob: who logs in — user, domain, workstation. The blob's SPNEGO wrapping is not parsed:
//! the message is found by its signature, as its fields are self-describing.

/// `NTLMSSP\0`.
const SIGNATURE: &[u8] = b"NTLMSSP\0";
/// The message type of `AUTHENTICATE`.
const AUTHENTICATE: u32 = 3;
/// `NTLMSSP_NEGOTIATE_UNICODE`: the names are UTF-16LE.
const UNICODE: u32 = 0x0000_0001;

/// The names of an `AUTHENTICATE` message, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth<'a> {
    pub domain: &'a [u8],
    pub user: &'a [u8],
    pub host: &'a [u8],
    /// The names are UTF-16LE (else OEM bytes).
    pub unicode: bool,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// A field: its length at `at`, its offset from the message's start at `at + 4`.
fn field(m: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(u16_at(m, at)?);
    let offset = u32_at(m, at + 4)? as usize;
    m.get(offset..offset.checked_add(len)?)
}

/// The `AUTHENTICATE` message in `blob`, if there is one whose fields lie inside it.
pub fn find_auth(blob: &[u8]) -> Option<Auth<'_>> {
    let start = blob.windows(SIGNATURE.len()).position(|w| w == SIGNATURE)?;
    let m = &blob[start..];
    if u32_at(m, 8)? != AUTHENTICATE {
        return None;
    }
    Some(Auth {
        domain: field(m, 28)?,
        user: field(m, 36)?,
        host: field(m, 44)?,
        unicode: u32_at(m, 60).is_some_and(|f| f & UNICODE != 0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An AUTHENTICATE message with `user` and `host` (UTF-16) and no domain, behind `pad`
    /// bytes of SPNEGO wrapping.
    fn message(pad: usize, user: &str, host: &str) -> Vec<u8> {
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let (user, host) = (utf16(user), utf16(host));
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&AUTHENTICATE.to_le_bytes());
        m.resize(72, 0);
        let base = 72u32;
        let mut put = |at: usize, len: usize, off: u32| {
            m[at..at + 2].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 2..at + 4].copy_from_slice(&(len as u16).to_le_bytes());
            m[at + 4..at + 8].copy_from_slice(&off.to_le_bytes());
        };
        put(28, 0, base);
        put(36, user.len(), base);
        put(44, host.len(), base + user.len() as u32);
        m[60..64].copy_from_slice(&UNICODE.to_le_bytes());
        m.extend_from_slice(&user);
        m.extend_from_slice(&host);
        [vec![0xa1; pad], m].concat()
    }

    #[test]
    fn finds_who_logs_in() {
        let blob = message(17, "plantsmb", "ENG-WS3");
        let a = find_auth(&blob).unwrap();
        assert!(a.unicode);
        assert_eq!(a.domain, b"");
        assert_eq!(
            a.user,
            "plantsmb"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<_>>()
        );
        assert_eq!(a.host.len(), 14);
        // A NEGOTIATE (type 1), a cut message, no message at all: nothing.
        let mut negotiate = blob.clone();
        negotiate[17 + 8] = 1;
        assert_eq!(find_auth(&negotiate), None);
        assert_eq!(find_auth(&blob[..blob.len() - 3]), None);
        assert_eq!(find_auth(b"no ntlm here"), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(blob in proptest::collection::vec(proptest::num::u8::ANY, 0..200), at in 0usize..100) {
            let mut b = blob;
            let at = at.min(b.len());
            b.splice(at..at, SIGNATURE.iter().copied().chain(AUTHENTICATE.to_le_bytes()));
            let _ = find_auth(&b);
        }
    }
}
