#!/usr/bin/env bash
# A private ClickHouse for development and tests: its own data directory, loopback only, free
# ports, no other instance touched. Or a private cluster of them.
#
#   scripts/clickhouse.sh start DIR   start (or restart) the server whose data lives in DIR;
#                                     prints its HTTP URL. Ports are chosen once and kept in
#                                     DIR/ports, so a restart answers on the same URL.
#   scripts/clickhouse.sh stop DIR    stop it (SIGTERM, then SIGKILL after 30 s)
#   scripts/clickhouse.sh kill DIR    stop it at once (SIGKILL), as a crash or power cut would
#   scripts/clickhouse.sh url DIR     print the HTTP URL
#
#   scripts/clickhouse.sh cluster start DIR
#       a ZooKeeper (DIR/zk) and 2 shards x 2 replicas (DIR/s1r1 DIR/s1r2 DIR/s2r1 DIR/s2r2),
#       cluster "icsight" (internal replication, macros {shard} and {replica}, ON CLUSTER DDL)
#       and "icsight_all" (every server its own shard, for DDL on unreplicated tables);
#       prints the four HTTP URLs, one a line. Restarts what is down, on the same ports.
#   scripts/clickhouse.sh cluster stop DIR        stop them all
#   scripts/clickhouse.sh cluster urls DIR        print the four URLs
#   scripts/clickhouse.sh cluster kill DIR NODE   SIGKILL one server (s1r1 …)
#   scripts/clickhouse.sh cluster zk-stop DIR     stop ZooKeeper (SIGKILL); zk-start starts it again
#
# Installs Debian's clickhouse-server (and for a cluster, zookeeper) when missing.
set -euo pipefail

die() { echo "clickhouse.sh: $*" >&2; exit 1; }

