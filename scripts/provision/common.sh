# common.sh — sourced by agent.sh, fileserver.sh and wait-ready.sh: the
# cluster's layout (which machine has which address) and the steps every
# machine shares. Settings come from the environment, which the
# Vagrantfile sets for each provisioner and e2e/provision_test.go for each
# network namespace:
#
#   CUSTODES_AGENTS       agent machines (default 3, 1-89)
#   CUSTODES_FILESERVERS  file-server machines (default 3, 0-150)
#   CUSTODES_NET          the private network's first three octets (192.168.56):
#                         agent I is NET.(10+I), file server I is NET.(100+I)
#   CUSTODES_SRC          the source tree (/vagrant): bin/custodes from `make build`
#                         or dist/custodes-linux-ARCH from `make release`, else the
#                         source build.sh compiles
#   CUSTODES_BINARY       a binary to install instead of looking in CUSTODES_SRC
#   CUSTODES_SECRETS      the directory holding cluster.key (and, for agents,
#                         management.token) as the host generated them
#   CUSTODES_SECRETS_UPLOADED=1  they were uploaded for this machine alone:
#                         remove them once installed
#   CUSTODES_AGENT_ARGS, CUSTODES_FILESERVER_ARGS  flags added to the units
#   PROVISION_ROOT        prefix of every path written ("" on a machine)
#   PROVISION_NO_SYSTEMD=1  write the units but start nothing, create no
#                         user and install no package (where systemd cannot
#                         run: the test starts each unit's ExecStart itself)
set -euo pipefail

AGENTS=${CUSTODES_AGENTS:-3}
FILESERVERS=${CUSTODES_FILESERVERS:-3}
NET=${CUSTODES_NET:-192.168.56}
SRC=${CUSTODES_SRC:-/vagrant}
SECRETS=${CUSTODES_SECRETS:-/tmp/custodes-secrets}
ROOT=${PROVISION_ROOT:-}
NO_SYSTEMD=${PROVISION_NO_SYSTEMD:-0}
PROVISION_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Ports: the same on every machine, each machine having its own address.
AGENT_HTTP=8500
AGENT_RAFT=8300
GOSSIP=8301
FS_HTTP=7101

# Paths as the units name them: under PROVISION_ROOT when one is given.
BIN=$ROOT/usr/local/bin/custodes
ETC=$ROOT/etc/custodes
DATA=$ROOT/var/lib/custodes
UNITS=$ROOT/etc/systemd/system
ENVIRONMENT=$ROOT/etc/environment

# RESTART is set to 1 by every step that changed what the process runs
# with (binary, secret, unit): start_unit restarts it then.
RESTART=0

log() { echo "provision: $*"; }
die() { echo "provision: $*" >&2; exit 1; }

is_uint() { case $1 in ''|*[!0-9]*) return 1 ;; esac; }

is_uint "$AGENTS" && [ "$AGENTS" -ge 1 ] && [ "$AGENTS" -le 89 ] ||
  die "CUSTODES_AGENTS=$AGENTS: give a number of agents from 1 to 89"
is_uint "$FILESERVERS" && [ "$FILESERVERS" -le 150 ] ||
  die "CUSTODES_FILESERVERS=$FILESERVERS: give a number of file servers from 0 to 150"
[[ $NET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] ||
  die "CUSTODES_NET=$NET: give the network's first three octets, e.g. 192.168.56"
case "$ROOT$SRC$SECRETS" in *[[:space:]]*) die "paths with spaces cannot go into a unit's ExecStart" ;; esac

agent_ip() { echo "$NET.$((10 + $1))"; }
fileserver_ip() { echo "$NET.$((100 + $1))"; }

# gossip_of_agents [EXCEPT]: the agents' gossip addresses, comma-separated.
gossip_of_agents() {
  local i out=""
  for i in $(seq 1 "$AGENTS"); do
    [ "$i" = "${1:-}" ] && continue
    out+="$(agent_ip "$i"):$GOSSIP,"
  done
  echo "${out%,}"
}

# index_arg NAME LIMIT VALUE: the machine's number, checked.
index_arg() {
  is_uint "${3:-}" && [ "$3" -ge 1 ] && [ "$3" -le "$2" ] ||
    die "usage: $1 INDEX (1-$2; got '${3:-}')"
  echo "$3"
}

systemd() { [ "$NO_SYSTEMD" != 1 ]; }

# ensure_curl: wait-ready.sh and the start checks speak HTTP with curl.
ensure_curl() {
  command -v curl >/dev/null && return 0
  systemd && command -v apt-get >/dev/null || die "curl is needed (apt-get install curl)"
  log "installing curl"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
}

goarch() {
  case $(uname -m) in
    x86_64|amd64) echo amd64 ;;
    aarch64|arm64) echo arm64 ;;
    *) uname -m ;;
  esac
}

# runs FILE: FILE is a custodes this machine can execute (a binary built
# on a macOS host, or for another architecture, is not).
runs() { "$1" version >/dev/null 2>&1; }

