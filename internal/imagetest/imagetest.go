// Package imagetest holds what the tests and benchmarks of the container
// formats (vdi, vhd, vhdx) share: an in-memory source, sparse raw test
// images, the checks every reader must pass on any input and on a
// written image, and the write, read and qemu-img benchmarks over one
// generated sparse disk. Nothing here is used outside tests.
package imagetest

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

// MemSource is an in-memory sparse.Source, all data.
type MemSource []byte

func (m MemSource) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m).ReadAt(p, off)
}
func (m MemSource) Size() int64 { return int64(len(m)) }
func (m MemSource) DataRanges() ([]sparse.Range, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return []sparse.Range{{Off: 0, Len: int64(len(m))}}, nil
}

// Write is a format's writer: the image of src into dst.
type Write func(dst *os.File, src sparse.Source) error

// Bytes returns the image write makes of src.
func Bytes(t testing.TB, write Write, src sparse.Source) []byte {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "image"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := write(f, src); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Piece is data written at an offset of a raw test image; Zero writes
// explicit zeros (a data range without data).
type Piece struct {
	Off  int64
	N    int
	Zero bool
}

// MakeRaw writes a sparse raw image of size bytes at path: holes but for
// pieces, whose data (never a zero byte) comes from a generator seeded
// with size and seed, so that the same case gives the same bytes.
func MakeRaw(t testing.TB, path string, size int64, seed uint64, pieces []Piece) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(size), seed))
	for _, pc := range pieces {
		b := make([]byte, pc.N)
		if !pc.Zero {
			for i := range b {
				b[i] = byte(rng.Uint32() | 1)
			}
		}
		if _, err := f.WriteAt(b, pc.Off); err != nil {
			t.Fatal(err)
		}
	}
}

// CheckSameBytes reads r fully and compares it with want: the disk may
// be at most maxExtra bytes larger (a format's rounding), its tail past
// want must read as zeros, and every non-zero byte must lie in a data
// range (ranges in order, not overlapping, inside the disk).
func CheckSameBytes(t testing.TB, r sparse.Source, want []byte, maxExtra int64) {
	t.Helper()
	if r.Size() < int64(len(want)) || r.Size()-int64(len(want)) > maxExtra {
		t.Fatalf("virtual size %d for a %d-byte source", r.Size(), len(want))
	}
	got := make([]byte, r.Size())
	if n, err := r.ReadAt(got, 0); n != len(got) || (err != nil && err != io.EOF) {
		t.Fatalf("ReadAt: %d, %v", n, err)
	}
	if !bytes.Equal(got[:len(want)], want) || !sparse.IsZero(got[len(want):]) {
		i := 0
		for i < len(want) && got[i] == want[i] {
			i++
		}
		t.Fatalf("virtual disk differs from the source at byte %d", i)
	}
	rs, err := r.DataRanges()
	if err != nil {
		t.Fatal(err)
	}
	pos := int64(0)
	for _, rg := range rs {
		if rg.Off < pos || rg.Len <= 0 || rg.End() > r.Size() {
			t.Fatalf("bad data ranges %v", rs)
		}
		if !sparse.IsZero(got[pos:rg.Off]) {
			t.Fatalf("data outside the data ranges %v", rs)
		}
		pos = rg.End()
	}
	if !sparse.IsZero(got[pos:]) {
		t.Fatalf("data after the data ranges %v", rs)
	}
}

// CheckReader reads a disk a reader opened from any input, as a fuzzer
// does: its data ranges lie inside the disk, reading them (within a
// budget, the disk may be far larger than the input) fails only at the
// end, and a read across the end stops there.
func CheckReader(t *testing.T, r sparse.Source) {
	t.Helper()
	if r.Size() < 0 {
		t.Fatalf("negative size %d", r.Size())
	}
	rs, err := r.DataRanges()
	if err != nil {
		t.Fatal(err)
	}
	budget := int64(4 << 20)
	buf := make([]byte, 64<<10)
	for _, rg := range rs {
		if rg.Off < 0 || rg.End() > r.Size() {
			t.Fatalf("range %v outside a %d-byte disk", rg, r.Size())
		}
		for off := rg.Off; off < rg.End() && budget > 0; off += int64(len(buf)) {
			n, err := r.ReadAt(buf[:min(int64(len(buf)), rg.End()-off)], off)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			budget -= int64(n)
		}
	}
	if n, err := r.ReadAt(buf, r.Size()-10); r.Size() >= 10 && (n != 10 || err != io.EOF) {
		t.Fatalf("read at the end: %d, %v", n, err)
	}
}

