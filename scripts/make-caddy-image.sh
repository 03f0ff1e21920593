#!/usr/bin/env bash
# Makes a local stand-in for the official `caddy:2.6` image when no registry can be reached:
# Debian's caddy binary (installed with apt-get when missing), the shared libraries it links and
# the CA bundle, imported as one layer, with the official image's paths (/etc/caddy, /data,
# /config). docker-compose.platform.yml names it through CADDY_IMAGE. Usage: make-caddy-image.sh [tag]
set -euo pipefail
tag=${1:-matrixos/caddy:2.6-local}
command -v caddy >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null; }
caddy_bin=$(readlink -f "$(command -v caddy)")

root=$(mktemp -d); trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,etc/caddy,etc/ssl/certs,data,config,tmp}
cp "$caddy_bin" "$root/usr/bin/caddy"
for lib in $(ldd "$caddy_bin" | grep -o '/[^ ]*\.so[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"

tar -C "$root" -c . | docker import \
  -c 'ENV XDG_CONFIG_HOME=/config' \
  -c 'ENV XDG_DATA_HOME=/data' \
  -c 'WORKDIR /srv' \
  -c 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]' - "$tag" >/dev/null
echo "make-caddy-image: $tag ($("$caddy_bin" version | cut -d' ' -f1), $(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
