#!/usr/bin/env bash
# Install the system packages icsight needs, where missing (Debian/Ubuntu, as root or via sudo).
#   libpcap-dev       capture (the `pcap` crate links libpcap)
#   libhyperscan-dev  the signature engine's regex prefilter
#   tshark            the decoding oracle the conformance tests compare against (editcap too)
#   tcpreplay         replays captures onto a veth pair for the live-capture test
#   iproute2          network namespaces and veth pairs for that test
#   clickhouse-server the collector's store; tests start private instances (scripts/clickhouse.sh)
#   zookeeper, default-jre-headless   the replication of a private ClickHouse cluster (clickhouse.sh cluster)
#   curl, openssl     the collector tests talk HTTPS to it and check the certificates it issues
#   chromium, chromium-driver, fonts-noto-cjk  the pages tested in a real headless browser, in Chinese
#   poppler-utils                     pdftotext, which reads the situation reports' PDFs back in the tests
#   python3-aiosmtpd  the SMTP sink (with STARTTLS) the notification tests send to
set -euo pipefail

packages=(libpcap-dev libhyperscan-dev pkg-config tshark wireshark-common tcpreplay iproute2 procps
  clickhouse-server clickhouse-client zookeeper default-jre-headless curl openssl python3 chromium chromium-driver fonts-noto-cjk poppler-utils python3-aiosmtpd)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; the answer does not matter here.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# taxii2-client: the independent TAXII 2.1 client the information-sharing test pulls with (PyPI).
python3 -c 'import taxii2client' 2>/dev/null || python3 -m pip install --quiet taxii2-client
command -v cargo >/dev/null || { echo "error: cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
