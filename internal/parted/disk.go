package parted

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/purefs/purefs/gpt"
	"github.com/purefs/purefs/mbr"
)

// Disk is the state of a disk label while parted adds partitions.
type Disk struct {
	n     int64  // sectors
	gpt   bool   // gpt or msdos label
	v35   bool   // parted 3.5's IEC end rule
	parts []Geom // partitions, in the order they were made
}

// Label is a disk label parted makes with mklabel.
type Label int

// The labels make-disk-image.nix uses.
const (
	MSDOS Label = iota // mklabel msdos
	GPT                // mklabel gpt
)

// Options select parted's version; the zero value is parted 3.6 and
// later.
type Options struct {
	// Version35 places partitions as GNU parted 3.5 does, which ends a
	// partition given as "…KiB" one sector later than parted 3.6 and
	// later, and cannot fill a one-sector gap.
	Version35 bool
}

// NewDisk returns a disk of sectors 512-byte sectors just after
// `mklabel`: no partitions.
func NewDisk(sectors int64, l Label, o Options) *Disk {
	return &Disk{n: sectors, gpt: l == GPT, v35: o.Version35}
}

// Partitions returns the partitions made so far, in the order Mkpart made
// them (partition n is element n-1).
func (d *Disk) Partitions() []Geom { return slices.Clone(d.parts) }

// AlignCheckOptimal reports whether `align-check optimal n` succeeds: the
// start of partition n (1-based) lies on a Grain boundary. parted --script
// exits 1 when it does not.
func (d *Disk) AlignCheckOptimal(n int) bool {
	return n >= 1 && n <= len(d.parts) && d.parts[n-1].Start%Grain == 0
}

// dataArea is where the label lets partitions lie.
func (d *Disk) dataArea() Geom {
	if d.gpt {
		return Geom{gpt.FirstUsableLBA, d.n - 2 - gpt.ArraySectors}
	}
	return Geom{1, d.n - 1}
}

// regions lists the disk as parted's partition list shows it outside
// update mode: metadata, partitions and the free space between them,
// sorted, covering every sector.
func (d *Disk) regions() []Geom {
	var rs []Geom
	if d.gpt {
		rs = append(rs, Geom{0, gpt.FirstUsableLBA - 1}, Geom{d.n - 1 - gpt.ArraySectors, d.n - 1})
	} else {
		end := int64(mbr.PartedFileGeometry.Sectors) - 1
		for _, p := range d.parts {
			end = min(end, p.Start-1)
		}
		if end > 0 {
			rs = append(rs, Geom{0, end})
		}
	}
	rs = append(rs, d.parts...)
	slices.SortFunc(rs, func(a, b Geom) int { return cmp.Compare(a.Start, b.Start) })
	var out []Geom
	next := int64(0)
	for _, r := range rs {
		if r.Start > next {
			out = append(out, Geom{next, r.Start - 1})
		}
		out = append(out, r)
		next = r.End + 1
	}
	if next < d.n {
		out = append(out, Geom{next, d.n - 1})
	}
	return out
}

func regionOf(rs []Geom, s int64) Geom {
	for _, r := range rs {
		if r.Has(s) {
			return r
		}
	}
	return Geom{s, s}
}

// Mkpart places a partition from start to end as `parted --script …
// mkpart NAME [FS] START END` with the default optimal alignment does.
func (d *Disk) Mkpart(startStr, endStr string) (Geom, error) {
	sl, err := ParseLocation(startStr, d.n)
	if err != nil {
		return Geom{}, err
	}
	el, err := ParseLocation(endStr, d.n)
	if err != nil {
		return Geom{}, err
	}
	start, end, rs, re := sl.Sector, el.Sector, sl.Range, el.Range
	if start != end && endsWithIEC(endStr, d.v35) {
		end--
		re = Geom{re.Start - 1, re.End - 1}
	}
	if start > end {
		return Geom{}, fmt.Errorf("%w: %s–%s ends before it starts", ErrNoRoom, startStr, endStr)
	}
	want := d.snap(Geom{start, end}, rs, re)

	// (1) Aligned: start on a MiB, end one sector before one.
	aligned := constraint{startAlign: alignment{0, Grain}, endAlign: alignment{-1, Grain},
		startRange: rs, endRange: re, minSize: 1, maxSize: d.n}
	if g, ok := d.solve(aligned, want); ok {
		d.parts = append(d.parts, g)
		return g, nil
	}
	// (2) Anywhere, as long as the result stays within the ranges.
	anyc := constraint{startAlign: alignment{0, 1}, endAlign: alignment{0, 1},
		startRange: Geom{0, d.n - 1}, endRange: Geom{0, d.n - 1}, minSize: 1, maxSize: d.n}
	g, ok := d.solve(anyc, want)
	if !ok || !rs.Has(g.Start) || !re.Has(g.End) {
		return Geom{}, fmt.Errorf("%w from %s to %s on a disk of %d sectors", ErrNoRoom, startStr, endStr, d.n)
	}
	d.parts = append(d.parts, g)
	return g, nil
}

