#!/usr/bin/env bash
# Makes the native edge's image (deploy/edge, entry packages/platform/src/edge/main.ts) without a
# registry: the platform image (Node and packages/platform/src already), plus this host's nginx,
# its ndk and lua modules, the Lua libraries the module loads (lua-resty-core, lua-resty-lrucache),
# openssl (TLS_MODE=internal makes its CA with it), every shared library those link that Node
# does not bring already (ldd), and deploy/edge. nginx-light and libnginx-mod-http-lua are
# installed with apt-get when missing. Tagged by content too ({repo}:{hash of what went in});
# --if-stale skips the build when that tag is on the engine and says "unchanged".
# Usage: scripts/make-edge-image.sh [--if-stale] [tag]   (tag default matrixos/edge:local;
#        the base: PLATFORM_IMAGE, default matrixos/platform:latest, scripts/build-platform-images.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if_stale=0 tag=''
for arg in "$@"; do
  case "$arg" in
    --if-stale) if_stale=1 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "make-edge-image: unknown argument $arg (usage: [--if-stale] [tag])" >&2; exit 2 ;;
    *) tag=$arg ;;
  esac
done
tag=${tag:-matrixos/edge:local}
base=${PLATFORM_IMAGE:-matrixos/platform:latest}
docker image inspect "$base" >/dev/null 2>&1 || { echo "make-edge-image: no $base on the engine (scripts/build-platform-images.sh builds it)" >&2; exit 1; }

modules=/usr/lib/nginx/modules
if [ ! -x /usr/sbin/nginx ] || [ ! -f "$modules/ngx_http_lua_module.so" ] || ! command -v openssl >/dev/null; then
  had_nginx=0; [ -x /usr/sbin/nginx ] && had_nginx=1
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light libnginx-mod-http-lua openssl >/dev/null
  # Debian starts the package's own nginx on :80 when it installs it; only the image's is wanted.
  if [ "$had_nginx" = 0 ]; then
    { systemctl disable --now nginx || service nginx stop; } >/dev/null 2>&1 || true
  fi
fi

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{usr/sbin,usr/bin,"${modules#/}",etc/ssl,usr/lib/ssl,opt/matrixos/deploy}
bins=(/usr/sbin/nginx "$modules/ndk_http_module.so" "$modules/ngx_http_lua_module.so" "$(readlink -f "$(command -v openssl)")")
cp /usr/sbin/nginx "$rootfs/usr/sbin/nginx"
cp "$modules/ndk_http_module.so" "$modules/ngx_http_lua_module.so" "$rootfs$modules/"
cp "${bins[3]}" "$rootfs/usr/bin/openssl"
# The libraries, at their real paths (/lib is a link to /usr/lib on merged-/usr bases), except
# glibc's and the C++ runtime's, which Node's official binary links too: the base has those, and
# they must stay the ones its Node runs on.
node_libs='libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 librt.so.1 ld-linux-x86-64.so.2 libgcc_s.so.1 libstdc++.so.6'
for lib in $(for f in "${bins[@]}"; do ldd "$f"; done | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u); do
  case " $node_libs " in *" $(basename "$lib") "*) continue ;; esac
  real=$(readlink -f "$lib")
  mkdir -p "$rootfs$(dirname "$real")"
  cp "$real" "$rootfs$(dirname "$real")/$(basename "$lib")"
done
# lua-nginx-module requires resty.core at start; LuaJIT looks for it under /usr/share/lua/5.1.
for pkg in lua-resty-core lua-resty-lrucache; do
  dpkg -L "$pkg" | grep '\.lua$' | while read -r f; do mkdir -p "$rootfs$(dirname "$f")"; cp "$f" "$rootfs$f"; done
done
cp "$(readlink -f /usr/lib/ssl/openssl.cnf)" "$rootfs/etc/ssl/openssl.cnf"
ln -s /etc/ssl/openssl.cnf "$rootfs/usr/lib/ssl/openssl.cnf"
cp -r deploy/edge "$rootfs/opt/matrixos/deploy/edge"

cat >"$work/Dockerfile" <<'DOCKERFILE'
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY rootfs/ /
# nginx, started as root, runs its workers as nobody:nogroup (its compiled-in default).
RUN { grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >>/etc/passwd; } \
 && { grep -q '^nogroup:' /etc/group || echo 'nogroup:x:65534:' >>/etc/group; } \
 && mkdir -p /var/lib/matrixos-edge /etc/matrixos-edge/certs /var/log/nginx \
 && /usr/sbin/nginx -V >/dev/null 2>&1 && openssl version >/dev/null
ENV EDGE_DIR=/var/lib/matrixos-edge \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
VOLUME ["/var/lib/matrixos-edge"]
EXPOSE 443
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.EDGE_ADMIN_PORT||9002)+'/routes',{headers:{authorization:'Bearer '+process.env.EDGE_SECRET},signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--disable-sigusr1", "packages/platform/src/edge/main.ts"]
LABEL org.opencontainers.image.title="Matrix OS edge"
DOCKERFILE

hash=$({
  echo "base $(docker image inspect -f '{{.Id}}' "$base")"
  sha256sum "$work/Dockerfile" | cut -d' ' -f1
  (cd "$rootfs" && find . \( -type f -o -type l \) -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
} | sha256sum | cut -c1-32)
repo=$tag
case "${tag##*/}" in *:*) repo=${tag%:*} ;; esac
content="$repo:$hash"
if [ "$if_stale" = 1 ] && docker image inspect "$content" >/dev/null 2>&1; then
  docker tag "$content" "$tag"
  echo "make-edge-image: $tag unchanged ($content)"
  exit 0
fi
started=$(date +%s)
DOCKER_BUILDKIT=0 docker build -q --build-arg BASE_IMAGE="$base" --label dev.matrixos.inputs="$hash" \
  --tag "$content" --tag "$tag" "$work" >/dev/null
size=$(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1 / 1e6}')
echo "make-edge-image: $tag ($content, $(/usr/sbin/nginx -v 2>&1 | sed 's/.*: //')) built in $(($(date +%s) - started)) s, $size"
