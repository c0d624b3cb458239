package ext4

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/stage"
)

// TestPathsLongerThanPathMax builds a tree whose files sit below a path
// longer than PATH_MAX (4096 bytes): the walk reads it through directory
// descriptors, and so must the writer (sources, attributes).
func TestPathsLongerThanPathMax(t *testing.T) {
	root := filepath.Join(t.TempDir(), "src")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for i := range 20 {
		name := strings.Repeat(string(rune('a'+i)), 240)
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		next, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		unix.Close(fd)
		if err != nil {
			t.Fatal(err)
		}
		fd = next
		rel = append(rel, name)
	}
	defer unix.Close(fd)
	small := []byte("at the bottom\n")
	big := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16+100) // > 1 MiB, not a whole block
	for name, data := range map[string][]byte{"small": small, "big": big} {
		f, err := unix.Openat(fd, name, unix.O_WRONLY|unix.O_CREAT, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(f, data); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fsetxattr(f, "user.deep", []byte("yes"), 0); err != nil {
			unix.Close(f)
			t.Skipf("no user xattrs here: %v", err)
		}
		unix.Close(f)
	}
	if len(root)+20*241 <= unix.PathMax {
		t.Fatal("the tree's paths are not long enough")
	}
	tr, err := stage.Dir(root, stage.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, nz := range []bool{false, true} {
		img := build(t, tr, Options{Size: 64 << 20, NoZeroScan: nz})
		fs, _ := oracle.OpenImage(t, img, Open)
		for name, want := range map[string][]byte{"small": small, "big": big} {
			p := "/" + strings.Join(append(append([]string(nil), rel...), name), "/")
			in, err := fs.Lookup(p)
			if err != nil {
				t.Fatalf("NoZeroScan=%v: %s: %v", nz, name, err)
			}
			got := make([]byte, in.Size)
			if _, err := fs.OpenFile(in).ReadAt(got, 0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("NoZeroScan=%v: %s differs from its source", nz, name)
			}
			if len(in.Xattrs) != 1 || string(in.Xattrs[0].Value) != "yes" {
				t.Errorf("NoZeroScan=%v: %s: xattrs %v", nz, name, in.Xattrs)
			}
		}
	}
}
