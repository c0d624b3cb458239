package oracle

import (
	"os"
	"testing"

	"github.com/purefs/purefs/internal/sparse"
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
