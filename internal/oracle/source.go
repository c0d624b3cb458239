package oracle

import (
	"io"
	"os"
	"testing"

	"github.com/purefs/purefs/sparse"
)

// RawSource opens the raw image at path as a sparse.Source for the rest
// of the test.
func RawSource(t testing.TB, path string) *sparse.FileSource {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	src, err := sparse.NewFileSource(f)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// OpenImage opens the image file at path for the rest of the test and
// hands it and its size to open, a format's reader.
func OpenImage[T any](t testing.TB, path string, open func(io.ReaderAt, int64) (T, error)) (T, *os.File) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	r, err := open(f, fi.Size())
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	return r, f
}

// ReadAt returns n bytes at off of the file at path.
func ReadAt(t testing.TB, path string, off, n int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}
