package ext4

import (
	"fmt"
	"sort"
)

// span is a run of blocks [Start, Start+Len).
type span struct{ Start, Len uint64 }

func (s span) end() uint64 { return s.Start + s.Len }

// usedSet is a sorted list of disjoint used block runs. It models the block
// bitmap while the fixed metadata is placed the way mke2fs places it.
type usedSet struct {
	runs  []span
	total uint64 // blocks in the file system
}

// find returns the index of the first run that ends after b.
func (u *usedSet) find(b uint64) int {
	return sort.Search(len(u.runs), func(i int) bool { return u.runs[i].end() > b })
}

// conflict returns the end of a used run overlapping [b, b+n), or 0.
func (u *usedSet) conflict(b, n uint64) uint64 {
	i := u.find(b)
	if i < len(u.runs) && u.runs[i].Start < b+n {
		return u.runs[i].end()
	}
	return 0
}

// mark records [b, b+n) as used; it must be free.
func (u *usedSet) mark(b, n uint64) {
	if n == 0 {
		return
	}
	i := u.find(b)
	// Merge with the previous and next runs where they touch.
	if i > 0 && u.runs[i-1].end() == b {
		u.runs[i-1].Len += n
		if i < len(u.runs) && u.runs[i].Start == b+n {
			u.runs[i-1].Len += u.runs[i].Len
			u.runs = append(u.runs[:i], u.runs[i+1:]...)
		}
		return
	}
	if i < len(u.runs) && u.runs[i].Start == b+n {
		u.runs[i].Start = b
		u.runs[i].Len += n
		return
	}
	u.runs = append(u.runs, span{})
	copy(u.runs[i+1:], u.runs[i:])
	u.runs[i] = span{b, n}
}

// getFree is ext2fs_get_free_blocks2: the first b in [start, finish) (with
// wrap-around when finish <= start) where num blocks are free.
func (u *usedSet) getFree(start, finish, num uint64) (uint64, bool) {
	b := start
	if finish == 0 {
		finish = start
	}
	if num == 0 {
		num = 1
	}
	for {
		if b+num-1 >= u.total {
			if finish > start {
				return 0, false
			}
			b = 0
		}
		e := u.conflict(b, num)
		if e == 0 {
			return b, true
		}
		nb := e
		if b < finish && nb >= finish {
			return 0, false
		}
		if nb <= b {
			nb = b + 1
		}
		b = nb
		if b == finish {
			return 0, false
		}
	}
}

// firstFree allocates n blocks as runs, first fit from goal onwards and
// then from the start (ext2fs_new_block2 / ext2fs_fallocate with a goal).
func (u *usedSet) firstFree(goal, n uint64) ([]span, error) {
	var out []span
	b := goal
	wrapped := false
	for n > 0 {
		if b >= u.total {
			if wrapped {
				return nil, fmt.Errorf("%w: no free block left", ErrNoSpace)
			}
			b, wrapped = 0, true
		}
		i := u.find(b)
		if i < len(u.runs) && u.runs[i].Start <= b {
			b = u.runs[i].end()
			continue
		}
		lim := u.total
		if i < len(u.runs) {
			lim = u.runs[i].Start
		}
		take := min(n, lim-b)
		out = append(out, span{b, take})
		u.mark(b, take)
		n -= take
		b += take
	}
	return out, nil
}

// count returns the number of used blocks.
func (u *usedSet) count() uint64 {
	var c uint64
	for _, r := range u.runs {
		c += r.Len
	}
	return c
}

// countIn returns the used blocks in [a, b).
func (u *usedSet) countIn(a, b uint64) uint64 {
	var c uint64
	for i := u.find(a); i < len(u.runs) && u.runs[i].Start < b; i++ {
		r := u.runs[i]
		c += min(r.end(), b) - max(r.Start, a)
	}
	return c
}

// bump hands out the free blocks left in a usedSet in ascending order,
// from two regions: the clone region (the first reserve free blocks; see
// writer.cloneReserve) and the main region after it. A region that runs
// out goes on from the other one's position.
type bump struct {
	free  []span   // free runs, ascending
	first []uint64 // first[i]: free blocks before free[i]
	cs    [2]cursor
	cur   [2]*cursor // by region; both point at one cursor after an overflow
	out   []span     // runs handed out, each joined with its region's previous
	last  [2]int     // by region: 1 + the index in out of its last run, or 0
}

// cursor is a position among the free blocks (counted from the first)
// and the end of its region.
type cursor struct{ pos, lim uint64 }

// The regions of a bump.
const (
	mainRegion  = 0
	cloneRegion = 1
)

func newBump(u *usedSet, reserve uint64) *bump {
	a := &bump{}
	b, total := uint64(0), uint64(0)
	add := func(s span) {
		a.free = append(a.free, s)
		a.first = append(a.first, total)
		total += s.Len
	}
	for _, r := range u.runs {
		if r.Start > b {
			add(span{b, r.Start - b})
		}
		b = r.end()
	}
	if b < u.total {
		add(span{b, u.total - b})
	}
	split := min(reserve, total)
	a.cs[cloneRegion] = cursor{0, split}
	a.cs[mainRegion] = cursor{split, total}
	a.cur = [2]*cursor{&a.cs[0], &a.cs[1]}
	return a
}

// alloc returns n blocks of the main region as one or more runs, or false
// when the file system is full.
func (a *bump) alloc(n uint64) ([]span, bool) { return a.allocIn(mainRegion, n) }

// allocIn returns n blocks of a region.
func (a *bump) allocIn(region int, n uint64) ([]span, bool) {
	var out []span
	for n > 0 {
		c := a.cur[region]
		if c.pos == c.lim {
			o := a.cur[1-region]
			if o == c || o.pos == o.lim {
				return nil, false
			}
			a.cur[region] = o
			continue
		}
		// The free run holding position c.pos.
		i := sort.Search(len(a.free), func(i int) bool { return a.first[i]+a.free[i].Len > c.pos })
		off := c.pos - a.first[i]
		take := min(n, a.free[i].Len-off, c.lim-c.pos)
		s := span{a.free[i].Start + off, take}
		if len(out) > 0 && out[len(out)-1].end() == s.Start {
			out[len(out)-1].Len += take
		} else {
			out = append(out, s)
		}
		c.pos += take
		n -= take
	}
	for _, s := range out {
		if l := a.last[region]; l > 0 && a.out[l-1].end() == s.Start {
			a.out[l-1].Len += s.Len
			continue
		}
		a.out = append(a.out, s)
		a.last[region] = len(a.out)
	}
	return out, true
}

// taken returns the runs handed out so far, ascending and joined.
func (a *bump) taken() []span {
	out := append([]span(nil), a.out...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	j := 0
	for _, s := range out {
		if j > 0 && out[j-1].end() == s.Start {
			out[j-1].Len += s.Len
			continue
		}
		out[j] = s
		j++
	}
	return out[:j]
}
