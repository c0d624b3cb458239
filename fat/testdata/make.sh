#!/bin/sh
# Regenerates the FAT images FuzzOpen and TestReadForeign start from, with
# dosfstools 4.2 and mtools 4.0 (Debian 12). mtools stamps the files with
# the current time, so a rerun changes the time fields only.
set -eu
cd "$(dirname "$0")"
export MTOOLS_SKIP_CHECK=1 LC_ALL=C.UTF-8 TZ=UTC
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/EFI/BOOT" "$tmp/src/loader/entries" "$tmp/src/empty dir"
printf 'MZ boot' > "$tmp/src/EFI/BOOT/BOOTX64.EFI"
printf 'title NixOS\n' > "$tmp/src/loader/entries/nixos-generation-1.conf"
printf 'timeout 3\n' > "$tmp/src/loader/loader.conf"
: > "$tmp/src/empty"
printf 'mixed' > "$tmp/src/Mixed Case.Name"
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do printf '%s' "$i" > "$tmp/src/file number $i.txt"; done
make() { # name blocks mkfs-options...
	name=$1 blocks=$2; shift 2
	rm -f "$tmp/$name.img"
	mkfs.fat -C --invariant -n SEED "$@" "$tmp/$name.img" "$blocks" >/dev/null
	mcopy -s -i "$tmp/$name.img" "$tmp/src/"* ::/
	gzip -9n < "$tmp/$name.img" > "$name.img.gz"
}
make mtools12 96
make mtools16 4200 -F 16 -s 1
make mtools32 34000 -F 32
