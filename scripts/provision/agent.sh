#!/usr/bin/env bash
# agent.sh INDEX — provision agent machine INDEX (1..CUSTODES_AGENTS):
# install the binary and the cluster's secrets, write the systemd unit
# custodes-agent.service and start it. It does not wait for the cluster
# (the other agents may not be up yet: wait-ready.sh does, on the last
# machine). Settings: see common.sh.
#
# The agents bootstrap once CUSTODES_AGENTS of them see each other
# (--bootstrap-expect), join each other by gossip (--join of the others),
# share the cluster key (--encrypt-file, 0600), and the first leader
# bootstraps ACLs with the host's management token
# (--initial-management-token-file), so the file system works at once.
# ACLs stay --acl-default allow: the registry and the admin views need no
# token, as on a fresh `custodes dev`.
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

i=$(index_arg agent.sh "$AGENTS" "${1:-}")
ip=$(agent_ip "$i")
systemd && ensure_curl

install_binary
make_user
install_secret cluster.key
install_secret management.token
make_data_dir
set_http_addr "$ip:$AGENT_HTTP"

exec_start="$BIN agent --node-id agent$i --data-dir $DATA"
exec_start+=" --http $ip:$AGENT_HTTP --raft $ip:$AGENT_RAFT --gossip $ip:$GOSSIP"
exec_start+=" --bootstrap-expect $AGENTS"
join=$(gossip_of_agents "$i")
[ -n "$join" ] && exec_start+=" --join $join"
exec_start+=" --encrypt-file $ETC/cluster.key --initial-management-token-file $ETC/management.token"
[ -n "${CUSTODES_AGENT_ARGS:-}" ] && exec_start+=" $CUSTODES_AGENT_ARGS"

write_unit custodes-agent "custodes agent agent$i" "$exec_start"
start_unit custodes-agent "http://$ip:$AGENT_HTTP/alive"
log "agent$i provisioned: http://$ip:$AGENT_HTTP"
