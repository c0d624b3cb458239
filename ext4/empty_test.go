package ext4

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

var (
	testUUID = [16]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}
	testSeed = [16]byte{0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}
)

// build writes root into a new image file of opts.Size bytes and checks
// it with e2fsck -fn.
func build(t testing.TB, root *tree.Node, opts Options) string {
	t.Helper()
	return buildWith(t, func(w FileWindow) error { return Write(w, root, opts) })
}

// buildWith is build with the file system written by write, into a
// window over a new, empty image file.
func buildWith(t testing.TB, write func(FileWindow) error) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fs.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := write(FileWindow{F: f}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	oracle.E2fsckStrict(t, img, 0)
	return img
}

// volatile dumpe2fs -h lines: times, checksums, and what mke2fs counts
// from its own writes.
var volatile = map[string]bool{
	"Filesystem created": true, "Last write time": true, "Last checked": true,
	"Last mount time": true, "Lifetime writes": true, "Checksum": true,
}

func TestEmptyMatchesMke2fs(t *testing.T) {
	for _, tc := range geometrySizes {
		t.Run(tc.name, func(t *testing.T) {
			if tc.size > 1<<30 && testing.Short() {
				t.Skip("large image in -short")
			}
			ref := mke2fsImage(t, tc.size)
			img := build(t, tree.NewDir(0o755), Options{Size: tc.size, UUID: testUUID, HashSeed: testSeed, Label: "ref"})
			want := oracle.Dumpe2fs(t, ref, 0)
			got := oracle.Dumpe2fs(t, img, 0)
			for k, v := range want {
				if volatile[k] {
					continue
				}
				if got[k] != v {
					t.Errorf("dumpe2fs %q: mke2fs %q, ours %q", k, v, got[k])
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok && !volatile[k] {
					t.Errorf("dumpe2fs %q: only ours has it (%q)", k, got[k])
				}
			}
			// Group lines: everything but checksums.
			strip := func(s string) string {
				var out []string
				for _, line := range strings.Split(s, "\n") {
					if i := strings.Index(line, "csum 0x"); i >= 0 {
						line = line[:i]
					}
					out = append(out, line)
				}
				return strings.Join(out, "\n")
			}
			wg := strip(groupsPart(oracle.Run("dumpe2fs", ref).Stdout))
			gg := strip(groupsPart(oracle.Run("dumpe2fs", img).Stdout))
			if wg != gg {
				t.Errorf("group layout differs:\nmke2fs:\n%s\nours:\n%s", head(wg, 40), head(gg, 40))
			}
			for _, ino := range []string{"<2>", "<7>", "<8>", "<11>"} {
				w := extentsPart(oracle.Debugfs(t, ref, 0, "stat "+ino))
				g := extentsPart(oracle.Debugfs(t, img, 0, "stat "+ino))
				if w != g {
					t.Errorf("inode %s blocks: mke2fs\n%s\nours\n%s", ino, head(w, 5), head(g, 5))
				}
			}
		})
	}
}

func groupsPart(s string) string {
	if i := strings.Index(s, "\nGroup 0:"); i >= 0 {
		return s[i:]
	}
	return ""
}

func extentsPart(s string) string {
	for _, k := range []string{"EXTENTS:", "BLOCKS:"} {
		if i := strings.Index(s, k); i >= 0 {
			return s[i:]
		}
	}
	return s
}

func head(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[:n]
	}
	return strings.Join(l, "\n")
}
