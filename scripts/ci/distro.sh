#!/usr/bin/env bash
# The appliance test (docs/appliance.md, "Tests"): builds v1, v2 and a broken v3 of the image
# (distro/build.sh, cached under .tools/distro-cache), boots v1 in QEMU (software emulation, UEFI
# firmware, GRUB, A/B root slots) and checks, in one VM at a time:
#   1. the gateway answers; the kiosk shows the first-boot setup, then the desktop (screenshots
#      from QEMU's monitor, matched to the gateway having served each page to the kiosk, and not blank;
#      kept in docs/screenshots/appliance-*.png)
#   2. a file written through the API survives a reboot
#   3. v2, served by a local HTTPS update server, is installed in the background and runs after reboot
#   4. a broken v3 is tried once and rolled back to v2 by itself, the file intact
# Installs what it needs from Debian (idempotent). Missing tools: skips, or fails under REQUIRE_TOOLS=1.
# Root only (mkosi, nspawn). Usage: scripts/ci/distro.sh   (DISTRO_KEEP=1 keeps the VM's disk)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
say() { printf '[distro-test %s] %s\n' "$(date +%T)" "$*" >&2; }
fail() { say "FAIL: $*"; [ -f "${serial:-/dev/null}" ] && tail -40 "$serial" >&2; exit 1; }
skip() { if [ "${REQUIRE_TOOLS:-0}" = 1 ]; then fail "$*"; fi; say "SKIP: $*"; exit 0; }

[ "$(id -u)" = 0 ] || skip "needs root (mkosi and systemd-nspawn)"
pkgs="mkosi systemd-container debootstrap qemu-system-x86 qemu-utils ovmf rauc grub-efi-amd64-bin grub-common
  mtools dosfstools squashfs-tools e2fsprogs fdisk python3-pil openssl curl"
