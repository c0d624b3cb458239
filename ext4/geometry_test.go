package ext4

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// geometrySizes are the sizes the issue names: small, odd and large sparse.
var geometrySizes = []struct {
	name string
	size int64
}{
	{"8MiB", 8 << 20},
	{"100MiB", 100 << 20},
	{"1000001KiB", 1000001 << 10},
	{"64GiB", 64 << 30},
	{"200GiB", 200 << 30}, // a journal of eight extents, with an extent block
}

// mke2fsImage makes a reference file system with the real mke2fs.
func mke2fsImage(t *testing.T, size int64) string {
	t.Helper()
	oracle.Need(t, "mke2fs")
	img := filepath.Join(t.TempDir(), "ref.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	r := oracle.Run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096",
		"-U", "01234567-89ab-cdef-0123-456789abcdef", "-L", "ref",
		"-E", "hash_seed=11111111-2222-3333-4444-555555555555", img)
	if r.Code != 0 {
		t.Fatalf("mke2fs: %s", r)
	}
	return img
}

var groupLocRe = regexp.MustCompile(`(?m)^Group (\d+):.*\n(?:.*\n)*?  Block bitmap at (\d+).*\n  Inode bitmap at (\d+).*\n  Inode table at (\d+)-`)

func TestGeometryMatchesMke2fs(t *testing.T) {
	for _, tc := range geometrySizes {
		t.Run(tc.name, func(t *testing.T) {
			ref := mke2fsImage(t, tc.size)
			h := oracle.Dumpe2fs(t, ref, 0)
			l, err := Geometry(tc.size, Options{})
			if err != nil {
				t.Fatal(err)
			}
			rgdt := "0"
			if v, ok := h["Reserved GDT blocks"]; ok {
				rgdt = v
			}
			checks := []struct {
				key  string
				ref  string
				ours uint64
			}{
				{"Block count", h["Block count"], l.Blocks},
				{"Inode count", h["Inode count"], uint64(l.Inodes)},
				{"Reserved block count", h["Reserved block count"], l.ReservedBlocks},
				{"Inodes per group", h["Inodes per group"], uint64(l.InodesPerGroup)},
				{"Inode blocks per group", h["Inode blocks per group"], uint64(l.InodeBlocksPerGroup)},
				{"Reserved GDT blocks", rgdt, uint64(l.ReservedGDTBlocks)},
				{"Overhead clusters", h["Overhead clusters"], l.Overhead},
				{"Total journal blocks", h["Total journal blocks"], uint64(l.JournalBlocks)},
			}
			for _, c := range checks {
				if c.ref != strconv.FormatUint(c.ours, 10) {
					t.Errorf("%s: mke2fs %s, ours %d", c.key, c.ref, c.ours)
				}
			}
			full := oracle.Run("dumpe2fs", ref).Stdout
			ms := groupLocRe.FindAllStringSubmatch(full, -1)
			if len(ms) != int(l.Groups) {
				t.Fatalf("dumpe2fs lists %d groups, ours %d", len(ms), l.Groups)
			}
			for _, m := range ms {
				g, _ := strconv.Atoi(m[1])
				bb, _ := strconv.ParseUint(m[2], 10, 64)
				ib, _ := strconv.ParseUint(m[3], 10, 64)
				it, _ := strconv.ParseUint(m[4], 10, 64)
				if bb != l.BlockBitmap[g] || ib != l.InodeBitmap[g] || it != l.InodeTable[g] {
					t.Errorf("group %d: mke2fs bitmaps %d %d table %d, ours %d %d %d", g, bb, ib, it, l.BlockBitmap[g], l.InodeBitmap[g], l.InodeTable[g])
				}
			}
		})
	}
}
