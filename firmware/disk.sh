#!/usr/bin/env bash
# Builds a flashable disk image from a built image directory:
#   firmware/disk.sh IMAGEDIR BOARD OUT.img [SIZE_MIB] [TRIES]
# GPT with
#   1 PROBEBOOT  EFI system partition (FAT32): systemd-boot, slots /a and /b
#                (kernel + zstd initramfs each), one loader entry per slot;
#   2 PROBEDATA  the data partition, left blank: first boot formats it.
# Slot A is preferred and carries a boot counter (+TRIES, default 3): a slot
# that fails TRIES boots in a row is skipped by systemd-boot and slot B boots.
# probeinit removes the counter ("blesses" the slot) once the probe answers.
# No root needed: mkfs.vfat -C, mtools, sfdisk on a file.
set -euo pipefail
cd "$(dirname "$0")/.."
img=${1:?usage: firmware/disk.sh IMAGEDIR BOARD OUT.img [SIZE_MIB] [TRIES]}
board=${2:?board}
out=${3:?output image}
size_mib=${4:-1024}
tries=${5:-3}
esp_mib=192
efi=/usr/lib/systemd/boot/efi/systemd-bootx64.efi
[ -f "$efi" ] || { echo "disk: $efi missing (scripts/install-deps.sh installs systemd-boot-efi)" >&2; exit 1; }
[ "$size_mib" -gt $((esp_mib + 64)) ] || { echo "disk: $size_mib MiB is too small" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Under emulation the firmware reads the initramfs from FAT slowly: zstd
# makes it a third of the size and the kernel unpacks it fast.
zstd -q -10 -T0 -f "$img/probe.cpio" -o "$work/initrd"
console=$(go run ./tools/imgtool console -board "board/$board/board.json")

esp=$work/esp.img
mkfs.vfat -C -F 32 -n PROBEBOOT -i 50524f42 "$esp" $((esp_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/loader ::/loader/entries ::/a ::/b
mcopy -i "$esp" "$efi" ::/EFI/BOOT/BOOTX64.EFI
printf 'timeout 0\ndefault probe-*\neditor no\n' >"$work/loader.conf"
mcopy -i "$esp" "$work/loader.conf" ::/loader/loader.conf
for slot in a b; do
	mcopy -i "$esp" "$img/vmlinuz" ::/$slot/vmlinuz
	mcopy -i "$esp" "$work/initrd" ::/$slot/initrd
done
# Entries sort by sort-key, then version, newest first: A (version 2) wins
# over B while it has tries left; a slot out of tries sorts last.
entry() { # slot version file
	cat >"$work/$3" <<ENTRY
title Probe appliance (slot $1)
sort-key probe
version $2
linux /$1/vmlinuz
initrd /$1/initrd
options $console panic=5 quiet probe.slot=$1
ENTRY
	mcopy -i "$esp" "$work/$3" ::/loader/entries/$3
}
entry a 2 "probe-a+$tries.conf"
entry b 1 "probe-b.conf"

rm -f "$out"
truncate -s "${size_mib}M" "$out"
sfdisk -q "$out" <<PARTS
label: gpt
start=1MiB, size=${esp_mib}MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=PROBEBOOT
start=$((esp_mib + 1))MiB, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=PROBEDATA
PARTS
dd if="$esp" of="$out" bs=1M seek=1 conv=notrunc,sparse status=none
echo "disk: $out (${size_mib} MiB: ESP ${esp_mib} MiB with slots a and b, data partition PROBEDATA)"
