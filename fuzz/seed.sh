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
seed iec104 "tcp.len > 0" iec104_c104.pcap iec104_attack.pcap
seed opcua "tcp.len > 0" opcua_asyncua_nodeopcua.pcap opcua_attack.pcap opcua_encrypted.pcap
seed mms "tcp.len > 0" iec61850_mms.pcap iec61850_attack.pcap
# HTTP and TLS: the IT capture's payloads (a leading byte picks the HTTP harness's segment
# size); DNS: queries and responses of our own, written out here.
seed tls "tcp.port == 8443 && tcp.len > 0" it_web_tls.pcap
seed http "tcp.port == 8080 && tcp.len > 0" it_web_tls.pcap
for f in corpus/http/*; do printf '\x07' | cat - "$f" > "$f.step" && mv "$f.step" "$f"; done
mkdir -p corpus/dns
printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01' > corpus/dns/query
printf '\x12\x34\x81\x80\x00\x01\x00\x02\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01\xc0\x0c\x00\x05\x00\x01\x00\x00\x0e\x10\x00\x02\xc0\x10\xc0\x10\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x5d\xb8\xd8\x22' > corpus/dns/response
printf '\x00\x21' | cat - corpus/dns/query > corpus/dns/tcp_query
# SSH, FTP and SMTP: sessions of our own (the leading byte picks segment size and directions;
# 0x00: 1-byte segments, all to the server; 0x1f: 32-byte segments, alternating).
mkdir -p corpus/ssh corpus/ftp corpus/smtp corpus/enip
python3 - <<'PY'
import struct
def packet(payload):
    pad = 8 - (5 + len(payload)) % 8
    pad += 8 if pad < 4 else 0
    return struct.pack(">IB", 1 + len(payload) + pad, pad) + payload + bytes(pad)
def kexinit(lists):
    m = bytes([20]) + bytes(16)
    for l in lists:
        m += struct.pack(">I", len(l)) + l
    return m + bytes(5)
lists = [b"curve25519-sha256", b"ssh-ed25519", b"aes128-ctr", b"aes128-ctr",
         b"hmac-sha2-256", b"hmac-sha2-256", b"none", b"none", b"", b""]
ssh = b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n" + packet(kexinit(lists)) + packet(bytes([21])) + bytes(40)
for lead in (0x00, 0x1f, 0xaa):
    open(f"corpus/ssh/session_{lead:02x}", "wb").write(bytes([lead]) + ssh)
ftp = (b"USER anonymous\r\n227 Entering Passive Mode (127,0,0,1,156,64).\r\n"
       b"EPRT |1|127.0.0.1|40001|\r\n229 Entering Extended Passive Mode (|||40002|)\r\n"
       b"RETR line1.ap17\r\n150-Opening\r\n 226 more\r\n226 Transfer complete\r\nAUTH TLS\r\n234 go\r\n")
for lead in (0x00, 0x1f, 0xaa):
    open(f"corpus/ftp/session_{lead:02x}", "wb").write(bytes([lead]) + ftp)
smtp = (b"EHLO ws1\r\n250-mx\r\n250 PIPELINING\r\nMAIL FROM:<a@plant> SIZE=9\r\nRCPT TO:<b@plant>\r\n"
        b"DATA\r\n354 go\r\nSubject: x\r\n\r\n..dot\r\n.\r\nBDAT 5 LAST\r\nhelloSTARTTLS\r\n220 ok\r\n")
for lead in (0x00, 0x1f, 0xaa):
    open(f"corpus/smtp/session_{lead:02x}", "wb").write(bytes([lead]) + smtp)
def enip(command, data):
    return struct.pack("<HHII8sI", command, len(data), 0x1234, 0, b"context!", 0) + data
def rr(cip):
    return struct.pack("<IHHHHHH", 0, 10, 2, 0, 0, 0xb2, len(cip)) + cip
get = bytes([0x0e, 3, 0x20, 0x01, 0x24, 0x01, 0x30, 0x07])
msp = bytes([0x0a, 2, 0x20, 0x02, 0x24, 0x01, 2, 0, 6, 0, 14, 0]) + get + bytes([0x8e, 0, 0, 0])
enip_session = (enip(0x65, struct.pack("<HH", 1, 0)) + enip(0x6f, rr(get)) +
                enip(0x6f, rr(bytes([0x8e, 0, 0, 0, 1, 0]))) + enip(0x6f, rr(msp)) + enip(0x63, b""))
for lead in (0x00, 0x1f, 0xaa):
    open(f"corpus/enip/session_{lead:02x}", "wb").write(bytes([lead]) + enip_session)
PY
# GOOSE and Sampled Values: the frames after their ethertype (and VLAN tag), 2-byte lengths.
mkdir -p corpus/goose
for f in iec61850_goose.pcap iec61850_attack.pcap; do
  python3 - "$pcaps/$f" "corpus/goose/$(basename "$f" .pcap)" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
out = bytearray()
off = 24
while off + 16 <= len(data) and len(out) < 30000:
    caplen = struct.unpack_from('<I', data, off + 8)[0]
    frame = data[off + 16: off + 16 + caplen]
    off += 16 + caplen
    et, at = struct.unpack_from('>H', frame, 12)[0], 14
    if et == 0x8100:
        et, at = struct.unpack_from('>H', frame, 16)[0], 18
    if et in (0x88b8, 0x88ba):
        out += struct.pack('<H', len(frame) - at) + frame[at:]
open(sys.argv[2], 'wb').write(out)
PY
done
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
# Baselines: learned from the plant's normal recording and from its attack recording, by the
# sensor built for the tests (release or debug, built when neither is there).
mkdir -p corpus/baseline
sensor=../target/release/sensor
[ -x "$sensor" ] || sensor=../target/debug/sensor
[ -x "$sensor" ] || (cd .. && cargo build -p icsight-sensor --target-dir target)
"$sensor" learn ../pcaps/baseline_normal_a.pcap --fresh --no-progress \
  --out corpus/baseline/normal_a.json 2>/dev/null
"$sensor" learn ../pcaps/baseline_attack.pcap --fresh --no-progress \
  --out corpus/baseline/attack.json 2>/dev/null
# CSAF: small documents of our own (never a published advisory), one per shape of version
# range vendors write, and the ranges alone as text.
mkdir -p corpus/csaf
python3 - corpus/csaf <<'PY'
import json, sys, hashlib, os
ranges = ["vers:all/<V3.2.16", "vers:all/*", "vers:all/>=V7.80<V9.40", "< V3.X.17",
          "All versions < V15.1 Upd4", "All versions >= V2.0 and < V2.1.6", ">=1.220|<=1.281",
          "NMC2 <= 6.9.6", "< 15.0 SP1", "V20.8", "<= GEH-1.1 (integrated)", "MX-V4.0.1.15",
          "V2.3 and prior", "prior to 3.0", "vers:generic/>=1.0|<2.0|!=1.5"]
def doc(i, r, model):
    pid = "CSAFPID-%04d" % i
    return {
        "document": {"category": "csaf_security_advisory", "csaf_version": "2.0",
            "publisher": {"category": "vendor", "name": "Example PSIRT", "namespace": "https://psirt.example.com"},
            "title": "Example advisory %d" % i,
            "tracking": {"id": "EX-%04d" % i, "current_release_date": "2024-01-02T00:00:00Z",
                "initial_release_date": "2024-01-01T00:00:00Z", "status": "final", "version": "1",
                "revision_history": [{"date": "2024-01-01T00:00:00Z", "number": "1", "summary": "Initial"}]},
            "notes": [{"category": "summary", "text": "Exploits that target this are publicly available."}]},
        "product_tree": {"branches": [{"category": "vendor", "name": "Siemens", "branches": [
            {"category": "product_name", "name": "SIMATIC S7-300 CPU family", "branches": [
                {"category": "product_version_range", "name": r,
                 "product": {"name": "SIMATIC S7-300 CPU " + r, "product_id": pid,
                             "product_identification_helper": {"model_numbers": [model] if model else []}}}]}]}]},
        "vulnerabilities": [{"cve": "CVE-2024-%04d" % (1000 + i), "cwe": {"id": "CWE-20", "name": "Improper Input Validation"},
            "product_status": {"known_affected": [pid]},
            "remediations": [{"category": "vendor_fix", "details": "Update", "product_ids": [pid]}],
            "scores": [{"products": [pid], "cvss_v3": {"baseScore": 7.5, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "version": "3.1"}}],
            "threats": [{"category": "exploit_status", "details": "exploited", "product_ids": [pid]}]}],
    }
out = sys.argv[1]
for i, r in enumerate(ranges):
    for model in ["6ES7315-2EH14-0AB0", ""]:
        b = json.dumps(doc(i, r, model)).encode()
        open(os.path.join(out, hashlib.sha1(b).hexdigest()[:16]), "wb").write(b)
b = "\n".join(ranges).encode()
open(os.path.join(out, hashlib.sha1(b).hexdigest()[:16]), "wb").write(b)
PY
echo "corpora: $(for d in corpus/*; do echo -n "$(basename $d)=$(ls $d | wc -l) "; done)"
