#!/usr/bin/env bash
# Every test: formatting, lints, unit tests, conformance against tshark on the public corpus in
# ../shared/pcaps, live capture on a veth pair (needs root), benchmarks compiled.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace --no-fail-fast
