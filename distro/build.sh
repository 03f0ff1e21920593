#!/usr/bin/env bash
# Builds the Matrix OS appliance for x86-64 (docs/appliance.md):
#   <out>/vmlinuz, <out>/initrd.img   the kernel and initrd inside the root image (direct boot)
#   <out>/rootfs.ext4                 the root filesystem image (one A/B slot's content)
#   <out>/matrixos-<version>.raucb    the same root image as a signed RAUC update bundle
#   <out>/disk.img                    a GPT disk: EFI system partition (GRUB), root A, root B, data
# Two stages. The base tree (Debian 12 and every package, distro/base/) is built by mkosi once and
# cached under $DISTRO_CACHE keyed by a hash of its definition; each build copies it and lays the
# gateway bundle, Node 24, the units and distro/rootfs/ on top, so a gateway change costs a copy and
# an mkfs, not a Debian install. Needs root (mkosi, nspawn), mkosi 14, rauc, mtools, dosfstools,
# grub-efi-amd64-bin, squashfs-tools (scripts/ci/distro.sh installs them).
# Usage: distro/build.sh [--version V] [--out DIR] [--broken] [--no-disk] [--no-bundle]
#   --no-bundle  no update bundle (mksquashfs of the whole root is the slowest step): for trying a change
#   --broken  a deliberately broken image whose gateway never starts (the rollback test's v3)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version=$(node -p "require('$root/package.json').version" 2>/dev/null || echo 0.1.0)
out="$root/dist/distro"
broken=0
disk=1
bundle=1
while [ $# -gt 0 ]; do
  case "$1" in
    --version) version=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --broken) broken=1; shift ;;
    --no-disk) disk=0; shift ;;
    --no-bundle) bundle=0; shift ;;
    *) echo "distro/build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
cache=${DISTRO_CACHE:-$root/.tools/distro-cache}
keys=${DISTRO_KEYS:-$cache/keys}
mkdir -p "$cache" "$out"
log() { printf '[distro] %s\n' "$*" >&2; }
t0=$(date +%s)

# 1. The base tree, cached by the hash of its definition.
base_key=$(cd "$root/distro/base" && cat mkosi.conf mkosi.postinst | sha256sum | cut -c1-16)
base="$cache/base-$base_key"
if [ ! -d "$base/usr" ]; then
  log "building the base tree with mkosi (once per change of distro/base/) ..."
  # mkosi 14 runs its scripts in systemd-nspawn, which needs a writable /run/systemd/nspawn.
  if ! grep -q ' /run/systemd/nspawn ' /proc/mounts; then
    mkdir -p /run/systemd/nspawn && mount -t tmpfs tmpfs /run/systemd/nspawn
  fi
  rm -rf "$base.tmp"
  (cd "$root/distro/base" && mkosi --nspawn-keep-unit --output "$base.tmp" -f build) >"$cache/mkosi.log" 2>&1 ||
    { tail -30 "$cache/mkosi.log" >&2; log "mkosi failed (full log: $cache/mkosi.log)"; exit 1; }
  mv "$base.tmp" "$base"
  log "base tree built in $(($(date +%s) - t0)) s"
fi

# 2. Signing keys for update bundles: a development CA made once. A real fleet passes its own
# (DISTRO_KEYS=dir with ca.cert.pem, signing.cert.pem, signing.key.pem).
if [ ! -f "$keys/signing.key.pem" ]; then
  log "making a development signing CA in $keys (use your own for real devices: DISTRO_KEYS)"
  mkdir -p "$keys"
  openssl req -x509 -newkey rsa:3072 -nodes -days 3650 -subj "/CN=Matrix OS appliance dev CA" \
    -keyout "$keys/ca.key.pem" -out "$keys/ca.cert.pem" -addext basicConstraints=critical,CA:true \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  openssl req -newkey rsa:3072 -nodes -subj "/CN=Matrix OS update signing" \
    -keyout "$keys/signing.key.pem" -out "$keys/signing.csr" 2>/dev/null
  openssl x509 -req -in "$keys/signing.csr" -CA "$keys/ca.cert.pem" -CAkey "$keys/ca.key.pem" \
    -CAcreateserial -days 3650 -out "$keys/signing.cert.pem" \
    -extfile <(printf 'basicConstraints=CA:false\nkeyUsage=critical,digitalSignature\n') 2>/dev/null
fi

