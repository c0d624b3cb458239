package oracle

import (
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// Gunzip returns the uncompressed contents of the gzip file at path, a
// test's golden image.
func Gunzip(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
