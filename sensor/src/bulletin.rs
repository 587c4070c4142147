//! Threat bulletins from the collector: each one's rules kept on disk, loaded with the others.
//!
//! The collector serves `GET /v1/bulletins/feed?after=N` (the uplink's URL and credentials): the
//! bulletins for this sensor's enterprise numbered (`seq`) after `N`, and `last`, the highest
//! `seq` in the answer. Asking with `after=N` also tells the collector that the sensor holds every
//! bulletin up to `N`: that is how a bulletin is recorded as received. So after storing what came,
//! the sensor asks again at once with the new cursor, and goes on while new bulletins come.
//!
//! ```text
//! [bulletins] dir/
//!   national-000001.rules   one bulletin's rules (a comment header, then its rules)
//!   zhejiang-000007.rules
//!   feed.cursor             the highest seq held: the `after` of the next request
//! ```
//!
//! An answer is checked whole before anything is written: a malformed one (not JSON, a field
//! missing or of the wrong type, an id that is not a safe file name, a `seq` out of order) is an
//! error naming what is wrong, and neither files nor the cursor change. A bulletin's file is
//! written to a temporary file, fsynced and renamed over the old one; a revoked bulletin's file
//! is deleted; the cursor is written the same way, last, once the files of everything up to it
//! are on disk. A crash in between leaves the cursor behind, and the next pull fetches the same
//! bulletins again.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use icsight_eve::Timestamp;

/// The collector's feed, relative to `[uplink] url`.
pub const FEED: &str = "/v1/bulletins/feed";
/// The file in the bulletins directory that holds the cursor.
pub const CURSOR: &str = "feed.cursor";
/// Requests in one pull at most; what is left comes with the next pull.
pub const MAX_ROUNDS: usize = 32;
/// The longest bulletin id, in bytes.
pub const MAX_ID: usize = 64;

/// What one pull did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pulled {
    /// Bulletins whose rules file was written (new ones, and new versions of held ones).
    pub new: usize,
    /// Revoked bulletins (their files deleted).
    pub revoked: usize,
    /// The cursor now: every bulletin up to this `seq` is held.
    pub cursor: u64,
}

/// One bulletin of the feed: what the sensor uses of it. Other fields (description, scope,
/// indicators, actions) are for people and are not read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Bulletin {
    pub bulletin_id: String,
    /// Order at the collector.
    pub seq: u64,
    /// The tier that issued it.
    pub issuer: String,
    /// Seconds since the epoch.
    pub issued: u64,
    pub title: String,
    /// 1 (most severe) to 4.
    pub severity: u8,
    /// Rules text in the sensor's rules language.
    pub rules: String,
    /// Seconds since the epoch by which it should be disposed of.
    pub deadline: u64,
    /// Non-zero: withdrawn; its rules are unloaded.
    pub revoked: u8,
    pub version: u64,
}

/// A checked answer of the feed: bulletins in `seq` order, all after the cursor asked with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub bulletins: Vec<Bulletin>,
    pub last: u64,
}

#[derive(Deserialize)]
struct RawAnswer {
    bulletins: Vec<serde_json::Value>,
    last: u64,
}

/// Whether `id` may name a file in the bulletins directory: 1–64 letters, digits, `-`, `_` or
/// `.`, not starting with `.` (no `..`, no hidden file, no path).
pub fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a bulletin id: 1-{MAX_ID} letters, digits, '-', '_' or '.', not starting with '.'"
        ))
    }
}

