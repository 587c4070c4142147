//! What bounds the work a client can make the collector do: how many batches, password checks
//! and exports run at once ([`Guards`]), and how fast a name or an address may keep failing to
//! log in ([`Backoff`]). The connection limits are the accept loop's ([`super::serve`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::config::ServerConfig;

/// The concurrency limits of `[server]` and the login back-off, shared by the handlers.
pub struct Guards {
    /// Batches being read and stored.
    pub ingests: Semaphore,
    /// Password checks: each argon2 run holds ~19 MiB and a core for a fifth of a second.
    pub logins: Semaphore,
    /// CSV exports being streamed; a permit goes with the stream.
    pub exports: Arc<Semaphore>,
    /// Failed logins, by account name and by client address.
    pub login_failures: Backoff,
    /// How long a request may take, its body read included.
    pub request_timeout: Duration,
}

impl Guards {
    pub fn new(s: &ServerConfig) -> Guards {
        Guards {
            ingests: Semaphore::new(s.max_concurrent_ingests),
            logins: Semaphore::new(s.max_concurrent_logins),
            exports: Arc::new(Semaphore::new(s.max_concurrent_exports)),
            login_failures: Backoff::new(100_000),
            request_timeout: Duration::from_secs_f64(s.request_timeout_s),
        }
    }
}

/// Failures a key may have before it must wait.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between tries.
pub const MAX_WAIT: Duration = Duration::from_secs(15 * 60);

/// Login attempts by key (`name:…`, `addr:…`). After [`FREE_FAILURES`] failures each failure
/// doubles the wait before the key is heard again (1 s, 2 s, 4 s… up to [`MAX_WAIT`]); a
/// success clears it, and a key quiet for an hour is forgotten. Attempts in flight count too:
/// a key may have no more running at once than it has free failures left (one, once they are
/// spent), so guessing in parallel is no faster than guessing in turn. At most `cap` keys are
/// held; when full, the forgotten ones go first, then the oldest.
pub struct Backoff {
    keys: Mutex<HashMap<String, Failures>>,
    cap: usize,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    running: u32,
    last: Instant,
    until: Instant,
}

const FORGET: Duration = Duration::from_secs(3600);
/// The wait given to a key whose attempts in flight are all it may have.
const BUSY_WAIT: Duration = Duration::from_secs(1);

/// A login attempt in flight under its keys; ends when dropped, as a failure unless
/// [`Attempt::succeeded`] said otherwise.
pub struct Attempt<'a> {
    backoff: &'a Backoff,
    keys: &'a [String],
    ok: bool,
}

impl Attempt<'_> {
    /// The password was right: the keys' failures are cleared.
    pub fn succeeded(mut self) {
        self.ok = true;
    }
}

impl Drop for Attempt<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut keys = self.backoff.lock();
        for k in self.keys {
            let Some(f) = keys.get_mut(k) else { continue };
            f.running = f.running.saturating_sub(1);
            if self.ok {
                f.count = 0;
                f.until = now;
            } else {
                fail(f, now);
            }
            if f.count == 0 && f.running == 0 {
                keys.remove(k);
            }
        }
    }
}

/// Counts a failure: past the free ones, each doubles the wait.
fn fail(f: &mut Failures, now: Instant) {
    if now.duration_since(f.last) >= FORGET {
        f.count = 0;
    }
    f.count = f.count.saturating_add(1);
    f.last = now;
    if f.count > FREE_FAILURES {
        let doublings = (f.count - FREE_FAILURES - 1).min(20);
        f.until = now + Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
    }
}

