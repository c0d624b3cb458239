package hostio

import (
	"math/bits"
	"os"
	"slices"
	"sync"

	"github.com/purefs/purefs/sparse"
)

// A window over a file that already holds data is rewritten in place:
// Prepare keeps the old data, the window's writes replace it, and Finish
// zeroes the old blocks no write reached. Freeing the old blocks first
// and allocating them again costs the host far more than overwriting
// them (on a file system mounted with discard, freeing gigabytes issues
// discards that take seconds), and the blocks an image rewritten from a
// similar tree reaches are mostly the same.
//
// stale tracks the window's blocks of staleBlock bytes that still hold
// old data. A write that covers such a block whole just clears it; a
// write that covers part of one zeroes the block first, so that the
// bytes it leaves read as zeros, as they would after a punch.
type stale struct {
	mu     sync.Mutex
	f      *os.File
	off    int64 // the window's offset in f
	size   int64 // the window's size
	chunks map[int64]*staleChunk
}

const (
	staleBlock  = 4096
	chunkBlocks = 1 << 15 // blocks of one chunk: 128 MiB of window
	// maxStale bounds the old data kept in place (a bitmap of 32 MiB);
	// over more, Prepare zeroes the window first as for a device.
	maxStale = 1 << 40
)

// staleChunk has a bit set for each block of its chunk that holds old
// data.
type staleChunk [chunkBlocks / 64]uint64

// newStale returns the tracker of the old data ranges (window-relative,
// sorted) of a window of size bytes at off of f; nil when there are none.
func newStale(f *os.File, off, size int64, ranges []sparse.Range) *stale {
	s := &stale{f: f, off: off, size: size, chunks: map[int64]*staleChunk{}}
	for _, r := range ranges {
		lo, hi := max(r.Off, 0), min(r.End(), size)
		if lo >= hi {
			continue
		}
		s.setRange(lo/staleBlock, (hi+staleBlock-1)/staleBlock, true)
	}
	if len(s.chunks) == 0 {
		return nil
	}
	return s
}

// setRange sets (or clears) the bits of blocks [b, e).
func (s *stale) setRange(b, e int64, on bool) {
	for b < e {
		ci := b / chunkBlocks
		end := min(e, (ci+1)*chunkBlocks)
		c := s.chunks[ci]
		if c == nil {
			if !on {
				b = end
				continue
			}
			c = new(staleChunk)
			s.chunks[ci] = c
		}
		for i := b - ci*chunkBlocks; i < end-ci*chunkBlocks; {
			w, bit := i/64, i%64
			n := min(64-bit, end-ci*chunkBlocks-i)
			mask := ^uint64(0)
			if n < 64 {
				mask = (uint64(1)<<n - 1) << bit
			}
			if on {
				c[w] |= mask
			} else {
				c[w] &^= mask
			}
			i += n
		}
		b = end
	}
}

// test reports whether block b holds old data.
func (s *stale) test(b int64) bool {
	c := s.chunks[b/chunkBlocks]
	i := b % chunkBlocks
	return c != nil && c[i/64]&(1<<(i%64)) != 0
}

// write readies [a, a+n) of the window for a write: a block of old data
// the range covers in part is zeroed, and every block it touches holds
// old data no more.
func (s *stale) write(a, n int64) error {
	if s == nil || n <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.chunks) == 0 {
		return nil
	}
	e := a + n
	first, last := a/staleBlock, (e-1)/staleBlock
	for _, b := range []int64{first, last} {
		bs, be := b*staleBlock, min((b+1)*staleBlock, s.size)
		if (a > bs || e < be) && s.test(b) {
			if err := s.zero(bs, be-bs); err != nil {
				return err
			}
			s.setRange(b, b+1, false)
		}
	}
	s.setRange(first, last+1, false)
	return nil
}

// zeroRest writes zeros over [a, a+n) of the window, which a write
// readied but did not fill.
func (s *stale) zeroRest(a, n int64) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.zero(a, n)
}

// zero writes zeros over [a, a+n) of the window.
func (s *stale) zero(a, n int64) error {
	var z [staleBlock]byte
	for n > 0 {
		k := min(n, int64(len(z)))
		if _, err := s.f.WriteAt(z[:k], s.off+a); err != nil {
			return err
		}
		a, n = a+k, n-k
	}
	return nil
}

// finish zeroes the blocks of old data no write reached: a hole punched
// where the file system can, else zeros written where they are not
// zeros already.
func (s *stale) finish() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]int64, 0, len(s.chunks))
	for k := range s.chunks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var runs []sparse.Range // window-relative byte ranges
	add := func(b, e int64) {
		lo, hi := b*staleBlock, min(e*staleBlock, s.size)
		if k := len(runs) - 1; k >= 0 && runs[k].End() == lo {
			runs[k].Len += hi - lo
			return
		}
		runs = append(runs, sparse.Range{Off: lo, Len: hi - lo})
	}
	for _, k := range keys {
		c := s.chunks[k]
		for w, word := range c {
			for word != 0 {
				// Bits [i, j) are the next run of set bits.
				i := bits.TrailingZeros64(word)
				j := i + bits.TrailingZeros64(^(word >> i))
				base := k*chunkBlocks + int64(w)*64
				add(base+int64(i), base+int64(j))
				word &^= uint64(1)<<j - 1 // 1<<64 is 0 in Go: all cleared
			}
		}
	}
	clear(s.chunks)
	var left []sparse.Range // runs no hole could be punched over, in f
	for _, r := range runs {
		if !fast() || punchHole(int(s.f.Fd()), s.off+r.Off, r.Len) != nil {
			left = append(left, sparse.Range{Off: s.off + r.Off, Len: r.Len})
		}
	}
	return overwriteZeros(s.f, left)
}
