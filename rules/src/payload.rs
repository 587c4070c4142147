//! Inspection of one buffer — the packet payload, or a sticky buffer such as `dnp3_data` or
//! `s7comm.param` — by
//! the options that read bytes, in rule order: `content`, `pcre`, `isdataat`, `byte_test`,
//! `byte_jump`, `byte_extract`, `bsize`, and `base64_decode` with the options that read what it
//! decodes.
//!
//! Each option starts where the previous one left off when it is relative, so a rule is a walk
//! through the buffer. When a later relative option fails, the walk goes back and tries the
//! next occurrence of the content before it, as Suricata does; a step budget keeps a hostile
//! payload from making that walk exponential.

use crate::byte::{ByteExtract, ByteJump, ByteTest, MAX_VARS};
use crate::pcre::Pcre;
use crate::{Content, KeywordError};

/// Where a list of options looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Buffer {
    /// The packet's payload (`pkt_data`), or for `flow:only_stream` rules the reassembled
    /// stream.
    Payload,
    /// A DNP3 application fragment, link CRCs removed (`dnp3_data`).
    Dnp3Data,
    /// The parameter part of an S7 PDU (`s7comm.param`): where PI service arguments, item
    /// addresses and block names sit that no `s7comm.*` field keyword spells out.
    S7Param,
    /// The MMS PDU of a TSDU, after the session and presentation layers (`mms_data`, Snort
    /// 3's): where content looks for what no `mms.*` keyword spells out.
    MmsData,
    /// A buffer of an HTTP transaction.
    Http(crate::http::Buf),
    /// A name buffer of a DNS message (each name in turn).
    Dns(crate::dns::Buf),
    /// A buffer of a TLS handshake.
    Tls(crate::tls::Buf),
    /// A buffer of an SSH handshake.
    Ssh(crate::ssh::Buf),
    /// A buffer of an FTP transaction (each instance in turn), or a data connection's bytes.
    Ftp(crate::ftp::Buf),
    /// A buffer of an SMTP transaction (each instance in turn).
    Smtp(crate::smtp::Buf),
    /// A buffer of an SMB transaction.
    Smb(crate::smb::Buf),
    /// A buffer of an EtherNet/IP message.
    Enip(crate::enip::Buf),
    /// `file.name` as written, before the rule's protocol says whose file it is.
    FileName,
    /// `base64_data`: what the rule's `base64_decode` decoded. Only while a rule is read:
    /// its options go into the decode's own list.
    Base64Data,
}

impl Buffer {
    /// The buffer a sticky-buffer keyword selects, or why it cannot be had.
    pub fn from_keyword(name: &str) -> Result<Option<Self>, KeywordError> {
        match name {
            "pkt_data" => Ok(Some(Buffer::Payload)),
            "dnp3_data" | "dnp3.data" => Ok(Some(Buffer::Dnp3Data)),
            "s7comm.param" => Ok(Some(Buffer::S7Param)),
            "mms_data" | "mms.data" => Ok(Some(Buffer::MmsData)),
            "file.name" | "file_name" => Ok(Some(Buffer::FileName)),
            n if crate::http::Buf::modifier(n).is_none()
                && crate::http::Buf::sticky(n).is_some() =>
            {
                Ok(crate::http::Buf::sticky(n).map(Buffer::Http))
            }
            n if crate::dns::Buf::sticky(n).is_some() => {
                Ok(crate::dns::Buf::sticky(n).map(Buffer::Dns))
            }
            n if crate::tls::Buf::sticky(n).is_some() => {
                Ok(crate::tls::Buf::sticky(n).map(Buffer::Tls))
            }
            n if crate::ssh::Buf::sticky(n).is_some() => {
                Ok(crate::ssh::Buf::sticky(n).map(Buffer::Ssh))
            }
            n if crate::ftp::Buf::sticky(n).is_some() => {
                Ok(crate::ftp::Buf::sticky(n).map(Buffer::Ftp))
            }
            n if crate::smtp::Buf::sticky(n).is_some() => {
                Ok(crate::smtp::Buf::sticky(n).map(Buffer::Smtp))
            }
            n if crate::smb::Buf::sticky(n).is_some() => {
                Ok(crate::smb::Buf::sticky(n).map(Buffer::Smb))
            }
            n if crate::enip::Buf::sticky(n).is_some() => {
                Ok(crate::enip::Buf::sticky(n).map(Buffer::Enip))
            }
            n if UNDECODED
                .iter()
                .any(|p| n.strip_prefix(p).is_some_and(|r| r.starts_with(['.', '_']))) =>
            {
                Err(KeywordError::UndecodedProtocol {
                    keyword: name.into(),
                })
            }
            _ => Ok(None),
        }
    }
}

