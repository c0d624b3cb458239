#!/bin/sh
# How the qemu-made samples here were made (qemu-img 7.2, Debian bookworm's
# qemu-utils). GUIDs and sequence numbers are qemu's random ones; the log
# holds qemu's stale entries (the headers' log GUID is zero again). The
# images are mostly holes and are stored gzipped; the tests gunzip them.
#
# The disk: 3 MiB + 512 bytes, "purefs sample" at byte 1000, 4 KiB of 0x5a
# at 2 MiB, "tail" in the last sector.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s $((3 * 1024 * 1024 + 512)) "$tmp/disk.raw"
printf 'purefs sample' | dd of="$tmp/disk.raw" bs=1 seek=1000 conv=notrunc status=none
head -c 4096 /dev/zero | tr '\0' 'Z' | dd of="$tmp/disk.raw" bs=1 seek=$((2 * 1024 * 1024)) conv=notrunc status=none
printf 'tail' | dd of="$tmp/disk.raw" bs=1 seek=$((3 * 1024 * 1024 + 508)) conv=notrunc status=none
qemu-img convert -f raw -O vhdx -o subformat=dynamic "$tmp/disk.raw" "$tmp/qemu-dynamic.vhdx"
qemu-img convert -f raw -O vhdx -o subformat=fixed "$tmp/disk.raw" "$tmp/qemu-fixed.vhdx"
qemu-img convert -f raw -O vhdx -o subformat=dynamic,block_size=1M,log_size=2M "$tmp/disk.raw" "$tmp/qemu-1m.vhdx"
for f in qemu-dynamic qemu-fixed qemu-1m; do
  gzip -9n <"$tmp/$f.vhdx" >"$f.vhdx.gz"
done
