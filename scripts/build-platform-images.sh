#!/usr/bin/env bash
# Builds the images of the full stack (deploy/compose/docker-compose.yml) without a registry:
#   ${PLATFORM_IMAGE:-matrixos/platform:latest}  deploy/compose/Dockerfile, target platform
#   ${PROXY_IMAGE:-matrixos/proxy:latest}        deploy/compose/Dockerfile, target proxy
#   ${EDGE_IMAGE:-matrixos/edge:local}           the platform image plus nginx (make-edge-image.sh)
# on BASE_IMAGE, or node:24-slim when the engine has it, or the local stand-in (make-base-image.sh).
# Each is tagged by content too (repo:{hash of its inputs}); --if-stale skips a build whose hash
# is already on the engine and prints "unchanged" for it. The instance image: scripts/build-image.sh.
# Usage: scripts/build-platform-images.sh [--if-stale]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" != 24 ]; then
  [ -z "${MATRIXOS_BUILD_REEXEC:-}" ] || { echo "build-platform-images: Node 24 not found after node24.sh" >&2; exit 1; }
  MATRIXOS_BUILD_REEXEC=1 exec bash scripts/node24.sh bash "$root/scripts/build-platform-images.sh" "$@"
fi
if_stale=0
for arg in "$@"; do
  case "$arg" in
    --if-stale) if_stale=1 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-platform-images: unknown argument $arg (usage: [--if-stale])" >&2; exit 2 ;;
  esac
done
docker info >/dev/null 2>&1 || { echo "build-platform-images: no Docker engine answers (is dockerd running?)" >&2; exit 1; }
exec 9>"${TMPDIR:-/tmp}/matrixos-build-image.lock"
flock 9

base=${BASE_IMAGE:-}
if [ -z "$base" ]; then
  if docker image inspect node:24-slim >/dev/null 2>&1; then base=node:24-slim; else
    base=matrixos/node:24-local
    docker image inspect "$base" >/dev/null 2>&1 || bash scripts/make-base-image.sh "$base"
  fi
fi
# What one target is made of: the base, the Dockerfile, the manifests and the sources it copies.
inputs_hash() {
  local target=$1 dirs=(packages/shared/src packages/shared/browser packages/proxy/src packages/proxy/drizzle)
  [ "$target" = platform ] && dirs+=(packages/platform/src packages/platform/drizzle)
  {
    echo "base $(docker image inspect -f '{{.Id}}' "$base" 2>/dev/null || echo "$base") target $target"
    find deploy/compose/Dockerfile .dockerignore package.json package-lock.json packages/*/package.json "${dirs[@]}" \
      \( -path packages/shared/src/testing -o -path packages/platform/src/runtime/fixtures \) -prune \
      -o -type f ! -name '*.test.ts' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-32
}

export DOCKER_BUILDKIT=0 # the classic builder needs no buildx plugin (Debian's docker.io has none)
version=$(node -p 'require("./packages/platform/package.json").version')
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
for target in proxy platform; do
  if [ "$target" = platform ]; then image=${PLATFORM_IMAGE:-matrixos/platform:latest}; else image=${PROXY_IMAGE:-matrixos/proxy:latest}; fi
  hash=$(inputs_hash "$target")
  repo=$image
  case "${image##*/}" in *:*) repo=${image%:*} ;; esac
  content="$repo:$hash"
  if [ "$if_stale" = 1 ] && docker image inspect "$content" >/dev/null 2>&1; then
    docker tag "$content" "$image"
    echo "build-platform-images: $image unchanged ($content)"
    continue
  fi
  started=$(date +%s)
  docker build -q -f deploy/compose/Dockerfile --target "$target" \
    --build-arg BASE_IMAGE="$base" --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --label dev.matrixos.inputs="$hash" --tag "$content" --tag "$image" . >/dev/null
  size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')
  echo "build-platform-images: $image ($content) built in $(($(date +%s) - started)) s, $size"
done
# The edge: the platform image just built (or tagged) plus nginx; its hash covers that image.
edge_args=(); [ "$if_stale" = 1 ] && edge_args+=(--if-stale)
PLATFORM_IMAGE=${PLATFORM_IMAGE:-matrixos/platform:latest} bash scripts/make-edge-image.sh "${edge_args[@]}" "${EDGE_IMAGE:-matrixos/edge:local}"
