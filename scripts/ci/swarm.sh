#!/usr/bin/env bash
# The swarm runtime's tests on a real 3-node swarm (issue 11): brings up scripts/swarm-cluster.sh
# in a directory of its own, loads the instance image into every node, creates the instances'
# overlay network and a "seat" container on node 1 attached to it (what a production platform
# container is), runs vitest.swarm.config.ts inside that seat's network namespace (so the platform
# reaches every node's instances over the overlay, as the router does in production), and tears
# down everything it made, whatever happened. Needs root and the main Docker engine (for the image).
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=${INSTANCE_IMAGE:-matrixos/instance:latest}
DIR=$(mktemp -d /tmp/matrixos-swarm-ci.XXXXXX)
export SWARM_DIR=$DIR SWARM_NETWORK=mxswci-overlay
cluster() { bash scripts/swarm-cluster.sh "$@"; }
n1() { DOCKER_HOST="unix://$DIR/n1/docker.sock" docker "$@"; }
trap 'cluster down "$DIR"' EXIT

command -v nsenter >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q util-linux >/dev/null; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash scripts/build-image.sh
t0=$(date +%s)
cluster up "$DIR"
cluster load-image "$IMAGE" "$DIR"
n1 network create -d overlay --attachable "$SWARM_NETWORK" >/dev/null
n1 run -d --name mxswci-seat --network "$SWARM_NETWORK" --entrypoint sleep "$IMAGE" infinity >/dev/null
seat=$(n1 inspect -f '{{.State.Pid}}' mxswci-seat)
echo "[swarm] cluster ready in $(( $(date +%s) - t0 )) s; tests run in the seat's network namespace"
INSTANCE_IMAGE=$IMAGE nsenter --net="/proc/$seat/ns/net" -- \
  bash scripts/node24.sh npx vitest run -c vitest.swarm.config.ts
echo "[swarm] done in $(( $(date +%s) - t0 )) s"