/// Check the feed's answer to `after=after`, whole: every bulletin has the fields the sensor
/// uses, a safe id and a `seq` after `after` and at most `last`, no two the same `seq`; `last`
/// is the highest `seq` (or `after` when there is none).
pub fn parse(text: &str, after: u64) -> Result<Answer, String> {
    let raw: RawAnswer = serde_json::from_str(text).map_err(|e| {
        format!("the feed's answer is not {{\"bulletins\": [...], \"last\": N}}: {e}")
    })?;
    let mut bulletins = Vec::with_capacity(raw.bulletins.len());
    for (i, v) in raw.bulletins.into_iter().enumerate() {
        let n = i + 1;
        let named = match v.get("bulletin_id").and_then(|x| x.as_str()) {
            Some(id) => format!("bulletin {n} ({id:?})"),
            None => format!("bulletin {n}"),
        };
        let b: Bulletin = serde_json::from_value(v).map_err(|e| format!("{named}: {e}"))?;
        check_id(&b.bulletin_id).map_err(|e| format!("bulletin {n}: {e}"))?;
        if b.seq <= after {
            return Err(format!(
                "{named}: seq {} is not after {after}, the cursor asked with",
                b.seq
            ));
        }
        if b.seq > raw.last {
            return Err(format!(
                "{named}: seq {} is beyond last = {}",
                b.seq, raw.last
            ));
        }
        bulletins.push(b);
    }
    bulletins.sort_by_key(|b| b.seq);
    if let Some(w) = bulletins.windows(2).find(|w| w[0].seq == w[1].seq) {
        return Err(format!(
            "bulletins {:?} and {:?} have the same seq {}",
            w[0].bulletin_id, w[1].bulletin_id, w[0].seq
        ));
    }
    match bulletins.last() {
        Some(b) if b.seq != raw.last => Err(format!(
            "last = {} is not the highest seq of the answer ({})",
            raw.last, b.seq
        )),
        None if raw.last != after => Err(format!(
            "no bulletins, but last = {} is not {after}, the cursor asked with",
            raw.last
        )),
        _ => Ok(Answer {
            bulletins,
            last: raw.last,
        }),
    }
}

/// The cursor held in `dir`: 0 when there is none yet.
pub fn read_cursor(dir: &Path) -> Result<u64, String> {
    let path = dir.join(CURSOR);
    match fs::read_to_string(&path) {
        Ok(text) => text.trim().parse().map_err(|_| {
            format!(
                "{}: {:?} is not a feed cursor (a number); delete the file to pull every bulletin again",
                path.display(),
                text.trim()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!("{}: cannot read: {e}", path.display())),
    }
}

/// Bulletins held in `dir`: its `*.rules` files (0 when it does not exist).
pub fn held(dir: &Path) -> usize {
    fs::read_dir(dir).map_or(0, |rd| {
        rd.flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                !name.starts_with('.') && name.ends_with(".rules")
            })
            .count()
    })
}

/// The rules file of bulletin `id` in `dir` (the id checked by [`check_id`]).
pub fn rules_file(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}.rules"))
}

/// Pull the feed from the cursor in `dir` until no new bulletin comes (at most [`MAX_ROUNDS`]
/// requests): store each answer's bulletins, then the cursor, then ask again with it, which
/// confirms them to the collector.
pub fn pull(fetch: &uplink::Fetch, dir: &Path) -> Result<Pulled, String> {
    pull_with(|path| fetch.get(path), dir)
}

/// [`pull`], through `get` (a GET of a path with its query: the body of a `200`, or what went
/// wrong).
pub fn pull_with(
    get: impl Fn(&str) -> Result<String, String>,
    dir: &Path,
) -> Result<Pulled, String> {
    let mut pulled = Pulled {
        cursor: read_cursor(dir)?,
        ..Pulled::default()
    };
    for _ in 0..MAX_ROUNDS {
        let text = get(&format!("{FEED}?after={}", pulled.cursor))?;
        let answer = parse(&text, pulled.cursor)?;
        if answer.bulletins.is_empty() {
            break;
        }
        let (new, revoked) = store(dir, &answer)?;
        pulled.new += new;
        pulled.revoked += revoked;
        pulled.cursor = answer.last;
    }
    Ok(pulled)
}

/// Write (or delete) the files of a checked answer's bulletins, then its cursor; the new and
/// revoked counts.
fn store(dir: &Path, answer: &Answer) -> Result<(usize, usize), String> {
    let err =
        |what: &str, path: &Path, e: std::io::Error| format!("{what} {}: {e}", path.display());
    fs::create_dir_all(dir).map_err(|e| err("cannot create", dir, e))?;
    let (mut new, mut revoked) = (0, 0);
    for b in &answer.bulletins {
        let path = rules_file(dir, &b.bulletin_id);
        if b.revoked != 0 {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err("cannot delete", &path, e)),
            }
            revoked += 1;
        } else {
            write_durably(&path, render(b).as_bytes())
                .map_err(|e| err("cannot write", &path, e))?;
            new += 1;
        }
    }
    sync_dir(dir).map_err(|e| err("cannot sync", dir, e))?;
    let cursor = dir.join(CURSOR);
    write_durably(&cursor, format!("{}\n", answer.last).as_bytes())
        .map_err(|e| err("cannot write", &cursor, e))?;
    sync_dir(dir).map_err(|e| err("cannot sync", dir, e))?;
    Ok((new, revoked))
}

