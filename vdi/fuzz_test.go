package vdi

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/sparse"
)

// memSource is an in-memory sparse.Source.
type memSource []byte

func (m memSource) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m).ReadAt(p, off)
}
func (m memSource) Size() int64 { return int64(len(m)) }
func (m memSource) DataRanges() ([]sparse.Range, error) {
	if len(m) == 0 {
		return nil, nil
	}
	return []sparse.Range{{Off: 0, Len: int64(len(m))}}, nil
}

// writeMem returns the image Write makes of src.
func writeMem(t testing.TB, src sparse.Source, opts Options) []byte {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "m.vdi"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, src, opts); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzOpen(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.vdi")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	src := make(memSource, 3*512)
	copy(src[700:], "purefs")
	f.Add(writeMem(f, src, Options{}))
	f.Add(writeMem(f, src, Options{Static: true})[:0x400+1024])
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if r.Size() < 0 {
			t.Fatalf("negative size %d", r.Size())
		}
		rs, err := r.DataRanges()
		if err != nil {
			t.Fatal(err)
		}
		// Read the data ranges, within a budget: the virtual disk may be
		// far larger than the file.
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
		// Reads across the end stop there.
		if n, err := r.ReadAt(buf, r.Size()-10); r.Size() >= 10 && (n != 10 || err != io.EOF) {
			t.Fatalf("read at the end: %d, %v", n, err)
		}
	})
}
