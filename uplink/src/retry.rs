//! Exponential backoff with jitter between retries of a request.

use std::time::Duration;

/// Jitter: each delay is drawn from ±20% around its nominal value, so senders that lost the
/// collector together do not come back in step.
const JITTER: f64 = 0.2;

/// Delays that start at `min`, double on each failure up to `max`, and start over on success.
#[derive(Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    rng: u64,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ u64::from(std::process::id()).rotate_left(32);
        Backoff {
            min,
            max: max.max(min),
            next: min,
            // xorshift must not start from 0.
            rng: seed | 1,
        }
    }

    /// The request went through: the next failure waits `min` again.
    pub fn reset(&mut self) {
        self.next = self.min;
    }

    /// The delay after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let nominal = self.next;
        self.next = (self.next * 2).min(self.max);
        self.jitter(nominal)
    }

    /// The longest delay, for failures that waiting briefly cannot fix (credentials).
    pub fn max_delay(&mut self) -> Duration {
        self.next = self.max;
        self.jitter(self.max)
    }

    fn jitter(&mut self, d: Duration) -> Duration {
        // xorshift64: plenty for spreading retries.
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let unit = (self.rng >> 11) as f64 / (1u64 << 53) as f64;
        d.mul_f64(1.0 - JITTER + 2.0 * JITTER * unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn within(d: Duration, nominal_ms: u64) -> bool {
        let ms = d.as_secs_f64() * 1000.0;
        let n = nominal_ms as f64;
        ms >= n * 0.8 - 1e-6 && ms <= n * 1.2 + 1e-6
    }

    #[test]
    fn doubles_up_to_the_cap_and_starts_over() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
        for nominal in [500, 1000, 2000, 4000, 4000, 4000] {
            let d = b.next_delay();
            assert!(within(d, nominal), "{d:?} vs {nominal} ms");
        }
        b.reset();
        assert!(within(b.next_delay(), 500));
        assert!(within(b.max_delay(), 4000));
        assert!(within(b.next_delay(), 4000));
    }

    #[test]
    fn jitter_spreads() {
        let mut b = Backoff::new(Duration::from_secs(10), Duration::from_secs(10));
        let delays: Vec<Duration> = (0..200).map(|_| b.next_delay()).collect();
        assert!(delays.iter().all(|d| within(*d, 10_000)));
        let lo = delays.iter().min().unwrap().as_secs_f64();
        let hi = delays.iter().max().unwrap().as_secs_f64();
        assert!(hi - lo > 2.0, "jitter spans {lo}..{hi}");
    }
}
