//! `asn1`: BER-encoded data in a buffer checked for the encodings that broke ASN.1 libraries —
//! `asn1:[bitstring_overflow][, double_overflow][, oversize_length N][, absolute_offset N |
//! relative_offset N][, max_frames N]`, as Suricata checks them.
//!
//! From the offset (0, absolute, or relative to the previous match), whole BER elements are
//! read one after another, constructed ones into their content, up to `max_frames` elements
//! and as deep; reading stops at the first element that does not fit. The rule matches when an
//! element read has a length over `oversize_length`, is a BIT STRING whose unused-bit count is
//! more than its length in bits, or is a REAL in decimal encoding longer than 256 bytes.

use crate::KeywordError;

/// Elements read at most, and nesting depth, when the rule sets no `max_frames`.
pub const MAX_FRAMES: u16 = 30;

/// Universal tag numbers the checks read.
const BIT_STRING: u32 = 3;
const REAL: u32 = 9;

/// An `asn1` keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asn1 {
    pub bitstring_overflow: bool,
    pub double_overflow: bool,
    pub oversize_length: Option<u32>,
    pub absolute_offset: Option<u16>,
    pub relative_offset: Option<i32>,
    pub max_frames: u16,
}

/// One element's header.
struct Element<'a> {
    universal: bool,
    constructed: bool,
    tag: u32,
    /// The length as the header declares it.
    len: usize,
    content: &'a [u8],
}

/// Read the element at the front of `buf`: it and what follows it, or `None` if it does not
/// fit (or its header is not BER).
fn element(buf: &[u8]) -> Option<(Element<'_>, &[u8])> {
    let (&id, mut rest) = buf.split_first()?;
    let mut tag = u32::from(id & 0x1f);
    if tag == 0x1f {
        // High tag number: base-128 digits, the last without its top bit; four at most.
        tag = 0;
        for i in 0.. {
            let (&b, r) = rest.split_first()?;
            rest = r;
            tag = tag << 7 | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
            if i == 3 {
                return None;
            }
        }
    }
    let (&l, r) = rest.split_first()?;
    rest = r;
    let (len, content, after) = match l {
        0..=0x7f => {
            let len = usize::from(l);
            (len, rest.get(..len)?, &rest[len..])
        }
        // Indefinite: the content runs to the end-of-contents octets; read as the rest.
        0x80 => (0, rest, &rest[rest.len()..]),
        0x81..=0x84 => {
            let n = usize::from(l & 0x7f);
            let len = rest
                .get(..n)?
                .iter()
                .fold(0usize, |a, &b| a << 8 | usize::from(b));
            rest = &rest[n..];
            (len, rest.get(..len)?, &rest[len..])
        }
        _ => return None,
    };
    Some((
        Element {
            universal: id >> 6 == 0,
            constructed: id & 0x20 != 0,
            tag,
            len,
            content,
        },
        after,
    ))
}

