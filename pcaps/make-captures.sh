#!/usr/bin/env bash
# Regenerate icsight's reference packet captures in pcaps/.
#
# Every capture is real traffic between two independent protocol stacks
# talking over the loopback interface, recorded with tcpdump:
#
#   modbus_pymodbus_libmodbus.pcap  pymodbus client  -> libmodbus server, TCP 502
#   modbus_pymodbus_offport.pcap    libmodbus client -> pymodbus server,  TCP 5020
#   s7comm_snap7.pcap               python-snap7 2.x (native Snap7) client -> server, TCP 102
#   s7comm_snap7_control.pcap       native Snap7 client -> python-snap7 3.x server, TCP 102
#   s7comm_snap7_control_native.pcap native Snap7 client -> native Snap7 server, TCP 102
#   dnp3_opendnp3.pcap              yadnp3/opendnp3 master -> outstation, TCP 20000
#   dnp3_opendnp3_udp.pcap          yadnp3/opendnp3 master -> outstation, UDP 20000
#
# attack / operations captures (for the default ruleset in rules/default/):
#
#   modbus_attack_writes.pcap       libmodbus client -> pymodbus server (broadcast on), TCP 502
#   modbus_attack_diagnostics.pcap  pymodbus client  -> pymodbus server,  TCP 502
#   modbus_attack_fcscan.pcap       libmodbus client -> pymodbus server,  TCP 502
#   modbus_attack_unitscan.pcap     libmodbus client -> pymodbus server,  TCP 502
#   modbus_normal_polling.pcap      pymodbus client  -> libmodbus server, TCP 502
#   s7comm_attack_control.pcap      native Snap7 client -> python-snap7 3.x server, TCP 102
#   s7comm_normal_polling.pcap      native Snap7 client -> python-snap7 3.x server, TCP 102
#   dnp3_attack_control.pcap        yadnp3/opendnp3 master -> outstation, TCP 20000
#   dnp3_normal_polling.pcap        yadnp3/opendnp3 master -> outstation, TCP 20000
#
# baseline captures of a small plant, Modbus/TCP and S7comm at the same time
# (HMI 127.0.0.5, Modbus PLC 127.0.0.10, S7 PLC 127.0.0.20, intruder
# 127.0.0.66; each client binds its own loopback address):
#
#   baseline_normal_a.pcap  3 min: the HMI (pymodbus client + native Snap7
#                           client) polls a pymodbus PLC (TCP 502) and a
#                           python-snap7 3.x PLC (TCP 102) once a second
#   baseline_normal_b.pcap  the same, recorded separately, 2 min
#   baseline_attack.pcap    40 s of the same, then eight steps by the intruder
#                           (pcaps/baseline_attack.steps.tsv), HMI polling on
#
# IT traffic a plant's mirror port carries (for the HTTP, TLS, DNS and SMB decoders):
#
#   it_web_tls.pcap   CPython http.server <- curl (HTTP/1.1, TCP 8080) and
#                     OpenSSL s_server <- curl (TLS 1.2 and TLS 1.3, TCP 8443)
#   it_files.pcap     pyftpdlib <- curl (FTP, TCP 21 and its data connections),
#                     OpenSSH sshd <- curl/libssh2 (SFTP, TCP 22, to the failed login),
#                     aiosmtpd <- curl (SMTP, TCP 25, a message with a PLC project file)
#   it_dns.pcap       dnsmasq <- dig (DNS over UDP and TCP 53: plant names, and queries
#                     whose labels carry encoded data as DNS tunnels do)
#   it_smb.pcap       Samba smbd <- smbprotocol (SMB2/3, TCP 445, unencrypted: NTLM login,
#                     listing, download of a PLC project file, an upload, a missing file)
#
# IEC 60870-5-104 (master 127.0.0.5, outstation 127.0.0.10, intruder 127.0.0.66):
#
#   iec104_c104.pcap    scapy IEC 104 master -> c104 (lib60870-C) outstation, TCP 2404:
#                       interrogations, counter interrogation, spontaneous data, TESTFR
#   iec104_attack.pcap  the same outstation, a SCADA master polling and an intruder issuing
#                       commands, set-points, clock sync, reset, read and refused requests
#                       (pcaps/iec104_attack.steps.tsv)
#
# EtherNet/IP + CIP (client 127.0.0.5, controller 127.0.0.10, intruder 127.0.0.66):
#
#   enip_cpppo.pcap   pycomm3, pylogix and scapy -> cpppo Logix simulator, TCP and UDP 44818:
#                     ListIdentity/ListServices/ListInterfaces, sessions, Identity
#                     attributes, Forward Open/Close, tag reads and writes
#   enip_attack.pcap  the same stacks: ListIdentity sweep, Set Attribute Single, Forward
#                     Open to slot 3, tag writes, NVS (0xA1) update request, Identity reset
#
# OPC UA binary (client 127.0.0.5, server 127.0.0.10, intruder 127.0.0.66):
#
#   opcua_asyncua_nodeopcua.pcap  node-opcua client -> asyncua server, TCP 4840, policy None:
#                                 a session as user "operator": Browse, Read, Write,
#                                 Call, a subscription
#   opcua_encrypted.pcap          the same over Basic256Sha256 SignAndEncrypt
#   opcua_attack.pcap             three guessed passwords, then an anonymous session:
#                                 browse, write, method call
#
# IEC 61850 (HMI 127.0.0.5, IED 127.0.0.10, intruder 127.0.0.66; GOOSE and SV on lo's
# Ethernet, no IP). Server: libiec61850 1.6 (pyiec61850-ng), an IED "PlantLD" built in
# code (src/iec61850_server_libiec61850.py). Clients: py61850 (pure Python) and
# iec61850 (Python over iec61850-rust), src/iec61850_client.py; py61850 has no
# Write, named-variable-list or FileDelete services, so the writes, the data set
# definition/deletion and the reports go through iec61850-rust, and the intruder's
# FileDelete is one request built with py61850's own BER encoder over its association:
#
#   iec61850_mms.pcap     py61850 and iec61850-rust -> libiec61850 server, TCP 102: initiate,
#                         GetNameList, GetVariableAccessAttributes, reads, FileDirectory,
#                         FileOpen/Read/Close, DefineNamedVariableList/Delete..., URCB and
#                         BRCB enabled (RCB writes only), informationReports, conclude
#   iec61850_attack.pcap  the same server, the HMI polling (py61850) and the GOOSE
#                         publisher's heartbeat; the intruder sweeps GetNameList and
#                         GetVariableAccessAttributes, reads the GoCB, lists files, operates
#                         SPCSO1 ($CO$SPCSO1$Oper), writes a protection setting (SP) and a
#                         ctlModel (CF), deletes a fault record (FileDelete), then spoofs GOOSE
#                         with scapy: stNum +100 (sqNum 0..3) and a sqNum reset
#                         (pcaps/iec61850_attack.steps.tsv)
#   iec61850_goose.pcap   libiec61850 GoosePublisher and SVPublisher on lo: 80 Sampled
#                         Values frames (9-2LE, ethertype 0x88BA), then GOOSE (0x88B8, VLAN
#                         10) heartbeats and two state changes with their retransmissions
#
# and MANIFEST.md is rewritten from what the captures hold.
#
# Usage (as root, on Debian 12):
#   sudo pcaps/make-captures.sh                 # all scenarios
#   sudo pcaps/make-captures.sh modbus dnp3     # only those (modbus, modbus-offport, s7,
#                                               #  s7-control, s7-control-native, dnp3, dnp3-udp,
#                                               #  modbus-writes, modbus-diag, modbus-fcscan,
#                                               #  modbus-unitscan, modbus-poll, s7-attack, s7-poll,
#                                               #  dnp3-attack, dnp3-poll, baseline-normal-a,
#                                               #  baseline-normal-b, baseline-attack, it-web,
#                                               #  it-files, it-dns, it-smb, iec104, iec104-attack,
#                                               #  enip, enip-attack, opcua, opcua-encrypted,
#                                               #  opcua-attack, iec61850, iec61850-attack, goose)
#   sudo pcaps/make-captures.sh attacks         # the attack / operations captures
#   sudo pcaps/make-captures.sh normal          # the normal-polling captures
#   sudo pcaps/make-captures.sh baseline        # the three baseline captures (about 7 min)
#   sudo pcaps/make-captures.sh manifest        # only rewrite MANIFEST.md from the captures
# Environment:
#   SKIP_INSTALL=1   do not apt-get/pip anything; fail if something is missing
#   PYTHON=...       interpreter for the virtualenvs (default /usr/bin/python3)
#   PYTHON313=...    interpreter (3.13 or newer) for the IEC 61850 virtualenv, which py61850
#                    0.6 needs (default: python3.13 on PATH, else pyenv's newest 3.13+)
#
# it-smb creates the unix user plantsmb (no home, /usr/sbin/nologin) when it is missing.
#
# Packages it installs when missing: Debian tcpdump tshark gcc libc6-dev
# pkg-config libmodbus-dev python3 python3-venv iproute2 openssl curl
# openssh-server dnsmasq bind9-dnsutils samba; PyPI packages (pymodbus,
# python-snap7, yadnp3, pyftpdlib, aiosmtpd, smbprotocol, c104, scapy, cpppo,
# pycomm3, pylogix, asyncua; pyiec61850-ng, py61850, iec61850 only for the IEC 61850
# scenarios) into
# virtualenvs under ${XDG_CACHE_HOME:-$HOME/.cache}/icsight-pcaps-venv
# (never inside the repository), and the npm package node-opcua-client under
# the same directory (Debian nodejs and npm when node is missing).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$HERE/src
OUT=$HERE
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/icsight-pcaps-venv
VENV=$CACHE/main        # pymodbus, python-snap7 2.x (ships native libsnap7), yadnp3
VENV_S7V3=$CACHE/snap7v3 # python-snap7 3.x (pure-Python server with upload/download/stop)
VENV_IEC104=$CACHE/iec104 # c104 (lib60870-C outstation) and scapy (IEC 104 master)
VENV_ENIP=$CACHE/enip     # cpppo (EtherNet/IP server), pycomm3, pylogix, scapy (clients)
VENV_OPCUA=$CACHE/opcua   # asyncua (OPC UA server)
VENV_IEC61850=$CACHE/iec61850 # Python 3.13+: pyiec61850-ng (server, GOOSE/SV), py61850,
                              # iec61850 (clients), scapy (spoofed GOOSE)
NODE_OPCUA=$CACHE/node-opcua # npm prefix for node-opcua-client (OPC UA client)
PYTHON=${PYTHON:-} # resolved after the Debian packages are in place
PYTHON313=${PYTHON313:-} # resolved only when an IEC 61850 scenario runs
NEED_IEC61850=""         # set by main when an IEC 61850 scenario is asked for

PYMODBUS_SPEC=${PYMODBUS_SPEC:-pymodbus==3.16.1}
SNAP7_V2_SPEC=${SNAP7_V2_SPEC:-python-snap7==2.1.0}
SNAP7_V3_SPEC=${SNAP7_V3_SPEC:-python-snap7==3.3.0}
YADNP3_SPEC=${YADNP3_SPEC:-yadnp3==3.2.1.4}
PYFTPDLIB_SPEC=${PYFTPDLIB_SPEC:-pyftpdlib==2.2.0}
AIOSMTPD_SPEC=${AIOSMTPD_SPEC:-aiosmtpd==1.4.6}
SMBPROTOCOL_SPEC=${SMBPROTOCOL_SPEC:-smbprotocol==1.17.0}
C104_SPEC=${C104_SPEC:-c104==2.2.1}
SCAPY_SPEC=${SCAPY_SPEC:-scapy==2.8.0}
CPPPO_SPEC=${CPPPO_SPEC:-cpppo==5.2.5}
PYCOMM3_SPEC=${PYCOMM3_SPEC:-pycomm3==1.2.16}
PYLOGIX_SPEC=${PYLOGIX_SPEC:-pylogix==1.1.6}
ASYNCUA_SPEC=${ASYNCUA_SPEC:-asyncua==2.1.0}
NODE_OPCUA_VERSION=${NODE_OPCUA_VERSION:-2.182.2}
PYIEC61850_SPEC=${PYIEC61850_SPEC:-pyiec61850-ng==1.6.1.10}
PY61850_SPEC=${PY61850_SPEC:-py61850==0.6.0}
IEC61850_RS_SPEC=${IEC61850_RS_SPEC:-iec61850==0.14.0}

APT_PACKAGES=(tcpdump tshark gcc libc6-dev pkg-config libmodbus-dev python3 python3-venv iproute2
              openssl curl openssh-server dnsmasq bind9-dnsutils samba)
REFERENCE_SCENARIOS=(modbus modbus-offport s7 s7-control s7-control-native dnp3 dnp3-udp)
ATTACK_SCENARIOS=(modbus-writes modbus-diag modbus-fcscan modbus-unitscan s7-attack dnp3-attack)
NORMAL_SCENARIOS=(modbus-poll s7-poll dnp3-poll)
BASELINE_SCENARIOS=(baseline-normal-a baseline-normal-b baseline-attack)
IT_SCENARIOS=(it-web it-files it-dns it-smb)
IEC104_SCENARIOS=(iec104 iec104-attack)
ENIP_SCENARIOS=(enip enip-attack)
OPCUA_SCENARIOS=(opcua opcua-encrypted opcua-attack)
IEC61850_SCENARIOS=(iec61850 iec61850-attack goose)
ALL_SCENARIOS=("${REFERENCE_SCENARIOS[@]}" "${ATTACK_SCENARIOS[@]}" "${NORMAL_SCENARIOS[@]}"
               "${BASELINE_SCENARIOS[@]}" "${IT_SCENARIOS[@]}" "${IEC104_SCENARIOS[@]}"
               "${ENIP_SCENARIOS[@]}" "${OPCUA_SCENARIOS[@]}" "${IEC61850_SCENARIOS[@]}")

# address plan of the baseline captures (all on lo: Linux routes 127.0.0.0/8 there)
HMI_ADDR=127.0.0.5
MODBUS_PLC_ADDR=127.0.0.10
S7_PLC_ADDR=127.0.0.20
ATTACKER_ADDR=127.0.0.66

