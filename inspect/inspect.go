// Package inspect looks inside disk images: it reads through the container
// (raw, qcow2, vdi, vpc), decodes the partition table (GPT, MBR, or none)
// and describes the file system of each partition (ext4, FAT). It also
// compares two images (Diff) down to the files that differ. Everything is
// read through the image's data ranges, so holes are never read.
package inspect

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/mbr"
	"github.com/purefs/purefs/sparse"
)

// Report is what Inspect finds in one image. Its JSON form (the field tags)
// is the stable output of `purefs inspect --json`; fields are only added,
// never renamed.
type Report struct {
	Container   Container   `json:"container"`
	Table       *Table      `json:"table"`                // nil: no partition table
	Partitions  []Partition `json:"partitions,omitempty"` // in table order
	FileSystem  *FileSystem `json:"filesystem,omitempty"` // the whole disk's, when there is no table
	VirtualSize int64       `json:"virtual_size"`
}

// Container describes the image file's format.
type Container struct {
	Format string            `json:"format"` // raw, qcow2, vdi, vpc
	Fields map[string]string `json:"fields,omitempty"`
}

// Table describes the partition table.
type Table struct {
	Type          string `json:"type"` // "gpt", "mbr"
	DiskGUID      string `json:"disk_guid,omitempty"`
	DiskSignature string `json:"disk_signature,omitempty"` // MBR, 8 hex digits
	ProtectiveMBR string `json:"protective_mbr,omitempty"` // gpt: "protective" or "hybrid"
	FirstUsable   uint64 `json:"first_usable_lba,omitempty"`
	LastUsable    uint64 `json:"last_usable_lba,omitempty"`
	BackupHealthy *bool  `json:"backup_healthy,omitempty"`
	// PrimaryDamaged: the primary GPT header or entry array is damaged
	// and the table was read from the backup.
	PrimaryDamaged bool `json:"primary_damaged,omitempty"`
}

// Partition is one used entry of the table.
type Partition struct {
	Number   int    `json:"number"`
	Start    int64  `json:"start"` // bytes
	Size     int64  `json:"size"`  // bytes
	Type     string `json:"type"`  // GPT type GUID or MBR type as "0x83"
	TypeName string `json:"type_name,omitempty"`
	Name     string `json:"name,omitempty"`
	GUID     string `json:"guid,omitempty"`
	// PartUUID is what blkid reports as PARTUUID and the kernel matches in
	// root=PARTUUID=: a GPT partition's GUID in lower case, or an MBR's
	// disk signature and partition number ("2178694e-01").
	PartUUID   string      `json:"partuuid,omitempty"`
	Flags      []string    `json:"flags,omitempty"`
	FileSystem *FileSystem `json:"filesystem,omitempty"`
}

// FileSystem describes a file system found at a partition's start.
type FileSystem struct {
	Type string `json:"type"` // "ext4", "vfat", "unknown"
	// Fields are the header fields as name → value, in the spellings of
	// dumpe2fs and fsck.fat where they have one.
	Fields map[string]string `json:"fields"`
	// UUID is what blkid reports as UUID (root=UUID=, fstab's UUID=): an
	// ext4 UUID in lower case, a FAT volume ID as XXXX-XXXX.
	UUID  string `json:"uuid,omitempty"`
	Error string `json:"error,omitempty"`

	open func() (walker, error) // reads the tree, for Diff
}

// Inspect describes the disk read from src, whose container is format.
func Inspect(src sparse.Source, format string) (*Report, error) {
	rep := &Report{Container: Container{Format: format}, VirtualSize: src.Size()}
	size := src.Size()
	var sector0 [512]byte
	if size >= 512 {
		if _, err := src.ReadAt(sector0[:], 0); err != nil && err != io.EOF {
			return nil, fmt.Errorf("inspect: reading sector 0: %w", err)
		}
	}
	tab, parts, err := readTable(src, size, sector0[:])
	if err != nil {
		return nil, err
	}
	rep.Table = tab
	rep.Partitions = parts
	if tab == nil {
		rep.FileSystem = probeFS(io.NewSectionReader(src, 0, size), size)
	}
	for i := range rep.Partitions {
		p := &rep.Partitions[i]
		if p.Start < 0 || p.Start+p.Size > size || p.Size <= 0 || hasFlag(p.Flags, "extended") {
			continue
		}
		p.FileSystem = probeFS(io.NewSectionReader(src, p.Start, p.Size), p.Size)
	}
	return rep, nil
}

