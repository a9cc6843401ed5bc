#!/usr/bin/env bash
# cluster.sh — run N custodes agents as separate processes.
#
#   scripts/cluster.sh [--dir DIR] start [N] [--netns]   # default N=3
#   scripts/cluster.sh [--dir DIR] stop                  # SIGTERM, then SIGKILL after 10s
#   scripts/cluster.sh [--dir DIR] status
#   scripts/cluster.sh [--dir DIR] urls
#   scripts/cluster.sh [--dir DIR] start-node I | stop-node I | kill-node I
#
# Without --netns the agents listen on loopback: agent I serves HTTP on
# 127.0.0.1:(BASE_PORT+I), Raft on BASE_PORT+100+I and gossip on
# BASE_PORT+200+I (BASE_PORT defaults to 9500). With --netns (root, ip and
# nft needed) each agent runs in its own network namespace at 10.99.0.(10+I)
# on a bridge, and this host reaches them through 10.99.0.254, so that
# scripts/chaos.sh can partition one agent from its peers while clients
# still reach it. Everything lives in DIR (default ./tmp/cluster): per agent
# nodeI.pid, nodeI.http, nodeI.log and the data dir nodeI/.
# AGENT_ARGS adds flags to every agent (e.g. AGENT_ARGS=--enable-debug).
# CUSTODES_ENCRYPT (a cluster key list, see `custodes keygen`) set at start
# is saved as DIR/cluster.key (mode 600) and given to every agent started
# in DIR, restarts included, with --encrypt-file.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DIR=${CLUSTER_DIR:-./tmp/cluster}
if [ "${1:-}" = "--dir" ]; then DIR=$2; shift 2; fi
BIN=${CUSTODES_BIN:-$root/bin/custodes}
BASE_PORT=${BASE_PORT:-9500}
PREFIX=${NETNS_PREFIX:-cst$$}

die() { echo "cluster: $*" >&2; exit 1; }

ensure_bin() {
  if [ ! -x "$BIN" ]; then
    echo "building $BIN"
    (cd "$root" && go build -o "$BIN" ./cmd/custodes)
  fi
}

# settings saved by start and read by every other command
load() {
  [ -f "$DIR/cluster.env" ] || die "no cluster in $DIR (run: $0 start)"
  # shellcheck disable=SC1091
  . "$DIR/cluster.env"
}

. "$here/proc.sh"

netns_up() {
  local n=$1 sw="$PREFIX-sw" i
  ip netns add "$sw"
  ip -n "$sw" link add br0 type bridge
  ip -n "$sw" link set br0 up
  for i in $(seq 1 "$n"); do
    ip netns add "$PREFIX-n$i"
    ip -n "$sw" link add "veth-n$i" type veth peer name eth0 netns "$PREFIX-n$i"
    ip -n "$sw" link set "veth-n$i" master br0
    ip -n "$sw" link set "veth-n$i" up
    ip -n "$PREFIX-n$i" addr add "10.99.0.$((10 + i))/24" dev eth0
    ip -n "$PREFIX-n$i" link set eth0 up
    ip -n "$PREFIX-n$i" link set lo up
  done
  ip link add "${PREFIX}c" type veth peer name veth-cli netns "$sw"
  ip -n "$sw" link set veth-cli master br0
  ip -n "$sw" link set veth-cli up
  ip addr add 10.99.0.254/24 dev "${PREFIX}c"
  ip link set "${PREFIX}c" up
  echo "$PREFIX" > "$DIR/netns.prefix"
}

netns_down() {
  [ -f "$DIR/netns.prefix" ] || return 0
  local p i; p=$(cat "$DIR/netns.prefix")
  ip link del "${p}c" 2>/dev/null || true
  for i in $(seq 1 "$N"); do ip netns del "$p-n$i" 2>/dev/null || true; done
  ip netns del "$p-sw" 2>/dev/null || true
  rm -f "$DIR/netns.prefix"
  echo "removed network namespaces $p-*"
}

