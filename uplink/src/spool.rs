//! The on-disk spool: events (NDJSON lines) wait here, in segment files, until the collector
//! acknowledges them.
//!
//! A segment is one batch, one request. Its file is named by a zero-padded sequence number:
//! `000000000042.open` while events are appended to it, `000000000042.ndjson` once closed. Each
//! event line is appended with one unbuffered write as it is pushed, so a crash of the process
//! loses nothing already pushed; the fsync policy says what a power loss may cost. Closing a
//! segment fsyncs the file, renames it and fsyncs the directory.
//!
//! At start a `.open` left by a crash is cut back to its last complete line and closed; an empty
//! one is deleted. Sequence numbers go on after the highest found, here or in `rejected/`.
//!
//! When full (more than `spool_max_mb` on disk), the oldest closed segments are deleted first,
//! except the one being sent, and their events counted as dropped: recent events are worth more
//! to an analyst than old ones, and the oldest are the likeliest to have reached the collector
//! already through another path (a sensor's local EVE file).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::{ErrorLog, Fsync};

/// Extension of the segment being written.
pub(crate) const OPEN: &str = "open";
/// Extension of a closed segment, ready to send.
pub(crate) const CLOSED: &str = "ndjson";
/// Sub-directory for segments the collector refused for good.
pub(crate) const REJECTED: &str = "rejected";

/// A closed segment waiting to be sent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Segment {
    pub seq: u64,
    /// Complete lines (events) in it.
    pub events: u64,
    pub bytes: u64,
    /// When its first event was pushed; for a segment found at start, its file's mtime.
    pub first: SystemTime,
    /// Closing could not rename it: it still carries the `.open` extension.
    pub unrenamed: bool,
}

struct OpenSegment {
    seq: u64,
    file: File,
    events: u64,
    bytes: u64,
    opened: Instant,
    first: SystemTime,
}

/// What bounds the spool and its segments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub max_bytes: u64,
    pub segment_events: u64,
    pub segment_bytes: u64,
    pub segment_age: Duration,
    pub fsync: Fsync,
}

/// Events through the spool, counted since start.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Counters {
    /// Written to a segment.
    pub spooled: u64,
    /// Deleted unsent because the spool was full.
    pub dropped_spool_full: u64,
    /// Not written: the disk refused them.
    pub dropped_write_error: u64,
    /// In segments the collector refused for good.
    pub rejected: u64,
}

pub(crate) struct Spool {
    dir: PathBuf,
    limits: Limits,
    open: Option<OpenSegment>,
    closed: VecDeque<Segment>,
    next_seq: u64,
    /// On disk, open segment included.
    bytes: u64,
    /// The last segment of the request under way: the cap deletes none up to it (a request
    /// carries the oldest segments).
    pub in_flight: Option<u64>,
    /// Segments closed since start.
    pub closes: u64,
    pub counters: Counters,
    pub errors: ErrorLog,
}

/// `000000000042.ndjson`.
fn file_name(seq: u64, ext: &str) -> String {
    format!("{seq:012}.{ext}")
}

/// The sequence number and extension of a segment file's name.
fn parse_name(name: &str) -> Option<(u64, &str)> {
    let (stem, ext) = name.split_once('.')?;
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, ext))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Complete lines in `path`, and its length.
fn count_lines(path: &Path) -> io::Result<(u64, u64)> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 1 << 16];
    let (mut lines, mut bytes) = (0u64, 0u64);
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok((lines, bytes));
        }
        bytes += n as u64;
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// Cut `path` back to its last complete line; return its new length.
fn cut_partial_line(path: &Path) -> io::Result<u64> {
    let data = fs::read(path)?;
    let keep = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < data.len() {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(keep as u64)?;
        f.sync_all()?;
    }
    Ok(keep as u64)
}