install() { # package...
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

server=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
need_server() {
  if [ ! -x "$server" ]; then
    install clickhouse-server clickhouse-client
    server=/usr/sbin/clickhouse-server
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

absdir() { mkdir -p "$1" && (cd "$1" && pwd); }

url_of() { echo "http://127.0.0.1:$(sed -n 1p "$1/ports")"; }

running() { [ -f "$1/pid" ] && kill -0 "$(cat "$1/pid")" 2>/dev/null; }

# The ports of a server: HTTP, native TCP, interserver HTTP (replication); chosen once.
ports_of() {
  [ -f "$1/ports" ] || { free_port; free_port; free_port; } >"$1/ports"
  # Single servers made before the third line: add it.
  [ "$(wc -l <"$1/ports")" -ge 3 ] || free_port >>"$1/ports"
}

# Start the server of DIR with `extra` XML inside its <yandex> (a cluster's); print its URL.
node_start() { # dir extra
  local dir=$1 extra=${2:-}
  need_server
  if running "$dir"; then
    url_of "$dir"
    return 0
  fi
  ports_of "$dir"
  local http tcp inter
  http=$(sed -n 1p "$dir/ports")
  tcp=$(sed -n 2p "$dir/ports")
  inter=$(sed -n 3p "$dir/ports")
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
  <interserver_http_port>$inter</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
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
$extra
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
    if curl -fsS "$(url_of "$dir")/ping" >/dev/null 2>&1; then
      url_of "$dir"
      return 0
    fi
    kill -0 "$(cat "$dir/pid")" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$dir/log/stdout.log" "$dir/log/error.log" >&2 2>/dev/null || true
  die "server in $dir did not start"
}

# Stop the process whose pid is in DIR/pid: SIGTERM (SIGKILL after 30 s), or `-9` at once.
stop_pid() { # dir [-9]
  local dir=$1 signal=${2:-}
  [ -f "$dir/pid" ] || return 0
  local pid
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill $signal "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$dir/pid"
}

# --- the cluster -------------------------------------------------------------------------

NODES=(s1r1 s1r2 s2r1 s2r2)

zk_start() { # dir
  local zk=$1/zk
  mkdir -p "$zk/data"
  [ -f /usr/share/java/zookeeper.jar ] || install zookeeper
  command -v java >/dev/null || install default-jre-headless
  running "$zk" && return 0
  [ -f "$zk/port" ] || free_port >"$zk/port"
  cat >"$zk/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$zk/data
clientPort=$(cat "$zk/port")
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok
CFG
  setsid java -Xmx256m -Dzookeeper.log.dir="$zk" -cp "/usr/share/java/zookeeper.jar:/usr/share/java/*" \
    org.apache.zookeeper.server.ZooKeeperServerMain "$zk/zoo.cfg" >"$zk/out.log" 2>&1 </dev/null &
  echo $! >"$zk/pid"
  for _ in $(seq 1 600); do
    if [ "$( (exec 3<>"/dev/tcp/127.0.0.1/$(cat "$zk/port")" && echo ruok >&3 && timeout 2 cat <&3) 2>/dev/null)" = imok ]; then
      return 0
    fi
    kill -0 "$(cat "$zk/pid")" 2>/dev/null || break
    sleep 0.1
  done
  tail -20 "$zk/out.log" >&2 || true
  die "ZooKeeper in $zk did not start"
}

# What every server of the cluster is told: the shards and replicas, ZooKeeper, where ON
# CLUSTER queries queue; `node` adds its own macros.
cluster_xml() { # dir node
  local dir=$1 node=$2 shards="" all="" s r replica
  for s in 1 2; do
    shards+="      <shard><internal_replication>true</internal_replication>"
    for r in 1 2; do
      replica="<replica><host>127.0.0.1</host><port>$(sed -n 2p "$dir/s${s}r${r}/ports")</port></replica>"
      shards+=$replica
      all+="      <shard>$replica</shard>"$'\n'
    done
    shards+="</shard>"$'\n'
  done
  # icsight_all: every server its own shard, for DDL on what each server keeps alone (the
  # Distributed tables: ClickHouse refuses an ALTER ON CLUSTER of an unreplicated table on a
  # cluster whose shards replicate).
  cat <<XML
  <remote_servers>
    <icsight>
$shards    </icsight>
    <icsight_all>
$all    </icsight_all>
  </remote_servers>
  <zookeeper>
    <node><host>127.0.0.1</host><port>$(cat "$dir/zk/port")</port></node>
    <session_timeout_ms>10000</session_timeout_ms>
  </zookeeper>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
  <macros><shard>0${node:1:1}</shard><replica>${node}</replica></macros>
XML
}

cluster() { # command dir [node]
  local cmd=$1 dir node
  dir=$(absdir "$2")
  case $cmd in
  start)
    need_server
    zk_start "$dir"
    for node in "${NODES[@]}"; do
      mkdir -p "$dir/$node"
      ports_of "$dir/$node"
    done
    for node in "${NODES[@]}"; do
      node_start "$dir/$node" "$(cluster_xml "$dir" "$node")"
    done
    ;;
  stop)
    for node in "${NODES[@]}"; do stop_pid "$dir/$node"; done
    stop_pid "$dir/zk"
    ;;
  urls)
    for node in "${NODES[@]}"; do url_of "$dir/$node"; done
    ;;
  kill)
    node=${3:-}
    [[ " ${NODES[*]} " == *" $node "* ]] || die "cluster kill DIR NODE: NODE is one of ${NODES[*]}"
    stop_pid "$dir/$node" -9
    ;;
  zk-stop) stop_pid "$dir/zk" -9 ;;
  zk-start) zk_start "$dir" ;;
  *) die "unknown cluster command $cmd (start, stop, urls, kill, zk-stop, zk-start)" ;;
  esac
}

case ${1:-} in
cluster)
  [ $# -ge 3 ] || die "usage: $0 cluster start|stop|urls|kill|zk-stop|zk-start DIR [NODE]"
  cluster "$2" "$3" "${4:-}"
  ;;
start | stop | kill | url)
  [ $# -eq 2 ] || die "usage: $0 start|stop|kill|url DIR"
  dir=$(absdir "$2")
  case $1 in
  start) node_start "$dir" ;;
  stop) stop_pid "$dir" ;;
  kill) stop_pid "$dir" -9 ;;
  url) url_of "$dir" ;;
  esac
  ;;
*) die "usage: $0 start|stop|kill|url DIR, or $0 cluster ... (see the script's head)" ;;
esac
