package diskimage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/internal/parted"
	"github.com/purefs/purefs/mbr"
	"github.com/purefs/purefs/nixpkgs"
)

// Role says what a partition is for.
type Role string

// Partition roles.
const (
	RoleRoot     Role = "root"
	RoleESP      Role = "esp"
	RoleBIOSBoot Role = "bios-boot"
)

// The partition GUIDs make-disk-image.nix passes to sgdisk.
var (
	NixpkgsESPGUID        = gpt.MustParseGUID(nixpkgs.ESPGUID)        // partition 1
	NixpkgsPartition2GUID = gpt.MustParseGUID(nixpkgs.Partition2GUID) // partition 2
)

// Errors returned by Plan wrap one of these (or gpt.ErrGUID for a
// malformed rootGPUID).
var (
	ErrTableType = nixpkgs.ErrTableType
	ErrBootSize  = errors.New("diskimage: invalid bootSize")
	ErrDiskSize  = errors.New("diskimage: disk size does not fit the layout")
	ErrLayout    = errors.New("diskimage: invalid layout")
)

// Config holds make-disk-image.nix's arguments that decide the partition layout. Its
// zero value is make-disk-image.nix's default: a deterministic legacy layout, which
// still needs a DiskSize.
type Config struct {
	// PartitionTableType is legacy (the default, also for ""), legacy+gpt,
	// efi, hybrid or none.
	PartitionTableType nixpkgs.TableType
	// DiskSize is the image size in bytes. parted ignores a trailing
	// partial sector, and so does Plan.
	DiskSize int64
	// BootSize is the end of the ESP as make-disk-image.nix hands it to parted
	// (default "256M"). It is read the way parted reads it: "256M" and
	// "256MB" mean 256·10^6 bytes give or take half a megabyte, "256MiB"
	// means exactly 256·2^20 bytes; no unit means MB.
	BootSize string
	// RootGPUID is the root partition's GUID (default make-disk-image.nix's
	// F222513B-DED1-49FA-B591-20CE86A2FE7F). It must be well formed.
	RootGPUID string
	// Random is make-disk-image.nix's deterministic = false: the disk GUID, the
	// other partitions' GUIDs and the MBR disk signature come from
	// crypto/rand. The root partition keeps RootGPUID unless
	// NixpkgsCompat is set too.
	Random bool
	// NixpkgsCompat reproduces make-disk-image.nix's GUID quirks exactly: in
	// legacy+gpt the root partition gets 970C694F-AFD0-4B99-B750-CDB7A329AB6F
	// instead of RootGPUID, and in Random mode every GUID is random.
	NixpkgsCompat bool
	// Parted35 places partitions as GNU parted 3.5 does, which ends a
	// partition given as "…KiB" (hybrid's BIOS boot partition, "1024KiB")
	// one sector later than parted 3.6 and later, and cannot fill a
	// one-sector gap.
	Parted35 bool
}

// Partition is one planned partition.
type Partition struct {
	Number   int    // 1-based partition number (its table slot)
	Name     string // GPT partition name ("" in an MBR)
	Role     Role
	FirstLBA uint64   // first 512-byte sector
	Sectors  uint64   // length in sectors
	Offset   int64    // FirstLBA in bytes
	Size     int64    // Sectors in bytes
	Type     gpt.GUID // GPT partition type (zero in an MBR)
	MBRType  byte     // MBR partition type (zero in a GPT)
	GUID     gpt.GUID // GPT unique partition GUID (zero in an MBR)
}

// LastLBA returns the partition's last sector.
func (p *Partition) LastLBA() uint64 { return p.FirstLBA + p.Sectors - 1 }

// Layout is a planned disk: the partition table and where every partition
// lies.
type Layout struct {
	TableType    nixpkgs.TableType
	DiskSize     int64       // bytes, as given
	DiskSectors  uint64      // whole 512-byte sectors
	DiskGUID     gpt.GUID    // GPT layouts
	MBRSignature uint32      // legacy layout
	Partitions   []Partition // by number

	RootPartition int   // make-disk-image.nix's rootPartition: 1, 2, 2, 3, or 0 for none
	RootOffset    int64 // where the root file system starts, in bytes
	RootSize      int64 // its size in bytes
	ESPOffset     int64 // the ESP's offset in bytes (efi, hybrid)
	ESPSize       int64 // the ESP's size in bytes; 0 if there is none
}

// IsGPT reports whether the layout has a GPT.
func (l *Layout) IsGPT() bool {
	return l.TableType.IsGPT()
}