impl Spool {
    /// Open the spool in `dir` (created if missing), recovering what a previous run left;
    /// problems on the way are reported to `errors`.
    pub fn open(dir: &Path, limits: Limits, errors: ErrorLog) -> io::Result<Spool> {
        fs::create_dir_all(dir.join(REJECTED))?;
        let mut max_seq = 0u64;
        for entry in fs::read_dir(dir.join(REJECTED))? {
            let name = entry?.file_name();
            if let Some((seq, _)) = name.to_str().and_then(parse_name) {
                max_seq = max_seq.max(seq);
            }
        }
        let mut found = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some((seq, ext)) = name.to_str().and_then(parse_name) else {
                continue;
            };
            if ext != OPEN && ext != CLOSED || !entry.file_type()?.is_file() {
                continue;
            }
            max_seq = max_seq.max(seq);
            found.push((seq, ext == OPEN));
        }
        found.sort_unstable();
        let mut closed = VecDeque::with_capacity(found.len());
        let mut renamed = false;
        for (seq, was_open) in found {
            let path = dir.join(file_name(seq, CLOSED));
            if was_open {
                // Left by a crash: keep the complete lines, close it.
                let open_path = dir.join(file_name(seq, OPEN));
                if cut_partial_line(&open_path)? == 0 {
                    fs::remove_file(&open_path)?;
                    continue;
                }
                fs::rename(&open_path, &path)?;
                renamed = true;
            }
            let (events, bytes) = count_lines(&path)?;
            if events == 0 {
                fs::remove_file(&path)?;
                continue;
            }
            let first = fs::metadata(&path)?
                .modified()
                .unwrap_or_else(|_| SystemTime::now());
            closed.push_back(Segment {
                seq,
                events,
                bytes,
                first,
                unrenamed: false,
            });
        }
        if renamed {
            sync_dir(dir)?;
        }
        let bytes = closed.iter().map(|s| s.bytes).sum();
        let mut spool = Spool {
            dir: dir.to_owned(),
            limits,
            open: None,
            closed,
            next_seq: max_seq + 1,
            bytes,
            in_flight: None,
            closes: 0,
            counters: Counters::default(),
            errors,
        };
        spool.enforce_cap();
        Ok(spool)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a segment's file is.
    pub fn path(&self, s: &Segment) -> PathBuf {
        let ext = if s.unrenamed { OPEN } else { CLOSED };
        self.dir.join(file_name(s.seq, ext))
    }

