//! TCP stream reassembly, one direction at a time.
//!
//! A [`Stream`] turns segments into the in-order byte stream an application parser reads.
//!
//! * **In order** (the common case): the segment's bytes are handed on straight from the packet,
//!   with no copy and no allocation.
//! * **Out of order**: a copy waits in a queue sorted by sequence number until the hole before it
//!   fills.
//! * **Overlaps and retransmissions**: the first copy of a byte wins. Bytes already delivered, or
//!   already queued, are never replaced by a later copy; a later copy that disagrees with a queued
//!   one is counted as `overlap_diff` (a classic evasion).
//! * **Gaps**: when a direction's queue passes its cap, or the global reassembly memcap is
//!   reached, or the flow ends, the hole before the first queued segment is given up. The parser
//!   is told its length ([`Chunk::Gap`]) and delivery resumes after it.

use std::collections::VecDeque;

/// What a stream hands to its consumer.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// In-order bytes.
    Data(&'a [u8]),
    /// This many bytes were lost.
    Gap(u32),
}

/// Reassembly memory shared by all flows.
#[derive(Debug)]
pub struct Budget {
    pub used: usize,
    pub cap: usize,
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ReassemblyStats {
    /// Segments delivered straight from the packet.
    pub in_order: u64,
    /// Segments queued out of order.
    pub queued: u64,
    /// Segments entirely made of bytes already delivered or queued.
    pub retransmissions: u64,
    /// Segments partly made of bytes already delivered or queued.
    pub overlaps: u64,
    /// Overlapping bytes that differed from the first copy.
    pub overlap_diff: u64,
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Gaps forced by the per-direction queue cap.
    pub queue_cap_reached: u64,
    /// Gaps forced by the global memcap.
    pub memcap_reached: u64,
}

struct Segment {
    seq: u32,
    data: Box<[u8]>,
}

impl Segment {
    fn end(&self) -> u32 {
        self.seq.wrapping_add(self.data.len() as u32)
    }
}

/// `a - b` in sequence space.
fn diff(a: u32, b: u32) -> i64 {
    i64::from(a.wrapping_sub(b) as i32)
}

/// One direction of a TCP connection.
#[derive(Default)]
pub struct Stream {
    /// Next sequence number to deliver; meaningful once `synced`.
    next: u32,
    /// The sequence number of the stream's first data byte.
    first: u32,
    synced: bool,
    queue: VecDeque<Segment>,
    queued_bytes: usize,
}

impl Stream {
    /// Start the stream at `seq`, the sequence number of its first data byte (SYN + 1).
    pub fn start(&mut self, seq: u32) {
        if !self.synced {
            self.next = seq;
            self.first = seq;
            self.synced = true;
        }
    }

    /// Bytes delivered in order since the stream started (sequence space, so 4 GiB wraps).
    pub fn delivered(&self) -> Option<u64> {
        self.synced
            .then(|| u64::from(self.next.wrapping_sub(self.first)))
    }

    pub fn is_started(&self) -> bool {
        self.synced
    }