export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export DEBIAN_FRONTEND=noninteractive

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ----------------------------------------------------------------------------
# cleanup: every background process we start is recorded in BG_PIDS
# ----------------------------------------------------------------------------
BG_PIDS=()
WORK=""
cleanup() {
    local rc=$? pid
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${BG_PIDS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n $WORK && -d $WORK ]]; then
        if (( rc != 0 )); then
            log "logs of the failed run:"
            for f in "$WORK"/*.log; do
                [[ -s $f ]] || continue
                printf -- '----- %s\n' "$(basename "$f")" >&2
                tail -n 40 "$f" >&2
            done
        fi
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ----------------------------------------------------------------------------
# dependencies
# ----------------------------------------------------------------------------
apt_install_missing() {
    local missing=() p status
    for p in "${APT_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$p")
    done
    (( ${#missing[@]} == 0 )) && return 0
    [[ -n ${SKIP_INSTALL:-} ]] && die "missing Debian packages: ${missing[*]}"
    command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get"
    log "installing Debian packages: ${missing[*]}"
    # Another apt/dpkg may be running: wait for its lock rather than failing.
    local apt=(apt-get -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends)
    if ! "${apt[@]}" install "${missing[@]}"; then
        apt-get -q -o DPkg::Lock::Timeout=600 update
        "${apt[@]}" install "${missing[@]}"
    fi
}

pyver_of() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null; }

ensure_venv() { # [--python INTERPRETER] DIR PIP-SPEC...
    local py=""
    if [[ $1 == --python ]]; then py=$2; shift 2; fi
    local dir=$1; shift
    # With --python, a virtualenv made by another Python version is made anew.
    if [[ ! -x $dir/bin/python ]] || ! "$dir/bin/python" -c 'import sys' 2>/dev/null \
        || { [[ -n $py ]] && [[ $(pyver_of "$dir/bin/python") != "$(pyver_of "$py")" ]]; }; then
        [[ -n ${SKIP_INSTALL:-} ]] && die "virtualenv $dir missing"
        if [[ -z $py ]]; then
            if [[ -z $PYTHON ]]; then
                PYTHON=/usr/bin/python3
                [[ -x $PYTHON ]] || PYTHON=$(command -v python3 || true)
                [[ -n $PYTHON ]] || die "no python3 found"
            fi
            py=$PYTHON
        fi
        log "creating virtualenv $dir"
        rm -rf "$dir"
        mkdir -p "$(dirname "$dir")"
        "$py" -m venv "$dir"
    fi
    if ! "$dir/bin/python" - "$@" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    try:
        have = version(name)
    except PackageNotFoundError:
        sys.exit(1)
    if want and have != want:
        sys.exit(1)
EOF
    then
        [[ -n ${SKIP_INSTALL:-} ]] && die "virtualenv $dir lacks: $*"
        log "pip install into $dir: $*"
        "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
    fi
}

ensure_node_opcua() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        [[ -n ${SKIP_INSTALL:-} ]] && die "node and npm are needed (Debian nodejs npm)"
        local APT_PACKAGES=(nodejs npm) # apt_install_missing sees this list
        apt_install_missing
    fi
    local have
    have=$(node -p "require('$NODE_OPCUA/node_modules/node-opcua-client/package.json').version" 2>/dev/null || true)
    [[ $have == "$NODE_OPCUA_VERSION" ]] && return 0
    [[ -n ${SKIP_INSTALL:-} ]] && die "node-opcua-client $NODE_OPCUA_VERSION missing under $NODE_OPCUA"
    log "npm install node-opcua-client@$NODE_OPCUA_VERSION into $NODE_OPCUA"
    mkdir -p "$NODE_OPCUA"
    npm install --prefix "$NODE_OPCUA" --no-audit --no-fund --loglevel=error \
        "node-opcua-client@$NODE_OPCUA_VERSION" >&2
}

python313() { # prints an interpreter of Python 3.13 or newer (py61850 0.6 requires 3.13)
    local c
    # Debian 12 ships 3.11; this machine's pyenv has newer ones. Newest first.
    for c in python3.14 python3.13 \
        $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3 2>/dev/null | sort -rV); do
        c=$(command -v "$c" 2>/dev/null) || continue
        if "$c" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

ensure_iec61850() {
    if [[ -z $PYTHON313 ]]; then
        PYTHON313=$(python313) || die "the IEC 61850 scenarios need Python 3.13 or newer" \
            "(py61850 0.6 requires it): none found, set PYTHON313"
    fi
    ensure_venv --python "$PYTHON313" "$VENV_IEC61850" "$PYIEC61850_SPEC" "$PY61850_SPEC" \
        "$IEC61850_RS_SPEC" "$SCAPY_SPEC"
}

install_deps() {
    [[ $(id -u) -eq 0 ]] || die "run as root (tcpdump on lo, ports 102/502, apt-get): sudo $0"
    apt_install_missing
    ensure_venv "$VENV" "$PYMODBUS_SPEC" "$SNAP7_V2_SPEC" "$YADNP3_SPEC" "$PYFTPDLIB_SPEC" \
        "$AIOSMTPD_SPEC" "$SMBPROTOCOL_SPEC"
    ensure_venv "$VENV_S7V3" "$SNAP7_V3_SPEC"
    ensure_venv "$VENV_IEC104" "$C104_SPEC" "$SCAPY_SPEC"
    ensure_venv "$VENV_ENIP" "$CPPPO_SPEC" "$PYCOMM3_SPEC" "$PYLOGIX_SPEC" "$SCAPY_SPEC"
    ensure_venv "$VENV_OPCUA" "$ASYNCUA_SPEC"
    ensure_node_opcua
    # Only when an IEC 61850 scenario runs: its virtualenv needs a Python newer than Debian's.
    if [[ -n ${NEED_IEC61850:-} ]]; then
        ensure_iec61850
    fi
    for c in tcpdump tshark gcc pkg-config ss; do
        command -v "$c" >/dev/null || die "$c not found"
    done
}

build_c_helpers() {
    local flags
    flags=$(pkg-config --cflags --libs libmodbus)
    # shellcheck disable=SC2086
    gcc -O2 -Wall -o "$WORK/modbus_server_libmodbus" "$SRC/modbus_server_libmodbus.c" $flags
    # shellcheck disable=SC2086
    gcc -O2 -Wall -o "$WORK/modbus_client_libmodbus" "$SRC/modbus_client_libmodbus.c" $flags
    # shellcheck disable=SC2086
    gcc -O2 -Wall -o "$WORK/modbus_attack_libmodbus" "$SRC/modbus_attack_libmodbus.c" $flags
    gcc -O2 -Wall -shared -fPIC -o "$WORK/bind_source.so" "$SRC/bind_source.c" -ldl
}

# ----------------------------------------------------------------------------
# process helpers
# ----------------------------------------------------------------------------
LAST_PID=""
start_bg() { # LOGFILE CMD... ; sets LAST_PID
    local logfile=$1; shift
    "$@" >"$logfile" 2>&1 &
    LAST_PID=$!
    BG_PIDS+=("$LAST_PID")
}

stop_bg() { # PID SIGNAL
    local pid=$1 sig=${2:-TERM} i
    if kill -0 "$pid" 2>/dev/null; then
        kill "-$sig" "$pid" 2>/dev/null || true
    fi
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "process $pid did not stop on SIG$sig, killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

port_busy() { # tcp|udp PORT
    local opt=-Hltn
    [[ $1 == udp ]] && opt=-Huan # a connected UDP socket is not "listening"
    [[ -n $(ss "$opt" "sport = :$2" 2>/dev/null) ]]
}

wait_port() { # tcp|udp PORT PID
    local i
    for ((i = 0; i < 150; i++)); do
        port_busy "$1" "$2" && return 0
        kill -0 "$3" 2>/dev/null || die "server (pid $3) exited before listening on $1/$2"
        sleep 0.1
    done
    die "nothing listening on $1 port $2 after 15 s"
}

TCPDUMP_PID=""
start_capture() { # NAME FILTER
    local name=$1 filter=$2 i
    # -B: libpcap sizes its ring's slots by the snap length (256 kB on lo), so the default
    # 2 MB buffer holds only a few frames; a busy machine then drops packets of a burst.
    start_bg "$WORK/$name.tcpdump.log" tcpdump -i lo -n -U --immediate-mode -B 32768 -Z root \
        -w "$WORK/$name.pcap" "$filter"
    TCPDUMP_PID=$LAST_PID
    for ((i = 0; i < 100; i++)); do
        grep -q "listening on" "$WORK/$name.tcpdump.log" 2>/dev/null && break
        kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump failed: $(cat "$WORK/$name.tcpdump.log")"
        sleep 0.1
    done
    sleep 0.3
}

finish_capture() { # NAME
    local name=$1
    sleep 0.5
    stop_bg "$TCPDUMP_PID" INT
    [[ -s $WORK/$name.pcap ]] || die "$name: empty capture"
    # tcpdump reports its kernel drops when it stops; a capture with holes is no reference
    local dropped
    dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$WORK/$name.tcpdump.log")
    [[ ${dropped:-0} == 0 ]] || die "$name: tcpdump dropped $dropped packet(s)"
    [[ -z $(tshark -r "$WORK/$name.pcap" -Y "tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment" \
            -T fields -e frame.number 2>/dev/null) ]] || die "$name: the capture misses TCP segments"
    cp "$WORK/$name.pcap" "$OUT/$name.pcap.tmp"
    chmod 0644 "$OUT/$name.pcap.tmp"
    mv -f "$OUT/$name.pcap.tmp" "$OUT/$name.pcap"
    log "$name.pcap: $(packets "$OUT/$name.pcap") packets, $(stat -c %s "$OUT/$name.pcap") bytes"
}

# Runs one client/server scenario.
#   scenario NAME PROTO PORT FILTER -- SERVER-CMD... -- CLIENT-CMD...
scenario() {
    local name=$1 proto=$2 port=$3 filter=$4; shift 4
    [[ $1 == -- ]] || die "scenario: missing --"; shift
    local server=() client=()
    while [[ $# -gt 0 && $1 != -- ]]; do server+=("$1"); shift; done
    [[ ${1:-} == -- ]] || die "scenario: missing second --"; shift
    client=("$@")

    log "scenario $name ($proto/$port)"
    port_busy "$proto" "$port" && die "$proto port $port is already in use"
    start_capture "$name" "$filter"
    start_bg "$WORK/$name.server.log" "${server[@]}"
    local server_pid=$LAST_PID
    wait_port "$proto" "$port" "$server_pid"
    sleep 0.3
    # In the background plus `wait`, so that SIGINT/SIGTERM are acted on at once.
    start_bg "$WORK/$name.client.log" timeout 180 "${client[@]}"
    wait "$LAST_PID" || die "$name: client failed (its log follows)"
    sleep 0.3
    stop_bg "$server_pid" TERM
    finish_capture "$name"
}

# ----------------------------------------------------------------------------
# scenarios
# ----------------------------------------------------------------------------
run_modbus() {
    scenario modbus_pymodbus_libmodbus tcp 502 "tcp port 502" \
        -- "$WORK/modbus_server_libmodbus" 127.0.0.1 502 \
        -- "$VENV/bin/python" "$SRC/modbus_client_pymodbus.py" --port 502 --rounds 2 --sessions 2
}

run_modbus_offport() {
    scenario modbus_pymodbus_offport tcp 5020 "tcp port 5020" \
        -- "$VENV/bin/python" "$SRC/modbus_server_pymodbus.py" --port 5020 \
        -- "$WORK/modbus_client_libmodbus" 127.0.0.1 5020 2 3
}

run_s7() {
    scenario s7comm_snap7 tcp 102 "tcp port 102" \
        -- "$VENV/bin/python" "$SRC/s7_server_snap7.py" --port 102 \
        -- "$VENV/bin/python" "$SRC/s7_client_snap7.py" --port 102 --mode basic
}

run_s7_control() {
    # Server: python-snap7 3.x (pure Python, implements upload/download/stop);
    # client: python-snap7 2.x, i.e. the native Snap7 library.
    scenario s7comm_snap7_control tcp 102 "tcp port 102" \
        -- "$VENV_S7V3/bin/python" "$SRC/s7_server_snap7.py" --port 102 \
        -- "$VENV/bin/python" "$SRC/s7_client_snap7.py" --port 102 --mode control
}

run_s7_control_native() {
    # Native Snap7 on both ends: PLC stop/start honoured, upload/download refused.
    scenario s7comm_snap7_control_native tcp 102 "tcp port 102" \
        -- "$VENV/bin/python" "$SRC/s7_server_snap7.py" --port 102 \
        -- "$VENV/bin/python" "$SRC/s7_client_snap7.py" --port 102 --mode control-refused
}

run_dnp3() {
    scenario dnp3_opendnp3 tcp 20000 "tcp port 20000" \
        -- "$VENV/bin/python" "$SRC/dnp3_outstation.py" --transport tcp --port 20000 \
        -- "$VENV/bin/python" "$SRC/dnp3_master.py" --transport tcp --port 20000
}

run_dnp3_udp() {
    port_busy udp 20001 && die "udp port 20001 is already in use"
    scenario dnp3_opendnp3_udp udp 20000 "udp port 20000" \
        -- "$VENV/bin/python" "$SRC/dnp3_outstation.py" --transport udp --port 20000 --master-port 20001 \
        -- "$VENV/bin/python" "$SRC/dnp3_master.py" --transport udp --port 20000 --local-port 20001
}

# IT scenarios ---------------------------------------------------------------
run_it_web() {
    # Two real servers on loopback, each asked by curl: CPython's http.server for a page and a
    # PLC project file, OpenSSL's s_server (a self-signed certificate for hmi.plant.example)
    # once over TLS 1.2 and once over TLS 1.3.
    local web=$WORK/web
    mkdir -p "$web/projects"
    printf '<html><body>HMI</body></html>\n' >"$web/index.html"
    head -c 3000 /dev/zero | tr '\0' 'P' >"$web/projects/line1.ap17"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout "$WORK/tls.key" \
        -out "$WORK/tls.crt" -subj "/C=CN/O=icsight test plant/CN=hmi.plant.example" 2>/dev/null
    port_busy tcp 8080 && die "tcp port 8080 is already in use"
    port_busy tcp 8443 && die "tcp port 8443 is already in use"
    log "scenario it_web_tls (tcp/8080, tcp/8443)"
    start_capture it_web_tls "tcp port 8080 or tcp port 8443"
    start_bg "$WORK/http.log" python3 -m http.server 8080 --bind 127.0.0.1 --directory "$web"
    local http_pid=$LAST_PID
    wait_port tcp 8080 "$http_pid"
    start_bg "$WORK/tls.log" openssl s_server -accept 8443 -cert "$WORK/tls.crt" -key "$WORK/tls.key" -www
    local tls_pid=$LAST_PID
    wait_port tcp 8443 "$tls_pid"
    curl -sS -o /dev/null -A "icsight-hmi/1.0" http://127.0.0.1:8080/index.html
    curl -sS -o /dev/null -A "icsight-hmi/1.0" http://127.0.0.1:8080/projects/line1.ap17
    curl -sSk -o /dev/null --tlsv1.2 --tls-max 1.2 --resolve hmi.plant.example:8443:127.0.0.1 \
        https://hmi.plant.example:8443/
    curl -sSk -o /dev/null --tlsv1.3 --resolve hmi.plant.example:8443:127.0.0.1 \
        https://hmi.plant.example:8443/
    stop_bg "$http_pid" TERM
    stop_bg "$tls_pid" TERM
    finish_capture it_web_tls
}

run_it_files() {
    # File transfer, remote login and mail on a plant's IT side, each pair two independent
    # stacks on loopback: pyftpdlib <- curl (libcurl) over FTP, passive (EPSV, PASV) and
    # active (PORT), downloads of a PLC project file, an upload and a listing; OpenSSH's sshd
    # <- curl (libssh2) over SFTP, as far as a refused login; aiosmtpd <- curl over SMTP, a
    # message carrying the PLC project file.
    local ftp=$WORK/ftp
    mkdir -p "$ftp/projects" "$ftp/uploads" /run/sshd
    head -c 3000 /dev/zero | tr '\0' 'P' >"$ftp/projects/line1.ap17"
    printf 'recipe 7: 40 C, 12 min\n' >"$ftp/recipe.txt"
    ssh-keygen -q -t ed25519 -N '' -f "$WORK/ssh_host_ed25519_key"
    "$VENV/bin/python" - "$WORK/mail.eml" "$ftp/projects/line1.ap17" <<'PY'
import sys
from email import policy
from email.message import EmailMessage
m = EmailMessage(policy=policy.SMTP)  # CRLF line ends, as a mail client sends them
m["From"] = "Engineering <eng@plant.example>"
m["To"] = "vendor@integrator.example, ops@plant.example"
m["Subject"] = "Line 1 project"
m.set_content("Project attached.\n")
m.add_attachment(open(sys.argv[2], "rb").read(), maintype="application",
                 subtype="octet-stream", filename="line1.ap17")
open(sys.argv[1], "wb").write(bytes(m))
PY
    local p
    for p in 21 22 25; do
        port_busy tcp "$p" && die "tcp port $p is already in use"
    done
    log "scenario it_files (tcp/21 and its data ports, tcp/22, tcp/25)"
    start_capture it_files "tcp port 21 or tcp portrange 40000-40009 or tcp portrange 41000-41009 or tcp port 22 or tcp port 25"
    start_bg "$WORK/ftp.log" "$VENV/bin/python" -m pyftpdlib -i 127.0.0.1 -p 21 -d "$ftp" -w \
        -r 40000-40009
    local ftp_pid=$LAST_PID
    wait_port tcp 21 "$ftp_pid"
    start_bg "$WORK/sshd.log" /usr/sbin/sshd -D -e -f /dev/null -p 22 -o ListenAddress=127.0.0.1 \
        -o PidFile=none -o UsePAM=no -h "$WORK/ssh_host_ed25519_key"
    local ssh_pid=$LAST_PID
    wait_port tcp 22 "$ssh_pid"
    start_bg "$WORK/smtp.log" "$VENV/bin/python" -m aiosmtpd -n -l 127.0.0.1:25 \
        -c aiosmtpd.handlers.Sink
    local smtp_pid=$LAST_PID
    wait_port tcp 25 "$smtp_pid"
    curl -sS -o /dev/null ftp://127.0.0.1/projects/line1.ap17
    curl -sS -o /dev/null --disable-epsv ftp://127.0.0.1/recipe.txt
    curl -sS -o /dev/null --disable-eprt -P 127.0.0.1:41000-41009 ftp://127.0.0.1/projects/line1.ap17
    curl -sS -T "$ftp/recipe.txt" ftp://127.0.0.1/uploads/recipe.txt
    curl -sS -o /dev/null ftp://127.0.0.1/
    curl -sS -k -u plant:wrong sftp://127.0.0.1/ 2>/dev/null || true
    curl -sS smtp://127.0.0.1:25 --mail-from eng@plant.example \
        --mail-rcpt vendor@integrator.example --mail-rcpt ops@plant.example -T "$WORK/mail.eml"
    stop_bg "$ftp_pid" TERM
    stop_bg "$ssh_pid" TERM
    stop_bg "$smtp_pid" TERM
    finish_capture it_files
}

run_it_dns() {
    # dnsmasq answering dig on loopback: the plant's own names (UDP, and one over TCP), then
    # queries whose first labels carry base32-encoded data under one domain, as a DNS tunnel
    # (iodine, dnscat2) sends them; dnsmasq, with no upstream, refuses those.
    port_busy udp 53 && die "udp port 53 is already in use"
    port_busy tcp 53 && die "tcp port 53 is already in use"
    log "scenario it_dns (udp/53, tcp/53)"
    start_capture it_dns "port 53"
    start_bg "$WORK/dnsmasq.log" dnsmasq --no-daemon --conf-file=/dev/null --no-resolv \
        --no-hosts --listen-address=127.0.0.1 --bind-interfaces --port=53 \
        --address=/hmi.plant.example/10.10.0.5 --address=/historian.plant.example/10.10.0.6
    local dns_pid=$LAST_PID
    wait_port udp 53 "$dns_pid"
    dig +short @127.0.0.1 hmi.plant.example A >/dev/null
    dig +short @127.0.0.1 historian.plant.example A >/dev/null
    dig +short +tcp @127.0.0.1 hmi.plant.example A >/dev/null
    local chunk
    for chunk in mzxw6ytboi2dkmzqgiydambqgiydambqgiydambqgiydambqga \
                 nbswy3dpeb3w64tmmqqhg2lunfzs4idjnzzxi4tpn5zgk3dpn5xgq \
                 onugs5dffzqxa5bqgiydambqgiydambqgiydambqgiydambqgiyda; do
        dig +short @127.0.0.1 "$chunk.t1.updates-cdn.example" TXT >/dev/null || true
    done
    stop_bg "$dns_pid" TERM
    finish_capture it_dns
}

SMB_USER=plantsmb
SMB_PASSWORD=Line3-Eng!2024
run_it_smb() {
    # Samba's smbd (foreground, a private smb.conf, everything under $WORK) <- smbprotocol, a
    # pure-Python SMB2/3 client: NTLM login as a local samba account, a listing of the share,
    # the download of a PLC project file, an upload, a read, an open of a missing file, then
    # close, tree disconnect and logoff. Encryption off, so names and contents are readable.
    local smb=$WORK/smb
    mkdir -p "$smb"/{state,lock,cache,run,ncalrpc,binddns,log,usershares,projects}
    mkdir -p -m 0700 "$smb/private"
    # smbd works in the share as the logged-in unix user, who must reach it through $WORK.
    chmod 0711 "$WORK" "$smb"
    if ! id -u "$SMB_USER" >/dev/null 2>&1; then
        log "creating unix user $SMB_USER (no home, no login shell) for the samba account"
        useradd -M -s /usr/sbin/nologin "$SMB_USER"
    fi
    head -c 6000 < <(yes 'PROJECT Line3 TIA Portal V17 ; OB1 FB10 DB1 ; S7-1500 CPU 1516-3 PN/DP') \
        >"$smb/projects/Line3.ap17"
    printf 'Line 3 filling station: engineering share. Back up before downloading to the PLC.\n' \
        >"$smb/projects/readme.txt"
    chown -R "$SMB_USER:" "$smb/projects"
    cat >"$smb/smb.conf" <<EOF
[global]
    workgroup = PLANT
    netbios name = FILESRV
    server role = standalone server
    security = user
    map to guest = never
    passdb backend = tdbsam:$smb/private/passdb.tdb
    interfaces = lo 127.0.0.1
    bind interfaces only = yes
    smb ports = 445
    disable netbios = yes
    server min protocol = SMB2_10
    server smb encrypt = off
    server signing = auto
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    state directory = $smb/state
    lock directory = $smb/lock
    cache directory = $smb/cache
    private dir = $smb/private
    pid directory = $smb/run
    ncalrpc dir = $smb/ncalrpc
    binddns dir = $smb/binddns
    usershare path = $smb/usershares
    log file = $smb/log/log.%m
    log level = 1
    obey pam restrictions = no
    unix password sync = no
    # synchronous file I/O: with Samba's default async I/O a READ is sometimes answered
    # with an interim STATUS_PENDING first, and the capture would differ from run to run
    aio read size = 0
    aio write size = 0

[projects]
    path = $smb/projects
    read only = no
    valid users = $SMB_USER
EOF
    testparm -s "$smb/smb.conf" >"$WORK/testparm.log" 2>&1 || die "smb.conf: $(cat "$WORK/testparm.log")"
    printf '%s\n%s\n' "$SMB_PASSWORD" "$SMB_PASSWORD" \
        | smbpasswd -c "$smb/smb.conf" -s -a "$SMB_USER" >"$WORK/smbpasswd.log" 2>&1 \
        || die "smbpasswd: $(cat "$WORK/smbpasswd.log")"
    port_busy tcp 445 && die "tcp port 445 is already in use (a system smbd? systemctl stop smbd)"
    log "scenario it_smb (tcp/445)"
    start_capture it_smb "tcp port 445"
    # smbd in the foreground leads a process group of its own and ends that group when it
    # stops: so no --no-process-group, which would leave it in this script's group.
    start_bg "$WORK/smbd.log" smbd --foreground --debug-stdout \
        --configfile="$smb/smb.conf"
    local smbd_pid=$LAST_PID
    wait_port tcp 445 "$smbd_pid"
    sleep 0.3
    start_bg "$WORK/smb-client.log" timeout 120 "$VENV/bin/python" "$SRC/smb_client_smbprotocol.py" \
        --server 127.0.0.1 --port 445 --user "$SMB_USER" --password "$SMB_PASSWORD" --share projects
    wait "$LAST_PID" || die "it_smb: client failed (its log follows)"
    sed 's/^/    /' "$WORK/smb-client.log" >&2
    [[ -s $smb/projects/Boiler.ACD ]] || die "it_smb: Boiler.ACD was not uploaded"
    sleep 0.3
    stop_bg "$smbd_pid" TERM
    finish_capture it_smb
}

# IEC 60870-5-104 scenarios ---------------------------------------------------
# Outstation: c104 (Python bindings of lib60870-C) on 127.0.0.10:2404, two
# stations (CA 1, CA 2; point map in src/iec104_rtu_c104.py). Master: scapy's
# IEC 104 layer over a plain socket (src/iec104_master_scapy.py), bound to its
# own loopback address.
IEC104_RTU_ADDR=127.0.0.10
IEC104_LISTEN=10           # iec104: seconds of spontaneous data
IEC104_SCADA_DURATION=32   # iec104-attack: the SCADA master's session
IEC104_ATTACK_DELAY=10     # iec104-attack: the intruder connects this many seconds in
IEC104_ATTACK_GAP=1

run_iec104() {
    scenario iec104_c104 tcp 2404 "tcp port 2404" \
        -- "$VENV_IEC104/bin/python" "$SRC/iec104_rtu_c104.py" --host "$IEC104_RTU_ADDR" --port 2404 \
        --spontaneous 1 \
        -- "$VENV_IEC104/bin/python" "$SRC/iec104_master_scapy.py" --host "$IEC104_RTU_ADDR" \
        --port 2404 --source "$HMI_ADDR" --mode normal --listen "$IEC104_LISTEN"
    sed 's/^/    /' "$WORK/iec104_c104.server.log" >&2
}

run_iec104_attack() {
    # The SCADA master (127.0.0.5) interrogates the outstation, sends one single command and
    # interrogates every 5 s for IEC104_SCADA_DURATION s; meanwhile the intruder (127.0.0.66)
    # opens its own connection and steps through commands, set-points, clock sync, reset
    # process, read and two requests the outstation refuses. No spontaneous data, so every
    # I-frame in the capture answers a request. pcaps/iec104_attack.steps.tsv is rewritten
    # from the intruder's step log and the capture's first frame.
    local name=iec104_attack srv scada intruder
    log "scenario $name (tcp/2404, SCADA $HMI_ADDR, intruder $ATTACKER_ADDR)"
    port_busy tcp 2404 && die "tcp port 2404 is already in use"
    start_capture "$name" "tcp port 2404"
    start_bg "$WORK/$name.server.log" "$VENV_IEC104/bin/python" "$SRC/iec104_rtu_c104.py" \
        --host "$IEC104_RTU_ADDR" --port 2404 --spontaneous 0
    srv=$LAST_PID
    wait_port tcp 2404 "$srv"
    sleep 0.3
    start_bg "$WORK/$name.scada.log" timeout 120 "$VENV_IEC104/bin/python" "$SRC/iec104_master_scapy.py" \
        --host "$IEC104_RTU_ADDR" --port 2404 --source "$HMI_ADDR" --mode scada \
        --duration "$IEC104_SCADA_DURATION" --period 5
    scada=$LAST_PID
    start_bg "$WORK/$name.intruder.log" timeout 120 sh -c '"$@" >"$0"' "$WORK/$name.steps.out" \
        "$VENV_IEC104/bin/python" "$SRC/iec104_master_scapy.py" --host "$IEC104_RTU_ADDR" --port 2404 \
        --source "$ATTACKER_ADDR" --mode intruder --delay "$IEC104_ATTACK_DELAY" --gap "$IEC104_ATTACK_GAP"
    intruder=$LAST_PID
    wait "$intruder" || die "$name: intruder failed (its log follows)"
    wait "$scada" || die "$name: SCADA master failed (its log follows)"
    sleep 0.3
    stop_bg "$srv" TERM
    sed 's/^/    /' "$WORK/$name.server.log" >&2
    finish_capture "$name"
    local t0
    t0=$(tshark -r "$OUT/$name.pcap" -c 1 -T fields -e frame.time_epoch 2>/dev/null)
    {
        printf 'step\ttime_s\tsrc_ip\tdst_ip\tprotocol\twhat\texpect\n'
        awk -F'\t' -v t0="$t0" -v src="$ATTACKER_ADDR" -v dst="$IEC104_RTU_ADDR" \
            '$1 == "STEP" { printf "%s\t%.1f\t%s\t%s\tiec104\t%s\t%s\n", $2, $4 - t0, src, dst, $3, $5 }' \
            "$WORK/$name.steps.out"
    } >"$OUT/$name.steps.tsv.tmp"
    (( $(wc -l <"$OUT/$name.steps.tsv.tmp") == 16 )) || die "$name: expected 15 intruder steps"
    mv -f "$OUT/$name.steps.tsv.tmp" "$OUT/$name.steps.tsv"
}

# EtherNet/IP + CIP scenarios -------------------------------------------------
# Server: cpppo's Logix simulator on 127.0.0.10 (TCP and UDP 44818) with four
# tags. Clients (src/enip_client.py, one process, three stacks): pycomm3 for
# ListIdentity, sessions, unconnected CIP and Forward Open 0x54; pylogix for tag
# services over a Large Forward Open 0x5B; scapy for ListServices and
# ListInterfaces. TCP sockets take their source address from bind_source.so.
ENIP_PLC_ADDR=127.0.0.10
ENIP_TAGS=(Level=INT[10] Setpoint=REAL Running=BOOL Counter=DINT[4])

run_enip_scenario() { # NAME MODE SOURCE
    local name=$1 mode=$2 src=$3
    port_busy udp 44818 && die "udp port 44818 is already in use"
    scenario "$name" tcp 44818 "port 44818 or port 2222" \
        -- "$VENV_ENIP/bin/python" -m cpppo.server.enip --no-config -a "$ENIP_PLC_ADDR:44818" \
        "${ENIP_TAGS[@]}" \
        -- env BIND_SOURCE_ADDR="$src" LD_PRELOAD="$WORK/bind_source.so" \
        "$VENV_ENIP/bin/python" "$SRC/enip_client.py" --host "$ENIP_PLC_ADDR" --source "$src" \
        --mode "$mode"
    sed 's/^/    /' "$WORK/$name.client.log" >&2
}

run_enip() { run_enip_scenario enip_cpppo normal "$HMI_ADDR"; }
run_enip_attack() { run_enip_scenario enip_attack attack "$ATTACKER_ADDR"; }

# OPC UA scenarios -------------------------------------------------------------
# Server: asyncua on 127.0.0.10:4840 (src/opcua_server_asyncua.py), security
# None and, with the self-signed certificate made here, Basic256Sha256.
# Client: node-opcua (src/opcua_client_nodeopcua.js); its own PKI (and so its
# certificate) under $WORK, its source address from bind_source.so.
OPCUA_SERVER_ADDR=127.0.0.10
OPCUA_PASSWORD=op-2024

run_opcua_scenario() { # NAME MODE SOURCE
    local name=$1 mode=$2 src=$3
    if [[ ! -s $WORK/opcua-server.pem ]]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout "$WORK/opcua-server-key.pem" \
            -out "$WORK/opcua-server.pem" -subj "/O=icsight test plant/CN=plant-opcua" \
            -addext "subjectAltName=URI:urn:icsight:plant:server,IP:$OPCUA_SERVER_ADDR" \
            -addext "keyUsage=digitalSignature,nonRepudiation,keyEncipherment,dataEncipherment,keyCertSign" \
            -addext "extendedKeyUsage=serverAuth,clientAuth" 2>/dev/null
    fi
    mkdir -p "$WORK/node-config"
    scenario "$name" tcp 4840 "tcp port 4840" \
        -- "$VENV_OPCUA/bin/python" "$SRC/opcua_server_asyncua.py" --host "$OPCUA_SERVER_ADDR" \
        --port 4840 --password "$OPCUA_PASSWORD" --cert "$WORK/opcua-server.pem" \
        --key "$WORK/opcua-server-key.pem" \
        -- env NODE_PATH="$NODE_OPCUA/node_modules" XDG_CONFIG_HOME="$WORK/node-config" \
        BIND_SOURCE_ADDR="$src" LD_PRELOAD="$WORK/bind_source.so" \
        node "$SRC/opcua_client_nodeopcua.js" "opc.tcp://$OPCUA_SERVER_ADDR:4840/icsight/" "$mode" \
        "$OPCUA_PASSWORD"
    grep -v '^ ' "$WORK/$name.client.log" | sed 's/^/    /' >&2
}

run_opcua() { run_opcua_scenario opcua_asyncua_nodeopcua normal "$HMI_ADDR"; }
run_opcua_encrypted() { run_opcua_scenario opcua_encrypted encrypted "$HMI_ADDR"; }
run_opcua_attack() { run_opcua_scenario opcua_attack attack "$ATTACKER_ADDR"; }

# IEC 61850 scenarios ----------------------------------------------------------
# Server: libiec61850 1.6 (pyiec61850-ng) on 127.0.0.10:102, the IED "PlantLD" with the
# domains PlantLDLD0 and PlantLDPROT (model in src/iec61850_server_libiec61850.py) and
# file services over a directory made here. Clients (src/iec61850_client.py): py61850
# and iec61850-rust, their source address from bind_source.so. GOOSE and SV: libiec61850's
# publishers on lo (src/iec61850_goose.py); the intruder's GOOSE frames: scapy
# (src/iec61850_goose_spoof.py), which takes the publisher's frame off lo and changes it.
IEC61850_IED_ADDR=127.0.0.10
IEC61850_LISTEN=5           # iec61850: seconds of reports
IEC61850_POLL_DURATION=30   # iec61850-attack: the HMI reads every 2 s for this long
IEC61850_ATTACK_DELAY=8     # iec61850-attack: the intruder's first step this many seconds in
IEC61850_ATTACK_GAP=1.5
GOOSE_SV_FILTER="ether proto 0x88b8 or ether proto 0x88ba or (vlan and (ether proto 0x88b8 or ether proto 0x88ba))"

iec61850_files() { # DIR: the IED's file store, made anew: a COMTRADE fault record and a log
    local d=$1
    rm -rf "$d"
    mkdir -p "$d/COMTRADE" "$d/LOGS"
    cat >"$d/COMTRADE/FDR1_TRIP_001.cfg" <<'EOF'
PlantLD FDR1,PlantLDLD0,1999
8,8A,0D
1,IA,A,FDR1,A,0.01,0,0,-32767,32767,1000,1,P
2,IB,B,FDR1,A,0.01,0,0,-32767,32767,1000,1,P
3,IC,C,FDR1,A,0.01,0,0,-32767,32767,1000,1,P
4,IN,N,FDR1,A,0.01,0,0,-32767,32767,1000,1,P
5,VA,A,FDR1,kV,0.001,0,0,-32767,32767,11,0.11,P
6,VB,B,FDR1,kV,0.001,0,0,-32767,32767,11,0.11,P
7,VC,C,FDR1,kV,0.001,0,0,-32767,32767,11,0.11,P
8,VN,N,FDR1,kV,0.001,0,0,-32767,32767,11,0.11,P
50
1
4000,160
01/12/2026,08:15:02.000000
01/12/2026,08:15:02.020000
BINARY
1
EOF
    # 160 binary samples: sample number, time (us), 8 channels of int16 (a fault on phase A)
    "$VENV_IEC61850/bin/python" - "$d/COMTRADE/FDR1_TRIP_001.dat" <<'PY'
import math, struct, sys
with open(sys.argv[1], "wb") as f:
    for n in range(160):
        ph = 2 * math.pi * n / 80
        amp = 1200 if n < 80 else 9000
        ch = [int(amp * math.sin(ph)), int(1200 * math.sin(ph - 2.094)), int(1200 * math.sin(ph + 2.094))]
        ch.append(sum(ch))
        vv = [int(9000 * math.sin(ph - k * 2.094)) for k in range(3)]
        ch += vv + [sum(vv)]
        f.write(struct.pack("<II8h", n + 1, n * 250, *ch))
PY
    printf '%s\n' "2026-12-01 08:15:02.004 PTOC1 Str general" "2026-12-01 08:15:02.084 PTOC1 Op general" \
        "2026-12-01 08:15:02.130 XCBR1 Pos off" >"$d/LOGS/events.log"
}

run_iec61850() {
    iec61850_files "$WORK/iec61850-files"
    scenario iec61850_mms tcp 102 "tcp port 102" \
        -- "$VENV_IEC61850/bin/python" "$SRC/iec61850_server_libiec61850.py" --host "$IEC61850_IED_ADDR" \
        --port 102 --files "$WORK/iec61850-files" \
        -- env BIND_SOURCE_ADDR="$HMI_ADDR" LD_PRELOAD="$WORK/bind_source.so" \
        "$VENV_IEC61850/bin/python" "$SRC/iec61850_client.py" --host "$IEC61850_IED_ADDR" --port 102 \
        --mode hmi --listen "$IEC61850_LISTEN"
    sed 's/^/    /' "$WORK/iec61850_mms.client.log" >&2
}

run_iec61850_attack() {
    # The HMI (127.0.0.5) reads every 2 s for IEC61850_POLL_DURATION s and the GOOSE publisher
    # sends its heartbeat; meanwhile the intruder (127.0.0.66) steps through recon, a control,
    # a setting and a configuration write, a FileDelete and two spoofed GOOSE bursts.
    # pcaps/iec61850_attack.steps.tsv is rewritten from the intruder's step log and the
    # capture's first frame.
    local name=iec61850_attack srv goose hmi intruder files=$WORK/iec61850-files
    log "scenario $name (tcp/102 and GOOSE on lo; HMI $HMI_ADDR, intruder $ATTACKER_ADDR)"
    port_busy tcp 102 && die "tcp port 102 is already in use"
    iec61850_files "$files"
    start_capture "$name" "tcp port 102 or ether proto 0x88b8 or (vlan and ether proto 0x88b8)"
    start_bg "$WORK/$name.server.log" "$VENV_IEC61850/bin/python" "$SRC/iec61850_server_libiec61850.py" \
        --host "$IEC61850_IED_ADDR" --port 102 --files "$files"
    srv=$LAST_PID
    wait_port tcp 102 "$srv"
    start_bg "$WORK/$name.goose.log" timeout 120 "$VENV_IEC61850/bin/python" "$SRC/iec61850_goose.py" \
        --iface lo --mode heartbeat --duration $((IEC61850_POLL_DURATION + 4))
    goose=$LAST_PID
    sleep 0.3
    start_bg "$WORK/$name.hmi.log" timeout 120 env BIND_SOURCE_ADDR="$HMI_ADDR" LD_PRELOAD="$WORK/bind_source.so" \
        "$VENV_IEC61850/bin/python" "$SRC/iec61850_client.py" --host "$IEC61850_IED_ADDR" --port 102 \
        --mode poll --duration "$IEC61850_POLL_DURATION" --period 2
    hmi=$LAST_PID
    # PYTHONPATH: the intruder imports src/iec61850_goose_spoof.py
    start_bg "$WORK/$name.intruder.log" timeout 120 sh -c '"$@" >"$0"' "$WORK/$name.steps.out" \
        env BIND_SOURCE_ADDR="$ATTACKER_ADDR" LD_PRELOAD="$WORK/bind_source.so" PYTHONPATH="$SRC" \
        "$VENV_IEC61850/bin/python" "$SRC/iec61850_client.py" --host "$IEC61850_IED_ADDR" --port 102 \
        --mode intruder --delay "$IEC61850_ATTACK_DELAY" --gap "$IEC61850_ATTACK_GAP" --iface lo \
        --files "$files"
    intruder=$LAST_PID
    wait "$intruder" || die "$name: intruder failed (its log follows)"
    wait "$hmi" || die "$name: HMI failed (its log follows)"
    wait "$goose" || die "$name: GOOSE publisher failed (its log follows)"
    sleep 0.3
    stop_bg "$srv" TERM
    sed 's/^/    /' "$WORK/$name.intruder.log" "$WORK/$name.hmi.log" "$WORK/$name.server.log" >&2
    [[ ! -e $files/COMTRADE/FDR1_TRIP_001.dat ]] || die "$name: the FileDelete left the file in place"
    finish_capture "$name"
    local t0
    t0=$(tshark -r "$OUT/$name.pcap" -c 1 -T fields -e frame.time_epoch 2>/dev/null)
    # GOOSE rows have no IP addresses: those frames go from the publisher's own MAC
    # (spoofed) to the multicast 01:0c:cd:01:00:01.
    {
        printf 'step\ttime_s\tsrc_ip\tdst_ip\tprotocol\twhat\texpect\n'
        awk -F'\t' -v t0="$t0" -v src="$ATTACKER_ADDR" -v dst="$IEC61850_IED_ADDR" '
            $1 == "STEP" {
                goose = ($3 ~ /^goose_/)
                printf "%s\t%.1f\t%s\t%s\t%s\t%s\t%s\n", $2, $4 - t0, goose ? "-" : src,
                    goose ? "-" : dst, goose ? "goose" : "mms", $3, $5
            }' "$WORK/$name.steps.out"
    } >"$OUT/$name.steps.tsv.tmp"
    (( $(wc -l <"$OUT/$name.steps.tsv.tmp") == 11 )) || die "$name: expected 10 intruder steps"
    mv -f "$OUT/$name.steps.tsv.tmp" "$OUT/$name.steps.tsv"
}

run_goose() {
    # No server and no IP: libiec61850's publishers write Ethernet frames on lo, where
    # tcpdump sees each once. SV first (80 frames, about 20 ms), then the GOOSE sequence.
    local name=iec61850_goose pub
    log "scenario $name (GOOSE 0x88b8 and SV 0x88ba on lo)"
    start_capture "$name" "$GOOSE_SV_FILTER"
    start_bg "$WORK/$name.publisher.log" timeout 120 "$VENV_IEC61850/bin/python" "$SRC/iec61850_goose.py" \
        --iface lo --mode normal --sv --sv-frames 80
    pub=$LAST_PID
    wait "$pub" || die "$name: publisher failed (its log follows)"
    sed 's/^/    /' "$WORK/$name.publisher.log" >&2
    finish_capture "$name"
}

# attack / operations scenarios --------------------------------------------
run_modbus_writes() {
    # pymodbus treats unit id 0 as broadcast (carried out, never answered).
    scenario modbus_attack_writes tcp 502 "tcp port 502" \
        -- "$VENV/bin/python" "$SRC/modbus_server_pymodbus.py" --port 502 --broadcast \
        -- "$WORK/modbus_attack_libmodbus" 127.0.0.1 502 writes
}

run_modbus_diag() {
    # libmodbus implements neither FC8 nor FC43/FC20/FC21 on the server side.
    scenario modbus_attack_diagnostics tcp 502 "tcp port 502" \
        -- "$VENV/bin/python" "$SRC/modbus_server_pymodbus.py" --port 502 \
        -- "$VENV/bin/python" "$SRC/modbus_ops_pymodbus.py" --port 502 --mode diagnostics
}

run_modbus_fcscan() {
    scenario modbus_attack_fcscan tcp 502 "tcp port 502" \
        -- "$VENV/bin/python" "$SRC/modbus_server_pymodbus.py" --port 502 \
        -- "$WORK/modbus_attack_libmodbus" 127.0.0.1 502 fcscan 1
}

run_modbus_unitscan() {
    # Unit ids 1..200 (not 247) keep the capture under 40 KB.
    scenario modbus_attack_unitscan tcp 502 "tcp port 502" \
        -- "$VENV/bin/python" "$SRC/modbus_server_pymodbus.py" --port 502 \
        -- "$WORK/modbus_attack_libmodbus" 127.0.0.1 502 unitscan 1 200
}

run_modbus_poll() {
    scenario modbus_normal_polling tcp 502 "tcp port 502" \
        -- "$WORK/modbus_server_libmodbus" 127.0.0.1 502 \
        -- "$VENV/bin/python" "$SRC/modbus_ops_pymodbus.py" --port 502 --mode poll --polls 60 --period 0.2
}

run_s7_attack() {
    # python-snap7 3.x server: carries out upload/download and answers the
    # PI services, password and clock requests; native Snap7 client.
    scenario s7comm_attack_control tcp 102 "tcp port 102" \
        -- "$VENV_S7V3/bin/python" "$SRC/s7_server_snap7.py" --port 102 \
        -- "$VENV/bin/python" "$SRC/s7_client_snap7.py" --port 102 --mode attack
}

run_s7_poll() {
    scenario s7comm_normal_polling tcp 102 "tcp port 102" \
        -- "$VENV_S7V3/bin/python" "$SRC/s7_server_snap7.py" --port 102 \
        -- "$VENV/bin/python" "$SRC/s7_client_snap7.py" --port 102 --mode poll --polls 60 --period 0.2
}

run_dnp3_attack() {
    scenario dnp3_attack_control tcp 20000 "tcp port 20000" \
        -- "$VENV/bin/python" "$SRC/dnp3_outstation.py" --transport tcp --port 20000 --warm-restart --need-time \
        -- "$VENV/bin/python" "$SRC/dnp3_master.py" --transport tcp --port 20000 --scenario attack
}

run_dnp3_poll() {
    scenario dnp3_normal_polling tcp 20000 "tcp port 20000" \
        -- "$VENV/bin/python" "$SRC/dnp3_outstation.py" --transport tcp --port 20000 \
        -- "$VENV/bin/python" "$SRC/dnp3_master.py" --transport tcp --port 20000 --scenario poll --polls 40 --period 0.5
}

# baseline scenarios ----------------------------------------------------------
# Two PLCs and an HMI that polls both, on their own loopback addresses; with
# ATTACK-DELAY, an intruder starts that many seconds after the HMI.  The
# native Snap7 client cannot bind a source address itself: the HMI and the
# intruder run with the bind_source.so shim (LD_PRELOAD) for it.
BASELINE_CYCLES_NORMAL_A=180
BASELINE_CYCLES_NORMAL_B=120
BASELINE_CYCLES_ATTACK=91 # steps from 40 s to 69 s, polling goes on to 90 s
BASELINE_ATTACK_DELAY=40

run_baseline() { # NAME CYCLES [ATTACK-DELAY]
    local name=$1 cycles=$2 delay=${3:-} mb_pid s7_pid hmi_pid attacker_pid="" f
    log "scenario $name (Modbus/TCP 502 + S7comm 102, $cycles s of polling${delay:+, intruder after $delay s})"
    port_busy tcp 502 && die "tcp port 502 is already in use"
    port_busy tcp 102 && die "tcp port 102 is already in use"
    start_capture "$name" "tcp port 502 or tcp port 102"
    start_bg "$WORK/$name.modbus-plc.log" "$VENV/bin/python" "$SRC/plant_modbus_plc.py" \
        --host "$MODBUS_PLC_ADDR" --port 502
    mb_pid=$LAST_PID
    start_bg "$WORK/$name.s7-plc.log" "$VENV_S7V3/bin/python" "$SRC/plant_s7_plc.py" \
        --host "$S7_PLC_ADDR" --port 102
    s7_pid=$LAST_PID
    wait_port tcp 502 "$mb_pid"
    wait_port tcp 102 "$s7_pid"
    sleep 0.5
    start_bg "$WORK/$name.hmi.log" timeout $((cycles + 60)) \
        env BIND_SOURCE_ADDR="$HMI_ADDR" LD_PRELOAD="$WORK/bind_source.so" \
        "$VENV/bin/python" "$SRC/plant_hmi.py" --modbus-plc "$MODBUS_PLC_ADDR" --s7-plc "$S7_PLC_ADDR" \
        --source "$HMI_ADDR" --duration "$cycles"
    hmi_pid=$LAST_PID
    if [[ -n $delay ]]; then
        start_bg "$WORK/$name.attacker.log" timeout $((cycles + 60)) \
            env BIND_SOURCE_ADDR="$ATTACKER_ADDR" LD_PRELOAD="$WORK/bind_source.so" \
            "$VENV/bin/python" "$SRC/plant_attacker.py" --modbus-plc "$MODBUS_PLC_ADDR" \
            --s7-plc "$S7_PLC_ADDR" --source "$ATTACKER_ADDR" --delay "$delay" --gap 4
        attacker_pid=$LAST_PID
    fi
    wait "$hmi_pid" || die "$name: HMI failed (its log follows)"
    if [[ -n $attacker_pid ]]; then
        wait "$attacker_pid" || die "$name: intruder failed (its log follows)"
    fi
    sleep 0.5
    stop_bg "$mb_pid" TERM
    stop_bg "$s7_pid" TERM
    for f in "$WORK/$name".*.log; do
        [[ $f == *tcpdump.log ]] || { printf -- '----- %s\n' "$(basename "$f")"; tail -n 4 "$f"; } >&2
    done
    finish_capture "$name"
}

run_baseline_normal_a() { run_baseline baseline_normal_a "$BASELINE_CYCLES_NORMAL_A"; }
run_baseline_normal_b() { run_baseline baseline_normal_b "$BASELINE_CYCLES_NORMAL_B"; }
run_baseline_attack() { run_baseline baseline_attack "$BASELINE_CYCLES_ATTACK" "$BASELINE_ATTACK_DELAY"; }

# ----------------------------------------------------------------------------
# verification and manifest
# ----------------------------------------------------------------------------
packets() { tshark -r "$1" -T fields -e frame.number 2>/dev/null | wc -l; }

count() { # FILE FILTER [extra tshark args...]
    local f=$1 filter=$2; shift 2
    tshark -r "$f" "$@" -Y "$filter" -T fields -e frame.number 2>/dev/null | wc -l
}

# protocol list, decode-as args, and checks for each capture (display
# filters, each of which must match at least one frame; no spaces inside)
declare -A PROTOS=(
    [modbus_pymodbus_libmodbus]="tcp mbtcp modbus"
    [modbus_pymodbus_offport]="tcp mbtcp modbus"
    [s7comm_snap7]="tcp tpkt cotp s7comm"
    [s7comm_snap7_control]="tcp tpkt cotp s7comm"
    [s7comm_snap7_control_native]="tcp tpkt cotp s7comm"
    [dnp3_opendnp3]="tcp dnp3"
    [dnp3_opendnp3_udp]="udp dnp3"
    [modbus_attack_writes]="tcp mbtcp modbus"
    [modbus_attack_diagnostics]="tcp mbtcp modbus"
    [modbus_attack_fcscan]="tcp mbtcp modbus"
    [modbus_attack_unitscan]="tcp mbtcp modbus"
    [modbus_normal_polling]="tcp mbtcp modbus"
    [s7comm_attack_control]="tcp tpkt cotp s7comm"
    [s7comm_normal_polling]="tcp tpkt cotp s7comm"
    [dnp3_attack_control]="tcp dnp3"
    [dnp3_normal_polling]="tcp dnp3"
    [baseline_normal_a]="tcp mbtcp modbus tpkt cotp s7comm"
    [baseline_normal_b]="tcp mbtcp modbus tpkt cotp s7comm"
    [baseline_attack]="tcp mbtcp modbus tpkt cotp s7comm"
    [it_web_tls]="tcp http tls"
    [it_files]="tcp ftp ftp-data ssh smtp imf"
    [it_dns]="udp dns"
    [it_smb]="tcp nbss smb2"
    [iec104_c104]="tcp iec60870_104 iec60870_asdu"
    [iec104_attack]="tcp iec60870_104 iec60870_asdu"
    [enip_cpppo]="tcp udp enip cip cipcm cipcls"
    [enip_attack]="tcp udp enip cip cipcm cipcls"
    [opcua_asyncua_nodeopcua]="tcp opcua"
    [opcua_encrypted]="tcp opcua"
    [opcua_attack]="tcp opcua"
    [iec61850_mms]="tcp tpkt cotp ses pres acse mms"
    [iec61850_attack]="tcp tpkt cotp ses pres acse mms goose"
    [iec61850_goose]="goose sv"
)
declare -A DECODE_AS=(
    [modbus_pymodbus_offport]="-d tcp.port==5020,mbtcp"
    [it_web_tls]="-d tcp.port==8443,tls"
)
declare -A EXTRA_CHECKS=(
    [it_dns]="tcp.port==53&&dns dns.qry.type==16 dns.flags.rcode==5"
    [it_smb]="smb2.cmd==3 smb2.cmd==5&&smb2.filename==\"Line3.ap17\" smb2.cmd==8 smb2.cmd==9 smb2.nt_status==0xc0000034 smb2.filename==\"Boiler.ACD\""
    [it_files]="ftp.request.command==EPSV ftp.request.command==PASV ftp.request.command==PORT ftp.request.command==STOR ftp.request.command==LIST ssh.kex.hassh ssh.kex.hasshserver smtp.req.command==DATA imf.from"
    [it_web_tls]="http.request.method==GET tls.handshake.extensions_server_name==\"hmi.plant.example\" tls.handshake.type==11 tls.handshake.extensions.supported_version==0x0304"
    [modbus_pymodbus_libmodbus]="modbus.exception_code"
    [modbus_pymodbus_offport]="modbus.exception_code"
    [s7comm_snap7]="cotp.type==0x0e cotp.type==0x0d s7comm.param.func==0xf0 s7comm.param.userdata.funcgroup==4"
    [s7comm_snap7_control]="s7comm.param.func==0x1d s7comm.param.func==0x1a s7comm.param.func==0x1b s7comm.param.func==0x29 s7comm.param.func==0x28"
    [s7comm_snap7_control_native]="s7comm.param.func==0x1d s7comm.param.func==0x29 s7comm.param.func==0x28"
    [dnp3_opendnp3]="dnp3.al.func==130&&dnp3.al.obj dnp3.al.func==3 dnp3.al.func==4 dnp3.al.func==5 dnp3.al.func==20 dnp3.al.func==21 dnp3.al.func==13 dnp3.al.obj==0x0201 dnp3.al.obj==0x0b01 dnp3.al.obj==0x2a01 dnp3.ctl.secfunc==11"
    [dnp3_opendnp3_udp]="dnp3.al.func==130&&dnp3.al.obj dnp3.al.func==3 dnp3.al.func==4 dnp3.al.func==5 dnp3.al.obj==0x0201 dnp3.al.obj==0x0b01"
    [modbus_attack_writes]="mbtcp.unit_id==0&&modbus.func_code==5 mbtcp.unit_id==0&&modbus.func_code==16 modbus.func_code==6&&modbus.data==fd:e8 modbus.func_code==15 modbus.func_code==22 modbus.func_code==23"
    [modbus_attack_diagnostics]="modbus.diagnostic_code==0 modbus.diagnostic_code==1 modbus.diagnostic_code==4 modbus.diagnostic_code==10 modbus.func_code==17 modbus.mei==14 modbus.func_code==20 modbus.func_code==21"
    [modbus_attack_fcscan]="modbus.func_code==127 modbus.func_code==90 modbus.func_code==65 modbus.exception_code==1"
    [modbus_attack_unitscan]="mbtcp.unit_id==200 modbus.exception_code"
    [s7comm_attack_control]="s7comm.param.func==0x29 s7comm.param.func==0x28 s7comm.param.func==0x1a s7comm.param.func==0x1b s7comm.param.func==0x1c s7comm.param.func==0x1d s7comm.param.func==0x1e s7comm.param.func==0x1f s7comm.param.func==0x05 s7comm.param.userdata.funcgroup==5 s7comm.param.userdata.funcgroup==7 s7comm.param.userdata.funcgroup==3 s7comm.data.userdata.szl_id==0x0011 s7comm.data.userdata.szl_id==0x001c"
    [s7comm_normal_polling]="s7comm.param.func==0x04 s7comm.param.func==0xf0"
    [dnp3_attack_control]="dnp3.al.func==13 dnp3.al.func==14 dnp3.al.func==3 dnp3.al.func==4 dnp3.al.func==5 dnp3.al.func==6 dnp3.al.func==21 dnp3.al.func==7 dnp3.al.func==9 dnp3.al.func==18 dnp3.al.func==2&&dnp3.al.obj==0x3201 dnp3.al.func==2&&dnp3.al.obj==0x5001 dnp3.al.obj==0x2902 dnp3.al.obj==0x0c01"
    [dnp3_normal_polling]="dnp3.al.func==1 dnp3.al.func==129"
    [iec104_c104]="iec60870_104.utype==0x01 iec60870_104.utype==0x02 iec60870_104.utype==0x10 iec60870_104.utype==0x20 iec60870_104.utype==0x04 iec60870_104.utype==0x08 iec60870_104.type==1 iec60870_asdu.typeid==100&&iec60870_asdu.causetx==6 iec60870_asdu.typeid==100&&iec60870_asdu.causetx==7 iec60870_asdu.typeid==100&&iec60870_asdu.causetx==10 iec60870_asdu.typeid==100&&iec60870_asdu.addr==2 iec60870_asdu.typeid==1&&iec60870_asdu.causetx==20 iec60870_asdu.typeid==3 iec60870_asdu.typeid==9 iec60870_asdu.typeid==11 iec60870_asdu.typeid==13 iec60870_asdu.typeid==30 iec60870_asdu.typeid==36 iec60870_asdu.typeid==13&&iec60870_asdu.causetx==3 iec60870_asdu.typeid==101&&iec60870_asdu.causetx==10 iec60870_asdu.typeid==15&&iec60870_asdu.causetx==37"
    [enip_cpppo]="udp&&enip.command==0x0063&&ip.src==127.0.0.10 tcp&&enip.command==0x0063&&ip.src==127.0.0.10 enip.command==0x0004&&ip.src==127.0.0.10 enip.command==0x0064&&ip.src==127.0.0.10 enip.command==0x0065&&ip.src==127.0.0.10 enip.command==0x0066 enip.command==0x006f enip.command==0x0070 cip.sc==0x54&&cip.genstat==0 cip.sc==0x5b&&cip.genstat==0 cip.sc==0x4e&&cip.genstat==0 cip.sc==0x01&&cip.class==0x01&&cip.genstat==0 cip.sc==0x0e&&cip.attribute==7 cip.sc==0x4c&&cip.symbol==\"Level\" cip.sc==0x4d&&cip.symbol==\"Setpoint\" cip.sc==0x0a"
    [enip_attack]="udp&&ip.dst==127.0.0.1&&enip.command==0x0063 udp&&ip.dst==127.0.0.20&&enip.command==0x0063 udp&&ip.src==127.0.0.10&&enip.command==0x0063 cip.sc==0x10&&cip.class==0x01 cip.sc==0x10&&cip.class==0xf5 cip.genstat==0x08 cip.sc==0x54&&cip.genstat==0 cip.sc==0x4d&&cip.symbol==\"Setpoint\" cip.sc==0x0a cip.sc==0x4b&&cip.class==0xa1 cip.sc==0x05&&cip.class==0x01"
    [opcua_asyncua_nodeopcua]="opcua.transport.type==\"HEL\" opcua.transport.type==\"ACK\" opcua.transport.type==\"OPN\" opcua.transport.type==\"CLO\" opcua.servicenodeid.numeric==428 opcua.servicenodeid.numeric==461 opcua.servicenodeid.numeric==467 opcua.servicenodeid.numeric==527 opcua.servicenodeid.numeric==631 opcua.servicenodeid.numeric==673 opcua.servicenodeid.numeric==712 opcua.servicenodeid.numeric==787 opcua.servicenodeid.numeric==751 opcua.servicenodeid.numeric==826 opcua.servicenodeid.numeric==829 opcua.servicenodeid.numeric==847 opcua.servicenodeid.numeric==473 opcua.UserName==\"operator\""
    [opcua_encrypted]="opcua.security.spu==\"http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256\" opcua.security.spu==\"http://opcfoundation.org/UA/SecurityPolicy#None\" opcua.servicenodeid.numeric==428 opcua.transport.type==\"MSG\"&&tcp.srcport!=4840"
    [opcua_attack]="ip.src==127.0.0.66&&opcua.servicenodeid.numeric==467 opcua.ServiceResult==0x801f0000 opcua.servicenodeid.numeric==467&&opcua.PolicyId==\"anonymous\" opcua.servicenodeid.numeric==527 opcua.servicenodeid.numeric==673 opcua.servicenodeid.numeric==712"
    [iec61850_mms]="cotp.type==0x0e cotp.type==0x0d mms.initiate_RequestPDU_element mms.initiate_ResponsePDU_element mms.confirmedServiceRequest==1&&mms.objectClass==9 mms.confirmedServiceRequest==1&&mms.objectClass==0 mms.confirmedServiceRequest==1&&mms.objectClass==2 mms.confirmedServiceRequest==6 mms.confirmedServiceResponse==6 mms.confirmedServiceRequest==4&&mms.itemId==\"GGIO1\$MX\$AnIn1\$mag\$f\" mms.confirmedServiceRequest==4&&mms.itemId==\"LLN0\$Events\" mms.confirmedServiceRequest==4&&mms.domainId==\"PlantLDPROT\" mms.confirmedServiceRequest==11 mms.confirmedServiceResponse==11 mms.confirmedServiceRequest==12 mms.confirmedServiceRequest==13 mms.confirmedServiceResponse==13 mms.confirmedServiceRequest==77 mms.confirmedServiceRequest==72 mms.confirmedServiceRequest==73&&ip.src==127.0.0.5 mms.fileData mms.confirmedServiceRequest==74 mms.confirmedServiceRequest==5&&mms.itemId==\"LLN0\$RP\$urcbMeas01\$RptEna\" mms.confirmedServiceRequest==5&&mms.itemId==\"LLN0\$BR\$brcbEvents01\$GI\" mms.unconfirmedService==0&&mms.vmd_specific==\"RPT\"&&mms.data.visible-string==\"PlantLDLD0/LLN0\$RP\$urcbMeas01\" mms.unconfirmedService==0&&mms.data.visible-string==\"PlantLDLD0/LLN0\$BR\$brcbEvents01\" mms.conclude_RequestPDU_element mms.conclude_ResponsePDU_element"
    [iec61850_attack]="ip.src==127.0.0.5&&mms.confirmedServiceRequest==4 ip.src==127.0.0.66&&mms.confirmedServiceRequest==1&&mms.objectClass==9 ip.src==127.0.0.66&&mms.confirmedServiceRequest==6&&mms.itemId==\"PTOC1\" mms.confirmedServiceRequest==4&&mms.itemId==\"LLN0\$GO\$gcbEvents\" ip.src==127.0.0.66&&mms.confirmedServiceRequest==77 mms.confirmedServiceRequest==5&&mms.itemId==\"GGIO1\$CO\$SPCSO1\$Oper\" mms.confirmedServiceRequest==5&&mms.itemId==\"PTOC1\$SP\$StrVal\$setMag\$f\" mms.confirmedServiceRequest==5&&mms.itemId==\"GGIO1\$CF\$SPCSO2\$ctlModel\" mms.confirmedServiceRequest==76&&mms.FileName_item==\"COMTRADE/FDR1_TRIP_001.dat\" mms.confirmedServiceResponse==76 mms.confirmedServiceResponse==5 goose.gocbRef==\"PlantLDLD0/LLN0\$GO\$gcbEvents\" goose.stNum==1&&goose.sqNum>=10 goose.stNum>=101&&goose.sqNum==0 goose.stNum>=101&&goose.sqNum==3 goose.stNum==1&&goose.sqNum==0&&frame.time_relative>5 vlan.id==10&&goose"
    [iec61850_goose]="goose.gocbRef==\"PlantLDLD0/LLN0\$GO\$gcbEvents\" goose.datSet==\"PlantLDLD0/LLN0\$Events\" goose.appid==0x1000 vlan.id==10&&vlan.priority==4&&goose eth.dst==01:0c:cd:01:00:01 goose.stNum==1&&goose.sqNum==3 goose.stNum==2&&goose.sqNum==0&&goose.timeAllowedtoLive==20 goose.stNum==2&&goose.sqNum==11 goose.stNum==3&&goose.sqNum==0 goose.stNum==3&&goose.sqNum==10 goose.numDatSetEntries==6 sv.svID==\"PlantMU01\" sv.appid==0x4000 eth.type==0x88ba sv.smpCnt==0 sv.smpCnt==79 sv.smpRate==4000 sv.smpSynch==2"
    [iec104_attack]="ip.src==127.0.0.5&&iec60870_asdu.typeid==45 ip.src==127.0.0.66&&iec60870_asdu.typeid==100 iec60870_asdu.typeid==45&&iec60870_asdu.sco.se==1 iec60870_asdu.typeid==45&&iec60870_asdu.causetx==10 iec60870_asdu.typeid==46 iec60870_asdu.typeid==48 iec60870_asdu.typeid==49 iec60870_asdu.typeid==50 iec60870_asdu.typeid==103 iec60870_asdu.typeid==105 iec60870_asdu.typeid==102 iec60870_asdu.typeid==45&&iec60870_asdu.ioa==5000&&iec60870_asdu.causetx==47 iec60870_asdu.typeid==100&&iec60870_asdu.addr==99&&iec60870_asdu.causetx==46 iec60870_asdu.nega==1 iec60870_104.utype==0x04"
)
# display filters that must match NO frame (the normal-polling captures must
# hold nothing a default rule fires on)
declare -A MUST_NOT=(
    [modbus_normal_polling]="!(modbus.func_code<=4)&&modbus mbtcp.unit_id!=1 modbus.exception_code"
    [s7comm_normal_polling]="s7comm&&!(s7comm.param.func==0x04||s7comm.param.func==0xf0) s7comm.header.rosctr==7 s7comm.header.errcls!=0"
    [dnp3_normal_polling]="dnp3.al.func&&!(dnp3.al.func==0||dnp3.al.func==1||dnp3.al.func==20||dnp3.al.func==129||dnp3.al.func==130) dnp3.al.iin.fcni==1"
    [iec104_c104]="iec60870_asdu.nega==1 iec60870_asdu.typeid>=45&&iec60870_asdu.typeid<=99 !(ip.addr==127.0.0.5)"
    [enip_cpppo]="!(ip.addr==127.0.0.5) cip.genstat>0 tcp.flags.reset==1"
    [opcua_encrypted]="opcua.UserName tcp.flags.reset==1"
    [opcua_asyncua_nodeopcua]="opcua.servicenodeid.numeric==467&&opcua.PolicyId==\"anonymous\" opcua.servicenodeid.numeric==397 opcua.ServiceResult!=0 !(ip.addr==127.0.0.5) tcp.flags.reset==1"
    [iec61850_mms]="!(ip.addr==127.0.0.5) mms.confirmedServiceRequest==5&&!(mms.itemId~\"^LLN0.(RP|BR).\") mms.confirmedServiceRequest==76 mms.confirmed_ErrorPDU_element mms.rejectPDU_element tcp.flags.reset==1 _ws.malformed"
    [iec61850_attack]="mms.confirmed_ErrorPDU_element mms.rejectPDU_element tcp.flags.reset==1 _ws.malformed ip.src==127.0.0.5&&mms.confirmedServiceRequest!=4"
    [iec61850_goose]="ip goose.stNum>3 goose&&!(goose.gocbRef==\"PlantLDLD0/LLN0\$GO\$gcbEvents\") _ws.malformed"
)

# size limit of a capture (bytes), when it is not 40 kB
declare -A MAX_BYTES=([opcua_asyncua_nodeopcua]=200000 [opcua_encrypted]=200000 [opcua_attack]=100000
                      [iec61850_attack]=100000)

# The baseline captures are checked frame by frame by src/baseline_check.py
# (address plan, poll schedule, setpoint writes, attack steps and their
# answers); their size limit is 2 MB.
declare -A BASELINE_CHECK=(
    [baseline_normal_a]="--kind normal --cycles $BASELINE_CYCLES_NORMAL_A"
    [baseline_normal_b]="--kind normal --cycles $BASELINE_CYCLES_NORMAL_B"
    [baseline_attack]="--kind attack --cycles $BASELINE_CYCLES_ATTACK --steps $OUT/baseline_attack.steps.tsv"
)

verify_baseline() { # NAME
    local name=$1 p n
    local -a opts=()
    read -r -a opts <<<"${BASELINE_CHECK[$name]}"
    for p in ${PROTOS[$name]}; do
        n=$(count "$OUT/$name.pcap" "$p")
        (( n > 0 )) || die "$name: no $p frames"
    done
    "$VENV/bin/python" "$SRC/baseline_check.py" verify "$OUT/$name.pcap" "${opts[@]}" --max-bytes 2000000 \
        || die "$name: the capture does not hold what the scenario says"
    "$VENV/bin/python" "$SRC/baseline_check.py" counts "$OUT/$name.pcap" | sed "s/^/    /" >&2
}

verify() { # NAME
    local name=$1 f=$OUT/$1.pcap p n c
    local -a da=()
    if [[ -n ${BASELINE_CHECK[$name]:-} ]]; then
        verify_baseline "$name"
        return
    fi
    read -r -a da <<<"${DECODE_AS[$name]:-}"
    for p in ${PROTOS[$name]}; do
        n=$(count "$f" "$p" "${da[@]}")
        (( n > 0 )) || die "$name: no $p frames"
    done
    for c in ${EXTRA_CHECKS[$name]:-}; do
        n=$(count "$f" "$c" "${da[@]}")
        (( n > 0 )) || die "$name: check '$c' matched no frame"
    done
    for c in ${MUST_NOT[$name]:-}; do
        n=$(count "$f" "$c" "${da[@]}")
        (( n == 0 )) || die "$name: '$c' matched $n frame(s), expected none"
    done
    local size max=${MAX_BYTES[$name]:-40000}
    size=$(stat -c %s "$f")
    (( size < max )) || die "$name: $size bytes, over the $max-byte limit"
    if [[ ${PROTOS[$name]} == tcp* ]]; then
        local syn fin
        syn=$(count "$f" "tcp.flags.syn==1 && tcp.flags.ack==0")
        fin=$(count "$f" "tcp.flags.fin==1")
        (( syn > 0 && fin >= 2 * syn )) || die "$name: incomplete TCP sessions (SYN $syn, FIN $fin)"
    fi
}

proto_counts() { # NAME -> "tcp=.. modbus=.."
    local name=$1 f=$OUT/$1.pcap p out=()
    local -a da=()
    read -r -a da <<<"${DECODE_AS[$name]:-}"
    for p in ${PROTOS[$name]}; do
        out+=("$p=$(count "$f" "$p" "${da[@]}")")
    done
    echo "${out[*]}"
}

sessions() { # NAME
    local f=$OUT/$1.pcap
    if [[ ${PROTOS[$1]} == tcp* ]]; then
        echo "$(count "$f" "tcp.flags.syn==1 && tcp.flags.ack==0") TCP (SYN..FIN)"
    elif [[ ${PROTOS[$1]} == udp* ]]; then
        echo "UDP, $(tshark -r "$f" -T fields -e udp.srcport -e udp.dstport 2>/dev/null | sort -u | wc -l) port pairs"
    else # layer 2 only (GOOSE, SV): one stream per multicast destination
        echo "no IP, $(tshark -r "$f" -T fields -e eth.dst 2>/dev/null | sort -u | wc -l) multicast streams"
    fi
}

pyver() { "$1/bin/python" -c "from importlib.metadata import version; print(version('$2'))"; }

baseline_manifest() { # the baseline section of MANIFEST.md, on stdout (uses write_manifest's versions)
    local present=() name
    for name in baseline_normal_a baseline_normal_b baseline_attack; do
        [[ -f $OUT/$name.pcap ]] && present+=("$OUT/$name.pcap")
    done
    (( ${#present[@]} )) || return 0
    cat <<EOF

## Baseline captures

\`baseline_normal_a.pcap\` and \`baseline_normal_b.pcap\` are two separate
recordings of the normal behaviour of one small plant, Modbus/TCP and S7comm
at the same time; \`baseline_attack.pcap\` starts the same way and then an
intruder steps in. They are meant for learning a baseline from the first two
and finding the deviations in the third. Each is under 2 MB.

| host | address | program (\`pcaps/src/\`) | stack |
|---|---|---|---|
| HMI | $HMI_ADDR | \`plant_hmi.py\` | pymodbus $v_pymodbus client and python-snap7 $v_snap7 client (native Snap7), one process |
| Modbus PLC | $MODBUS_PLC_ADDR, TCP 502 | \`plant_modbus_plc.py\` | pymodbus $v_pymodbus server (SimDevice, unit 1) |
| S7 PLC | $S7_PLC_ADDR, TCP 102 | \`plant_s7_plc.py\` | python-snap7 $v_snap7v3 server (pure Python; carries out PLC STOP) |
| intruder | $ATTACKER_ADDR | \`plant_attacker.py\` | pymodbus $v_pymodbus client and python-snap7 $v_snap7 client (native Snap7) |

Every client binds its own source address before it connects: pymodbus
with \`source_address\`; the native Snap7 client, which has no such option,
through \`src/bind_source.c\`, an LD_PRELOAD shim that binds the socket to
\`BIND_SOURCE_ADDR\` inside \`connect()\`. The capture filter is
\`tcp port 502 or tcp port 102\`.

The process behind the registers (both PLCs draw their random seed from
\`os.urandom\`, so every recording has other values inside the same
envelopes; every second each value takes a small random step):

- Modbus PLC, unit 1: HR0 tank level 400-600 (follows the setpoint HR5),
  HR1 temperature 200-260, HR2 flow 100-150, HR3 pressure 300-350, HR4 pump
  speed 40-80, HR5 level setpoint (500 until the HMI writes it), HR6 230,
  HR7 580, HR8 420, HR9 1; holding registers 10-999 exist and read as 0,
  1000 and up get exception 02. Coils 0-7: pump 1, pump 2 and inlet valve
  (level hysteresis), outlet valve, heater (temperature hysteresis), high and
  low level alarms (never set inside the envelope), auto mode. Input
  registers 100-104: level and temperature ×10 (4000-6000, 2000-2600), flow
  and pressure ×10, motor current 50-70. FC43/14 is answered from a fixed
  identity (vendor "icsight-plant", product code "TFC-200", revision 2.4.1,
  URL, product and model name, application name).
- S7 PLC: DB1.DBW0 level 400-600, DBW2 temperature 200-260, DBD4 flow (REAL
  10-15), DBD8 pressure (REAL 2.0-3.5), DBW12 setpoint 500, DBW14 pump speed
  40-80, DBW16 status 1, DBW18 alarms 0; MB0 running/auto/pump/heater bits,
  MB1 alarm bits (0), MB2 clock-memory bits toggling every 1, 2 and 4 s, MB3
  0; QB0 outputs; IB0 3 input bits.
- A value the PLC program drives that a client overwrites keeps the written
  value from then on (Modbus HR0-4 and coils 0-7; S7 DB1, M and Q bytes), so
  after the intruder's writes the HMI reads 9999 in HR0-3, the coils as
  written, 9999 in DB1.DBW12 and 0x00 in MB0. After the PLC STOP the S7 PLC's
  program halts: DB1 and M keep their last values and Q goes to 0 (the
  python-snap7 server still answers read_var in STOP, so the HMI's S7 polls
  go on and are answered).

The only writes in the normal captures are the HMI's FC6 of HR5 (a level
setpoint drawn from 450-550, in cycles 5, 15, 25, ...: every 10 s).
make-captures.sh checks every capture with \`src/baseline_check.py\`
(tshark dissection, frame by frame): only the expected hosts; the HMI's
requests, their schedule (one cycle a second, the expected counts) and
answers (no exception, no S7 error); every value the HMI reads inside the
envelopes above (and, in the attack capture, the written values and the
frozen S7 areas after the steps that set them); in the normal captures nothing from
$ATTACKER_ADDR and no write but those FC6; in the attack capture every row
of \`baseline_attack.steps.tsv\` (columns \`step src_ip dst_ip protocol
what\`) found as requests from src_ip to dst_ip on a TCP connection of its
own, each answered, in order, nothing else from the intruder, the first step
after at least 30 s and the HMI polling for at least 15 s after the last;
every TCP connection closed by both ends, no reset.

The timelines below are read from the captures by
\`src/baseline_check.py manifest\` (offsets are \`frame.time_relative\`:
seconds from the first frame, the HMI's first SYN).

EOF
    "$VENV/bin/python" "$SRC/baseline_check.py" manifest "${present[@]}" --steps "$OUT/baseline_attack.steps.tsv"
}

write_manifest() {
    local m=$OUT/MANIFEST.md.tmp name
    local v_pymodbus v_snap7 v_snap7v3 v_yadnp3 v_libmodbus v_tshark baseline_stacks v_c104 v_scapy
    local v_cpppo v_pycomm3 v_pylogix enip_stacks opcua_stacks
    local v_pyiec61850="?" v_py61850="?" v_iec61850rs="?" v_scapy61850="?" v_py313="?"
    v_pymodbus=$(pyver "$VENV" pymodbus)
    v_snap7=$(pyver "$VENV" python-snap7)
    v_snap7v3=$(pyver "$VENV_S7V3" python-snap7)
    v_yadnp3=$(pyver "$VENV" yadnp3)
    v_c104=$(pyver "$VENV_IEC104" c104)
    v_scapy=$(pyver "$VENV_IEC104" scapy)
    v_cpppo=$(pyver "$VENV_ENIP" cpppo)
    v_pycomm3=$(pyver "$VENV_ENIP" pycomm3)
    v_pylogix=$(pyver "$VENV_ENIP" pylogix)
    opcua_stacks="node-opcua-client $(node -p "require('$NODE_OPCUA/node_modules/node-opcua-client/package.json').version") (node $(node --version | tr -d v)) ↔ asyncua $(pyver "$VENV_OPCUA" asyncua) server"
    enip_stacks="pycomm3 $v_pycomm3, pylogix $v_pylogix and scapy $(pyver "$VENV_ENIP" scapy) (one client process, \`src/enip_client.py\`) ↔ cpppo $v_cpppo Logix simulator (\`python -m cpppo.server.enip\`)"
    if [[ -x $VENV_IEC61850/bin/python ]]; then # made only when an IEC 61850 scenario ran
        v_pyiec61850=$(pyver "$VENV_IEC61850" pyiec61850-ng)
        v_py61850=$(pyver "$VENV_IEC61850" py61850)
        v_iec61850rs=$(pyver "$VENV_IEC61850" iec61850)
        v_scapy61850=$(pyver "$VENV_IEC61850" scapy)
        v_py313=$("$VENV_IEC61850/bin/python" -c 'import platform; print(platform.python_version())')
    fi
    v_libmodbus=$(dpkg-query -W -f='${Version}' libmodbus-dev)
    v_tshark=$(tshark --version 2>/dev/null | head -1 | sed 's/^TShark (Wireshark) //; s/ .*//')
    baseline_stacks="HMI: pymodbus $v_pymodbus client ↔ pymodbus $v_pymodbus server (Modbus PLC), python-snap7 $v_snap7 client (native Snap7) ↔ python-snap7 $v_snap7v3 server (S7 PLC, pure Python); separate processes"

    declare -A STACKS=(
        [modbus_pymodbus_libmodbus]="pymodbus $v_pymodbus client ↔ libmodbus $v_libmodbus C server (\`modbus_receive\`/\`modbus_reply\`)"
        [modbus_pymodbus_offport]="libmodbus $v_libmodbus C client ↔ pymodbus $v_pymodbus server"
        [s7comm_snap7]="python-snap7 $v_snap7 client ↔ python-snap7 $v_snap7 server (both the native Snap7 library shipped in the wheel)"
        [s7comm_snap7_control]="python-snap7 $v_snap7 client (native Snap7) ↔ python-snap7 $v_snap7v3 server (pure Python)"
        [s7comm_snap7_control_native]="python-snap7 $v_snap7 client ↔ python-snap7 $v_snap7 server (native Snap7 on both ends)"
        [dnp3_opendnp3]="yadnp3 $v_yadnp3 (opendnp3 fork) master ↔ yadnp3 $v_yadnp3 outstation, separate processes"
        [dnp3_opendnp3_udp]="yadnp3 $v_yadnp3 (opendnp3 fork) master ↔ yadnp3 $v_yadnp3 outstation, separate processes"
        [modbus_attack_writes]="libmodbus $v_libmodbus C client ↔ pymodbus $v_pymodbus server (broadcast enabled)"
        [modbus_attack_diagnostics]="pymodbus $v_pymodbus client ↔ pymodbus $v_pymodbus server (separate processes)"
        [modbus_attack_fcscan]="libmodbus $v_libmodbus C client (\`modbus_send_raw_request\`) ↔ pymodbus $v_pymodbus server"
        [modbus_attack_unitscan]="libmodbus $v_libmodbus C client ↔ pymodbus $v_pymodbus server"
        [modbus_normal_polling]="pymodbus $v_pymodbus client ↔ libmodbus $v_libmodbus C server"
        [s7comm_attack_control]="python-snap7 $v_snap7 client (native Snap7) ↔ python-snap7 $v_snap7v3 server (pure Python)"
        [s7comm_normal_polling]="python-snap7 $v_snap7 client (native Snap7) ↔ python-snap7 $v_snap7v3 server (pure Python)"
        [dnp3_attack_control]="yadnp3 $v_yadnp3 (opendnp3 fork) master ↔ yadnp3 $v_yadnp3 outstation, separate processes"
        [dnp3_normal_polling]="yadnp3 $v_yadnp3 (opendnp3 fork) master ↔ yadnp3 $v_yadnp3 outstation, separate processes"
        [baseline_normal_a]="$baseline_stacks"
        [baseline_normal_b]="$baseline_stacks"
        [baseline_attack]="$baseline_stacks; intruder: pymodbus $v_pymodbus client and python-snap7 $v_snap7 client (native Snap7)"
        [it_web_tls]="CPython $(python3 -c 'import platform; print(platform.python_version())') http.server and $(openssl version | cut -d' ' -f1-2) s_server ↔ curl $(curl --version | head -1 | cut -d' ' -f2)"
        [it_dns]="dnsmasq $(dnsmasq --version | head -1 | cut -d' ' -f3) ↔ dig $(dig -v 2>&1 | cut -d' ' -f2)"
        [it_smb]="smbprotocol $(pyver "$VENV" smbprotocol) (pure Python, pyspnego $(pyver "$VENV" pyspnego) NTLM) ↔ Samba $(smbd --version | cut -d' ' -f2) smbd"
        [iec104_c104]="scapy $v_scapy IEC 104 layer (master, \`src/iec104_master_scapy.py\`) ↔ c104 $v_c104 (lib60870-C) outstation"
        [enip_cpppo]="$enip_stacks"
        [opcua_asyncua_nodeopcua]="$opcua_stacks"
        [opcua_encrypted]="$opcua_stacks"
        [opcua_attack]="$opcua_stacks"
        [iec61850_mms]="py61850 $v_py61850 (pure Python) and iec61850 $v_iec61850rs (the iec61850-rust client), one process, \`src/iec61850_client.py\` ↔ libiec61850 server (pyiec61850-ng $v_pyiec61850, libiec61850 1.6; \`src/iec61850_server_libiec61850.py\`); CPython $v_py313"
        [iec61850_attack]="HMI: py61850 $v_py61850; intruder: py61850 $v_py61850, iec61850 $v_iec61850rs (iec61850-rust) and scapy $v_scapy61850, one process ↔ the same libiec61850 server; GOOSE: libiec61850 GoosePublisher (pyiec61850-ng $v_pyiec61850)"
        [iec61850_goose]="libiec61850 GoosePublisher and SVPublisher (pyiec61850-ng $v_pyiec61850, \`src/iec61850_goose.py\`) on a raw packet socket; no subscriber"
        [enip_attack]="$enip_stacks"
        [iec104_attack]="SCADA master and intruder: scapy $v_scapy IEC 104 layer, separate processes ↔ c104 $v_c104 (lib60870-C) outstation"
        [it_files]="pyftpdlib $(pyver "$VENV" pyftpdlib), OpenSSH $(ssh -V 2>&1 | cut -d, -f1 | cut -d_ -f2) sshd and aiosmtpd $(pyver "$VENV" aiosmtpd) ↔ curl $(curl --version | head -1 | cut -d' ' -f2) (libssh2 $(curl --version | grep -o 'libssh2/[0-9.]*' | cut -d/ -f2))"
    )
    declare -A TRANSPORT=(
        [modbus_pymodbus_libmodbus]="TCP 502"
        [modbus_pymodbus_offport]="TCP **5020** (non-standard)"
        [s7comm_snap7]="TCP 102 (TPKT/COTP)"
        [s7comm_snap7_control]="TCP 102 (TPKT/COTP)"
        [s7comm_snap7_control_native]="TCP 102 (TPKT/COTP)"
        [dnp3_opendnp3]="TCP 20000"
        [dnp3_opendnp3_udp]="UDP 20000 (master on 20001)"
        [modbus_attack_writes]="TCP 502"
        [modbus_attack_diagnostics]="TCP 502"
        [modbus_attack_fcscan]="TCP 502"
        [modbus_attack_unitscan]="TCP 502"
        [modbus_normal_polling]="TCP 502"
        [s7comm_attack_control]="TCP 102 (TPKT/COTP)"
        [s7comm_normal_polling]="TCP 102 (TPKT/COTP)"
        [dnp3_attack_control]="TCP 20000"
        [dnp3_normal_polling]="TCP 20000"
        [baseline_normal_a]="TCP 502 and TCP 102, 127.0.0.5/10/20"
        [baseline_normal_b]="TCP 502 and TCP 102, 127.0.0.5/10/20"
        [baseline_attack]="TCP 502 and TCP 102, 127.0.0.5/10/20/66"
        [it_web_tls]="TCP 8080 (HTTP) and TCP 8443 (TLS)"
        [it_files]="TCP 21 (FTP) and its data connections, TCP 22 (SSH), TCP 25 (SMTP)"
        [it_dns]="UDP 53 and TCP 53 (DNS)"
        [it_smb]="TCP 445 (SMB2 over direct TCP, NBSS framing)"
        [iec104_c104]="TCP 2404, 127.0.0.5 → 127.0.0.10"
        [iec104_attack]="TCP 2404, 127.0.0.5 and 127.0.0.66 → 127.0.0.10"
        [enip_cpppo]="TCP and UDP 44818, 127.0.0.5 → 127.0.0.10"
        [enip_attack]="TCP and UDP 44818, 127.0.0.66 → 127.0.0.1-20"
        [opcua_asyncua_nodeopcua]="TCP 4840, 127.0.0.5 → 127.0.0.10"
        [opcua_encrypted]="TCP 4840, 127.0.0.5 → 127.0.0.10"
        [opcua_attack]="TCP 4840, 127.0.0.66 → 127.0.0.10"
        [iec61850_mms]="TCP 102 (TPKT/COTP/session/presentation/ACSE/MMS), 127.0.0.5 → 127.0.0.10"
        [iec61850_attack]="TCP 102, 127.0.0.5 and 127.0.0.66 → 127.0.0.10; GOOSE (Ethernet 0x88B8, VLAN 10) to 01:0c:cd:01:00:01"
        [iec61850_goose]="Ethernet only: GOOSE 0x88B8 in 802.1Q VLAN 10 (priority 4) to 01:0c:cd:01:00:01; SV 0x88BA, untagged, to 01:0c:cd:04:00:01"
    )
    local dnp3_ops="startup: disable unsolicited, integrity poll (class 1/2/3/0, with buffered events), enable unsolicited; unsolicited responses with binary/analog/counter events (g2v1, g32v1, g22v1) and their confirms; integrity poll; disable unsolicited; event poll class 1/2/3 (with events), class 1, 2, 3 and 0 polls, range scan g30v1 0-4, all-objects g1v2; CROB direct operate (latch on) and select/operate (pulse on); analog output direct operate (g41v2 int16) and select/operate (g41v3 float32); event poll (output status events g11v1, g42v1); link status request; cold restart (g52v1 delay reply); enable unsolicited; unsolicited events; integrity poll"
    declare -A CONTENTS=(
        [modbus_pymodbus_libmodbus]="2 TCP sessions × 2 rounds × unit ids 1 and 2: FC1, FC2, FC3, FC4, FC5, FC6, FC15, FC16, FC23, FC22, FC17; exception 02 (FC3 at address 500) every round; exception 01 (FC43/14 read device id, which libmodbus lacks) in each session's first round"
        [modbus_pymodbus_offport]="1 TCP session × 2 rounds × unit ids 1 and 2: FC1, FC2, FC3, FC4, FC5, FC6, FC15, FC16, FC23, FC22, FC17, exception 02 (FC3 at address 500); last, a read for unit id 3 (not served), answered with exception 04"
        [s7comm_snap7]="COTP CR/CC, setup communication (PDU 480); SZL 0x0424 (CPU state), 0x001C (CPU info), 0x0011 ×2, 0x0131, 0x0232, 0x0000; list blocks, list DBs, block info DB1; read/write DB1, read DB2, read/write M, write/read Q, read/write I, read T and C, multi-item read (DB1+M+I), read/set/read PLC clock, read of missing DB99 (item error), read DB1; TCP close"
        [s7comm_snap7_control]="COTP CR/CC, setup communication; SZL 0x0424 (answered with an error by this server), list blocks, list DBs; upload of DB1 (start upload/upload/end upload) twice (plain and full); download of a 142-byte DB2 block image (request download, server-driven download block and download ended, PI service _INSE); read DB2; PLC stop, SZL 0x0424, hot start (PI P_PROGRAM), SZL 0x0424, PLC stop, cold start (PI P_PROGRAM \"C \"), SZL 0x0424; TCP close"
        [s7comm_snap7_control_native]="COTP CR/CC, setup communication; SZL 0x0424 (RUN), list blocks, list DBs; upload of DB1 twice and request download of DB2, each refused by the server (error 0xD241, not authorised at the current protection level); PLC stop, SZL 0x0424 (STOP), hot start, SZL 0x0424 (RUN), PLC stop, cold start, SZL 0x0424; TCP close"
        [dnp3_opendnp3]="$dnp3_ops; TCP FIN at shutdown"
        [dnp3_opendnp3_udp]="the same sequence as \`dnp3_opendnp3.pcap\`, over UDP"
        [modbus_attack_writes]="1 TCP session. Unit 1: FC3 read HR 0-9; FC6 HR0 := 65000 (out of the process range) and HR1 := 1500; FC5 coil 0 ON, coil 1 OFF; FC15 coils 10-19 and coils 0-79 (80 coils); FC16 HR 10-13 and HR 0-99 (100 registers); FC22 mask write HR2; FC23 write HR30-31/read HR0-3; FC3 and FC1 reads. Unit 2: FC6 HR0 := 65000, FC16 HR 40-43. Unit 0 (broadcast): FC5 coil 2, FC6 HR0 := 0, FC15 coils 0-9, FC16 HR 20-23, none answered (the client times out after 0.3 s each). Last, FC3 unit 1"
        [modbus_attack_diagnostics]="1 TCP session, unit 1: FC3; FC8 sub-functions 0 (return query data), 2 (diagnostic register), 10 (clear counters), 4 (force listen-only; answered anyway), 1 (restart communications); FC7 read exception status; FC11 comm event counter; FC12 comm event log; FC17 report server id; FC43/14 read device identification ×4 (basic, regular, extended, object 4); FC20 read file record; FC21 write file record; FC3"
        [modbus_attack_fcscan]="1 TCP session, unit 1: one request per function code 1..127, each with data 00 00 00 01, back to back; 14 answered normally (FC1-8, 11, 12, 17, 20, 21, 24), 113 with exception 01 (illegal function)"
        [modbus_attack_unitscan]="1 TCP session: FC3 read of holding register 0 to every unit id 1..200, back to back; units 1 and 2 answer, the other 198 get exception 04 (server device failure: pymodbus's answer for a unit it does not serve)"
        [modbus_normal_polling]="1 TCP session, unit 1, 60 poll cycles 0.2 s apart: FC3 HR 0-9 and FC1 coils 0-15 each cycle, FC4 IR 0-7 and FC2 DI 0-15 every sixth cycle; reads only, no exceptions"
        [s7comm_attack_control]="COTP CR/CC, setup communication; recon: SZL 0x001C (component id), 0x0011 (module id), 0x0232 (protection), 0x0131 (communication), 0x0000 (SZL list), list blocks, list DBs, block info DB1; set session password ×3 (\"secret1\", \"123456\", \"admin\"), clear password; upload of DB1 twice (start upload/upload/end upload); PLC stop; download of DB2 (request download, download block, download ended, PI _INSE); PI _DELE (delete DB2); PI _GARB (compress); PI _MODU (copy RAM to ROM); hot start (PI P_PROGRAM); PLC stop; cold start (PI P_PROGRAM \"C \"); write_var DB1.DBB0, QB0, IB0, MB0, C0; set PLC clock; TCP close"
        [s7comm_normal_polling]="COTP CR/CC, setup communication, then 60 poll cycles 0.2 s apart: read_var DB1.DBB0 (16 bytes) and read_var MB0 (8 bytes); TCP close. Nothing else"
        [dnp3_attack_control]="startup: disable unsolicited, write g80v1 (clear the restart IIN), integrity poll, delay measurement and write g50v1 (time, the outstation sets NEED_TIME), enable unsolicited; unsolicited events; disable unsolicited; CROB select/operate (pulse on); 6 CROB direct operates (latch on/off); CROB direct operate no ack (function 6); analog output direct operate g41v2 and g41v1, select/operate g41v3; write of analog dead-bands (g34v3; unsupported); assign class (unsupported); immediate freeze and freeze-and-clear of g20; initialize data, stop application, initialize application, start application, activate configuration (each unsupported: IIN2.0); delete file (g70v3; unsupported); warm restart (g52v2); cold restart (g52v1); event poll"
        [dnp3_normal_polling]="startup: integrity poll (class 1/2/3/0), enable unsolicited; then 40 class 1/2/3 event polls 0.5 s apart; unsolicited responses with events and their confirms. No controls, restarts, writes, time sync or disable unsolicited (the master leaves the restart IIN set)"
        [baseline_normal_a]="$BASELINE_CYCLES_NORMAL_A s of HMI polling, once a second: Modbus FC3 HR 0-9, FC1 coils 0-15, FC4 IR 100-104 (unit 1), FC6 HR5 := setpoint in 450-550 every tenth cycle; S7 read_var DB1.DBB0 (20 bytes) and MB0 (4 bytes). One TCP connection per protocol. Timeline below"
        [baseline_normal_b]="the same as \`baseline_normal_a.pcap\`, recorded separately (new processes and ports, other random values), $BASELINE_CYCLES_NORMAL_B s"
        [baseline_attack]="$BASELINE_CYCLES_ATTACK s of the same HMI polling; from $BASELINE_ATTACK_DELAY s, 127.0.0.66: FC43/14 read device id; FC3 sweep of HR 0-1999; FC16 HR 0-3 := 9999; FC15 coils 0-7 off and FC5 coil 4 on; S7 write_var DB1, M, Q; PLC STOP. Timeline below and in \`baseline_attack.steps.tsv\`"
        [it_web_tls]="GET /index.html and GET /projects/line1.ap17 (a PLC project file) over HTTP/1.1; one TLS 1.2 and one TLS 1.3 handshake with SNI hmi.plant.example, then GET / inside"
        [it_dns]="A queries for hmi.plant.example and historian.plant.example (one over TCP), answered; three TXT queries whose first label is 50+ characters of base32 under t1.updates-cdn.example, refused"
        [it_smb]="NEGOTIATE (SMB 3.1.1, AES-GMAC signing, no encryption); SESSION_SETUP with SPNEGO/NTLMSSP as plantsmb (STATUS_MORE_PROCESSING_REQUIRED, then success); TREE_CONNECT \`\\\\127.0.0.1\\projects\`; CREATE of the share's root, QUERY_DIRECTORY (. .. readme.txt Line3.ap17, then STATUS_NO_MORE_FILES), CLOSE; CREATE/READ/CLOSE of Line3.ap17 (a 6000-byte PLC project file); CREATE/WRITE/CLOSE of a new Boiler.ACD (3990 bytes); CREATE/READ/CLOSE of readme.txt; CREATE of Line4.ap17, answered STATUS_OBJECT_NAME_NOT_FOUND; TREE_DISCONNECT, LOGOFF, TCP close. Signed, not encrypted: names and contents in the clear"
        [opcua_asyncua_nodeopcua]="1 TCP session, SecurityPolicy None: HEL/ACK; OPN (OpenSecureChannel, service 446/449); GetEndpoints (428) ×2; CreateSession (461) + ActivateSession (467) as user name \"operator\" (password op-2024, in the clear: policy None); Browse (527) of Objects (ns=0;i=85) and ns=2;s=Plant; Read (631) of ns=2;s=Level, Setpoint, PumpRunning, Mode; Write (673) ns=2;s=Setpoint := 510.0 (Double); Call (712) ns=2;s=StartPump on ns=2;s=Plant with true; CreateSubscription (787, 500 ms), CreateMonitoredItems (751) of Level (250 ms sampling), about 3 s of Publish (826/829) round trips with data changes, DeleteSubscriptions (847); Read of Level and Setpoint, Write Setpoint := 505.0; CloseSession (473); CLO (CloseSecureChannel, 452); TCP close"
        [opcua_encrypted]="2 TCP sessions: GetEndpoints over SecurityPolicy None (HEL, OPN, GetEndpoints, CLO), then a secure channel with SecurityPolicy Basic256Sha256, mode SignAndEncrypt (OPN signed and encrypted with the certificates' RSA keys; node-opcua's self-signed client certificate, an openssl-made server certificate): the same services as \`opcua_asyncua_nodeopcua.pcap\` (a session as \"operator\"); every MSG body is encrypted"
        [opcua_attack]="1 TCP session from 127.0.0.66, SecurityPolicy None: HEL/ACK, OPN, GetEndpoints ×2, three CreateSession/ActivateSession as \"operator\" with guessed passwords (operator, admin, op-2023), each answered ServiceFault (397) BadUserAccessDenied (0x801F0000); anonymous CreateSession/ActivateSession, Browse of Objects and ns=2;s=Plant, Read of Level, Setpoint, PumpRunning, Mode, Write ns=2;s=Setpoint := 9999.0, Write ns=2;s=Mode := \"MANUAL\" (String), Call ns=2;s=StartPump(false), Read of Setpoint, PumpRunning, Mode, CloseSession, CLO"
        [enip_cpppo]="UDP ListIdentity (0x63) to 127.0.0.10, answered. TCP session 1 (pycomm3, scapy): RegisterSession (0x65); ListServices (0x04; tshark flags cpppo's reply malformed); ListIdentity; ListInterfaces (0x64); SendRRData (0x6F) Get Attributes All (0x01) of Identity (class 1 instance 1); Get Attribute Single (0x0E) Identity attributes 1, 7, 5; Forward Open (0x54); SendUnitData (0x70) Get Attribute Single Identity attributes 7 and 6 over the connection; Forward Close (0x4E); UnRegisterSession (0x66). TCP session 2 (pylogix): RegisterSession; Large Forward Open (0x5B); Read Tag (0x4C) of Level, Setpoint, Running, Counter (pylogix's type probes), then 3 × Multiple Service Packet (0x0A) reading Level, Setpoint, Running, Counter[1]; Read Tag Level (10 elements); Write Tag (0x4D) Setpoint := 47.5 (REAL), Level[5] := 512 (INT); Multiple Service Packet writing Counter[2] := 100 (DINT) and Running := 1 (BOOL); Read Tag Setpoint; Forward Close; UnRegisterSession. TCP session 3 (pylogix): RegisterSession, Get Attributes All of Identity, UnRegisterSession. Tags: Level INT[10], Setpoint REAL, Running BOOL, Counter DINT[4]. Every CIP status 0"
        [enip_attack]="127.0.0.66: UDP ListIdentity to each of 127.0.0.1-127.0.0.20 (0.15 s apart; only .10 answers). Session 1 (pycomm3): RegisterSession, ListIdentity, Get Attributes All of Identity, Set Attribute Single (0x10) Identity attribute 7 := \"PWNED\" and TCP/IP object (0xF5) attribute 6 := \"evil0\" (both refused: CIP status 0x08), UnRegisterSession. Session 2 (pycomm3): Forward Open (0x54) with connection path port 1 (backplane) slot 3 → Message Router, a connected Get Attribute Single Identity attribute 7, Forward Close. Session 3 (pylogix): Large Forward Open, Read Tag probes and a Multiple Service Packet read of Level, Setpoint, Running; Write Tag Setpoint := 999.0, Level[0] := 9999, Running := 0; Read Tag Counter, then a Multiple Service Packet writing Counter[0..3] := 0; Read Tag Setpoint; Forward Close. Session 4: service 0x4B (NVS Update) to class 0xA1 instance 1 with 6 data bytes. Session 5: Identity Reset (0x05), type 0. cpppo answers the last two with a SendRRData reply without CIP data and closes the connection"
        [iec104_c104]="1 TCP session: STARTDT act/con; TESTFR act/con; C_IC_NA_1 (100) QOI 20 to CA 1: actcon, then cot 20 (SQ=1) M_SP_NA_1 (1) IOA 100-101, M_DP_NA_1 (3) 200-201, M_ME_NA_1 (9) 300-301, M_ME_NB_1 (11) 310-311, M_ME_NC_1 (13) 320-321, M_SP_TB_1 (30) 110, M_ME_TF_1 (36) 330, actterm; C_IC_NA_1 to CA 2: M_SP_NA_1 100, M_ME_NB_1 310, M_ME_NC_1 300; C_CI_NA_1 (101) RQT 5 to CA 1: actcon, M_IT_NA_1 (15) IOA 400-401 cot 37, actterm; $IEC104_LISTEN s of spontaneous data (cot 3, one change a second: CA 1 M_ME_NC_1 320 and M_ME_NB_1 310 each second, M_ME_TF_1 330 every 3rd, M_SP_TB_1 110 every 4th, CA 2 M_ME_NC_1 300 every 5th) with TESTFR act/con in the middle; C_IC_NA_1 to CA 1 again; STOPDT act/con; TCP close. S-frames from the master after 8 I-frames and after each exchange. No commands"
        [iec104_attack]="SCADA 127.0.0.5 for $IEC104_SCADA_DURATION s: STARTDT, C_IC_NA_1 CA 1, C_CI_NA_1 CA 1, C_SC_NA_1 (45) IOA 1001 ON direct (actcon), then C_IC_NA_1 CA 1 about every 5 s, STOPDT. From $IEC104_ATTACK_DELAY s, 127.0.0.66 on its own connection, $IEC104_ATTACK_GAP s apart: STARTDT; C_IC_NA_1 CA 1; C_SC_NA_1 IOA 1000 select (S/E=1) then execute (actcon, actterm); C_SC_NA_1 IOA 1001 OFF direct; C_DC_NA_1 (46) IOA 1100 OFF; C_SE_NA_1 (48) IOA 1200 0.9; C_SE_NB_1 (49) IOA 1201 30000; C_SE_NC_1 (50) IOA 1202 55.0; C_CS_NA_1 (103) clock sync; C_RP_NA_1 (105) QRP 1 (refused: actcon P/N=1, cot 47); C_RD_NA_1 (102) IOA 320 (actcon, M_ME_NC_1 cot 5); C_SC_NA_1 to IOA 5000 (actcon P/N=1, cot 47 unknown IOA); C_IC_NA_1 to CA 99 (actcon P/N=1, cot 46 unknown CA); STOPDT. All CA 1 unless said. Steps and times in \`iec104_attack.steps.tsv\`"
        [iec61850_mms]="2 TCP sessions. Session 1 (py61850): COTP CR/CC, initiate; GetNameList ×5 (domains PlantLDLD0 and PlantLDPROT; named variables and named variable lists of each); GetVariableAccessAttributes of GGIO1 and LLN0\$DC\$NamPlt; Read of AnIn1, AnIn2 mag.f (MX) and Ind1, Ind2, SPCSO1 stVal (ST) in one request, of LLN0\$DC\$NamPlt, of the data set LLN0\$Events (by its list name) and of PlantLDPROT PTOC1\$SP\$StrVal\$setMag\$f; FileDirectory of / and of COMTRADE/; FileOpen, FileRead, FileClose of COMTRADE/FDR1_TRIP_001.cfg; Conclude. Session 2 (iec61850-rust): initiate; DefineNamedVariableList LLN0\$HmiTrend (AnIn1 and AnIn2 mag.f, Ind1 stVal), GetNamedVariableListAttributes, Read of the list, DeleteNamedVariableList; Read of the URCB urcbMeas01 and Write RptEna true; Read of the BRCB brcbEvents01, Write RptEna true and GI true; $IEC61850_LISTEN s of informationReports (the BRCB's buffered entry and GI report, the URCB's data-change reports every second and integrity reports every 2 s); Write RptEna false to both; Conclude. Writes only to report control blocks; no error"
        [iec61850_attack]="HMI 127.0.0.5 (py61850), one session for $IEC61850_POLL_DURATION s: a Read of AnIn1, AnIn2, Ind1, Ind2, SPCSO1 every 2 s. GOOSE publisher: stNum 1, a heartbeat every second. From $IEC61850_ATTACK_DELAY s, 127.0.0.66, $IEC61850_ATTACK_GAP s apart: (py61850 session) GetNameList of domains, named variables and lists; GetVariableAccessAttributes of every logical node; Read of LLN0\$GO\$gcbEvents and of the data set LLN0\$Events; FileDirectory of / and COMTRADE/; Conclude. (iec61850-rust session) Write GGIO1\$CO\$SPCSO1\$Oper (ctlVal true: the output is operated), Write PTOC1\$SP\$StrVal\$setMag\$f := 9999.0, Write GGIO1\$CF\$SPCSO2\$ctlModel := 0; Conclude. (py61850 session) FileDelete COMTRADE/FDR1_TRIP_001.dat; Conclude. (scapy) 4 GOOSE frames with the publisher's identity, stNum + 100, sqNum 0-3, Ind1 false and SPCSO1 true; 1 GOOSE frame with the publisher's stNum and sqNum 0. Every MMS request answered with success. Steps and times in \`iec61850_attack.steps.tsv\`"
        [iec61850_goose]="SV: 80 frames, svID PlantMU01, smpCnt 0-79, smpRate 4000, smpSynch 2, one ASDU of 4 currents and 4 voltages (9-2LE: INT32 + quality each; tshark shows the values with \`-o sv.decode_data_as_phsmeas:TRUE\`). GOOSE gcbEvents (datSet LLN0\$Events, goID gcbEvents, confRev 1, 6 members: Ind1, Ind2, SPCSO1 stVal and q): stNum 1 sqNum 0-3 (1 s heartbeat, timeAllowedtoLive 2000); Ind2 true: stNum 2 sqNum 0-8 (retransmissions 4, 8, 16 ... 512 ms apart, timeAllowedtoLive 20-2000), sqNum 9-11 heartbeats; Ind2 false and SPCSO1 true: stNum 3 sqNum 0-8, sqNum 9-10 heartbeats"
        [it_files]="FTP: RETR of /projects/line1.ap17 (a PLC project file) over EPSV and over PORT, RETR of recipe.txt over PASV, STOR of uploads/recipe.txt, a LIST; SSH: banners, KEXINIT and NEWKEYS both ways, then a refused login; SMTP: EHLO, one message from eng@plant.example to two recipients with line1.ap17 attached (base64)"
    )

    {
        echo "# Reference captures"
        echo
        echo "Small packet captures that icsight makes itself: real, independent protocol"
        echo "stacks talking to each other over the loopback interface (\`lo\`, link type"
        echo "Ethernet/DLT 1, 127.0.0.1; the baseline captures use other 127.0.0.0/8"
        echo "addresses), recorded with tcpdump. Nothing here is copied from elsewhere."
        echo
        echo "Regenerate everything (as root on Debian 12; installs what it needs):"
        echo
        echo '```sh'
        echo 'sudo pcaps/make-captures.sh            # all captures + this file'
        echo 'sudo pcaps/make-captures.sh s7 dnp3    # a subset: modbus modbus-offport s7 s7-control s7-control-native dnp3 dnp3-udp'
        echo 'sudo pcaps/make-captures.sh attacks    # modbus-writes modbus-diag modbus-fcscan modbus-unitscan s7-attack dnp3-attack'
        echo 'sudo pcaps/make-captures.sh normal     # modbus-poll s7-poll dnp3-poll'
        echo 'sudo pcaps/make-captures.sh baseline   # baseline-normal-a baseline-normal-b baseline-attack (about 7 min)'
        echo 'sudo pcaps/make-captures.sh iec104 iec104-attack enip enip-attack opcua opcua-encrypted opcua-attack'
        echo 'sudo pcaps/make-captures.sh iec61850 iec61850-attack goose'
        echo '```'
        echo
        echo "Python packages go into virtualenvs under"
        echo "\`\${XDG_CACHE_HOME:-\$HOME/.cache}/icsight-pcaps-venv\`; the helper programs"
        echo "are in \`pcaps/src/\` (the C files are compiled into a temporary directory)."
        echo "Timestamps, client ports, transaction ids and TCP details differ from run"
        echo "to run, and so does how DNP3 events are split between polls and unsolicited"
        echo "responses; the sequence of operations does not."
        echo
        echo "Per-protocol counts are frames that match the tshark display filter of that"
        echo "name (tshark $v_tshark). Sessions: TCP connections, each complete from SYN to FIN."
        echo
        echo "| file | stacks (client ↔ server) | transport | contents | packets | bytes | sessions | tshark frames per protocol |"
        echo "|---|---|---|---|---|---|---|---|"
        for name in "${ALL_CAPTURES[@]}"; do
            [[ -f $OUT/$name.pcap ]] || continue
            local extra=""
            [[ -n ${DECODE_AS[$name]:-} ]] && extra=" (with \`${DECODE_AS[$name]}\`; 0 without)"
            # shellcheck disable=SC2016 # the backquotes are Markdown
            printf '| `%s` | %s | %s | %s | %s | %s | %s | %s%s |\n' \
                "$name.pcap" "${STACKS[$name]}" "${TRANSPORT[$name]}" "${CONTENTS[$name]}" \
                "$(packets "$OUT/$name.pcap")" "$(stat -c %s "$OUT/$name.pcap")" \
                "$(sessions "$name")" "$(proto_counts "$name")" "$extra"
        done
        echo
        echo "## Notes"
        echo
        echo "- \`modbus_pymodbus_offport.pcap\` uses port 5020 so that Modbus/TCP has to be"
        echo "  recognised from the payload: Wireshark itself only dissects it as Modbus"
        echo "  with \`-d tcp.port==5020,mbtcp\`. Without it, Wireshark's heuristic RPCAP"
        echo "  dissector claims the FC15 request and response of the first round and"
        echo "  reports them as malformed; the other frames are plain TCP data."
        echo "- libmodbus's TCP server answers every unit id from one register map, so in"
        echo "  the 502 capture units 1 and 2 see the same data. The pymodbus server on"
        echo "  5020 has separate maps for units 1 and 2 and answers unit 3 with exception"
        echo "  04 (server device failure; it logs a KeyError) rather than 0A/0B."
        echo "- S7: the native Snap7 server (python-snap7 2.x wheel) honours PLC stop and"
        echo "  start and reports the state in SZL 0x0424, but refuses upload and download"
        echo "  (\`s7comm_snap7_control_native.pcap\`). python-snap7 3.x's pure-Python"
        echo "  server carries out upload, download and stop/start, but does not implement"
        echo "  SZL 0x0424, so its CPU-state reads get an error reply"
        echo "  (\`s7comm_snap7_control.pcap\`). Both control captures use the native"
        echo "  Snap7 client."
        echo "- DNP3: master address 1, outstation address 10; ten points of each type (no"
        echo "  g50 time-and-interval points, which tshark $v_tshark cannot dissect), all"
        echo "  events in class 1 (opendnp3 default), so class 2/3 polls return no objects."
        echo "  The outstation changes binary 0, analog 1 and counter 2 every 0.7 s and"
        echo "  echoes controls into its output status points; it answers the cold"
        echo "  restart with a 5 s delay but does not restart."
        echo "- Over UDP, the outstation listens on 20000 and the master uses 20001; the"
        echo "  capture filter is \`udp port 20000\`."
        echo "- SMB: smbd runs in the foreground with a private smb.conf (everything under a"
        echo "  temporary directory, 127.0.0.1:445 only, SMB2_10 and up, \`server smb encrypt"
        echo "  = off\`, \`server signing = auto\`, no printers) and a tdbsam account for the"
        echo "  unix user \`plantsmb\` (created without home or login shell if missing)."
        echo "  The client, \`src/smb_client_smbprotocol.py\`, uses smbprotocol's low-level"
        echo "  API with \`require_encryption=False\`; it signs, as smbprotocol requires."
        echo "- IEC 60870-5-104: the outstation is c104 (Python bindings of lib60870-C),"
        echo "  \`src/iec104_rtu_c104.py\`, on 127.0.0.10:2404 with stations CA 1 and CA 2"
        echo "  (point map in the file: monitoring IOAs 100-401, command IOAs 1000-1202);"
        echo "  the master, \`src/iec104_master_scapy.py\`, builds every APDU with scapy's"
        echo "  IEC 104 layer over a plain socket and keeps N(S)/N(R) itself (k=12, w=8)."
        echo "  c104 sends the interrogation answers with SQ=1 and keeps the time-tagged"
        echo "  types (M_SP_TB_1, M_ME_TF_1) in them; it answers a direct single command"
        echo "  with actcon only and a select/execute pair with actcon, actcon and"
        echo "  actterm; it refuses C_RP_NA_1 (not implemented) and commands to a"
        echo "  missing IOA with a negative actcon (P/N=1) followed by cot 47, and an"
        echo "  interrogation of a missing CA with a negative actcon and cot 46. The"
        echo "  answer to C_RD_NA_1 (cot 5) goes to every connection that sent STARTDT, so"
        echo "  in \`iec104_attack.pcap\` the SCADA master gets it too."
        echo "- \`iec104_attack.steps.tsv\` is rewritten with the capture: one row per"
        echo "  intruder step (\`step time_s src_ip dst_ip protocol what expect\`),"
        echo "  time_s being seconds from the capture's first frame to the step's request."
        echo "  The SCADA master's polls interleave with the steps differently from run to"
        echo "  run; the intruder's sequence does not."
        echo "- EtherNet/IP: cpppo's simulator (\`python -m cpppo.server.enip --no-config\`)"
        echo "  serves TCP and UDP 44818 on 127.0.0.10 with tags Level INT[10], Setpoint"
        echo "  REAL, Running BOOL, Counter DINT[4]. pycomm3 runs with its \"extended"
        echo "  forward open\" option off, so its Forward Open is the classic 0x54;"
        echo "  pylogix opens its connection with a Large Forward Open (0x5B), which cpppo"
        echo "  accepts. cpppo's ListServices reply carries a 15-byte service name"
        echo "  (\"Communications\" and one NUL) where the field is 16 bytes, and tshark"
        echo "  reports that frame as malformed. cpppo implements no Set Attribute Single"
        echo "  for Identity or TCP/IP (status 0x08); it cannot answer Identity Reset or a"
        echo "  request to the NVS object (class 0xA1, which it lacks): it sends an empty"
        echo "  SendRRData reply and closes the connection, so \`enip_attack.pcap\` puts"
        echo "  each of those on a connection of its own. No implicit (class 0/1) I/O:"
        echo "  none of these stacks produces it, so there is no UDP 2222 traffic; the"
        echo "  UDP frames are ListIdentity requests and replies."
        echo "- OPC UA: asyncua's server (\`src/opcua_server_asyncua.py\`) on"
        echo "  opc.tcp://127.0.0.10:4840/icsight/ offers None and Basic256Sha256"
        echo "  Sign/SignAndEncrypt, anonymous and user-name tokens (operator / op-2024);"
        echo "  namespace 2 (urn:icsight:plant) holds the object Plant with Level (Double,"
        echo "  changes every 0.5 s), Setpoint (Double, writable), PumpRunning (Boolean),"
        echo "  Mode (String, writable) and the method StartPump(Boolean) -> Boolean, all"
        echo "  with string node ids (ns=2;s=Level, ...). The client is node-opcua"
        echo "  (\`src/opcua_client_nodeopcua.js\`); it asks for the endpoints twice"
        echo "  (once itself while connecting, once from the script). The server's"
        echo "  certificate is made with openssl for each run and node-opcua makes its"
        echo "  own, both in a temporary directory: the encrypted capture cannot be"
        echo "  decrypted afterwards. The refused password is answered with a"
        echo "  ServiceFault, not an ERR message: asyncua keeps the channel open."
        echo "- IEC 61850: the server is libiec61850 1.6 (\`src/iec61850_server_libiec61850.py\`,"
        echo "  pyiec61850-ng) with an IED \"PlantLD\" built in code: domain PlantLDLD0 (LLN0 with"
        echo "  the data sets Events and Measurements, the BRCB brcbEvents01, the URCB urcbMeas01"
        echo "  and the GoCB gcbEvents; LPHD1; GGIO1 with AnIn1/AnIn2 (MV), Ind1/Ind2 (SPS) and"
        echo "  SPCSO1/SPCSO2 (SPC, ctlModel 1, direct with normal security)) and domain"
        echo "  PlantLDPROT (LLN0; PTOC1 with the settings StrVal and OpDlTmms, FC SP). Writes to"
        echo "  CF, SP and DC are allowed; the file services serve a COMTRADE fault record"
        echo "  (COMTRADE/FDR1_TRIP_001.cfg and .dat) and LOGS/events.log, made for each run."
        echo "  Its GoCB is in the model, but the GOOSE frames come from a separate publisher"
        echo "  (\`src/iec61850_goose.py\`, libiec61850's GoosePublisher) with the same gocbRef,"
        echo "  datSet, appid and data set. The clients are py61850 (pure Python: association,"
        echo "  name lists, attributes, reads, file services, Conclude) and iec61850 (the"
        echo "  iec61850-rust client: the writes, data set definition and deletion, reports);"
        echo "  libiec61850's own client is not used. py61850 0.6 needs Python 3.13 or newer"
        echo "  (Debian 12 has 3.11): the script takes one from PATH or pyenv (PYTHON313)."
        echo "- libiec61850 answers DefineNamedVariableList with [11] IMPLICIT NULL, as ISO 9506"
        echo "  has it; iec61850-rust 0.14 expects a constructed tag and reports a parse error"
        echo "  although the list was made: \`src/iec61850_client.py\` accepts that one error"
        echo "  and checks the list with GetNamedVariableListAttributes (tshark dissects both"
        echo "  PDUs without complaint). py61850 has no FileDelete: the intruder's is one"
        echo "  request built with py61850's own BER encoder, over its association."
        echo "- GOOSE and SV on lo: the frames carry the source MAC 00:00:00:00:00:00 (lo's), and"
        echo "  each is captured once. The intruder's GOOSE frames (\`src/iec61850_goose_spoof.py\`,"
        echo "  scapy) are the publisher's own frame, taken off lo, with stNum, sqNum, t,"
        echo "  timeAllowedtoLive and allData changed: same source MAC, VLAN, appid, gocbRef,"
        echo "  datSet, goID and confRev. \`iec61850_attack.steps.tsv\` has one row per"
        echo "  intruder step as \`iec104_attack.steps.tsv\` does; the GOOSE rows have \`-\` as"
        echo "  addresses (no IP) and protocol \`goose\`."
        echo
        echo "### Attack and normal-polling captures"
        echo
        echo "Every \`*_attack_*\` capture fires the default rules listed for it in"
        echo "\`rules/default/expected.tsv\`; the three \`*_normal_polling\` captures must"
        echo "fire none (make-captures.sh checks with tshark that they hold only"
        echo "reads/polls). Each capture is under 40 kB."
        echo
        echo "- Modbus broadcast (unit 0): the pymodbus server, started with broadcast"
        echo "  enabled, carries the writes out on every unit and sends no response;"
        echo "  libmodbus's client waits 0.3 s and gives up on each."
        echo "- FC8/04 (force listen-only) is answered by pymodbus, which sets its"
        echo "  listen-only flag but keeps answering; the pymodbus client does not wait"
        echo "  for that answer and drops it when it arrives."
        echo "- The function-code and unit-id scans are two captures, not one, to keep"
        echo "  each under 40 kB; for the same reason the unit-id scan stops at 200"
        echo "  rather than 247. The scan requests carry 00 00 00 01 for every function"
        echo "  code, so Wireshark flags the FC15, FC16, FC20 and FC21 requests (too short"
        echo "  for those functions) as malformed; pymodbus answers them with"
        echo "  exception 01."
        echo "- pymodbus answers a unit id it does not serve with exception 04 (server"
        echo "  device failure; it logs a KeyError), not 0A/0B."
        echo "- S7: every operation in \`s7comm_attack_control.pcap\` goes through the"
        echo "  native Snap7 client's own API (\`delete\`, \`compress\`, \`copy_ram_to_rom\`,"
        echo "  \`set_session_password\`, ...); no raw S7 PDUs were needed. The"
        echo "  python-snap7 3.x server accepts every one of them (it acknowledges"
        echo "  _DELE, _GARB, _MODU and the password without acting on them) and"
        echo "  carries out the download of DB2 (a DB it has registered: it refuses"
        echo "  blocks it does not hold)."
        echo "- DNP3 in \`dnp3_attack_control.pcap\`: the outstation accepts warm restarts"
        echo "  (fine delay, g52v2) and cold restarts (coarse, g52v1) without restarting,"
        echo "  and sets NEED_TIME until the master writes the time. opendnp3 does not"
        echo "  implement assign class (without application support), initialize data,"
        echo "  stop/start/initialize application, activate configuration, dead-band"
        echo "  writes or file services; it answers those requests with IIN2.0 (function"
        echo "  code not supported). The CROB direct operate without acknowledgement"
        echo "  (function 6) is sent by the master library's \`PerformFunction\` with the"
        echo "  g12v1 object given as raw bytes by \`dnp3_master.py\`: opendnp3's master"
        echo "  has no API for it; the outstation carries it out. The stop/start"
        echo "  application requests carry no g90 application identifier object."
        echo "- DNP3 in \`dnp3_normal_polling.pcap\`: the master is configured to leave"
        echo "  the outstation's restart indication (IIN1.7) alone, so every response"
        echo "  carries it; a master that clears it would write g80v1."
        baseline_manifest
    } >"$m"
    mv -f "$m" "$OUT/MANIFEST.md"
    log "wrote $OUT/MANIFEST.md"
}

