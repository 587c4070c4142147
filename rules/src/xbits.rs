//! `xbits`: flags that outlive a flow, kept per host or host pair and expiring —
//! `xbits:set|unset|toggle|isset|isnotset,NAME,track ip_src|ip_dst|ip_pair[,expire SECS]`,
//! as Suricata has them. One rule sets a bit on the address it tracks; another, on any flow,
//! tests it there. The table is capped: past [`MAX_BITS`] the oldest-expiring bit goes.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::KeywordError;

/// Bits held at once, all hosts together.
pub const MAX_BITS: usize = 65_536;
/// A bit's life when its rule names none (Suricata's default).
pub const DEFAULT_EXPIRE: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Set,
    Unset,
    Toggle,
    IsSet,
    IsNotSet,
}

/// Which address a bit lives on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Track {
    Src,
    Dst,
    Pair,
}

/// One `xbits` keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xbit {
    pub command: Command,
    pub name: String,
    pub track: Track,
    pub expire: u64,
}

impl Xbit {
    pub fn parse(value: &str) -> Result<Self, KeywordError> {
        let form = || KeywordError::Form {
            keyword: "xbits",
            form:
                "set|unset|toggle|isset|isnotset, NAME, track ip_src|ip_dst|ip_pair[, expire SECS]",
        };
        let mut parts = value.split(',').map(str::trim);
        let command = match parts.next().ok_or_else(form)? {
            "set" => Command::Set,
            "unset" => Command::Unset,
            "toggle" => Command::Toggle,
            "isset" => Command::IsSet,
            "isnotset" => Command::IsNotSet,
            _ => return Err(form()),
        };
        let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(form)?;
        let track = match parts
            .next()
            .and_then(|t| t.strip_prefix("track"))
            .map(str::trim)
        {
            Some("ip_src") => Track::Src,
            Some("ip_dst") => Track::Dst,
            Some("ip_pair") => Track::Pair,
            _ => return Err(form()),
        };
        let expire = match parts.next() {
            None => DEFAULT_EXPIRE,
            Some(e) => e
                .strip_prefix("expire")
                .map(str::trim)
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .ok_or_else(form)?,
        };
        if parts.next().is_some() {
            return Err(form());
        }
        Ok(Xbit {
            command,
            name: name.to_owned(),
            track,
            expire,
        })
    }

    pub fn tests(&self) -> bool {
        matches!(self.command, Command::IsSet | Command::IsNotSet)
    }
}

/// The key a bit is held under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    name: String,
    track: Track,
    /// One address, or the pair in order.
    addrs: (IpAddr, Option<IpAddr>),
}

fn key(x: &Xbit, src: IpAddr, dst: IpAddr) -> Key {
    let addrs = match x.track {
        Track::Src => (src, None),
        Track::Dst => (dst, None),
        Track::Pair => (src.min(dst), Some(src.max(dst))),
    };
    Key {
        name: x.name.clone(),
        track: x.track,
        addrs,
    }
}

/// The bits set, and when each expires (seconds of packet time).
#[derive(Debug, Default, Clone)]
pub struct XbitTable {
    bits: HashMap<Key, u64>,
    /// Bits dropped for the cap.
    pub evicted: u64,
}

impl XbitTable {
    fn is_set(&self, k: &Key, now: u64) -> bool {
        self.bits.get(k).is_some_and(|&until| until > now)
    }

    /// Whether every test among `ops` holds for a packet from `src` to `dst` at `now`.
    pub fn check(&self, ops: &[Xbit], (src, dst): (IpAddr, IpAddr), now: u64) -> bool {
        ops.iter().filter(|x| x.tests()).all(|x| {
            let set = self.is_set(&key(x, src, dst), now);
            set == (x.command == Command::IsSet)
        })
    }

    /// Apply the changes among `ops` (the rule matched).
    pub fn apply(&mut self, ops: &[Xbit], (src, dst): (IpAddr, IpAddr), now: u64) {
        for x in ops.iter().filter(|x| !x.tests()) {
            let k = key(x, src, dst);
            let set = match x.command {
                Command::Set => true,
                Command::Unset => false,
                _ => !self.is_set(&k, now),
            };
            if !set {
                self.bits.remove(&k);
                continue;
            }
            if self.bits.len() >= MAX_BITS && !self.bits.contains_key(&k) {
                self.bits.retain(|_, until| *until > now);
                if self.bits.len() >= MAX_BITS {
                    if let Some(first) = self
                        .bits
                        .iter()
                        .min_by_key(|(_, u)| **u)
                        .map(|(k, _)| k.clone())
                    {
                        self.bits.remove(&first);
                        self.evicted += 1;
                    }
                }
            }
            self.bits.insert(k, now.saturating_add(x.expire));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_on_one_flow_tested_on_another_until_it_expires() {
        let set = Xbit::parse("set,ET.IBMDRM1,track ip_dst, expire 10").unwrap();
        let test = Xbit::parse("isset,ET.IBMDRM1,track ip_dst").unwrap();
        assert_eq!(test.expire, DEFAULT_EXPIRE);
        let (a, b, c): (IpAddr, IpAddr, IpAddr) = (
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            [10, 0, 0, 3].into(),
        );
        let mut t = XbitTable::default();
        assert!(!t.check(std::slice::from_ref(&test), (c, b), 100));
        t.apply(&[set], (a, b), 100);
        // Any flow to the tracked address sees it, until it expires.
        assert!(t.check(std::slice::from_ref(&test), (c, b), 105));
        assert!(!t.check(std::slice::from_ref(&test), (b, c), 105));
        assert!(!t.check(std::slice::from_ref(&test), (c, b), 110));
        let pair = Xbit::parse("toggle,x,track ip_pair").unwrap();
        t.apply(std::slice::from_ref(&pair), (a, b), 1);
        let is = Xbit::parse("isset,x,track ip_pair").unwrap();
        assert!(
            t.check(std::slice::from_ref(&is), (b, a), 2),
            "either way round"
        );
        t.apply(&[pair], (b, a), 3);
        assert!(!t.check(&[is], (a, b), 4));
        for bad in [
            "set,x",
            "set,x,track host",
            "maybe,x,track ip_src",
            "set,x,track ip_src,expire 0",
        ] {
            assert!(Xbit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_table_is_capped() {
        let mut t = XbitTable::default();
        let set = Xbit::parse("set,x,track ip_src,expire 1000").unwrap();
        for i in 0..(MAX_BITS as u32 + 10) {
            let ip = IpAddr::from(i.to_be_bytes());
            t.apply(std::slice::from_ref(&set), (ip, ip), 1);
        }
        assert_eq!(t.bits.len(), MAX_BITS);
        assert_eq!(t.evicted, 10);
    }
}
