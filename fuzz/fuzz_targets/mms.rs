//! cargo-fuzz entry point; the harness is `harness/streams.rs`, shared with the regression
//! replay in `tests/fuzz_regressions.rs`.
#![no_main]

#[path = "../harness/streams.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::mms(data));
