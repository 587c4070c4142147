//! A DNS message (RFC 1035 §4): the header, and its sections read in place.
//!
//! [`Message::parse`] walks every question and record once, checking that each name, each
//! fixed part and each `RDLENGTH` fits, and remembers where each section starts; the
//! iterators then re-read them without further checks failing. Names may be compressed
//! (pointers back into the message): [`Name`] follows them, refusing a pointer that does not
//! point backwards (so no loop) and any name longer than 255 bytes.
//!
//! The question and answer sections must check. The authority and additional sections may
//! not, as Suricata allows: a section that runs past the end or holds a bad name is dropped
//! (with the ones after it), the rest of the message is still read, and
//! [`Message::invalid_section`] says which was dropped.

use core::fmt;

use super::Error;

/// The fixed header's length.
pub const HEADER_LEN: usize = 12;
/// The longest name, in wire bytes (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;
/// Questions and records read per section: real messages have a handful.
const MAX_PER_SECTION: u16 = 512;

/// A validated DNS message, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    buf: &'a [u8],
    /// Where the question, answer, authority and additional sections start, and where the
    /// last one ends.
    sections: [usize; 5],
    counts: [u16; 4],
    /// The first section that did not check and was dropped: authority or additional.
    invalid: Option<Section>,
}

/// Which section a record is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Answer,
    Authority,
    Additional,
}

impl<'a> Message<'a> {
    /// Check the whole message.
    pub fn parse(buf: &'a [u8]) -> Result<Self, Error> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let count = |i: usize| u16::from_be_bytes([buf[4 + 2 * i], buf[5 + 2 * i]]);
        let counts = [count(0), count(1), count(2), count(3)];
        if counts.iter().any(|&c| c > MAX_PER_SECTION) {
            return Err(Error::TooManyRecords);
        }
        let mut at = HEADER_LEN;
        let mut sections = [HEADER_LEN; 5];
        for _ in 0..counts[0] {
            at = Name::skip(buf, at)?;
            at = at
                .checked_add(4)
                .filter(|&e| e <= buf.len())
                .ok_or(Error::Truncated)?;
        }
        let mut counts = counts;
        let mut invalid = None;
        for (s, section) in [Section::Answer, Section::Authority, Section::Additional]
            .into_iter()
            .enumerate()
        {
            sections[s + 1] = at;
            match skip_records(buf, at, counts[s + 1]) {
                Ok(end) => at = end,
                Err(e) if section == Section::Answer => return Err(e),
                Err(_) => {
                    // What is left is the bad section's: nothing after it can be found.
                    invalid = Some(section);
                    counts[s + 1..].fill(0);
                    sections[s + 1..].fill(at);
                    at = buf.len();
                    break;
                }
            }
        }
        sections[4] = at;
        Ok(Message {
            buf,
            sections,
            counts,
            invalid,
        })
    }

    /// The authority or additional section that did not check and was dropped, with the
    /// sections after it (Suricata's `invalid_authorities`, `invalid_additionals`).
    pub fn invalid_section(&self) -> Option<Section> {
        self.invalid
    }

    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    pub fn id(&self) -> u16 {
        u16::from_be_bytes([self.buf[0], self.buf[1]])
    }

    /// The flags word: QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE.
    pub fn flags(&self) -> u16 {
        u16::from_be_bytes([self.buf[2], self.buf[3]])
    }

    /// A response (QR set).
    pub fn is_response(&self) -> bool {
        self.flags() & 0x8000 != 0
    }

    pub fn opcode(&self) -> u8 {
        ((self.flags() >> 11) & 0xf) as u8
    }

    pub fn rcode(&self) -> u8 {
        (self.flags() & 0xf) as u8
    }

    /// A flag bit by its mask (`0x0400` AA, `0x0200` TC, `0x0100` RD, `0x0080` RA, `0x0040` Z,
    /// `0x0020` AD, `0x0010` CD).
    pub fn flag(&self, mask: u16) -> bool {
        self.flags() & mask != 0
    }

    pub fn questions(&self) -> Questions<'a> {
        Questions(Entries {
            buf: self.buf,
            at: self.sections[0],
            left: self.counts[0],
        })
    }

    /// The records of one section.
    pub fn records(&self, section: Section) -> Records<'a> {
        let i = match section {
            Section::Answer => 1,
            Section::Authority => 2,
            Section::Additional => 3,
        };
        Records(Entries {
            buf: self.buf,
            at: self.sections[i],
            left: self.counts[i],
        })
    }

    /// Bytes after the last record (junk, or a message the counts do not describe).
    pub fn trailing(&self) -> usize {
        self.buf.len() - self.sections[4]
    }
}

/// The offset after `n` records from `at`, having checked that each name, fixed part and
/// data fits.
fn skip_records(buf: &[u8], mut at: usize, n: u16) -> Result<usize, Error> {
    for _ in 0..n {
        at = Name::skip(buf, at)?;
        let fixed = buf.get(at..at + 10).ok_or(Error::Truncated)?;
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        at = at + 10 + rdlen;
        if at > buf.len() {
            return Err(Error::Truncated);
        }
    }
    Ok(at)
}

