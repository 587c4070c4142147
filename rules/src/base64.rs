//! `base64_decode` and `base64_data`: decode base64 found in a buffer and inspect the result,
//! as web shells, encoded commands and mail bodies need.
//!
//! Suricata's semantics: `base64_decode[:bytes N][, offset M][, relative]` decodes from the
//! buffer it sits in (from the last match when `relative`), at most `N` input bytes, stopping
//! at the first byte outside the base64 alphabet (RFC 4648, a trailing partial group decoded as
//! far as it goes); it matches when something was decoded. The options after `base64_data` then
//! inspect the decoded bytes, in the decode's place in the rule. Decoding writes into one
//! per-thread buffer, so a match allocates nothing.

use std::cell::RefCell;

use ::base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use ::base64::engine::DecodePaddingMode;
use ::base64::Engine;

use crate::payload::Op;
use crate::KeywordError;

/// Input bytes one decode reads at most (Suricata's limit for `bytes`).
pub const MAX_INPUT: usize = 65_535;

/// `base64_decode`, with the options that inspect what it decodes.
#[derive(Debug, Clone, PartialEq)]
pub struct Base64Decode {
    /// Input bytes to decode at most; 0 for the rest of the buffer.
    pub bytes: u32,
    pub offset: u32,
    pub relative: bool,
    /// The options after `base64_data`, in rule order.
    pub data: Vec<Op>,
}

impl Base64Decode {
    /// Parse the value of `base64_decode` (`None` when written without one).
    pub fn parse(value: Option<&str>) -> Result<Self, KeywordError> {
        let mut d = Base64Decode {
            bytes: 0,
            offset: 0,
            relative: false,
            data: Vec::new(),
        };
        let Some(value) = value else {
            return Ok(d);
        };
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, v) = part
                .split_once(char::is_whitespace)
                .map_or((part, None), |(k, v)| (k, Some(v.trim())));
            let number = |v: Option<&str>| -> Result<u32, KeywordError> {
                let v = v.ok_or(KeywordError::Missing {
                    keyword: format!("base64_decode {key}"),
                    what: "a number",
                })?;
                v.parse()
                    .map_err(|_| KeywordError::invalid(Some("base64_decode"), v, "a whole number"))
            };
            match key {
                "bytes" => {
                    let n = number(v)?;
                    if n == 0 || n as usize > MAX_INPUT {
                        return Err(KeywordError::invalid(
                            Some("base64_decode bytes"),
                            n.to_string(),
                            "1 to 65535",
                        ));
                    }
                    d.bytes = n;
                }
                "offset" => d.offset = number(v)?,
                "relative" if v.is_none() => d.relative = true,
                other => return Err(KeywordError::unknown("base64_decode option", other)),
            }
        }
        Ok(d)
    }

    /// The input this decode reads from `buf`, the last match having ended at `cursor`.
    pub fn input<'a>(&self, buf: &'a [u8], cursor: usize) -> Option<&'a [u8]> {
        let start = (self.offset as usize).saturating_add(if self.relative { cursor } else { 0 });
        let rest = buf.get(start..)?;
        let cap = match self.bytes {
            0 => MAX_INPUT,
            n => n as usize,
        };
        Some(&rest[..rest.len().min(cap)])
    }
}

thread_local! {
    /// Where decodes are written: sized once for the largest input.
    static DECODED: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_INPUT / 4 * 3 + 3]);
}

/// Run `f` on what `input` decodes to; `None` when nothing decodes (or on a nested call, which
/// the rule parser never builds).
pub fn with_decoded<R>(input: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    DECODED.with(|cell| {
        let mut out = cell.try_borrow_mut().ok()?;
        let n = decode(input, &mut out);
        (n > 0).then(|| f(&out[..n]))
    })
}

/// Decode the base64 at the start of `input` into `out`, up to the first byte outside the
/// alphabet: the number of bytes written.
fn decode(input: &[u8], out: &mut [u8]) -> usize {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &::base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let mut n = input
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/'))
        .unwrap_or(input.len());
    // One character of a group holds no whole byte.
    if n % 4 == 1 {
        n -= 1;
    }
    LENIENT.decode_slice(&input[..n], out).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(s: &[u8]) -> Vec<u8> {
        with_decoded(s, <[u8]>::to_vec).unwrap_or_default()
    }

    #[test]
    fn decodes_up_to_the_first_stranger() {
        assert_eq!(decoded(b"aGVsbG8gd29ybGQ="), b"hello world");
        assert_eq!(decoded(b"aGVsbG8gd29ybGQ"), b"hello world");
        assert_eq!(decoded(b"aGVsbG8=&x=1"), b"hello");
        assert_eq!(decoded(b"aGVsbG8gd2\r\n9ybGQ="), b"hello w");
        assert_eq!(decoded(b"aGVsbA"), b"hell");
        assert_eq!(decoded(b"aGVsbAx"), b"hell\x0c");
        assert_eq!(decoded(b"a"), b"");
        assert_eq!(decoded(b"!!"), b"");
        assert!(with_decoded(b"", |_| ()).is_none());
    }

    #[test]
    fn options_as_suricata_writes_them() {
        let d = Base64Decode::parse(Some("bytes 8, offset 2, relative")).unwrap();
        assert_eq!((d.bytes, d.offset, d.relative), (8, 2, true));
        assert_eq!(d.input(b"xxYYaGVsbG8gd29ybGQ=", 2), Some(&b"aGVsbG8g"[..]));
        let d = Base64Decode::parse(None).unwrap();
        assert_eq!(d.input(b"abc", 0), Some(&b"abc"[..]));
        assert_eq!(d.input(b"abc", 9), Some(&b"abc"[..]), "not relative");
        for bad in [
            "bytes 0",
            "bytes",
            "offset x",
            "depth 3",
            "relative 1",
            "bytes 70000",
        ] {
            assert!(Base64Decode::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = decoded(&input);
        }
    }
}
