//! The uplink: every record pushed goes to a collector's `POST /v1/ingest`, none is lost while
//! the link is down and none is stored twice.
//!
//! ```text
//!  caller ─ push ─▶ spool (segment files) ─▶ sender thread ─ POST /v1/ingest ─▶ collector
//!                        ▲                        │
//!                        └── delete on 200/201 ◀──┘
//! ```
//!
//! - `spool.rs`: each record line is appended to the open segment file with one write as it is
//!   pushed; a segment closes (becomes sendable) when full, `segment_seconds` old, or flushed.
//!   When the spool passes its cap the oldest unsent segments are deleted first and counted.
//! - `send.rs`: one background thread sends the oldest closed segment, whole, compressed, and
//!   deletes it only once the collector acknowledges it; order is kept, failures are retried
//!   with exponential backoff (`retry.rs`), `413` splits a segment in halves, other `4xx` move it
//!   to `rejected/`.
//! - Idempotence is the caller's part: every line carries an `event_id` unique for its sender,
//!   so a segment sent again after a lost acknowledgement or a crash is de-duplicated by the
//!   collector.
//!
//! The sensor pushes its EVE lines (its `[uplink]` table); a collector forwards to the tier above
//! it the same way (its `[upstream]` table). The uplink knows neither: the caller gives the name
//! of its configuration table, which prefixes log lines and names keys in errors, and its own id,
//! sent in every request's `X-Icsight-Sensor` header. What to push is the caller's choice.
//!
//! The caller's thread and the sender share the spool through one mutex; the sender holds it
//! only to pick a segment and to record an answer, never across a request.

mod config;
mod error;
mod retry;
mod send;
mod spool;

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;

pub use config::{Compression, Fsync, UplinkConfig};
pub use error::UplinkError;
pub use retry::Backoff;
pub use send::Fetch;

/// How long a stopped sender may take to finish a request under way before it is left behind.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// An error of one kind is printed at most this often; the others are counted.
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// The uplink's counters; the sensor reports them in its `stats` event, its metrics file and
/// at exit.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct UplinkStats {
    /// Records (lines) written to the spool since start.
    pub spooled_events: u64,
    /// Records the collector acknowledged since start (duplicates included).
    pub sent_events: u64,
    /// Of those, records the collector already had (by `event_id`).
    pub duplicates: u64,
    /// Records deleted unsent because the spool was over `spool_max_mb`.
    pub dropped_spool_full: u64,
    /// Records the disk refused to take.
    pub dropped_write_error: u64,
    /// Records in segments the collector refused for good (kept in `rejected/`).
    pub rejected_events: u64,
    /// Bytes in the spool now.
    pub spool_bytes: u64,
    /// Segment files in the spool now, the open one included.
    pub spool_segments: u64,
    /// From the first record of the last acknowledged segment being pushed to its acknowledgement.
    pub send_lag_seconds: f64,
    /// Age of the oldest record not yet acknowledged; 0 when the spool is empty.
    pub oldest_unsent_age_seconds: f64,
    /// The latest error reported, if any since start.
    pub last_error: Option<String>,
    /// False after a request that failed in a way retried with backoff (`5xx`, `408`, `429`,
    /// no answer, TLS failure); true after any other answer.
    pub connected: bool,
}

/// Errors printed to stderr, at most once a minute per kind, with the count of those held back;
/// each line starts with the name of the caller's configuration table (`uplink: …`).
#[derive(Debug)]
pub(crate) struct ErrorLog {
    name: String,
    seen: Vec<Seen>,
    /// The latest message printed.
    pub last: Option<String>,
}

#[derive(Debug)]
struct Seen {
    what: &'static str,
    code: i32,
    printed: Instant,
    held_back: u64,
}

impl ErrorLog {
    pub fn new(name: &str) -> Self {
        ErrorLog {
            name: name.to_owned(),
            seen: Vec::new(),
            last: None,
        }
    }

    /// Report an error of kind (`what`, `code`); `message` is built only when it is printed.
    pub fn report(&mut self, what: &'static str, code: i32, message: impl FnOnce() -> String) {
        let now = Instant::now();
        let held_back = match self
            .seen
            .iter_mut()
            .find(|s| s.what == what && s.code == code)
        {
            Some(s) if now.duration_since(s.printed) < REPORT_EVERY => {
                s.held_back += 1;
                return;
            }
            Some(s) => {
                s.printed = now;
                std::mem::take(&mut s.held_back)
            }
            None => {
                self.seen.push(Seen {
                    what,
                    code,
                    printed: now,
                    held_back: 0,
                });
                0
            }
        };
        let message = message();
        if held_back > 0 {
            eprintln!(
                "{}: {message} ({held_back} more like it since the last report)",
                self.name
            );
        } else {
            eprintln!("{}: {message}", self.name);
        }
        self.last = Some(message);
    }

