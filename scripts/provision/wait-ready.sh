#!/usr/bin/env bash
# wait-ready.sh — wait until the whole cluster is ready, at most
# CUSTODES_READY_TIMEOUT seconds (default 300): every agent answers /ready
# (it knows a leader and has applied the log), the Raft configuration has
# CUSTODES_AGENTS voters and a leader, and every file server is registered
# with the directory and alive. Run on any machine of the private network
# (the Vagrantfile runs it on the last machine brought up); exit 1 naming
# what was not ready in time. Settings: see common.sh.
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

timeout=${CUSTODES_READY_TIMEOUT:-300}
is_uint "$timeout" || die "CUSTODES_READY_TIMEOUT=$timeout: give seconds"
deadline=$((SECONDS + timeout))
systemd && ensure_curl

# until WHAT COMMAND...: run COMMAND until it succeeds or the deadline.
until_ready() {
  local what=$1; shift
  until "$@"; do
    [ $SECONDS -lt $deadline ] || die "not ready after ${timeout}s: $what"
    sleep 0.5
  done
}

get() { curl -sf --max-time 2 "$1"; }

agent_ready() { get "http://$(agent_ip "$1"):$AGENT_HTTP/ready" >/dev/null; }

# The JSON of /admin/raft and /admin/dfs is Go's: no spaces, fields in
# their declared order, so counting fixed strings is enough here.
raft_formed() {
  local st
  st=$(get "http://$(agent_ip 1):$AGENT_HTTP/admin/raft") || return 1
  [ "$(grep -o '"suffrage":"Voter"' <<<"$st" | wc -l)" -eq "$AGENTS" ] &&
    grep -q '"leader":{"id":"' <<<"$st"
}

fileservers_alive() {
  local st
  st=$(get "http://$(agent_ip 1):$AGENT_HTTP/admin/dfs") || return 1
  [ "$(grep -o '"state":"alive","gossip":"alive"' <<<"$st" | wc -l)" -ge "$FILESERVERS" ]
}

for i in $(seq 1 "$AGENTS"); do
  until_ready "agent$i ($(agent_ip "$i")) answers /ready" agent_ready "$i"
done
until_ready "a leader and $AGENTS voters in /admin/raft" raft_formed
[ "$FILESERVERS" -gt 0 ] && until_ready "$FILESERVERS file servers alive in /admin/dfs" fileservers_alive

st=$(get "http://$(agent_ip 1):$AGENT_HTTP/admin/raft")
leader=$(sed -n 's/.*"leader":{"id":"\([^"]*\)".*/\1/p' <<<"$st")
log "cluster ready after ${SECONDS}s: leader $leader, $AGENTS voters, $FILESERVERS file servers alive"
log "try: vagrant ssh agent1 -c 'custodes raft'   (or curl http://$(agent_ip 1):$AGENT_HTTP/admin/raft)"
