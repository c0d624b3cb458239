package diskimage

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/mbr"
)

// TableType is make-disk-image.nix's partitionTableType.
type TableType string

// make-disk-image.nix's five partition table types.
const (
	Legacy    TableType = "legacy"
	LegacyGPT TableType = "legacy+gpt"
	EFI       TableType = "efi"
	Hybrid    TableType = "hybrid"
	None      TableType = "none"
)

// Role says what a partition is for.
type Role string

// Partition roles.
const (
	RoleRoot     Role = "root"
	RoleESP      Role = "esp"
	RoleBIOSBoot Role = "bios-boot"
)

// Defaults of make-disk-image.nix's arguments.
const (
	DefaultBootSize  = "256M"
	DefaultRootGPUID = "F222513B-DED1-49FA-B591-20CE86A2FE7F"

	// NixpkgsDiskGUID is the disk GUID make-disk-image.nix passes to sgdisk; it is
	// malformed (11 digits in its last group), and sgdisk stores
	// 97FD5997-F390-0B4A-A3F8-D106C1723AEA for it.
	NixpkgsDiskGUID = "97FD5997-D90B-4AA3-8D16-C1723AEA73C"
)

// The partition GUIDs make-disk-image.nix passes to sgdisk.
var (
	NixpkgsESPGUID        = gpt.MustParseGUID("1C06F03B-704E-4657-B9CD-681A087A2FDC") // partition 1
	NixpkgsPartition2GUID = gpt.MustParseGUID("970C694F-AFD0-4B99-B750-CDB7A329AB6F") // partition 2
)

// Errors returned by Plan wrap one of these (or gpt.ErrGUID for a
// malformed rootGPUID).
var (
	ErrTableType = errors.New("diskimage: unknown partition table type")
	ErrBootSize  = errors.New("diskimage: invalid bootSize")
	ErrDiskSize  = errors.New("diskimage: disk size does not fit the layout")
	ErrLayout    = errors.New("diskimage: invalid layout")
)

