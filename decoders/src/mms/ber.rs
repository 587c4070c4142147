//! ASN.1 Basic Encoding Rules (X.690), as far as MMS and the ISO upper layers use them:
//! tag-length-value triples read from a borrowed buffer, definite lengths only (MMS, ACSE and
//! the presentation layer's BER never use the indefinite form), lengths of at most four
//! octets, tag numbers of at most four octets.

/// A tag's class: the two top bits of its first octet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    Universal,
    Application,
    Context,
    Private,
}

/// One TLV, its value borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub class: Class,
    pub constructed: bool,
    pub tag: u32,
    pub value: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The TLV at the front of `b`, and what follows it.
    pub fn read(b: &'a [u8]) -> Option<(Tlv<'a>, &'a [u8])> {
        let (&first, mut rest) = b.split_first()?;
        let class = match first >> 6 {
            0 => Class::Universal,
            1 => Class::Application,
            2 => Class::Context,
            _ => Class::Private,
        };
        let constructed = first & 0x20 != 0;
        let mut tag = u32::from(first & 0x1f);
        if tag == 0x1f {
            tag = 0;
            for i in 0.. {
                let (&b, r) = rest.split_first()?;
                rest = r;
                if i == 4 {
                    return None;
                }
                tag = tag << 7 | u32::from(b & 0x7f);
                if b & 0x80 == 0 {
                    break;
                }
            }
        }
        let (&l, r) = rest.split_first()?;
        rest = r;
        let len = match l {
            0..=0x7f => usize::from(l),
            0x81..=0x84 => {
                let n = usize::from(l & 0x7f);
                let (bytes, r) = (rest.get(..n)?, &rest[n..]);
                rest = r;
                bytes
                    .iter()
                    .fold(0usize, |acc, &b| acc << 8 | usize::from(b))
            }
            // Indefinite (0x80) and over-long lengths.
            _ => return None,
        };
        let value = rest.get(..len)?;
        Some((
            Tlv {
                class,
                constructed,
                tag,
                value,
            },
            &rest[len..],
        ))
    }

    /// Whether the TLV is a context-specific `[tag]`.
    pub fn is_context(&self, tag: u32) -> bool {
        self.class == Class::Context && self.tag == tag
    }

    /// The TLVs a constructed value holds, read lazily.
    pub fn children(&self) -> Children<'a> {
        Children(self.value)
    }

    /// The first child that is context-specific `[tag]`.
    pub fn child(&self, tag: u32) -> Option<Tlv<'a>> {
        self.children().find(|t| t.is_context(tag))
    }

    /// The value as an unsigned integer of at most eight octets (a leading sign octet
    /// allowed).
    pub fn unsigned(&self) -> Option<u64> {
        let v = match self.value {
            [0, rest @ ..] if !rest.is_empty() => rest,
            v => v,
        };
        if v.is_empty() || v.len() > 8 {
            return None;
        }
        Some(v.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
    }

    /// The value as a two's-complement integer of at most eight octets.
    pub fn signed(&self) -> Option<i64> {
        let v = self.value;
        if v.is_empty() || v.len() > 8 {
            return None;
        }
        let init = if v[0] & 0x80 != 0 { -1i64 } else { 0 };
        Some(v.iter().fold(init, |acc, &b| acc << 8 | i64::from(b)))
    }
}

/// The TLVs of a constructed value, in order; ends at the first that does not read.
#[derive(Clone, Copy, Debug)]
pub struct Children<'a>(pub &'a [u8]);

impl<'a> Iterator for Children<'a> {
    type Item = Tlv<'a>;

    fn next(&mut self) -> Option<Tlv<'a>> {
        let (t, rest) = Tlv::read(self.0)?;
        self.0 = rest;
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let (t, rest) = Tlv::read(&[0x02, 0x01, 0x05, 0xff]).unwrap();
        assert_eq!(
            (t.class, t.constructed, t.tag),
            (Class::Universal, false, 2)
        );
        assert_eq!((t.unsigned(), rest), (Some(5), &[0xff][..]));
        // Long length, high tag number.
        let mut b = vec![0xbf, 0x81, 0x00, 0x81, 0x80];
        b.extend_from_slice(&[0x55; 0x80]);
        let (t, rest) = Tlv::read(&b).unwrap();
        assert_eq!((t.class, t.constructed, t.tag), (Class::Context, true, 128));
        assert_eq!((t.value.len(), rest.len()), (0x80, 0));
        assert_eq!(Tlv::read(&[0x30, 0x80, 0, 0]), None, "indefinite");
        assert_eq!(Tlv::read(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(Tlv::read(&[0x30, 0x03, 1]), None, "short");
        assert_eq!(Tlv::read(&[0x1f, 0x81, 0x81, 0x81, 0x81, 0x01, 0x00]), None);
        let (t, _) = Tlv::read(&[0x85, 0x02, 0xff, 0x38]).unwrap();
        assert_eq!(t.signed(), Some(-200));
        let (t, _) = Tlv::read(&[0x86, 0x02, 0x00, 0xc8]).unwrap();
        assert_eq!((t.unsigned(), t.signed()), (Some(200), Some(200)));
    }

    #[test]
    fn children() {
        let b = [0xa0, 0x06, 0x80, 0x01, 0x07, 0x81, 0x01, 0x09];
        let (t, _) = Tlv::read(&b).unwrap();
        let tags: Vec<u32> = t.children().map(|c| c.tag).collect();
        assert_eq!(tags, [0, 1]);
        assert_eq!(t.child(1).and_then(|c| c.unsigned()), Some(9));
    }
}
