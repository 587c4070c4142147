#!/usr/bin/env bash
# The main job, end to end on the bundled captures: build the sensor, replay every capture in
# pcaps/ with the example sensor.toml, and write EVE JSON to out/eve.json; then the tiers, fed
# by the sensor, left serving their pages until Ctrl-C (`--no-serve`: stop at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
keep_serving=1
for arg in "$@"; do
  case "$arg" in
    --no-serve) keep_serving=0 ;;
    *) echo "usage: scripts/run.sh [--no-serve]" >&2; exit 2 ;;
  esac
done
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

# The tiers: a private ClickHouse (out/clickhouse) holding a national, a provincial and an
# enterprise database; a national collector, the Zhejiang provincial collector reporting to it
# over mutual TLS, the demo plant's own (enterprise-tier) collector relaying to the province,
# and the sensor replaying every capture again with its uplink to the plant's collector. Then
# an analyst's view at the province, the regulator's at the national tier, and a national
# threat bulletin down to the plant and its handling back up.
cargo build --release --quiet -p icsight-collector
ch_dir=out/clickhouse
collector=./target/release/collector
scripts/clickhouse.sh stop "$ch_dir" 2>/dev/null || true
ch_url=$(scripts/clickhouse.sh start "$ch_dir")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  scripts/clickhouse.sh stop "$ch_dir"
}
trap cleanup EXIT
rm -rf out/collector out/national out/site out/spool out/bulletins
# Each run starts from empty databases: a second run shows its own figures, not the sum.
for db in national icsight demo_plant; do
  curl -fsS "$ch_url/" --data-binary "DROP DATABASE IF EXISTS $db" >/dev/null
done
mkdir -p out/collector out/national out/site
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
new_token() { $collector token | awk '/^token /{print $2}'; }
sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }
expires=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
# Demo logins for the pages: the same password for every account of the run.
demo_password=icsight-demo-2026
demo_hash=$(printf '%s\n' "$demo_password" | $collector password | sed -E 's/^password_argon2 = "(.*)"$/\1/')
account() { # name role token province [enterprise]
  printf '[[accounts]]\nname = "%s"\nrole = "%s"\ntoken_sha256 = "%s"\ntoken_expires = "%s"\nprovince = "%s"\nenterprise_id = "%s"\npassword_argon2 = "%s"\n' \
    "$1" "$2" "$(sha "$3")" "$expires" "$4" "${5:-}" "$demo_hash"
}
server() { # dir port database
  printf '[server]\nlisten = "127.0.0.1:%s"\ncert = "%s/pki/server.pem"\nkey = "%s/pki/server.key"\nclient_ca = "%s/pki/ca.pem"\ncrl = "%s/pki/crl.pem"\n' \
    "$2" "$1" "$1" "$1" "$1"
  printf '[clickhouse]\nurl = "%s"\ndatabase = "%s"\n' "$ch_url" "$3"
  # The bundled captures keep their recording times: nothing is dropped for age.
  printf '[storage]\nretention_days = 0\nrollup_retention_days = 0\n'
}
serve() { # dir url
  $collector migrate --config "$1/collector.toml" >/dev/null
  RUST_LOG=warn $collector serve --config "$1/collector.toml" &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS --cacert "$1/pki/ca.pem" "$2/healthz" >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "collector in $1 did not start" >&2
  exit 1
}

# National: the provincial collector is known by the certificate the national CA issues it.
$collector pki init out/national/pki >/dev/null
$collector pki sensor out/national/pki zj-collector >/dev/null
regulator_token=$(new_token)
admin_token=$(new_token)
nport=$(free_port)
nurl="https://127.0.0.1:$nport"
{
  server out/national "$nport" national
  printf '[tier]\nrole = "national"\nid = "national"\nregistry_refresh_s = 2\n'
  printf '[[collectors]]\nid = "zj-collector"\nprovince = "330000"\n'
  account national-regulator regulator "$regulator_token" ""
  account national-admin admin "$admin_token" ""
} >out/national/collector.toml
serve out/national "$nurl"