ALL_CAPTURES=(modbus_pymodbus_libmodbus modbus_pymodbus_offport s7comm_snap7 s7comm_snap7_control
              s7comm_snap7_control_native dnp3_opendnp3 dnp3_opendnp3_udp
              modbus_attack_writes modbus_attack_diagnostics modbus_attack_fcscan modbus_attack_unitscan
              modbus_normal_polling s7comm_attack_control s7comm_normal_polling
              dnp3_attack_control dnp3_normal_polling
              baseline_normal_a baseline_normal_b baseline_attack it_web_tls it_files it_dns it_smb
              iec104_c104 iec104_attack enip_cpppo enip_attack
              opcua_asyncua_nodeopcua opcua_encrypted opcua_attack
              iec61850_mms iec61850_attack iec61850_goose)

# ----------------------------------------------------------------------------
main() {
    local wanted=("$@") s
    (( ${#wanted[@]} )) || wanted=("${ALL_SCENARIOS[@]}")
    for s in "${wanted[@]}"; do
        case $s in
            modbus|modbus-offport|s7|s7-control|s7-control-native|dnp3|dnp3-udp|manifest) ;;
            modbus-writes|modbus-diag|modbus-fcscan|modbus-unitscan|modbus-poll) ;;
            s7-attack|s7-poll|dnp3-attack|dnp3-poll|attacks|normal) ;;
            baseline-normal-a|baseline-normal-b|baseline-attack|baseline) ;;
            it-web|it-files|it-dns|it-smb) ;;
            iec104|iec104-attack|enip|enip-attack|opcua|opcua-encrypted|opcua-attack) ;;
            iec61850|iec61850-attack|goose) NEED_IEC61850=1 ;;
            -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
            *) die "unknown scenario '$s' (known: ${ALL_SCENARIOS[*]})" ;;
        esac
    done

    local expanded=()
    for s in "${wanted[@]}"; do
        case $s in
            attacks) expanded+=("${ATTACK_SCENARIOS[@]}") ;;
            normal) expanded+=("${NORMAL_SCENARIOS[@]}") ;;
            baseline) expanded+=("${BASELINE_SCENARIOS[@]}") ;;
            *) expanded+=("$s") ;;
        esac
    done
    wanted=("${expanded[@]}")

    if [[ ${wanted[*]} == manifest ]]; then
        SKIP_INSTALL=1 install_deps
        write_manifest
        return
    fi
    install_deps
    WORK=$(mktemp -d /tmp/icsight-pcaps.XXXXXX)
    build_c_helpers

    for s in "${wanted[@]}"; do
        case $s in
            modbus) run_modbus; verify modbus_pymodbus_libmodbus ;;
            modbus-offport) run_modbus_offport; verify modbus_pymodbus_offport ;;
            s7) run_s7; verify s7comm_snap7 ;;
            s7-control) run_s7_control; verify s7comm_snap7_control ;;
            s7-control-native) run_s7_control_native; verify s7comm_snap7_control_native ;;
            dnp3) run_dnp3; verify dnp3_opendnp3 ;;
            dnp3-udp) run_dnp3_udp; verify dnp3_opendnp3_udp ;;
            modbus-writes) run_modbus_writes; verify modbus_attack_writes ;;
            modbus-diag) run_modbus_diag; verify modbus_attack_diagnostics ;;
            modbus-fcscan) run_modbus_fcscan; verify modbus_attack_fcscan ;;
            modbus-unitscan) run_modbus_unitscan; verify modbus_attack_unitscan ;;
            modbus-poll) run_modbus_poll; verify modbus_normal_polling ;;
            s7-attack) run_s7_attack; verify s7comm_attack_control ;;
            s7-poll) run_s7_poll; verify s7comm_normal_polling ;;
            dnp3-attack) run_dnp3_attack; verify dnp3_attack_control ;;
            dnp3-poll) run_dnp3_poll; verify dnp3_normal_polling ;;
            baseline-normal-a) run_baseline_normal_a; verify baseline_normal_a ;;
            baseline-normal-b) run_baseline_normal_b; verify baseline_normal_b ;;
            baseline-attack) run_baseline_attack; verify baseline_attack ;;
            it-web) run_it_web; verify it_web_tls ;;
            it-files) run_it_files; verify it_files ;;
            it-dns) run_it_dns; verify it_dns ;;
            it-smb) run_it_smb; verify it_smb ;;
            iec104) run_iec104; verify iec104_c104 ;;
            iec104-attack) run_iec104_attack; verify iec104_attack ;;
            enip) run_enip; verify enip_cpppo ;;
            enip-attack) run_enip_attack; verify enip_attack ;;
            opcua) run_opcua; verify opcua_asyncua_nodeopcua ;;
            opcua-encrypted) run_opcua_encrypted; verify opcua_encrypted ;;
            opcua-attack) run_opcua_attack; verify opcua_attack ;;
            iec61850) run_iec61850; verify iec61850_mms ;;
            iec61850-attack) run_iec61850_attack; verify iec61850_attack ;;
            goose) run_goose; verify iec61850_goose ;;
            manifest) ;;
        esac
    done

    write_manifest
    log "done: $(du -ch "$OUT"/*.pcap | tail -1 | cut -f1) of captures in $OUT"
}

main "$@"
