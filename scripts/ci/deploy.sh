#!/usr/bin/env bash
# scripts/deploy-platform.sh for real, on a fresh Debian 12: debootstraps a root filesystem (cached
# as a tarball under .tools/deploy/), boots it with `systemd-nspawn -b` in a network namespace of
# its own (a veth pair to the host, NAT for Debian's mirror and the npm registry), copies this
# checkout in, runs the deploy script twice (the second run must report that nothing changed),
# and checks that the platform answers through the native edge (--tls internal: verified against
# the edge's own CA), that the edge's route API answers with the generated secret, and that the
# admin invite link works. Prints the time from the fresh root filesystem to a working platform.
# Cleans up only what it made (its netns, veth, NAT rules, machine and directory).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
say() { printf '[deploy] %s\n' "$*"; }
fail() { printf '[deploy] FAIL: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, systemd-nspawn, netns)"

need=()
for tool in debootstrap:debootstrap systemd-nspawn:systemd-container script:bsdutils iptables:iptables nsenter:util-linux; do
  command -v "${tool%%:*}" >/dev/null || need+=("${tool#*:}")
done
if [ "${#need[@]}" -gt 0 ]; then
  say "installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

cache="$root/.tools/deploy"
tarball="$cache/debian12-rootfs.tar.gz"
mkdir -p "$cache"
if [ ! -s "$tarball" ]; then
  say "debootstrap Debian 12 (once; cached in $tarball)"
  tmp=$(mktemp -d "$cache/bootstrap.XXXX")
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,ca-certificates,curl,iproute2,procps,gnupg,git \
    bookworm "$tmp/rootfs" http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 || { tail "$cache/debootstrap.log"; fail "debootstrap"; }
  tar -C "$tmp/rootfs" -czf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$tmp"
fi

id=$$
name="mxdeploy$id"
work=$(mktemp -d /var/tmp/matrixos-deploy.XXXX)
tree="$work/rootfs"
ns="mxdeploy$id"
host_if="mxd${id}h"; guest_if="mxd${id}g"
# A private /30 that only this namespace uses, picked from the pid so parallel runs differ.
octet=$((id % 60 * 4))
host_ip="10.213.$((id / 60 % 250)).$((octet + 1))"; guest_ip="10.213.$((id / 60 % 250)).$((octet + 2))"
nspawn_pid=

cleanup() {
  local rc=$?
  set +e
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    leader=$(cat "$work/leader" 2>/dev/null)
    # systemd's "poweroff" signal, to the machine's init only (never a pid this side of the fence).
    [ -n "$leader" ] && [ "$leader" -gt 1 ] && kill -RTMIN+4 "$leader" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 1; done
    kill "$nspawn_pid" 2>/dev/null; wait "$nspawn_pid" 2>/dev/null
  fi
  iptables -t nat -D POSTROUTING -s "$guest_ip/32" ! -d "$guest_ip/32" -j MASQUERADE 2>/dev/null
  iptables -D DOCKER-USER -i "$host_if" -j ACCEPT 2>/dev/null
  iptables -D DOCKER-USER -o "$host_if" -j ACCEPT 2>/dev/null
  iptables -D FORWARD -i "$host_if" -j ACCEPT 2>/dev/null
  iptables -D FORWARD -o "$host_if" -j ACCEPT 2>/dev/null
  ip link del "$host_if" 2>/dev/null
  # The cgroups the guest's engine made for its containers (empty once the machine is gone).
  [ -n "${cg_parent:-}" ] && for d in /sys/fs/cgroup/*/"$cg_parent"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  ip netns del "$ns" 2>/dev/null
  # The tree holds the guest's Docker data (overlay mounts are gone with its mount namespace).
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s)
say "fresh root filesystem in $tree"
mkdir -p "$tree" && tar -C "$tree" -xzf "$tarball"
echo "$name" >"$tree/etc/hostname"
printf 'nameserver %s\n' "$(awk '/^nameserver/{print $2; exit}' /etc/resolv.conf)" >"$tree/etc/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$tree/etc/hosts"
# This machine's CA bundle: where TLS to the registries is intercepted, the guest needs it too (a
# real server does not). Both as the bundle and as a local CA, so that a regeneration keeps it.
cp /etc/ssl/certs/ca-certificates.crt "$tree/etc/ssl/certs/ca-certificates.crt"
cp /etc/ssl/certs/ca-certificates.crt "$tree/usr/local/share/ca-certificates/host-bundle.crt"
say "copying the checkout in (its tracked and untracked files, not node_modules or .tools)"
mkdir -p "$tree/opt/matrixos"
# (Tracked files deleted in the working tree are left out: the copy is the tree as it is.)
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar -C "$root" --null -T - -c | tar -C "$tree/opt/matrixos" -x
[ -d .git ] && cp -a .git "$tree/opt/matrixos/.git" 2>/dev/null || true

ip netns add "$ns"
ip link add "$host_if" type veth peer name "$guest_if"
ip link set "$guest_if" netns "$ns"
# The guest's network, set from here: its end of the pair, loopback, a default route to the host.
ip -n "$ns" addr add "$guest_ip/30" dev "$guest_if"
ip -n "$ns" link set "$guest_if" up
ip -n "$ns" link set lo up
ip -n "$ns" route add default via "$host_ip"
ip addr add "$host_ip/30" dev "$host_if" && ip link set "$host_if" up
iptables -t nat -A POSTROUTING -s "$guest_ip/32" ! -d "$guest_ip/32" -j MASQUERADE
# Docker's FORWARD policy is DROP on this host: let this pair through (its rules go first).
iptables -I DOCKER-USER -i "$host_if" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$host_if" -j ACCEPT
iptables -I DOCKER-USER -o "$host_if" -j ACCEPT 2>/dev/null || iptables -I FORWARD -o "$host_if" -j ACCEPT

# Docker inside needs what a VM would give it: every capability, the mount/keyring/bpf system
# calls, and writable cgroup controllers. nspawn mounts this host's cgroup v1 controllers
# read-only (runc then fails: "mkdir /sys/fs/cgroup/cpuset/docker/...: read-only file system"),
# so the controllers are bound in writable, and the guest's engine keeps its containers under a
# parent of its own (removed at the end). Overlay2 works on the tree's ext4.
cg_parent="mxdeploy$id"
binds=() controllers=()
for c in /sys/fs/cgroup/*; do
  case "${c##*/}" in systemd | unified) ;; *)
    [ -d "$c" ] || continue
    controllers+=("${c##*/}"); mkdir -p "$tree/mnt/host-cgroup/${c##*/}"
    binds+=("--bind=$c:/mnt/host-cgroup/${c##*/}") ;;
  esac
done
# Bound beside /sys (nspawn mounts /sys after binds), and over the read-only ones before the
# engine starts (a drop-in waiting for the docker.io package the deploy script installs).
mkdir -p "$tree/etc/docker" "$tree/etc/systemd/system/docker.service.d"
printf '{"cgroup-parent": "/%s"}\n' "$cg_parent" >"$tree/etc/docker/daemon.json"
printf '[Service]\nExecStartPre=/bin/sh -c '"'"'for c in %s; do mkdir -p /sys/fs/cgroup/$c/%s 2>/dev/null || { mount --bind /mnt/host-cgroup/$c /sys/fs/cgroup/$c && mkdir -p /sys/fs/cgroup/$c/%s; }; done'"'"'\n' \
  "${controllers[*]}" "$cg_parent" "$cg_parent" >"$tree/etc/systemd/system/docker.service.d/host-cgroups.conf"
say "booting it (systemd-nspawn -b)"
SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 script -qfec "systemd-nspawn -b -D '$tree' -M '$name' \
  --network-namespace-path=/run/netns/$ns --capability=all \
  --system-call-filter='@mount @keyring @privileged bpf' ${binds[*]} \
  --register=no --keep-unit --console=passive" "$work/console.log" >/dev/null 2>&1 </dev/null &
nspawn_pid=$!
leader=
for _ in $(seq 1 90); do
  kill -0 "$nspawn_pid" 2>/dev/null || { tail -20 "$work/console.log"; fail "systemd-nspawn exited"; }
  # The machine's init: the child of this tree's systemd-nspawn (anchored: not `script` or its shell).
  spawner=$(pgrep -f "^systemd-nspawn -b -D $tree " | head -1 || true)
  leader=$([ -n "$spawner" ] && pgrep -P "$spawner" | head -1 || true)
  if [ -n "$leader" ] && [ "$leader" -gt 1 ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] &&
    nsenter -t "$leader" -m -- test -S /run/systemd/private 2>/dev/null; then break; fi
  leader=
  sleep 1
done
[ -n "$leader" ] || { tail -20 "$work/console.log"; fail "the machine did not boot"; }
echo "$leader" >"$work/leader"
# NODE_EXTRA_CA_CERTS: Node 24's npm does not read the system bundle (see the CA note above).
guest() {
  nsenter -t "$leader" -m -u -i -n -p -C -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root TERM=dumb LANG=C.UTF-8 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt "$@"
}
for _ in $(seq 1 90); do
  case "$(guest systemctl is-system-running 2>/dev/null)" in running | degraded) break ;; esac
  sleep 1
