//! Timestamps as EVE spells them: written without touching the heap, read by one parser that
//! the sensor (its baseline files) and the collector (every line it ingests) share.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time: microseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// A packet header's time; negative parts (a corrupt header) are taken as zero.
    pub fn from_timeval(sec: i64, usec: i64) -> Self {
        Timestamp((sec.max(0) as u64) * 1_000_000 + usec.clamp(0, 999_999) as u64)
    }

    /// The wall clock.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_micros() as u64)
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000
    }

    /// Seconds from `earlier` to `self`, zero if `earlier` is later.
    pub fn secs_since(self, earlier: Timestamp) -> u64 {
        // Whole seconds of each, then the difference: how Suricata computes `flow.age`.
        self.secs().saturating_sub(earlier.secs())
    }

    /// `2024-05-01T12:34:56.123456+0000`, Suricata's EVE timestamp format, in UTC.
    pub fn format(self, buf: &mut [u8; 31]) -> &str {
        self.write_digits(buf);
        buf[26..31].copy_from_slice(b"+0000");
        // Only ASCII digits and separators were written.
        core::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000000+0000")
    }

    /// RFC 3339 in UTC with microseconds, `2026-11-21T17:41:00.765135Z`: how the collector's
    /// API spells times.
    pub fn rfc3339(self) -> String {
        let mut buf = [0u8; 31];
        self.write_digits(&mut buf);
        buf[26] = b'Z';
        String::from_utf8_lossy(&buf[..27]).into_owned()
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffff` into the first 26 bytes of `buf`.
    fn write_digits(self, buf: &mut [u8; 31]) {
        let secs = self.0 / 1_000_000;
        let micros = (self.0 % 1_000_000) as u32;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let rem = secs % 86_400;
        let (hh, mm, ss) = (
            (rem / 3600) as u32,
            (rem / 60 % 60) as u32,
            (rem % 60) as u32,
        );
        let mut put = |at: usize, v: u32, width: usize| {
            let mut v = v;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, y.clamp(0, 9999) as u32, 4);
        put(5, m, 2);
        put(8, d, 2);
        put(11, hh, 2);
        put(14, mm, 2);
        put(17, ss, 2);
        put(20, micros, 6);
        for (at, c) in [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
        ] {
            buf[at] = c;
        }
    }

    /// Read a timestamp as EVE writes it, `2026-11-21T17:35:11.123456+0000`: the fraction is
    /// optional (up to 9 digits, kept to the microsecond), the offset is `Z`, `+HHMM` or
    /// `+HH:MM` and required — a time without one names no instant. `None` for anything else,
    /// or a time before 1970.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let d = b.get(r)?;
            d.iter().all(u8::is_ascii_digit).then(|| {
                d.iter()
                    .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'))
            })
        };
        let seps = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if seps.iter().any(|&(i, c)| b.get(i) != Some(&c)) {
            return None;
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        let mut at = 19;
        let mut micros = 0i64;
        if b.get(at) == Some(&b'.') {
            let start = at + 1;
            let end = start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
            if end == start || end - start > 9 {
                return None;
            }
            let digits = &b[start..end.min(start + 6)];
            micros = digits
                .iter()
                .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'))
                * 10i64.pow(6 - digits.len() as u32);
            at = end;
        }
        let offset = match &b[at..] {
            [b'Z'] => 0,
            [sign @ (b'+' | b'-'), rest @ ..] => {
                let (oh, om) = match rest {
                    [_, _, b':', _, _] => (num(at + 1..at + 3)?, num(at + 4..at + 6)?),
                    [_, _, _, _] => (num(at + 1..at + 3)?, num(at + 3..at + 5)?),
                    _ => return None,
                };
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return None,
        };
        let secs =
            days_from_civil(y, mo as u32, d as u32) * 86_400 + h * 3600 + mi * 60 + sec - offset;
        (secs >= 0).then(|| Timestamp(secs as u64 * 1_000_000 + micros as u64))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 31];
        s.serialize_str(self.format(&mut buf))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{s:?} is not a timestamp like 2026-11-21T17:35:11.000000+0000"
            ))
        })
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_suricata() {
        let mut b = [0; 31];
        assert_eq!(
            Timestamp(0).format(&mut b),
            "1970-01-01T00:00:00.000000+0000"
        );
        // 2009-11-24T21:27:09.534255Z
        let t = Timestamp::from_timeval(1_259_098_029, 534_255);
        assert_eq!(t.format(&mut b), "2009-11-24T21:27:09.534255+0000");
        // Leap day.
        let t = Timestamp::from_timeval(1_709_164_800, 1);
        assert_eq!(t.format(&mut b), "2024-02-29T00:00:00.000001+0000");
        assert_eq!(
            Timestamp(1_795_282_860_765_135).rfc3339(),
            "2026-11-21T17:41:00.765135Z"
        );
    }

    #[test]
    fn parses_what_it_formats() {
        let mut b = [0; 31];
        for t in [
            0,
            1_259_098_029_534_255,
            1_709_164_800_000_001,
            1_795_000_000_999_999,
            951_782_400_000_001,
            4_102_444_799_999_999,
        ] {
            let t = Timestamp(t);
            assert_eq!(Timestamp::parse(t.format(&mut b)), Some(t));
            assert_eq!(Timestamp::parse(&t.rfc3339()), Some(t));
        }
    }

    #[test]
    fn offsets_and_fractions() {
        let t = Timestamp::parse("2026-11-21T17:35:11Z").unwrap();
        assert_eq!(Timestamp::parse("2026-11-22T01:35:11.000+08:00"), Some(t));
        assert_eq!(Timestamp::parse("2026-11-22T01:35:11+0800"), Some(t));
        assert_eq!(Timestamp::parse("1970-01-01T00:00:00Z"), Some(Timestamp(0)));
        assert_eq!(
            Timestamp::parse("2026-11-21T17:41:00.765135+0000"),
            Some(Timestamp(1_795_282_860_765_135))
        );
        assert_eq!(
            Timestamp::parse("2026-11-21T18:41:00.765135+01:00"),
            Some(Timestamp(1_795_282_860_765_135))
        );
        assert_eq!(
            Timestamp::parse("2026-11-21T17:41:00.5-0030"),
            Some(Timestamp(1_795_284_660_500_000))
        );
        // Nanoseconds are read and kept to the microsecond.
        assert_eq!(
            Timestamp::parse("2026-11-21T17:41:00.765135999Z"),
            Some(Timestamp(1_795_282_860_765_135))
        );
    }

    #[test]
    fn refuses_what_is_not_an_instant() {
        for bad in [
            "",
            "x",
            "2026-11-21",
            "2026-13-01T00:00:00Z",
            "2026-11-21 17:35:11Z",
            "2026-11-21T17:35:11",
            "2026-11-21T17:35:11.Z",
            "2026-11-21T17:35:11.",
            "x026-11-21T17:41:00Z",
            "2026-11-21T17:41:00.1234567890Z",
            "2026-11-21T17:41:00+2400",
            "2026-11-21T17:41:00+08:60",
            "2026-11-21T17:41:00+8",
            "2026-11-21T17:41:00Zjunk",
            "1969-12-31T23:59:59Z",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