    /// Append one event line (ending in `\n`). Never fails: what the disk refuses is counted
    /// and reported, and the next event tries again.
    pub fn push(&mut self, line: &[u8]) {
        let now = Instant::now();
        let len = line.len() as u64;
        if let Some(o) = &self.open {
            if o.events > 0
                && (o.bytes + len > self.limits.segment_bytes
                    || now.duration_since(o.opened) >= self.limits.segment_age)
            {
                self.close_open();
            }
        }
        if self.open.is_none() {
            match self.create_segment(now) {
                Ok(o) => self.open = Some(o),
                Err(e) => return self.write_failed(&e),
            }
        }
        let Some(o) = self.open.as_mut() else {
            return;
        };
        let written = o.file.write_all(line).and_then(|()| {
            if self.limits.fsync == Fsync::Always {
                o.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                o.events += 1;
                o.bytes += len;
                self.bytes += len;
                self.counters.spooled += 1;
                if o.events >= self.limits.segment_events || o.bytes >= self.limits.segment_bytes {
                    self.close_open();
                }
            }
            Err(e) => {
                // Take back whatever part of the line reached the file, so the lines after it
                // stay whole; if even that fails, close the segment (the partial line at its
                // end is cut when it is read).
                if o.file.set_len(o.bytes).is_err() {
                    self.close_open();
                }
                self.write_failed(&e);
            }
        }
        if self.bytes > self.limits.max_bytes {
            self.enforce_cap();
        }
    }

    fn create_segment(&mut self, now: Instant) -> io::Result<OpenSegment> {
        loop {
            let seq = self.next_seq;
            self.next_seq += 1;
            let path = self.dir.join(file_name(seq, OPEN));
            let file = match OpenOptions::new().append(true).create_new(true).open(&path) {
                Ok(f) => f,
                // Someone else's file: step over it.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            };
            if self.limits.fsync == Fsync::Always {
                sync_dir(&self.dir)?;
            }
            return Ok(OpenSegment {
                seq,
                file,
                events: 0,
                bytes: 0,
                opened: now,
                first: SystemTime::now(),
            });
        }
    }

    fn write_failed(&mut self, e: &io::Error) {
        self.counters.dropped_write_error += 1;
        let dir = &self.dir;
        self.errors
            .report("spool write", e.raw_os_error().unwrap_or(-1), || {
                format!(
                    "spool {}: cannot write an event: {e}; events are dropped until it can",
                    dir.display()
                )
            });
    }

    /// Close the open segment if it is older than the segment age. Returns whether it did.
    pub fn rotate_if_old(&mut self, now: Instant) -> bool {
        match &self.open {
            Some(o) if now.duration_since(o.opened) >= self.limits.segment_age => {
                self.close_open();
                true
            }
            _ => false,
        }
    }

    /// When the open segment is due to close, if there is one.
    pub fn open_deadline(&self) -> Option<Instant> {
        self.open
            .as_ref()
            .map(|o| o.opened + self.limits.segment_age)
    }

    /// Close the open segment: fsync, rename to `.ndjson`, fsync the directory. It becomes
    /// sendable.
    pub fn close_open(&mut self) {
        let Some(o) = self.open.take() else {
            return;
        };
        let open_path = self.dir.join(file_name(o.seq, OPEN));
        if o.events == 0 {
            drop(o.file);
            self.bytes -= o.bytes;
            if let Err(e) = fs::remove_file(&open_path) {
                self.report_io("spool delete", &open_path, &e);
            }
            return;
        }
        let sync = self.limits.fsync != Fsync::Never;
        if sync {
            if let Err(e) = o.file.sync_all() {
                self.report_io("spool fsync", &open_path, &e);
            }
        }
        drop(o.file);
        let path = self.dir.join(file_name(o.seq, CLOSED));
        let unrenamed = match fs::rename(&open_path, &path) {
            Ok(()) => {
                if sync {
                    if let Err(e) = sync_dir(&self.dir) {
                        self.report_io("spool fsync", &self.dir.clone(), &e);
                    }
                }
                false
            }
            Err(e) => {
                self.report_io("spool rename", &open_path, &e);
                true
            }
        };
        self.closes += 1;
        self.closed.push_back(Segment {
            seq: o.seq,
            events: o.events,
            bytes: o.bytes,
            first: o.first,
            unrenamed,
        });
    }

    fn report_io(&mut self, what: &'static str, path: &Path, e: &io::Error) {
        self.errors
            .report(what, e.raw_os_error().unwrap_or(-1), || {
                format!("{what} {}: {e}", path.display())
            });
    }

    /// Delete the oldest closed segments, except those in flight, until the spool fits.
    fn enforce_cap(&mut self) {
        while self.bytes > self.limits.max_bytes {
            let in_flight = self.in_flight;
            let Some(i) = self
                .closed
                .iter()
                .position(|s| in_flight.is_none_or(|last| s.seq > last))
            else {
                break;
            };
            let Some(s) = self.closed.remove(i) else {
                break;
            };
            let path = self.path(&s);
            if let Err(e) = fs::remove_file(&path) {
                if e.kind() != io::ErrorKind::NotFound {
                    self.report_io("spool delete", &path, &e);
                }
            }
            self.bytes -= s.bytes;
            self.counters.dropped_spool_full += s.events;
            let (dropped, cap) = (s.events, self.limits.max_bytes >> 20);
            self.errors.report("spool full", 0, || {
                format!(
                    "spool {} is over its cap of {cap} MiB: deleted the oldest unsent segment ({dropped} events)",
                    self.dir.display()
                )
            });
        }
    }

    /// The oldest closed segment: the next to send.
    pub fn front(&self) -> Option<Segment> {
        self.closed.front().copied()
    }

    /// The oldest closed segments that fit together in one segment's limits (events and
    /// bytes), at least the oldest: what one request carries. A backlog of small segments
    /// (each closed by age while the link was down) then drains in few requests, not one
    /// round trip to the collector per segment.
    pub fn batch(&self) -> Vec<Segment> {
        let (mut events, mut bytes) = (0, 0);
        let mut batch = Vec::new();
        for s in &self.closed {
            events += s.events;
            bytes += s.bytes;
            if !batch.is_empty()
                && (events > self.limits.segment_events || bytes > self.limits.segment_bytes)
            {
                break;
            }
            batch.push(*s);
        }
        batch
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.closed.iter().any(|s| s.seq == seq)
    }

    fn take(&mut self, seq: u64) -> Option<Segment> {
        let i = self.closed.iter().position(|s| s.seq == seq)?;
        let s = self.closed.remove(i)?;
        self.bytes -= s.bytes;
        Some(s)
    }

    /// The collector has every event of segment `seq`: delete it.
    pub fn acknowledge(&mut self, seq: u64) -> Option<Segment> {
        let s = self.take(seq)?;
        let path = self.path(&s);
        if let Err(e) = fs::remove_file(&path) {
            if e.kind() != io::ErrorKind::NotFound {
                // It will be sent again at the next start: a duplicate the collector drops.
                self.report_io("spool delete", &path, &e);
            }
        }
        Some(s)
    }

    /// The collector refused `events` events of segment `seq` for good: keep them in
    /// `rejected/` under the segment's name, and the segment is done. `lines` are the refused
    /// lines when only part of it was refused (the rest was stored); `None` moves the file.
    pub fn reject(
        &mut self,
        seq: u64,
        lines: Option<&[u8]>,
        events: u64,
    ) -> Option<(Segment, PathBuf)> {
        let s = self.take(seq)?;
        let from = self.path(&s);
        let to = self.dir.join(REJECTED).join(file_name(s.seq, CLOSED));
        let kept = match lines {
            None => fs::rename(&from, &to),
            Some(lines) => File::create(&to)
                .and_then(|mut f| {
                    f.write_all(lines)?;
                    f.sync_all()
                })
                .and_then(|()| fs::remove_file(&from)),
        };
        match kept {
            Ok(()) => {
                if self.limits.fsync != Fsync::Never {
                    let _ = sync_dir(&self.dir);
                }
            }
            Err(e) => self.report_io("spool reject", &from, &e),
        }
        self.counters.rejected += events;
        Some((s, to))
    }

    /// Forget segment `seq`, whose file is gone.
    pub fn forget(&mut self, seq: u64) -> Option<Segment> {
        self.take(seq)
    }

    /// Nothing waits: no closed segment, no open one.
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_none()
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Segments on disk, the open one included.
    pub fn segments(&self) -> u64 {
        self.closed.len() as u64 + u64::from(self.open.is_some())
    }

    /// When the oldest unsent event was pushed.
    pub fn oldest(&self) -> Option<SystemTime> {
        self.closed
            .front()
            .map(|s| s.first)
            .or_else(|| self.open.as_ref().map(|o| o.first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_bytes: 1 << 20,
            segment_events: 3,
            segment_bytes: 1 << 10,
            segment_age: Duration::from_secs(3600),
            fsync: Fsync::Segment,
        }
    }

    fn open(dir: &Path, limits: Limits) -> Spool {
        Spool::open(dir, limits, ErrorLog::new("uplink")).unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(file_name(42, OPEN), "000000000042.open");
        assert_eq!(parse_name("000000000042.ndjson"), Some((42, "ndjson")));
        assert_eq!(parse_name("x42.ndjson"), None);
        assert_eq!(parse_name("42"), None);
        assert_eq!(parse_name(".ndjson"), None);
    }

    #[test]
    fn rotates_by_events_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = open(dir.path(), limits());
        for i in 0..7 {
            s.push(format!("{{\"n\":{i}}}\n").as_bytes());
        }
        // 3 + 3 closed, 1 open.
        assert_eq!(
            names(dir.path()),
            [
                "000000000001.ndjson",
                "000000000002.ndjson",
                "000000000003.open",
                "rejected"
            ]
        );
        assert_eq!(s.segments(), 3);
        assert_eq!(s.front().unwrap().events, 3);
        let mut line = vec![b'x'; 1020];
        line.push(b'\n');
        s.push(&line);
        // 1021 bytes more would pass 1 KiB with the open segment's: it closes first.
        assert_eq!(s.segments(), 4);
        s.push(&line);
        assert_eq!(s.segments(), 5);
        // A line of a segment's size or more goes alone and closes its segment at once.
        let mut huge = vec![b'y'; 1100];
        huge.push(b'\n');
        s.push(&huge);
        assert_eq!(s.segments(), 6);
        assert!(s.open.is_none());
        assert_eq!(s.counters.spooled, 10);
    }

    #[test]
    fn rotates_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = limits();
        l.segment_age = Duration::from_millis(50);
        let mut s = open(dir.path(), l);
        s.push(b"{}\n");
        assert!(!s.rotate_if_old(Instant::now()));
        assert!(s.front().is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(s.rotate_if_old(Instant::now()));
        assert_eq!(s.front().unwrap().events, 1);
        assert!(!s.rotate_if_old(Instant::now()));
    }

    #[test]
    fn recovers_what_a_crash_left() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("000000000007.ndjson"), "{\"a\":1}\n{\"a\":2}\n").unwrap();
        fs::write(d.join("000000000009.open"), "{\"a\":3}\n{\"a\":4}\n{\"a\"").unwrap();
        fs::write(d.join("000000000010.open"), "{\"half").unwrap();
        fs::write(d.join("000000000011.open"), "").unwrap();
        fs::write(d.join("notes.txt"), "kept").unwrap();
        fs::create_dir_all(d.join(REJECTED)).unwrap();
        fs::write(d.join(REJECTED).join("000000000020.ndjson"), "{}\n").unwrap();
        let mut s = open(d, limits());
        assert_eq!(
            names(d),
            [
                "000000000007.ndjson",
                "000000000009.ndjson",
                "notes.txt",
                "rejected"
            ]
        );
        assert_eq!(
            fs::read_to_string(d.join("000000000009.ndjson")).unwrap(),
            "{\"a\":3}\n{\"a\":4}\n"
        );
        let front = s.front().unwrap();
        assert_eq!((front.seq, front.events), (7, 2));
        assert_eq!(s.bytes(), 32);
        s.acknowledge(7).unwrap();
        assert_eq!(s.front().unwrap().seq, 9);
        // New segments number on after the rejected one.
        s.push(b"{}\n");
        s.close_open();
        assert!(d.join("000000000021.ndjson").exists());
    }

