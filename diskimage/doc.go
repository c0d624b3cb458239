// Package diskimage lays out and writes whole disk images: the partition
// layout of make-disk-image.nix's partitionTableType (nixpkgs.TableType:
// legacy, legacy+boot, legacy+gpt, efi, efixbootldr, hybrid, none), the
// partition tables, the FAT partitions (ESP, XBOOTLDR, BOOT) and the root
// file system that fill them, and the containers. It is the only package that
// knows every format.
//
// Plan is a pure function from make-disk-image.nix's arguments to a Layout: every
// partition's place, type, name and GUID, exactly where make-disk-image.nix's
// `parted --script … mkpart …` commands put them — the commands of the
// nixpkgs release Config.Release names (nixpkgs.Rules: "-1" or "100%",
// "1MB 2MB" or "1MiB 2MiB", bootSize as given or rounded up to the next
// MiB, align-check). parted's placement rules
// (package internal/parted) are reproduced, not approximated: a location such as "256M" is read in
// parted's units (M is 10^6 bytes) with parted's tolerance of half a unit
// either way, "8MiB" is exact, negative locations count from the end, and
// within those ranges parted snaps to neighbouring free-space boundaries and
// then to 1 MiB alignment (start on a MiB, end one sector before one),
// falling back to the nearest unaligned placement when no aligned one
// exists. WriteTables then writes the MBR and GPT bytes make-disk-image.nix's parted +
// sgdisk commands produce, byte for byte, with these deliberate
// differences:
//
//   - the root partition carries rootGPUID in every GPT layout (make-disk-image.nix's
//     legacy+gpt sgdisk call names partition 3, which does not exist, so
//     its root keeps 970C694F-…); Config.NixpkgsCompat restores the quirk;
//   - the legacy MBR's disk signature is rootGPUID's first four bytes, not
//     parted's random one;
//   - the legacy MBR's boot code area is zero (parted writes a small
//     loader there; the boot loader step overwrites it anyway).
//
// Boot loaders installed without a VM (Config.Bootloader): systemd-boot
// onto the ESP, its entries in kernel-install's layout (entries.go), and
// GRUB for BIOS (grub.go): grub-mkimage's core image and boot.img placed by
// package grub after the tables are written, grub.cfg and GRUB's modules
// in the tree that holds /boot.
//
// What parted's flags become: on a GPT, `set 1 boot on` turns the ESP's
// type into EFI System (attributes stay zero), `bios_grub` makes a BIOS
// boot partition and `bls_boot` an XBOOTLDR partition; the names are the
// mkpart names ("ESP", "BOOT", "ROOT", "no-fs", "primary"). On an MBR a
// fat32 partition is type 0x0C and `boot` sets its active flag. The hybrid layout gets, like make-disk-image.nix's, a plain protective
// MBR: parted writes no legacy entries next to the 0xEE one.
//
// parted 3.5 ends a partition given as "…KiB" one sector later than 3.6
// does (hybrid's "mkpart no-fs 0 1024KiB"): Config.Parted35 selects 3.5's
// placement; the default is that of parted 3.6 and later, which nixpkgs
// ships.
//
// MakePlan stages the trees and plans the disk without writing anything;
// Build then writes the outputs as one transaction, in steps: the raw
// image, the VM step of installBootLoader, the container, efi-vars.fd and
// nix-support, postVM (in the caller's working directory, with $out and
// $diskImage as make-disk-image.nix gives them), and the commit, the one
// point where the outputs become visible (output.go says exactly what is
// visible when). Interrupt.Stop, called by a signal handler, ends a build
// before that point and leaves the output directory as it was.
package diskimage
