//! The normalized request target that `http.uri` (and `uricontent`) inspect.
//!
//! As Suricata's HTTP library does in its default personality: an absolute target
//! (`http://host/p`, as sent to proxies) is reduced to its path and query; the path is
//! percent-decoded and its `.` and `..` segments removed (RFC 3986 §5.2.4), so `/a/%2e%2e/b`
//! and `/b` are the same URI to a rule; the query is left as sent. `http.uri.raw` is the target
//! as sent.

/// Write the normalized form of `raw` into `out` (cleared first). `out` belongs to the caller,
/// which reuses it from one request to the next.
pub fn normalize(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let target = origin_form(raw);
    let (path, query) = match target.iter().position(|&c| c == b'?') {
        Some(i) => (&target[..i], Some(&target[i..])),
        None => (target, None),
    };
    percent_decode(path, out);
    remove_dot_segments(out);
    if let Some(q) = query {
        out.extend_from_slice(q);
    }
}

/// The path and query of an absolute target; any other target as it is.
fn origin_form(raw: &[u8]) -> &[u8] {
    let Some(scheme_end) = find(raw, b"://") else {
        return raw;
    };
    if !raw[..scheme_end].iter().all(u8::is_ascii_alphabetic) || scheme_end == 0 {
        return raw;
    }
    let rest = &raw[scheme_end + 3..];
    match rest.iter().position(|&c| c == b'/' || c == b'?') {
        Some(i) => &rest[i..],
        None => b"/",
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `%XX` to its byte; a `%` not followed by two hex digits is kept as it is.
fn percent_decode(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
}

/// Remove `.` and `..` segments in place (RFC 3986 §5.2.4): the written part never
/// overtakes the part still to read, so no second buffer is needed.
fn remove_dot_segments(p: &mut Vec<u8>) {
    if !p.contains(&b'.') {
        return;
    }
    let len = p.len();
    let base = usize::from(p.first() == Some(&b'/'));
    let (mut r, mut w) = (base, base);
    loop {
        let e = p[r..]
            .iter()
            .position(|&c| c == b'/')
            .map_or(len, |i| r + i);
        let last = e == len;
        match &p[r..e] {
            b"." => {}
            b".." => {
                // What is written ends with the `/` after its last segment: drop both.
                if w > base {
                    w -= 1;
                    while w > base && p[w - 1] != b'/' {
                        w -= 1;
                    }
                }
            }
            _ => {
                p.copy_within(r..e, w);
                w += e - r;
                if !last {
                    p[w] = b'/';
                    w += 1;
                }
            }
        }
        if last {
            break;
        }
        r = e + 1;
    }
    p.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut out = Vec::new();
        normalize(s.as_bytes(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn decodes_and_removes_dot_segments() {
        assert_eq!(norm("/index.html"), "/index.html");
        assert_eq!(norm("/a/%2e%2e/b"), "/b");
        assert_eq!(norm("/a/./b/../c/"), "/a/c/");
        assert_eq!(norm("/a/b/.."), "/a/");
        assert_eq!(norm("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/%7euser/%zz"), "/~user/%zz");
        assert_eq!(norm("/cgi?x=%2e%2e/&y=1"), "/cgi?x=%2e%2e/&y=1");
        assert_eq!(norm("http://Host.example:8080/p?q"), "/p?q");
        assert_eq!(norm("http://host.example"), "/");
        assert_eq!(norm("*"), "*");
        assert_eq!(norm("/a//b"), "/a//b");
        assert_eq!(norm(""), "");
    }
}