    /// Print a message that is not rate limited (a rejected segment, a recovery).
    pub fn note(&mut self, message: String, is_error: bool) {
        eprintln!("{}: {message}", self.name);
        if is_error {
            self.last = Some(message);
        }
    }
}

/// What the caller's thread and the sender share.
pub(crate) struct State {
    pub spool: spool::Spool,
    pub sent: u64,
    pub duplicates: u64,
    pub send_lag: f64,
    pub connected: bool,
    /// The sender is to stop after the request under way.
    pub stop: bool,
    /// The sender has stopped.
    pub done: bool,
}

pub(crate) struct Shared {
    pub state: Mutex<State>,
    /// Wakes the sender: a segment closed, or stop.
    pub wake: Condvar,
    /// Wakes [`Uplink::finish`]: the spool emptied, or the sender stopped.
    pub idle: Condvar,
}

impl Shared {
    /// The state; a panic elsewhere does not stop the uplink from counting.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running uplink: the spool and its sender thread.
pub struct Uplink {
    /// The owner's own way into the spool; `pusher.shared` is what the sender shares.
    own: Pusher,
    thread: Option<JoinHandle<()>>,
}

impl Uplink {
    /// Check `cfg`, open the spool (recovering what a previous run left), load the credentials
    /// and start the sender thread.
    ///
    /// `table` is the name of the caller's configuration table (`"uplink"` for the sensor,
    /// `"upstream"` for a collector forwarding up): errors name keys as `{table}.{key}`, and
    /// the sender's log lines start with `{table}: `. `sender` is the caller's own id, sent in
    /// every request's `X-Icsight-Sensor` header (a sensor id, or a collector's id).
    pub fn start(cfg: &UplinkConfig, table: &str, sender: &str) -> Result<Uplink, UplinkError> {
        if !cfg.enabled() {
            return Err(UplinkError::invalid(
                table,
                "url",
                "is empty: no uplink to start",
            ));
        }
        cfg.validate(table)?;
        let client = send::Client::new(cfg, table, sender)?;
        let limits = spool::Limits {
            max_bytes: u64::from(cfg.spool_max_mb) << 20,
            segment_events: u64::from(cfg.segment_max_events.max(1)),
            segment_bytes: u64::from(cfg.segment_max_kb.max(1)) << 10,
            segment_age: Duration::try_from_secs_f64(cfg.segment_seconds)
                .unwrap_or(Duration::from_secs(1)),
            fsync: cfg.fsync,
        };
        let spool =
            spool::Spool::open(&cfg.spool_dir, limits, ErrorLog::new(table)).map_err(|e| {
                UplinkError::file(
                    table,
                    "spool_dir",
                    &cfg.spool_dir,
                    format!("cannot open the spool: {e}"),
                )
            })?;
        if spool.segments() > 0 {
            eprintln!(
                "{table}: {} segment(s), {} bytes left unsent in {} from an earlier run",
                spool.segments(),
                spool.bytes(),
                cfg.spool_dir.display()
            );
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                spool,
                sent: 0,
                duplicates: 0,
                send_lag: 0.0,
                connected: false,
                stop: false,
                done: false,
            }),
            wake: Condvar::new(),
            idle: Condvar::new(),
        });
        let backoff = retry::Backoff::new(
            Duration::from_millis(u64::from(cfg.retry_min_ms)),
            Duration::from_secs(u64::from(cfg.retry_max_s)),
        );
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(table.into())
            .spawn(move || send::run(&for_thread, &client, backoff))
            .map_err(|e| {
                UplinkError::invalid(table, "url", format!("cannot start the sender thread: {e}"))
            })?;
        Ok(Uplink {
            own: Pusher { shared, closes: 0 },
            thread: Some(thread),
        })
    }

    /// Spool one NDJSON line (ending in `\n`); it leaves when its segment closes, by size or
    /// age. Never blocks on the network and never fails: what the disk refuses is counted in
    /// `dropped_write_error`. Every line goes: choosing what to send is the caller's part.
    pub fn push(&mut self, line: &[u8]) {
        self.own.push(line);
    }

    /// Close the open segment now and wake the sender, so what was pushed leaves at once
    /// instead of after `segment_seconds` (an urgent record, just pushed). Sending still keeps
    /// order, and a sender waiting out a backoff keeps waiting. Nothing open: nothing to do.
    pub fn flush(&mut self) {
        self.own.with_spool(spool::Spool::close_open);
    }

    /// Close the open segment if it is `segment_seconds` old, so a quiet caller's records go
    /// out. Call it regularly (the sensor does from its capture loop); the sender thread checks
    /// too, at least every 250 ms.
    pub fn tick(&mut self) {
        self.own.tick();
    }

    /// The counters now.
    pub fn stats(&self) -> UplinkStats {
        snapshot(&self.own.shared.lock())
    }

    /// A handle that pushes into this uplink's spool from elsewhere — an EVE writer, another
    /// capture worker — while this owner keeps the sender and finishes it. Any number may push
    /// at once: lines go into the spool whole, in the order the spool's lock is taken.
    pub fn pusher(&self) -> Pusher {
        self.own.clone()
    }

    /// The spool's directory.
    pub fn spool_dir(&self) -> PathBuf {
        self.own.shared.lock().spool.dir().to_owned()
    }

    /// Close the open segment, wait up to `drain` for the spool to empty, stop the sender and
    /// return the final counters. What is not sent stays on disk for the next start.
    pub fn finish(mut self, drain: Duration) -> UplinkStats {
        let deadline = Instant::now() + drain;
        let mut st = self.own.shared.lock();
        st.spool.close_open();
        self.own.shared.wake.notify_one();
        while !st.spool.is_empty() && !st.done {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .own
                .shared
                .idle
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(st);
        self.stop_sender();
        snapshot(&self.own.shared.lock())
    }

    /// Tell the sender to stop; wait briefly for a request under way, then let it go.
    fn stop_sender(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let grace = Instant::now() + STOP_GRACE;
        let mut st = self.own.shared.lock();
        st.stop = true;
        self.own.shared.wake.notify_all();
        while !st.done {
            let now = Instant::now();
            if now >= grace {
                // A request is hanging: leave the thread; the segment stays on disk.
                return;
            }
            st = self
                .own
                .shared
                .idle
                .wait_timeout(st, grace - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        drop(st);
        let _ = thread.join();
    }
}

impl Drop for Uplink {
    /// Without [`Uplink::finish`]: stop sending, leave the open segment as a crash would (it
    /// is recovered at the next start).
    fn drop(&mut self) {
        self.stop_sender();
    }
}

impl std::fmt::Debug for Uplink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uplink")
            .field("stats", &self.stats())
            .finish()
    }
}