// Config holds make-disk-image.nix's arguments that decide the partition layout. Its
// zero value is make-disk-image.nix's default: a deterministic legacy layout, which
// still needs a DiskSize.
type Config struct {
	// PartitionTableType is legacy (the default), legacy+gpt, efi, hybrid
	// or none.
	PartitionTableType string
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
	TableType    TableType
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
	return l.TableType == LegacyGPT || l.TableType == EFI || l.TableType == Hybrid
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

// ParseTableType checks a partitionTableType value.
func ParseTableType(s string) (TableType, error) {
	switch t := TableType(s); t {
	case Legacy, LegacyGPT, EFI, Hybrid, None:
		return t, nil
	case "":
		return Legacy, nil
	}
	return "", fmt.Errorf("%w %q: want legacy, legacy+gpt, efi, hybrid or none", ErrTableType, s)
}

// Plan lays out the disk described by c exactly where make-disk-image.nix's parted
// commands put the partitions. Unless c.Random is set it reads no clock and
// no random source: the same Config always gives the same Layout.
func Plan(c Config) (*Layout, error) {
	tt, err := ParseTableType(c.PartitionTableType)
	if err != nil {
		return nil, err
	}
	rootStr := c.RootGPUID
	if rootStr == "" {
		rootStr = DefaultRootGPUID
	}
	rootGUID, err := gpt.ParseGUID(rootStr)
	if err != nil {
		return nil, fmt.Errorf("diskimage: rootGPUID: %w", err)
	}
	bootSize := c.BootSize
	if bootSize == "" {
		bootSize = DefaultBootSize
	}
	if c.DiskSize <= 0 {
		return nil, fmt.Errorf("%w: disk size %d bytes", ErrDiskSize, c.DiskSize)
	}
	l := &Layout{
		TableType:   tt,
		DiskSize:    c.DiskSize,
		DiskSectors: uint64(c.DiskSize) / gpt.SectorSize,
	}
	if tt == None {
		l.RootSize = c.DiskSize
		return l, nil
	}
	n := int64(l.DiskSectors)
	if tt == Legacy {
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
	diskGUID, err := gpt.SgdiskGUID(NixpkgsDiskGUID)
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
		if p.Role == RoleRoot && !(c.NixpkgsCompat && tt == LegacyGPT) {
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
	d := newPartedDisk(n, false, c.Parted35)
	g, err := d.mkpart("1MiB", "-1")
	if err != nil {
		return fmt.Errorf("%w: %d bytes for the legacy layout: %w", ErrDiskSize, c.DiskSize, err)
	}
	l.Partitions = []Partition{{Number: 1, Role: RoleRoot, MBRType: mbr.TypeLinux}}
	setGeom(&l.Partitions[0], g)
	l.RootPartition = 1
	return nil
}

func planGPT(l *Layout, n int64, tt TableType, bootSize string, v35 bool) error {
	d := newPartedDisk(n, true, v35)
	tooSmall := func(what string, err error) error {
		return fmt.Errorf("%w: %d bytes for the %s layout (%s): %w", ErrDiskSize, l.DiskSize, tt, what, err)
	}
	add := func(num int, name string, role Role, typ gpt.GUID, g pgeom) {
		p := Partition{Number: num, Name: name, Role: role, Type: typ}
		setGeom(&p, g)
		l.Partitions = append(l.Partitions, p)
	}
	switch tt {
	case LegacyGPT:
		g, err := d.mkpart("1MB", "2MB")
		if err != nil {
			return tooSmall("BIOS boot partition", err)
		}
		add(1, "no-fs", RoleBIOSBoot, gpt.TypeBIOSBoot, g)
		if g.start%partedGrain != 0 {
			return tooSmall("BIOS boot partition", errors.New("parted's align-check optimal 1 fails"))
		}
		if g, err = d.mkpart("2MB", "-1"); err != nil {
			return tooSmall("root partition", err)
		}
		if g.start%partedGrain != 0 {
			return tooSmall("root partition", errors.New("parted's align-check optimal 2 fails"))
		}
		add(2, "primary", RoleRoot, gpt.TypeLinuxFilesystem, g)
		l.RootPartition = 2
	case EFI, Hybrid:
		if err := checkBootSize(bootSize, n); err != nil {
			return err
		}
		g, err := d.mkpart("8MiB", bootSize)
		if err != nil {
			return fmt.Errorf("%w %q: the ESP from 8MiB to it does not fit a disk of %d bytes: %w", ErrBootSize, bootSize, l.DiskSize, err)
		}
		add(1, "ESP", RoleESP, gpt.TypeEFISystem, g)
		if tt == Hybrid {
			if g, err = d.mkpart("0", "1024KiB"); err != nil {
				return tooSmall("BIOS boot partition", err)
			}
			add(2, "no-fs", RoleBIOSBoot, gpt.TypeBIOSBoot, g)
		}
		if g, err = d.mkpart(bootSize, "-1"); err != nil {
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
	loc, err := parsePartedLocation(s, n)
	if err != nil {
		return fmt.Errorf("%w %q: %w", ErrBootSize, s, err)
	}
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%w %q: negative", ErrBootSize, s)
	}
	if loc.rng.end <= 8<<20/gpt.SectorSize {
		return fmt.Errorf("%w %q: the ESP starts at 8 MiB and must end after it", ErrBootSize, s)
	}
	return nil
}

func setGeom(p *Partition, g pgeom) {
	p.FirstLBA = uint64(g.start)
	p.Sectors = uint64(g.end - g.start + 1)
	p.Offset = g.start * gpt.SectorSize
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

// ---- GNU parted's placement rules ----

// partedGrain is parted's default optimal alignment for an image file:
// 1 MiB in 512-byte sectors.
const partedGrain = 1 << 20 / gpt.SectorSize

// pgeom is an inclusive sector range.
type pgeom struct{ start, end int64 }

func (g pgeom) has(s int64) bool { return g.start <= s && s <= g.end }
func (g pgeom) empty() bool      { return g.start > g.end }
func (g pgeom) length() int64    { return g.end - g.start + 1 }
func (g pgeom) and(o pgeom) pgeom {
	return pgeom{max(g.start, o.start), min(g.end, o.end)}
}

// partedLocation is a location as parted's ped_unit_parse_custom reads it.
type partedLocation struct {
	sector int64 // the location, clipped to the disk
	rng    pgeom // the tolerance range around it
}

// partedUnit maps a suffix (lower case) to its size in bytes; IEC units
// are exact, the others get a tolerance of half a unit either way.
var partedUnits = map[string]struct {
	size int64
	iec  bool
}{
	"":  {1000 * 1000, false}, // parted's default unit is MB
	"s": {512, false}, "b": {1, false},
	"k": {1000, false}, "kb": {1000, false},
	"m": {1000 * 1000, false}, "mb": {1000 * 1000, false},
	"g": {1000 * 1000 * 1000, false}, "gb": {1000 * 1000 * 1000, false},
	"t": {1000 * 1000 * 1000 * 1000, false}, "tb": {1000 * 1000 * 1000 * 1000, false},
	"kib": {1 << 10, true}, "mib": {1 << 20, true}, "gib": {1 << 30, true}, "tib": {1 << 40, true},
	"%": {0, false},
}

var errLocation = errors.New("parted location")

// parsePartedLocation reads s on a disk of n sectors. It accepts a
// decimal number, optionally negative (counting from the end) and with a
// fraction, followed by one of parted's units; anything parted would read
// differently from what it looks like (CHS triples, stray characters) is
// rejected.
func parsePartedLocation(s string, n int64) (partedLocation, error) {
	var loc partedLocation
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := i
	for i < len(s) && ('0' <= s[i] && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, suffix := s[:i], strings.ToLower(s[i:])
	u, ok := partedUnits[suffix]
	if !ok || i == digits || strings.Count(num, ".") > 1 || punct(s) == 2 {
		return loc, fmt.Errorf("%w %q: want a decimal number and one of parted's units (s, B, kB, MB, GB, TB, %%, KiB, MiB, GiB, TiB)", errLocation, s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return loc, fmt.Errorf("%w %q: not a number", errLocation, s)
	}
	if v > 0 && v < 1 {
		return loc, fmt.Errorf("%w %q: parted wants a smaller unit for a value below 1", errLocation, s)
	}
	size := u.size
	if suffix == "%" {
		size = n * 512 / 100
	}
	radius := int64(0)
	if !u.iec {
		radius = max((size+511)/512/2-1, 0)
	}
	f := v * float64(size) / 512
	if math.Abs(f) > 1<<62 {
		return loc, fmt.Errorf("%w %q is too large", errLocation, s)
	}
	sector := int64(f) // C's conversion: toward zero
	if s[0] == '-' {
		sector += n
	}
	clip := func(x int64) int64 { return min(max(x, 0), n-1) }
	loc.rng = pgeom{clip(sector - radius), clip(sector + radius)}
	if sector-loc.rng.end > radius || loc.rng.start-sector > radius {
		return loc, fmt.Errorf("%w %q is outside the disk of %d sectors", errLocation, s, n)
	}
	loc.sector = clip(sector)
	return loc, nil
}

// punct counts the characters C's ispunct accepts; parted takes a string
// with exactly two of them for a cylinder,head,sector address.
func punct(s string) int {
	k := 0
	for _, c := range []byte(s) {
		if c > ' ' && c < 0x7f && !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			k++
		}
	}
	return k
}

// endsWithIEC reports whether parted moves an end given as s back by one
// sector (so that the next partition can start exactly there).
func endsWithIEC(s string, v35 bool) bool {
	if len(s) < 4 {
		return false
	}
	p := s[len(s)-3:]
	if v35 {
		// parted 3.5 checks for [kMGTPEZY]iB and so misses "KiB".
		return strings.IndexByte("kMGTPEZY", p[0]) >= 0 && strings.EqualFold(p[1:], "iB")
	}
	switch strings.ToLower(p) {
	case "kib", "mib", "gib", "tib":
		return true
	}
	return false
}

// partedDisk is the state of a disk label while parted adds partitions.
type partedDisk struct {
	n     int64   // sectors
	gpt   bool    // gpt or msdos label
	v35   bool    // parted 3.5's IEC end rule
	parts []pgeom // partitions, in the order they were made
}

func newPartedDisk(n int64, isGPT, v35 bool) *partedDisk {
	return &partedDisk{n: n, gpt: isGPT, v35: v35}
}

// dataArea is where the label lets partitions lie.
func (d *partedDisk) dataArea() pgeom {
	if d.gpt {
		return pgeom{gpt.FirstUsableLBA, d.n - 2 - gpt.ArraySectors}
	}
	return pgeom{1, d.n - 1}
}

// regions lists the disk as parted's partition list shows it outside
// update mode: metadata, partitions and the free space between them,
// sorted, covering every sector.
func (d *partedDisk) regions() []pgeom {
	var rs []pgeom
	if d.gpt {
		rs = append(rs, pgeom{0, gpt.FirstUsableLBA - 1}, pgeom{d.n - 1 - gpt.ArraySectors, d.n - 1})
	} else {
		end := int64(mbr.PartedFileGeometry.Sectors) - 1
		for _, p := range d.parts {
			end = min(end, p.start-1)
		}
		if end > 0 {
			rs = append(rs, pgeom{0, end})
		}
	}
	rs = append(rs, d.parts...)
	slices.SortFunc(rs, func(a, b pgeom) int { return cmp.Compare(a.start, b.start) })
	var out []pgeom
	next := int64(0)
	for _, r := range rs {
		if r.start > next {
			out = append(out, pgeom{next, r.start - 1})
		}
		out = append(out, r)
		next = r.end + 1
	}
	if next < d.n {
		out = append(out, pgeom{next, d.n - 1})
	}
	return out
}

func regionOf(rs []pgeom, s int64) pgeom {
	for _, r := range rs {
		if r.has(s) {
			return r
		}
	}
	return pgeom{s, s}
}

// mkpart places a partition from start to end as `parted --script …
// mkpart NAME [FS] START END` with the default optimal alignment does.
func (d *partedDisk) mkpart(startStr, endStr string) (pgeom, error) {
	sl, err := parsePartedLocation(startStr, d.n)
	if err != nil {
		return pgeom{}, err
	}
	el, err := parsePartedLocation(endStr, d.n)
	if err != nil {
		return pgeom{}, err
	}
	start, end, rs, re := sl.sector, el.sector, sl.rng, el.rng
	if start != end && endsWithIEC(endStr, d.v35) {
		end--
		re = pgeom{re.start - 1, re.end - 1}
	}
	if start > end {
		return pgeom{}, fmt.Errorf("parted: %s–%s ends before it starts", startStr, endStr)
	}
	want := d.snap(pgeom{start, end}, rs, re)

	// (1) Aligned: start on a MiB, end one sector before one.
	aligned := constraint{startAlign: alignment{0, partedGrain}, endAlign: alignment{-1, partedGrain},
		startRange: rs, endRange: re, minSize: 1, maxSize: d.n}
	if g, ok := d.solve(aligned, want); ok {
		d.parts = append(d.parts, g)
		return g, nil
	}
	// (2) Anywhere, as long as the result stays within the ranges.
	anyc := constraint{startAlign: alignment{0, 1}, endAlign: alignment{0, 1},
		startRange: pgeom{0, d.n - 1}, endRange: pgeom{0, d.n - 1}, minSize: 1, maxSize: d.n}
	g, ok := d.solve(anyc, want)
	if !ok || !rs.has(g.start) || !re.has(g.end) {
		return pgeom{}, fmt.Errorf("parted: no room for a partition from %s to %s on a disk of %d sectors", startStr, endStr, d.n)
	}
	d.parts = append(d.parts, g)
	return g, nil
}

// snap moves the wanted start and end to neighbouring region boundaries
// inside their ranges, as parted's snap_to_boundaries does.
func (d *partedDisk) snap(g, rs, re pgeom) pgeom {
	const (
		still = 1
		up    = 2
		down  = 4
	)
	regs := d.regions()
	sp, ep := regionOf(regs, g.start), regionOf(regs, g.end)
	adjacent := sp.end+1 == ep.start
	sAllow, eAllow := still|up|down, still|up|down
	if sp == ep {
		sAllow &^= up
		eAllow &^= down
	}
	// prefer returns the preferred move of s (what: 0 start, -1 end).
	prefer := func(s int64, what int64, rng pgeom, allow *int, p pgeom) (int, int64) {
		if *allow&(up|down) == 0 {
			return still, 0
		}
		upDist, downDist := int64(-1), int64(-1)
		if *allow&up != 0 {
			if ns := p.end + 1 + what; rng.has(ns) {
				upDist = ns - s
			} else {
				*allow &^= up
			}
		}
		if *allow&down != 0 {
			if ns := p.start + what; rng.has(ns) {
				downDist = s - ns
			} else {
				*allow &^= down
			}
		}
		switch {
		case *allow&up != 0 && *allow&down != 0:
			if downDist < upDist || downDist == upDist && what == 0 {
				return down, downDist
			}
			return up, upDist
		case *allow&up != 0:
			return up, upDist
		case *allow&down != 0:
			return down, downDist
		}
		return still, 0
	}
	sWant, sDist := prefer(g.start, 0, rs, &sAllow, sp)
	eWant, eDist := prefer(g.end, -1, re, &eAllow, ep)
	if adjacent && sWant == up && eWant == down {
		if eDist < sDist {
			sAllow &^= up
			sWant, _ = prefer(g.start, 0, rs, &sAllow, sp)
		} else {
			eAllow &^= down
			eWant, _ = prefer(g.end, -1, re, &eAllow, ep)
		}
	}
	start, end := g.start, g.end
	switch sWant {
	case down:
		start = sp.start
	case up:
		start = sp.end + 1
	}
	switch eWant {
	case down:
		end = ep.start - 1
	case up:
		end = ep.end
	}
	return pgeom{start, end}
}

// alignment is parted's PedAlignment: sectors offset + k·grain.
type alignment struct{ offset, grain int64 }

// constraint is parted's PedConstraint.
type constraint struct {
	startAlign, endAlign alignment
	startRange, endRange pgeom
	minSize, maxSize     int64
}

func (c constraint) and(o constraint) (constraint, bool) {
	r := constraint{
		startAlign: c.startAlign, endAlign: c.endAlign,
		startRange: c.startRange.and(o.startRange), endRange: c.endRange.and(o.endRange),
		minSize: max(c.minSize, o.minSize), maxSize: min(c.maxSize, o.maxSize),
	}
	// Only "any" (grain 1) meets another alignment here.
	if o.startAlign.grain != 1 {
		r.startAlign = o.startAlign
	}
	if o.endAlign.grain != 1 {
		r.endAlign = o.endAlign
	}
	return r, !r.startRange.empty() && !r.endRange.empty()
}

func fromMax(g pgeom) constraint {
	return constraint{alignment{0, 1}, alignment{0, 1}, g, g, 1, g.length()}
}

// solve intersects c with the free space around want and the label's data
// area and returns parted's nearest solution to want.
func (d *partedDisk) solve(c constraint, want pgeom) (pgeom, bool) {
	// The free gap want's start lies in, between existing partitions.
	parts := slices.Clone(d.parts)
	slices.SortFunc(parts, func(a, b pgeom) int { return cmp.Compare(a.start, b.start) })
	minStart, maxEnd := int64(0), int64(math.MaxInt64-1)
	i := 0
	for i < len(parts) && (parts[i].start < want.start || minStart >= parts[i].start) {
		minStart = parts[i].end + 1
		i++
	}
	if i < len(parts) {
		maxEnd = parts[i].start - 1
	}
	// parted 3.5 also refuses a gap of one sector (fixed in 3.6).
	if minStart > maxEnd || d.v35 && minStart == maxEnd {
		return pgeom{}, false
	}
	dev := constraint{alignment{0, 1}, alignment{0, 1}, pgeom{0, d.n - 1}, pgeom{0, d.n - 1}, 1, d.n}
	c, ok := c.and(dev)
	if !ok {
		return pgeom{}, false
	}
	if c, ok = c.and(fromMax(pgeom{minStart, maxEnd})); !ok {
		return pgeom{}, false
	}
	if c, ok = c.and(fromMax(d.dataArea())); !ok {
		return pgeom{}, false
	}
	// ped_constraint_solve_nearest.
	firstEnd := alignDown(c.endAlign, c.endRange, c.endRange.start)
	lastEnd := alignUp(c.endAlign, c.endRange, c.endRange.end)
	if c.minSize > c.maxSize || firstEnd < 0 || lastEnd < 0 || firstEnd > lastEnd || lastEnd < c.minSize {
		return pgeom{}, false
	}
	maxStart := lastEnd - c.minSize + 1
	if maxStart < 0 {
		return pgeom{}, false
	}
	startRange := pgeom{max(firstEnd-c.maxSize+1, 0), maxStart}.and(c.startRange)
	if startRange.empty() {
		return pgeom{}, false
	}
	start := alignNearest(c.startAlign, startRange, want.start)
	if start < 0 || start+c.minSize-1 > d.n-1 {
		return pgeom{}, false
	}
	endRange := pgeom{start + c.minSize - 1, min(start+c.maxSize-1, d.n-1)}.and(c.endRange)
	if endRange.empty() {
		return pgeom{}, false
	}
	end := alignNearest(c.endAlign, endRange, want.end)
	if end < 0 {
		return pgeom{}, false
	}
	return pgeom{start, end}, true
}

func roundDown(x, g int64) int64 { return x - x%g }
func roundUp(x, g int64) int64 {
	if x%g != 0 {
		return roundDown(x, g) + g
	}
	return x
}

func closestInside(a alignment, g pgeom, s int64) int64 {
	if s < g.start {
		s += roundUp(g.start-s, a.grain)
	}
	if s > g.end {
		s -= roundUp(s-g.end, a.grain)
	}
	if !g.has(s) {
		return -1
	}
	return s
}

func alignUp(a alignment, g pgeom, s int64) int64 {
	return closestInside(a, g, roundUp(s-a.offset, a.grain)+a.offset)
}

func alignDown(a alignment, g pgeom, s int64) int64 {
	return closestInside(a, g, roundDown(s-a.offset, a.grain)+a.offset)
}

func alignNearest(a alignment, g pgeom, s int64) int64 {
	u, dn := alignUp(a, g, s), alignDown(a, g, s)
	switch {
	case u == -1:
		return dn
	case dn == -1:
		return u
	}
	if abs(s-u) < abs(s-dn) {
		return u
	}
	return dn
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
