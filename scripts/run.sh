#!/usr/bin/env bash
# The main job, end to end on the bundled captures: build the sensor, replay every capture in
# pcaps/ with the example sensor.toml, and write EVE JSON to out/eve.json.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --quiet -p icsight-sensor
mkdir -p out
./target/release/sensor replay pcaps/ --config sensor.toml --eve out/eve.json
echo
echo "events by type in out/eve.json:"
grep -o '"event_type":"[a-z0-9_]*"' out/eve.json | sort | uniq -c | sed 's/"event_type"://'

# Anomaly baseline: learn the plant's normal behaviour from one recording, print the asset
# inventory, then replay the attack recording against it.
./target/release/sensor learn pcaps/baseline_normal_a.pcap --fresh --no-progress \
  --config sensor.toml --out out/baseline.json
echo
./target/release/sensor assets out/baseline.json
./target/release/sensor replay pcaps/baseline_attack.pcap --config sensor.toml \
  --baseline out/baseline.json --eve out/eve-attack.json --no-progress
echo
echo "anomaly alerts in out/eve-attack.json (time, host, event, message):"
grep '"anomaly":{"type":"baseline"' out/eve-attack.json |
  sed -E 's/.*"timestamp":"[0-9-]+T([0-9:]+)\.[0-9]+.*"event":"([a-z_]+)".*"host":"([^"]+)".*"message":"([^"]*)".*/  \1  \3  \2: \4/'
