#!/bin/sh
# Regenerates the MBR sectors in this directory (LBA 0 of small disks,
# 512 bytes each) with the real tools: GNU parted 3.5, sfdisk and fdisk
# from util-linux 2.38.1, sgdisk 1.0.9. Run it here: sh make.sh
set -eu
rm -f *.mbr
mk() { rm -f "$1.img"; truncate -s "$2" "$1.img"; }
lba0() { dd if="$1.img" of="$1.mbr" bs=512 count=1 status=none; rm "$1.img"; }

mk parted-msdos 64M
parted -s parted-msdos.img -- mklabel msdos mkpart primary ext4 1MiB -1 set 1 boot on 2>/dev/null
lba0 parted-msdos

mk sfdisk-dos 64M
printf 'label: dos\nlabel-id: 0xf222513b\nstart=2048, size=4096, type=ef, bootable\nstart=8192, size=16384, type=83\nstart=32768, type=5\nstart=34816, size=2048, type=83\n' |
	sfdisk -q sfdisk-dos.img
lba0 sfdisk-dos

mk fdisk-dos 64M
printf 'o\nn\np\n1\n\n+10M\nn\np\n2\n\n\nw\n' | fdisk fdisk-dos.img >/dev/null
lba0 fdisk-dos

mk sgdisk-protective 64M
sgdisk -o sgdisk-protective.img >/dev/null
lba0 sgdisk-protective

# A hybrid MBR: GPT partition 1 mirrored in the MBR next to the 0xEE entry.
mk sgdisk-hybrid 64M
sgdisk -n 1:2048:+8M -t 1:EF00 -n 2:0:0 -h 1 sgdisk-hybrid.img >/dev/null
lba0 sgdisk-hybrid

# parted's protective MBR on a disk of more than 2 TiB (size capped).
mk parted-gpt-3T 3T
parted -s parted-gpt-3T.img mklabel gpt 2>/dev/null
lba0 parted-gpt-3T
