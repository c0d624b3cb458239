package vhd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/sparse"
)

// memSource is an in-memory sparse.Source.
type memSource = imagetest.MemSource

// writeMem returns the image Write makes of src.
func writeMem(t testing.TB, src sparse.Source, opts Options) []byte {
	t.Helper()
	return imagetest.Bytes(t, writer(opts), src)
}

func FuzzOpen(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.vhd")
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
	f.Add(writeMem(f, src, Options{Fixed: true}))
	f.Add(writeMem(f, src, Options{ForceSize: true, Timestamp: 1 << 31}))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if !r.Fixed() && !Detect(data) && !DetectFooter(data[len(data)-512:]) {
			t.Fatal("opened a dynamic disk that Detect and DetectFooter reject")
		}
		imagetest.CheckReader(t, r)
	})
}
