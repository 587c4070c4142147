//! `multipart/form-data` bodies (RFC 7578): the parts of a form a request sent, the files it
//! uploads among them.
//!
//! Parts are read from a body as kept, in place: each starts after a `--boundary` line and
//! its header fields, and ends before the line end that precedes the next `--boundary`. A
//! body cut short (by the body limit, or the flow's end) ends in a part not complete.

use super::head::Headers;

/// The boundary that a `Content-Type` value declares for a `multipart/…` body.
pub fn boundary(content_type: &[u8]) -> Option<&[u8]> {
    let semi = content_type.iter().position(|&c| c == b';')?;
    let kind = super::head::trim(&content_type[..semi]);
    if kind.len() < 10 || !kind[..10].eq_ignore_ascii_case(b"multipart/") {
        return None;
    }
    let params = &content_type[semi + 1..];
    let at = params
        .windows(9)
        .position(|w| w.eq_ignore_ascii_case(b"boundary="))?;
    let value = &params[at + 9..];
    let value = match value.strip_prefix(b"\"") {
        Some(q) => &q[..q.iter().position(|&c| c == b'"')?],
        None => {
            let end = value
                .iter()
                .position(|&c| c == b';' || c == b' ' || c == b'\t')
                .unwrap_or(value.len());
            &value[..end]
        }
    };
    // RFC 2046 §5.1.1: 1 to 70 characters.
    (1..=70).contains(&value.len()).then_some(value)
}

/// One part of a multipart body.
#[derive(Clone, Debug)]
pub struct Part<'a> {
    /// The part's header fields (`Content-Disposition`, `Content-Type`).
    pub headers: Headers<'a>,
    pub data: &'a [u8],
    /// The part's end was seen: the delimiter after it.
    pub complete: bool,
}

/// The parts of a multipart body, in order.
#[derive(Clone, Debug)]
pub struct Parts<'a> {
    body: &'a [u8],
    boundary: &'a [u8],
    /// Where the next delimiter is looked for; `None` once the body is read.
    at: Option<usize>,
}

impl<'a> Parts<'a> {
    pub fn new(body: &'a [u8], boundary: &'a [u8]) -> Self {
        Parts {
            body,
            boundary,
            at: Some(0),
        }
    }

    /// The first `--boundary` at or after `from` that starts a line: where it starts, and
    /// where the line end before it starts (`from` itself for one at `from`).
    fn delimiter(&self, from: usize) -> Option<(usize, usize)> {
        let b = self.boundary;
        let mut i = from;
        loop {
            let rest = self.body.get(i..)?;
            let j = i + rest
                .windows(b.len() + 2)
                .position(|w| w.starts_with(b"--") && &w[2..] == b)?;
            let before = if j == from {
                Some(j)
            } else if self.body[..j].ends_with(b"\r\n") {
                Some(j - 2)
            } else if self.body[..j].ends_with(b"\n") {
                Some(j - 1)
            } else {
                None
            };
            // A delimiter ends its line (white space allowed) or closes the body (`--`).
            let tail = &self.body[j + 2 + b.len()..];
            let pad = tail
                .iter()
                .position(|c| !matches!(c, b' ' | b'\t'))
                .unwrap_or(tail.len());
            let ends =
                tail.starts_with(b"--") || matches!(tail.get(pad), None | Some(b'\r' | b'\n'));
            match before {
                Some(end) if end >= from && ends => return Some((j, end)),
                _ => i = j + 1,
            }
        }
    }
}

impl<'a> Iterator for Parts<'a> {
    type Item = Part<'a>;

    fn next(&mut self) -> Option<Part<'a>> {
        let at = self.at.take()?;
        let (start, _) = self.delimiter(at)?;
        let after = start + 2 + self.boundary.len();
        let rest = self.body.get(after..)?;
        if rest.starts_with(b"--") {
            return None;
        }
        // The rest of the delimiter line (transport padding), then the part's fields.
        let line_end = rest.iter().position(|&c| c == b'\n')?;
        let fields_at = after + line_end + 1;
        let fields = &self.body[fields_at..];
        let fields_len = match fields {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            _ => blank_line_end(fields)?,
        };
        let data_at = fields_at + fields_len;
        let headers = Headers::block(&self.body[fields_at..data_at]);
        match self.delimiter(data_at) {
            Some((next, end)) => {
                self.at = Some(next);
                Some(Part {
                    headers,
                    data: &self.body[data_at..end],
                    complete: true,
                })
            }
            None => Some(Part {
                headers,
                data: &self.body[data_at..],
                complete: false,
            }),
        }
    }
}

/// The end of the first blank line (`\r\n\r\n` or `\n\n`) in `buf`.
fn blank_line_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).enumerate().find_map(|(i, w)| match w {
        b"\n\n" => Some(i + 2),
        b"\n\r" if buf.get(i + 2) == Some(&b'\n') => Some(i + 3),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert_eq!(
            boundary(b"multipart/form-data; boundary=----abc"),
            Some(&b"----abc"[..])
        );
        assert_eq!(
            boundary(b"Multipart/Form-Data; charset=x; Boundary=\"a b\""),
            Some(&b"a b"[..])
        );
        assert_eq!(boundary(b"text/plain; boundary=x"), None);
        assert_eq!(boundary(b"multipart/form-data"), None);
        assert_eq!(boundary(b"multipart/form-data; boundary="), None);
    }

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\n\
Content-Disposition: form-data; name=\"a\"\r\n\r\n\
one\r\n--XyZ  \r\n\
Content-Disposition: form-data; name=\"f\"; filename=\"f.bin\"\r\n\
Content-Type: application/octet-stream\r\n\r\n\
\r\n--XyZx\r\nbin\r\n--XyZ--\r\nepilogue";

    #[test]
    fn parts_in_place() {
        let parts: Vec<_> = Parts::new(BODY, b"XyZ").collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].data, b"one");
        assert!(parts[0].complete);
        // A delimiter not followed by the line end, or by `--`, is data.
        assert_eq!(parts[1].data, b"\r\n--XyZx\r\nbin");
        assert_eq!(
            parts[1].headers.clone().get("content-type"),
            Some(&b"application/octet-stream"[..])
        );
        assert!(parts[1].complete);
    }

    #[test]
    fn a_body_cut_short() {
        let cut = &BODY[..BODY.len() - 22];
        let parts: Vec<_> = Parts::new(cut, b"XyZ").collect();
        assert_eq!(parts.len(), 2);
        assert!(!parts[1].complete);
        assert_eq!(parts[1].data, b"\r\n--XyZx\r\n");
        for n in 0..BODY.len() {
            let _ = Parts::new(&BODY[..n], b"XyZ").count();
        }
        assert_eq!(Parts::new(b"no delimiter", b"XyZ").count(), 0);
    }
}
