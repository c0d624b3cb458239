package vdi

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

// failSource fails every read at or past off.
type failSource struct {
	memSource
	off int64
}

var errRead = errors.New("read failure")

func (f failSource) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.off {
		return 0, errRead
	}
	return f.memSource.ReadAt(p, off)
}

func TestWriteSourceError(t *testing.T) {
	src := make(memSource, 20*mib)
	for i := range src {
		src[i] = byte(i>>9) | 1
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "x.vdi"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, failSource{src, 13*mib + 5}, Options{}); !errors.Is(err, errRead) {
		t.Fatalf("Write: %v, want the source's error", err)
	}
	// A read-only destination fails cleanly too.
	ro, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := Write(ro, src, Options{}); err == nil {
		t.Fatal("Write into a read-only file succeeded")
	}
}

func TestWriteEmptiesDestination(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.vdi")
	if err := os.WriteFile(p, bytes.Repeat([]byte{0xaa}, 3*mib), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	src := make(memSource, 2*mib)
	src[5] = 1
	if err := Write(f, src, Options{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	oracle.QemuImgCheck(t, p)
	r, _ := openImage(t, p)
	got := make([]byte, r.Size())
	if _, err := r.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Fatal("stale bytes of the old file leak into the image")
	}
}

// TestLargeVirtualSize makes a 64 GiB disk with data at both ends: a block
// map of 65536 entries.
func TestLargeVirtualSize(t *testing.T) {
	dir := t.TempDir()
	c := rawCase{"large", 64 << 30, []piece{{0, 512, false}, {32 << 30, 4096, false}, {64<<30 - 100, 100, false}}}
	raw := makeRaw(t, dir, c)
	img := filepath.Join(dir, "l.vdi")
	writeImage(t, raw, img, Options{})
	oracle.QemuImgCheck(t, img)
	if got := oracle.QemuImgAs(t, img, "vdi").VirtualSize; got != c.size {
		t.Errorf("virtual size %d, want %d", got, c.size)
	}
	oracle.QemuImgCompareAs(t, raw, "raw", img, "vdi")
	r, _ := openImage(t, img)
	rs, err := r.DataRanges()
	var total int64
	for _, rg := range rs {
		total += rg.Len
	}
	if err != nil || len(rs) < 3 || total > 64<<10 {
		t.Fatalf("data ranges %v, %v: want the three pieces, file holes left out", rs, err)
	}
	in, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for _, rg := range rs {
		got, want := make([]byte, rg.Len), make([]byte, rg.Len)
		if _, err := r.ReadAt(got, rg.Off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if _, err := in.ReadAt(want, rg.Off); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("range %v differs", rg)
		}
	}
}

// FuzzRoundTrip writes a small disk shaped by the input and reads it back.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("purefs"), uint32(3*mib+512), uint32(mib-3), false)
	f.Add([]byte{0, 0, 1}, uint32(700), uint32(0), true)
	f.Fuzz(func(t *testing.T, data []byte, size, at uint32, static bool) {
		size %= 5 * mib
		src := make(memSource, size)
		if int64(at) < int64(size) {
			copy(src[at:], data)
		}
		p := filepath.Join(t.TempDir(), "r.vdi")
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := Write(out, src, Options{Static: static}); err != nil {
			t.Fatal(err)
		}
		fi, err := out.Stat()
		if err != nil {
			t.Fatal(err)
		}
		r, err := Open(out, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		if want := roundUp(int64(size), 512); r.Size() != want {
			t.Fatalf("size %d, want %d", r.Size(), want)
		}
		got := make([]byte, r.Size())
		if _, err := r.ReadAt(got, 0); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:size], src) || !sparse.IsZero(got[size:]) {
			t.Fatal("round trip differs")
		}
	})
}

// hugeSource is an all-hole disk of any size.
type hugeSource int64

func (h hugeSource) ReadAt(p []byte, off int64) (int, error) { clear(p); return len(p), nil }
func (h hugeSource) Size() int64                             { return int64(h) }
func (h hugeSource) DataRanges() ([]sparse.Range, error)     { return nil, nil }

func TestWriteTooLarge(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "x.vdi"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, size := range []int64{(maxBlocks + 1) * mib, maxBlocks * mib} {
		if err := Write(f, hugeSource(size), Options{}); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%d bytes: %v, want ErrTooLarge", size, err)
		}
	}
}

// TestDataRangesSkipFileHoles: a static image maps every block, but the
// reader reports only what the file holds, so converting it back never
// reads its holes.
func TestDataRangesSkipFileHoles(t *testing.T) {
	dir := t.TempDir()
	c := rawCase{"static", 64 * mib, []piece{{5*mib + 4096, 100, false}}}
	raw := makeRaw(t, dir, c)
	img := filepath.Join(dir, "s.vdi")
	writeImage(t, raw, img, Options{Static: true})
	r, f := openImage(t, img)
	rs, err := r.DataRanges()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, rg := range rs {
		total += rg.Len
	}
	if total > 16<<10 {
		t.Errorf("data ranges %v cover %d bytes of a disk with 100 bytes of data", rs, total)
	}
	checkSameBytes(t, r, raw)
	// Through a plain io.ReaderAt the reader cannot see holes: every
	// mapped block is a data range.
	fi, _ := f.Stat()
	r2, err := Open(io.NewSectionReader(f, 0, fi.Size()), fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if rs, _ := r2.DataRanges(); len(rs) != 1 || rs[0].Len != 64*mib {
		t.Errorf("data ranges without a file: %v, want the whole disk", rs)
	}
}

// messySource reports its data ranges out of order, overlapping, empty.
type messySource struct{ memSource }

func (m messySource) DataRanges() ([]sparse.Range, error) {
	n := int64(len(m.memSource))
	return []sparse.Range{{Off: n / 2, Len: n - n/2}, {Off: 0, Len: n/2 + 7}, {Off: 100, Len: 0}, {Off: n / 3, Len: 10}}, nil
}

func TestWriteMessyDataRanges(t *testing.T) {
	src := make(memSource, 5*mib+512)
	for i := range src {
		src[i] = byte(i/4096) | 1
	}
	want := writeMem(t, src, Options{})
	if got := writeMem(t, messySource{src}, Options{}); !bytes.Equal(got, want) {
		t.Fatal("out-of-order data ranges change the image")
	}
}
