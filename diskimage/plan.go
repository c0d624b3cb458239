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
	"github.com/purefs/purefs/internal/size"
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
	RoleXBOOTLDR Role = "xbootldr" // efixbootldr's FAT BOOT partition (the root's /boot)
	RoleBoot     Role = "boot"     // legacy+boot's FAT BOOT partition (the root's /boot)
)

// The partition GUIDs make-disk-image.nix passes to sgdisk.
var (
	NixpkgsESPGUID        = gpt.MustParseGUID(nixpkgs.ESPGUID)        // partition 1
	NixpkgsPartition2GUID = gpt.MustParseGUID(nixpkgs.Partition2GUID) // partition 2
)

// Errors returned by Plan wrap one of these (or gpt.ErrGUID for a
// malformed rootGPUID).
var (
	ErrTableType    = nixpkgs.ErrTableType
	ErrRelease      = nixpkgs.ErrRelease
	ErrNotInRelease = nixpkgs.ErrLayout
	ErrBootSize     = errors.New("diskimage: invalid bootSize")
	ErrDiskSize     = errors.New("diskimage: disk size does not fit the layout")
	ErrLayout       = errors.New("diskimage: invalid layout")
)

// Config holds make-disk-image.nix's arguments that decide the partition layout. Its
// zero value is make-disk-image.nix's default: a deterministic legacy layout, which
// still needs a DiskSize.
type Config struct {
	// PartitionTableType is legacy (the default, also for ""),
	// legacy+boot, legacy+gpt, efi, efixbootldr, hybrid or none.
	PartitionTableType nixpkgs.TableType
	// Release is nixpkgsRelease: the nixpkgs release whose
	// make-disk-image.nix's parted commands Plan plays ("24.05"; see
	// nixpkgs.Rules). "" is the February 2024 file, and today's file for
	// the layouts that one lacks.
	Release string
	// DiskSize is the image size in bytes. parted ignores a trailing
	// partial sector, and so does Plan.
	DiskSize int64
	// BootSize is bootSize: the end of the last FAT partition (default
	// "256M"). Rules that round it (nixpkgs 25.05 and later) read it as
	// numfmt --from=iec does and hand parted the next whole MiB; the
	// others hand it to parted as given, which reads it its way: "256M"
	// and "256MB" mean 256·10^6 bytes give or take half a megabyte,
	// "256MiB" means exactly 256·2^20 bytes; no unit means MB.
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
	Bootable bool     // MBR: the active flag (parted's boot flag)
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

	RootPartition int   // make-disk-image.nix's rootPartition (nixpkgs.TableType.RootPartition)
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
// commands put the partitions: it plays the commands of c.Release's file
// (nixpkgs.Rules.Parted) through GNU parted's placement rules
// (internal/parted), then sets the GUIDs its sgdisk call sets. Unless
// c.Random is set it reads no clock and no random source: the same Config
// always gives the same Layout.
func Plan(c Config) (*Layout, error) {
	tt, err := nixpkgs.ParseTableType(string(c.PartitionTableType))
	if err != nil {
		return nil, err
	}
	rel, err := nixpkgs.LookupRelease(c.Release)
	if err != nil {
		return nil, err
	}
	if c.Release != "" {
		if err := rel.CheckTableType(tt); err != nil {
			return nil, err
		}
	}
	rules := rel.For(tt)
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
	switch {
	case !tt.IsGPT() && uint64(n) > mbr.MaxSectors:
		return nil, fmt.Errorf("%w: %d bytes is beyond the 2 TiB an MBR can describe; use a GPT layout", ErrDiskSize, c.DiskSize)
	case tt.IsGPT() && n < gpt.MinSectors:
		return nil, fmt.Errorf("%w: %d bytes is too small for a GPT (at least %d bytes)", ErrDiskSize, c.DiskSize, gpt.MinSectors*gpt.SectorSize)
	}
	// bootSize as the file hands it to parted.
	bootArg := bootSize
	if rules.RoundBootSize {
		iec, err := size.Parse(bootSize)
		if err != nil {
			return nil, fmt.Errorf("%w %q: not a size: %w", ErrBootSize, bootSize, err)
		}
		bootArg = rules.PartedBootSize(bootSize, iec)
	}
	hasBoot := len(tt.FATPartitions()) > 0
	if hasBoot {
		if err := checkBootSize(bootSize, bootArg, n, tt); err != nil {
			return nil, err
		}
	}
	tbl, err := parted.Run(n, rules.Parted(tt, bootArg), parted.Options{Version35: c.Parted35})
	if err != nil {
		var ce *parted.CommandError
		if hasBoot && errors.As(err, &ce) && slices.Contains(ce.Words, bootArg) && ce.Words[len(ce.Words)-1] == bootArg {
			return nil, fmt.Errorf("%w %q: the partitions up to it do not fit a disk of %d bytes: %w", ErrBootSize, bootSize, c.DiskSize, err)
		}
		return nil, fmt.Errorf("%w: %d bytes for the %s layout: %w", ErrDiskSize, c.DiskSize, tt, err)
	}
	l.RootPartition = tt.RootPartition()
	for i, tp := range tbl.Parts {
		p := Partition{Number: i + 1}
		setGeom(&p, tp.Geom)
		if tbl.Label == parted.GPT {
			p.Name = tp.Name
			p.Type = gptType(tp)
		} else {
			p.MBRType = mbr.TypeLinux
			if tp.FS == "fat32" {
				p.MBRType = mbr.TypeFAT32LBA
			}
			p.Bootable = tp.Has("boot")
		}
		switch {
		case p.Number == l.RootPartition:
			p.Role = RoleRoot
		case tp.Has("bios_grub"):
			p.Role = RoleBIOSBoot
		case tp.Has("bls_boot"):
			p.Role = RoleXBOOTLDR
		case tbl.Label == parted.GPT && tp.Has("boot"):
			p.Role = RoleESP
		case tp.FS == "fat32":
			p.Role = RoleBoot
		}
		l.Partitions = append(l.Partitions, p)
	}
	if !tt.IsGPT() {
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

// gptType is the partition type parted gives a partition on a GPT: by its
// flags (boot: EFI System, bios_grub: BIOS boot, bls_boot: XBOOTLDR), else
// by its file-system type.
func gptType(p parted.Part) gpt.GUID {
	switch {
	case p.Has("boot"):
		return gpt.TypeEFISystem
	case p.Has("bios_grub"):
		return gpt.TypeBIOSBoot
	case p.Has("bls_boot"):
		return gpt.TypeXBOOTLDR
	case p.FS == "fat32" || p.FS == "fat16":
		return gpt.TypeMicrosoftBasicData
	}
	return gpt.TypeLinuxFilesystem
}

// checkBootSize rejects bootSize values parted cannot read, or that put
// the last FAT partition's end at or before its start (efi and hybrid
// 8 MiB, efixbootldr 100 MiB, legacy+boot 1 MiB) or past the disk. arg is
// what parted gets for spec.
func checkBootSize(spec, arg string, n int64, tt nixpkgs.TableType) error {
	loc, err := parted.ParseLocation(arg, n)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrBootSize, spec, err)
	}
	if strings.HasPrefix(arg, "-") {
		return fmt.Errorf("%w %q: negative", ErrBootSize, spec)
	}
	start := int64(8 << 20)
	switch tt {
	case nixpkgs.EFIXBootLdr:
		start = 100 << 20
	case nixpkgs.LegacyBoot:
		start = 1 << 20
	}
	if loc.Range.End <= start/gpt.SectorSize {
		return fmt.Errorf("%w %q: the %s layout's last FAT partition starts at %d MiB and must end after it", ErrBootSize, spec, tt, start>>20)
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
