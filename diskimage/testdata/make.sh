#!/bin/sh
# Regenerates the golden partition tables in this directory: make-disk-image.nix's
# exact partitionDiskScript (make-disk-image.nix, deterministic = true,
# bootSize "256M", rootGPUID F222513B-DED1-49FA-B591-20CE86A2FE7F) run with
# GNU parted 3.5 and sgdisk 1.0.9 on blank files of 1100 MiB. For each
# layout TYPE it keeps TYPE.head (LBA 0-33) and TYPE.tail (the last 33
# sectors), gzip-compressed. Run it here: sh make.sh
set -eu
rm -f *.gz
G1=1C06F03B-704E-4657-B9CD-681A087A2FDC
G2=970C694F-AFD0-4B99-B750-CDB7A329AB6F
ROOT=F222513B-DED1-49FA-B591-20CE86A2FE7F
DISK=97FD5997-D90B-4AA3-8D16-C1723AEA73C
for t in legacy legacy+gpt efi hybrid; do
	img=$t.img
	rm -f "$img"
	truncate -s 1100M "$img"
	case $t in
	legacy) parted --script "$img" -- mklabel msdos mkpart primary ext4 1MiB -1 ;;
	legacy+gpt)
		parted --script "$img" -- mklabel gpt mkpart no-fs 1MB 2MB set 1 bios_grub on align-check optimal 1 \
			mkpart primary ext4 2MB -1 align-check optimal 2 print >/dev/null
		sgdisk --disk-guid=$DISK --partition-guid=1:$G1 --partition-guid=2:$G2 --partition-guid=3:$ROOT "$img" >/dev/null ;;
	efi)
		parted --script "$img" -- mklabel gpt mkpart ESP fat32 8MiB 256M set 1 boot on mkpart primary ext4 256M -1
		sgdisk --disk-guid=$DISK --partition-guid=1:$G1 --partition-guid=2:$ROOT "$img" >/dev/null ;;
	hybrid)
		parted --script "$img" -- mklabel gpt mkpart ESP fat32 8MiB 256M set 1 boot on mkpart no-fs 0 1024KiB \
			set 2 bios_grub on mkpart primary ext4 256M -1
		sgdisk --disk-guid=$DISK --partition-guid=1:$G1 --partition-guid=2:$G2 --partition-guid=3:$ROOT "$img" >/dev/null ;;
	esac
	dd if="$img" of="$t.head" bs=512 count=34 status=none
	dd if="$img" of="$t.tail" bs=512 skip=$((1100 * 2048 - 33)) count=33 status=none
	rm "$img"
	gzip -n -9 "$t.head" "$t.tail"
done
