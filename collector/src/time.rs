//! The clock, in the units the collector stores: seconds and microseconds since the epoch.
//! Times as EVE and the API spell them are read and written by [`icsight_eve::Timestamp`]
//! (`Timestamp::parse`, `Timestamp::rfc3339`), the one parser the sensor shares.

use icsight_eve::Timestamp;

/// Now, in UNIX seconds.
pub fn now_s() -> u64 {
    Timestamp::now().secs()
}

/// Now, in UNIX microseconds.
pub fn now_us() -> u64 {
    Timestamp::now().0
}
