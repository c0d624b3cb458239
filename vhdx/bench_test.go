package vhdx

import (
	"os"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/sparse"
)

func BenchmarkWrite(b *testing.B) {
	b.Run("dynamic", func(b *testing.B) { imagetest.BenchWrite(b, writer(Options{})) })
	b.Run("fixed", func(b *testing.B) { imagetest.BenchWrite(b, writer(Options{Fixed: true})) })
}

// BenchmarkQemuImgConvert is the yardstick for BenchmarkWrite: the same
// source through `qemu-img convert -O vhdx`.
func BenchmarkQemuImgConvert(b *testing.B) {
	b.Run("dynamic", func(b *testing.B) { imagetest.BenchQemuImgConvert(b, "vhdx", "subformat=dynamic") })
	b.Run("fixed", func(b *testing.B) { imagetest.BenchQemuImgConvert(b, "vhdx", "subformat=fixed") })
}

// BenchmarkRead converts an image made by Write back to raw bytes through
// the Reader, as `purefs convert -O raw` does.
func BenchmarkRead(b *testing.B) {
	imagetest.BenchRead(b, writer(Options{}), func(f *os.File, n int64) (sparse.Source, error) { return Open(f, n) })
}
