#!/usr/bin/env bash
# Seed the fuzz corpora from the project's captures: each protocol's TCP/UDP payloads (via
# tshark), and whole frames for the pipeline target.
set -euo pipefail
cd "$(dirname "$0")"
pcaps=../pcaps
seed() { # target display-filter field files...
  local target=$1 filter=$2; shift 2
  mkdir -p "corpus/$target"
  local n=0
  for f in "$@"; do
    tshark -n -r "$pcaps/$f" -Y "$filter" -T fields -e tcp.payload -e udp.payload 2>/dev/null |
      tr -d '\t' | while read -r hex; do
        [ -n "$hex" ] || continue
        echo "$hex" | xxd -r -p > "corpus/$target/$(echo "$hex" | sha1sum | cut -c1-16)"
      done
    n=$((n + 1))
  done
}
seed modbus "tcp.len > 0" modbus_pymodbus_libmodbus.pcap modbus_pymodbus_offport.pcap
seed s7comm "tcp.len > 0" s7comm_snap7.pcap s7comm_snap7_control.pcap
seed dnp3 "tcp.len > 0 or udp" dnp3_opendnp3.pcap dnp3_opendnp3_udp.pcap
# Pipeline: link type byte 0 (Ethernet), then each capture's frames with 2-byte lengths.
mkdir -p corpus/pipeline
for f in "$pcaps"/*.pcap; do
  python3 - "$f" "corpus/pipeline/$(basename "$f" .pcap)" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
out = bytearray([0])
off = 24
while off + 16 <= len(data) and len(out) < 60000:
    caplen = struct.unpack_from('<I', data, off + 8)[0]
    frame = data[off + 16: off + 16 + caplen]
    out += struct.pack('<H', len(frame)) + frame
    off += 16 + caplen
open(sys.argv[2], 'wb').write(out)
PY
done
# Rules: each rule of the built-in ruleset and of the classic test rules, one a file.
mkdir -p corpus/rules
cat ../rules/default/*.rules ../tests/rules/classic.rules | grep -v '^#' | grep . |
  while IFS= read -r rule; do
    printf '%s\n' "$rule" > "corpus/rules/$(printf '%s' "$rule" | sha1sum | cut -c1-16)"
  done
# Baselines: learned from the plant's normal recording and from its attack recording.
mkdir -p corpus/baseline
../target/release/sensor learn ../pcaps/baseline_normal_a.pcap --fresh --no-progress \
  --out corpus/baseline/normal_a.json 2>/dev/null
../target/release/sensor learn ../pcaps/baseline_attack.pcap --fresh --no-progress \
  --out corpus/baseline/attack.json 2>/dev/null
echo "corpora: $(for d in corpus/*; do echo -n "$(basename $d)=$(ls $d | wc -l) "; done)"