// BenchRaw writes a sparse raw image of size bytes holding about data
// bytes in extents of 64 KiB to 4 MiB (4 KiB-aligned, random bytes, one
// in eight all zeros as a file system's zeroed blocks are), the rest
// holes. PUREFS_HEAVY=1 selects a 1 GiB / 200 MB image.
func BenchRaw(b *testing.B) (path string, dataBytes int64) {
	b.Helper()
	size, data := int64(256<<20), int64(50<<20)
	if os.Getenv("PUREFS_HEAVY") == "1" {
		size, data = 1<<30, 200<<20
	}
	path = filepath.Join(b.TempDir(), "bench.raw")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4<<20)
	for written := int64(0); written < data; {
		n := int64(64<<10) << rng.IntN(7) // 64 KiB .. 4 MiB
		off := rng.Int64N(size-n) &^ 4095
		chunk := buf[:n]
		if rng.IntN(8) == 0 {
			clear(chunk)
		} else {
			for i := 0; i < len(chunk); i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					chunk[i+j] = byte(v >> (8 * j))
				}
			}
		}
		if _, err := f.WriteAt(chunk, off); err != nil {
			b.Fatal(err)
		}
		written += n
	}
	// Flush the new source now, so that its writeback does not land in
	// the timed loop of one tool and not the other.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return path, data
}

// BenchWrite times write over BenchRaw's disk.
func BenchWrite(b *testing.B, write Write) {
	raw, data := BenchRaw(b)
	src := oracle.RawSource(b, raw)
	out := filepath.Join(b.TempDir(), "out")
	b.SetBytes(data)
	for b.Loop() {
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		if err := write(f, src); err != nil {
			b.Fatal(err)
		}
		f.Close()
		removeUntimed(b, out)
	}
}

// BenchQemuImgConvert is the yardstick for BenchWrite: the same disk
// through `qemu-img convert -O format -o opts`.
func BenchQemuImgConvert(b *testing.B, format, opts string) {
	oracle.Need(b, "qemu-img")
	raw, data := BenchRaw(b)
	out := filepath.Join(b.TempDir(), "out")
	b.SetBytes(data)
	for b.Loop() {
		oracle.QemuImgConvert(b, "-f", "raw", "-O", format, "-o", opts, raw, out)
		removeUntimed(b, out)
	}
}

// removeUntimed deletes a tool's output outside the timer, so that no run
// pays for dropping the previous run's pages (qemu-img flushes its output
// before exiting; the writers leave that to the caller).
func removeUntimed(b *testing.B, p string) {
	b.StopTimer()
	if err := os.Remove(p); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
}

// BenchRead converts an image write made of BenchRaw's disk back to raw
// bytes through a reader (open), reading only its data ranges, as
// `purefs convert -O raw` does.
func BenchRead(b *testing.B, write Write, open func(f *os.File, size int64) (sparse.Source, error)) {
	raw, data := BenchRaw(b)
	f, err := os.Create(filepath.Join(b.TempDir(), "img"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := write(f, oracle.RawSource(b, raw)); err != nil {
		b.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(data)
	for b.Loop() {
		r, err := open(f, fi.Size())
		if err != nil {
			b.Fatal(err)
		}
		rs, err := r.DataRanges()
		if err != nil {
			b.Fatal(err)
		}
		for _, rg := range rs {
			for off := rg.Off; off < rg.End(); off += int64(len(buf)) {
				if _, err := r.ReadAt(buf[:min(int64(len(buf)), rg.End()-off)], off); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
