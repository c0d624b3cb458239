package ext4

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path"
	"testing"
	"unicode/utf8"

	goext4 "github.com/masahiro331/go-ext4-filesystem/ext4"

	"github.com/purefs/purefs/tree"
)

// checkSecondReader reads img with github.com/masahiro331/go-ext4-filesystem
// and compares names, types and file contents with the tree.
func checkSecondReader(t *testing.T, img string, root *tree.Node) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := goext4.NewFS(*io.NewSectionReader(f, 0, fi.Size()), nil)
	if err != nil {
		t.Fatalf("go-ext4-filesystem: %v", err)
	}
	seen := 0
	var walk func(dir string, d *tree.Node)
	walk = func(dir string, d *tree.Node) {
		ents, err := fsys.ReadDir(dir)
		if err != nil {
			t.Errorf("go-ext4-filesystem ReadDir %s: %v", dir, err)
			return
		}
		names := map[string]fs.DirEntry{}
		for _, e := range ents {
			names[e.Name()] = e
		}
		for _, e := range d.Entries {
			p := path.Join(dir, e.Name)
			if !utf8.ValidString(p) {
				continue // io/fs paths must be UTF-8
			}
			de, ok := names[e.Name]
			if !ok {
				t.Errorf("go-ext4-filesystem: %s missing", p)
				continue
			}
			seen++
			switch e.Node.Type {
			case tree.Dir:
				if !de.IsDir() {
					t.Errorf("go-ext4-filesystem: %s is not a directory", p)
					continue
				}
				walk(p, e.Node)
			case tree.Regular:
				want := nodeBytes(t, e.Node)
				if len(want) > 64<<20 {
					continue // huge sparse files: the reader reads holes byte by byte
				}
				rf, err := fsys.Open(p)
				if err != nil {
					t.Errorf("go-ext4-filesystem Open %s: %v", p, err)
					continue
				}
				got, err := io.ReadAll(rf)
				rf.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("go-ext4-filesystem: %s content differs (%d bytes, want %d, err %v)", p, len(got), len(want), err)
				}
			}
		}
	}
	walk(".", root)
	if seen == 0 && len(root.Entries) > 0 {
		t.Error("go-ext4-filesystem saw nothing")
	}
}

// nodeBytes returns the content of a regular file node.
func nodeBytes(t *testing.T, n *tree.Node) []byte {
	t.Helper()
	if n.Data != nil {
		return n.Data
	}
	if n.Size > 64<<20 {
		return make([]byte, 64<<20+1)
	}
	if n.Source == "" {
		return []byte{}
	}
	b, err := os.ReadFile(n.Source)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