done
say "booted in $(($(date +%s) - t0)) s ($(guest systemctl is-system-running 2>/dev/null || true))"
mirror=000
for _ in $(seq 1 30); do
  mirror=$(guest curl -s -o /dev/null -w '%{http_code}' http://deb.debian.org/debian/dists/bookworm/Release || true)
  [ "$mirror" = 200 ] && break
  sleep 1
done
if [ "$mirror" != 200 ]; then
  guest ip -br addr; guest ip route; guest cat /etc/resolv.conf; guest networkctl 2>&1 | head
  fail "the guest cannot reach Debian's mirror (HTTP $mirror)"
fi

domain=mxdeploy.test
run_deploy() {
  guest bash /opt/matrixos/scripts/deploy-platform.sh --domain "$domain" --email ops@example.com \
    --tls internal --skip-dns-check "$@" 2>&1 | tee -a "$work/deploy.log"
}
say "first run"
t1=$(date +%s)
first=$(run_deploy) || { echo "$first" | tail -40; fail "first run of deploy-platform.sh"; }
t2=$(date +%s)
echo "$first" | tail -25
link=$(echo "$first" | grep -o 'https://[^ ]*/signup?invite=mxv_[A-Za-z0-9_-]*' | head -1)
[ -n "$link" ] || fail "the first run printed no admin invite link"

say "the platform through the edge, inside the machine"
guest docker cp matrixos_edge_1:/var/lib/matrixos-edge/tls/ca.crt /root/edge-ca.crt || fail "no internal CA in the edge container"
ready=$(guest curl -sS --cacert /root/edge-ca.crt --resolve "$domain:443:127.0.0.1" -o /dev/null -w '%{http_code}' "https://$domain/health/ready")
[ "$ready" = 200 ] || fail "GET https://$domain/health/ready through the edge (TLS verified against its CA): $ready"
page=$(guest curl -sS --cacert /root/edge-ca.crt --resolve "$domain:443:127.0.0.1" "$link")
grep -q 'administrator invite' <<<"$page" || fail "the invite link does not open the admin sign-up page"
edge_secret=$(guest sed -n 's/^EDGE_SECRET=//p' /etc/matrixos/platform.env)
[ "${#edge_secret}" -ge 16 ] || fail "the deploy script wrote no EDGE_SECRET"
routes=$(guest curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $edge_secret" http://127.0.0.1:9002/routes)
[ "$routes" = 200 ] || fail "the edge's route API with the generated secret: $routes"

say "second run"
second=$(run_deploy) || { echo "$second" | tail -40; fail "second run of deploy-platform.sh"; }
t3=$(date +%s)
echo "$second" | tail -12
grep -q '^deploy-platform: unchanged' <<<"$second" || fail "the second run changed something"

say "PASS: fresh root filesystem to a working platform in $((t2 - t0)) s (deploy script $((t2 - t1)) s), second run $((t3 - t2)) s"
