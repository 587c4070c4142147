//! Line framing for the text protocols (FTP, SMTP): a line ends at LF (a CR before it is
//! dropped), and is kept up to a cap; a longer one is cut at the cap and the rest of it
//! skipped, so a long line costs neither memory nor the stream's framing. Reply lines' codes
//! (`250 `, `250-`) are read here too.

use crate::app::Parsed;

/// What is at the front of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line, line end excluded, and the bytes it took with its line end; `truncated` if it
    /// was cut at the cap (the rest is skipped by the next calls).
    Text {
        text: &'a [u8],
        len: usize,
        truncated: bool,
    },
    /// The rest of a cut line, up to and with its line end when it is there.
    Skipped(usize),
    /// No line end yet: at least `needed` more bytes.
    Incomplete { needed: usize },
}

/// Frame the line at the front of `buf`, lines kept up to `max` bytes. `skipping` is the
/// caller's per-direction flag: set when a line is cut, cleared when its end is passed.
pub fn frame<'a>(buf: &'a [u8], max: usize, skipping: &mut bool) -> Line<'a> {
    if *skipping {
        let (len, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(nl) => (nl + 1, true),
            None => (buf.len(), false),
        };
        *skipping = !done;
        return Line::Skipped(len);
    }
    // A line of `max` bytes may still be followed by CR LF.
    match buf.iter().take(max + 2).position(|&b| b == b'\n') {
        Some(nl) => {
            let l = &buf[..nl];
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            Line::Text {
                text: &l[..l.len().min(max)],
                len: nl + 1,
                truncated: l.len() > max,
            }
        }
        None if buf.len() >= max + 2 => {
            *skipping = true;
            Line::Text {
                text: &buf[..max],
                len: max,
                truncated: true,
            }
        }
        None => Line::Incomplete {
            needed: max + 2 - buf.len(),
        },
    }
}

/// [`frame`], with what is not a whole line already answered for the caller: the rest of a
/// cut line as the PDU `skipped` makes of its length, a partial line as a request for more.
pub fn frame_text<'a, P, E>(
    buf: &'a [u8],
    max: usize,
    skipping: &mut bool,
    skipped: impl FnOnce(usize) -> P,
) -> Result<(&'a [u8], usize, bool), Parsed<P, E>> {
    match frame(buf, max, skipping) {
        Line::Text {
            text,
            len,
            truncated,
        } => Ok((text, len, truncated)),
        Line::Skipped(len) => Err(Parsed::Pdu {
            pdu: skipped(len),
            len,
        }),
        Line::Incomplete { needed } => Err(Parsed::Incomplete { needed }),
    }
}

/// A reply line's code: three digits followed by a space, a dash (more lines follow) or the
/// line's end; the code, whether more follow, and the text after the separator.
pub fn reply_code(line: &[u8]) -> Option<(u16, bool, &[u8])> {
    let d = line.get(..3)?;
    if !d.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = d.iter().fold(0u16, |n, &c| n * 10 + u16::from(c - b'0'));
    match line.get(3) {
        None => Some((code, false, &line[3..])),
        Some(b' ') => Some((code, false, &line[4..])),
        Some(b'-') => Some((code, true, &line[4..])),
        Some(_) => None,
    }
}

/// A command line: a verb and its argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Command<'a> {
    /// As sent; compare with [`Command::is`].
    pub verb: &'a [u8],
    /// After the first space; empty when there is none.
    pub arg: &'a [u8],
    /// The whole line, line end excluded.
    pub line: &'a [u8],
    /// The line was longer than its protocol's cap and is cut there.
    pub truncated: bool,
}

impl<'a> Command<'a> {
    /// Read a command line: the verb up to the first space, the argument after it.
    pub fn read(line: &'a [u8], truncated: bool) -> Self {
        let (verb, arg) = match line.iter().position(|&b| b == b' ') {
            Some(sp) => (&line[..sp], &line[sp + 1..]),
            None => (line, &line[line.len()..]),
        };
        Command {
            verb,
            arg,
            line,
            truncated,
        }
    }

    /// Whether the verb is `v` (upper case): verbs compare without case.
    pub fn is(&self, v: &[u8]) -> bool {
        self.verb.eq_ignore_ascii_case(v)
    }

    /// Whether the verb is 3 or 4 letters, as every FTP and SMTP command is.
    pub fn well_formed(&self) -> bool {
        (3..=4).contains(&self.verb.len()) && self.verb.iter().all(u8::is_ascii_alphabetic)
    }
}

