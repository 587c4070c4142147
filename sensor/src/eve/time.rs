//! Packet timestamps and their EVE spelling, formatted without touching the heap.

use serde::{Serialize, Serializer};

/// A packet timestamp: microseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub fn from_timeval(sec: i64, usec: i64) -> Self {
        Timestamp((sec.max(0) as u64) * 1_000_000 + usec.clamp(0, 999_999) as u64)
    }

    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_micros() as u64)
    }

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
        buf[26..31].copy_from_slice(b"+0000");
        // Only ASCII digits and separators were written.
        core::str::from_utf8(buf).unwrap_or("1970-01-01T00:00:00.000000+0000")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
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

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 31];
        s.serialize_str(self.format(&mut buf))
    }
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
    }
}