start_node() {
  local i=$1 host http raft gossip join="" j
  alive "$i" && die "node$i is already running (pid $(pid_of "$i"))"
  # Join every other agent: a restarted agent must find the living ones
  # whichever of them are up.
  for j in $(seq 1 "$N"); do
    [ "$j" = "$i" ] && continue
    if [ "$NETNS" = 1 ]; then join+="10.99.0.$((10 + j)):8301,"; else join+="127.0.0.1:$((BASE + 200 + j)),"; fi
  done
  join=${join%,}
  if [ "$NETNS" = 1 ]; then
    host="10.99.0.$((10 + i))"; http="$host:8500"; raft="$host:8300"; gossip="$host:8301"
    echo "$host" > "$DIR/node$i.ip"
  else
    host=127.0.0.1; http="$host:$((BASE + i))"; raft="$host:$((BASE + 100 + i))"; gossip="$host:$((BASE + 200 + i))"
  fi
  echo "$http" > "$DIR/node$i.http"
  local args=(agent --node-id "node$i" --data-dir "$DIR/node$i" --http "$http" --raft "$raft"
              --gossip "$gossip" --bootstrap-expect "$N" --log-level info ${AGENT_ARGS:-})
  [ -n "$join" ] && args+=(--join "$join")
  [ -f "$DIR/cluster.key" ] && args+=(--encrypt-file "$DIR/cluster.key")
  if [ "$NETNS" = 1 ]; then
    # ip netns exec replaces itself with the agent: $! is the agent's PID.
    ip netns exec "$(cat "$DIR/netns.prefix")-n$i" "$BIN" "${args[@]}" >>"$DIR/node$i.log" 2>&1 &
  else
    "$BIN" "${args[@]}" >>"$DIR/node$i.log" 2>&1 &
  fi
  echo $! > "$DIR/node$i.pid"
  echo "started node$i (pid $!) http://$http"
}

wait_ready() {
  local deadline=$((SECONDS + ${1:-30})) i ok
  while :; do
    ok=1
    for i in $(seq 1 "$N"); do
      alive "$i" || continue
      curl -sf --max-time 1 "http://$(cat "$DIR/node$i.http")/ready" >/dev/null || ok=0
    done
    [ $ok = 1 ] && return 0
    [ $SECONDS -ge $deadline ] && die "agents not ready in time; see $DIR/node*.log"
    sleep 0.1
  done
}

stop_node() {
  local i=$1 sig=${2:-TERM} p deadline
  p=$(pid_of "$i")
  alive "$i" || { echo "node$i is not running"; return 0; }
  kill -"$sig" "$p"
  deadline=$((SECONDS + 10))
  while running "$p"; do
    if [ $SECONDS -ge $deadline ]; then kill -KILL "$p"; echo "node$i did not stop in 10s: killed"; break; fi
    sleep 0.05
  done
  echo "stopped node$i (pid $p, SIG$sig)"
}

status() {
  local i
  for i in $(seq 1 "$N"); do
    if alive "$i"; then
      printf 'node%s pid %-7s http://%-20s %s\n' "$i" "$(pid_of "$i")" "$(cat "$DIR/node$i.http")" \
        "$(curl -s --max-time 1 "http://$(cat "$DIR/node$i.http")/admin/raft" | sed -n 's/.*"state":"\([A-Za-z]*\)".*"leader":{"id":"\([^"]*\)".*/\1 (leader \2)/p')"
    else
      printf 'node%s down\n' "$i"
    fi
  done
}

cmd=${1:-}; shift || true
case "$cmd" in
  start)
    N=3; NETNS=0
    for a in "$@"; do
      case "$a" in
        --netns) NETNS=1 ;;
        ''|*[!0-9]*) die "unknown argument $a" ;;
        *) N=$a ;;
      esac
    done
    [ "$N" -ge 1 ] || die "N must be at least 1"
    if [ -f "$DIR/cluster.env" ]; then
      load
      for i in $(seq 1 "$N"); do alive "$i" && die "a cluster is already running in $DIR"; done
    fi
    ensure_bin
    mkdir -p "$DIR"
    BASE=$BASE_PORT
    if [ "$NETNS" = 1 ]; then
      [ "$(id -u)" = 0 ] || die "--netns needs root"
      command -v nft >/dev/null || die "--netns needs nft (apt-get install nftables)"
      netns_up "$N"
    fi
    printf 'N=%s\nNETNS=%s\nBASE=%s\nBIN=%q\n' "$N" "$NETNS" "$BASE" "$BIN" > "$DIR/cluster.env"
    rm -f "$DIR/cluster.key"
    if [ -n "${CUSTODES_ENCRYPT:-}" ]; then
      (umask 077 && printf '%s\n' "$CUSTODES_ENCRYPT" > "$DIR/cluster.key")
    fi
    for i in $(seq 1 "$N"); do start_node "$i"; done
    wait_ready 30
    status ;;
  stop)
    load
    for i in $(seq 1 "$N"); do stop_node "$i"; done
    [ "$NETNS" = 1 ] && netns_down
    true ;;
  status) load; status ;;
  urls) load; for i in $(seq 1 "$N"); do echo "http://$(cat "$DIR/node$i.http")"; done ;;
  start-node) load; [ $# -eq 1 ] || die "usage: start-node I"; start_node "$1"; wait_ready 30 ;;
  stop-node) load; [ $# -eq 1 ] || die "usage: stop-node I"; stop_node "$1" TERM ;;
  kill-node) load; [ $# -eq 1 ] || die "usage: kill-node I"; stop_node "$1" KILL ;;
  *) die "usage: $0 [--dir DIR] start [N] [--netns] | stop | status | urls | start-node I | stop-node I | kill-node I" ;;
esac
