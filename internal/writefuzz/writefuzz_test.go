// Package writefuzz fuzzes the file-system writers end to end: trees built
// from fuzz input are written as ext4 and FAT images, which e2fsck and
// fsck.fat must find clean whenever the writer accepts the tree.
package writefuzz

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

// treeFrom builds a tree from in: each step takes a name length, a kind
// and that many name bytes. fatSafe keeps to directories and regular files.
func treeFrom(in []byte, fatSafe bool) *tree.Node {
	t0 := time.Unix(1700000000, 0)
	root := &tree.Node{Type: tree.Dir, Perm: 0o755, Mtime: t0, Atime: t0, Ctime: t0}
	dirs := []*tree.Node{root}
	for i := 0; i+2 < len(in) && len(dirs) < 64; {
		n, kind := int(in[i]%24)+1, in[i+1]
		i += 2
		if i+n > len(in) {
			break
		}
		name := string(in[i : i+n])
		i += n
		parent := dirs[int(kind)%len(dirs)]
		var node *tree.Node
		switch k := kind % 6; {
		case k == 0 || k == 1:
			node = &tree.Node{Type: tree.Dir, Perm: 0o755}
		case k == 2 && !fatSafe:
			node = &tree.Node{Type: tree.Symlink, Perm: 0o777, Target: name}
		case k == 3 && !fatSafe:
			node = &tree.Node{Type: tree.Regular, Perm: 0o600, Data: in[:i], Xattrs: []tree.Xattr{{Name: "user.f", Value: in[:min(i, 300)]}}}
		default:
			node = &tree.Node{Type: tree.Regular, Perm: 0o644, Data: in[i/2 : i]}
		}
		if node.Type == tree.Regular {
			node.Size = int64(len(node.Data))
		}
		node.Mtime, node.Atime, node.Ctime = t0, t0, t0
		if parent.Lookup(name) != nil {
			continue
		}
		parent.Set(name, node)
		if node.Type == tree.Dir {
			dirs = append(dirs, node)
		}
	}
	return root
}

func FuzzWriters(f *testing.F) {
	f.Add([]byte("\x03\x00boot\x04\x04a.txt\x0a\x01EFI-systemd\x04\x05b.cfg\x06\x02symlink"))
	f.Add([]byte("\x16\x04a very long file name.txt\x01\x00\xc3\xa9\x00\x04x"))
	f.Add([]byte("\x00\x00a\x00\x00A\x00\x05b\x00\x05B\x0c\x03file number 1\x0c\x03file number 2"))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096 {
			return
		}
		dir := t.TempDir()
		img := filepath.Join(dir, "ext4.img")
		if err := os.WriteFile(img, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(img, 16<<20); err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(img, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		err = ext4.Write(ext4.FileWindow{F: out}, treeFrom(in, false), ext4.Options{Size: 16 << 20, Epoch: 1700000000, HasEpoch: true})
		out.Close()
		switch {
		case err == nil:
			oracle.E2fsck(t, img, 0)
		case !errors.Is(err, ext4.ErrName) && !errors.Is(err, ext4.ErrNoSpace) && !errors.Is(err, ext4.ErrXattr) && !errors.Is(err, ext4.ErrTree):
			t.Fatalf("ext4: unexpected error: %v", err)
		}

		fimg := filepath.Join(dir, "fat.img")
		fout, err := os.Create(fimg)
		if err != nil {
			t.Fatal(err)
		}
		if err := fout.Truncate(8 << 20); err != nil {
			t.Fatal(err)
		}
		err = fat.Write(fout, treeFrom(in, true), fat.Options{Size: 8 << 20, Epoch: 1700000000, HasEpoch: true})
		fout.Close()
		switch {
		case err == nil:
			oracle.FsckFat(t, fimg, 0, 0)
		case !errors.Is(err, fat.ErrName) && !errors.Is(err, fat.ErrNoSpace):
			t.Fatalf("fat: unexpected error: %v", err)
		}
	})
}