// readTable decodes a GPT (preferred when a protective MBR is present) or
// an MBR; (nil, nil) means no table.
func readTable(src io.ReaderAt, size int64, sector0 []byte) (*Table, []Partition, error) {
	if size < 512 || sector0[510] != 0x55 || sector0[511] != 0xAA {
		return nil, nil, nil
	}
	m, merr := mbr.Parse(sector0, uint64(size/512))
	if merr == nil && m.IsProtective() {
		t, err := gpt.Read(src, size)
		if err != nil {
			return nil, nil, fmt.Errorf("inspect: %w", err)
		}
		tab := &Table{Type: "gpt", DiskGUID: t.DiskGUID.String(), FirstUsable: t.FirstUsable, LastUsable: t.LastUsable}
		healthy := t.BackupHealthy || t.FromBackup
		tab.BackupHealthy = &healthy
		tab.PrimaryDamaged = t.FromBackup
		tab.ProtectiveMBR = "protective"
		if m.IsHybrid() {
			tab.ProtectiveMBR = "hybrid"
		}
		var parts []Partition
		for i, e := range t.Entries {
			if !e.Used() {
				continue
			}
			p := Partition{
				Number:   i + 1,
				Start:    int64(e.FirstLBA) * 512,
				Size:     int64(e.Sectors()) * 512,
				Type:     e.Type.String(),
				TypeName: gptTypeName(e.Type),
				Name:     e.Name,
				GUID:     e.Unique.String(),
				PartUUID: strings.ToLower(e.Unique.String()),
			}
			if e.Attributes&gpt.AttrRequired != 0 {
				p.Flags = append(p.Flags, "required")
			}
			if e.Attributes&gpt.AttrNoBlockIOProtocol != 0 {
				p.Flags = append(p.Flags, "no-block-io")
			}
			if e.Attributes&gpt.AttrLegacyBIOSBootable != 0 {
				p.Flags = append(p.Flags, "legacy-bios-bootable")
			}
			if other := e.Attributes &^ 7; other != 0 {
				p.Flags = append(p.Flags, fmt.Sprintf("attributes=%#x", other))
			}
			parts = append(parts, p)
		}
		return tab, parts, nil
	}
	if merr != nil {
		if errors.Is(merr, mbr.ErrNotMBR) {
			return nil, nil, nil
		}
		// A boot sector of a bare file system (FAT) also ends in 55 AA:
		// only an MBR whose entries make sense is a table.
		return nil, nil, nil
	}
	var parts []Partition
	for i, p := range m.Partitions {
		if !p.Used() {
			continue
		}
		q := Partition{
			Number:   i + 1,
			Start:    int64(p.FirstLBA) * 512,
			Size:     int64(p.Sectors) * 512,
			Type:     fmt.Sprintf("0x%02x", p.Type),
			TypeName: mbrTypeName(p.Type),
			PartUUID: fmt.Sprintf("%08x-%02x", m.DiskSignature, i+1),
		}
		if p.Status == 0x80 {
			q.Flags = append(q.Flags, "boot")
		}
		if p.IsExtended() {
			q.Flags = append(q.Flags, "extended")
		}
		parts = append(parts, q)
	}
	for _, p := range m.Partitions {
		if !p.IsExtended() {
			continue
		}
		ls, err := mbr.ReadLogical(src, p)
		if err != nil {
			return nil, nil, fmt.Errorf("inspect: %w", err)
		}
		for i, l := range ls {
			q := Partition{
				Number:   5 + i,
				Start:    int64(l.FirstLBA) * 512,
				Size:     int64(l.Sectors) * 512,
				Type:     fmt.Sprintf("0x%02x", l.Type),
				TypeName: mbrTypeName(l.Type),
				Flags:    []string{"logical"},
				PartUUID: fmt.Sprintf("%08x-%02x", m.DiskSignature, 5+i),
			}
			parts = append(parts, q)
		}
		break // one extended partition per MBR
	}
	if len(parts) == 0 || looksLikeFATBoot(sector0) {
		return nil, nil, nil
	}
	return &Table{Type: "mbr", DiskSignature: fmt.Sprintf("%08x", m.DiskSignature)}, parts, nil
}

// looksLikeFATBoot reports whether sector 0 is a FAT boot sector rather
// than an MBR (a jump instruction and a sane bytes-per-sector field).
func looksLikeFATBoot(b []byte) bool {
	bps := binary.LittleEndian.Uint16(b[11:])
	return (b[0] == 0xEB || b[0] == 0xE9) && (bps == 512 || bps == 1024 || bps == 2048 || bps == 4096)
}

func gptTypeName(g gpt.GUID) string {
	switch g {
	case gpt.TypeEFISystem:
		return "EFI System"
	case gpt.TypeBIOSBoot:
		return "BIOS boot"
	case gpt.TypeLinuxFilesystem:
		return "Linux filesystem"
	case gpt.TypeMicrosoftBasicData:
		return "Microsoft basic data"
	}
	return ""
}

func mbrTypeName(t byte) string {
	switch t {
	case 0x83:
		return "Linux"
	case 0xEE:
		return "GPT protective"
	case 0xEF:
		return "EFI System"
	case 0x0B, 0x0C:
		return "W95 FAT32"
	case 0x06, 0x0E:
		return "FAT16"
	case 0x01:
		return "FAT12"
	}
	return ""
}

