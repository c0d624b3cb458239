package ext4

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
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
