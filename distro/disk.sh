#!/usr/bin/env bash
# Assembles <out>/disk.img from <out>/rootfs.ext4: a GPT disk with
#   1 esp    64 MiB  FAT, GRUB (EFI/BOOT/BOOTX64.EFI, distro/grub.cfg built in) and RAUC's grubenv
#   2 rootA  SLOT    this root image
#   3 rootB  SLOT    empty until the first update
#   4 data   DATA    ext4, the user's data (/var/lib/matrixos), never touched by updates
# Without mounting anything: the host's kernel may lack vfat and loop devices (mkosi's own
# gpt_ext4 output needs both), so the FAT is written by mkfs.vfat + mtools and each filesystem
# image is copied into its partition at the offset sfdisk chose.
# Usage: distro/disk.sh OUT [SLOT_MIB=2560] [DATA_MIB=1024]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
slot_mib=${2:-2560}
data_mib=${3:-1024}
rootfs_mib=$(( $(stat -c %s "$out/rootfs.ext4") / 1048576 ))
if [ "$rootfs_mib" -gt "$slot_mib" ]; then
  echo "disk.sh: the root image ($rootfs_mib MiB) does not fit a $slot_mib MiB slot" >&2; exit 1
fi
work=$(mktemp -d "$out/.disk.XXXX")
trap 'rm -rf "$work"' EXIT

# GRUB as one EFI binary with its configuration inside (no /boot/grub to keep in step).
grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" --locales= --fonts= --themes= \
  --modules="part_gpt fat ext2 search search_fs_file regexp test loadenv linux echo normal all_video" \
  "boot/grub/grub.cfg=$root/distro/grub.cfg"
grub-editenv "$work/grubenv" create
grub-editenv "$work/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
mkfs.vfat -n ESP -C "$work/esp.img" $((64 * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" "$work/grubenv" ::/EFI/BOOT/

# The data partition: empty, owned by the gateway's user (uid 990, distro/base/mkosi.postinst).
mkfs.ext4 -q -L matrixos-data -E root_owner=990:990 "$work/data.ext4" "${data_mib}M"

total_mib=$((1 + 64 + 2 * slot_mib + data_mib + 1))
rm -f "$out/disk.img"
truncate -s "${total_mib}M" "$out/disk.img"
sfdisk -q "$out/disk.img" <<SFDISK
label: gpt
size=64MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
size=${slot_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootA
size=${slot_mib}MiB, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=rootB
size=${data_mib}MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=data
SFDISK
place() { # partition number, image
  local start
  start=$(sfdisk -d "$out/disk.img" | awk -v p="$out/disk.img$1" '$1 == p { gsub(",", "", $4); print $4 }')
  dd if="$2" of="$out/disk.img" bs=512 seek="$start" conv=notrunc,sparse status=none
}
place 1 "$work/esp.img"
place 2 "$out/rootfs.ext4"
place 4 "$work/data.ext4"
echo "[distro] disk: $out/disk.img (${total_mib} MiB, sparse: $(du -h "$out/disk.img" | cut -f1) used)" >&2
