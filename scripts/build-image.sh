#!/usr/bin/env bash
# Builds the instance image ${INSTANCE_IMAGE:-matrixos/instance:latest} from the Dockerfile, without
# a registry: when BASE_IMAGE is unset and node:24-slim is not on the engine, it builds on a local
# stand-in (scripts/make-base-image.sh, matrixos/node:24-local). The image is tagged by content,
# repo:{hash of its inputs}, and the configured tag points at it; --if-stale skips the build when
# an image with that hash is already on the engine (and just points the tag at it). --publish is
# CI's release (.github/workflows/images.yml): the same build for every platform in
# PUBLISH_PLATFORMS with buildx, pushed as each tag in PUBLISH_TAGS, layers cached in PUBLISH_CACHE.
# Usage: scripts/build-image.sh [--if-stale | --publish]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# Node 24 is what the local base image is made from: re-exec through node24.sh from an older Node.
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" != 24 ]; then
  [ -z "${MATRIXOS_BUILD_REEXEC:-}" ] || { echo "build-image: Node 24 not found after node24.sh" >&2; exit 1; }
  MATRIXOS_BUILD_REEXEC=1 exec bash scripts/node24.sh bash "$root/scripts/build-image.sh" "$@"
fi

if_stale=0
publish=0
for arg in "$@"; do
  case "$arg" in
    --if-stale) if_stale=1 ;;
    --publish) publish=1 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument $arg (usage: scripts/build-image.sh [--if-stale])" >&2; exit 2 ;;
  esac
done

image=${INSTANCE_IMAGE:-matrixos/instance:latest}
docker info >/dev/null 2>&1 || { echo "build-image: no Docker engine answers (is dockerd running?)" >&2; exit 1; }

# One build at a time on this engine: test runs and `npm start` may ask together.
exec 9>"${TMPDIR:-/tmp}/matrixos-build-image.lock"
flock 9

base=${BASE_IMAGE:-}
# A release builds on the real base for each platform (the local stand-in is one platform's).
if [ "$publish" = 1 ] && [ -z "$base" ]; then base=node:24-slim; fi
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
      packages/platform/src/api/contract packages/platform/src/instanceApi/jobRoutes.ts \
      -path packages/shared/src/testing -prune -o -type f ! -name '*.test.ts' -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-32
}
hash=$(inputs_hash)
# The content tag: what these exact inputs build. Platforms pin their instances to it, so another
# checkout (or platform) building the same configured tag from other sources never changes them.
repo=$image
case "${image##*/}" in *:*) repo=${image%:*} ;; esac
content="$repo:$hash"
if [ "$if_stale" = 1 ] && docker image inspect "$content" >/dev/null 2>&1; then
  docker tag "$content" "$image"
  echo "build-image: $image is up to date ($content)"
  exit 0
fi
version=$(node -p 'require("./packages/gateway/package.json").version')
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$publish" = 1 ]; then
  read -r -a tags <<<"${PUBLISH_TAGS:?--publish needs PUBLISH_TAGS (image references, space-separated)}"
  args=()
  for tag in "${tags[@]}"; do args+=(--tag "$tag"); done
  if [ -n "${PUBLISH_CACHE:-}" ]; then args+=(--cache-from "$PUBLISH_CACHE" --cache-to "$PUBLISH_CACHE,mode=max"); fi
  echo "build-image: publishing ${tags[*]} for ${PUBLISH_PLATFORMS:-linux/amd64,linux/arm64} on $base (inputs $hash)"
  ${PUBLISH_DRY_RUN:+echo} docker buildx build \
    --platform "${PUBLISH_PLATFORMS:-linux/amd64,linux/arm64}" \
    --build-arg BASE_IMAGE="$base" \
    --build-arg VERSION="$version" \
    --build-arg REVISION="$revision" \
    --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --label dev.matrixos.inputs="$hash" \
    "${args[@]}" \
    --push \
    .
  exit 0
fi
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
  --tag "$content" \
  --tag "$image" \
  .
elapsed=$((($(date +%s%N) - started) / 1000000))
# No image is removed here: the one the tag pointed at before keeps its content tag, and instances
# (of this or another platform) may still run it. Old ones: docs/operations.md, "Instance images".

size=$(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')
printf 'build-image: %s (%s) built in %d.%01d s, %s\n' "$image" "$content" $((elapsed / 1000)) $((elapsed % 1000 / 100)) "$size"
