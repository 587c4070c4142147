//! PCRE2, for the expressions the linear engine cannot run: backreferences, look-around,
//! atomic groups, possessive quantifiers — what rule writers use because Suricata runs PCRE.
//!
//! A backtracking engine can be made to take exponential time, so every match runs with
//! PCRE2's match and depth limits, set as Suricata sets them (`pcre.match-limit` 3,500,
//! `pcre.match-limit-recursion` 1,500; `[rules]` in `sensor.toml` changes them). An expression
//! that hits a limit does not match, and the hit is counted ([`limit_hits`]), so the cost of
//! a pathological expression on a hostile buffer is bounded and seen.
//!
//! The `pcre2` crate offers no way to set those limits, so this is a thin wrapper of its
//! bindings (`pcre2-sys`): compiled code shared read-only between threads, and per thread one
//! match context and one match-data block, made once and reused, so a match allocates
//! nothing.

use std::cell::RefCell;
use std::ffi::c_int;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use pcre2_sys::{
    pcre2_code_8, pcre2_code_free_8, pcre2_compile_8, pcre2_get_error_message_8,
    pcre2_get_ovector_pointer_8, pcre2_jit_compile_8, pcre2_match_8, pcre2_match_context_8,
    pcre2_match_context_create_8, pcre2_match_context_free_8, pcre2_match_data_8,
    pcre2_match_data_create_8, pcre2_match_data_free_8, pcre2_set_depth_limit_8,
    pcre2_set_match_limit_8, PCRE2_ERROR_DEPTHLIMIT, PCRE2_ERROR_MATCHLIMIT, PCRE2_ERROR_NOMATCH,
    PCRE2_JIT_COMPLETE,
};

pub use pcre2_sys::{
    PCRE2_ANCHORED, PCRE2_CASELESS, PCRE2_DOLLAR_ENDONLY, PCRE2_DOTALL, PCRE2_EXTENDED,
    PCRE2_MULTILINE, PCRE2_UNGREEDY,
};

/// Suricata's `pcre.match-limit` default.
pub const MATCH_LIMIT: u32 = 3_500;
/// Suricata's `pcre.match-limit-recursion` default.
pub const DEPTH_LIMIT: u32 = 1_500;

static MATCH: AtomicU32 = AtomicU32::new(MATCH_LIMIT);
static DEPTH: AtomicU32 = AtomicU32::new(DEPTH_LIMIT);
static HITS: AtomicU64 = AtomicU64::new(0);
/// Bumped when the limits change, so each thread remakes its match context.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Set the limits every later match runs with.
pub fn set_limits(match_limit: u32, depth_limit: u32) {
    MATCH.store(match_limit.max(1), Ordering::Relaxed);
    DEPTH.store(depth_limit.max(1), Ordering::Relaxed);
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// Matches given up on a limit, over the process.
pub fn limit_hits() -> u64 {
    HITS.load(Ordering::Relaxed)
}

/// Capture pairs in the per-thread match data: the whole match is all that is read, and a
/// pattern with more groups still reports it.
const OVECTOR_PAIRS: u32 = 16;

/// One compiled expression.
#[derive(Debug)]
pub struct Backtracking {
    code: NonNull<pcre2_code_8>,
}

// SAFETY: PCRE2 compiled code (JIT included) is read-only once compiled and documented as safe
// to share between threads; each thread matches with its own match data and context.
unsafe impl Send for Backtracking {}
unsafe impl Sync for Backtracking {}

impl Drop for Backtracking {
    fn drop(&mut self) {
        // SAFETY: `code` came from `pcre2_compile_8` and is freed once, here.
        unsafe { pcre2_code_free_8(self.code.as_ptr()) }
    }
}

/// How a match ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The match ends at this offset.
    At(usize),
    No,
    /// A limit was hit: treated as no match, and counted.
    Limit,
}

impl Backtracking {
    /// Compile `pattern` with PCRE2 `options`, JIT-compiled where the platform allows; the
    /// error is PCRE2's message with the offset it points at.
    pub fn new(pattern: &str, options: u32) -> Result<Self, String> {
        let (mut code, mut offset): (c_int, usize) = (0, 0);
        // SAFETY: the pattern pointer and length describe a live buffer; the out-parameters
        // are valid; a null compile context means the defaults.
        let compiled = unsafe {
            pcre2_compile_8(
                pattern.as_ptr(),
                pattern.len(),
                options,
                &mut code,
                &mut offset,
                ptr::null_mut(),
            )
        };
        let Some(code_ptr) = NonNull::new(compiled) else {
            return Err(format!("{} at offset {offset}", message(code)));
        };
        // SAFETY: `code_ptr` is a valid compiled pattern. A JIT failure (no JIT on this
        // platform, or a pattern too large) leaves the interpreter, which is still limited.
        unsafe { pcre2_jit_compile_8(code_ptr.as_ptr(), PCRE2_JIT_COMPLETE) };
        Ok(Backtracking { code: code_ptr })
    }

