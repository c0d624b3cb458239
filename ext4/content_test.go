package ext4

import (
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

// genTree generates a test tree on the host and reads it into a tree.
func genTree(t testing.TB, opts testtree.Options) (string, *tree.Node, *manifest.Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	want, err := testtree.Generate(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	root, err := stage.Dir(dir, stage.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return dir, root, want
}

// expect is a manifest to compare a mounted file system with.
type expect struct {
	want *manifest.Manifest
	co   manifest.CompareOptions
}

// checkMounted mounts img and compares it with each expectation.
func checkMounted(t *testing.T, img string, off int64, exps ...expect) {
	t.Helper()
	checkMountedOpts(t, img, off, manifest.Options{}, exps...)
}

// checkMountedOpts is checkMounted reading the mount with mo.
func checkMountedOpts(t *testing.T, img string, off int64, mo manifest.Options, exps ...expect) {
	t.Helper()
	mnt := oracle.Mount(t, img, off, "ext4")
	got, err := manifest.FromDir(mnt, mo)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range exps {
		compareManifest(t, e.want, got, e.co)
	}
}

func compareManifest(t *testing.T, want, got *manifest.Manifest, co manifest.CompareOptions) {
	t.Helper()
	co.IgnoreLostFound = true
	if want.Lookup("/lost+found") == nil {
		// The file system adds lost+found: one more link on the root.
		w := *want
		w.Entries = append([]manifest.Entry(nil), want.Entries...)
		for i := range w.Entries {
			if w.Entries[i].Path == "/" {
				w.Entries[i].Nlink++
			}
		}
		want = &w
	}
	if d := manifest.Compare(want, got, co); len(d) > 0 {
		t.Errorf("mounted file system differs from the source:\n%s", d)
	}
}

func TestContent(t *testing.T) {
	cases := []struct {
		name   string
		opts   testtree.Options
		size   int64
		noZero bool
	}{
		{"tiny", testtree.Options{Seed: 1}, 64 << 20, false},
		{"small", testtree.Options{Seed: 2, Class: testtree.Small}, 256 << 20, false},
		{"small-no-zero-scan", testtree.Options{Seed: 2, Class: testtree.Small}, 256 << 20, true},
		{"medium", testtree.Options{Seed: 3, Class: testtree.Medium}, 512 << 20, false},
		{"huge", testtree.Options{Seed: 4, Huge: true}, 64 << 20, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && tc.name == "huge" {
				t.Skip("-short")
			}
			_, root, want := genTree(t, tc.opts)
			img := build(t, root, Options{Size: tc.size, NoZeroScan: tc.noZero})
			// Hashing the > 4 GiB sparse file through the kernel takes
			// long: the huge tree is compared without contents.
			mo := manifest.Options{NoContent: tc.opts.Huge}
			exact, err := manifest.FromTree(root, mo)
			if err != nil {
				t.Fatal(err)
			}
			// Reading symlinks on the host moves their atimes: the
			// generator's own record is compared without them.
			exps := []expect{{exact, manifest.CompareOptions{}}}
			if !tc.opts.Huge {
				exps = append(exps, expect{want, manifest.CompareOptions{IgnoreAtime: true}})
			}
			checkMountedOpts(t, img, 0, mo, exps...)
			if tc.name == "tiny" {
				checkSecondReader(t, img, root) // slow on larger trees
			}
		})
	}
}
