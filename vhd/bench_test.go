package vhd

import (
	"os"
	"testing"

	"github.com/purefs/purefs/internal/imagetest"
	"github.com/purefs/purefs/sparse"
)

// writer is Write with opts, for the shared harnesses.
func writer(opts Options) imagetest.Write {
	return func(f *os.File, src sparse.Source) error { return Write(f, src, opts) }
}

func BenchmarkWrite(b *testing.B) {
	b.Run("dynamic", func(b *testing.B) { imagetest.BenchWrite(b, writer(Options{})) })
	b.Run("fixed-force", func(b *testing.B) { imagetest.BenchWrite(b, writer(Options{Fixed: true, ForceSize: true})) })
}

// BenchmarkQemuImgConvert is the yardstick for BenchmarkWrite: the same
// source through `qemu-img convert -O vpc`.
func BenchmarkQemuImgConvert(b *testing.B) {
	b.Run("dynamic", func(b *testing.B) { imagetest.BenchQemuImgConvert(b, "vpc", "subformat=dynamic") })
	b.Run("fixed-force", func(b *testing.B) {
		imagetest.BenchQemuImgConvert(b, "vpc", "subformat=fixed,force_size=on")
	})
}

// BenchmarkRead converts an image made by Write back to raw bytes through
// the Reader, as `purefs convert -O raw` does.
func BenchmarkRead(b *testing.B) {
	imagetest.BenchRead(b, writer(Options{}), func(f *os.File, n int64) (sparse.Source, error) { return Open(f, n) })
}
