#!/usr/bin/env bash
# Compares `purefs mkfs vfat` with `mkfs.vfat` + `mcopy -s` (what rootless
# builders use to fill an ESP) on two trees:
#   names  one directory of N files named "file number N.txt" (mtools is
#          super-linear on long names that share a prefix)
#   esp    a typical ESP, ~100 MB: systemd-boot, two 10 MB kernels, two
#          40 MB initrds, loader entries
# Usage: bench/fat.sh [N]   (N defaults to 1000). Prints the best of three
# (names) or five (esp) runs of each tool and their ratio; the ESP case is
# bound by the page cache and disk, so expect noise on a busy machine. Needs mkfs.vfat and mcopy.
set -euo pipefail
N=${1:-1000}
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export MTOOLS_SKIP_CHECK=1 LC_ALL=C
(cd "$repo" && go build -o "$tmp/purefs" ./cmd/purefs)

mkdir -p "$tmp/names/dir"
for i in $(seq 0 $((N - 1))); do echo "$i" > "$tmp/names/dir/file number $i.txt"; done

esp=$tmp/esp
mkdir -p "$esp/EFI/BOOT" "$esp/EFI/systemd" "$esp/EFI/nixos" "$esp/loader/entries"
gen() { head -c "$2" /dev/urandom > "$1"; }
gen "$esp/EFI/systemd/systemd-bootx64.efi" 120000
gen "$esp/EFI/BOOT/BOOTX64.EFI" 120000
for g in 1 2; do
	gen "$esp/EFI/nixos/k${g}abcdefghijklmnopqrstuvwxyz0123-linux-6.6.${g}-bzImage.efi" $((10 << 20))
	gen "$esp/EFI/nixos/i${g}abcdefghijklmnopqrstuvwxyz0123-initrd-linux-6.6.${g}-initrd.efi" $((40 << 20))
	printf 'title NixOS\nversion Generation %s\nlinux /EFI/nixos/k%s.efi\n' $g $g > "$esp/loader/entries/nixos-generation-$g.conf"
done
printf 'timeout 5\ndefault nixos-generation-2.conf\n' > "$esp/loader/loader.conf"

now() { date +%s.%N; }
best() { # runs command... ; prints the best wall time of that many runs
	local b= runs=$1
	shift
	for _ in $(seq "$runs"); do
		rm -f "$tmp/out.img"
		local s e
		s=$(now)
		"$@" > /dev/null 2>&1
		e=$(now)
		b=$(echo "$e - $s" | bc -l | awk -v b="$b" '{ if (b == "" || $1 < b) print $1; else print b }')
	done
	echo "$b"
}
purefs_run() { "$tmp/purefs" mkfs vfat --root "$1" --size 256M --epoch 1700000000 "$tmp/out.img"; }
mtools_run() { mkfs.vfat -C "$tmp/out.img" 262144 && mcopy -s -i "$tmp/out.img" "$1"/* ::/; }

printf '%-8s %12s %12s %8s\n' tree purefs mtools ratio
for t in names esp; do
	runs=5
	[ "$t" = names ] && runs=3 # mcopy takes a minute on 1000 names
	p=$(best $runs purefs_run "$tmp/$t")
	m=$(best $runs mtools_run "$tmp/$t")
	printf '%-8s %11.3fs %11.3fs %7.1fx\n' "$t" "$p" "$m" "$(echo "$m / $p" | bc -l)"
done