    #[test]
    fn a_batch_is_the_oldest_segments_within_one_segments_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = open(dir.path(), limits());
        for events in [1, 1, 2, 3, 1] {
            for _ in 0..events {
                s.push(b"{}\n");
            }
            s.close_open();
        }
        let seqs = |b: Vec<Segment>| b.iter().map(|g| g.seq).collect::<Vec<_>>();
        // 1 + 1 events fit in 3, the next 2 would not.
        assert_eq!(seqs(s.batch()), [1, 2]);
        s.acknowledge(1).unwrap();
        s.acknowledge(2).unwrap();
        assert_eq!(seqs(s.batch()), [3]);
        s.acknowledge(3).unwrap();
        // A full segment goes alone.
        assert_eq!(seqs(s.batch()), [4]);
        s.acknowledge(4).unwrap();
        assert_eq!(seqs(s.batch()), [5]);
        s.acknowledge(5).unwrap();
        assert!(s.batch().is_empty());
    }

    #[test]
    fn in_flight_spares_every_segment_of_the_request() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = limits();
        l.max_bytes = 100;
        l.segment_events = 1;
        let mut s = open(dir.path(), l);
        let line = [b'x'; 29].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        for _ in 0..3 {
            s.push(&line);
        }
        // Segments 1 and 2 go in one request.
        s.in_flight = Some(2);
        s.push(&line);
        assert_eq!(s.counters.dropped_spool_full, 1);
        assert!(s.contains(1) && s.contains(2) && !s.contains(3) && s.contains(4));
    }

    #[test]
    fn full_spool_deletes_oldest_first_but_not_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = limits();
        l.max_bytes = 100;
        l.segment_events = 1;
        let mut s = open(dir.path(), l);
        let line = [b'x'; 29].iter().chain(b"\n").copied().collect::<Vec<u8>>();
        for _ in 0..3 {
            s.push(&line);
        }
        assert_eq!((s.bytes(), s.counters.dropped_spool_full), (90, 0));
        s.in_flight = Some(1);
        s.push(&line);
        // 120 > 100: segment 2 goes, not 1 (in flight).
        assert_eq!((s.bytes(), s.counters.dropped_spool_full), (90, 1));
        assert!(s.contains(1) && !s.contains(2) && s.contains(3) && s.contains(4));
        assert!(!dir.path().join("000000000002.ndjson").exists());
        s.in_flight = None;
        s.push(&line);
        assert!(!s.contains(1));
        assert_eq!(s.counters.dropped_spool_full, 2);
    }

    #[test]
    fn reject_moves_and_counts() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = open(dir.path(), limits());
        for _ in 0..3 {
            s.push(b"{}\n");
        }
        s.close_open();
        for _ in 0..3 {
            s.push(b"[]\n");
        }
        let (seg, to) = s.reject(1, None, 3).unwrap();
        assert_eq!(seg.events, 3);
        assert_eq!(s.counters.rejected, 3);
        assert!(to.ends_with("rejected/000000000001.ndjson"));
        assert_eq!(fs::read_to_string(&to).unwrap(), "{}\n{}\n{}\n");
        // Part of a segment: only the refused lines are kept.
        let (_, to) = s.reject(2, Some(b"[]\n"), 1).unwrap();
        assert_eq!(fs::read_to_string(&to).unwrap(), "[]\n");
        assert_eq!(s.counters.rejected, 4);
        assert!(s.is_empty());
        assert_eq!(names(dir.path()), ["rejected"]);
    }
}
