package fat

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/stage"
)

// writeWindow writes the tree at src into a new image file through a
// hostio.Window at off, with the fast paths or the portable fallbacks.
func writeWindow(t *testing.T, img, src string, off int64, opts Options, portable bool) {
	t.Helper()
	root, err := stage.Dir(src, stage.WalkOptions{NoXattrs: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(off + opts.Size); err != nil {
		t.Fatal(err)
	}
	prev := hostio.SetPortable(portable)
	defer hostio.SetPortable(prev)
	if err := Write(hostio.Window{F: f, Off: off}, root, opts); err != nil {
		t.Fatal(err)
	}
}

// TestPortableSameBytes: the fast paths and the portable fallbacks give
// the same image.
func TestPortableSameBytes(t *testing.T) {
	src := t.TempDir()
	makeSrcTree(t, src, 50)
	big := bytes.Repeat(pattern(3, 5000), 700) // over the prefetcher's whole reads
	writeSrc(t, src, "big.bin", big, srcTime)
	opts := Options{Size: 600 << 20, Label: "ESP", HasEpoch: true, Epoch: srcTime.Unix()}
	var imgs [2][]byte
	for i, portable := range []bool{false, true} {
		img := filepath.Join(t.TempDir(), "fat.img")
		writeWindow(t, img, src, 1<<20, opts, portable)
		oracle.FsckFat(t, img, 1<<20, opts.Size)
		var err error
		if imgs[i], err = os.ReadFile(img); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(imgs[0], imgs[1]) {
		t.Error("fast paths and portable fallbacks differ")
	}
}

// TestCloneOnXFS builds a FAT32 whose clusters are block-aligned from
// sources on the same XFS with reflinks: the larger files' blocks are
// shared with the sources, and the image is the one a copy gives.
func TestCloneOnXFS(t *testing.T) {
	mnt := oracle.MountXFS(t)
	src := filepath.Join(mnt, "src")
	makeSrcTree(t, src, 20)
	big := bytes.Repeat(pattern(9, 4096), 1100) // 4.4 MiB, not all zeros
	writeSrc(t, src, "EFI/big.efi", big, srcTime)
	opts := Options{Size: 600 << 20, Label: "ESP", HasEpoch: true, Epoch: srcTime.Unix()}
	img := filepath.Join(mnt, "fat.img")
	writeWindow(t, img, src, 1<<20, opts, false)
	oracle.FsckFat(t, img, 1<<20, opts.Size)
	if r := oracle.Run("filefrag", "-v", img); !strings.Contains(r.Stdout, "shared") {
		t.Errorf("no shared extents in the image:\n%s", r.Stdout)
	}
	copied := filepath.Join(t.TempDir(), "fat.img")
	writeWindow(t, copied, src, 1<<20, opts, true)
	a, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(copied)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("the cloned image differs from the copied one")
	}
}
