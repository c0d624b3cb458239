package vhd

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
	f, err := os.Create(filepath.Join(t.TempDir(), "x.vhd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, opts := range []Options{{}, {Fixed: true}} {
		if err := Write(f, failSource{src, 13*mib + 5}, opts); !errors.Is(err, errRead) {
			t.Fatalf("Write %+v: %v, want the source's error", opts, err)
		}
	}
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
	p := filepath.Join(t.TempDir(), "x.vhd")
	for _, opts := range []Options{{}, {Fixed: true, ForceSize: true}} {
		if err := os.WriteFile(p, bytes.Repeat([]byte{0xaa}, 5*mib), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		src := make(memSource, 4*mib)
		src[5] = 1
		if err := Write(f, src, opts); err != nil {
			t.Fatal(err)
		}
		f.Close()
		r := openImage(t, p)
		got := make([]byte, r.Size())
		if _, err := r.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[:len(src)], src) || !sparse.IsZero(got[len(src):]) {
			t.Fatalf("%+v: stale bytes of the old file leak into the image", opts)
		}
	}
}

// TestLargeVirtualSize makes a 200 GiB dynamic disk, past the largest CHS
// geometry, so its size is exact, with data at both ends.
func TestLargeVirtualSize(t *testing.T) {
	dir := t.TempDir()
	c := rawCase{"large", 200 << 30, []piece{{0, 512, false}, {100 << 30, 4096, false}, {200<<30 - 100, 100, false}}}
	raw := makeRaw(t, dir, c)
	img := filepath.Join(dir, "l.vhd")
	if err := writeImage(t, raw, img, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := oracle.QemuImgAs(t, img, "vpc").VirtualSize; got != c.size {
		t.Errorf("virtual size %d, want %d", got, c.size)
	}
	oracle.QemuImgCompareAs(t, raw, "raw", img, "vpc")
	r := openImage(t, img)
	checkStructure(t, img, r)
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
	f.Add([]byte("purefs"), uint32(3*mib+512), uint32(mib-3), uint8(0))
	f.Add([]byte{0, 0, 1}, uint32(700), uint32(0), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, size, at uint32, mode uint8) {
		size = size%(7*mib) + 1
		src := make(memSource, size)
		if int64(at) < int64(size) {
			copy(src[at:], data)
		}
		opts := Options{Fixed: mode&1 != 0, ForceSize: mode&2 != 0, RoundUp: true, Timestamp: int64(at)}
		p := filepath.Join(t.TempDir(), "r.vhd")
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if err := Write(out, src, opts); err != nil {
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
		if want, _, _, _, _ := diskSize(int64(size), opts); r.Size() != want {
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
	f, err := os.Create(filepath.Join(t.TempDir(), "x.vhd"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, opts := range []Options{{}, {Fixed: true}, {ForceSize: true}, {Fixed: true, ForceSize: true}} {
		if err := Write(f, hugeSource(2041<<30), opts); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%+v: %v, want ErrTooLarge", opts, err)
		}
	}
	// The limit itself is fine (and costs only a 4 MiB BAT).
	if err := Write(f, hugeSource(2040<<30), Options{}); err != nil {
		t.Errorf("2040 GiB: %v", err)
	}
}

// TestDataRangesSkipFileHoles: the reader reports only what the image
// file holds, so converting it back never reads its holes.
func TestDataRangesSkipFileHoles(t *testing.T) {
	dir := t.TempDir()
	c := rawCase{"sparse", 64 * mib, []piece{{5*mib + 4096, 100, false}}}
	raw := makeRaw(t, dir, c)
	for _, opts := range []Options{{}, {Fixed: true, ForceSize: true}} {
		img := filepath.Join(dir, "s.vhd")
		if err := writeImage(t, raw, img, opts); err != nil {
			t.Fatal(err)
		}
		r := openImage(t, img)
		rs, err := r.DataRanges()
		if err != nil {
			t.Fatal(err)
		}
		var total int64
		for _, rg := range rs {
			total += rg.Len
		}
		if total > 16<<10 {
			t.Errorf("%+v: data ranges %v cover %d bytes of a disk with 100 bytes of data", opts, rs, total)
		}
		checkSameBytes(t, r, raw)
		// Through a plain io.ReaderAt the reader cannot see holes.
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		r2, err := Open(io.NewSectionReader(f, 0, fi.Size()), fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		want := int64(2 * mib) // the one allocated block
		if opts.Fixed {
			want = 64 * mib
		}
		if rs, _ := r2.DataRanges(); len(rs) != 1 || rs[0].Len != want {
			t.Errorf("%+v: data ranges without a file: %v, want %d bytes", opts, rs, want)
		}
		f.Close()
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
