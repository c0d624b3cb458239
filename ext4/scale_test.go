package ext4

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

// storeDir builds one directory of n entries named like /nix/store paths.
func storeDir(n int) *tree.Node {
	d := &tree.Node{Type: tree.Dir, Perm: 0o755}
	d.Entries = make([]tree.Entry, n)
	empty := &tree.Node{Type: tree.Regular, Perm: 0o444}
	for i := range n {
		h := sha256.Sum256([]byte(fmt.Sprint(i)))
		name := hex.EncodeToString(h[:16]) + fmt.Sprintf("-package-%d", i)
		// Hard links to one empty file keep the inode tables small.
		d.Entries[i] = tree.Entry{Name: name, Node: empty}
		if i%maxLinks == maxLinks-1 {
			empty = &tree.Node{Type: tree.Regular, Perm: 0o444}
		}
	}
	d.Sort()
	return d
}

// TestManyEntriesOneDir writes 500k names into one directory (a three-level
// htree is not needed until about 20 million) and has e2fsck check it.
func TestManyEntriesOneDir(t *testing.T) {
	if testing.Short() {
		t.Skip("500k entries: not in -short")
	}
	root := &tree.Node{Type: tree.Dir, Perm: 0o755, Entries: []tree.Entry{{Name: "store", Node: storeDir(500000)}}}
	img := t.TempDir() + "/many.img"
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if err := Write(FileWindow{F: f}, root, Options{Size: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote 500k entries in %v", time.Since(start)) // informational only
	oracle.E2fsckStrict(t, img, 0)
	mnt := oracle.Mount(t, img, 0, "ext4")
	for _, e := range root.Entries[0].Node.Entries[:1000] {
		if _, err := os.Lstat(mnt + "/store/" + e.Name); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(mnt + "/store")
	if err != nil || len(ents) != 500000 {
		t.Fatalf("readdir: %d entries, %v", len(ents), err)
	}
}

// TestFileNear16TiB writes a sparse file whose data lies beyond logical
// block 2^31, near the 2^32-block limit.
func TestFileNear16TiB(t *testing.T) {
	if testing.Short() {
		t.Skip("very large sparse file: not in -short")
	}
	src := t.TempDir() + "/sparse"
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	const size = 16<<40 - 2*BlockSize
	if err := f.Truncate(size); err != nil {
		f.Close()
		t.Skipf("host cannot hold a %d-byte sparse file: %v", int64(size), err)
	}
	for _, off := range []int64{0, 5 << 30, size - BlockSize - 100} {
		if _, err := f.WriteAt([]byte("data at the far end"), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	root := &tree.Node{Type: tree.Dir, Perm: 0o755, Entries: []tree.Entry{{Name: "far", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: size, Source: src}}}}
	img := build(t, root, Options{Size: 64 << 20})
	out := oracle.Debugfs(t, img, 0, "stat /far")
	if !strings.Contains(out, fmt.Sprintf("Size: %d", int64(size))) || !strings.Contains(out, "Blockcount: 24") {
		t.Errorf("debugfs stat:\n%s", head(out, 20))
	}
	if got := oracle.Debugfs(t, img, 0, "ex /far"); !strings.Contains(got, "4294967292") {
		t.Errorf("extents:\n%s", got)
	}
}

// TestThreeLevelHtree fills one directory past two index levels (about
// 3.9 million 255-byte names), which needs large_dir. Heavy: only with
// PUREFS_HEAVY=1.
func TestThreeLevelHtree(t *testing.T) {
	if os.Getenv("PUREFS_HEAVY") != "1" {
		t.Skip("about 4 GB of memory and disk: set PUREFS_HEAVY=1")
	}
	const n = 3_950_000
	d := &tree.Node{Type: tree.Dir, Perm: 0o755, Entries: make([]tree.Entry, n)}
	var node *tree.Node
	pad := strings.Repeat("x", 255-8)
	for i := range n {
		if i%maxLinks == 0 {
			node = &tree.Node{Type: tree.Regular, Perm: 0o444}
		}
		d.Entries[i] = tree.Entry{Name: fmt.Sprintf("%08d", i) + pad, Node: node}
	}
	root := &tree.Node{Type: tree.Dir, Perm: 0o755, Entries: []tree.Entry{{Name: "d", Node: d}}}
	img := build(t, root, Options{Size: 8 << 30})
	if h := oracle.Dumpe2fs(t, img, 0); !strings.Contains(h["Filesystem features"], "large_dir") {
		t.Errorf("features: %s", h["Filesystem features"])
	}
	// dx_root_info at 0x18 of block 0: hash_version 1, info_length 8,
	// indirect_levels 2.
	if out := oracle.Debugfs(t, img, 0, "bd -f /d 0"); !strings.Contains(head(out, 3), "0108 0200") {
		t.Errorf("dx_root:\n%s", head(out, 4))
	}
	mnt := oracle.Mount(t, img, 0, "ext4")
	for _, i := range []int{0, 1234567, n - 1} {
		if _, err := os.Lstat(fmt.Sprintf("%s/d/%08d%s", mnt, i, pad)); err != nil {
			t.Error(err)
		}
	}
}
