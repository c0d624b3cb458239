package qcow2

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
)

// benchSource returns the raw image named by $PUREFS_BENCH_IMAGE (for
// instance the one bench/convert.sh makes), or 64 MiB of generated data.
func benchSource(b *testing.B) sparse.Source {
	if p := os.Getenv("PUREFS_BENCH_IMAGE"); p != "" {
		return oracle.RawSource(b, p)
	}
	data := fill(9, 64<<20)
	return &memSource{size: int64(len(data)), chunks: []memChunk{{0, data}}}
}

func benchWrite(b *testing.B, opts Options) {
	src := benchSource(b)
	rs, err := src.DataRanges()
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, r := range rs {
		n += r.Len
	}
	b.SetBytes(n)
	out := filepath.Join(b.TempDir(), "out.qcow2")
	for b.Loop() {
		f, err := os.Create(out)
		if err != nil {
			b.Fatal(err)
		}
		if err := Write(f, src, opts); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

func BenchmarkWritePlain(b *testing.B)   { benchWrite(b, Options{}) }
func BenchmarkWriteDeflate(b *testing.B) { benchWrite(b, Options{Compress: true}) }
func BenchmarkWriteZstd(b *testing.B)    { benchWrite(b, Options{Compress: true, Compression: "zstd"}) }