/// Wake the sender if a segment closed since `closes` was last seen.
/// Pushes lines into a running uplink's spool; see [`Uplink::pusher`]. Pushing after the
/// owner finished still spools the line, for the next start to send.
#[derive(Clone)]
pub struct Pusher {
    shared: Arc<Shared>,
    /// Segments closed as this handle last saw, to wake the sender when one more is.
    closes: u64,
}

impl Pusher {
    /// Spool one NDJSON line, as [`Uplink::push`] does.
    pub fn push(&mut self, line: &[u8]) {
        self.with_spool(|s| s.push(line));
    }

    /// Close the open segment if it is old enough, as [`Uplink::tick`] does.
    pub fn tick(&mut self) {
        self.with_spool(|s| {
            s.rotate_if_old(Instant::now());
        });
    }

    /// Act on the spool under its lock, then wake the sender if a segment closed meanwhile.
    fn with_spool(&mut self, f: impl FnOnce(&mut spool::Spool)) {
        let mut st = self.shared.lock();
        f(&mut st.spool);
        wake_if_closed(&self.shared, &mut self.closes, &st);
    }

    /// The uplink's counters now.
    pub fn stats(&self) -> UplinkStats {
        snapshot(&self.shared.lock())
    }
}

impl std::fmt::Debug for Pusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pusher")
            .field("stats", &self.stats())
            .finish()
    }
}

fn wake_if_closed(shared: &Shared, closes: &mut u64, st: &State) {
    if st.spool.closes != *closes {
        *closes = st.spool.closes;
        shared.wake.notify_one();
    }
}

fn snapshot(st: &State) -> UplinkStats {
    let c = st.spool.counters;
    let age = st.spool.oldest().map_or(0.0, |t| {
        SystemTime::now()
            .duration_since(t)
            .unwrap_or_default()
            .as_secs_f64()
    });
    UplinkStats {
        spooled_events: c.spooled,
        sent_events: st.sent,
        duplicates: st.duplicates,
        dropped_spool_full: c.dropped_spool_full,
        dropped_write_error: c.dropped_write_error,
        rejected_events: c.rejected,
        spool_bytes: st.spool.bytes(),
        spool_segments: st.spool.segments(),
        send_lag_seconds: st.send_lag,
        oldest_unsent_age_seconds: age,
        last_error: st.spool.errors.last.clone(),
        connected: st.connected,
    }
}
