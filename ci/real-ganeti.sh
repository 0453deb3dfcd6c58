#!/usr/bin/env bash
# ci/real-ganeti.sh: a real single-node Ganeti 3.0 cluster (Debian's `ganeti` package, fake
# hypervisor, diskless and file disk templates) for the contract tests and `make run-ganeti`.
#
# Ganeti will not run on a loopback address, so its daemons live in a network namespace of
# their own, joined to the host by a veth pair on a /24 of the documentation ranges
# (198.51.100.0/24 unless SNF_GANETI_SUBNET says otherwise). The script refuses a subnet this
# machine already uses, and the namespace gets no default route: nothing leaves that /24.
# The file system is shared, so host processes (snf-ganeti-eventd, the file-system broker)
# see the job queue and the hooks write where host processes read.
#
#   ci/real-ganeti.sh install            apt-get install ganeti (no recommends)
#   ci/real-ganeti.sh up                 install if needed, namespace, links, OS definition,
#                                        cluster, RAPI users; writes the state file and prints it
#   ci/real-ganeti.sh links NAME...      create more bridges on the node (idempotent)
#   ci/real-ganeti.sh hooks-remove       remove the snf-ganeti-hook wrappers that a deployment
#                                        (snf-quickstart --ganeti) left in the hook directories
#   ci/real-ganeti.sh status             daemons and a RAPI answer
#   ci/real-ganeti.sh exec CMD...        run CMD inside the namespace (gnt-* commands need it)
#   ci/real-ganeti.sh down               remove instances and networks, destroy the cluster,
#                                        delete the namespace and the host's /etc/hosts line
#   ci/real-ganeti.sh can-run            exit 0 if this machine can run a cluster (else why)
#
# State file (shell-sourceable, also read by the tests): $SNF_GANETI_STATE, default
# /run/snf-real-ganeti.env. Needs root.
set -euo pipefail

NS=${SNF_GANETI_NS:-snfgnt}
SUBNET=${SNF_GANETI_SUBNET:-198.51.100}
HOST_IP=$SUBNET.1
NODE_IP=$SUBNET.10
MASTER_IP=$SUBNET.100
DOMAIN=${SNF_GANETI_DOMAIN:-ganeti.test}
CLUSTER=cluster.$DOMAIN
STATE=${SNF_GANETI_STATE:-/run/snf-real-ganeti.env}
OS_NAME=snf-image
OS_DIR=/srv/ganeti/os/$OS_NAME
FILE_DIR=/srv/ganeti/file-storage
BRIDGE=br-$NS
# The links private networks use (Ganeti refuses a bridged NIC whose bridge is missing on the
# node): the default PRIVATE_MAC_FILTERED_BRIDGE, and the bridge pool snf-quickstart creates
# for PRIVATE_PHYSICAL_VLAN networks ($BRIDGE_POOL_BASE1..N).
PRIVATE_BRIDGE=${SNF_GANETI_PRIVATE_BRIDGE:-br0}
BRIDGE_POOL_BASE=${SNF_GANETI_BRIDGE_POOL_BASE:-prv}
BRIDGE_POOL_SIZE=${SNF_GANETI_BRIDGE_POOL_SIZE:-20}
HOST_DEV=$NS-h
NODE_DEV=$NS-g
HOSTS_TAG="# snf-real-ganeti $NS"
HOOK_OPS="add modify reboot start stop"
HOOK_NAME=snf-ganeti-hook        # what snf-quickstart --ganeti installs in instance-*-post.d
RAPI_USERS=/var/lib/ganeti/rapi/users

SHORT=$(hostname -s)
NODE=$SHORT.$DOMAIN