impl Backoff {
    pub fn new(cap: usize) -> Backoff {
        Backoff {
            keys: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an attempt under every one of `keys`, or says how long the longest-waiting key
    /// must still wait.
    pub fn begin<'a>(&'a self, keys: &'a [String], now: Instant) -> Result<Attempt<'a>, Duration> {
        let mut table = self.lock();
        let mut wait = None::<Duration>;
        for k in keys {
            let Some(f) = table.get(k) else { continue };
            let forgotten = now.duration_since(f.last) >= FORGET;
            let count = if forgotten { 0 } else { f.count };
            let w = if f.until > now {
                f.until - now
            } else if f.running >= FREE_FAILURES.saturating_sub(count).max(1) {
                BUSY_WAIT
            } else {
                continue;
            };
            wait = Some(wait.map_or(w, |m| m.max(w)));
        }
        if let Some(w) = wait {
            return Err(w);
        }
        for k in keys {
            if table.len() >= self.cap && !table.contains_key(k) {
                table.retain(|_, f| f.running > 0 || now.duration_since(f.last) < FORGET);
                if table.len() >= self.cap {
                    let oldest = (table.iter())
                        .filter(|(_, f)| f.running == 0)
                        .min_by_key(|(_, f)| f.last)
                        .map(|(k, _)| k.clone());
                    if let Some(oldest) = oldest {
                        table.remove(&oldest);
                    }
                }
            }
            let f = table.entry(k.clone()).or_insert(Failures {
                count: 0,
                running: 0,
                last: now,
                until: now,
            });
            f.running += 1;
        }
        Ok(Attempt {
            backoff: self,
            keys,
            ok: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &str) -> [String; 1] {
        [k.to_owned()]
    }

    #[test]
    fn failures_back_off_and_a_success_clears_them() {
        let b = Backoff::new(10);
        let a = keys("name:a");
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            drop(b.begin(&a, t0).expect("the first failures are free"));
        }
        drop(b.begin(&a, t0).expect("the last free one"));
        let w = b.begin(&a, Instant::now()).err().expect("now it waits");
        assert!(w <= Duration::from_secs(1) && w > Duration::ZERO, "{w:?}");
        let later = Instant::now() + Duration::from_secs(1);
        drop(b.begin(&a, later).expect("after the wait"));
        let w = b.begin(&a, later).err().expect("waits longer");
        assert!(w > Duration::from_secs(1), "{w:?}");
        assert!(b.begin(&keys("name:b"), later).is_ok(), "keys are apart");
        b.begin(&a, later + Duration::from_secs(3))
            .expect("after the second wait")
            .succeeded();
        assert!(b.lock().get("name:a").is_none(), "a success clears the key");
    }

    #[test]
    fn attempts_in_flight_count_against_the_free_failures() {
        let b = Backoff::new(10);
        let a = keys("name:a");
        let t0 = Instant::now();
        let running: Vec<_> = (0..FREE_FAILURES)
            .map(|_| b.begin(&a, t0).expect("free"))
            .collect();
        assert_eq!(b.begin(&a, t0).err(), Some(BUSY_WAIT), "no more at once");
        drop(running);
        // Once the free failures are spent, one at a time.
        let later = Instant::now();
        let one = b.begin(&a, later).expect("one");
        assert_eq!(b.begin(&a, later).err(), Some(BUSY_WAIT));
        drop(one);
        assert!(
            b.begin(&a, Instant::now()).is_err(),
            "the sixth failure waits"
        );
        let later = Instant::now() + Duration::from_secs(2);
        b.begin(&a, later).expect("after the wait").succeeded();
        assert!(b.begin(&a, later).is_ok(), "cleared");
    }

    #[test]
    fn the_table_is_capped() {
        let b = Backoff::new(3);
        let t0 = Instant::now();
        let names: Vec<[String; 1]> = (0..10).map(|i| keys(&format!("addr:{i}"))).collect();
        for (i, k) in names.iter().enumerate() {
            for _ in 0..=FREE_FAILURES {
                let at = t0 + Duration::from_secs(i as u64);
                if let Ok(a) = b.begin(k, at) {
                    drop(a);
                }
            }
        }
        assert!(b.lock().len() <= 3);
        let late = Instant::now() + Duration::from_millis(500);
        assert!(b.begin(&names[9], late).is_err(), "the newest is kept");
        assert!(b.begin(&names[0], late).is_ok(), "the oldest made room");
    }
}
