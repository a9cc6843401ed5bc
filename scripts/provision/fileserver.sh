#!/usr/bin/env bash
# fileserver.sh INDEX — provision file-server machine INDEX
# (1..CUSTODES_FILESERVERS): install the binary and the cluster key, write
# the systemd unit custodes-fileserver.service and start it. The file
# server joins the agents' gossip (--join of every agent) with the cluster
# key and registers with the directory through an agent by itself,
# retrying until one answers. Settings: see common.sh.
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

i=$(index_arg fileserver.sh "$FILESERVERS" "${1:-}")
ip=$(fileserver_ip "$i")
systemd && ensure_curl

install_binary
make_user
install_secret cluster.key
make_data_dir
# The CLI here talks to an agent, the file servers spread over them.
set_http_addr "$(agent_ip $(( (i - 1) % AGENTS + 1 ))):$AGENT_HTTP"

exec_start="$BIN fileserver --id fileserver$i --data-dir $DATA"
exec_start+=" --http $ip:$FS_HTTP --gossip $ip:$GOSSIP --join $(gossip_of_agents)"
exec_start+=" --encrypt-file $ETC/cluster.key"
[ -n "${CUSTODES_FILESERVER_ARGS:-}" ] && exec_start+=" $CUSTODES_FILESERVER_ARGS"

write_unit custodes-fileserver "custodes file server fileserver$i" "$exec_start"
start_unit custodes-fileserver "http://$ip:$FS_HTTP/alive"
log "fileserver$i provisioned: http://$ip:$FS_HTTP"