say() { printf 'real-ganeti: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
inside() { ip netns exec "$NS" "$@"; }
have_ns() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$NS"; }
cluster_exists() { [ -s /var/lib/ganeti/config.data ]; }

can_run() {
  [ "$(id -u)" = 0 ] || { echo "not root"; return 1; }
  command -v ip >/dev/null || { echo "no iproute2 (ip)"; return 1; }
  command -v apt-get >/dev/null || command -v gnt-cluster >/dev/null \
    || { echo "no apt-get to install Debian's ganeti package"; return 1; }
  local probe="snf-probe-$$"
  ip netns add "$probe" 2>/dev/null || { echo "cannot create network namespaces"; return 1; }
  ip netns del "$probe"
}

install_ganeti() {
  command -v gnt-cluster >/dev/null && return 0
  local t0=$SECONDS added_policy=
  # Keep package scripts from starting daemons on the host (outside our namespace).
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; added_policy=1
  fi
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ganeti openssl >/dev/null
  [ -z "$added_policy" ] || rm -f /usr/sbin/policy-rc.d
  say "installed ganeti $(dpkg-query -W -f='${Version}' ganeti) in $((SECONDS - t0)) s"
}

subnet_in_use() {
  ip -4 -o addr show | grep -q " $SUBNET\." && return 0
  ip -4 route show | grep -q "^$SUBNET\." && return 0
  return 1
}

make_namespace() {
  have_ns && return 0
  subnet_in_use && die "$SUBNET.0/24 is already in use on this machine; choose another SNF_GANETI_SUBNET"
  ip netns add "$NS"
  inside ip link set lo up
  ip link add "$HOST_DEV" type veth peer name "$NODE_DEV"
  ip link set "$NODE_DEV" netns "$NS"
  sysctl -qw "net.ipv6.conf.$HOST_DEV.disable_ipv6=1" 2>/dev/null || true
  inside sysctl -qw "net.ipv6.conf.$NODE_DEV.disable_ipv6=1" 2>/dev/null || true
  ip addr add "$HOST_IP/24" dev "$HOST_DEV"
  ip link set "$HOST_DEV" up
  inside ip addr add "$NODE_IP/24" dev "$NODE_DEV"
  inside ip link set "$NODE_DEV" up
  say "namespace $NS: $NODE_IP/24 on $NODE_DEV, host side $HOST_IP"
}

# Bridges on the node (Ganeti checks that the bridge of a bridged NIC exists there). Idempotent,
# so `up` on a running cluster adds the links a newer script names.
make_links() {
  local name
  for name in "$@"; do
    { [ ${#name} -le 15 ] && [[ $name =~ ^[A-Za-z0-9_.-]+$ ]]; } || die "invalid link name '$name'"
    inside ip link show "$name" >/dev/null 2>&1 || inside ip link add "$name" type bridge
    inside ip link set "$name" up
  done
}

default_links() {
  local i
  printf '%s\n' "$BRIDGE" "$PRIVATE_BRIDGE"
  for i in $(seq 1 "$BRIDGE_POOL_SIZE"); do printf '%s\n' "$BRIDGE_POOL_BASE$i"; done
}

links() {
  [ "$(id -u)" = 0 ] || die "needs root"
  have_ns || die "no namespace $NS: run \`$0 up\` first"
  [ $# -gt 0 ] || die "usage: $0 links NAME..."
  make_links "$@"
  if [ -s "$STATE" ]; then
    RAPI_PASSWORD=$(state_value SNF_GANETI_RAPI_PASSWORD)
    RAPI_READ_PASSWORD=$(state_value SNF_GANETI_RAPI_READ_PASSWORD)
    write_state
  fi
  say "links on the node: $(node_links | paste -sd' ' -)"
}

node_links() { inside ip -o link show type bridge | awk -F': ' '{print $2}' | sed 's/@.*//' | sort; }

# Rewrite a file in place (same inode): /etc/hosts may be a bind mount, and `ip netns exec`
# bind-mounts /etc/netns/NS/hosts over the namespace's /etc/hosts by inode too.
rewrite() { local file=$1 text; text=$(cat); printf '%s\n' "$text" > "$file"; }

write_names() {
  mkdir -p "/etc/netns/$NS"
  [ -s "/etc/netns/$NS/hosts" ] || printf '127.0.0.1 localhost\n%s %s %s\n%s %s\n' \
    "$NODE_IP" "$NODE" "$SHORT" "$MASTER_IP" "$CLUSTER" > "/etc/netns/$NS/hosts"
  [ -s "/etc/netns/$NS/resolv.conf" ] || echo 'nameserver 127.0.0.1' > "/etc/netns/$NS/resolv.conf"
  # The host reaches the cluster by its name, as Cyclades reaches every backend.
  if ! grep -qF "$HOSTS_TAG" /etc/hosts; then
    { cat /etc/hosts; printf '%s %s %s\n' "$MASTER_IP" "$CLUSTER" "$HOSTS_TAG"; } | rewrite /etc/hosts
  fi
}

write_os_definition() {
  # A do-nothing OS definition (OS API 20) with snf-image's name and parameters: Ganeti
  # validates the OS and its parameters on every create, even when nothing is installed.
  mkdir -p "$OS_DIR" "$FILE_DIR" /etc/ganeti
  echo "$FILE_DIR" > /etc/ganeti/file-storage-paths
  echo 20 > "$OS_DIR/ganeti_api_version"
  echo default > "$OS_DIR/variants.list"
  cat > "$OS_DIR/parameters.list" <<'EOF'
img_id       image to deploy (snf-image: a URL or an id)
img_format   image format (diskdump, extdump, ntfsdump)
img_passwd   password of the new VM's administrator
img_properties  JSON object of image properties
img_personality JSON list of files to inject
config_url   where snf-image fetches its configuration
EOF
  local script
  for script in create import export rename verify; do
    cat > "$OS_DIR/$script" <<'EOF'
#!/bin/sh
# Do-nothing Ganeti OS script installed by Cyclades' ci/real-ganeti.sh.
[ "$(basename "$0")" = import ] && cat > /dev/null
exit 0
EOF
    chmod 755 "$OS_DIR/$script"
  done
}

write_rapi_users() {
  local write_pass read_pass
  write_pass=$(state_value SNF_GANETI_RAPI_PASSWORD)
  read_pass=$(state_value SNF_GANETI_RAPI_READ_PASSWORD)
  [ -n "$write_pass" ] || write_pass=$(openssl rand -hex 12)
  [ -n "$read_pass" ] || read_pass=$(openssl rand -hex 12)
  mkdir -p "$(dirname "$RAPI_USERS")"
  printf 'cyclades %s write\nobserver %s\n' "$write_pass" "$read_pass" > "$RAPI_USERS"
  chown -R gnt-rapi:gnt-masterd "$(dirname "$RAPI_USERS")"
  chmod 750 "$(dirname "$RAPI_USERS")"; chmod 640 "$RAPI_USERS"
  RAPI_PASSWORD=$write_pass RAPI_READ_PASSWORD=$read_pass
}

state_value() { [ -s "$STATE" ] && sed -n "s/^$1=//p" "$STATE" || true; }

rapi_answers() {
  curl -sk --max-time 3 -u "cyclades:$RAPI_PASSWORD" "https://$MASTER_IP:5080/2/info" 2>/dev/null \
    | grep -q '"software_version"'
}

wait_rapi() {
  local i
  for i in $(seq 1 120); do rapi_answers && return 0; sleep 0.5; done
  die "RAPI does not answer at https://$MASTER_IP:5080; see /var/log/ganeti/rapi-daemon.log"
}

start_daemons() {
  inside /usr/lib/ganeti/daemon-util start-all
  inside gnt-cluster activate-master-ip >/dev/null 2>&1 || true
}

init_cluster() {
  # RAPI listens on 127.0.0.1 by default: unreachable from the host.
  sed -i 's/^RAPI_ARGS=.*/RAPI_ARGS="-b 0.0.0.0 --require-authentication"/' /etc/default/ganeti
  if ! cluster_exists; then
    local t0=$SECONDS
    inside gnt-cluster init --no-ssh-init --no-etc-hosts --enabled-hypervisors=fake \
      --enabled-disk-templates=diskless,file --file-storage-dir="$FILE_DIR" \
      --master-netdev="$NODE_DEV" --nic-parameters="mode=bridged,link=$BRIDGE" "$CLUSTER" >/dev/null
    say "cluster $CLUSTER initialised in $((SECONDS - t0)) s"
  elif ! inside /usr/lib/ganeti/daemon-util check ganeti-luxid >/dev/null 2>&1; then
    start_daemons
  fi
}

write_state() {
  local fingerprint
  fingerprint=$(openssl x509 -in /var/lib/ganeti/rapi.pem -noout -fingerprint -sha256 | sed 's/.*=//')
  cat > "$STATE.tmp" <<EOF
SNF_GANETI_NS=$NS
SNF_GANETI_CLUSTER=$CLUSTER
SNF_GANETI_MASTER_IP=$MASTER_IP
SNF_GANETI_HOST_IP=$HOST_IP
SNF_GANETI_NODE=$NODE
SNF_GANETI_NODE_IP=$NODE_IP
SNF_GANETI_RAPI_PORT=5080
SNF_GANETI_RAPI_USER=cyclades
SNF_GANETI_RAPI_PASSWORD=$RAPI_PASSWORD
SNF_GANETI_RAPI_READ_USER=observer
SNF_GANETI_RAPI_READ_PASSWORD=$RAPI_READ_PASSWORD
SNF_GANETI_RAPI_FINGERPRINT=$fingerprint
SNF_GANETI_OS=$OS_NAME+default
SNF_GANETI_BRIDGE=$BRIDGE
SNF_GANETI_LINKS=$(node_links | paste -sd, -)
SNF_GANETI_PRIVATE_BRIDGE=$PRIVATE_BRIDGE
SNF_GANETI_BRIDGE_POOL_BASE=$BRIDGE_POOL_BASE
SNF_GANETI_BRIDGE_POOL_SIZE=$BRIDGE_POOL_SIZE
SNF_GANETI_QUEUE_DIR=/var/lib/ganeti/queue
SNF_GANETI_HOOKS_DIR=/etc/ganeti/hooks
SNF_GANETI_FILE_STORAGE_DIR=$FILE_DIR
EOF
  chmod 600 "$STATE.tmp"
  mv "$STATE.tmp" "$STATE"
}

up() {
  local t0=$SECONDS
  [ "$(id -u)" = 0 ] || die "needs root"
  install_ganeti
  make_namespace
  # shellcheck disable=SC2046
  make_links $(default_links)
  write_names
  write_os_definition
  init_cluster
  write_rapi_users          # ganeti-rapi re-reads the users file by itself
  wait_rapi
  write_state
  say "up in $((SECONDS - t0)) s; state in $STATE"
  cat "$STATE"
}

hooks_remove() {
  local op
  for op in $HOOK_OPS; do rm -f "/etc/ganeti/hooks/instance-$op-post.d/$HOOK_NAME"; done
}

status() {
  local pidfile pid
  for pidfile in /run/ganeti/ganeti-*.pid; do
    [ -e "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then echo "$(basename "$pidfile" .pid) pid $pid netns $(ip netns identify "$pid")"
    else echo "$(basename "$pidfile" .pid) not running"; fi
  done
  RAPI_PASSWORD=$(state_value SNF_GANETI_RAPI_PASSWORD)
  if rapi_answers; then echo "RAPI answers at https://$MASTER_IP:5080"; else echo "RAPI does not answer"; return 1; fi
}

down() {
  local t0=$SECONDS name
  if cluster_exists && have_ns; then
    for name in $(inside gnt-instance list --no-headers -o name 2>/dev/null); do
      inside gnt-instance remove --force --ignore-failures "$name" >/dev/null 2>&1 || true
    done
    for name in $(inside gnt-network list --no-headers -o name 2>/dev/null); do
      inside gnt-network disconnect "$name" >/dev/null 2>&1 || true
      inside gnt-network remove "$name" >/dev/null 2>&1 || true
    done
    inside gnt-cluster destroy --yes-do-it >/dev/null 2>&1 || inside /usr/lib/ganeti/daemon-util stop-all || true
  fi
  # A destroyed cluster leaves its queue behind; a new one would restart job ids at 1.
  cluster_exists || rm -rf /var/lib/ganeti/queue
  if [ -s /run/ganeti/ganeti-metad.pid ] && kill -0 "$(cat /run/ganeti/ganeti-metad.pid)" 2>/dev/null; then
    kill "$(cat /run/ganeti/ganeti-metad.pid)" || true
  fi
  hooks_remove
  ip link del "$HOST_DEV" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "/etc/netns/$NS"
  if grep -qF "$HOSTS_TAG" /etc/hosts; then grep -vF "$HOSTS_TAG" /etc/hosts | rewrite /etc/hosts; fi
  rm -f "$STATE"
  say "down in $((SECONDS - t0)) s (the ganeti package stays installed)"
}

case "${1:-}" in
  install) install_ganeti ;;
  up) up ;;
  links) shift; links "$@" ;;
  hooks-remove) hooks_remove ;;
  status) status ;;
  exec) shift; exec ip netns exec "$NS" "$@" ;;
  down) down ;;
  can-run) why=$(can_run) || { echo "$why"; exit 1; } ;;
  *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
