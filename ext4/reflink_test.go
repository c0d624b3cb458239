package ext4

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

// TestReflinkOnXFS builds an image on a loop-mounted XFS with reflink=1
// from a source on the same file system, at an offset, and checks that
// the file's blocks in the image are shared with the source, not copied.
func TestReflinkOnXFS(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting XFS needs root")
	}
	oracle.Need(t, "mkfs.xfs", "mount", "umount", "filefrag")
	dir := t.TempDir()
	xfsImg := filepath.Join(dir, "xfs.img")
	if err := os.WriteFile(xfsImg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(xfsImg, 512<<20); err != nil {
		t.Fatal(err)
	}
	if r := oracle.Run("mkfs.xfs", "-q", "-m", "reflink=1", xfsImg); r.Code != 0 {
		t.Fatalf("mkfs.xfs: %s", r)
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := oracle.Run("mount", "-o", "loop", xfsImg, mnt); r.Code != 0 {
		t.Skipf("cannot mount XFS here: %s", r)
	}
	defer oracle.Run("umount", mnt)
	data := bytes.Repeat([]byte("0123456789abcdef"), (8<<20)/16+100) // 8 MiB and a tail
	src := filepath.Join(mnt, "src.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	root := dir2(tree.Entry{Name: "big", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: int64(len(data)), Source: src}})
	img := filepath.Join(mnt, "disk.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	const off = 1 << 20
	if err := Write(FileWindow{F: f, Off: off}, root, Options{Size: 64 << 20}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	oracle.E2fsckStrict(t, img, off)
	if r := oracle.Run("filefrag", "-v", img); !strings.Contains(r.Stdout, "shared") {
		t.Errorf("no shared extents in the image:\n%s", head(r.Stdout, 20))
	}
	if out := oracle.Debugfs(t, img, off, "cat /big"); len(out) < len(data) {
		t.Errorf("debugfs cat: %d bytes", len(out))
	}
}

func dir2(es ...tree.Entry) *tree.Node { return &tree.Node{Type: tree.Dir, Perm: 0o755, Entries: es} }
