// Package grub installs GRUB 2 for BIOS PCs (the i386-pc platform) into a
// disk image the way grub-install's last step, grub-bios-setup, does it:
// it places a core image made by `grub-mkimage -O i386-pc` in an embedding
// area (the MBR gap before the first partition of an msdos disk, or a GPT's
// BIOS boot partition) and writes boot.img into sector 0.
//
// What Setup writes, and nothing else:
//
//   - sector 0: boot.img with the bytes grub-bios-setup carries over from
//     the sector it replaces (the BPB area 0x03–0x59 and 0x1b8–0x1fd: the
//     disk signature and the partition table), the kernel sector at 0x5c
//     (GRUB_BOOT_MACHINE_KERNEL_SECTOR, the first sector of the core
//     image), the boot drive at 0x64 set to 0xff (use the drive the BIOS
//     passes) and the floppy drive check at 0x66 replaced by two NOPs, as
//     setup does for hard disks;
//   - the embedding area's first sectors: the core image, whose first
//     sector (diskboot.img) gets its block list (at 0x1f4 and down: start
//     sector, sector count, load segment) pointing at the sectors that
//     follow it. By default, as grub-install does, the core image is
//     padded to twice its size (at most 888 sectors, at most the area)
//     and the padding holds Reed-Solomon codes over everything after the
//     part that decodes them, which GRUB uses to repair a core image that
//     other software partly overwrote; Options.NoReedSolomon gives
//     `grub-bios-setup --no-rs-codes`'s layout.
//
// The result is byte for byte what grub-bios-setup writes for the same
// boot.img, core.img and disk (the tests compare them with GRUB 2.06's,
// Debian 12's grub-pc-bin, on msdos and GPT disks). Setup does not read or
// make the core image's contents: which modules it holds and its prefix
// (where normal.mod and grub.cfg are found, e.g. "(,msdos1)/boot/grub",
// the partition of the boot disk) are grub-mkimage's arguments.
//
// Not supported: floppies and partitionless disks, block-list installs
// into a file system (grub-setup --force), and other platforms than
// i386-pc. The caller finds the embedding area (FindArea reads it from
// an msdos table or a GPT).
package grub
