#!/usr/bin/env bash
# The aarch64 SD-card image of a real arm64 tree, built by purefs and by
# the route users take on an x86_64 machine today: sd-image.nix's and
# make-ext4-fs.nix's commands with the target's own tools (mke2fs -d,
# fsck.ext4, resize2fs -M, dumpe2fs, sfdisk, partx, mkfs.vfat, mmd, mcopy,
# fsck.vfat, all arm64 binaries) run under qemu-user (qemu-aarch64-static
# -L SYSROOT), side by side with farm-bench, as a ratio.
#
# The tree is Debian bookworm arm64 minbase made by debootstrap's first
# stage (--foreign, no emulation needed; cached under the boot tests'
# cache directory by internal/boottest.Debootstrap); the arm64 tools come
# from the packages that stage downloaded (dosfstools, fdisk, mtools),
# unpacked into a copy of the tree (the SYSROOT, cached next to it). The
# firmware partition gets a few files. compressImage is off on both sides
# (zstd is the same work for both); both keep the tree's owners (mke2fs -d
# does; the module runs it under fakeroot, which makes them root's).
#
# In a Nix build with boot.binfmt.emulatedSystems the whole builder
# (bash, coreutils, du, dd) runs under qemu-user too; here only the
# file-system tools are emulated, which favours the peer.
#
#   bench/sdcard.sh            (RUNS=3 by default; needs root, debootstrap,
#                               qemu-user-static, farm-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}

