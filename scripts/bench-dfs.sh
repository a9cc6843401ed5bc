#!/usr/bin/env bash
# bench-dfs.sh — what `make bench-dfs` runs (issue 9): the directory next to
# SeaweedFS and a direct baseline, on loopback, as one markdown table.
#
#   1. custodes: 3 agents (scripts/cluster.sh, with a cluster key), ACLs
#      bootstrapped, a user created; 3 file servers joined to them
#      (`custodes fileserver`); writes and reads through agent 1 as the user.
#   2. SeaweedFS: scripts/seaweed.sh (master, 3 volume servers, a filer,
#      replication 001), through the filer; once as configured by default
#      (no fsync per write) and once with ?fsync=true on every write.
#   3. direct baselines: the bytes straight to one custodes file server
#      (PUT /v1/copies/..., streamed signature), and to `custodes bench
#      sink`, a plain writer that fsyncs each file (this machine's disk and
#      loopback).
# A part whose pieces this tree lacks (no `custodes fileserver` before the
# directory is merged; no weed binary) is skipped and said so; the rest runs.
# Every process started here is stopped on exit, by its PID.
#
# Environment: CUSTODES_BIN (bin/custodes), WEED / WEED_CACHE (see
# seaweed.sh), BENCH_DURATION (5s per small-file run), BENCH_MAX_OPS
# (20000), BENCH_LARGE_COUNT (3), BENCH_DFS_ARGS (more `custodes bench dfs`
# flags), BENCH_DFS_ROLES (the user's roles, default services:read),
# BENCH_DFS_OUT (also append the report to this file).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
BIN=${CUSTODES_BIN:-$root/bin/custodes}
WEED_CACHE=${WEED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/custodes}
WEED=${WEED:-$WEED_CACHE/weed}
export WEED WEED_CACHE
BASE_PORT=${BASE_PORT:-9500}
FS_PORT=${FS_PORT:-9550}  # clear of the agents' HTTP (+i), Raft (+100+i) and gossip (+200+i) ports
SINK_PORT=${SINK_PORT:-9690}
ROLES=${BENCH_DFS_ROLES:-services:read}

dir=$(mktemp -d -t custodes-bench-dfs-XXXXXX)
pids=()
cleanup() {
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    local left=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.2
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  [ -d "$dir/seaweed" ] && scripts/seaweed.sh --dir "$dir/seaweed" stop >/dev/null 2>&1 || true
  [ -d "$dir/cluster" ] && BASE_PORT=$BASE_PORT scripts/cluster.sh --dir "$dir/cluster" stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

# wait_for SECONDS CMD...: until CMD succeeds, at most SECONDS.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

go build -o "$BIN" ./cmd/custodes
sync
args=()
skipped=()

# 1. custodes, if this tree has the directory.
if "$BIN" fileserver --help >/dev/null 2>&1; then
  key=$("$BIN" keygen)
  echo "starting 3 agents"
  CUSTODES_ENCRYPT=$key BASE_PORT=$BASE_PORT CUSTODES_BIN=$BIN scripts/cluster.sh --dir "$dir/cluster" start 3
  agent="http://127.0.0.1:$((BASE_PORT + 1))"
  mgmt=""
  for i in $(seq 1 50); do
    mgmt=$(curl -s --max-time 5 -X POST "$agent/acl/bootstrap" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    [ -n "$mgmt" ] && break
    sleep 0.2
  done
  [ -n "$mgmt" ] || { echo "bench-dfs: ACL bootstrap failed" >&2; exit 1; }
  roles=$(printf '"%s",' ${ROLES//,/ }); roles=${roles%,}
  user=$(curl -s --max-time 10 -X POST -H "Authorization: Bearer $mgmt" -H 'Content-Type: application/json' \
         -d "{\"name\":\"bench\",\"roles\":[$roles]}" "$agent/acl/users" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  [ -n "$user" ] || { echo "bench-dfs: creating the user failed" >&2; exit 1; }
  printf '%s\n' "$user" > "$dir/user.token"
  chmod 600 "$dir/user.token"
  printf '%s\n' "$key" > "$dir/cluster.key"
  chmod 600 "$dir/cluster.key"
  join=""
  for i in 1 2 3; do join+="127.0.0.1:$((BASE_PORT + 200 + i)),"; done
  join=${join%,}
  for i in 1 2 3; do
    mkdir -p "$dir/fs$i"
    "$BIN" fileserver --id "fs$i" --data-dir "$dir/fs$i" --http "127.0.0.1:$((FS_PORT + i))" \
      --gossip "127.0.0.1:$((FS_PORT + 10 + i))" --join "$join" --encrypt "$key" \
      >"$dir/fs$i.log" 2>&1 &
    pids+=($!)
    echo "started fs$i (pid $!) http://127.0.0.1:$((FS_PORT + i))"
  done
  for i in 1 2 3; do
    wait_for 30 curl -sf --max-time 1 "http://127.0.0.1:$((FS_PORT + i))/alive" ||
      { echo "bench-dfs: fs$i not alive (see its log below)" >&2; tail -20 "$dir/fs$i.log" >&2; exit 1; }
  done
  # Ready when a write through the agent is stored (the servers have
  # registered and gossip sees them alive).
  probe() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -H "Authorization: Bearer $user" \
                 --data-binary ready "$agent/write?name=bench-ready")" = 201 ]; }
  wait_for 60 probe || { echo "bench-dfs: the directory takes no writes after 60s" >&2; tail -20 "$dir/cluster/node1.log" >&2; exit 1; }
  curl -s -o /dev/null --max-time 10 -X DELETE -H "Authorization: Bearer $user" "$agent/file?name=bench-ready" || true
  args+=(--custodes "$agent" --token-file "$dir/user.token" --fileserver "http://127.0.0.1:$((FS_PORT + 1))" --encrypt-file "$dir/cluster.key")
else
  skipped+=("custodes and the file-server baseline: this build has no \`custodes fileserver\` (the directory is not merged)")
fi

# 2. SeaweedFS.
if [ -x "$WEED" ]; then
  scripts/seaweed.sh --dir "$dir/seaweed" start
  args+=(--seaweed "$(cat "$dir/seaweed/filer.url")")
else
  skipped+=("SeaweedFS: no weed binary at $WEED (run: make seaweed)")
fi

# 3. The plain fsyncing writer.
"$BIN" bench sink --dir "$dir/sink" --http "127.0.0.1:$SINK_PORT" >"$dir/sink.log" 2>&1 &
pids+=($!)
wait_for 10 curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$SINK_PORT/x" || { echo "bench-dfs: sink did not start" >&2; exit 1; }
args+=(--sink "http://127.0.0.1:$SINK_PORT")

report="$dir/report.md"
# shellcheck disable=SC2086
"$BIN" bench dfs "${args[@]}" --duration "${BENCH_DURATION:-5s}" --max-ops "${BENCH_MAX_OPS:-20000}" \
  --large-count "${BENCH_LARGE_COUNT:-3}" --out "$report" ${BENCH_DFS_ARGS:-} >/dev/null
for s in "${skipped[@]}"; do printf 'Skipped: %s.\n\n' "$s" >> "$report"; done
echo
cat "$report"
if [ -n "${BENCH_DFS_OUT:-}" ]; then cat "$report" >> "$BENCH_DFS_OUT"; echo "appended to $BENCH_DFS_OUT"; fi