missing=$(for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  say "installing: $missing"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null 2>&1 ||
    skip "could not install $missing"
fi

cache=${DISTRO_CACHE:-$root/.tools/distro-cache}
t=$cache/test
mkdir -p "$t"
times=$t/times.txt
: >"$times"
mark() { echo "$1 $2" | tee -a "$times" >&2; }

# The update server's certificate, trusted by the images built for this test. The guest reaches the
# host's loopback as 10.0.2.2 (QEMU user networking).
if [ ! -f "$t/server.key" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Matrix OS test update server" \
    -keyout "$t/server.key" -out "$t/server.crt" -addext "subjectAltName=IP:10.0.2.2,IP:127.0.0.1" \
    -addext basicConstraints=critical,CA:true 2>/dev/null
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
upd_port=$(free_port)
export DISTRO_UPDATE_CA=$t/server.crt DISTRO_UPDATE_URL=https://10.0.2.2:$upd_port

build() { # version dir [flags]
  local s
  s=$(date +%s)
  bash distro/build.sh --version "$1" --out "$t/$2" "${@:3}" || fail "build of $1"
  mark "build_$1_s" $(($(date +%s) - s))
}
build 1.0.0 v1
build 2.0.0 v2 --no-disk
build 3.0.0 v3 --no-disk --broken
for v in v1 v2 v3; do
  mark "bundle_${v}_bytes" "$(stat -c %s "$t/$v"/matrixos-*.raucb)"
done
mark rootfs_bytes "$(stat -c %s "$t/v1/rootfs.ext4")"

# The signature check the guest's `rauc install` makes: v2's bundle verifies against the image's
# keyring, and is refused against another CA (a bundle from someone else's key).
printf '[system]\ncompatible=matrixos-appliance-x86_64\nbootloader=noop\n[keyring]\npath=%s\n' \
  "${DISTRO_KEYS:-$cache/keys}/ca.cert.pem" >"$t/rauc-ok.conf"
rauc info --conf="$t/rauc-ok.conf" "$t/v2/matrixos-2.0.0.raucb" >/dev/null 2>&1 || fail "v2's bundle does not verify"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=stranger -keyout "$t/stranger.key" -out "$t/stranger.crt" 2>/dev/null
printf '[system]\ncompatible=matrixos-appliance-x86_64\nbootloader=noop\n[keyring]\npath=%s\n' "$t/stranger.crt" >"$t/rauc-other.conf"
if rauc info --conf="$t/rauc-other.conf" "$t/v2/matrixos-2.0.0.raucb" >/dev/null 2>&1; then
  fail "a bundle verified against a CA that did not sign it"
fi
say "bundle signatures: accepted by the image's CA, refused by another"

# The update server: HTTPS over a folder holding `latest` and the bundles.
www=$t/www
rm -rf "$www" && mkdir -p "$www"
publish() { # dir: makes that version the latest
  local f
  f=$(basename "$t/$1"/matrixos-*.raucb)
  ln -f "$t/$1/$f" "$www/$f"
  echo "$(cat "$t/$1/VERSION") $f $(sha256sum "$www/$f" | cut -d' ' -f1)" >"$www/latest.tmp"
  mv "$www/latest.tmp" "$www/latest"
  say "update server: latest is $(cat "$www/latest" | cut -c1-40)..."
}
python3 - "$www" "$upd_port" "$t/server.crt" "$t/server.key" >"$t/update-server.log" 2>&1 <<'PY' &
import functools, http.server, ssl, sys
www, port, crt, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=www)
server = http.server.ThreadingHTTPServer(('127.0.0.1', port), handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(crt, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
PY
upd_pid=$!

vm=$t/vm
rm -rf "$vm" && mkdir -p "$vm"
qemu-img create -q -f qcow2 -b "$t/v1/disk.img" -F raw "$vm/disk.qcow2"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vm/vars.fd"
gw_port=$(free_port)
token=mxi_distro-test-$(openssl rand -hex 12)
printf 'MATRIX_AUTH_TOKEN=%s\nMATRIX_HANDLE=owner\n' "$token" >"$vm/seed.env"
serial=$vm/serial.log
qemu_pid=
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null || true
  kill "$upd_pid" 2>/dev/null || true
  [ "${DISTRO_KEEP:-0}" = 1 ] || rm -rf "$vm"
}
trap cleanup EXIT

boot() {
  : >>"$serial"
  qemu-system-x86_64 -accel tcg,thread=multi -machine q35 -smp 2 -m 2048 \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$vm/vars.fd" \
    -drive file="$vm/disk.qcow2",format=qcow2,if=virtio \
    -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$gw_port-:4000 -device virtio-net-pci,netdev=n0 \
    -fw_cfg name=opt/matrixos/env,file="$vm/seed.env" \
    -vga none -device virtio-gpu-pci,xres=1280,yres=800 -display none \
    -serial file:"$serial.part" -monitor unix:"$vm/mon.sock",server,nowait &
  qemu_pid=$!
  boot_started=$(date +%s)
}
monitor() { python3 - "$vm/mon.sock" "$1" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(5)
time.sleep(0.2); s.recv(65536)
s.sendall(sys.argv[2].encode() + b"\n"); time.sleep(1.0)
try: s.recv(65536)
except Exception: pass
PY
}
shutdown_vm() {
  monitor system_powerdown
  for _ in $(seq 1 90); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 1; done
  kill "$qemu_pid" 2>/dev/null || true
  wait "$qemu_pid" 2>/dev/null || true
  qemu_pid=
  cat "$serial.part" >>"$serial" 2>/dev/null; rm -f "$serial.part"
}
api() { curl -fsS --max-time 10 -H "Authorization: Bearer $token" "$@"; }
base=http://127.0.0.1:$gw_port
wait_health() { # seconds
  local i
  for i in $(seq 1 "$1"); do
    curl -fsS --max-time 3 -o /dev/null "$base/health" 2>/dev/null && return 0
    kill -0 "$qemu_pid" 2>/dev/null || true
    sleep 1
  done
  return 1
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }
wait_field() { # jsonpath expected seconds
  local i v
  for i in $(seq 1 "$3"); do
    v=$(api "$base/api/appliance" 2>/dev/null | field "$1" 2>/dev/null || true)
    [ "$v" = "$2" ] && return 0
    sleep 2
  done
  say "$1 is '$v', not '$2'"; return 1
}
shot() { # name: screendump -> docs/screenshots/appliance-NAME.png, failing if blank
  monitor "screendump $vm/$1.ppm"
  python3 - "$vm/$1.ppm" "$root/docs/screenshots/appliance-$1.png" <<'PY' || fail "screenshot $1 is blank"
import sys
from PIL import Image, ImageStat
im = Image.open(sys.argv[1]).convert('RGB')
im.save(sys.argv[2])
# Not blank: a real page has many colours and visible contrast.
colors = len(im.getcolors(1 << 20) or [])
spread = max(hi - lo for lo, hi in ImageStat.Stat(im).extrema)
print(f"screenshot {sys.argv[2]}: {im.size[0]}x{im.size[1]}, {colors} colours, spread {spread}")
sys.exit(0 if colors > 50 and spread > 60 else 1)
PY
}

# 1. First boot: the gateway, then the kiosk's setup screen, then the desktop.
say "booting v1 ..."
boot
wait_health 300 || fail "the gateway did not answer within 300 s"
mark boot_to_gateway_s $(($(date +%s) - boot_started))
[ "$(api "$base/api/appliance" | field "['version']")" = 1.0.0 ] || fail "v1 does not report 1.0.0"
for _ in $(seq 1 120); do
  [ "$(api "$base/api/appliance" | field "['kiosk']['setupShownAt'] is not None")" = True ] && break; sleep 2
done
[ "$(api "$base/api/appliance" | field "['kiosk']['setupShownAt'] is not None")" = True ] ||
  fail "the kiosk never asked for the setup page"
mark boot_to_setup_screen_s $(($(date +%s) - boot_started))
sleep 8 # Chromium paints a moment after the page arrives
shot setup
api -X POST "$base/api/appliance/setup" >/dev/null || fail "finishing setup"
wait_field "['kiosk']['desktopShownAt'] is not None" True 60 || fail "the kiosk never got the desktop"
mark boot_to_desktop_s $(($(date +%s) - boot_started))
sleep 10
shot desktop

# 2. A file through the API; v2 published now, so this boot's updater finds it.
api -X PUT --data-binary 'written before the reboots' "$base/files/notes/appliance.txt" >/dev/null || fail "PUT file"
publish v2
shutdown_vm
say "rebooting (v1 again) ..."
boot
wait_health 300 || fail "v1 did not come back"
[ "$(api "$base/files/notes/appliance.txt")" = 'written before the reboots' ] || fail "the file did not survive the reboot"
say "file survived the reboot"

# 3. The updater (30 s after boot, once the health gate passed) installs v2 in the background.
s=$(date +%s)
wait_field "['update']['state']" installed 600 || fail "v2 was not installed"
mark update_install_s $(($(date +%s) - s))
publish v3
shutdown_vm
say "rebooting into v2 ..."
s=$(date +%s)
boot
wait_health 300 || fail "v2 did not answer"
[ "$(api "$base/api/appliance" | field "['version']")" = 2.0.0 ] || fail "not running v2 after the update"
wait_field "['update']['state']" updated 120 || fail "v2 not marked good"
mark reboot_into_v2_s $(($(date +%s) - s))
[ "$(api "$base/files/notes/appliance.txt")" = 'written before the reboots' ] || fail "the file is gone after the update"

# 4. v2's updater installs the broken v3; it must be tried once and rolled back.
s=$(date +%s)
wait_field "['update']['state']" installed 600 || fail "v3 was not installed"
mark update_v3_install_s $(($(date +%s) - s))
shutdown_vm
say "rebooting into the broken v3 ..."
s=$(date +%s)
boot
# v3's gateway never answers; the health gate gives up, reboots, and GRUB falls back to v2.
for _ in $(seq 1 600); do
  if curl -fsS --max-time 3 -o /dev/null "$base/health" 2>/dev/null; then break; fi
  sleep 1
done
[ "$(api "$base/api/appliance" | field "['version']")" = 2.0.0 ] || fail "not back on v2 after the broken v3"
wait_field "['update']['state']" rolled-back 120 || fail "the rollback is not reported"
mark rollback_s $(($(date +%s) - s))
[ "$(api "$base/files/notes/appliance.txt")" = 'written before the reboots' ] || fail "the file is gone after the rollback"
api "$base/api/appliance" | field "['update']['message']" >&2
shutdown_vm
say "PASS"
cat "$times" >&2
