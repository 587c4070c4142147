//! The fuzz targets' regression corpora, replayed on stable Rust in every test run.
//!
//! `scripts/fuzz.sh` fuzzes each target with cargo-fuzz and keeps the minimised corpus — every
//! input that reached new code, plus any that ever crashed — in `fuzz/regressions/<target>/`.
//! The harnesses are the very functions the fuzz targets call, so an input that once broke a
//! decoder breaks this test until the decoder is fixed. (Under cargo-fuzz the DNP3 CRC checks
//! accept anything, so the fuzzer reaches the layers above; here they check, and most DNP3
//! inputs stop at the link layer — the regressions still must not panic there.)

use std::path::Path;

#[path = "../fuzz/harness/baseline.rs"]
mod baseline;
#[path = "../fuzz/harness/csaf.rs"]
mod csaf;
#[path = "../fuzz/harness/dnp3.rs"]
mod dnp3;
#[path = "../fuzz/harness/dns.rs"]
mod dns;
#[path = "../fuzz/harness/goose.rs"]
mod goose;
#[path = "../fuzz/harness/http.rs"]
mod http;
#[path = "../fuzz/harness/modbus.rs"]
mod modbus;
#[path = "../fuzz/harness/pipeline.rs"]
mod pipeline;
#[path = "../fuzz/harness/rules.rs"]
mod rules_text;
#[path = "../fuzz/harness/s7comm.rs"]
mod s7comm;
#[path = "../fuzz/harness/streams.rs"]
mod streams;
#[path = "../fuzz/harness/tls.rs"]
mod tls;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = icsight_tests::root().join("fuzz/regressions").join(target);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 10,
        "{}: only {} inputs; regenerate with scripts/fuzz.sh",
        dir.display(),
        inputs.len()
    );
    for input in &inputs {
        let bytes = std::fs::read(input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        let outcome = std::panic::catch_unwind(|| run(&bytes));
        assert!(
            outcome.is_ok(),
            "{} panics (reproduce: cd fuzz && cargo fuzz run {target} {})",
            input.display(),
            Path::new("regressions")
                .join(target)
                .join(input.file_name().unwrap())
                .display()
        );
    }
}

#[test]
fn modbus_corpus() {
    replay("modbus", modbus::run);
}

#[test]
fn s7comm_corpus() {
    replay("s7comm", s7comm::run);
}

#[test]
fn dnp3_corpus() {
    replay("dnp3", dnp3::run);
}

#[test]
fn pipeline_corpus() {
    replay("pipeline", pipeline::run);
}

#[test]
fn baseline_corpus() {
    replay("baseline", baseline::run);
}

#[test]
fn rules_corpus() {
    replay("rules", rules_text::run);
}

#[test]
fn csaf_corpus() {
    replay("csaf", csaf::run);
}

#[test]
fn http_corpus() {
    replay("http", http::run);
}

#[test]
fn dns_corpus() {
    replay("dns", dns::run);
}

#[test]
fn tls_corpus() {
    replay("tls", tls::run);
}

#[test]
fn ssh_corpus() {
    replay("ssh", streams::ssh);
}

#[test]
fn ftp_corpus() {
    replay("ftp", streams::ftp);
}

#[test]
fn smtp_corpus() {
    replay("smtp", streams::smtp);
}

#[test]
fn enip_corpus() {
    replay("enip", streams::enip);
}

#[test]
fn iec104_corpus() {
    replay("iec104", streams::iec104);
}

#[test]
fn opcua_corpus() {
    replay("opcua", streams::opcua);
}

#[test]
fn mms_corpus() {
    replay("mms", streams::mms);
}

#[test]
fn goose_corpus() {
    replay("goose", goose::run);
}

#[test]
fn smb_corpus() {
    replay("smb", streams::smb);
}
