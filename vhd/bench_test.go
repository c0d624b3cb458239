package vhd

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/sparse"
)

// benchRaw writes a sparse raw image of size bytes holding about data
// bytes in extents of 64 KiB to 4 MiB (4 KiB-aligned, random bytes, one
// in eight all zeros as a file system's zeroed blocks are), the rest
// holes. PUREFS_HEAVY=1 selects the 1 GiB / 200 MB image.
func benchRaw(b *testing.B) (path string, dataBytes int64) {
	b.Helper()
	size, data := int64(256<<20), int64(50<<20)
	if os.Getenv("PUREFS_HEAVY") == "1" {
		size, data = 1<<30, 200<<20
	}
	path = filepath.Join(b.TempDir(), "bench.raw")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4<<20)
	for written := int64(0); written < data; {
		n := int64(64<<10) << rng.IntN(7) // 64 KiB .. 4 MiB
		off := rng.Int64N(size-n) &^ 4095
		chunk := buf[:n]
		if rng.IntN(8) == 0 {
			clear(chunk)
		} else {
			for i := 0; i < len(chunk); i += 8 {
				v := rng.Uint64()
				for j := range 8 {
					chunk[i+j] = byte(v >> (8 * j))
				}
			}
		}
		if _, err := f.WriteAt(chunk, off); err != nil {
			b.Fatal(err)
		}
		written += n
	}
	// Flush the new source now, so that its writeback does not land in
	// the timed loop of one tool and not the other.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return path, data
}

func BenchmarkWrite(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts Options
	}{{"dynamic", Options{}}, {"fixed-force", Options{Fixed: true, ForceSize: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			raw, data := benchRaw(b)
			in, err := os.Open(raw)
			if err != nil {
				b.Fatal(err)
			}
			defer in.Close()
			src, err := sparse.NewFileSource(in)
			if err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(b.TempDir(), "out.vhd")
			b.SetBytes(data)
			for b.Loop() {
				f, err := os.Create(out)
				if err != nil {
					b.Fatal(err)
				}
				if err := Write(f, src, bc.opts); err != nil {
					b.Fatal(err)
				}
				f.Close()
				removeUntimed(b, out)
			}
		})
	}
}

// BenchmarkQemuImgConvert is the yardstick for BenchmarkWrite: the same
// source through `qemu-img convert -O vpc`.
func BenchmarkQemuImgConvert(b *testing.B) {
	oracle.Need(b, "qemu-img")
	for _, bc := range []struct{ name, o string }{
		{"dynamic", "subformat=dynamic"}, {"fixed-force", "subformat=fixed,force_size=on"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			raw, data := benchRaw(b)
			out := filepath.Join(b.TempDir(), "out.vhd")
			b.SetBytes(data)
			for b.Loop() {
				oracle.QemuImgConvert(b, "-f", "raw", "-O", "vpc", "-o", bc.o, raw, out)
				removeUntimed(b, out)
			}
		})
	}
}

// removeUntimed deletes a tool's output outside the timer, so that no run
// pays for dropping the previous run's pages (qemu-img flushes its output
// before exiting; Write leaves that to the caller).
func removeUntimed(b *testing.B, p string) {
	b.StopTimer()
	if err := os.Remove(p); err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
}

// BenchmarkRead converts an image made by Write back to raw bytes through
// the Reader, reading only its data ranges, as `purefs convert -O raw`
// does.
func BenchmarkRead(b *testing.B) {
	raw, data := benchRaw(b)
	img := filepath.Join(b.TempDir(), "img")
	in, err := os.Open(raw)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	src, err := sparse.NewFileSource(in)
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := Write(f, src, Options{}); err != nil {
		b.Fatal(err)
	}
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	b.SetBytes(data)
	for b.Loop() {
		r, err := Open(f, fi.Size())
		if err != nil {
			b.Fatal(err)
		}
		rs, err := r.DataRanges()
		if err != nil {
			b.Fatal(err)
		}
		for _, rg := range rs {
			for off := rg.Off; off < rg.End(); off += int64(len(buf)) {
				if _, err := r.ReadAt(buf[:min(int64(len(buf)), rg.End()-off)], off); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}
