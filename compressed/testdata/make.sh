#!/bin/sh
# How the samples here were made (Debian bookworm: gzip 1.12, zstd 1.5.4,
# bzip2 1.0.8). The disk: 2 MiB + 100 bytes, "purefs sample" at byte 1000,
# 4 KiB of 'Z' at 1 MiB, the rest zeros.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
truncate -s $((2 * 1024 * 1024 + 100)) "$tmp/disk.img"
printf 'purefs sample' | dd of="$tmp/disk.img" bs=1 seek=1000 conv=notrunc status=none
head -c 4096 /dev/zero | tr '\0' 'Z' | dd of="$tmp/disk.img" bs=1 seek=$((1024 * 1024)) conv=notrunc status=none
gzip -6n <"$tmp/disk.img" >disk.img.gz
zstd -q -T2 <"$tmp/disk.img" >disk.img.zst
bzip2 -9 <"$tmp/disk.img" >disk.img.bz2
