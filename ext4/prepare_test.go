package ext4

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/tree"
)

// writeImage writes a file system into a new image file by write and
// returns its bytes, checked by e2fsck.
func writeImage(t *testing.T, write func(FileWindow) error) []byte {
	t.Helper()
	b, err := os.ReadFile(buildWith(t, write))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openFds counts this process's open descriptors.
func openFds(t *testing.T) int {
	t.Helper()
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	return len(es)
}

// TestPrepare: Prepare then Write makes the bytes Write makes, also when
// the tree fits only by its holes (Prepare then reads the sources twice);
// Prepare fails where Check does; Close releases every source it opened;
// a Prepared is written once.
func TestPrepare(t *testing.T) {
	_, root, _ := genTree(t, testtree.Options{Seed: 8, Class: testtree.Small})
	for _, nz := range []bool{false, true} {
		opts := Options{Size: 256 << 20, NoZeroScan: nz}
		want := writeImage(t, func(w FileWindow) error { return Write(w, root, opts) })
		p, err := Prepare(root, opts)
		if err != nil {
			t.Fatal(err)
		}
		got := writeImage(t, func(w FileWindow) error { return p.Write(w) })
		if !bytes.Equal(got, want) {
			t.Errorf("NoZeroScan=%v: Prepare+Write differs from Write, first at byte %d", nz, firstDiff(got, want))
		}
		if err := p.Write(FileWindow{F: os.Stdout}); err == nil {
			t.Errorf("a second Write of one Prepared succeeded")
		}
		p.Close()
	}

	// A tree that fits only because a 12 MiB source is all zeros.
	zeros := filepath.Join(t.TempDir(), "zeros")
	if err := os.WriteFile(zeros, make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	tight := dir(tree.Entry{Name: "f", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: 12 << 20, Source: zeros}},
		tree.Entry{Name: "g", Node: file(bytes.Repeat([]byte{7}, 3<<20))})
	opts := Options{Size: 8 << 20}
	want := writeImage(t, func(w FileWindow) error { return Write(w, tight, opts) })
	got := writeImage(t, func(w FileWindow) error {
		p, err := Prepare(tight, opts)
		if err != nil {
			return err
		}
		return p.Write(w)
	})
	if !bytes.Equal(got, want) {
		t.Errorf("tight tree: Prepare+Write differs from Write, first at byte %d", firstDiff(got, want))
	}

	for _, tc := range []struct {
		name string
		root *tree.Node
		want error
	}{
		{"full", dir(tree.Entry{Name: "f", Node: file(bytes.Repeat([]byte{1}, 9<<20))}), ErrNoSpace},
		{"nosource", dir(tree.Entry{Name: "f", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: 10}}), ErrTree},
		{"xattr", dir(tree.Entry{Name: "f", Node: &tree.Node{Type: tree.Regular, Perm: 0o644,
			Xattrs: []tree.Xattr{{Name: "user.big", Value: make([]byte, 8000)}}}}), ErrXattr},
	} {
		p, err := Prepare(tc.root, opts)
		if !errors.Is(err, tc.want) || p != nil {
			t.Errorf("%s: Prepare: %v, want %v", tc.name, err, tc.want)
		}
		if cerr := Check(tc.root, opts); !errors.Is(cerr, tc.want) || cerr.Error() != err.Error() {
			t.Errorf("%s: Check: %v, Prepare: %v", tc.name, cerr, err)
		}
	}

	// Close after the sources are being read leaves no descriptor open.
	before := openFds(t)
	for range 3 {
		p, err := Prepare(root, Options{Size: 256 << 20})
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
		p.Close()
	}
	if after := openFds(t); after != before {
		t.Errorf("%d descriptors open before Prepare and Close, %d after", before, after)
	}
}
