//! Where a data connection will go: the `PORT` and `EPRT` commands (active mode, the server
//! connects to the client) and the 227 and 229 replies to `PASV` and `EPSV` (passive mode,
//! the client connects to the server).

use core::net::{IpAddr, Ipv4Addr};

/// Six decimal bytes `h1,h2,h3,h4,p1,p2`: an IPv4 address and a port (RFC 959 §4.1.2).
fn six(s: &[u8]) -> Option<(Ipv4Addr, u16)> {
    let mut n = [0u8; 6];
    let mut parts = s.split(|&b| b == b',');
    for v in &mut n {
        let p = parts.next()?.trim_ascii();
        if p.is_empty() || p.len() > 3 || !p.iter().all(u8::is_ascii_digit) {
            return None;
        }
        *v = core::str::from_utf8(p).ok()?.parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some((
        Ipv4Addr::new(n[0], n[1], n[2], n[3]),
        u16::from_be_bytes([n[4], n[5]]),
    ))
}

fn number<T: core::str::FromStr>(s: &[u8]) -> Option<T> {
    core::str::from_utf8(s.trim_ascii()).ok()?.parse().ok()
}

/// A `PORT` argument.
pub fn port(arg: &[u8]) -> Option<(IpAddr, u16)> {
    six(arg).map(|(a, p)| (IpAddr::V4(a), p))
}

/// An `EPRT` argument, `|1|132.235.1.2|6275|` or `|2|::1|6275|` with any delimiter
/// (RFC 2428 §2).
pub fn eprt(arg: &[u8]) -> Option<(IpAddr, u16)> {
    let arg = arg.trim_ascii();
    let d = *arg.first()?;
    let mut f = arg[1..].split(|&b| b == d);
    let (af, addr, port, end) = (f.next()?, f.next()?, f.next()?, f.next()?);
    if !end.is_empty() || f.next().is_some() {
        return None;
    }
    let addr: IpAddr = number(addr)?;
    let family_ok = match number::<u8>(af)? {
        1 => addr.is_ipv4(),
        2 => addr.is_ipv6(),
        _ => false,
    };
    family_ok.then_some(())?;
    Some((addr, number(port)?))
}

/// A 227 reply's text: the six numbers, usually in parentheses, anywhere in it.
pub fn pasv(text: &[u8]) -> Option<(IpAddr, u16)> {
    // The first run of digits and commas that reads as six numbers.
    let is_part = |b: &u8| b.is_ascii_digit() || *b == b',';
    let mut rest = text;
    while let Some(start) = rest.iter().position(u8::is_ascii_digit) {
        let run = &rest[start..];
        let len = run.iter().position(|b| !is_part(b)).unwrap_or(run.len());
        if let Some((a, p)) = six(&run[..len]) {
            return Some((IpAddr::V4(a), p));
        }
        rest = &run[len..];
    }
    None
}

/// A 229 reply's text: the port of `(|||6446|)`, any delimiter (RFC 2428 §3).
pub fn epsv(text: &[u8]) -> Option<u16> {
    let open = text.iter().position(|&b| b == b'(')?;
    let inner = &text[open + 1..];
    let close = inner.iter().position(|&b| b == b')')?;
    let inner = &inner[..close];
    let d = *inner.first()?;
    let f: Vec<&[u8]> = inner.split(|&b| b == d).collect();
    match f.as_slice() {
        [b"", b"", b"", port, b""] => number(port),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ports() {
        let v4 = |a: [u8; 4]| IpAddr::from(a);
        assert_eq!(
            port(b"192,168,1,2,7,138"),
            Some((v4([192, 168, 1, 2]), 1930))
        );
        assert_eq!(port(b"192,168,1,2,7"), None);
        assert_eq!(port(b"192,168,1,2,7,256"), None);
        assert_eq!(port(b"1,2,3,4,5,6,7"), None);
        assert_eq!(
            eprt(b"|1|132.235.1.2|6275|"),
            Some((v4([132, 235, 1, 2]), 6275))
        );
        assert_eq!(
            eprt(b"|2|1080::8:800:200C:417A|5282|"),
            Some(("1080::8:800:200C:417A".parse().unwrap(), 5282))
        );
        assert_eq!(eprt(b"|2|132.235.1.2|6275|"), None);
        assert_eq!(eprt(b"|1|132.235.1.2|6275"), None);
        assert_eq!(
            pasv(b"Entering Passive Mode (172,23,0,2,156,64)."),
            Some((v4([172, 23, 0, 2]), 40000))
        );
        assert_eq!(pasv(b"=127,0,0,1,4,1"), Some((v4([127, 0, 0, 1]), 1025)));
        assert_eq!(pasv(b"Entering Passive Mode"), None);
        assert_eq!(
            epsv(b"Entering Extended Passive Mode (|||58612|)"),
            Some(58612)
        );
        assert_eq!(
            epsv(b"Entering Extended Passive Mode (!!!6446!)"),
            Some(6446)
        );
        assert_eq!(epsv(b"(||1.2.3.4|6446|)"), None);
        assert_eq!(epsv(b"(|||99999|)"), None);
    }
}