/// A possibly compressed name inside a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Name<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Name<'a> {
    /// The offset just past the name at `at` (its pointer, if compressed), having checked
    /// that the whole name can be read.
    fn skip(buf: &[u8], at: usize) -> Result<usize, Error> {
        let mut end = None;
        Name { buf, at }.walk(|_| {}, &mut end)?;
        end.ok_or(Error::BadName)
    }

    /// Visit each label; `end` gets the offset after the name's encoding in place.
    fn walk(&self, mut label: impl FnMut(&'a [u8]), end: &mut Option<usize>) -> Result<(), Error> {
        let mut at = self.at;
        let mut total = 0usize;
        let mut jumped = false;
        loop {
            let len = *self.buf.get(at).ok_or(Error::Truncated)?;
            match len & 0xc0 {
                0x00 => {
                    if len == 0 {
                        if !jumped {
                            *end = Some(at + 1);
                        }
                        return Ok(());
                    }
                    let l = usize::from(len);
                    let bytes = self.buf.get(at + 1..at + 1 + l).ok_or(Error::Truncated)?;
                    total += l + 1;
                    if total > MAX_NAME {
                        return Err(Error::BadName);
                    }
                    label(bytes);
                    at += 1 + l;
                }
                0xc0 => {
                    let lo = *self.buf.get(at + 1).ok_or(Error::Truncated)?;
                    let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                    // Only backwards: every jump shortens the walk, so it ends.
                    if target >= at {
                        return Err(Error::BadName);
                    }
                    if !jumped {
                        *end = Some(at + 2);
                        jumped = true;
                    }
                    at = target;
                }
                _ => return Err(Error::BadName),
            }
        }
    }

    /// The name in dotted form (`www.example.com`, `` for the root) into `out`, cleared first.
    pub fn write_dotted(&self, out: &mut Vec<u8>) {
        out.clear();
        let mut end = None;
        let _ = self.walk(
            |l| {
                if !out.is_empty() {
                    out.push(b'.');
                }
                out.extend_from_slice(l);
            },
            &mut end,
        );
    }
}

impl fmt::Display for Name<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = Vec::new();
        self.write_dotted(&mut out);
        for c in out.escape_ascii() {
            fmt::Write::write_char(f, char::from(c))?;
        }
        Ok(())
    }
}

/// A question: a name, a type and a class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question<'a> {
    pub name: Name<'a>,
    pub rrtype: u16,
    pub class: u16,
}

/// The entries of one section: each a name and a fixed part after it.
struct Entries<'a> {
    buf: &'a [u8],
    at: usize,
    left: u16,
}

impl<'a> Entries<'a> {
    /// The next entry's name, the `fixed` bytes after it, and where they end.
    fn next(&mut self, fixed: usize) -> Option<(Name<'a>, &'a [u8], usize)> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let name = Name {
            buf: self.buf,
            at: self.at,
        };
        let end = Name::skip(self.buf, self.at).ok()?;
        let f = self.buf.get(end..end + fixed)?;
        self.at = end + fixed;
        Some((name, f, end + fixed))
    }
}

pub struct Questions<'a>(Entries<'a>);

impl<'a> Iterator for Questions<'a> {
    type Item = Question<'a>;

    fn next(&mut self) -> Option<Question<'a>> {
        let (name, f, _) = self.0.next(4)?;
        Some(Question {
            name,
            rrtype: u16::from_be_bytes([f[0], f[1]]),
            class: u16::from_be_bytes([f[2], f[3]]),
        })
    }
}

/// A resource record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    pub name: Name<'a>,
    pub rrtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: &'a [u8],
    /// Where the data starts in the message, for names inside it.
    rdata_at: usize,
    buf: &'a [u8],
}

impl<'a> Record<'a> {
    /// A name at `offset` within the data (the target of CNAME, NS, PTR, MX…).
    pub fn name_in_data(&self, offset: usize) -> Option<Name<'a>> {
        self.name_at(offset)
    }

    /// The name the record's data leads with, for the types that carry one: the target of
    /// NS, CNAME, PTR and DNAME, the exchange of MX, the target of SRV, the primary server
    /// of SOA.
    pub fn data_name(&self) -> Option<Name<'a>> {
        let offset = match self.rrtype {
            2 | 5 | 6 | 12 | 39 => 0,
            15 => 2,
            33 => 6,
            _ => return None,
        };
        self.name_at(offset)
    }

    fn name_at(&self, offset: usize) -> Option<Name<'a>> {
        let at = self.rdata_at + offset;
        let end = Name::skip(self.buf, at).ok()?;
        (end <= self.rdata_at + self.rdata.len()).then_some(Name { buf: self.buf, at })
    }
}

pub struct Records<'a>(Entries<'a>);

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;

    fn next(&mut self) -> Option<Record<'a>> {
        let (name, f, rdata_at) = self.0.next(10)?;
        let rdlen = usize::from(u16::from_be_bytes([f[8], f[9]]));
        let rdata = self.0.buf.get(rdata_at..rdata_at + rdlen)?;
        self.0.at = rdata_at + rdlen;
        Some(Record {
            name,
            rrtype: u16::from_be_bytes([f[0], f[1]]),
            class: u16::from_be_bytes([f[2], f[3]]),
            ttl: u32::from_be_bytes([f[4], f[5], f[6], f[7]]),
            rdata,
            rdata_at,
            buf: self.0.buf,
        })
    }
}

/// The mnemonic of a record type, as Suricata logs it.
pub fn rrtype_name(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        10 => "NULL",
        12 => "PTR",
        13 => "HINFO",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        44 => "SSHFP",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        50 => "NSEC3",
        52 => "TLSA",
        64 => "SVCB",
        65 => "HTTPS",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return None,
    })
}

/// The mnemonic of a response code.
pub fn rcode_name(r: u8) -> Option<&'static str> {
    Some(match r {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return None,
    })
}