    /// The end of the first match in `hay` at or after `from`.
    pub fn find(&self, hay: &[u8], from: usize) -> Found {
        if from > hay.len() {
            return Found::No;
        }
        SCRATCH.with(|s| {
            let mut s = s.borrow_mut();
            let Some(s) = s.ready() else {
                return Found::No;
            };
            // SAFETY: the code, match data and context are valid; the subject pointer and
            // length describe `hay`, and `from` is within it.
            let rc = unsafe {
                pcre2_match_8(
                    self.code.as_ptr(),
                    hay.as_ptr(),
                    hay.len(),
                    from,
                    0,
                    s.data.as_ptr(),
                    s.context.as_ptr(),
                )
            };
            match rc {
                rc if rc >= 0 => {
                    // SAFETY: after a match the ovector holds at least the whole match's pair.
                    let end = unsafe { *pcre2_get_ovector_pointer_8(s.data.as_ptr()).add(1) };
                    Found::At(end.min(hay.len()))
                }
                PCRE2_ERROR_NOMATCH => Found::No,
                PCRE2_ERROR_MATCHLIMIT | PCRE2_ERROR_DEPTHLIMIT => {
                    HITS.fetch_add(1, Ordering::Relaxed);
                    Found::Limit
                }
                // Any other error (heap limit, bad offset) is no match.
                _ => Found::No,
            }
        })
    }
}

/// A thread's match data and match context.
struct Scratch {
    data: NonNull<pcre2_match_data_8>,
    context: NonNull<pcre2_match_context_8>,
    generation: u64,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // SAFETY: both were made by PCRE2 for this scratch and are freed once, here.
        unsafe {
            pcre2_match_data_free_8(self.data.as_ptr());
            pcre2_match_context_free_8(self.context.as_ptr());
        }
    }
}

#[derive(Default)]
struct Slot(Option<Scratch>);

impl Slot {
    /// This thread's scratch, made (or remade, after the limits changed) on first use.
    fn ready(&mut self) -> Option<&Scratch> {
        let generation = GENERATION.load(Ordering::Relaxed);
        if self.0.as_ref().is_none_or(|s| s.generation != generation) {
            self.0 = None;
            // SAFETY: null general contexts mean PCRE2's own allocator.
            let data =
                NonNull::new(unsafe { pcre2_match_data_create_8(OVECTOR_PAIRS, ptr::null_mut()) })?;
            let Some(context) =
                NonNull::new(unsafe { pcre2_match_context_create_8(ptr::null_mut()) })
            else {
                // SAFETY: `data` was just made and is not used again.
                unsafe { pcre2_match_data_free_8(data.as_ptr()) };
                return None;
            };
            // SAFETY: `context` is a valid match context.
            unsafe {
                pcre2_set_match_limit_8(context.as_ptr(), MATCH.load(Ordering::Relaxed));
                pcre2_set_depth_limit_8(context.as_ptr(), DEPTH.load(Ordering::Relaxed));
            }
            self.0 = Some(Scratch {
                data,
                context,
                generation,
            });
        }
        self.0.as_ref()
    }
}

thread_local! {
    static SCRATCH: RefCell<Slot> = RefCell::new(Slot::default());
}

/// PCRE2's message for an error code.
fn message(code: c_int) -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer and its length are valid; PCRE2 writes a terminated message into it.
    let n = unsafe { pcre2_get_error_message_8(code, buf.as_mut_ptr(), buf.len()) };
    let n = usize::try_from(n).unwrap_or(0).min(buf.len());
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backreferences_and_look_around() {
        let b = Backtracking::new(r"(?P<q>['\x22])x(?P=q)", 0).unwrap();
        assert_eq!(b.find(b"a'x'", 0), Found::At(4));
        assert_eq!(b.find(b"a'x\"", 0), Found::No);
        let l = Backtracking::new(r"\.html(?!\?)", PCRE2_CASELESS).unwrap();
        assert_eq!(l.find(b"/A.HTML?x /b.html", 0), Found::At(17));
        assert!(Backtracking::new("(", 0).unwrap_err().contains("offset"));
    }

    #[test]
    fn a_catastrophic_pattern_stops_at_the_limit() {
        // (a+)+$ on a's followed by a mismatch backtracks exponentially without a limit.
        let b = Backtracking::new(r"^(a+)+$", 0).unwrap();
        let mut hay = vec![b'a'; 5_000];
        hay.push(b'!');
        let before = limit_hits();
        assert_eq!(b.find(&hay, 0), Found::Limit);
        assert!(limit_hits() > before);
        assert_eq!(b.find(b"aaaa", 0), Found::At(4));
    }
}
