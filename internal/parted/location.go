package parted

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SectorSize is the sector size of the disks parted is modelled on.
const SectorSize = 512

// Grain is parted's default optimal alignment for an image file: 1 MiB in
// sectors.
const Grain = 1 << 20 / SectorSize

// Errors, wrapped with the offending location.
var (
	// ErrLocation: a location parted cannot read, or outside the disk.
	ErrLocation = errors.New("parted: invalid location")
	// ErrNoRoom: mkpart finds no place for the partition.
	ErrNoRoom = errors.New("parted: no room for the partition")
)

// Geom is an inclusive range of sectors.
type Geom struct{ Start, End int64 }

// Has reports whether sector s lies in g.
func (g Geom) Has(s int64) bool { return g.Start <= s && s <= g.End }

// Empty reports whether g holds no sector.
func (g Geom) Empty() bool { return g.Start > g.End }

// Len is the number of sectors in g.
func (g Geom) Len() int64 { return g.End - g.Start + 1 }

func (g Geom) and(o Geom) Geom {
	return Geom{max(g.Start, o.Start), min(g.End, o.End)}
}

// Location is a location as parted's ped_unit_parse_custom reads it.
type Location struct {
	Sector int64 // the location, clipped to the disk
	Range  Geom  // the tolerance range around it
}

// units maps a suffix (lower case) to its size in bytes; IEC units are
// exact, the others get a tolerance of half a unit either way.
var units = map[string]struct {
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

// ParseLocation reads s on a disk of n sectors. It accepts a decimal
// number, optionally negative (counting from the end) and with a
// fraction, followed by one of parted's units; anything parted would read
// differently from what it looks like (CHS triples, stray characters) is
// rejected with ErrLocation.
func ParseLocation(s string, n int64) (Location, error) {
	var loc Location
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := i
	for i < len(s) && ('0' <= s[i] && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, suffix := s[:i], strings.ToLower(s[i:])
	u, ok := units[suffix]
	if !ok || i == digits || strings.Count(num, ".") > 1 || punct(s) == 2 {
		return loc, fmt.Errorf("%w %q: want a decimal number and one of parted's units (s, B, kB, MB, GB, TB, %%, KiB, MiB, GiB, TiB)", ErrLocation, s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return loc, fmt.Errorf("%w %q: not a number", ErrLocation, s)
	}
	if v > 0 && v < 1 {
		return loc, fmt.Errorf("%w %q: parted wants a smaller unit for a value below 1", ErrLocation, s)
	}
	size := u.size
	if suffix == "%" {
		size = n * SectorSize / 100
	}
	radius := int64(0)
	if !u.iec {
		radius = max((size+SectorSize-1)/SectorSize/2-1, 0)
	}
	f := v * float64(size) / SectorSize
	if math.Abs(f) > 1<<62 {
		return loc, fmt.Errorf("%w %q is too large", ErrLocation, s)
	}
	sector := int64(f) // C's conversion: toward zero
	if s[0] == '-' {
		sector += n
	}
	clip := func(x int64) int64 { return min(max(x, 0), n-1) }
	loc.Range = Geom{clip(sector - radius), clip(sector + radius)}
	if sector-loc.Range.End > radius || loc.Range.Start-sector > radius {
		return loc, fmt.Errorf("%w %q is outside the disk of %d sectors", ErrLocation, s, n)
	}
	loc.Sector = clip(sector)
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
