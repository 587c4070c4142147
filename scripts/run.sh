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
