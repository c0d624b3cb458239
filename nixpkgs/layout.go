package nixpkgs

import (
	"errors"
	"fmt"
)

// ErrTableType is returned for a partitionTableType make-disk-image.nix
// does not have.
var ErrTableType = errors.New("nixpkgs: unknown partition table type")

// TableType is make-disk-image.nix's partitionTableType.
type TableType string

// make-disk-image.nix's partition table types.
const (
	Legacy      TableType = "legacy"      // MBR, root is partition 1
	LegacyBoot  TableType = "legacy+boot" // MBR with a FAT BOOT partition (the root's /boot), root is partition 2
	LegacyGPT   TableType = "legacy+gpt"  // GPT with a BIOS boot partition, root is partition 2
	EFI         TableType = "efi"         // GPT with an ESP (the root's /boot), root is partition 2
	EFIXBootLdr TableType = "efixbootldr" // GPT with an ESP (/efi) and an XBOOTLDR partition (/boot), root is partition 3
	Hybrid      TableType = "hybrid"      // GPT with an ESP and a BIOS boot partition, root is partition 3
	None        TableType = "none"        // no partition table: the file system is the disk
)

// TableTypes lists the partition table types in make-disk-image.nix's
// order, then sd-image.nix's layout (SDCard); which of make-disk-image.nix's
// a release has is its Rules' TableTypes.
var TableTypes = []TableType{Legacy, LegacyBoot, LegacyGPT, EFI, EFIXBootLdr, Hybrid, None, SDCard}

// ParseTableType checks a partitionTableType value; "" is the default,
// legacy.
func ParseTableType(s string) (TableType, error) {
	if s == "" {
		return Legacy, nil
	}
	for _, t := range TableTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", fmt.Errorf("%w %q: want legacy, legacy+boot, legacy+gpt, efi, efixbootldr, hybrid, none or sd-card", ErrTableType, s)
}

// IsGPT reports whether t's table is a GPT.
func (t TableType) IsGPT() bool { return t == LegacyGPT || t == EFI || t == EFIXBootLdr || t == Hybrid }

// HasESP reports whether t has an EFI system partition.
func (t TableType) HasESP() bool { return t == EFI || t == EFIXBootLdr || t == Hybrid }

// FATPartition is a FAT partition make-disk-image.nix formats in its VM
// and fills with a directory of the root.
type FATPartition struct {
	Number int    // partition number
	Label  string // mkfs.vfat -n
	Dir    string // the root's directory it is mounted at, without a slash ("boot", "efi")
}

// FATPartitions lists t's FAT partitions, by number: efi and hybrid the
// ESP at /boot, efixbootldr the ESP at /efi and the XBOOTLDR partition
// (label BOOT) at /boot, legacy+boot a BOOT partition at /boot.
func (t TableType) FATPartitions() []FATPartition {
	switch t {
	case EFI, Hybrid:
		return []FATPartition{{1, "ESP", "boot"}}
	case EFIXBootLdr:
		return []FATPartition{{1, "ESP", "efi"}, {2, "BOOT", "boot"}}
	case LegacyBoot:
		return []FATPartition{{1, "BOOT", "boot"}}
	}
	return nil
}

// RootPartition is make-disk-image.nix's rootPartition: the 1-based number
// of the root partition, or 0 for none.
func (t TableType) RootPartition() int {
	switch t {
	case Legacy:
		return 1
	case LegacyBoot, LegacyGPT, EFI, SDCard:
		return 2
	case EFIXBootLdr, Hybrid:
		return 3
	}
	return 0
}

// MiB is a mebibyte.
const MiB = 1 << 20

// Defaults of make-disk-image.nix's arguments.
const (
	DefaultAdditionalSpace = "512M"
	DefaultBootSize        = "256M"
	DefaultRootGPUID       = "F222513B-DED1-49FA-B591-20CE86A2FE7F"
	DefaultName            = "nixos-disk-image"
	DefaultBaseName        = "nixos"
	DefaultMemSize         = 1024 // MiB
)

// The GUIDs make-disk-image.nix's sgdisk call sets (deterministic builds).
const (
	// DiskGUID is malformed (11 digits in its last group); sgdisk stores
	// 97FD5997-F390-0B4A-A3F8-D106C1723AEA for it.
	DiskGUID = "97FD5997-D90B-4AA3-8D16-C1723AEA73C"
	// ESPGUID is partition 1's GUID.
	ESPGUID = "1C06F03B-704E-4657-B9CD-681A087A2FDC"
	// Partition2GUID is partition 2's GUID.
	Partition2GUID = "970C694F-AFD0-4B99-B750-CDB7A329AB6F"
)

// ReservedSpace is the disk space outside the root file system that
// "auto" sizing adds: efi, efixbootldr and hybrid 512*34 + bootSize,
// legacy+gpt 512*34 + 2 MiB, legacy 1 MiB, legacy+boot bootSize, none 0.
func ReservedSpace(t TableType, bootSize int64) int64 {
	const gptSpace = 512 * 34
	switch t {
	case LegacyBoot:
		return bootSize
	case EFI, EFIXBootLdr, Hybrid:
		return gptSpace + bootSize
	case LegacyGPT:
		return gptSpace + 2*MiB
	case Legacy:
		return MiB
	}
	return 0
}
