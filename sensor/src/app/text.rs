//! Bytes from the wire written as EVE text.

use serde::Serialize;

/// Bytes as text: UTF-8 where valid, each other byte as `\xNN`, as Suricata escapes them.
pub struct Text<'a>(pub &'a [u8]);

impl Serialize for Text<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(t) => s.serialize_str(t),
            Err(_) => s.collect_str(&decoders::http::head::Escaped(self.0)),
        }
    }
}

/// A list of byte strings as an array of [`Text`].
pub struct Texts<'a, T: AsRef<[u8]>>(pub &'a [T]);

impl<T: AsRef<[u8]>> Serialize for Texts<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|t| Text(t.as_ref())))
    }
}

/// Bytes as lower-case hex (TSAPs, MMS bit and octet strings).
pub struct Hex<'a>(pub &'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct D<'b>(&'b [u8]);
        impl std::fmt::Display for D<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
            }
        }
        s.collect_str(&D(self.0))
    }
}
