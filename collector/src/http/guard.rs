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

/// Failed attempts by key (`name:…`, `addr:…`): after [`FREE_FAILURES`], each failure doubles
/// the wait before the key is heard again (1 s, 2 s, 4 s… up to [`MAX_WAIT`]); a success
/// clears it, and a key quiet for an hour is forgotten. At most `cap` keys are held; when full,
/// the forgotten ones go first, then the oldest.
pub struct Backoff {
    keys: Mutex<HashMap<String, Failures>>,
    cap: usize,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    until: Instant,
}

const FORGET: Duration = Duration::from_secs(3600);

impl Backoff {
    pub fn new(cap: usize) -> Backoff {
        Backoff {
            keys: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        }
    }

    /// How long `key` must still wait, if it must.
    pub fn wait(&self, key: &str, now: Instant) -> Option<Duration> {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let f = keys.get(key)?;
        (f.until > now).then(|| f.until - now)
    }

    /// Count a failure of `key`.
    pub fn failed(&self, key: &str, now: Instant) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= self.cap && !keys.contains_key(key) {
            keys.retain(|_, f| now.duration_since(f.last) < FORGET);
            if keys.len() >= self.cap {
                if let Some(oldest) =
                    (keys.iter().min_by_key(|(_, f)| f.last)).map(|(k, _)| k.clone())
                {
                    keys.remove(&oldest);
                }
            }
        }
        let f = keys.entry(key.to_owned()).or_insert(Failures {
            count: 0,
            last: now,
            until: now,
        });
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

    /// Clear `key` after a success.
    pub fn succeeded(&self, key: &str) {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_and_a_success_clears_them() {
        let b = Backoff::new(10);
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            b.failed("name:a", t0);
            assert_eq!(b.wait("name:a", t0), None, "the first failures are free");
        }
        b.failed("name:a", t0);
        assert_eq!(b.wait("name:a", t0), Some(Duration::from_secs(1)));
        b.failed("name:a", t0);
        assert_eq!(b.wait("name:a", t0), Some(Duration::from_secs(2)));
        assert_eq!(b.wait("name:a", t0 + Duration::from_secs(2)), None);
        for _ in 0..40 {
            b.failed("name:a", t0);
        }
        assert_eq!(b.wait("name:a", t0), Some(MAX_WAIT));
        assert_eq!(b.wait("name:b", t0), None, "keys are apart");
        b.succeeded("name:a");
        assert_eq!(b.wait("name:a", t0), None);
    }

    #[test]
    fn the_table_is_capped() {
        let b = Backoff::new(3);
        let t0 = Instant::now();
        for i in 0..10u64 {
            for _ in 0..=FREE_FAILURES {
                b.failed(&format!("addr:{i}"), t0 + Duration::from_secs(i));
            }
        }
        assert!(b.keys.lock().unwrap().len() <= 3);
        let late = t0 + Duration::from_secs(9);
        assert!(b.wait("addr:9", late).is_some(), "the newest is kept");
        assert!(b.wait("addr:0", late).is_none(), "the oldest made room");
    }
}
