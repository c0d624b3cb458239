package gpt

import (
	"errors"
	"fmt"
)

// On-disk constants.
const (
	SectorSize = 512 // logical sector size; the only one supported

	HeaderSize = 92  // bytes of the header UEFI defines (HeaderSize field)
	EntrySize  = 128 // bytes per entry written by this package
	NumEntries = 128 // entries in the array written by this package

	// ArraySectors is the number of sectors the written entry array fills.
	ArraySectors = NumEntries * EntrySize / SectorSize // 32

	// FirstUsableLBA is the first LBA a partition may use in a written table.
	FirstUsableLBA = 2 + ArraySectors // 34

	// MinSectors is the smallest disk a table can be written to: the
	// protective MBR, both headers, both arrays and one usable sector.
	MinSectors = 1 + 2*(1+ArraySectors) + 1

	// MaxArrayBytes caps the entry array a reader will load (1 MiB; real
	// tables use 16 KiB).
	MaxArrayBytes = 1 << 20

	// NameLen is the number of UTF-16 code units in an entry's name.
	NameLen = 36

	signature = "EFI PART"
	revision  = 0x00010000
)

// Attribute bits of an entry (UEFI Table 5-8).
const (
	AttrRequired           = 1 << 0 // platform required
	AttrNoBlockIOProtocol  = 1 << 1
	AttrLegacyBIOSBootable = 1 << 2 // legacy BIOS bootable
)

// Errors. Every error returned by this package wraps one of these.
var (
	ErrGUID     = errors.New("gpt: malformed GUID")
	ErrCorrupt  = errors.New("gpt: corrupt partition table")
	ErrNotFound = errors.New("gpt: no GPT header")
	ErrLayout   = errors.New("gpt: invalid table")
)

// Entry is one partition entry. The zero Type marks an unused entry.
type Entry struct {
	Type       GUID   // 0x00 PartitionTypeGUID
	Unique     GUID   // 0x10 UniquePartitionGUID
	FirstLBA   uint64 // 0x20 StartingLBA
	LastLBA    uint64 // 0x28 EndingLBA, inclusive
	Attributes uint64 // 0x30 Attributes
	Name       string // 0x38 PartitionName, at most 36 UTF-16 code units
}

// Used reports whether the entry describes a partition.
func (e *Entry) Used() bool { return !e.Type.IsZero() }

// Sectors returns the partition's length in sectors.
func (e *Entry) Sectors() uint64 { return e.LastLBA - e.FirstLBA + 1 }

// Table is a decoded or to-be-written GPT.
type Table struct {
	DiskGUID GUID
	// Entries in array order; partition number N is Entries[N-1]. Unused
	// slots have a zero Type. At most NumEntries when written; the writer
	// pads the array with unused entries.
	Entries []Entry

	// FirstUsable and LastUsable bound the partitions. Zero values make
	// the writer use FirstUsableLBA and the last LBA before the backup
	// array, as parted and sgdisk do.
	FirstUsable, LastUsable uint64

	// Set by the reader only.
	DiskSectors   uint64 // sectors of the disk the table was read from
	EntryCount    uint32 // NumberOfPartitionEntries in the header
	FromBackup    bool   // the primary header was damaged; the backup was used
	BackupHealthy bool   // the backup header and array were also valid
}

// Header is the decoded GPT header (UEFI Table 5-5).
type Header struct {
	Revision                 uint32
	HeaderSize               uint32
	HeaderCRC32              uint32
	MyLBA                    uint64
	AlternateLBA             uint64
	FirstUsableLBA           uint64
	LastUsableLBA            uint64
	DiskGUID                 GUID
	PartitionEntryLBA        uint64
	NumberOfPartitionEntries uint32
	SizeOfPartitionEntry     uint32
	PartitionEntryArrayCRC32 uint32
}

// Well-known partition type GUIDs.
var (
	TypeEFISystem          = MustParseGUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
	TypeBIOSBoot           = MustParseGUID("21686148-6449-6E6F-744E-656564454649")
	TypeLinuxFilesystem    = MustParseGUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4")
	TypeMicrosoftBasicData = MustParseGUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7")
	TypeXBOOTLDR           = MustParseGUID("BC13C2FF-59E6-4262-A352-B275FD6F7172") // Extended Boot Loader Partition (parted's bls_boot)
)

// usableRange returns the usable LBAs of a table written to a disk of n
// sectors, honouring t's overrides.
func (t *Table) usableRange(n uint64) (first, last uint64, err error) {
	if n < MinSectors {
		return 0, 0, fmt.Errorf("%w: disk of %d sectors is smaller than the %d a GPT needs", ErrLayout, n, MinSectors)
	}
	first, last = FirstUsableLBA, n-2-ArraySectors
	if t.FirstUsable != 0 {
		first = t.FirstUsable
	}
	if t.LastUsable != 0 {
		last = t.LastUsable
	}
	if first < FirstUsableLBA || last > n-2-ArraySectors || first > last {
		return 0, 0, fmt.Errorf("%w: usable range %d–%d does not fit a disk of %d sectors", ErrLayout, first, last, n)
	}
	return first, last, nil
}
