package ext4_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/tree"
)

// Write an ext4 file system holding a small tree at an offset of a new
// sparse image file, then read a file back with the package's reader.
func ExampleWrite() {
	dir, err := os.MkdirTemp("", "purefs-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	f, err := os.Create(filepath.Join(dir, "disk.img"))
	if err != nil {
		panic(err)
	}
	defer f.Close()

	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	root := tree.NewDir(0o755)
	etc := tree.NewDir(0o755)
	root.Set("etc", etc)
	motd := []byte("Welcome.\n")
	etc.Set("motd", &tree.Node{Type: tree.Regular, Perm: 0o644, Data: motd, Size: int64(len(motd)), Mtime: t0})
	etc.Set("issue", &tree.Node{Type: tree.Symlink, Perm: 0o777, Target: "motd", Mtime: t0})

	// The file system starts 1 MiB into the image, as a partition would;
	// a FileWindow makes Write punch a hole over it first and copy with
	// the host's fast paths.
	const off, size = 1 << 20, 64 << 20
	opts := ext4.Options{Size: size, Label: "nixos", Epoch: 1700000000, HasEpoch: true}
	if err := ext4.Write(ext4.FileWindow{F: f, Off: off}, root, opts); err != nil {
		panic(err)
	}

	fsys, err := ext4.Open(io.NewSectionReader(f, off, size), size)
	if err != nil {
		panic(err)
	}
	fmt.Println(fsys.Info.Label, fsys.Info.BlockSize, fsys.Info.BlocksCount)
	fi, err := fsys.Lookup("/etc/motd")
	if err != nil {
		panic(err)
	}
	data, err := io.ReadAll(io.NewSectionReader(fsys.OpenFile(fi), 0, int64(fi.Size)))
	fmt.Printf("%o %d %q %v\n", fi.Mode, fi.Size, data, err)
	link, err := fsys.Lookup("/etc/issue")
	if err != nil {
		panic(err)
	}
	// Times after the epoch are clamped to it.
	fmt.Println(link.Target, link.Mtime.UTC())
	// Output:
	// nixos 4096 16384
	// 100644 9 "Welcome.\n" <nil>
	// motd 2023-11-14 22:13:20 +0000 UTC
}

// Need tells the size and inode count a tree needs before anything is
// written.
func ExampleNeed() {
	root := tree.NewDir(0o755)
	for i := range 1000 {
		root.Set(fmt.Sprintf("file-%04d", i), &tree.Node{Type: tree.Regular, Perm: 0o644, Data: []byte("x"), Size: 1})
	}
	size, inodes, err := ext4.Need(root, ext4.Options{})
	fmt.Println(size, inodes, err)
	// Output:
	// 8912896 2176 <nil>
}
