package oracle

import (
	"path/filepath"
	"strconv"
	"testing"
)

// SDImageInputs are the inputs of nixpkgs' SD-card image: the root tree
// (make-ext4-fs.nix's ./rootImage) and the firmware directory
// (populateFirmwareCommands' ./firmware), with sd-image.nix's options.
type SDImageInputs struct {
	Root, Firmware   string
	FirmwareOffset   int64  // MiB
	FirmwareSize     int64  // MiB
	FirmwareID       string // "0x2178694e"
	FirmwareName     string // "FIRMWARE"
	RootLabel        string // "NIXOS_SD"
	RootUUID         string // "44444444-4444-4444-8888-888888888888"
	ReuseRootFSImage string // a root file system image to use instead of making one
	// MkfsExt4Args are more arguments for mkfs.ext4, such as "-b 4096":
	// below an estimate of 512 MiB mke2fs picks its "small" type, with
	// 1 KiB blocks; real NixOS closures get 4 KiB blocks.
	MkfsExt4Args string
}

// sdImageScript does what make-ext4-fs.nix and sd-image.nix's
// buildCommand do, with the same tools and in the same order: the root
// file system sized by their estimate, filled by mke2fs -d, shrunk by
// resize2fs -M and grown by 16 MiB; the disk sized to fit, partitioned by
// sfdisk; the FAT made by mkfs.vfat --invariant in a file of the
// partition's size, filled by mmd (under faketime) and mcopy -pvm with
// every time 2000-01-01, checked by fsck.vfat and copied in. The Nix
// sandbox's faketime for mkfs.ext4 is E2FSPROGS_FAKE_TIME here; fakeroot is
// not needed when the tree is root's.
const sdImageScript = `set -euo pipefail
export TZ=UTC LC_ALL=C EXT2FS_NO_MTAB_OK=yes E2FSPROGS_FAKE_TIME=1
cd "$work"
if [ -n "${reuse:-}" ]; then
  cp --sparse=always "$reuse" root-fs.img
else
  img=root-fs.img
  numInodes=$(find "$rootImage" | wc -l)
  numDataBlocks=$(du -s -c -B 4096 --apparent-size "$rootImage" | tail -1 | awk '{ print int($1 * 1.20) }')
  bytes=$((2 * 4096 * numInodes + 4096 * numDataBlocks))
  mebibyte=$((1024 * 1024))
  if (( bytes % mebibyte )); then bytes=$(( (bytes / mebibyte + 1) * mebibyte )); fi
  truncate -s $bytes $img
  mkfs.ext4 -q $mkfsArgs -L "$rootLabel" -U "$rootUUID" -d "$rootImage" $img
  fsck.ext4 -n -f $img >/dev/null
  resize2fs -M $img 2>&1
  new_size=$(dumpe2fs -h $img 2>/dev/null | awk -F: '/Block count/{count=$2} /Block size/{size=$2} END{print (count*size+16*2^20)/size}')
  resize2fs $img $new_size 2>&1
fi
root_fs=root-fs.img
img=sd.img
gap=$firmwareOffset
rootSizeBlocks=$(du -B 512 --apparent-size $root_fs | awk '{ print $1 }')
firmwareSizeBlocks=$((firmwareSize * 1024 * 1024 / 512))
imageSize=$((rootSizeBlocks * 512 + firmwareSizeBlocks * 512 + gap * 1024 * 1024))
truncate -s $imageSize $img
sfdisk --no-reread --no-tell-kernel $img >/dev/null <<EOF
    label: dos
    label-id: $firmwareID

    start=${gap}M, size=$firmwareSizeBlocks, type=b
    start=$((gap + firmwareSize))M, type=83, bootable
EOF
eval $(partx $img -o START,SECTORS --nr 2 --pairs)
dd conv=notrunc if=$root_fs of=$img seek=$START count=$SECTORS status=none
eval $(partx $img -o START,SECTORS --nr 1 --pairs)
truncate -s $((SECTORS * 512)) firmware_part.img
mkfs.vfat --invariant -i $firmwareID -n $firmwareName firmware_part.img >/dev/null
cp -r "$firmwareDir" firmware
find firmware -exec touch --date=2000-01-01 {} +
cd firmware
for d in $(find . -mindepth 1 -type d | sort); do
  faketime "2000-01-01 00:00:00" mmd -i ../firmware_part.img "::/$d"
done
for f in $(find . -type f | sort); do
  mcopy -pm -i ../firmware_part.img "$f" "::/$f"
done
cd ..
fsck.vfat -n firmware_part.img >/dev/null
dd conv=notrunc if=firmware_part.img of=$img seek=$START count=$SECTORS status=none
`

// SDImage builds the SD-card image of in with the standard tools, as
// sd-image.nix and make-ext4-fs.nix do, and returns its path, with the
// root file system image next to it (root-fs.img) and the firmware
// partition's (firmware_part.img).
func SDImage(t testing.TB, in SDImageInputs) string {
	t.Helper()
	Need(t, "mkfs.ext4", "resize2fs", "dumpe2fs", "fsck.ext4", "sfdisk", "partx", "mkfs.vfat", "mmd", "mcopy", "fsck.vfat", "faketime")
	work := t.TempDir()
	env := []string{
		"work=" + work, "rootImage=" + in.Root, "firmwareDir=" + in.Firmware,
		"firmwareOffset=" + strconv.FormatInt(in.FirmwareOffset, 10),
		"firmwareSize=" + strconv.FormatInt(in.FirmwareSize, 10),
		"firmwareID=" + in.FirmwareID, "firmwareName=" + in.FirmwareName,
		"rootLabel=" + in.RootLabel, "rootUUID=" + in.RootUUID, "reuse=" + in.ReuseRootFSImage, "mkfsArgs=" + in.MkfsExt4Args,
	}
	r := RunEnv(env, "bash", "-c", sdImageScript)
	if r.Code != 0 {
		t.Fatalf("sd-image.nix's recipe failed:\n%s", r)
	}
	t.Logf("sd-image.nix's recipe:\n%s", r.Stdout)
	return filepath.Join(work, "sd.img")
}
