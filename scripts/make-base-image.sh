#!/usr/bin/env bash
# Makes a local stand-in for `node:24-slim` when no registry can be reached: Node 24 (the binary
# this checkout runs on), the shared libraries it links, npm, busybox for a shell, and a `node`
# user (uid 1000), imported as one layer. The Dockerfile stays standard; only its BASE_IMAGE
# build argument points here. Usage: scripts/make-base-image.sh [tag]
set -euo pipefail
tag=${1:-matrixos/node:24-local}
node_bin=$(readlink -f "$(command -v node)")
[ "$("$node_bin" -p 'process.versions.node.split(".")[0]')" = 24 ] || { echo "make-base-image: needs Node 24 on PATH (run through scripts/node24.sh)" >&2; exit 1; }
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
  [ -x /bin/busybox ] && file -L /bin/busybox | grep -q 'statically linked' && busybox=/bin/busybox || {
    echo "make-base-image: needs a static busybox (apt-get install -y busybox-static)" >&2; exit 1; }
fi
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,usr/local/lib,etc/ssl/certs,tmp,home/node,root}
cp "$node_bin" "$root/usr/local/bin/node"
for lib in $(ldd "$node_bin" | grep -o '/[^ ]*\.so[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s /bin/env "$root/usr/bin/env"
cp -r "$npm_dir" "$root/usr/local/lib/npm"
ln -s ../lib/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
# The machine's CA bundle: where TLS to the package registry is intercepted, npm inside builds needs it.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
chmod 1777 "$root/tmp"; chown 1000:1000 "$root/home/node"

tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'CMD ["node"]' - "$tag" >/dev/null
echo "make-base-image: $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