/// Protocols whose buffers Suricata offers and this sensor does not decode yet.
const UNDECODED: [&str; 10] = [
    "krb5", "dcerpc", "sip", "snmp", "mqtt", "rdp", "quic", "ike", "http2", "ldap",
];

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Content(Content),
    Pcre(Pcre),
    IsDataAt {
        at: u32,
        relative: bool,
        negated: bool,
    },
    ByteTest(ByteTest),
    ByteJump(ByteJump),
    ByteExtract(ByteExtract),
    /// `bsize`: the buffer's length.
    Bsize(crate::num::UintMatch),
    /// `dataset`, `datarep`: the buffer's value against a named set.
    Dataset(crate::dataset::Use),
    /// `asn1`: the BER data at an offset checked for malformed encodings.
    Asn1(crate::asn1::Asn1),
    /// `base64_decode`, and the `base64_data` options on what it decodes.
    Base64(Box<crate::base64::Base64Decode>),
}

impl Op {
    /// Whether the option continues from where the one before it left off.
    pub fn relative(&self) -> bool {
        match self {
            Op::Content(c) => c.distance.is_some() || c.within.is_some(),
            Op::Pcre(p) => p.relative,
            Op::IsDataAt { relative, .. } => *relative,
            Op::ByteTest(t) => t.read.relative,
            Op::ByteJump(j) => j.read.relative,
            Op::ByteExtract(e) => e.read.relative,
            Op::Asn1(a) => a.relative_offset.is_some(),
            Op::Base64(d) => d.relative,
            Op::Bsize(_) | Op::Dataset(_) => false,
        }
    }
}

/// Parse `isdataat:[!]N[,relative][,rawbytes]`.
pub fn parse_isdataat(value: &str) -> Result<Op, KeywordError> {
    let mut parts = value.split(',').map(str::trim);
    let first = parts.next().unwrap_or_default();
    let (negated, n) = match first.strip_prefix('!') {
        Some(n) => (true, n.trim()),
        None => (false, first),
    };
    let at = n
        .parse()
        .map_err(|_| KeywordError::invalid(Some("isdataat"), n, "a whole number"))?;
    let mut relative = false;
    for p in parts {
        match p {
            "relative" => relative = true,
            "rawbytes" => {}
            other => return Err(KeywordError::unknown("isdataat flag", other)),
        }
    }
    Ok(Op::IsDataAt {
        at,
        relative,
        negated,
    })
}

/// The options of one rule that inspect one buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub buffer: Buffer,
    pub ops: Vec<Op>,
}

/// Backtracking steps one inspection may take.
const STEP_BUDGET: u32 = 4096;

impl Inspection {
    /// Whether the options all match `buf`.
    pub fn matches(&self, buf: &[u8]) -> bool {
        let mut vars = [0u64; MAX_VARS];
        let mut budget = STEP_BUDGET;
        walk(&self.ops, buf, 0, &mut vars, &mut budget)
    }
}