// probeFS identifies and describes the file system in r.
func probeFS(r *io.SectionReader, size int64) *FileSystem {
	var sb [2048]byte
	n, _ := r.ReadAt(sb[:], 0)
	b := sb[:n]
	switch {
	case len(b) >= 1024+0x3A && binary.LittleEndian.Uint16(b[1024+0x38:]) == 0xEF53:
		return probeExt4(r, size)
	case len(b) >= 512 && isFAT(b):
		return probeFAT(r, size)
	}
	return &FileSystem{Type: "unknown", Fields: map[string]string{}}
}

func probeExt4(r io.ReaderAt, size int64) *FileSystem {
	out := &FileSystem{Type: "ext4", Fields: map[string]string{}}
	fs, err := ext4.Open(r, size)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	in := fs.Info
	out.Type = extVersion(in)
	f := out.Fields
	f["Filesystem UUID"] = formatUUID(in.UUID)
	out.UUID = formatUUID(in.UUID)
	f["Filesystem volume name"] = orNone(in.Label)
	f["Filesystem features"] = ext4Features(in)
	f["Block size"] = fmt.Sprint(in.BlockSize)
	f["Block count"] = fmt.Sprint(in.BlocksCount)
	f["Reserved block count"] = fmt.Sprint(in.ReservedBlocks)
	f["Free blocks"] = fmt.Sprint(in.FreeBlocks)
	f["Inode count"] = fmt.Sprint(in.InodesCount)
	f["Free inodes"] = fmt.Sprint(in.FreeInodes)
	f["Inode size"] = fmt.Sprint(in.InodeSize)
	f["Blocks per group"] = fmt.Sprint(in.BlocksPerGroup)
	f["Inodes per group"] = fmt.Sprint(in.InodesPerGroup)
	f["Reserved GDT blocks"] = fmt.Sprint(in.ReservedGDT)
	f["Directory Hash Seed"] = formatUUID(in.HashSeed)
	f["Default directory hash"] = hashName(in.DefHashVersion)
	f["Filesystem created"] = fmt.Sprint(in.MkfsTime)
	f["Last mount time"] = fmt.Sprint(in.Mtime)
	f["Last write time"] = fmt.Sprint(in.Wtime)
	f["Last checked"] = fmt.Sprint(in.Lastcheck)
	f["Journal inode"] = fmt.Sprint(in.JournalInode)
	f["Flex block group size"] = fmt.Sprint(uint64(1) << in.LogGroupsPerFlex)
	out.open = func() (walker, error) { return ext4Walker{fs}, nil }
	return out
}

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func hashName(v uint8) string {
	switch v {
	case 0:
		return "legacy"
	case 1:
		return "half_md4"
	case 2:
		return "tea"
	}
	return fmt.Sprint(v)
}

// ext4Features lists feature names as dumpe2fs prints them.
func ext4Features(in ext4.FSInfo) string {
	var names []string
	add := func(set uint32, fs []ext4.Feature) {
		for _, f := range fs {
			if set&f.Mask != 0 {
				names = append(names, f.Name)
			}
		}
	}
	add(in.FeatureCompat, ext4.CompatFeatures)
	add(in.FeatureIncompat, ext4.IncompatFeatures)
	add(in.FeatureRoCompat, ext4.RoCompatFeatures)
	return strings.Join(names, " ")
}

// isFAT reports whether b (the first sector) is a FAT boot sector.
func isFAT(b []byte) bool {
	if !looksLikeFATBoot(b) || b[510] != 0x55 || b[511] != 0xAA {
		return false
	}
	return bytes.HasPrefix(b[0x36:], []byte("FAT")) || bytes.HasPrefix(b[0x52:], []byte("FAT32"))
}

// extVersion names the file system as blkid does: ext4 when it uses any
// feature ext3 lacks, ext3 with a journal, ext2 otherwise.
func extVersion(in ext4.FSInfo) string {
	const (
		incompatExt4 = ext4.IncompatExtents | ext4.Incompat64bit | ext4.IncompatFlexBG | ext4.IncompatEAInode |
			ext4.IncompatCsumSeed | ext4.IncompatLargeDir | ext4.IncompatInlineData | ext4.IncompatEncrypt |
			ext4.IncompatCasefold
		roExt4 = ext4.RoCompatHugeFile | ext4.RoCompatGdtCsum | ext4.RoCompatDirNlink | ext4.RoCompatExtraIsize |
			ext4.RoCompatBigalloc | ext4.RoCompatMetadataCsum
	)
	switch {
	case in.FeatureIncompat&incompatExt4 != 0 || in.FeatureRoCompat&roExt4 != 0:
		return "ext4"
	case in.FeatureCompat&ext4.CompatHasJournal != 0:
		return "ext3"
	}
	return "ext2"
}

func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if g == f {
			return true
		}
	}
	return false
}
