#!/usr/bin/env bash
# seaweed.sh — a local SeaweedFS on loopback to measure the directory
# against (issue 9): one master, three volume servers and a filer, default
# replication 001 (two copies of every chunk, on two volume servers).
#
#   scripts/seaweed.sh [--dir DIR] [run]   # start, wait for Ctrl-C or SIGTERM, stop
#   scripts/seaweed.sh [--dir DIR] start   # start and leave running (PIDs in DIR)
#   scripts/seaweed.sh [--dir DIR] stop    # stop what start started in DIR
#   scripts/seaweed.sh build               # build $WEED if it is missing (what `make seaweed` runs)
#
# WEED is the binary (default: $WEED_CACHE/weed, WEED_CACHE defaulting to
# ~/.cache/custodes: outside the repository). build fetches SeaweedFS
# SEAWEED_VERSION through the Go module proxy and builds it as the main
# module (its go.mod has replace directives), about 10 minutes on 2 cores.
# run stops by itself after SEAWEED_MAX_SECONDS (default 86400) or when a
# SeaweedFS process exits.
# Without --dir, run uses a temporary directory removed on exit. The filer's
# URL is printed and written to DIR/filer.url. Ports: SEAWEED_PORT (default
# 9700) for the master, +11..+13 for the volume servers, +20 for the
# filer; gRPC on each port + 10000 (SeaweedFS's default).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
WEED_CACHE=${WEED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/custodes}
WEED=${WEED:-$WEED_CACHE/weed}
PORT=${SEAWEED_PORT:-9700}
SEAWEED_VERSION=${SEAWEED_VERSION:-v0.0.0-20261109003541-7506e5f91cd6}
DIR=""
if [ "${1:-}" = "--dir" ]; then DIR=$2; shift 2; fi
cmd=${1:-run}

die() { echo "seaweed: $*" >&2; exit 1; }

. "$here/proc.sh"   # running PID

# stop: the filer first, then the volume servers, then the master (a filer
# whose master is gone takes 20 s to stop); SIGTERM to each group's PIDs
# recorded in DIR, SIGKILL to those still there after 10 s.
stop_group() {
  local f p left i deadline=$((SECONDS + 10))
  for f in "$@"; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    if running "$p"; then kill -TERM "$p" 2>/dev/null || true; fi
  done
  for i in $(seq 1 200); do
    [ $SECONDS -lt $deadline ] || break
    left=0
    for f in "$@"; do
      [ -f "$f" ] || continue
      p=$(cat "$f")
      if running "$p"; then left=1; else rm -f "$f"; fi
    done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  for f in "$@"; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    if running "$p"; then echo "seaweed: killing $(basename "$f" .pid) (pid $p)"; kill -KILL "$p" 2>/dev/null || true; fi
    rm -f "$f"
  done
}

stop_all() {
  stop_group "$DIR/filer.pid"
  stop_group "$DIR"/volume*.pid
  stop_group "$DIR/master.pid"
}

# wait_http URL SECONDS: until URL answers at all.
wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -s -o /dev/null --max-time 1 "$1"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