impl Asn1 {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let form = || {
            KeywordError::Form {
            keyword: "asn1",
            form: "bitstring_overflow, double_overflow, oversize_length N, absolute_offset N | relative_offset N, max_frames N",
        }
        };
        let mut a = Asn1 {
            bitstring_overflow: false,
            double_overflow: false,
            oversize_length: None,
            absolute_offset: None,
            relative_offset: None,
            max_frames: MAX_FRAMES,
        };
        for opt in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let (name, arg) = match opt.split_once(char::is_whitespace) {
                Some((n, v)) => (n, Some(v.trim())),
                None => (opt, None),
            };
            match (name, arg) {
                ("bitstring_overflow", None) => a.bitstring_overflow = true,
                ("double_overflow", None) => a.double_overflow = true,
                ("oversize_length", Some(v)) => {
                    a.oversize_length = Some(v.parse().map_err(|_| form())?)
                }
                ("absolute_offset", Some(v)) => {
                    a.absolute_offset = Some(v.parse().map_err(|_| form())?)
                }
                ("relative_offset", Some(v)) => {
                    a.relative_offset = Some(v.parse().map_err(|_| form())?)
                }
                ("max_frames", Some(v)) => {
                    a.max_frames = v.parse().ok().filter(|n| *n > 0).ok_or_else(form)?
                }
                _ => return Err(form()),
            }
        }
        let checks = a.bitstring_overflow || a.double_overflow || a.oversize_length.is_some();
        if !checks || (a.absolute_offset.is_some() && a.relative_offset.is_some()) {
            return Err(form());
        }
        Ok(a)
    }

    /// Whether the data at the keyword's offset in `buf` holds an element it flags; `cursor`
    /// is where the previous match ended.
    pub fn matches(&self, buf: &[u8], cursor: usize) -> bool {
        let start = match (self.absolute_offset, self.relative_offset) {
            (Some(a), _) => i64::from(a),
            (None, Some(r)) => cursor as i64 + i64::from(r),
            (None, None) => 0,
        };
        let Some(mut rest) = usize::try_from(start).ok().and_then(|s| buf.get(s..)) else {
            return false;
        };
        if rest.is_empty() {
            return false;
        }
        let mut budget = usize::from(self.max_frames);
        while !rest.is_empty() && budget > 0 {
            let Some((e, after)) = element(rest) else {
                return false;
            };
            budget -= 1;
            if self.flags(&e, usize::from(self.max_frames)) {
                return true;
            }
            rest = after;
        }
        false
    }

    /// This element or one inside it, `depth` levels down at most.
    fn flags(&self, e: &Element<'_>, depth: usize) -> bool {
        if depth == 0 {
            return false;
        }
        let primitive_universal = |tag| e.universal && !e.constructed && e.tag == tag;
        let hit = self
            .oversize_length
            .is_some_and(|n| e.len > n as usize || e.content.len() > n as usize)
            || (self.bitstring_overflow
                && primitive_universal(BIT_STRING)
                && e.len > 0
                && e.content
                    .first()
                    .is_some_and(|&bits| bits as usize > e.len * 8))
            || (self.double_overflow
                && primitive_universal(REAL)
                && e.len > 256
                && e.content.first().is_some_and(|&b| b & 0xc0 == 0));
        if hit {
            return true;
        }
        if !e.constructed {
            return false;
        }
        let mut rest = e.content;
        while let Some((child, after)) = element(rest) {
            if self.flags(&child, depth - 1) {
                return true;
            }
            rest = after;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// X.690 Appendix A.3's personnel record: its outer element is 133 bytes long.
    const RECORD: &[u8] = b"\x60\x81\x85\x61\x10\x1A\x04John\x1A\x01P\x1A\x05Smith\xA0\x0A\x1A\x08Director\x42\x01\x33\xA1\x0A\x43\x0819710917\xA2\x12\x61\x10\x1A\x04Mary\x1A\x01T\x1A\x05Smith\xA3\x42\x31\x1F\x61\x11\x1A\x05Ralph\x1A\x01T\x1A\x05Smith\xA0\x0A\x43\x0819571111\x31\x1F\x61\x11\x1A\x05Susan\x1A\x01B\x1A\x05Jones\xA0\x0A\x43\x0819590717";

    fn a(v: &str) -> Asn1 {
        Asn1::parse(v).unwrap()
    }

    #[test]
    fn checks_as_suricata_makes_them() {
        assert!(a("oversize_length 132, absolute_offset 0").matches(RECORD, 0));
        assert!(!a("oversize_length 133, absolute_offset 0").matches(RECORD, 0));
        // A nested element: "Director" is 8 bytes long.
        assert!(a("oversize_length 7").matches(&RECORD[23..], 0));
        assert!(a("bitstring_overflow, absolute_offset 0").matches(b"\x03\x01\xff", 0));
        assert!(!a("bitstring_overflow, absolute_offset 0").matches(b"\x03\x01\x07", 0));
        let mut real = [0x05u8; 261];
        real[..4].copy_from_slice(&[0x09, 0x82, 0x01, 0x01]);
        assert!(a("double_overflow").matches(&real, 0));
        real[3] = 0x00;
        assert!(!a("double_overflow").matches(&real[..260], 0));
        // Relative to the previous match.
        let mut pkt = b"HDR:".to_vec();
        pkt.extend_from_slice(b"\x03\x01\xff");
        assert!(a("bitstring_overflow, relative_offset 0").matches(&pkt, 4));
        assert!(!a("bitstring_overflow, relative_offset -4").matches(&pkt, 4));
        // An element that does not fit is not read.
        assert!(!a("oversize_length 10").matches(b"\x04\x82\x10\x00abc", 0));
    }

    #[test]
    fn forms() {
        let x = a("double_overflow, bitstring_overflow, relative_offset 27, oversize_length 2048");
        assert_eq!(
            (x.relative_offset, x.oversize_length),
            (Some(27), Some(2048))
        );
        assert_eq!(
            a("oversize_length 1024,relative_offset -1").relative_offset,
            Some(-1)
        );
        for bad in [
            "",
            "absolute_offset 0",
            "oversize_length x",
            "bitstring_overflow 3",
            "frobnicate",
            "oversize_length 1, absolute_offset 0, relative_offset 1",
        ] {
            assert!(Asn1::parse(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), cursor in 0usize..400) {
            let x = a("bitstring_overflow, double_overflow, oversize_length 16, relative_offset -2, max_frames 8");
            let _ = x.matches(&buf, cursor);
        }
    }
}
