package grub

import "errors"

// SectorSize is the only sector size GRUB's BIOS boot code handles.
const SectorSize = 512

// boot.img fields (include/grub/i386/pc/boot.h).
const (
	bootBPBStart     = 0x03  // GRUB_BOOT_MACHINE_BPB_START
	bootBPBEnd       = 0x5a  // GRUB_BOOT_MACHINE_BPB_END
	bootKernelSector = 0x5c  // GRUB_BOOT_MACHINE_KERNEL_SECTOR, 64-bit LBA
	bootDrive        = 0x64  // GRUB_BOOT_MACHINE_BOOT_DRIVE
	bootDriveCheck   = 0x66  // GRUB_BOOT_MACHINE_DRIVE_CHECK, a 2-byte jmp
	bootNTMagic      = 0x1b8 // GRUB_BOOT_MACHINE_WINDOWS_NT_MAGIC (disk signature)
	bootPartEnd      = 0x1fe // GRUB_BOOT_MACHINE_PART_END
	bootSignature    = 0x1fe // 0x55, 0xaa
)

// diskboot.img (the core image's first sector) and the kernel behind it
// (boot/i386/pc/diskboot.S, startup_raw.S, include/grub/offsets.h).
const (
	listSize     = 12                        // GRUB_BOOT_MACHINE_LIST_SIZE: start u64, len u16, segment u16
	firstList    = SectorSize - listSize     // 0x1f4, the first block list entry; later ones below it
	kernelSeg    = 0x800                     // GRUB_BOOT_I386_PC_KERNEL_SEG
	firstSegment = kernelSeg + SectorSize>>4 // 0x820: the second sector's load segment
	linkAddr     = 0x9000                    // GRUB_KERNEL_I386_PC_LINK_ADDR

	// Fields of the second sector, from its start.
	kernelRSRedundancy = 0x10 // GRUB_KERNEL_I386_PC_REED_SOLOMON_REDUNDANCY, u32
	kernelNoRSLength   = 0x14 // GRUB_KERNEL_I386_PC_NO_REED_SOLOMON_LENGTH, u16

	// MaxCoreSectors is the most a core image may span: it is loaded at
	// 0x8000 and must end below 0x78000 (setup.c's maxsec).
	MaxCoreSectors = (0x78000 - linkAddr) / SectorSize // 888
)

// Errors returned by this package wrap one of these.
var (
	ErrBootImage = errors.New("grub: not an i386-pc boot.img")
	ErrCoreImage = errors.New("grub: not an i386-pc core.img")
	ErrNoRoom    = errors.New("grub: the core image does not fit its embedding area")
	ErrArea      = errors.New("grub: no embedding area")
)

// Area is where the core image goes: whole sectors of the disk.
type Area struct {
	Start   uint64 // first sector (LBA)
	Sectors uint64 // how many
}

// Options change Setup's layout. The zero value is grub-install's.
type Options struct {
	// NoReedSolomon writes the core image without Reed-Solomon codes,
	// in exactly its own sectors (grub-bios-setup --no-rs-codes).
	NoReedSolomon bool
}
