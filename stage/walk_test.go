package stage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/tree"
)

// shape renders a tree with every attribute a walk sets and, for each
// node, the first path it was seen at (so shared nodes show up).
func shape(root *tree.Node) string {
	first := map[*tree.Node]string{}
	var b strings.Builder
	_ = tree.Walk(root, func(p string, n *tree.Node) error {
		if _, ok := first[n]; !ok {
			first[n] = p
		}
		fmt.Fprintf(&b, "%q %v %o %d %q %q same-as=%q\n", p, n.Type, n.Perm, n.Size, n.Source, n.Target, first[n])
		return nil
	})
	return b.String()
}

func TestParallelWalkIsSequentialWalk(t *testing.T) {
	dir := t.TempDir()
	for d := 0; d < 40; d++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", d%7), fmt.Sprintf("e%02d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := 0; f < 5; f++ {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", f)), []byte(sub), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Hard links across directories, made in an order unrelated to
		// the walk's.
		if d > 0 {
			target := filepath.Join(dir, fmt.Sprintf("d%02d", (d*3)%7), fmt.Sprintf("e%02d", (d*13)%d), "f0")
			if _, err := os.Stat(target); err == nil {
				if err := os.Link(target, filepath.Join(sub, "hard")); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	seq, err := Dir(dir, WalkOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := shape(seq)
	if !strings.Contains(want, "/hard") {
		t.Fatal("no hard links made")
	}
	for _, par := range []int{0, 2, 64} {
		for i := 0; i < 5; i++ {
			got, err := Dir(dir, WalkOptions{Parallel: par})
			if err != nil {
				t.Fatal(err)
			}
			if s := shape(got); s != want {
				t.Fatalf("Parallel %d differs from a sequential walk", par)
			}
		}
	}
}

func TestWalkErrors(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads everything")
	}
	dir := t.TempDir()
	files(t, dir, map[string]string{"a/x": "1", "b/y": "2", "c/": ""})
	if err := os.Chmod(filepath.Join(dir, "b/y"), 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "c"), 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(filepath.Join(dir, "c"), 0o755)
	for i := 0; i < 5; i++ {
		_, err := Dir(dir, WalkOptions{})
		if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), filepath.Join(dir, "b/y")) {
			t.Fatalf("Dir = %v, want ErrSource naming b/y (the first bad path)", err)
		}
	}
	if _, err := Dir(filepath.Join(dir, "a/x"), WalkOptions{}); !errors.Is(err, ErrSource) {
		t.Errorf("Dir of a file = %v", err)
	}
}
