#!/usr/bin/env bash
# Fuzz the decoders (ICS and IT), the whole pipeline, the rule loader and the advisory reader with
# cargo-fuzz (libFuzzer).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 600 s each, every target
#
# Each target starts from its corpus (seeded from pcaps/ by fuzz/seed.sh) plus the committed
# regression corpus fuzz/regressions/<target>/, runs for SECONDS on one core (two targets at a
# time on a 2-core machine: FUZZ_JOBS), then its corpus is minimised back into
# fuzz/regressions/<target>/, which `cargo test` replays on stable Rust
# (tests/fuzz_regressions.rs). Crashes land in fuzz/artifacts/<target>/ and fail the script.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(modbus s7comm dnp3 pipeline rules baseline csaf http dns tls ssh ftp smtp enip smb iec104 opcua mms goose)
jobs=${FUZZ_JOBS:-2}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1 # cargo-fuzz needs nightly flags (-Zsanitizer)

cd fuzz
[ -d corpus/mms ] || ./seed.sh
cargo fuzz build -O
mkdir -p logs

run() {
  local t=$1
  mkdir -p "corpus/$t" "regressions/$t" "artifacts/$t"
  cp "regressions/$t"/* "corpus/$t"/ 2>/dev/null || true
  cargo fuzz run -O "$t" "corpus/$t" -- \
    -max_total_time="$secs" -print_final_stats=1 >"logs/$t.log" 2>&1
}

pids=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
  run "$t" &
  pids+=($!)
done
status=0
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || status=1
done

for t in "${targets[@]}"; do
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || echo "?")
  crashes=$(find "artifacts/$t" -type f | wc -l)
  echo "$t: ${runs} executions in ${secs} s, ${crashes} crash artifacts"
  # The regression set becomes the smallest corpus with the coverage of everything found.
  cargo fuzz cmin -O "$t" "corpus/$t" >"logs/$t.cmin.log" 2>&1
  rm -rf "regressions/$t" && mkdir -p "regressions/$t"
  cp "corpus/$t"/* "regressions/$t/"
  cp "artifacts/$t"/* "regressions/$t/" 2>/dev/null || true
  [ "$crashes" -eq 0 ] || status=1
done
exit $status