/// A bulletin's rules file: a comment header naming it, then its rules.
pub fn render(b: &Bulletin) -> String {
    // One line each, whatever the collector sent: a newline would end the comment.
    let line = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    let mut out = format!(
        "# icsight bulletin {}, version {} (seq {} at the collector)\n# title: {}\n# issuer: {}; severity {}; issued {}; deadline {}\n# Written by the sensor from the collector's bulletin feed: replaced or deleted by later pulls.\n",
        b.bulletin_id,
        b.version,
        b.seq,
        line(&b.title),
        line(&b.issuer),
        b.severity,
        date(b.issued),
        date(b.deadline),
    );
    out.push_str(&b.rules);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `2026-11-21T08:00:00Z`.
fn date(secs: u64) -> String {
    let mut buf = [0u8; 31];
    let t = Timestamp(secs.min(253_402_300_799).saturating_mul(1_000_000));
    format!("{}Z", &t.format(&mut buf)[..19])
}

/// Replace `path` with `bytes`: a temporary file beside it (hidden, so never loaded as rules),
/// fsynced, renamed over it. The caller fsyncs the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// The counters of the `stats.bulletins` block and the `icsight_bulletins_*` metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BulletinStats {
    /// Bulletins whose rules files are held.
    pub held: u64,
    /// Every bulletin up to this `seq` is held.
    pub cursor: u64,
    pub pulls_ok: u64,
    pub pulls_failed: u64,
    /// Seconds since the last pull that succeeded (since start when none has).
    pub last_pull_age_seconds: f64,
    /// The latest failure since start.
    pub last_error: Option<String>,
}

struct State {
    stats: BulletinStats,
    last_ok: Instant,
    /// Failures not logged yet, and when one was last logged.
    unlogged: u64,
    logged: Option<Instant>,
}

/// The bulletins' counters, shared by the puller and whoever reports them.
#[derive(Clone)]
pub struct Status(Arc<Mutex<State>>);

impl Status {
    fn new(dir: &Path) -> Status {
        Status(Arc::new(Mutex::new(State {
            stats: BulletinStats {
                held: held(dir) as u64,
                cursor: read_cursor(dir).unwrap_or(0),
                ..BulletinStats::default()
            },
            last_ok: Instant::now(),
            unlogged: 0,
            logged: None,
        })))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The counters now.
    pub fn stats(&self) -> BulletinStats {
        let s = self.lock();
        BulletinStats {
            last_pull_age_seconds: s.last_ok.elapsed().as_secs_f64(),
            ..s.stats.clone()
        }
    }
}

impl std::fmt::Debug for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.stats().fmt(f)
    }
}

/// How often a failing pull is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// The configured bulletins: the feed, the directory, the counters.
pub struct Bulletins {
    fetch: uplink::Fetch,
    dir: PathBuf,
    every: Duration,
    status: Status,
}

impl Bulletins {
    /// `None` when `[bulletins] dir` is empty. Errors (the uplink's credentials) name their key
    /// under `uplink`.
    pub fn new(config: &Config) -> Result<Option<Bulletins>, uplink::UplinkError> {
        let cfg = &config.bulletins;
        if !cfg.enabled() {
            return Ok(None);
        }
        let fetch =
            uplink::Fetch::new(&config.uplink.link, crate::uplink::TABLE, &config.sensor.id)?;
        Ok(Some(Bulletins {
            fetch,
            dir: cfg.dir.clone(),
            every: Duration::from_secs(u64::from(cfg.poll_seconds.max(1))),
            status: Status::new(&cfg.dir),
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The counters, to report in `stats` events and the metrics file.
    pub fn status(&self) -> Status {
        self.status.clone()
    }

    /// Pull now and count it. A pull that fails is logged (at most once a minute, with the
    /// count since, when `quiet`); one that brings bulletins is logged unless `quiet` and
    /// nothing changed. True when the rules files changed (the cursor moved), even if the pull
    /// failed after storing some.
    pub fn pull_now(&self, quiet: bool) -> bool {
        let before = read_cursor(&self.dir).unwrap_or(0);
        let result = pull(&self.fetch, &self.dir);
        let cursor = read_cursor(&self.dir).unwrap_or(before);
        let holding = held(&self.dir);
        let mut s = self.status.lock();
        s.stats.held = holding as u64;
        s.stats.cursor = cursor;
        let dir = self.dir.display();
        match result {
            Ok(p) => {
                s.stats.pulls_ok += 1;
                s.last_ok = Instant::now();
                if s.unlogged > 0 {
                    eprintln!(
                        "bulletins: pulling again ({} failure(s) not shown)",
                        s.unlogged
                    );
                    s.unlogged = 0;
                }
                s.logged = None;
                if !quiet || p.new + p.revoked > 0 {
                    eprintln!(
                        "bulletins: {} new, {} revoked; holding {holding} in {dir} (cursor {cursor})",
                        p.new, p.revoked
                    );
                }
            }
            Err(e) => {
                s.stats.pulls_failed += 1;
                let due = s.logged.is_none_or(|t| t.elapsed() >= LOG_EVERY);
                if !quiet || due {
                    let since = match s.unlogged {
                        0 => String::new(),
                        n => format!(" ({n} more failure(s) since the last shown)"),
                    };
                    eprintln!(
                        "warning: bulletins: pull failed: {e}{since}; going on with the {holding} held in {dir}"
                    );
                    s.unlogged = 0;
                    s.logged = Some(Instant::now());
                } else {
                    s.unlogged += 1;
                }
                s.stats.last_error = Some(e);
            }
        }
        cursor != before
    }

    /// Pull on a thread of its own, at once and then every `poll_seconds`; set `changed` each
    /// time the rules files change, for the capture loop to reload the rules.
    pub fn spawn(self, changed: Arc<AtomicBool>) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("bulletins".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if self.pull_now(true) {
                            changed.store(true, Ordering::Relaxed);
                        }
                        let until = Instant::now() + self.every;
                        while !stop.load(Ordering::Relaxed) {
                            let now = Instant::now();
                            if now >= until {
                                break;
                            }
                            std::thread::park_timeout(until - now);
                        }
                    }
                })
                .expect("spawning the bulletins thread")
        };
        Poller {
            stop,
            thread: Some(thread),
        }
    }
}