/// A reply line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The code the line starts with; `None` for a line inside a multi-line reply that does
    /// not start with one.
    pub code: Option<u16>,
    /// `123-`: more lines follow, up to the one starting `123 `.
    pub more: bool,
    /// The line after the code and its separator (the whole line when there is no code).
    pub text: &'a [u8],
    /// The whole line, line end excluded.
    pub line: &'a [u8],
    pub truncated: bool,
}

impl<'a> Reply<'a> {
    pub fn read(line: &'a [u8], truncated: bool) -> Self {
        match reply_code(line) {
            Some((code, more, text)) => Reply {
                code: Some(code),
                more,
                text,
                line,
                truncated,
            },
            None => Reply {
                code: None,
                more: true,
                text: line,
                line,
                truncated,
            },
        }
    }

    /// Whether this line ends its reply with a final code (2xx–5xx).
    pub fn is_final(&self) -> bool {
        !self.more && self.code.is_some_and(|c| c >= 200)
    }
}

/// The error of a line protocol: there is none, every byte frames (lines whole or cut).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NoError {}

impl core::fmt::Display for NoError {
    fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {}
    }
}

impl crate::app::AnomalyName for NoError {
    fn anomaly_name(&self) -> &'static str {
        match *self {}
    }
}

/// A line protocol's tests: every PDU `p` frames from `buf` going `dir`, shown by `show`,
/// then `need after N` if N bytes were left incomplete.
#[cfg(test)]
pub(crate) fn frame_all<P>(
    p: &mut P,
    dir: crate::Direction,
    mut buf: &[u8],
    show: impl Fn(P::Pdu<'_>) -> String,
) -> Vec<String>
where
    P: crate::app::StreamParser<Error = NoError>,
{
    let mut out = Vec::new();
    while !buf.is_empty() {
        match p.parse(dir, buf) {
            Parsed::Pdu { pdu, len } => {
                assert!(len > 0 && len <= buf.len());
                out.push(show(pdu));
                buf = &buf[len..];
            }
            Parsed::Incomplete { .. } => {
                out.push(format!("need after {}", buf.len()));
                break;
            }
            Parsed::Invalid(e) => match e {},
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_cut_and_skipped() {
        let mut skip = false;
        assert_eq!(
            frame(b"EHLO x\r\nQUIT", 8, &mut skip),
            Line::Text {
                text: b"EHLO x",
                len: 8,
                truncated: false
            }
        );
        assert_eq!(frame(b"QUIT", 8, &mut skip), Line::Incomplete { needed: 6 });
        // Exactly the cap, then its line end: whole.
        assert_eq!(
            frame(b"12345678\r\n", 8, &mut skip),
            Line::Text {
                text: b"12345678",
                len: 10,
                truncated: false
            }
        );
        assert_eq!(
            frame(b"123456789\n", 8, &mut skip),
            Line::Text {
                text: b"12345678",
                len: 10,
                truncated: true
            }
        );
        assert!(!skip);
        assert_eq!(
            frame(b"1234567890AB", 8, &mut skip),
            Line::Text {
                text: b"12345678",
                len: 8,
                truncated: true
            }
        );
        assert!(skip);
        assert_eq!(frame(b"90AB", 8, &mut skip), Line::Skipped(4));
        assert!(skip);
        assert_eq!(frame(b"CD\r\nNOOP\r\n", 8, &mut skip), Line::Skipped(4));
        assert!(!skip);
    }

    #[test]
    fn codes_and_verbs() {
        assert_eq!(
            reply_code(b"250-PIPELINING"),
            Some((250, true, &b"PIPELINING"[..]))
        );
        assert_eq!(reply_code(b"221"), Some((221, false, &b""[..])));
        assert_eq!(reply_code(b"22x ok"), None);
        assert_eq!(reply_code(b"2200 ok"), None);
        let c = Command::read(b"MAIL FROM:<a@b>", false);
        assert_eq!((c.verb, c.arg), (&b"MAIL"[..], &b"FROM:<a@b>"[..]));
        assert!(c.is(b"MAIL") && c.well_formed());
        let c = Command::read(b"QUIT", false);
        assert_eq!((c.verb, c.arg), (&b"QUIT"[..], &b""[..]));
        assert!(!Command::read(b"\x16\x03", false).well_formed());
        assert!(Reply::read(b"250 OK", false).is_final());
        assert!(!Reply::read(b"250-SIZE", false).is_final());
        assert!(!Reply::read(b"150 opening", false).is_final());
        assert_eq!(Reply::read(b" MDTM", false).code, None);
    }
}
