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

// bump hands out the free blocks left in a usedSet in ascending order.
type bump struct {
	free []span // free runs, ascending
	i    int
	off  uint64 // blocks taken from free[i]
	used uint64
}

func newBump(u *usedSet) *bump {
	var free []span
	b := uint64(0)
	for _, r := range u.runs {
		if r.Start > b {
			free = append(free, span{b, r.Start - b})
		}
		b = r.end()
	}
	if b < u.total {
		free = append(free, span{b, u.total - b})
	}
	return &bump{free: free}
}

// next returns one contiguous run of at most n blocks (n > 0), or false
// when the file system is full.
func (a *bump) next(n uint64) (span, bool) {
	for a.i < len(a.free) && a.off == a.free[a.i].Len {
		a.i++
		a.off = 0
	}
	if a.i == len(a.free) {
		return span{}, false
	}
	f := a.free[a.i]
	take := min(n, f.Len-a.off)
	s := span{f.Start + a.off, take}
	a.off += take
	a.used += take
	return s, true
}

// alloc returns n blocks as one or more runs.
func (a *bump) alloc(n uint64) ([]span, bool) {
	var out []span
	for n > 0 {
		s, ok := a.next(n)
		if !ok {
			return nil, false
		}
		if len(out) > 0 && out[len(out)-1].end() == s.Start {
			out[len(out)-1].Len += s.Len
		} else {
			out = append(out, s)
		}
		n -= s.Len
	}
	return out, true
}

// taken returns the runs handed out so far.
func (a *bump) taken() []span {
	var out []span
	for j := 0; j < a.i && j < len(a.free); j++ {
		out = append(out, a.free[j])
	}
	if a.i < len(a.free) && a.off > 0 {
		out = append(out, span{a.free[a.i].Start, a.off})
	}
	return out
}