# install_binary puts a custodes that runs here at $BIN: CUSTODES_BINARY
# if given; else the host's `make build` output (bin/custodes, synced with
# the tree) if it runs here; else `make release`'s dist/custodes-linux-ARCH;
# else one compiled from the source in this machine (build.sh).
install_binary() {
  local cand
  mkdir -p "$(dirname "$BIN")"
  if [ -n "${CUSTODES_BINARY:-}" ]; then
    runs "$CUSTODES_BINARY" || die "CUSTODES_BINARY=$CUSTODES_BINARY does not run on this machine ($(uname -m))"
    put_binary "$CUSTODES_BINARY"
    return
  fi
  for cand in "$SRC/bin/custodes" "$SRC/dist/custodes-linux-$(goarch)"; do
    [ -f "$cand" ] || continue
    if runs "$cand"; then
      put_binary "$cand"
      return
    fi
    log "$cand does not run on this machine ($(uname -m)): not used"
  done
  log "no custodes binary for this machine in $SRC (make build or make release on the host): building from source"
  bash "$PROVISION_DIR/build.sh" "$SRC" "$BIN.new"
  mv -f "$BIN.new" "$BIN"
  RESTART=1
}

# put_binary FILE: install it by rename, so a running custodes keeps its
# own file until it restarts.
put_binary() {
  if [ -f "$BIN" ] && cmp -s "$1" "$BIN"; then
    log "$BIN is already $1"
    return
  fi
  install -m 0755 "$1" "$BIN.new"
  mv -f "$BIN.new" "$BIN"
  RESTART=1
  log "installed $1 as $BIN ($("$BIN" version))"
}

# make_user: the services run as the system user custodes.
make_user() {
  systemd || return 0
  id custodes >/dev/null 2>&1 && return 0
  useradd --system --home-dir /var/lib/custodes --no-create-home --shell /usr/sbin/nologin custodes
  log "created the system user custodes"
}

# install_secret NAME: copy $SECRETS/NAME to $ETC/NAME, readable by the
# service's user only (0600).
install_secret() {
  local from=$SECRETS/$1 to=$ETC/$1
  [ -s "$from" ] || die "$from is missing or empty: the Vagrantfile generates it on the host (see README, Vagrant)"
  install -d -m 0755 "$ETC"
  cmp -s "$from" "$to" || RESTART=1
  if systemd; then
    install -m 0600 -o custodes -g custodes "$from" "$to"
  else
    install -m 0600 "$from" "$to"
  fi
  if [ "${CUSTODES_SECRETS_UPLOADED:-0}" = 1 ]; then
    rm -f "$from"
    rmdir "$SECRETS" 2>/dev/null || true
  fi
  log "installed $to (0600)"
}

# make_data_dir: the process's own state, private to its user.
make_data_dir() {
  install -d -m 0700 "$DATA"
  systemd && chown custodes:custodes "$DATA"
  return 0
}

# set_http_addr ADDR: the CLI on this machine talks to ADDR
# (CUSTODES_HTTP_ADDR in /etc/environment, which PAM reads for every
# session, `vagrant ssh -c` included).
set_http_addr() {
  mkdir -p "$(dirname "$ENVIRONMENT")"
  touch "$ENVIRONMENT"
  local rest
  rest=$(grep -v '^CUSTODES_HTTP_ADDR=' "$ENVIRONMENT" || true)
  { [ -n "$rest" ] && printf '%s\n' "$rest"; echo "CUSTODES_HTTP_ADDR=$1"; } > "$ENVIRONMENT.new"
  mv -f "$ENVIRONMENT.new" "$ENVIRONMENT"
}

# write_unit NAME DESCRIPTION EXECSTART: the systemd unit NAME.service.
write_unit() {
  local file=$UNITS/$1.service
  mkdir -p "$UNITS"
  cat > "$file.new" <<UNIT
[Unit]
Description=$2
Documentation=https://github.com/custodes/custodes
Wants=network-online.target
After=network-online.target
# Keep trying: the private network's address may appear after the unit starts.
StartLimitIntervalSec=0

[Service]
User=custodes
Group=custodes
ExecStart=$3
Restart=on-failure
RestartSec=2
LimitNOFILE=65536
# SIGTERM: a leader hands leadership over before it exits.
KillSignal=SIGTERM
TimeoutStopSec=20

[Install]
WantedBy=multi-user.target
UNIT
  if [ -f "$file" ] && cmp -s "$file" "$file.new"; then
    rm -f "$file.new"
  else
    mv -f "$file.new" "$file"
    RESTART=1
  fi
  log "wrote $file"
}

# start_unit NAME URL: enable the unit, start it (restart it when RESTART
# says something changed), then wait until the process answers URL (it
# answers before the cluster is formed).
start_unit() {
  local name=$1 url=$2
  if ! systemd; then
    log "PROVISION_NO_SYSTEMD=1: $name not started (run its ExecStart from $UNITS/$name.service)"
    return 0
  fi
  systemctl daemon-reload
  systemctl enable "$name" >/dev/null 2>&1
  if [ "$RESTART" = 1 ] || ! systemctl is-active --quiet "$name"; then
    systemctl restart "$name"
    log "started $name"
  fi
  wait_http "$url" 60 || {
    journalctl -u "$name" -n 30 --no-pager >&2 || true
    die "$name does not answer $url after 60s"
  }
}

# wait_http URL SECONDS: poll URL until it answers 2xx, at most SECONDS.
wait_http() {
  local deadline=$((SECONDS + $2))
  until curl -sf --max-time 2 -o /dev/null "$1"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}