    /// Bytes held in the out-of-order queue.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Take one segment. A stream that saw no SYN starts at its first segment (mid-stream
    /// pickup).
    pub fn segment(
        &mut self,
        seq: u32,
        data: &[u8],
        max_queued: usize,
        budget: &mut Budget,
        stats: &mut ReassemblyStats,
        out: &mut impl FnMut(Chunk<'_>),
    ) {
        if data.is_empty() {
            return;
        }
        self.start(seq);
        loop {
            let off = diff(seq, self.next);
            let end = off + data.len() as i64;
            if end <= 0 {
                stats.retransmissions += 1;
                return;
            }
            if off <= 0 {
                if off < 0 {
                    stats.overlaps += 1;
                }
                stats.in_order += 1;
                let fresh = &data[(-off) as usize..];
                self.next = self.next.wrapping_add(fresh.len() as u32);
                out(Chunk::Data(fresh));
                self.drain(budget, stats, out);
                return;
            }
            // Out of order: queue it, unless that breaks a cap; then give up the first hole and
            // try again (the loop ends: each round either queues or delivers queued data, or the
            // queue is empty and the segment itself becomes in order).
            let want = data.len();
            let over_flow = self.queued_bytes + want > max_queued;
            let over_global = budget.used + want > budget.cap;
            if over_flow || over_global {
                if over_flow {
                    stats.queue_cap_reached += 1;
                } else {
                    stats.memcap_reached += 1;
                }
                // Give up the hole before the earliest byte we hold (queued or this segment).
                let target = match self.queue.front() {
                    Some(first) if diff(first.seq, seq) < 0 => first.seq,
                    _ => seq,
                };
                self.skip_to(target, stats, out);
                self.drain(budget, stats, out);
                continue;
            }
            self.insert(seq, data, budget, stats);
            stats.queued += 1;
            return;
        }
    }

    /// The flow is ending: deliver whatever is queued, declaring the holes between as gaps.
    pub fn flush(
        &mut self,
        budget: &mut Budget,
        stats: &mut ReassemblyStats,
        out: &mut impl FnMut(Chunk<'_>),
    ) {
        while let Some(first) = self.queue.front() {
            let target = first.seq;
            self.skip_to(target, stats, out);
            self.drain(budget, stats, out);
        }
    }

    /// Free the queue without delivering it.
    pub fn clear(&mut self, budget: &mut Budget) {
        budget.used -= self.queued_bytes;
        self.queued_bytes = 0;
        self.queue = VecDeque::new();
    }

    fn skip_to(&mut self, seq: u32, stats: &mut ReassemblyStats, out: &mut impl FnMut(Chunk<'_>)) {
        let hole = diff(seq, self.next);
        if hole > 0 {
            stats.gaps += 1;
            stats.gap_bytes += hole as u64;
            out(Chunk::Gap(hole as u32));
            self.next = seq;
        }
    }

    /// Deliver queued segments that the stream has caught up with.
    fn drain(
        &mut self,
        budget: &mut Budget,
        stats: &mut ReassemblyStats,
        out: &mut impl FnMut(Chunk<'_>),
    ) {
        while let Some(first) = self.queue.front() {
            let off = diff(first.seq, self.next);
            if off > 0 {
                return;
            }
            let seg = self.queue.pop_front().expect("front exists");
            self.queued_bytes -= seg.data.len();
            budget.used -= seg.data.len();
            let skip = (-off) as usize;
            if skip < seg.data.len() {
                let fresh = &seg.data[skip..];
                self.next = self.next.wrapping_add(fresh.len() as u32);
                out(Chunk::Data(fresh));
            } else {
                stats.retransmissions += 1;
            }
        }
    }

    /// Queue the parts of `[seq, seq + data.len())` not already queued (first copy wins).
    fn insert(&mut self, seq: u32, data: &[u8], budget: &mut Budget, stats: &mut ReassemblyStats) {
        let end = seq.wrapping_add(data.len() as u32);
        let mut cur = seq;
        let mut i = 0;
        let mut overlapped = false;
        while i < self.queue.len() && diff(cur, end) < 0 {
            let (q_seq, q_end) = (self.queue[i].seq, self.queue[i].end());
            if diff(q_end, cur) <= 0 {
                i += 1;
                continue;
            }
            if diff(q_seq, end) >= 0 {
                break;
            }
            if diff(q_seq, cur) > 0 {
                // New bytes before this queued segment.
                let piece = &data[diff(cur, seq) as usize..diff(q_seq, seq) as usize];
                self.push_at(i, cur, piece, budget);
                i += 1;
                cur = q_seq;
            }
            // [cur, min(q_end, end)) is already queued: keep the first copy, compare.
            let stop = if diff(q_end, end) < 0 { q_end } else { end };
            let ours = &data[diff(cur, seq) as usize..diff(stop, seq) as usize];
            let q = &self.queue[i];
            let theirs = &q.data[diff(cur, q.seq) as usize..diff(stop, q.seq) as usize];
            overlapped = true;
            if ours != theirs {
                stats.overlap_diff += 1;
            }
            cur = stop;
            i += 1;
        }
        if diff(cur, end) < 0 {
            let piece = &data[diff(cur, seq) as usize..];
            self.push_at(i, cur, piece, budget);
        }
        if overlapped {
            stats.overlaps += 1;
        }
    }

    fn push_at(&mut self, i: usize, seq: u32, piece: &[u8], budget: &mut Budget) {
        self.queued_bytes += piece.len();
        budget.used += piece.len();
        self.queue.insert(
            i,
            Segment {
                seq,
                data: piece.into(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    struct Harness {
        stream: Stream,
        budget: Budget,
        stats: ReassemblyStats,
        got: Vec<u8>,
        gaps: Vec<u32>,
    }

    impl Harness {
        fn new(isn: u32, cap: usize) -> Self {
            let mut stream = Stream::default();
            stream.start(isn);
            Harness {
                stream,
                budget: Budget { used: 0, cap },
                stats: Default::default(),
                got: Vec::new(),
                gaps: Vec::new(),
            }
        }

        fn seg(&mut self, seq: u32, data: &[u8]) {
            let (got, gaps) = (&mut self.got, &mut self.gaps);
            self.stream.segment(
                seq,
                data,
                1 << 20,
                &mut self.budget,
                &mut self.stats,
                &mut |c| match c {
                    Chunk::Data(d) => got.extend_from_slice(d),
                    Chunk::Gap(n) => gaps.push(n),
                },
            );
        }

        fn flush(&mut self) {
            let (got, gaps) = (&mut self.got, &mut self.gaps);
            self.stream
                .flush(&mut self.budget, &mut self.stats, &mut |c| match c {
                    Chunk::Data(d) => got.extend_from_slice(d),
                    Chunk::Gap(n) => gaps.push(n),
                });
        }
    }

    #[test]
    fn in_order_and_reordered() {
        let mut h = Harness::new(1000, 1 << 20);
        h.seg(1000, b"abc");
        h.seg(1006, b"ghi");
        h.seg(1003, b"def");
        assert_eq!(h.got, b"abcdefghi");
        assert_eq!(h.budget.used, 0);
    }

    #[test]
    fn first_copy_wins() {
        let mut h = Harness::new(0, 1 << 20);
        h.seg(4, b"EFGH");
        h.seg(2, b"xxyyZZ"); // overlaps the queued "EF" with different bytes
        h.seg(0, b"AB");
        assert_eq!(h.got, b"ABxxEFGH");
        assert_eq!(h.stats.overlap_diff, 1);
        h.seg(0, b"QQQQ"); // all delivered already
        assert_eq!(h.stats.retransmissions, 1);
        h.seg(6, b"zzIJ"); // the delivered prefix is dropped, the tail is new
        assert_eq!(h.got, b"ABxxEFGHIJ");
    }

    #[test]
    fn gap_on_per_direction_cap() {
        let mut h = Harness::new(0, 1 << 20);
        let mut got = Vec::new();
        let mut gaps = Vec::new();
        let mut out = |c: Chunk<'_>| match c {
            Chunk::Data(d) => got.extend_from_slice(d),
            Chunk::Gap(n) => gaps.push(n),
        };
        let (b, st) = (&mut h.budget, &mut h.stats);
        h.stream.segment(10, b"abcdef", 8, b, st, &mut out);
        h.stream.segment(20, b"uvwxyz", 8, b, st, &mut out); // 12 > 8 queued: give up 0..10
        assert_eq!(gaps, vec![10]);
        assert_eq!(got, b"abcdef");
        assert_eq!(h.stream.queued_bytes(), 6);
        assert_eq!(h.stats.queue_cap_reached, 1);
    }

    #[test]
    fn queued_segment_straddling_the_delivery_point() {
        let mut h = Harness::new(0, 1 << 20);
        h.seg(4, b"EFGH");
        h.seg(0, b"ABCDEF"); // in order, and covers half of the queued segment
        assert_eq!(h.got, b"ABCDEFGH");
        assert_eq!(h.budget.used, 0);
    }

    #[test]
    fn wraps_sequence_space() {
        let mut h = Harness::new(u32::MAX - 2, 1 << 20);
        h.seg(1, b"EF");
        h.seg(u32::MAX - 2, b"ABC");
        h.seg(u32::MAX - 2, b"ABCD");
        assert_eq!(h.got, b"ABCDEF");
    }

    #[test]
    fn gap_on_global_memcap_and_flush() {
        let mut h = Harness::new(0, 4);
        h.seg(10, b"klmn");
        h.seg(20, b"uv"); // over the budget: the hole 0..10 is given up
        assert_eq!(h.gaps, vec![10]);
        assert_eq!(h.got, b"klmn");
        h.flush();
        assert_eq!(h.gaps, vec![10, 6]);
        assert_eq!(h.got, b"klmnuv");
        assert_eq!(h.budget.used, 0);
    }

    #[test]
    fn shuffled_duplicated_overlapping_bytes() {
        let text: Vec<u8> = (0..2000u32).map(|i| (i * 7 % 251) as u8).collect();
        for seed in 0..50 {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let isn: u32 = rng.gen();
            let mut segs: Vec<(u32, Vec<u8>)> = Vec::new();
            for i in 0..text.len() {
                segs.push((isn.wrapping_add(i as u32), text[i..=i].to_vec()));
                if rng.gen_bool(0.2) {
                    let len = rng.gen_range(1..20).min(text.len() - i);
                    segs.push((isn.wrapping_add(i as u32), text[i..i + len].to_vec()));
                }
            }
            segs.shuffle(&mut rng);
            let mut h = Harness::new(isn, 1 << 20);
            for (s, d) in &segs {
                h.seg(*s, d);
            }
            assert_eq!(h.got, text, "seed {seed}");
            assert!(h.gaps.is_empty());
            assert_eq!(h.budget.used, 0);
        }
    }
}
