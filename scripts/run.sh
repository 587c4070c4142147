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

# The provincial collector: a private ClickHouse (out/clickhouse), a CA and credentials, the
# collector over mutual TLS, and the sensor replaying every capture again with its uplink on.
# Then an analyst's view through the query API.
cargo build --release --quiet -p icsight-collector
ch_dir=out/clickhouse
collector=./target/release/collector
scripts/clickhouse.sh stop "$ch_dir" 2>/dev/null || true
ch_url=$(scripts/clickhouse.sh start "$ch_dir")
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  scripts/clickhouse.sh stop "$ch_dir"
}
trap cleanup EXIT
rm -rf out/collector out/spool
mkdir -p out/collector
$collector pki init out/collector/pki >/dev/null
$collector pki sensor out/collector/pki demo-plant-s01 >/dev/null
analyst_token=$($collector token | awk '/^token /{print $2}')
analyst_sha=$(printf %s "$analyst_token" | sha256sum | cut -d' ' -f1)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >out/collector/collector.toml <<TOML
[server]
listen = "127.0.0.1:$port"
cert = "out/collector/pki/server.pem"
key = "out/collector/pki/server.key"
client_ca = "out/collector/pki/ca.pem"
[clickhouse]
url = "$ch_url"
database = "icsight"
[storage]
retention_days = 0        # the bundled captures keep their recording times
rollup_retention_days = 0
[[sensors]]
id = "demo-plant-s01"
enterprise_id = "91330100MA27XY1235"
province = "330000"
industry = "petrochemical"
grade = 2
[[accounts]]
name = "zhejiang-soc"
role = "analyst"
token_sha256 = "$analyst_sha"
token_expires = "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)"
province = "330000"
TOML
$collector migrate --config out/collector/collector.toml
RUST_LOG=warn $collector serve --config out/collector/collector.toml &
serve_pid=$!
url="https://127.0.0.1:$port"
for _ in $(seq 1 100); do
  curl -fsS --cacert out/collector/pki/ca.pem "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
{
  # sensor.toml without its (empty) [uplink] section, then this one.
  awk '/^\[/{skip = ($1 == "[uplink]")} !skip' sensor.toml
  cat <<TOML

[uplink]
url = "$url"
ca = "out/collector/pki/ca.pem"
cert = "out/collector/pki/sensors/demo-plant-s01.pem"
key = "out/collector/pki/sensors/demo-plant-s01.key"
spool_dir = "out/spool"
TOML
} >out/sensor-uplink.toml
echo
./target/release/sensor replay pcaps/ --config out/sensor-uplink.toml --eve out/eve-uplink.json --no-progress
./target/release/sensor replay pcaps/baseline_attack.pcap --config out/sensor-uplink.toml \
  --baseline out/baseline.json --eve out/eve-uplink-attack.json --no-progress
q() { curl -fsS --cacert out/collector/pki/ca.pem -H "Authorization: Bearer $analyst_token" "$url$1"; }
echo
echo "ClickHouse holds (collector $url, database icsight):"
for t in alerts anomalies flows transactions assets sensor_stats; do
  printf '  %-13s %s\n' "$t" "$(curl -fsS "$ch_url/" --data-binary "SELECT count() FROM icsight.$t")"
done
echo
echo "analyst: hourly alerts by severity (GET /v1/rollup?step=1h&by=severity):"
q "/v1/rollup?from=0&step=1h&by=severity" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); [print("  severity", s["key"], sum(p["alerts"] for p in s["points"]), "alerts") for s in d["series"]]'
echo "analyst: the five most severe alerts (GET /v1/alerts?sort=severity&format=csv):"
q "/v1/alerts?from=0&sort=severity&limit=5&format=csv" | cut -d, -f1,8,10,14,15,16,18 | sed 's/^/  /'