// Partition returns partition number n, or nil.
func (l *Layout) Partition(n int) *Partition {
	for i := range l.Partitions {
		if l.Partitions[i].Number == n {
			return &l.Partitions[i]
		}
	}
	return nil
}

// Plan lays out the disk described by c exactly where make-disk-image.nix's parted
// commands put the partitions. Unless c.Random is set it reads no clock and
// no random source: the same Config always gives the same Layout.
func Plan(c Config) (*Layout, error) {
	tt, err := nixpkgs.ParseTableType(string(c.PartitionTableType))
	if err != nil {
		return nil, err
	}
	rootStr := c.RootGPUID
	if rootStr == "" {
		rootStr = nixpkgs.DefaultRootGPUID
	}
	rootGUID, err := gpt.ParseGUID(rootStr)
	if err != nil {
		return nil, fmt.Errorf("diskimage: rootGPUID: %w", err)
	}
	bootSize := c.BootSize
	if bootSize == "" {
		bootSize = nixpkgs.DefaultBootSize
	}
	if c.DiskSize <= 0 {
		return nil, fmt.Errorf("%w: disk size %d bytes", ErrDiskSize, c.DiskSize)
	}
	l := &Layout{
		TableType:   tt,
		DiskSize:    c.DiskSize,
		DiskSectors: uint64(c.DiskSize) / gpt.SectorSize,
	}
	if tt == nixpkgs.None {
		l.RootSize = c.DiskSize
		return l, nil
	}
	n := int64(l.DiskSectors)
	if tt == nixpkgs.Legacy {
		if err := planLegacy(l, n, c); err != nil {
			return nil, err
		}
		if c.Random {
			var b [4]byte
			g, err := gpt.RandomGUID()
			if err != nil {
				return nil, err
			}
			copy(b[:], g[:4])
			l.MBRSignature = binary.BigEndian.Uint32(b[:])
		} else {
			l.MBRSignature = binary.BigEndian.Uint32(rootGUID[:4])
		}
		return finished(l)
	}
	if n < gpt.MinSectors {
		return nil, fmt.Errorf("%w: %d bytes is too small for a GPT (at least %d bytes)", ErrDiskSize, c.DiskSize, gpt.MinSectors*gpt.SectorSize)
	}
	if err := planGPT(l, n, tt, bootSize, c.Parted35); err != nil {
		return nil, err
	}
	// GUIDs: what make-disk-image.nix's sgdisk call sets, then rootGPUID.
	diskGUID, err := gpt.SgdiskGUID(nixpkgs.DiskGUID)
	if err != nil {
		return nil, err
	}
	l.DiskGUID = diskGUID
	for i := range l.Partitions {
		p := &l.Partitions[i]
		switch p.Number {
		case 1:
			p.GUID = NixpkgsESPGUID
		case 2:
			p.GUID = NixpkgsPartition2GUID
		case 3:
			p.GUID = rootGUID
		}
		if p.Role == RoleRoot && !(c.NixpkgsCompat && tt == nixpkgs.LegacyGPT) {
			p.GUID = rootGUID
		}
	}
	if c.Random {
		if l.DiskGUID, err = gpt.RandomGUID(); err != nil {
			return nil, err
		}
		for i := range l.Partitions {
			p := &l.Partitions[i]
			if p.Role == RoleRoot && !c.NixpkgsCompat {
				continue
			}
			if p.GUID, err = gpt.RandomGUID(); err != nil {
				return nil, err
			}
		}
	}
	return finished(l)
}

func planLegacy(l *Layout, n int64, c Config) error {
	if uint64(n) > mbr.MaxSectors {
		return fmt.Errorf("%w: %d bytes is beyond the 2 TiB an MBR can describe; use a GPT layout", ErrDiskSize, c.DiskSize)
	}
	d := parted.NewDisk(n, parted.MSDOS, parted.Options{Version35: c.Parted35})
	g, err := d.Mkpart("1MiB", "-1")
	if err != nil {
		return fmt.Errorf("%w: %d bytes for the legacy layout: %w", ErrDiskSize, c.DiskSize, err)
	}
	l.Partitions = []Partition{{Number: 1, Role: RoleRoot, MBRType: mbr.TypeLinux}}
	setGeom(&l.Partitions[0], g)
	l.RootPartition = 1
	return nil
}

