// Package mbr encodes and decodes the Master Boot Record partition table
// at LBA 0 of a disk with 512-byte sectors: a legacy ("msdos") table of up
// to four primary partitions, the protective MBR that guards a GPT, and
// hybrid MBRs (a protective entry next to legacy entries that mirror GPT
// partitions).
//
// Protective returns the protective MBR GNU parted writes (CHS end
// 0xFFFFFF, which sgdisk keeps); Hybrid lays out a hybrid MBR the way
// `sgdisk -h` does. make-disk-image.nix's "hybrid" layout gets a plain protective MBR
// from parted: it has no legacy entries.
//
// The 440-byte boot code area is written as given and zero by default;
// this package ships no boot code. CHS fields are computed for the
// geometry given: PartedFileGeometry (4 heads × 32 sectors, what GNU
// parted assumes for image files) or SgdiskGeometry (255 × 63); addresses
// past cylinder 1023 get the 1023/heads-1/sectors cap both tools use. Extended and logical partitions are neither
// written nor followed: an extended entry is reported as it is.
//
// Sizes and starts are 32-bit sector counts, so a legacy table cannot
// describe anything past 2 TiB; the protective entry's size is capped at
// 0xFFFFFFFF for larger disks, as the UEFI specification requires.
package mbr
