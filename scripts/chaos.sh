#!/usr/bin/env bash
# chaos.sh — inject faults into a cluster started by scripts/cluster.sh and
# print what was done and the cluster's state afterwards.
#
#   scripts/chaos.sh [--dir DIR] kill-leader
#   scripts/chaos.sh [--dir DIR] kill NODE          # kill -9
#   scripts/chaos.sh [--dir DIR] kill-random
#   scripts/chaos.sh [--dir DIR] pause NODE SECS    # SIGSTOP, then SIGCONT
#   scripts/chaos.sh [--dir DIR] restart NODE       # start a stopped/killed node again
#   scripts/chaos.sh [--dir DIR] partition NODE SECS  # needs cluster.sh --netns
#   scripts/chaos.sh [--dir DIR] heal
#   scripts/chaos.sh [--dir DIR] state
#
# NODE is the agent's number (1..N). Only processes recorded in the
# cluster's pid files are ever signalled.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
DIR=${CLUSTER_DIR:-./tmp/cluster}
if [ "${1:-}" = "--dir" ]; then DIR=$2; shift 2; fi

die() { echo "chaos: $*" >&2; exit 1; }
[ -d "$DIR" ] || die "no cluster in $DIR (start one with scripts/cluster.sh start)"

# The cluster records, per node I: nodeI.pid, nodeI.http (host:port), and
# with --netns, nodeI.ns (namespace) and nodeI.ip; netns.prefix names the
# bridge namespace.
http_of() { cat "$DIR/node$1.http"; }
nodes()   { for f in "$DIR"/node*.http; do n=${f##*/node}; echo "${n%.http}"; done | sort -n; }
. "$here/proc.sh"

leader() {
  local i
  for i in $(nodes); do
    alive "$i" || continue
    curl -s --max-time 2 "http://$(http_of "$i")/admin/raft" |
      sed -n 's/.*"leader":{"id":"\([^"]*\)".*/\1/p' | sed 's/^node//' && return 0
  done
  return 1
}

state() {
  local i
  printf '%-6s %-8s %-10s %-9s %s\n' NODE PID PROCESS STATE LEADER
  for i in $(nodes); do
    local p st="-" ld="-" proc="dead"
    p=$(pid_of "$i")
    if alive "$i"; then
      proc=running
      if grep -q T "/proc/$p/stat" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$p/stat")" = T ]; then proc=paused; fi
      local raft
      raft=$(curl -s --max-time 1 "http://$(http_of "$i")/admin/raft" || true)
      st=$(printf '%s' "$raft" | sed -n 's/.*"state":"\([A-Za-z]*\)".*/\1/p')
      ld=$(printf '%s' "$raft" | sed -n 's/.*"leader":{"id":"\([^"]*\)".*/\1/p')
    fi
    printf '%-6s %-8s %-10s %-9s %s\n' "node$i" "${p:--}" "$proc" "${st:--}" "${ld:--}"
  done
}

kill_node() {
  local p; p=$(pid_of "$1")
  [ -n "$p" ] && running "$p" || die "node$1 is not running"
  kill -9 "$p"
  local deadline=$((SECONDS + 5))
  while running "$p" && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
  echo "killed node$1 (pid $p) with SIGKILL"
}

partition() {
  local i=$1 secs=$2 j rules=""
  [ -f "$DIR/netns.prefix" ] || die "partition needs a cluster started with scripts/cluster.sh start N --netns"
  local sw; sw="$(cat "$DIR/netns.prefix")-sw"
  local me; me=$(cat "$DIR/node$i.ip")
  for j in $(nodes); do
    [ "$j" = "$i" ] && continue
    local peer; peer=$(cat "$DIR/node$j.ip")
    rules+="  ip saddr $me ip daddr $peer drop\n  ip saddr $peer ip daddr $me drop\n"
  done
  ip netns exec "$sw" nft delete table bridge cst_chaos 2>/dev/null || true
  printf "table bridge cst_chaos {\n chain fw {\n  type filter hook forward priority 0; policy accept;\n$rules }\n}\n" |
    ip netns exec "$sw" nft -f -
  echo "partitioned node$i ($me) from its peers (clients still reach it) for ${secs}s"
  if [ "$secs" != 0 ]; then
    sleep "$secs"   # the fault's duration, not a synchronisation
    heal
  fi
}

heal() {
  [ -f "$DIR/netns.prefix" ] || die "heal needs a cluster started with --netns"
  ip netns exec "$(cat "$DIR/netns.prefix")-sw" nft delete table bridge cst_chaos 2>/dev/null || true
  echo "healed all partitions"
}

cmd=${1:-}; shift || true
case "$cmd" in
  kill-leader)
    l=$(leader) || die "no leader known"
    kill_node "$l" ;;
  kill) [ $# -eq 1 ] || die "usage: kill NODE"; kill_node "$1" ;;
  kill-random)
    mapfile -t up < <(for i in $(nodes); do alive "$i" && echo "$i"; done)
    [ ${#up[@]} -gt 0 ] || die "no running node"
    kill_node "${up[RANDOM % ${#up[@]}]}" ;;
  pause)
    [ $# -eq 2 ] || die "usage: pause NODE SECS"
    p=$(pid_of "$1"); alive "$1" || die "node$1 is not running"
    kill -STOP "$p"; echo "paused node$1 (pid $p) for ${2}s"
    sleep "$2"      # the fault's duration
    kill -CONT "$p"; echo "resumed node$1" ;;
  restart)
    [ $# -eq 1 ] || die "usage: restart NODE"
    alive "$1" && die "node$1 is running; kill it first"
    "$here/cluster.sh" --dir "$DIR" start-node "$1" ;;
  partition) [ $# -eq 2 ] || die "usage: partition NODE SECS"; partition "$1" "$2" ;;
  heal) heal ;;
  state|"") ;;
  *) die "unknown command '$cmd' (kill-leader, kill, kill-random, pause, restart, partition, heal, state)" ;;
esac
echo
state
