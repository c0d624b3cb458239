#!/bin/sh
# Regenerates the GPT images in this directory (gzip-compressed, each a
# whole small disk) with the real tools: sgdisk 1.0.9, GNU parted 3.5,
# sfdisk and fdisk from util-linux 2.38.1. Run it here: sh make.sh
set -eu
rm -f *.img.gz
mk() { rm -f "$1"; truncate -s "$2" "$1"; }

mk sgdisk.img 80K
sgdisk -a 1 -n 1:34:60 -t 1:EF00 -c 1:"EFI system" -n 2:61:100 -t 2:8300 -c 2:root \
	-u 2:F222513B-DED1-49FA-B591-20CE86A2FE7F -U 97FD5997-D90B-4AA3-8D16-C1723AEA73C sgdisk.img >/dev/null

mk parted.img 80K
parted -s parted.img mklabel gpt mkpart ESP fat32 34s 60s set 1 boot on mkpart primary ext4 61s 100s 2>/dev/null

mk sfdisk.img 80K
printf 'label: gpt\nlabel-id: 0FC63DAF-8483-4772-8E79-3D69D8477DE4\nstart=34, size=40, type=uefi, name="esp", uuid=1C06F03B-704E-4657-B9CD-681A087A2FDC\nstart=80, size=40, type=linux, uuid=970C694F-AFD0-4B99-B750-CDB7A329AB6F, attrs="LegacyBIOSBootable"\n' |
	sfdisk -q sfdisk.img

mk fdisk.img 80K
printf 'g\nn\n1\n34\n+20\nn\n2\n\n\nw\n' | fdisk fdisk.img >/dev/null

# sgdisk on a disk of more than 2 TiB: the protective entry is capped.
mk big.img 3T
sgdisk -n 1:2048:+1M -u 1:F222513B-DED1-49FA-B591-20CE86A2FE7F -U 97FD5997-F390-0B4A-A3F8-D106C1723AEA big.img >/dev/null
# keep only LBA 0-33 of it (the backup lies 3 TiB further on)
dd if=big.img of=big-head.img bs=512 count=34 status=none
rm big.img

for f in *.img; do gzip -n -9 "$f"; done