# Zhejiang: the plant's collector by the certificate the province issues it, the enterprise
# registry from CSV.
$collector pki init out/collector/pki >/dev/null
$collector pki sensor out/collector/pki demo-plant-collector >/dev/null
analyst_token=$(new_token)
port=$(free_port)
url="https://127.0.0.1:$port"
{
  server out/collector "$port" icsight
  printf '[[collectors]]\nid = "demo-plant-collector"\nprovince = "330000"\nenterprise_id = "91330100MA27XY1235"\n'
  printf '[tier]\nrole = "provincial"\nid = "zj-collector"\nprovince = "330000"\nregistry_refresh_s = 2\n'
  printf '[upstream]\nrollup_interval_s = 2\ninventory_interval_s = 2\nbulletin_poll_s = 1\n'
  printf '[upstream.link]\nurl = "%s"\nca = "out/national/pki/ca.pem"\ncert = "out/national/pki/sensors/zj-collector.pem"\nkey = "out/national/pki/sensors/zj-collector.key"\nspool_dir = "out/collector/upstream"\n' "$nurl"
  account zhejiang-soc analyst "$analyst_token" 330000
} >out/collector/collector.toml
cat >out/collector/registry.csv <<CSV
enterprise_id,name,province,industry,grade
91330100MA27XY1235,Demo Petrochemical Works,330000,petrochemical,2
91330200MA2AB3CD4G,Ningbo Machine Works,330000,machinery,2
CSV
$collector migrate --config out/collector/collector.toml >/dev/null
$collector registry import --config out/collector/collector.toml out/collector/registry.csv
serve out/collector "$url"

# The demo plant's collector (enterprise tier): its sensor by its certificate, everything
# relayed whole to the province, bulletins handled here.
$collector pki init out/site/pki >/dev/null
$collector pki sensor out/site/pki demo-plant-s01 >/dev/null
plant_token=$(new_token)
sport=$(free_port)
surl="https://127.0.0.1:$sport"
{
  server out/site "$sport" demo_plant
  printf '[[sensors]]\nid = "demo-plant-s01"\nenterprise_id = "91330100MA27XY1235"\nprovince = "330000"\nindustry = "petrochemical"\ngrade = 2\n'
  printf '[tier]\nrole = "enterprise"\nid = "demo-plant-collector"\nprovince = "330000"\nenterprise_id = "91330100MA27XY1235"\nregistry_refresh_s = 2\n'
  printf '[upstream]\nrollup_interval_s = 2\ninventory_interval_s = 2\nbulletin_poll_s = 1\n'
  printf '[upstream.link]\nurl = "%s"\nca = "out/collector/pki/ca.pem"\ncert = "out/collector/pki/sensors/demo-plant-collector.pem"\nkey = "out/collector/pki/sensors/demo-plant-collector.key"\nspool_dir = "out/site/upstream"\n' "$url"
  printf '[hazards]\nscan_interval_s = 2\n'
  account plant-engineer admin "$plant_token" 330000 91330100MA27XY1235
} >out/site/collector.toml
head -2 out/collector/registry.csv >out/site/registry.csv
$collector migrate --config out/site/collector.toml >/dev/null
$collector registry import --config out/site/collector.toml out/site/registry.csv
serve out/site "$surl"
{
  # sensor.toml without its (empty) [uplink] and [bulletins] sections, then these.
  awk '/^\[/{skip = ($1 == "[uplink]" || $1 == "[bulletins]")} !skip' sensor.toml
  cat <<TOML

[uplink]
url = "$surl"
ca = "out/site/pki/ca.pem"
cert = "out/site/pki/sensors/demo-plant-s01.pem"
key = "out/site/pki/sensors/demo-plant-s01.key"
spool_dir = "out/spool"

[bulletins]
dir = "out/bulletins"
TOML
} >out/sensor-uplink.toml
echo
./target/release/sensor replay pcaps/ --config out/sensor-uplink.toml --eve out/eve-uplink.json --no-progress
./target/release/sensor replay pcaps/baseline_attack.pcap --config out/sensor-uplink.toml \
  --baseline out/baseline.json --eve out/eve-uplink-attack.json --no-progress
# The S7 CPU of the Snap7 capture, judged against the baseline: its identity (order number,
# firmware) reaches the plant's inventory, which the advisories are matched against below.
./target/release/sensor replay pcaps/s7comm_snap7.pcap --config out/sensor-uplink.toml \
  --baseline out/baseline.json --eve out/eve-uplink-s7.json --no-progress
