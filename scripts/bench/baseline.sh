#!/usr/bin/env bash
# Time and peak memory of baseline learning and detection (release build):
#   - learning on the largest capture of the public corpus;
#   - replay of it without and with --baseline;
#   - learning on a generated flat network of 50,000 Modbus pairs, with the default caps and
#     with caps raised to hold every pair.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet -p icsight-sensor
S=./target/release/sensor
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
big=${ICSIGHT_BENCH_PCAP:-../shared/pcaps/modbus/Modbus_dataset-CSET16/channel_5d_3s.pcap}
printf '[sensor]\nid = "bench"\n' >"$W/default.toml"
printf '[sensor]\nid = "bench"\n[baseline]\nmax_pairs = 100000\nmax_assets = 200000\n' >"$W/raised.toml"
measure() { # label, command...
  local label=$1
  shift
  /usr/bin/time -f "$label: %e s wall, %M KB peak RSS" "$@" 2>&1 >/dev/null | grep -E "peak RSS|learned|baseline:"
}
echo "== $big"
measure "learn" $S learn "$big" --out "$W/big.json" --fresh --no-progress --config "$W/default.toml"
measure "replay" $S replay "$big" --eve /dev/null --no-progress --config "$W/default.toml"
measure "replay --baseline" $S replay "$big" --eve /dev/null --no-progress --config "$W/default.toml" --baseline "$W/big.json"
echo "== 50,000 Modbus pairs, 3 polls each"
python3 scripts/bench/many_pairs.py "$W/many.pcap" 50000 3
measure "learn, default caps" $S learn "$W/many.pcap" --out "$W/many.json" --fresh --no-progress --config "$W/default.toml"
measure "learn, caps raised" $S learn "$W/many.pcap" --out "$W/many2.json" --fresh --no-progress --config "$W/raised.toml"