fn walk(
    ops: &[Op],
    buf: &[u8],
    cursor: usize,
    vars: &mut [u64; MAX_VARS],
    budget: &mut u32,
) -> bool {
    let Some((op, rest)) = ops.split_first() else {
        return true;
    };
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match op {
        Op::Content(c) => {
            let Some((start, end)) = window(c, buf.len(), cursor, vars) else {
                return c.negated && walk(rest, buf, cursor, vars, budget);
            };
            if c.negated {
                return find(c, buf, start, end).is_none() && walk(rest, buf, cursor, vars, budget);
            }
            // Only a relative option after this one can make a later occurrence succeed where
            // the first failed.
            let retry = rest.first().is_some_and(Op::relative);
            let mut from = start;
            while let Some(pos) = find(c, buf, from, end) {
                let after = pos + c.bytes.len();
                if walk(rest, buf, after, vars, budget) {
                    return true;
                }
                if !retry || *budget == 0 {
                    return false;
                }
                from = pos + 1;
            }
            false
        }
        Op::Pcre(p) => {
            let from = if p.relative { cursor } else { 0 };
            match p.find(buf, from) {
                Some(end) => !p.negated && walk(rest, buf, end, vars, budget),
                None => p.negated && walk(rest, buf, cursor, vars, budget),
            }
        }
        Op::IsDataAt {
            at,
            relative,
            negated,
        } => {
            let pos = *at as usize + if *relative { cursor } else { 0 };
            (pos < buf.len()) != *negated && walk(rest, buf, cursor, vars, budget)
        }
        Op::ByteTest(t) => t.matches(buf, cursor, vars) && walk(rest, buf, cursor, vars, budget),
        Op::ByteJump(j) => match j.jump(buf, cursor, vars) {
            Some(c) => walk(rest, buf, c, vars, budget),
            None => false,
        },
        Op::ByteExtract(e) => match e.extract(buf, cursor, vars) {
            Some(c) => walk(rest, buf, c, vars, budget),
            None => false,
        },
        Op::Bsize(m) => m.matches(buf.len() as u64) && walk(rest, buf, cursor, vars, budget),
        Op::Dataset(u) => u.matches(buf) && walk(rest, buf, cursor, vars, budget),
        Op::Asn1(a) => a.matches(buf, cursor) && walk(rest, buf, cursor, vars, budget),
        Op::Base64(d) => {
            let Some(input) = d.input(buf, cursor) else {
                return false;
            };
            crate::base64::with_decoded(input, |data| walk(&d.data, data, 0, vars, budget))
                .unwrap_or(false)
                && walk(rest, buf, cursor, vars, budget)
        }
    }
}

/// The part of the buffer `[start, end)` a content may occupy; a modifier that names a
/// `byte_extract` variable reads it from `vars`.
fn window(
    c: &Content,
    len: usize,
    cursor: usize,
    vars: &[u64; MAX_VARS],
) -> Option<(usize, usize)> {
    // A variable's value, else the modifier's own (Suricata caps them at 16 bits of use).
    let value = |slot: usize, own: i64| -> i64 {
        match c.vars[slot] {
            Some(v) => vars
                .get(usize::from(v))
                .map_or(0, |&x| x.min(u32::MAX.into()) as i64),
            None => own,
        }
    };
    let relative = c.distance.is_some() || c.within.is_some();
    let (start, end) = if relative {
        let distance = value(2, i64::from(c.distance.unwrap_or(0)));
        let start = (cursor as i64 + distance).max(0) as usize;
        let end = match c.within {
            Some(w) => start.saturating_add(value(3, i64::from(w)) as usize),
            None => len,
        };
        (start, end)
    } else if c.startswith {
        (0, c.bytes.len())
    } else {
        let start = value(0, i64::from(c.offset.unwrap_or(0))) as usize;
        let end = match c.depth {
            Some(d) => start.saturating_add(value(1, i64::from(d)) as usize),
            None => len,
        };
        (start, end)
    };
    let end = end.min(len);
    (start < end && end - start >= c.bytes.len()).then_some((start, end))
}

/// The first position in `[from, end)` where the content lies wholly inside the window (and
/// at the buffer's end, for `endswith`).
fn find(c: &Content, buf: &[u8], from: usize, end: usize) -> Option<usize> {
    let n = c.bytes.len();
    if c.endswith {
        let pos = buf.len().checked_sub(n)?;
        return (pos >= from && pos + n <= end && eq(c, &buf[pos..pos + n])).then_some(pos);
    }
    let hay = buf.get(from..end)?;
    let pos = if c.nocase {
        hay.windows(n)
            .position(|w| w.eq_ignore_ascii_case(&c.bytes))
    } else {
        memchr::memmem::find(hay, &c.bytes)
    }?;
    Some(from + pos)
}

