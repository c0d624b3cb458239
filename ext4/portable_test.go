package ext4

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/stage"
)

// hostTree writes a tree of small files, large files with and without
// tails and a sparse file with all-zero blocks, and stages it.
func hostTree(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	write := func(name string, data []byte) {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fill := func(n int, seed byte) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*13) ^ seed | 1
		}
		return b
	}
	for i := range 200 {
		write(fmt.Sprintf("small/%03d", i), fill(100+i*97, byte(i)))
	}
	write("large/aligned", fill(3<<20, 1))
	write("large/tail", fill(2<<20+1234, 2))
	write("large/mid", fill(200<<10+5, 3))
	zeros := fill(5<<20, 4)
	clear(zeros[1<<20 : 3<<20])
	write("large/zeros", zeros)
	p := filepath.Join(src, "large/sparse")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(fill(70000, 5), 2<<20)
	f.Truncate(9 << 20)
	f.Close()
	return src
}

// TestPortableSameBytes writes one tree into a window over old data,
// with the host's fast paths (punched holes, pwritev, copy_file_range,
// FICLONERANGE) and with the portable fallbacks that darwin and FreeBSD
// use (zeros written, one pwrite per buffer, buffered copies): the image
// files must be the same bytes, with and without NoZeroScan.
func TestPortableSameBytes(t *testing.T) {
	root, err := stage.Dir(hostTree(t), stage.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, nz := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoZeroScan=%v", nz), func(t *testing.T) {
			opts := Options{Size: 48 << 20, NoZeroScan: nz, HasEpoch: true, Epoch: 1_000_000_000}
			const off = 1 << 20
			var imgs [2][]byte
			for i, portable := range []bool{false, true} {
				img := filepath.Join(t.TempDir(), "disk.img")
				old := bytes.Repeat([]byte{0xa5}, off+40<<20)
				if err := os.WriteFile(img, old, 0o644); err != nil {
					t.Fatal(err)
				}
				f, err := os.OpenFile(img, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				prev := hostio.SetPortable(portable)
				err = Write(FileWindow{F: f, Off: off}, root, opts)
				hostio.SetPortable(prev)
				f.Close()
				if err != nil {
					t.Fatalf("portable=%v: %v", portable, err)
				}
				oracle.E2fsckStrict(t, img, off)
				if imgs[i], err = os.ReadFile(img); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(imgs[0], imgs[1]) {
				t.Errorf("fast paths and portable fallbacks differ, first at byte %d", firstDiff(imgs[0], imgs[1]))
			}
		})
	}
}
