package mbr

import "errors"

// On-disk constants.
const (
	SectorSize   = 512
	BootCodeSize = 440   // bytes 0x000–0x1B7
	tableOffset  = 0x1BE // first of four 16-byte entries
	entrySize    = 16
	bootSig      = 0xAA55 // 0x1FE, stored 55 AA

	// MaxSectors is the largest LBA+1 a 32-bit entry can reach.
	MaxSectors = 1 << 32
)

// Partition type bytes used by purefs.
const (
	TypeEmpty         = 0x00
	TypeFAT32CHS      = 0x0B // W95 FAT32 (sfdisk's type=b)
	TypeFAT32LBA      = 0x0C // FAT32 with LBA addressing (what parted gives a fat32 partition)
	TypeLinux         = 0x83
	TypeEFISystem     = 0xEF
	TypeGPTProtective = 0xEE
	TypeExtendedCHS   = 0x05
	TypeExtendedLBA   = 0x0F
	TypeLinuxExtended = 0x85
)

// StatusActive marks the bootable ("active") partition.
const StatusActive = 0x80

// Errors. Every error returned by this package wraps one of these.
var (
	ErrNotMBR  = errors.New("mbr: no MBR boot signature")
	ErrCorrupt = errors.New("mbr: corrupt partition table")
	ErrLayout  = errors.New("mbr: invalid table")
)

// CHS is a packed cylinder/head/sector address as stored in an entry.
type CHS [3]byte

// Partition is one of the four primary entries. Type 0 marks an unused
// entry.
type Partition struct {
	Status   byte   // 0x00 status: StatusActive or 0
	CHSFirst CHS    // 0x01 CHS address of the first sector
	Type     byte   // 0x04 partition type
	CHSLast  CHS    // 0x05 CHS address of the last sector
	FirstLBA uint32 // 0x08 LBA of the first sector
	Sectors  uint32 // 0x0C number of sectors
}

// Used reports whether the entry describes a partition.
func (p *Partition) Used() bool { return p.Type != TypeEmpty }

// MBR is a decoded or to-be-written master boot record.
type MBR struct {
	BootCode      [BootCodeSize]byte // 0x000 boot code, zero by default
	DiskSignature uint32             // 0x1B8 disk signature
	Reserved      uint16             // 0x1BC usually 0; 0x5A5A marks copy protection
	Partitions    [4]Partition       // 0x1BE four entries
}

// Geometry is the BIOS geometry CHS fields are computed with.
type Geometry struct {
	Heads, Sectors uint32
}

// PartedFileGeometry is the geometry GNU parted assumes for image files.
var PartedFileGeometry = Geometry{Heads: 4, Sectors: 32}

// IsProtective reports whether m is a protective MBR for a GPT: an entry of
// type 0xEE starting at LBA 1. Entries of other types next to it make it a
// hybrid MBR.
func (m *MBR) IsProtective() bool {
	for i := range m.Partitions {
		p := &m.Partitions[i]
		if p.Type == TypeGPTProtective && p.FirstLBA == 1 {
			return true
		}
	}
	return false
}

// IsHybrid reports whether m is protective and also carries legacy entries.
func (m *MBR) IsHybrid() bool {
	if !m.IsProtective() {
		return false
	}
	for i := range m.Partitions {
		p := &m.Partitions[i]
		if p.Used() && p.Type != TypeGPTProtective {
			return true
		}
	}
	return false
}