tree=$(go run ./bench/foreigntree -arch arm64 -variant minbase -include dosfstools,fdisk,mtools,e2fsprogs)
sysroot=$(dirname "$(dirname "$tree")")/../bench-arm64-sysroot
if [ ! -e "$sysroot/complete" ]; then
	rm -rf "$sysroot.tmp"
	cp -a "$tree" "$sysroot.tmp"
	for deb in "$tree"/var/cache/apt/archives/*.deb; do
		dpkg-deb -x "$deb" "$sysroot.tmp"
	done
	touch "$sysroot.tmp/complete"
	mv "$sysroot.tmp" "$sysroot"
fi
sysroot=$(cd "$sysroot" && pwd)
qemu=$(command -v qemu-aarch64-static)

work=$(mktemp -d /var/tmp/purefs-bench-sdcard.XXXXXX)
trap 'rm -rf "$work"' EXIT

# The arm64 tools, each a wrapper that runs the binary under qemu-user.
mkdir -p "$work/bin"
for t in mkfs.ext4:sbin/mke2fs fsck.ext4:sbin/e2fsck resize2fs:sbin/resize2fs dumpe2fs:sbin/dumpe2fs \
	sfdisk:sbin/sfdisk partx:usr/bin/partx mkfs.vfat:sbin/mkfs.fat fsck.vfat:sbin/fsck.fat \
	mmd:usr/bin/mmd mcopy:usr/bin/mcopy; do
	name=${t%%:*} bin=${t#*:}
	[ -e "$sysroot/$bin" ] || { echo "no $bin in $sysroot" >&2; exit 1; }
	printf '#!/bin/sh\nexec %s -L %s %s "$@"\n' "$qemu" "$sysroot" "$sysroot/$bin" >"$work/bin/$name"
	chmod +x "$work/bin/$name"
done
file "$sysroot/sbin/mke2fs" | grep -q aarch64 || { echo "$sysroot/sbin/mke2fs is not an arm64 binary" >&2; exit 1; }

mkdir -p "$work/firmware/overlays"
printf 'arm_64bit=1\nkernel=u-boot.bin\n' >"$work/firmware/config.txt"
head -c 600000 /dev/urandom >"$work/firmware/u-boot.bin"
head -c 50000 /dev/urandom >"$work/firmware/bcm2711-rpi-4-b.dtb"
echo overlay >"$work/firmware/overlays/README"

# The module's commands (make-ext4-fs.nix, then sd-image.nix's
# buildCommand), with the arm64 tools first on PATH. faketime's
# LD_PRELOAD cannot enter an emulated binary: mmd runs without it.
cat >"$work/peer.sh" <<'EOF'
set -euo pipefail
export PATH="$work/bin:$PATH" EXT2FS_NO_MTAB_OK=yes E2FSPROGS_FAKE_TIME=1 TZ=UTC
d=$(mktemp -d "$work/peer.XXXXXX")
cd "$d"
img=root-fs.img
numInodes=$(find "$tree" | wc -l)
numDataBlocks=$(du -s -c -B 4096 --apparent-size "$tree" | tail -1 | awk '{ print int($1 * 1.20) }')
bytes=$((2 * 4096 * numInodes + 4096 * numDataBlocks))
mebibyte=$((1024 * 1024))
if (( bytes % mebibyte )); then bytes=$(( (bytes / mebibyte + 1) * mebibyte )); fi
truncate -s $bytes $img
mkfs.ext4 -q -L NIXOS_SD -U 44444444-4444-4444-8888-888888888888 -d "$tree" $img
fsck.ext4 -n -f $img >/dev/null
resize2fs -M $img
new_size=$(dumpe2fs -h $img 2>/dev/null | awk -F: '/Block count/{count=$2} /Block size/{size=$2} END{print (count*size+16*2^20)/size}')
resize2fs $img $new_size
root_fs=$img
img=sd.img
gap=8
rootSizeBlocks=$(du -B 512 --apparent-size $root_fs | awk '{ print $1 }')
firmwareSizeBlocks=$((30 * 1024 * 1024 / 512))
imageSize=$((rootSizeBlocks * 512 + firmwareSizeBlocks * 512 + gap * 1024 * 1024))
truncate -s $imageSize $img
sfdisk --no-reread --no-tell-kernel $img <<SFDISK
    label: dos
    label-id: 0x2178694e

    start=${gap}M, size=$firmwareSizeBlocks, type=b
    start=$((gap + 30))M, type=83, bootable
SFDISK
eval $(partx $img -o START,SECTORS --nr 2 --pairs)
dd conv=notrunc if=$root_fs of=$img seek=$START count=$SECTORS status=none
eval $(partx $img -o START,SECTORS --nr 1 --pairs)
truncate -s $((SECTORS * 512)) firmware_part.img
mkfs.vfat --invariant -i 0x2178694e -n FIRMWARE firmware_part.img
cp -r "$work/firmware" firmware
find firmware -exec touch --date=2000-01-01 {} +
cd firmware
for dir in $(find . -type d -mindepth 1 | sort); do mmd -i ../firmware_part.img "::/$dir"; done
for f in $(find . -type f | sort); do mcopy -pm -i ../firmware_part.img "$f" "::/$f"; done
cd ..
fsck.vfat -n firmware_part.img
dd conv=notrunc if=firmware_part.img of=$img seek=$START count=$SECTORS status=none
cd "$work"
rm -rf "$d"
EOF

go build -o "$work/purefs" ./cmd/purefs
cat >"$work/sd.json" <<EOF
{"root": "$tree", "partitionTableType": "sd-card", "system": "aarch64-linux",
 "firmware": "$work/firmware", "compressImage": false, "keepOwners": true}
EOF
cat >"$work/purefs.sh" <<'EOF'
set -eu
rm -rf "$work/out"
"$work/purefs" build --quiet --config "$work/sd.json" --out "$work/out"
EOF

export work tree
echo "tree: $tree ($(du -sh --apparent-size "$tree" | cut -f1), $(find "$tree" | wc -l) entries)"
bash "$work/peer.sh" >/dev/null 2>&1 || { echo "the peer route fails:" >&2; bash -x "$work/peer.sh" >&2; exit 1; }
bash "$work/purefs.sh"
echo "purefs: $(du -h --apparent-size "$work/out/sd-image/nixos.img" | cut -f1) image"
farm-bench -n "$RUNS" --timeout 3000 --vs "bash $work/peer.sh" -- bash "$work/purefs.sh"
