#!/usr/bin/env bash
# Builds the instance image ${INSTANCE_IMAGE:-matrixos/instance:latest} from the Dockerfile, without
# a registry: when BASE_IMAGE is unset and node:24-slim is not on the engine, it builds on a local
# stand-in (scripts/make-base-image.sh, matrixos/node:24-local). The image is labelled with a hash
# of its inputs; --if-stale skips the build when that label already matches.
# Usage: scripts/build-image.sh [--if-stale]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Node 24 is what the local base image is made from: re-exec through node24.sh from an older Node.
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" != 24 ]; then
  [ -z "${MATRIXOS_BUILD_REEXEC:-}" ] || { echo "build-image: Node 24 not found after node24.sh" >&2; exit 1; }
  MATRIXOS_BUILD_REEXEC=1 exec bash scripts/node24.sh bash "$root/scripts/build-image.sh" "$@"
fi

if_stale=0
for arg in "$@"; do
  case "$arg" in
    --if-stale) if_stale=1 ;;
    -h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument $arg (usage: scripts/build-image.sh [--if-stale])" >&2; exit 2 ;;
  esac
done

image=${INSTANCE_IMAGE:-matrixos/instance:latest}
docker info >/dev/null 2>&1 || { echo "build-image: no Docker engine answers (is dockerd running?)" >&2; exit 1; }

# One build at a time on this engine: test runs and `npm start` may ask together.
exec 9>"${TMPDIR:-/tmp}/matrixos-build-image.lock"
flock 9

base=${BASE_IMAGE:-}
if [ -z "$base" ]; then
  if docker image inspect node:24-slim >/dev/null 2>&1; then
    base=node:24-slim
  else
    base=matrixos/node:24-local
    docker image inspect "$base" >/dev/null 2>&1 || bash scripts/make-base-image.sh "$base"
  fi
fi

# Everything the image is made of (the .dockerignore'd context plus the base), as one hash.
inputs_hash() {
  {
    echo "base $(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || echo "$base")"
    find Dockerfile .dockerignore package.json package-lock.json scripts/bundle-gateway.ts \
      packages/shared/package.json packages/shared/src packages/shared/browser packages/gateway/package.json \
      packages/gateway/src packages/gateway/template packages/gateway/shell \
      -path packages/shared/src/testing -prune -o -type f ! -name '*.test.ts' -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-32
}
hash=$(inputs_hash)
current=$(docker image inspect -f '{{ index .Config.Labels "dev.matrixos.inputs" }}' "$image" 2>/dev/null || true)
if [ "$if_stale" = 1 ] && [ "$current" = "$hash" ]; then
  echo "build-image: $image is up to date (inputs $hash)"
  exit 0
fi

previous=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
version=$(node -p 'require("./packages/gateway/package.json").version')
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# BuildKit where the buildx plugin exists; the classic builder otherwise (it needs no plugin).
docker buildx version >/dev/null 2>&1 || export DOCKER_BUILDKIT=0

echo "build-image: building $image on $base (inputs $hash)"
started=$(date +%s%N)
docker build \
  --build-arg BASE_IMAGE="$base" \
  --build-arg VERSION="$version" \
  --build-arg REVISION="$revision" \
  --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --label dev.matrixos.inputs="$hash" \
  --tag "$image" \
  .
elapsed=$((($(date +%s%N) - started) / 1000000))

# The image this one replaced, unless a container still uses it.
new=$(docker image inspect -f '{{.Id}}' "$image")
if [ -n "$previous" ] && [ "$previous" != "$new" ]; then docker image rm "$previous" >/dev/null 2>&1 || true; fi

size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')
printf 'build-image: %s built in %d.%01d s, %s\n' "$image" $((elapsed / 1000)) $((elapsed % 1000 / 100)) "$size"
