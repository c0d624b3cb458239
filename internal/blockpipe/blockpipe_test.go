package blockpipe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/purefs/purefs/sparse"
)

// memSource is a byte slice as a sparse.Source with given data ranges;
// reads past short stop early.
type memSource struct {
	b      []byte
	short  int64 // reads at or past short return io.EOF (0: none)
	ranges []sparse.Range
}

func (m *memSource) Size() int64                         { return int64(len(m.b)) }
func (m *memSource) DataRanges() ([]sparse.Range, error) { return m.ranges, nil }
func (m *memSource) ReadAt(p []byte, off int64) (int, error) {
	end := off + int64(len(p))
	if m.short > 0 && end > m.short {
		n := copy(p, m.b[off:max(off, m.short)])
		return n, io.EOF
	}
	return copy(p, m.b[off:end]), nil
}

type placed struct {
	first, n int64
	sum      int // the encoder's result
	buf      []byte
}

func run(t *testing.T, src *memSource, workers int) ([]placed, error) {
	t.Helper()
	var got []placed
	err := Run(src, src.ranges, Config[*int]{
		Name: "test", BlockSize: 16, JobBlocks: 4, Workers: workers,
		NewAux: func() *int { return new(int) },
		NewEncoder: func() func(*Job[*int]) error {
			return func(j *Job[*int]) error {
				*j.Aux = 0
				for _, c := range j.Buf[:j.N*16] {
					*j.Aux += int(c)
				}
				return nil
			}
		},
		Place: func(j *Job[*int]) error {
			got = append(got, placed{j.First, j.N, *j.Aux, bytes.Clone(j.Buf[:j.N*16])})
			return nil
		},
	})
	return got, err
}

func TestRunOrderAndZeros(t *testing.T) {
	b := make([]byte, 16*20)
	for i := range b {
		b[i] = byte(i%251 + 1)
	}
	// Ranges: part of block 0, blocks 2-6 (in two jobs), a range ending
	// past the end of the source.
	src := &memSource{b: b, ranges: []sparse.Range{{Off: 3, Len: 5}, {Off: 40, Len: 60}, {Off: 300, Len: 100}}}
	want, err := run(t, src, 1)
	if err != nil {
		t.Fatal(err)
	}
	var jobs [][2]int64
	for _, p := range want {
		jobs = append(jobs, [2]int64{p.first, p.n})
	}
	// A job starts at the first block with data and spans at most 4 blocks.
	if got := fmt.Sprint(jobs); got != "[[0 4] [4 3] [18 2]]" {
		t.Fatalf("jobs (first, n) = %s", got)
	}
	// Outside the ranges a job's buffer holds zeros.
	for _, p := range want {
		for i, c := range p.buf {
			off := p.first*16 + int64(i)
			in := (off >= 3 && off < 8) || (off >= 40 && off < 100) || off >= 300
			if w := map[bool]byte{true: b[off], false: 0}[in]; c != w {
				t.Fatalf("byte %d = %d, want %d", off, c, w)
			}
		}
	}
	for _, workers := range []int{2, 3, 8} {
		got, err := run(t, src, workers)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%d workers: placed %v, want %v", workers, got, want)
		}
	}
}

func TestRunErrors(t *testing.T) {
	b := make([]byte, 16*20)
	src := &memSource{b: b, short: 100, ranges: []sparse.Range{{Off: 0, Len: 320}}}
	if _, err := run(t, src, 2); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short read: err = %v, want io.ErrUnexpectedEOF", err)
	}
	src = &memSource{b: b, ranges: []sparse.Range{{Off: 0, Len: 16}, {Off: -1, Len: 10}}}
	got, err := run(t, src, 2)
	if err == nil || len(got) != 1 {
		t.Fatalf("bad range: placed %d jobs, err = %v; want 1 job and an error", len(got), err)
	}
}
