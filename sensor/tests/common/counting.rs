//! A global allocator that counts allocations, for the tests that prove the per-packet path
//! allocates nothing. A test binary installs it with
//! `#[global_allocator] static GLOBAL: Counting = Counting;`. Only allocations made inside
//! [`counted`] on its own thread are counted, so tests running beside it do not disturb it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    /// Allocations on this thread while counting, or `None` when not counting.
    static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
}

fn count() {
    // `try_with`: the allocator may run while the thread's locals are being torn down.
    let _ = COUNT.try_with(|c| c.set(c.get().map(|n| n + 1)));
}

/// Run `f` and return what it returns with the allocations it made on this thread.
pub fn counted<R>(f: impl FnOnce() -> R) -> (R, u64) {
    COUNT.with(|c| c.set(Some(0)));
    let r = f();
    let n = COUNT.with(|c| c.replace(None)).unwrap_or(0);
    (r, n)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `alloc` and `dealloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Feed `frames` (Ethernet, 100 µs apart) to a fresh pipeline with the default configuration;
/// return it and the allocations made while the frames after the first `warm_up` went through.
/// The warm-up covers what a flow allocates once: its slot, detection, the first split PDU.
pub fn allocations_after_warm_up(frames: &[Vec<u8>], warm_up: usize) -> (sensor::Pipeline, u64) {
    allocations_with_rules(frames, warm_up, None)
}

/// [`allocations_after_warm_up`] with `ruleset` loaded, so that matching and alerts are counted
/// too.
#[allow(dead_code)]
pub fn allocations_with_rules(
    frames: &[Vec<u8>],
    warm_up: usize,
    ruleset: Option<std::sync::Arc<rules::Ruleset>>,
) -> (sensor::Pipeline, u64) {
    allocations_with(frames, warm_up, ruleset, None)
}

/// [`allocations_with_rules`] with a baseline watch (learning or detecting) on.
pub fn allocations_with(
    frames: &[Vec<u8>],
    warm_up: usize,
    ruleset: Option<std::sync::Arc<rules::Ruleset>>,
    watch: Option<sensor::baseline::Watch>,
) -> (sensor::Pipeline, u64) {
    use icsight_eve::Timestamp;
    use sensor::eve::EveWriter;
    let config = sensor::Config::unregistered();
    let eve = EveWriter::new(Box::new(std::io::sink()), &config.sensor);
    let mut pipeline = sensor::Pipeline::new(&config, eve);
    if let Some(r) = ruleset {
        pipeline.detect().replace_initial(r, 0);
    }
    if let Some(w) = watch {
        pipeline.set_watch(w);
    }
    pipeline.begin_capture(sensor::decode::LinkType::Ethernet, "test");
    let mut ts = 1_700_000_000_000_000u64;
    let (first, rest) = frames.split_at(warm_up.min(frames.len()));
    for f in first {
        ts += 100;
        pipeline.packet(Timestamp(ts), f, f.len() as u32);
    }
    let ((), n) = counted(|| {
        for f in rest {
            ts += 100;
            pipeline.packet(Timestamp(ts), f, f.len() as u32);
        }
    });
    (pipeline, n)
}
