#!/usr/bin/env bash
# A real 3-node Docker Swarm on this one machine, for the swarm runtime's tests (issue 11):
# three dockerds, each in its own network namespace with its own data root, joined over veth
# pairs in 10.213.0.0/24 (a range only these namespaces use) through a bridge in a fourth "hub"
# namespace. Node 1 is the manager, nodes 2 and 3 workers. The machine's main Docker engine is
# never touched (no `swarm init` there); images reach the nodes by `docker save | docker load`.
#
#   bash scripts/swarm-cluster.sh up [DIR]            start it (DIR: state, default /tmp/matrixos-swarm)
#   bash scripts/swarm-cluster.sh load-image IMG [DIR] copy an image of the main engine to every node
#   bash scripts/swarm-cluster.sh env [DIR]           print the settings a platform needs to use it
#   bash scripts/swarm-cluster.sh stop-node N [DIR]   kill node N's dockerd (a lost node)
#   bash scripts/swarm-cluster.sh start-node N [DIR]  start it again (it rejoins by itself)
#   bash scripts/swarm-cluster.sh down [DIR]          remove everything `up` made, nothing else
#
# Each node's engine answers at unix://DIR/nN/docker.sock. The overlay network the platform
# uses is made by the platform (RUNTIME=swarm); `holder` (see below) is the platform's seat on it.
set -euo pipefail
cmd=${1:-}
case "$cmd" in load-image | stop-node | start-node) arg=${2:-}; DIR=${3:-${SWARM_DIR:-/tmp/matrixos-swarm}} ;;
  *) DIR=${2:-${SWARM_DIR:-/tmp/matrixos-swarm}} ;;
esac
NODES=${SWARM_NODES:-3}
NS=${SWARM_NS_PREFIX:-mxsw}  # netns names: mxsw-hub, mxsw1..3
NET=10.213.0

sock() { echo "unix://$DIR/n$1/docker.sock"; }
dk() { local n=$1; shift; DOCKER_HOST=$(sock "$n") docker "$@"; }
log() { echo "[swarm-cluster] $*" >&2; }

start_dockerd() {
  local n=$1 d="$DIR/n$1"
  mkdir -p "$d/data" "$d/exec"
  # Own containerd namespaces: the system containerd is shared with the main engine.
  # nsenter, not `ip netns exec`: that remounts /sys, hiding the cgroup hierarchy dockerd needs.
  nsenter --net="/var/run/netns/$NS$n" dockerd \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/docker.pid" \
    -H "$(sock "$n")" --containerd-namespace "$NS$n" --containerd-plugins-namespace "$NS$n-plugins" \
    --no-new-privileges --log-level warn >"$d/dockerd.log" 2>&1 &
  for _ in $(seq 1 100); do dk "$n" info >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "node $n: dockerd did not start"; tail -20 "$d/dockerd.log" >&2; return 1
}

stop_dockerd() {
  local n=$1 pidf="$DIR/n$1/docker.pid"
  [ -f "$pidf" ] || return 0
  local pid; pid=$(cat "$pidf")
  kill -9 "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$pidf"
}

up() {
  [ "$(id -u)" = 0 ] || { log "needs root (network namespaces)"; exit 1; }
  if [ -f "$DIR/up" ]; then log "already up in $DIR"; return 0; fi
  mkdir -p "$DIR"
  ip netns add "$NS-hub"
  echo "$NS-hub" >>"$DIR/netns"
  ip -n "$NS-hub" link add br0 type bridge
  ip -n "$NS-hub" link set br0 up
  ip -n "$NS-hub" link set lo up
  for n in $(seq 1 "$NODES"); do
    ip netns add "$NS$n"
    echo "$NS$n" >>"$DIR/netns"
    # The pair is made inside the node's namespace, so no interface ever appears on the host.
    ip -n "$NS$n" link add eth0 type veth peer name "n$n" netns "$NS-hub"
    ip -n "$NS-hub" link set "n$n" master br0 up
    ip -n "$NS$n" addr add "$NET.$n/24" dev eth0
    ip -n "$NS$n" link set eth0 up
    ip -n "$NS$n" link set lo up
    start_dockerd "$n"
  done
  dk 1 swarm init --advertise-addr "$NET.1" --listen-addr "$NET.1:2377" >/dev/null
  local token; token=$(dk 1 swarm join-token -q worker)
  for n in $(seq 2 "$NODES"); do dk "$n" swarm join --token "$token" "$NET.1:2377" >/dev/null; done
  # Every dockerd shares this machine's hostname: nodes are told apart by the label that also
  # marks them as instance nodes (what an operator does on a real cluster).
  for n in $(seq 1 "$NODES"); do
    local id; id=$(dk "$n" info --format '{{.Swarm.NodeID}}')
    dk 1 node update --label-add dev.matrixos.node="node$n" "$id" >/dev/null
  done
  touch "$DIR/up"
  log "up: $NODES nodes in $DIR ($(dk 1 node ls --format '{{.Hostname}}/{{.Status}}' | tr '\n' ' '))"
}

load_image() {
  local image=$1
  [ -n "$image" ] || { log "usage: load-image IMAGE"; exit 2; }
  local tar="$DIR/image.tar"
  docker save -o "$tar" "$image"
  for n in $(seq 1 "$NODES"); do dk "$n" load -i "$tar" >/dev/null & done
  wait
  rm -f "$tar"
  log "loaded $image on $NODES nodes"
}

env_lines() {
  local engines=""
  for n in $(seq 1 "$NODES"); do engines+="${engines:+,}node$n=$(sock "$n")"; done
  echo "DOCKER_HOST=$(sock 1)"
  echo "SWARM_NODE_ENGINES=$engines"
}

down() {
  [ -d "$DIR" ] || return 0
  for n in $(seq 1 "$NODES"); do
    [ -S "$DIR/n$n/docker.sock" ] && dk "$n" ps -aq 2>/dev/null | xargs -r env DOCKER_HOST="$(sock "$n")" docker rm -f >/dev/null 2>&1 || true
    stop_dockerd "$n"
  done
  # Each dockerd runs its own containerd (under its exec root), which outlives a killed dockerd.
  for n in $(seq 1 "$NODES"); do
    local cpid="$DIR/n$n/exec/containerd/containerd.pid"
    [ -f "$cpid" ] && kill -9 "$(cat "$cpid")" 2>/dev/null || true
  done
  sleep 0.3
  if [ -f "$DIR/netns" ]; then
    while read -r ns; do ip netns del "$ns" 2>/dev/null || true; done <"$DIR/netns"
  fi
  # Mounts the dockerds left (overlay2 layers, netns files) under our own dir only.
  grep -F " $DIR/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$DIR"
  log "down: removed $DIR"
}

case "$cmd" in
  up) up ;;
  load-image) load_image "$arg" ;;
  env) env_lines ;;
  stop-node) stop_dockerd "$arg" ;;
  start-node) start_dockerd "$arg" ;;
  down) down ;;
  *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