func planGPT(l *Layout, n int64, tt nixpkgs.TableType, bootSize string, v35 bool) error {
	d := parted.NewDisk(n, parted.GPT, parted.Options{Version35: v35})
	tooSmall := func(what string, err error) error {
		return fmt.Errorf("%w: %d bytes for the %s layout (%s): %w", ErrDiskSize, l.DiskSize, tt, what, err)
	}
	add := func(num int, name string, role Role, typ gpt.GUID, g parted.Geom) {
		p := Partition{Number: num, Name: name, Role: role, Type: typ}
		setGeom(&p, g)
		l.Partitions = append(l.Partitions, p)
	}
	switch tt {
	case nixpkgs.LegacyGPT:
		g, err := d.Mkpart("1MB", "2MB")
		if err != nil {
			return tooSmall("BIOS boot partition", err)
		}
		add(1, "no-fs", RoleBIOSBoot, gpt.TypeBIOSBoot, g)
		if !d.AlignCheckOptimal(1) {
			return tooSmall("BIOS boot partition", errors.New("parted's align-check optimal 1 fails"))
		}
		if g, err = d.Mkpart("2MB", "-1"); err != nil {
			return tooSmall("root partition", err)
		}
		if !d.AlignCheckOptimal(2) {
			return tooSmall("root partition", errors.New("parted's align-check optimal 2 fails"))
		}
		add(2, "primary", RoleRoot, gpt.TypeLinuxFilesystem, g)
		l.RootPartition = 2
	case nixpkgs.EFI, nixpkgs.Hybrid:
		if err := checkBootSize(bootSize, n); err != nil {
			return err
		}
		g, err := d.Mkpart("8MiB", bootSize)
		if err != nil {
			return fmt.Errorf("%w %q: the ESP from 8MiB to it does not fit a disk of %d bytes: %w", ErrBootSize, bootSize, l.DiskSize, err)
		}
		add(1, "ESP", RoleESP, gpt.TypeEFISystem, g)
		if tt == nixpkgs.Hybrid {
			if g, err = d.Mkpart("0", "1024KiB"); err != nil {
				return tooSmall("BIOS boot partition", err)
			}
			add(2, "no-fs", RoleBIOSBoot, gpt.TypeBIOSBoot, g)
		}
		if g, err = d.Mkpart(bootSize, "-1"); err != nil {
			return tooSmall("root partition", err)
		}
		add(len(l.Partitions)+1, "primary", RoleRoot, gpt.TypeLinuxFilesystem, g)
		l.RootPartition = len(l.Partitions)
	}
	return nil
}

// checkBootSize rejects bootSize values parted cannot read, or that put
// the ESP's end at or before its start (8 MiB) or past the disk.
func checkBootSize(s string, n int64) error {
	loc, err := parted.ParseLocation(s, n)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrBootSize, s, err)
	}
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%w %q: negative", ErrBootSize, s)
	}
	if loc.Range.End <= 8<<20/gpt.SectorSize {
		return fmt.Errorf("%w %q: the ESP starts at 8 MiB and must end after it", ErrBootSize, s)
	}
	return nil
}

func setGeom(p *Partition, g parted.Geom) {
	p.FirstLBA = uint64(g.Start)
	p.Sectors = uint64(g.Len())
	p.Offset = g.Start * gpt.SectorSize
	p.Size = int64(p.Sectors) * gpt.SectorSize
}

// finished returns l after finish, or finish's error.
func finished(l *Layout) (*Layout, error) {
	if err := finish(l); err != nil {
		return nil, err
	}
	return l, nil
}

// finish fills in the root and ESP summary and checks the layout for
// overlap and fit.
func finish(l *Layout) error {
	ps := slices.Clone(l.Partitions)
	slices.SortFunc(ps, func(a, b Partition) int { return cmp.Compare(a.FirstLBA, b.FirstLBA) })
	first, last := uint64(1), l.DiskSectors-1
	if l.IsGPT() {
		first, last = gpt.FirstUsableLBA, l.DiskSectors-2-gpt.ArraySectors
	}
	for i, p := range ps {
		if p.Sectors == 0 || p.FirstLBA < first || p.LastLBA() > last {
			return fmt.Errorf("%w: partition %d (sectors %d–%d) is outside the usable sectors %d–%d", ErrLayout, p.Number, p.FirstLBA, p.LastLBA(), first, last)
		}
		if i > 0 && p.FirstLBA <= ps[i-1].LastLBA() {
			return fmt.Errorf("%w: partition %d overlaps partition %d", ErrLayout, p.Number, ps[i-1].Number)
		}
	}
	for _, p := range l.Partitions {
		switch p.Role {
		case RoleRoot:
			l.RootOffset, l.RootSize = p.Offset, p.Size
		case RoleESP:
			l.ESPOffset, l.ESPSize = p.Offset, p.Size
		}
	}
	return nil
}
