package fat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/tree"
)

// mkfsInvariant is what mkfs.fat --invariant uses for the volume ID and
// the label's time stamp.
const (
	mkfsInvariantID   = 0x1234abcd
	mkfsInvariantTime = 1426325213
)

// writeImage writes root into a new sparse file of opts.Size bytes.
func writeImage(t testing.TB, root *tree.Node, opts Options) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fat.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(opts.Size); err != nil {
		t.Fatal(err)
	}
	if err := Write(f, root, opts); err != nil {
		t.Fatal(err)
	}
	return img
}

// compareWithMkfs compares our image with mkfs.fat's byte for byte, except
// for the OEM name and boot code of the boot sector and its backup.
func compareWithMkfs(t *testing.T, ours, theirs string, fatType int) {
	t.Helper()
	a, err := os.Open(ours)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.Open(theirs)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	sa, _ := a.Stat()
	sb, _ := b.Stat()
	if sa.Size() != sb.Size() {
		t.Fatalf("size %d, mkfs.fat %d", sa.Size(), sb.Size())
	}
	code := 0x3e
	if fatType == 32 {
		code = 0x5a
	}
	boot := map[int64]bool{0: true}
	if fatType == 32 {
		boot[6*512] = true
	}
	// Outside both files' data ranges both read as zeros.
	ra, err := sparse.DataRanges(a, sa.Size())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := sparse.DataRanges(b, sb.Size())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(ra, rb...) {
		for off := r.Off; off < r.End(); off += 1 << 20 {
			n := min(1<<20, r.End()-off)
			ba, bb := oracle.ReadAt(t, ours, off, n), oracle.ReadAt(t, theirs, off, n)
			if bytes.Equal(ba, bb) {
				continue
			}
			for i := int64(0); i < n; i++ {
				pos := off + i
				if ba[i] == bb[i] {
					continue
				}
				sec := pos &^ 511
				in := pos - sec
				if boot[sec] && ((in >= 3 && in < 11) || (in >= int64(code) && in < 0x1fe)) {
					continue
				}
				t.Fatalf("byte %d (0x%x, sector %d +0x%x): ours %02x, mkfs.fat %02x", pos, pos, pos/512, in, ba[i], bb[i])
			}
		}
	}
	sameBootSector(t, "boot sector", oracle.ReadAt(t, ours, 0, 512), oracle.ReadAt(t, theirs, 0, 512))
}

// The sizes of the issue: 1 MiB, 32 MiB, 236 MiB (make-disk-image.nix's ESP), 1 GiB
// and 8 GiB, in mkfs.fat's default type and forced FAT32, with and without
// a label.
func TestEmptyMatchesMkfs(t *testing.T) {
	for _, size := range []int64{1 << 20, 32 << 20, 236 << 20, 1 << 30, 8 << 30} {
		for _, ft := range []int{0, 32} {
			for _, label := range []string{"", "ESP"} {
				t.Run(fmt.Sprintf("%dM-F%d-%q", size>>20, ft, label), func(t *testing.T) {
					theirs := mkfsFat(t, size, ft, label)
					if theirs == "" {
						t.Fatalf("mkfs.fat refused")
					}
					opts := Options{Size: size, FATType: ft, Label: label, VolumeID: mkfsInvariantID, HasVolumeID: true, Epoch: mkfsInvariantTime, HasEpoch: true}
					if g, _ := ComputeGeometry(size, ft); g.FATType == 32 && g.Clusters < minClust32 {
						if err := Write(nil, tree.NewDir(0o755), opts); !errors.Is(err, ErrType) {
							t.Fatalf("FAT32 of %d clusters: error %v, want ErrType", g.Clusters, err)
						}
						return
					}
					ours := writeImage(t, tree.NewDir(0o755), opts)
					g, _ := ComputeGeometry(size, ft)
					compareWithMkfs(t, ours, theirs, g.FATType)
					oracle.FsckFat(t, ours, 0, 0)
				})
			}
		}
	}
}
