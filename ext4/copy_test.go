package ext4

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

// TestCopyOfTreeSameBytes builds from a generated tree and from a copy of
// it made by `cp -a` under another umask (so created in readdir order, not
// the generator's), in another time zone, and wants the same bytes.
func TestCopyOfTreeSameBytes(t *testing.T) {
	oracle.Need(t, "cp")
	a, _, _ := genTree(t, testtree.Options{Seed: 5})
	b := filepath.Join(t.TempDir(), "copy")
	old := syscall.Umask(0o077)
	r := oracle.Run("cp", "-a", a, b)
	syscall.Umask(old)
	if r.Code != 0 {
		t.Fatalf("cp: %s", r)
	}
	t.Setenv("TZ", "Asia/Kathmandu")
	read := func(dir string) *tree.Node {
		root, err := stage.Dir(dir, stage.WalkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Reading a tree moves atimes (relatime), and a copy has its own
		// ctimes: what a copy cannot keep is set from the mtime.
		_ = tree.Walk(root, func(_ string, n *tree.Node) error {
			n.Atime, n.Ctime = n.Mtime, n.Mtime
			return nil
		})
		return root
	}
	opts := Options{Size: 64 << 20, Label: "copy"}
	ia := build(t, read(a), opts)
	ib := build(t, read(b), opts)
	if !sameFile(t, ia, ib) {
		t.Error("a copy of the tree gives different bytes")
	}
	if fi, err := os.Stat(ia); err != nil || fi.Size() != 64<<20 {
		t.Errorf("image size %v, %v", fi, err)
	}
}
