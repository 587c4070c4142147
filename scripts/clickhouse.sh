#!/usr/bin/env bash
# A private ClickHouse for development and tests: its own data directory, loopback only, free
# ports, no other instance touched.
#
#   scripts/clickhouse.sh start DIR   start (or restart) the server whose data lives in DIR;
#                                     prints its HTTP URL. Ports are chosen once and kept in
#                                     DIR/ports, so a restart answers on the same URL.
#   scripts/clickhouse.sh stop DIR    stop it (SIGTERM, then SIGKILL after 30 s)
#   scripts/clickhouse.sh kill DIR    stop it at once (SIGKILL), as a crash or power cut would
#   scripts/clickhouse.sh url DIR     print the HTTP URL
#
# Installs Debian's clickhouse-server when it is missing.
set -euo pipefail

die() { echo "clickhouse.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: $0 start|stop|kill|url DIR"
cmd=$1
dir=$2
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
if [ ! -x "$server" ] && [ "$cmd" = start ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing clickhouse-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends clickhouse-server clickhouse-client >/dev/null
  server=/usr/sbin/clickhouse-server
fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

url() { echo "http://127.0.0.1:$(sed -n 1p "$dir/ports")"; }

case $cmd in
start)
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
    url
    exit 0
  fi
  if [ ! -f "$dir/ports" ]; then
    { free_port; free_port; } >"$dir/ports"
  fi
  http=$(sed -n 1p "$dir/ports")
  tcp=$(sed -n 2p "$dir/ports")
  mkdir -p "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas" "$dir/log"
  cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>$dir/log/server.log</log>
    <errorlog>$dir/log/error.log</errorlog>
    <size>10M</size>
    <count>2</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>200</max_concurrent_queries>
  <max_connections>1024</max_connections>
  <keep_alive_timeout>10</keep_alive_timeout>
</yandex>
XML
  cat >"$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
  # setsid: the server outlives this script and is not killed with the caller's process group.
  setsid "$server" --config-file="$dir/config.xml" >"$dir/log/stdout.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  for _ in $(seq 1 300); do
    if curl -fsS "$(url)/ping" >/dev/null 2>&1; then
      url
      exit 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$dir/log/stdout.log" "$dir/log/error.log" >&2 2>/dev/null || true
  die "server in $dir did not start"
  ;;
stop)
  [ -f "$dir/pid" ] || exit 0
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$dir/pid"
  ;;
kill)
  [ -f "$dir/pid" ] || exit 0
  pid=$(cat "$dir/pid")
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  rm -f "$dir/pid"
  ;;
url) url ;;
*) die "unknown command $cmd (start, stop, kill, url)" ;;
esac
