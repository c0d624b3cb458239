package sparse

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDataRanges(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const mib = 1 << 20
	if err := f.Truncate(8 * mib); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{0, 3 * mib, 8*mib - 4096} {
		if _, err := f.WriteAt(make([]byte, 4096), off); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{1}, off); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := DataRanges(f, 8*mib)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for i, r := range rs {
		if i > 0 && r.Off < rs[i-1].End() {
			t.Fatalf("ranges overlap: %v", rs)
		}
		total += r.Len
	}
	if len(rs) == 0 || rs[0].Off != 0 || rs[len(rs)-1].End() != 8*mib {
		t.Fatalf("ranges %v do not cover the data at the start and end", rs)
	}
	if total > 4*mib {
		t.Errorf("ranges %v cover %d bytes: holes were not found", rs, total)
	}
}

func TestIsZero(t *testing.T) {
	b := make([]byte, 37)
	if !IsZero(b) {
		t.Fatal("zero buffer reported non-zero")
	}
	for i := range b {
		b[i] = 1
		if IsZero(b) {
			t.Fatalf("byte %d set but IsZero", i)
		}
		b[i] = 0
	}
}

// TestBlockDeviceSize: a block device's stat size is 0; its Source must
// have the device's size. Needs root and a free loop device.
func TestBlockDeviceSize(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for losetup")
	}
	img := filepath.Join(t.TempDir(), "disk")
	if err := os.WriteFile(img, make([]byte, 3<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device: %v", err)
	}
	dev := strings.TrimSpace(string(out))
	defer exec.Command("losetup", "-d", dev).Run()
	f, err := os.Open(dev)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	src, err := NewFileSource(f)
	if err != nil {
		t.Fatal(err)
	}
	if src.Size() != 3<<20 {
		t.Errorf("block device size %d, want %d", src.Size(), 3<<20)
	}
}

// TestDataRangesLayouts: files all data, with holes at the start, the end
// or both, and empty, give the ranges a plain SEEK_DATA/SEEK_HOLE walk
// gives, and the whole-data file one range.
func TestDataRangesLayouts(t *testing.T) {
	const blk = 64 << 10 // over any file system's hole granularity
	for _, tc := range []struct {
		name string
		size int64
		data []int64 // offsets of blk-long data runs
	}{
		{"empty", 0, nil},
		{"all data", 5 * blk, []int64{0, blk, 2 * blk, 3 * blk, 4 * blk}},
		{"all data, partial end", 3*blk + 100, []int64{0, blk, 2 * blk, 3 * blk}},
		{"hole first", 4 * blk, []int64{2 * blk, 3 * blk}},
		{"hole last", 4 * blk, []int64{0}},
		{"holes around", 6 * blk, []int64{2 * blk}},
		{"all hole", 4 * blk, nil},
	} {
		p := filepath.Join(t.TempDir(), "f")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range tc.data {
			n := min(blk, tc.size-off)
			if _, err := f.WriteAt([]byte(strings.Repeat("d", int(n))), off); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Truncate(tc.size); err != nil {
			t.Fatal(err)
		}
		got, err := DataRangesFd(int(f.Fd()), tc.size)
		if err != nil {
			t.Fatal(err)
		}
		want := seekRanges(t, int(f.Fd()), tc.size)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: ranges %v, a SEEK_DATA walk gives %v", tc.name, got, want)
		}
		if tc.name == "all data" || tc.name == "all data, partial end" {
			if len(got) != 1 || got[0] != (Range{0, tc.size}) {
				t.Errorf("%s: ranges %v, want one of the whole file", tc.name, got)
			}
		}
		f.Close()
	}
}

// seekRanges is the reference: data ranges by alternating SEEK_DATA and
// SEEK_HOLE from the start.
func seekRanges(t *testing.T, fd int, size int64) []Range {
	var out []Range
	for pos := int64(0); pos < size; {
		d, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
		if err != nil {
			t.Fatal(err)
		}
		h = min(h, size)
		out = append(out, Range{d, h - d})
		pos = h
	}
	return out
}

func TestAddBlocks(t *testing.T) {
	// Blocks of 10 bytes for a 35-byte disk: block 1 absent, blocks 0
	// and 2 adjacent (merged) though stored apart, block 3 clipped, and
	// block 4 (past the end, as a corrupt table might list) left out.
	stored := map[int64]int64{0: 100, 2: 500, 3: 300, 4: 400}
	at := func(i int64) (int64, bool) { f, ok := stored[i]; return f, ok }
	got := ExtentMap{}.AddBlocks(nil, 5, 10, 35, at)
	want := []Range{{Off: 0, Len: 10}, {Off: 20, Len: 15}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AddBlocks = %v, want %v", got, want)
	}
	// With the file's extents known, the holes of the file are left out.
	m := ExtentMap{known: true, ranges: []Range{{Off: 100, Len: 4}, {Off: 300, Len: 100}}}
	got = m.AddBlocks(nil, 5, 10, 35, at)
	want = []Range{{Off: 0, Len: 4}, {Off: 30, Len: 5}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("AddBlocks with extents = %v, want %v", got, want)
	}
}
