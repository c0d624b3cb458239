package stage

import (
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/testtree"
)

// TestPortableWalk walks a generated tree (xattrs, hard links, special
// files, long names) with the Linux fast paths (O_NOATIME, O_PATH,
// listxattrat/getxattrat) and with the portable fallbacks darwin and
// FreeBSD use: both give the tree that was written.
func TestPortableWalk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "src")
	want, err := testtree.Generate(dir, testtree.Options{Seed: 3, Class: testtree.Small})
	if err != nil {
		t.Fatal(err)
	}
	for _, portable := range []bool{false, true} {
		prev := hostio.SetPortable(portable)
		root, err := Dir(dir, WalkOptions{})
		hostio.SetPortable(prev)
		if err != nil {
			t.Fatalf("portable=%v: %v", portable, err)
		}
		got, err := manifest.FromTree(root)
		if err != nil {
			t.Fatal(err)
		}
		co := manifest.CompareOptions{IgnoreRoot: true, IgnoreAtime: true}
		if d := manifest.Compare(want, got, co); len(d) > 0 {
			t.Errorf("portable=%v: the walk differs from the tree written:\n%s", portable, d)
		}
	}
}