/// The thread pulling bulletins; stopped when dropped.
pub struct Poller {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Poller {
    /// Stop pulling; a thread waiting for its next pull ends at once. A request under way is
    /// not waited for: it ends on its own, its files written whole or not at all.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
        }
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulletin(id: &str, seq: u64, revoked: u8) -> serde_json::Value {
        serde_json::json!({
            "bulletin_id": id, "seq": seq, "issuer": "national", "issued": 1_795_000_000u64,
            "title": "Test\nbulletin", "severity": 1, "description": "d", "scope": "{}",
            "indicators": "{}", "actions": "[]", "deadline": 1_796_000_000u64,
            "revoked": revoked, "version": 7,
            "rules": format!("alert tcp any any -> any 502 (msg:\"{id}\"; sid:{}; rev:1;)\n", 3_000_000_000u64 + seq),
        })
    }

    fn answer(list: &[serde_json::Value], last: u64) -> String {
        serde_json::json!({ "bulletins": list, "last": last }).to_string()
    }

    #[test]
    fn ids_that_are_safe_file_names() {
        for good in ["national-000001", "zj_2026.01", "A", &"x".repeat(64)] {
            check_id(good).unwrap();
        }
        for bad in [
            "",
            "../x",
            "..",
            ".hidden",
            "a/b",
            "a b",
            "a\\b",
            "é",
            &"x".repeat(65),
        ] {
            let e = check_id(bad).unwrap_err();
            assert!(e.contains("is not a bulletin id"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn parse_checks_the_whole_answer() {
        let a = parse(
            &answer(&[bulletin("b-2", 2, 0), bulletin("b-1", 1, 0)], 2),
            0,
        )
        .unwrap();
        assert_eq!(a.last, 2);
        assert_eq!(a.bulletins[0].bulletin_id, "b-1", "in seq order");
        assert_eq!(parse(&answer(&[], 5), 5).unwrap().bulletins, vec![]);

        let mut missing = bulletin("b-1", 1, 0);
        missing.as_object_mut().unwrap().remove("rules");
        let mut wrong = bulletin("b-1", 1, 0);
        wrong["seq"] = "one".into();
        for (text, after, want) in [
            ("not json".to_owned(), 0, "is not {\"bulletins\""),
            ("{\"last\": 1}".to_owned(), 0, "missing field `bulletins`"),
            (
                answer(&[missing], 1),
                0,
                "bulletin 1 (\"b-1\"): missing field `rules`",
            ),
            (answer(&[wrong], 1), 0, "bulletin 1 (\"b-1\"): invalid type"),
            (
                answer(&[bulletin("../x", 1, 0)], 1),
                0,
                "\"../x\" is not a bulletin id",
            ),
            (
                answer(&[bulletin("b-1", 1, 0)], 1),
                1,
                "seq 1 is not after 1",
            ),
            (
                answer(&[bulletin("b-3", 3, 0)], 2),
                0,
                "seq 3 is beyond last = 2",
            ),
            (
                answer(&[bulletin("b-1", 1, 0)], 4),
                0,
                "last = 4 is not the highest seq",
            ),
            (answer(&[], 9), 3, "no bulletins, but last = 9 is not 3"),
            (
                answer(&[bulletin("a", 2, 0), bulletin("b", 2, 0)], 2),
                0,
                "have the same seq 2",
            ),
        ] {
            let e = parse(&text, after).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn the_rules_file_has_a_one_line_header_each() {
        let b: Bulletin = serde_json::from_value(bulletin("b-1", 1, 0)).unwrap();
        let text = render(&b);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[..4].iter().all(|l| l.starts_with("# ")), "{text}");
        assert_eq!(lines[1], "# title: Test bulletin");
        assert!(lines[2].contains("issued 2026-11-18T"), "{}", lines[2]);
        assert!(lines[4].starts_with("alert tcp"));
    }

    /// A feed that answers from `list` (each bulletin's seq), recording the cursors asked with.
    fn feed(
        list: Vec<serde_json::Value>,
        asked: &Mutex<Vec<u64>>,
    ) -> impl Fn(&str) -> Result<String, String> + '_ {
        move |path| {
            let after: u64 = path
                .strip_prefix("/v1/bulletins/feed?after=")
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("unexpected path {path}"))?;
            asked.lock().unwrap().push(after);
            let newer: Vec<_> = list
                .iter()
                .filter(|b| b["seq"].as_u64().unwrap() > after)
                .cloned()
                .collect();
            let last = newer
                .iter()
                .map(|b| b["seq"].as_u64().unwrap())
                .max()
                .unwrap_or(after);
            Ok(answer(&newer, last))
        }
    }

    #[test]
    fn pull_stores_then_confirms_and_revokes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("bulletins");
        let asked = Mutex::new(Vec::new());
        let p = pull_with(
            feed(vec![bulletin("b-1", 1, 0), bulletin("b-2", 2, 0)], &asked),
            &d,
        )
        .unwrap();
        assert_eq!((p.new, p.revoked, p.cursor), (2, 0, 2));
        assert_eq!(
            *asked.lock().unwrap(),
            [0, 2],
            "asked again: the confirmation"
        );
        assert_eq!(held(&d), 2);
        assert_eq!(read_cursor(&d).unwrap(), 2);
        // b-1 revoked (a new seq for it at the collector).
        let asked = Mutex::new(Vec::new());
        let p = pull_with(
            feed(vec![bulletin("b-2", 2, 0), bulletin("b-1", 3, 1)], &asked),
            &d,
        )
        .unwrap();
        assert_eq!((p.new, p.revoked, p.cursor), (0, 1, 3));
        assert_eq!(*asked.lock().unwrap(), [2, 3]);
        assert!(!rules_file(&d, "b-1").exists() && rules_file(&d, "b-2").exists());
        let names: Vec<String> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
    }

    #[test]
    fn pull_is_bounded_and_a_bad_answer_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A feed that always has one more: the pull stops after MAX_ROUNDS requests.
        let n = Mutex::new(0u64);
        let endless = |_: &str| {
            let mut n = n.lock().unwrap();
            *n += 1;
            Ok(answer(&[bulletin(&format!("e-{n}"), *n, 0)], *n))
        };
        let p = pull_with(endless, d).unwrap();
        assert_eq!(p.cursor, MAX_ROUNDS as u64);
        assert_eq!(held(d), MAX_ROUNDS);
        // A bad second bulletin: nothing of the answer is written.
        let bad = |_: &str| {
            Ok(answer(
                &[bulletin("ok-1", 40, 0), bulletin("../evil", 41, 0)],
                41,
            ))
        };
        let e = pull_with(bad, d).unwrap_err();
        assert!(
            e.contains("bulletin 2: \"../evil\" is not a bulletin id"),
            "{e}"
        );
        assert!(!rules_file(d, "ok-1").exists());
        assert_eq!(read_cursor(d).unwrap(), MAX_ROUNDS as u64);
        // A corrupt cursor is an error naming the file, not a pull from 0.
        fs::write(d.join(CURSOR), "x\n").unwrap();
        let e = pull_with(|_: &str| Ok(answer(&[], 0)), d).unwrap_err();
        assert!(e.contains("feed.cursor: \"x\" is not a feed cursor"), "{e}");
    }
}
