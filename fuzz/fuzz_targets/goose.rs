//! cargo-fuzz entry point; the harness is `harness/goose.rs`, shared with the regression
//! replay in `tests/fuzz_regressions.rs`.
#![no_main]

#[path = "../harness/goose.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::run(data));