q() { curl -fsS --cacert out/collector/pki/ca.pem -H "Authorization: Bearer $analyst_token" "$url$1"; }
plant() { curl -fsS --cacert out/site/pki/ca.pem -H "Authorization: Bearer $plant_token" "$surl$1"; }
# The plant's collector relays what its sensor sent; wait until the province holds all of it.
chq() { curl -fsS "$ch_url/" --data-binary "$1"; }
for _ in $(seq 1 240); do
  [ "$(chq 'SELECT count() FROM icsight.alerts')" = "$(chq 'SELECT count() FROM demo_plant.alerts')" ] &&
    [ "$(chq 'SELECT count() FROM icsight.flows')" = "$(chq 'SELECT count() FROM demo_plant.flows')" ] && break
  sleep 0.5
done
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

# The national tier: the regulator's view of the country, built from the province's reports.
n() { curl -fsS --cacert out/national/pki/ca.pem -H "Authorization: Bearer $regulator_token" "$nurl$1"; }
total() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(p["alerts"] for s in d["series"] for p in s["points"]))'; }
by_key() { python3 -c 'import json,sys; d=json.load(sys.stdin); [print("  %-20s %6d alerts" % (s["key"], sum(p["alerts"] for p in s["points"]))) for s in d["series"]]'; }
province_total=$(q "/v1/rollup?from=0&step=1h" | total)
for _ in $(seq 1 60); do
  [ "$(n "/v1/rollup?from=0&step=1h" | total)" = "$province_total" ] && break
  sleep 0.5
done
echo
echo "regulator at the national tier ($nurl): alerts by province, then by enterprise"
echo "(the province's own roll-up: $province_total alerts)"
n "/v1/rollup?from=0&step=1h&by=province" | by_key
n "/v1/rollup?from=0&step=1h&by=enterprise" | by_key
echo "regulator: open incidents, escalated at the plant's collector (GET /v1/incidents?state=open):"
n "/v1/incidents?state=open" | python3 -c '
import json, sys
for i in json.load(sys.stdin)["incidents"]:
    print("  priority %3d  %-22s %s  %s  (%d alerts, from %s)" % (i["priority"], i["criterion"], i["enterprise_id"], i["title"], i["alerts"], i["origin"]))'

# The plant reports the PLC stop (事件报告): its first report grades the incident the rules
# opened (grade III until then, a first report owed), and the national tier reads it at once.
stop=$(plant "/v1/incidents?state=open" | python3 -c '
import json, sys
print(next(i["incident_id"] for i in json.load(sys.stdin)["incidents"] if "PLC stop" in i["title"]))')
curl -fsS --cacert out/site/pki/ca.pem -H "Authorization: Bearer $plant_token" \
  -H 'Content-Type: application/json' -X POST "$surl/v1/incidents/$stop/reports" --data-binary @- >/dev/null <<JSON
{"stage": "first", "level": "II", "category": "network_attack", "assets": ["127.0.0.20"],
 "impact": "The S7 PLC of the demo line was stopped from an unknown host; the line halted.",
 "measures": "Host 127.0.0.66 isolated; PLC restarted from the golden program."}
JSON
for _ in $(seq 1 60); do
  n "/v1/incidents/$stop" | grep -q '"stage":"first"' && break
  sleep 0.5
done
echo "the plant reported incident $stop; the regulator reads (GET /v1/incidents/$stop/reports):"
n "/v1/incidents/$stop/reports" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["reports"]:
    print("  %d. %s report, grade %s, %s, by %s: %s" % (r["seq"], r["stage"], r["level"], r["category"], r["author"], r["impact"]))'
n "/v1/incidents/$stop" | python3 -c '
import json, sys
i = json.load(sys.stdin)
print("  next report due %s (overdue: %s)" % (i["due"], i["overdue"]))'

# Exposure: CISA's ICS advisories (CSAF 2.0, beside the project when present) imported at the
# plant's collector, which matches its inventory against them; the hazards go up the tiers.
advisories=../shared/advisories/cisa-csaf-ot
if [ -d "$advisories" ]; then
  echo
  $collector advisories import --config out/site/collector.toml "$advisories"
  for _ in $(seq 1 120); do
    [ "$(n '/v1/hazards?limit=1' | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["hazards"]))')" != 0 ] && break
    sleep 0.5
  done
  echo "the plant's hazards, matched from its inventory (GET /v1/hazards at the plant):"
  plant "/v1/hazards?limit=20" | python3 -c '
import json, sys
for h in json.load(sys.stdin)["hazards"]:
    a = h["asset"]
    print("  %-15s %-7s CVSS %4.1f  %s %s %s  %s" % (h["advisory_id"], h["confidence"], h["cvss"], a["ip"], a["product"], a["firmware"], h["title"][:60]))'
  echo "regulator: open hazards by product, reported up (GET /v1/hazards at the nation):"
  n "/v1/hazards?limit=1" | python3 -c '
import json, sys
for c in json.load(sys.stdin)["counts"]["by_product"]:
    print("  %-40s %3d open, %d overdue" % (c["key"], c["open"], c["overdue"]))'
fi

# A national bulletin for the petrochemical industry, with a signature: down through the
# province to the plant's collector, pulled by the plant's sensor on its next replay, where it
# fires; the plant acknowledges it, and the national tier sees who received and acknowledged it.
bulletin=$(curl -fsS --cacert out/national/pki/ca.pem -H "Authorization: Bearer $admin_token" \
  -H 'Content-Type: application/json' -X POST "$nurl/v1/bulletins" --data-binary @- <<JSON
{"title": "Unauthorised Modbus register writes at petrochemical plants",
 "severity": 1,
 "description": "Writes to holding registers of process controllers from engineering hosts.",
 "scope": {"industries": ["petrochemical"]},
 "indicators": {"ips": ["203.0.113.66"], "domains": ["update.plc-c2.example"]},
 "signatures": "alert tcp any any -> any 502 (msg:\"BULLETIN Modbus write single register\"; flow:to_server; content:\"|06|\"; offset:7; depth:1; sid:4100001; rev:1;)",
 "actions": ["Block 203.0.113.66 at the plant boundary", "Review which hosts may write to controllers"],
 "deadline": "$(date -u -d '+7 days' +%Y-%m-%dT%H:%M:%SZ)"}
JSON
)
bid=$(printf %s "$bulletin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bulletin_id"])')
echo
echo "national admin issued bulletin $bid: $bulletin"
for _ in $(seq 1 60); do
  plant /v1/bulletins | grep -q "\"$bid\"" && break
  sleep 0.5
