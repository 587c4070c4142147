#!/usr/bin/env bash
# Throughput of the whole sensor (release build) on the shared benchmark capture
# (../shared/bench: ~1 M packets, Modbus/TCP with HTTP/1.1 and TCP noise), replayed with:
#   - no rules;
#   - the 303 rules of ../shared/bench/ics.rules;
#   - all of Emerging Threats Open (../shared/rulesets/et-open-2020-05).
# For each: wall time, packets/s, peak RSS, alerts, and the ruleset's prefilter counts.
# The capture is generated under target/ on first use (about a minute), never committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p icsight-sensor
S=./target/release/sensor
bench=${ICSIGHT_SHARED:-../shared}/bench
et=${ICSIGHT_SHARED:-../shared}/rulesets/et-open-2020-05
pcap=target/bench/bench.pcap
if [[ ! -s $pcap ]]; then
  mkdir -p target/bench
  python3 "$bench/gen_modbus_pcap.py" -o "$pcap"
fi
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
printf '[sensor]\nid = "bench"\n[eve]\nflow = false\n' >"$W/bench.toml"
: >"$W/none.rules"
run() { # label rules
  local label=$1 rules=$2
  echo "== $label"
  $S rules check --config "$W/bench.toml" "$rules" 2>&1 | grep '^rules:' || true
  /usr/bin/time -f "peak RSS %M KB" $S replay --no-progress --config "$W/bench.toml" \
    --rules "$rules" --eve "$W/eve.json" "$pcap" 2>&1 | grep -E '^replayed|^rules:|peak RSS'
  echo "alerts: $(grep -c '"event_type":"alert"' "$W/eve.json" || true)"
}
run "no rules" "$W/none.rules"
run "ics.rules (303)" "$bench/ics.rules"
run "ET Open 2020-05 (21,128)" "$et"
