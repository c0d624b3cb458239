package vmdk

import (
	"os"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/sparse"
)

func BenchmarkWrite(b *testing.B) {
	b.Run("monolithicSparse", func(b *testing.B) { imagetest.BenchWrite(b, writeFunc(Options{})) })
	b.Run("streamOptimized", func(b *testing.B) { imagetest.BenchWrite(b, writeFunc(Options{Subformat: StreamOptimized})) })
}

// BenchmarkQemuImgConvert is the yardstick for BenchmarkWrite: the same
// source through `qemu-img convert -O vmdk`.
func BenchmarkQemuImgConvert(b *testing.B) {
	b.Run("monolithicSparse", func(b *testing.B) { imagetest.BenchQemuImgConvert(b, "vmdk", "subformat=monolithicSparse") })
	b.Run("streamOptimized", func(b *testing.B) { imagetest.BenchQemuImgConvert(b, "vmdk", "subformat=streamOptimized") })
}

// BenchmarkRead converts an image made by Write back to raw bytes through
// the Reader, as `purefs convert -O raw` does.
func BenchmarkRead(b *testing.B) {
	open := func(f *os.File, n int64) (sparse.Source, error) { return Open(f, n) }
	b.Run("monolithicSparse", func(b *testing.B) { imagetest.BenchRead(b, writeFunc(Options{}), open) })
	b.Run("streamOptimized", func(b *testing.B) {
		imagetest.BenchRead(b, writeFunc(Options{Subformat: StreamOptimized}), open)
	})
}
