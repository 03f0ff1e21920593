#!/usr/bin/env bash
# The swarm runtime's tests on a real 3-node swarm (issue 11): brings up scripts/swarm-cluster.sh
# in a directory and network namespaces of its own, loads the instance image into every node,
# starts a "seat" container on node 1 (what a production platform container is: the platform
# joins it to each user's overlay network), runs vitest.swarm.config.ts inside that seat's network
# namespace (so the platform reaches every node's instances over the overlays, as the router does
# in production), and tears down everything it made, whatever happened. Needs root and the main
# Docker engine (for the image).
#
#   bash scripts/ci/swarm.sh [COMMAND...]   (default: the swarm tests; run through scripts/node24.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
IMAGE=${INSTANCE_IMAGE:-matrixos/instance:latest}
DIR=$(mktemp -d /tmp/matrixos-swarm-ci.XXXXXX)
# Namespaces named after this run: two runs on one machine never share one.
export SWARM_DIR=$DIR SWARM_NS_PREFIX=${SWARM_NS_PREFIX:-mxci$$} SWARM_PLATFORM_CONTAINER=mxswci-seat
cluster() { bash scripts/swarm-cluster.sh "$@"; }
n1() { DOCKER_HOST="unix://$DIR/n1/docker.sock" docker "$@"; }
trap 'cluster down "$DIR"' EXIT

command -v nsenter >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q util-linux >/dev/null; }
docker image inspect "$IMAGE" >/dev/null 2>&1 || bash scripts/build-image.sh
t0=$(date +%s)
cluster up "$DIR"
cluster load-image "$IMAGE" "$DIR"
n1 run -d --name "$SWARM_PLATFORM_CONTAINER" --entrypoint sleep "$IMAGE" infinity >/dev/null
seat=$(n1 inspect -f '{{.State.Pid}}' "$SWARM_PLATFORM_CONTAINER")
echo "[swarm] cluster ready in $(( $(date +%s) - t0 )) s; tests run in the seat's network namespace"
# The swarm tests, or another command given (`npm run bench -- swarm` gives its own).
[ $# -gt 0 ] || set -- npx vitest run -c vitest.swarm.config.ts
INSTANCE_IMAGE=$IMAGE nsenter --net="/proc/$seat/ns/net" -- bash scripts/node24.sh "$@"
echo "[swarm] done in $(( $(date +%s) - t0 )) s"