# 3. The root tree: a copy of the base plus this version's Matrix OS.
work="$cache/work"
tree="$work/root"
rm -rf "$work" && mkdir -p "$work"
cp -a "$base" "$tree"
log "bundling the gateway ..."
(cd "$root" && bash scripts/node24.sh node scripts/bundle-gateway.ts "$tree/opt/matrixos/gateway" >&2)
node_bin=$(cd "$root" && bash scripts/node24.sh node -p process.execPath)
install -D -m 755 "$node_bin" "$tree/opt/matrixos/bin/node"
cp -a "$root/distro/rootfs/." "$tree/"
# Settings live on the data partition, so they outlive every root image.
ln -sfn /var/lib/matrixos/config "$tree/etc/matrix-os"
ln -sf /usr/lib/matrixos/factory-reset "$tree/usr/bin/matrixos-factory-reset"
install -m 644 "$root"/deploy/systemd/appliance/*.service "$root"/deploy/systemd/appliance/*.timer \
  "$root"/deploy/systemd/appliance/*.path "$tree/etc/systemd/system/"
for unit in matrixos-firstboot.service matrixos-gateway.service matrixos-kiosk.service \
  matrixos-health.service matrixos-update.timer matrixos-factory-reset.path; do
  case "$unit" in *.timer) target=timers.target ;; *.path) target=paths.target ;; *) target=multi-user.target ;; esac
  mkdir -p "$tree/etc/systemd/system/$target.wants"
  ln -sf "/etc/systemd/system/$unit" "$tree/etc/systemd/system/$target.wants/$unit"
done
ln -sf /lib/systemd/system/graphical.target "$tree/etc/systemd/system/default.target"
mkdir -p "$tree/etc/systemd/system/graphical.target.wants"
ln -sf /etc/systemd/system/matrixos-kiosk.service "$tree/etc/systemd/system/graphical.target.wants/"
rm -f "$tree/etc/systemd/system/multi-user.target.wants/matrixos-kiosk.service"
# The kiosk reads its sign-in ticket from the gateway's runtime folder (group matrixos); the
# gateway asks iwd for Wi-Fi networks over D-Bus, which iwd allows to the group netdev.
chroot "$tree" sh -c 'getent group netdev >/dev/null || groupadd --system netdev; usermod -a -G matrixos kiosk; usermod -a -G netdev matrixos'
# Quiet boot to the splash, then the kiosk.
chroot "$tree" plymouth-set-default-theme matrixos 2>/dev/null || true
# The update bundles' trust anchor, and the update server's CA (DISTRO_UPDATE_CA, e.g. the test's).
install -m 644 "$keys/ca.cert.pem" "$tree/etc/rauc/keyring.pem"
if [ -n "${DISTRO_UPDATE_CA:-}" ]; then
  install -m 644 "$DISTRO_UPDATE_CA" "$tree/usr/local/share/ca-certificates/matrixos-update.crt"
  chroot "$tree" update-ca-certificates >/dev/null 2>&1 || log "update-ca-certificates failed"
fi
[ -n "${DISTRO_UPDATE_URL:-}" ] && printf 'UPDATE_URL=%s\n' "$DISTRO_UPDATE_URL" >"$tree/etc/matrixos-update.conf"
# The version, where the shell and the updater read it.
sed -i '/^IMAGE_ID=/d;/^IMAGE_VERSION=/d' "$tree/usr/lib/os-release"
printf 'IMAGE_ID=matrixos\nIMAGE_VERSION=%s\n' "$version" >>"$tree/usr/lib/os-release"
echo matrixos >"$tree/etc/hostname"
# Plain files (not the /vmlinuz links) where GRUB and a direct boot find the kernel.
kver=$(basename "$(ls -d "$tree"/lib/modules/* | sort -V | tail -1)")
cp "$tree/boot/vmlinuz-$kver" "$tree/boot/vmlinuz"
cp "$tree/boot/initrd.img-$kver" "$tree/boot/initrd.img"
if [ "$broken" = 1 ]; then
  # A gateway that exits at once: the health gate must refuse this version.
  printf 'process.stderr.write("deliberately broken image\\n"); process.exit(1);\n' >"$tree/opt/matrixos/gateway/bin/gateway.mjs"
fi
cp "$tree/boot/vmlinuz" "$tree/boot/initrd.img" "$out/"

# 4. The root filesystem image: its content plus an eighth, in a fixed-size slot at install.
size_mb=$(( $(du -sm "$tree" | cut -f1) * 112 / 100 + 64 ))
rm -f "$out/rootfs.ext4"
mkfs.ext4 -q -L matrixos-root -d "$tree" "$out/rootfs.ext4" "${size_mb}M"
log "root image: $(du -h --apparent-size "$out/rootfs.ext4" | cut -f1) (${size_mb} MiB)"

# 5. The update bundle: the root image, signed.
if [ "$bundle" = 1 ]; then
bundle_dir="$work/bundle"
mkdir -p "$bundle_dir"
ln "$out/rootfs.ext4" "$bundle_dir/rootfs.ext4" 2>/dev/null || cp "$out/rootfs.ext4" "$bundle_dir/"
cat >"$bundle_dir/manifest.raucm" <<MANIFEST
[update]
compatible=matrixos-appliance-x86_64
version=$version

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
MANIFEST
rm -f "$out/matrixos-$version.raucb"
rauc bundle --cert="$keys/signing.cert.pem" --key="$keys/signing.key.pem" \
  --mksquashfs-args="-comp lz4" "$bundle_dir" "$out/matrixos-$version.raucb" >/dev/null
log "bundle: $(du -h "$out/matrixos-$version.raucb" | cut -f1)"
fi
echo "$version" >"$out/VERSION"

# 6. The disk: GPT with the EFI system partition, root A (this image), root B (empty), data.
if [ "$disk" = 1 ]; then bash "$root/distro/disk.sh" "$out"; fi
rm -rf "$work"
log "built $version in $(($(date +%s) - t0)) s -> $out"