fn eq(c: &Content, bytes: &[u8]) -> bool {
    if c.nocase {
        bytes.eq_ignore_ascii_case(&c.bytes)
    } else {
        bytes == c.bytes.as_slice()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(s: &str, mods: &[(&str, Option<&str>)]) -> Op {
        let mut c = Content::parse(s).unwrap();
        for (k, v) in mods {
            assert!(c.modify(k, *v).unwrap());
        }
        Op::Content(c)
    }

    fn insp(ops: Vec<Op>) -> Inspection {
        Inspection {
            buffer: Buffer::Payload,
            ops,
        }
    }

    #[test]
    fn offset_depth_and_relative() {
        // A Modbus FC8 restart request: MBAP then 08 00 01.
        let pkt = [
            0x00, 0x05, 0x00, 0x00, 0x00, 0x06, 0x01, 0x08, 0x00, 0x01, 0xff, 0x00,
        ];
        let hit = insp(vec![
            content(
                r#""|00 00|""#,
                &[("offset", Some("2")), ("depth", Some("2"))],
            ),
            content(
                r#""|08 00 01|""#,
                &[("distance", Some("3")), ("within", Some("3"))],
            ),
        ]);
        assert!(hit.matches(&pkt));
        let miss = insp(vec![content(
            r#""|08|""#,
            &[("offset", Some("8")), ("depth", Some("1"))],
        )]);
        assert!(!miss.matches(&pkt));
        let starts = insp(vec![content(r#""|00 05|""#, &[("startswith", None)])]);
        assert!(starts.matches(&pkt));
        let ends = insp(vec![content(r#""|ff 00|""#, &[("endswith", None)])]);
        assert!(ends.matches(&pkt));
        let not_ends = insp(vec![content(r#""|00 01|""#, &[("endswith", None)])]);
        assert!(!not_ends.matches(&pkt));
    }

    #[test]
    fn modifiers_read_byte_extract_variables() {
        // A length byte, then that many bytes must hold "CN".
        let names = vec!["len".to_owned()];
        let rule = |within: &str| {
            let x = crate::byte::ByteExtract::parse("1,0,len", &mut Vec::new()).unwrap();
            let mut c = Content::parse(r#""CN""#).unwrap();
            assert!(c.modify_with("distance", Some("0"), &names).unwrap());
            assert!(c.modify_with("within", Some(within), &names).unwrap());
            insp(vec![Op::ByteExtract(x), Op::Content(c)])
        };
        assert!(rule("len").matches(b"\x04xxCN"));
        assert!(!rule("len").matches(b"\x03xxxCN"));
        assert!(rule("8").matches(b"\x03xxxCN"));
        let mut c = Content::parse(r#""x""#).unwrap();
        assert!(c.modify_with("within", Some("nolen"), &names).is_err());
    }

    #[test]
    fn backtracks_to_a_later_occurrence() {
        // The first "ab" is not followed by "cd"; the second is.
        let buf = b"ab..ab cd";
        let r = insp(vec![
            content(r#""ab""#, &[]),
            content(r#""cd""#, &[("distance", Some("1")), ("within", Some("2"))]),
        ]);
        assert!(r.matches(buf));
        let neg = insp(vec![content(r#"!"zz""#, &[]), content(r#""cd""#, &[])]);
        assert!(neg.matches(buf));
        let neg = insp(vec![content(r#"!"ab""#, &[])]);
        assert!(!neg.matches(buf));
    }

    #[test]
    fn pcre_isdataat_and_bytes() {
        let buf = b"USER root\r\nPASS x";
        let r = insp(vec![
            content(r#""USER""#, &[("nocase", None)]),
            Op::Pcre(Pcre::parse(r#""/^\s+root/R""#).unwrap()),
            parse_isdataat("2,relative").unwrap(),
        ]);
        assert!(r.matches(buf));
        let r = insp(vec![parse_isdataat("!100").unwrap()]);
        assert!(r.matches(buf));
        let r = insp(vec![parse_isdataat("100").unwrap()]);
        assert!(!r.matches(buf));
        // A length-prefixed field, then a marker right after it.
        let buf = [2, b'x', b'y', 0x7f];
        let r = insp(vec![
            Op::ByteJump(ByteJump::parse("1,0", &[]).unwrap()),
            content(
                r#""|7f|""#,
                &[("distance", Some("0")), ("within", Some("1"))],
            ),
        ]);
        assert!(r.matches(&buf));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
                        off in 0u32..80, dist in -80i32..80, within in 1u32..80) {
            let r = insp(vec![
                content(r#""|00|""#, &[("offset", Some(&off.to_string()))]),
                content(r#""|01|""#, &[("distance", Some(&dist.to_string())),
                                         ("within", Some(&within.to_string()))]),
                Op::ByteJump(ByteJump::parse("2,0,relative,little", &[]).unwrap()),
                parse_isdataat("1,relative").unwrap(),
            ]);
            let _ = r.matches(&buf);
        }
    }
}
