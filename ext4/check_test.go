package ext4

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/tree"
)

// TestCheckSpace: Check finds a tree that does not fit without writing,
// and counts holes and all-zero blocks as Write does.
func TestCheckSpace(t *testing.T) {
	zeros := filepath.Join(t.TempDir(), "zeros")
	if err := os.WriteFile(zeros, make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	fromSource := &tree.Node{Type: tree.Regular, Perm: 0o644, Size: 12 << 20, Source: zeros}
	noSource := &tree.Node{Type: tree.Regular, Perm: 0o644, Size: 10}
	opts := Options{Size: 8 << 20}
	for _, tc := range []struct {
		name string
		root *tree.Node
		want error
	}{
		{"full", dir(tree.Entry{Name: "f", Node: file(bytes.Repeat([]byte{1}, 9<<20))}), ErrNoSpace},
		{"nosource", dir(tree.Entry{Name: "f", Node: noSource}), ErrTree},
		{"zeros", dir(tree.Entry{Name: "f", Node: fromSource}, tree.Entry{Name: "g", Node: file(make([]byte, 9<<20))}), nil},
	} {
		if err := Check(tc.root, opts); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: Check: %v, want %v", tc.name, err, tc.want)
		}
	}
}
