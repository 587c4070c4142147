//! The clock, in the units the collector stores: seconds and microseconds since the epoch.
//! Times as EVE and the API spell them are read and written by [`icsight_eve::Timestamp`]
//! (`Timestamp::parse`, `Timestamp::rfc3339`), the one parser the sensor shares.

use icsight_eve::Timestamp;

/// China Standard Time's offset from UTC, seconds (UTC+8, no daylight saving): the time the
/// pages and reports show and the days they count, wherever the collector's clock is set.
pub const CST: i64 = 8 * 3_600;

/// Now, in UNIX seconds.
pub fn now_s() -> u64 {
    Timestamp::now().secs()
}

/// Now, in UNIX microseconds.
pub fn now_us() -> u64 {
    Timestamp::now().0
}
