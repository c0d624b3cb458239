package vmdk

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/internal/oracle"
)

// FuzzOpen opens and reads arbitrary bytes as a VMDK: never a panic, and
// allocations bounded by the input's size (Open checks every count and
// offset against it). Seeds: the qemu-made images in testdata and
// images Write makes.
func FuzzOpen(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.vmdk.gz")
	for _, p := range seeds {
		f.Add(oracle.Gunzip(f, p))
	}
	src := make(memSource, 2*grainSize+700)
	copy(src[700:], "purefs")
	copy(src[grainSize+5:], "more")
	f.Add(imagetest.Bytes(f, writeFunc(Options{}), src))
	f.Add(imagetest.Bytes(f, writeFunc(Options{Subformat: StreamOptimized}), src))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if !Detect(data) {
			t.Fatal("opened a file that Detect rejects")
		}
		if !r.Compressed() {
			imagetest.CheckReader(t, r)
			return
		}
		// A compressed grain is checked only when it is read: reading may
		// fail, but only with ErrCorrupt.
		rs, _ := r.DataRanges()
		buf := make([]byte, 64<<10)
		budget := 4 << 20
		for _, rg := range rs {
			if rg.Off < 0 || rg.End() > r.Size() {
				t.Fatalf("range %v outside a %d-byte disk", rg, r.Size())
			}
			for off := rg.Off; off < rg.End() && budget > 0; off += int64(len(buf)) {
				n := min(int64(len(buf)), rg.End()-off)
				if _, err := r.ReadAt(buf[:n], off); err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Fatal(err)
					}
					return
				}
				budget -= int(n)
			}
		}
	})
}