done
./target/release/sensor replay pcaps/modbus_attack_writes.pcap --config out/sensor-uplink.toml \
  --eve out/eve-bulletin.json --no-progress 2>/dev/null
echo "the plant's sensor pulled it ($(ls out/bulletins/*.rules | tr '\n' ' ')); its signature fired" \
  "$(grep -c '"signature_id":4100001' out/eve-bulletin.json) times on the next replay"
curl -fsS --cacert out/site/pki/ca.pem -H "Authorization: Bearer $plant_token" \
  -H 'Content-Type: application/json' -X POST "$surl/v1/bulletins/$bid/acknowledge" \
  --data-binary '{"enterprise_id": "91330100MA27XY1235", "note": "boundary rule in place"}' >/dev/null
for _ in $(seq 1 60); do
  n "/v1/bulletins/$bid" | grep -q '"acknowledged":"' && break
  sleep 0.5
done
echo "regulator: who has it (GET /v1/bulletins/$bid):"
n "/v1/bulletins/$bid" | python3 -c '
import json, sys
for s in json.load(sys.stdin)["status"]:
    print("  %s %-26s received %s  acknowledged %s  disposed %s  overdue %s" % (s["enterprise_id"], s["name"], s["received"], s["acknowledged"], s["disposed"], s["overdue"]))'

if [ "$keep_serving" = 1 ]; then
  # The bundled captures keep their recording days: the overview looks back far enough.
  recorded=$(python3 -c 'import struct,sys; print(struct.unpack("<I", open(sys.argv[1],"rb").read(28)[24:28])[0])' pcaps/baseline_attack.pcap)
  days=$(( ($(date +%s) - recorded) / 86400 + 2 ))
  [ "$days" -gt 366 ] && days=366
  cat <<TEXT

The tiers keep serving; open their pages in a browser (the certificates are the run's own CA:
out/national/pki/ca.pem, out/collector/pki/ca.pem, out/site/pki/ca.pem — accept them or import the CA):
  national    $nurl/?days=$days     national-regulator, national-admin
  provincial  $url/?days=$days     zhejiang-soc (Zhejiang)
  enterprise  $surl/?days=$days     plant-engineer (the demo plant's collector)
  the day's situation report (PDF): $url/report?period=daily&date=2026-11-22&format=pdf
  password of every demo account: $demo_password   (中文默认；?lang=en for English)
Ctrl-C stops the collectors and ClickHouse.
TEXT
  trap 'exit 0' INT TERM
  wait
fi