start_all() {
  [ -x "$WEED" ] || die "no weed binary at $WEED (run: make seaweed)"
  mkdir -p "$DIR"
  local m="127.0.0.1:$PORT" i vport
  common=(-telemetry=false)
  # Each server in its own session: a Ctrl-C (SIGINT to the terminal's
  # process group) reaches only this script, which stops them in order.
  local ss=()
  command -v setsid >/dev/null && ss=(setsid)
  mkdir -p "$DIR/master"
  "${ss[@]}" "$WEED" master -ip=127.0.0.1 -port="$PORT" -mdir="$DIR/master" -defaultReplication=001 \
    -volumeSizeLimitMB=1024 -peers=none "${common[@]}" >"$DIR/master.log" 2>&1 &
  echo $! > "$DIR/master.pid"
  wait_http "http://$m/cluster/status" 30 || die "master did not start (see $DIR/master.log)"
  for i in 1 2 3; do
    vport=$((PORT + 10 + i))
    mkdir -p "$DIR/volume$i"
    "${ss[@]}" "$WEED" volume -ip=127.0.0.1 -port="$vport" -dir="$DIR/volume$i" -master="$m" -max=8 \
      -preStopSeconds=1 -minFreeSpace=1GiB >"$DIR/volume$i.log" 2>&1 &
    echo $! > "$DIR/volume$i.pid"
  done
  for i in 1 2 3; do
    wait_http "http://127.0.0.1:$((PORT + 10 + i))/status" 30 || die "volume$i did not start (see $DIR/volume$i.log)"
  done
  mkdir -p "$DIR/filer"
  "${ss[@]}" "$WEED" filer -ip=127.0.0.1 -port=$((PORT + 20)) -master="$m" -defaultReplicaPlacement=001 \
    -defaultStoreDir="$DIR/filer" >"$DIR/filer.log" 2>&1 &
  echo $! > "$DIR/filer.pid"
  local url="http://127.0.0.1:$((PORT + 20))"
  wait_http "$url/" 30 || die "filer did not start (see $DIR/filer.log)"
  # Ready when a replicated write goes through (the master must have seen
  # every volume server's heartbeat and grown volumes).
  local deadline=$((SECONDS + 60)) code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X PUT --data-binary ready "$url/.ready/probe" || true)
    [ "$code" = 201 ] && break
    [ $SECONDS -lt $deadline ] || die "filer does not take writes (last status $code; see $DIR/*.log)"
    sleep 0.5
  done
  curl -s -o /dev/null --max-time 5 -X DELETE "$url/.ready/probe" || true
  echo "$url" > "$DIR/filer.url"
  echo "seaweedfs ready: filer $url (master http://$m, volume servers :$((PORT + 11))-:$((PORT + 13)), replication 001), in $DIR"
}

build_weed() {
  if [ -x "$WEED" ]; then echo "have $WEED"; return 0; fi
  command -v go >/dev/null || die "go is needed to build weed"
  local work src
  work=$(mktemp -d -t custodes-weed-XXXXXX)
  # Outside any module, so that no go.mod is touched.
  src=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "github.com/seaweedfs/seaweedfs@$SEAWEED_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  [ -n "$src" ] && [ -d "$src" ] || { rm -rf "$work"; die "could not download seaweedfs@$SEAWEED_VERSION"; }
  # The module cache is read-only; build from a writable copy.
  cp -r "$src" "$work/src"
  chmod -R u+w "$work/src"
  mkdir -p "$(dirname "$WEED")"
  echo "building weed $SEAWEED_VERSION into $WEED (about 10 minutes on 2 cores)"
  (cd "$work/src" && GOFLAGS=-mod=mod go build -o "$WEED.tmp" ./weed) || { rm -rf "$work"; die "build failed"; }
  mv "$WEED.tmp" "$WEED"
  rm -rf "$work"
  echo "built $WEED"
}

case "$cmd" in
  build)
    build_weed
    ;;
  start)
    [ -n "$DIR" ] || die "start needs --dir DIR (stop reads the PIDs there)"
    ok=0
    trap '[ "$ok" = 1 ] || stop_all' EXIT
    start_all
    ok=1
    ;;
  stop)
    [ -n "$DIR" ] || die "stop needs --dir DIR"
    stop_all
    ;;
  run)
    tmp=""
    if [ -z "$DIR" ]; then tmp=$(mktemp -d -t custodes-seaweed-XXXXXX); DIR=$tmp; fi
    trap 'stop_all; [ -n "$tmp" ] && rm -rf "$tmp"' EXIT
    trap 'exit 0' INT TERM
    start_all
    echo "Ctrl-C to stop"
    end=$((SECONDS + ${SEAWEED_MAX_SECONDS:-86400}))
    while [ $SECONDS -lt $end ]; do
      for f in "$DIR"/*.pid; do
        running "$(cat "$f")" || { echo "seaweed: $(basename "$f" .pid) exited (see $DIR/$(basename "$f" .pid).log)"; exit 1; }
      done
      sleep 1
    done
    ;;
  *) die "unknown command $cmd (run, start, stop, build)" ;;
esac
