#!/usr/bin/env bash
# Every test: formatting, lints, the dependency graph (licences, sources), unit tests,
# conformance against tshark on the public corpus in ../shared/pcaps, live capture on a veth
# pair (needs root), benchmarks compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The dependency graph: licences, bans and sources (deny.toml). Advisories need the RustSec
# database from GitHub, which CI cannot reach; run `cargo deny check advisories` where it can.
command -v cargo-deny >/dev/null || cargo install --locked --quiet cargo-deny@0.20.2
cargo deny --log-level error check bans licenses sources
cargo test --workspace --no-fail-fast