// snap moves the wanted start and end to neighbouring region boundaries
// inside their ranges, as parted's snap_to_boundaries does.
func (d *Disk) snap(g, rs, re Geom) Geom {
	const (
		still = 1
		up    = 2
		down  = 4
	)
	regs := d.regions()
	sp, ep := regionOf(regs, g.Start), regionOf(regs, g.End)
	adjacent := sp.End+1 == ep.Start
	sAllow, eAllow := still|up|down, still|up|down
	if sp == ep {
		sAllow &^= up
		eAllow &^= down
	}
	// prefer returns the preferred move of s (what: 0 start, -1 end).
	prefer := func(s int64, what int64, rng Geom, allow *int, p Geom) (int, int64) {
		if *allow&(up|down) == 0 {
			return still, 0
		}
		upDist, downDist := int64(-1), int64(-1)
		if *allow&up != 0 {
			if ns := p.End + 1 + what; rng.Has(ns) {
				upDist = ns - s
			} else {
				*allow &^= up
			}
		}
		if *allow&down != 0 {
			if ns := p.Start + what; rng.Has(ns) {
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
	sWant, sDist := prefer(g.Start, 0, rs, &sAllow, sp)
	eWant, eDist := prefer(g.End, -1, re, &eAllow, ep)
	if adjacent && sWant == up && eWant == down {
		if eDist < sDist {
			sAllow &^= up
			sWant, _ = prefer(g.Start, 0, rs, &sAllow, sp)
		} else {
			eAllow &^= down
			eWant, _ = prefer(g.End, -1, re, &eAllow, ep)
		}
	}
	start, end := g.Start, g.End
	switch sWant {
	case down:
		start = sp.Start
	case up:
		start = sp.End + 1
	}
	switch eWant {
	case down:
		end = ep.Start - 1
	case up:
		end = ep.End
	}
	return Geom{start, end}
}

// alignment is parted's PedAlignment: sectors offset + k·grain.
type alignment struct{ offset, grain int64 }

// constraint is parted's PedConstraint.
type constraint struct {
	startAlign, endAlign alignment
	startRange, endRange Geom
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
	return r, !r.startRange.Empty() && !r.endRange.Empty()
}

func fromMax(g Geom) constraint {
	return constraint{alignment{0, 1}, alignment{0, 1}, g, g, 1, g.Len()}
}

// solve intersects c with the free space around want and the label's data
// area and returns parted's nearest solution to want.
func (d *Disk) solve(c constraint, want Geom) (Geom, bool) {
	// The free gap want's start lies in, between existing partitions.
	parts := slices.Clone(d.parts)
	slices.SortFunc(parts, func(a, b Geom) int { return cmp.Compare(a.Start, b.Start) })
	minStart, maxEnd := int64(0), int64(math.MaxInt64-1)
	i := 0
	for i < len(parts) && (parts[i].Start < want.Start || minStart >= parts[i].Start) {
		minStart = parts[i].End + 1
		i++
	}
	if i < len(parts) {
		maxEnd = parts[i].Start - 1
	}
	// parted 3.5 also refuses a gap of one sector (fixed in 3.6).
	if minStart > maxEnd || d.v35 && minStart == maxEnd {
		return Geom{}, false
	}
	dev := constraint{alignment{0, 1}, alignment{0, 1}, Geom{0, d.n - 1}, Geom{0, d.n - 1}, 1, d.n}
	c, ok := c.and(dev)
	if !ok {
		return Geom{}, false
	}
	if c, ok = c.and(fromMax(Geom{minStart, maxEnd})); !ok {
		return Geom{}, false
	}
	if c, ok = c.and(fromMax(d.dataArea())); !ok {
		return Geom{}, false
	}
	// ped_constraint_solve_nearest.
	firstEnd := alignDown(c.endAlign, c.endRange, c.endRange.Start)
	lastEnd := alignUp(c.endAlign, c.endRange, c.endRange.End)
	if c.minSize > c.maxSize || firstEnd < 0 || lastEnd < 0 || firstEnd > lastEnd || lastEnd < c.minSize {
		return Geom{}, false
	}
	maxStart := lastEnd - c.minSize + 1
	if maxStart < 0 {
		return Geom{}, false
	}
	startRange := Geom{max(firstEnd-c.maxSize+1, 0), maxStart}.and(c.startRange)
	if startRange.Empty() {
		return Geom{}, false
	}
	start := alignNearest(c.startAlign, startRange, want.Start)
	if start < 0 || start+c.minSize-1 > d.n-1 {
		return Geom{}, false
	}
	endRange := Geom{start + c.minSize - 1, min(start+c.maxSize-1, d.n-1)}.and(c.endRange)
	if endRange.Empty() {
		return Geom{}, false
	}
	end := alignNearest(c.endAlign, endRange, want.End)
	if end < 0 {
		return Geom{}, false
	}
	return Geom{start, end}, true
}

func roundDown(x, g int64) int64 { return x - x%g }
func roundUp(x, g int64) int64 {
	if x%g != 0 {
		return roundDown(x, g) + g
	}
	return x
}

func closestInside(a alignment, g Geom, s int64) int64 {
	if s < g.Start {
		s += roundUp(g.Start-s, a.grain)
	}
	if s > g.End {
		s -= roundUp(s-g.End, a.grain)
	}
	if !g.Has(s) {
		return -1
	}
	return s
}

func alignUp(a alignment, g Geom, s int64) int64 {
	return closestInside(a, g, roundUp(s-a.offset, a.grain)+a.offset)
}

func alignDown(a alignment, g Geom, s int64) int64 {
	return closestInside(a, g, roundDown(s-a.offset, a.grain)+a.offset)
}

func alignNearest(a alignment, g Geom, s int64) int64 {
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
