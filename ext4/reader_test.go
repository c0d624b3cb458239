package ext4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

// readerSourceTree makes a small tree with the cases the reader must get
// right: sparse and multi-extent files, long and short symlinks, hard links,
// devices, xattrs in the inode and in a block, a multi-block directory.
func readerSourceTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(name string, data []byte, perm os.FileMode) {
		p := filepath.Join(dir, name)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, perm))
		must(os.Chmod(p, perm))
	}
	write("empty", nil, 0o644)
	write("one", []byte("x"), 0o600)
	big := bytes.Repeat([]byte("purefs reader "), 100000)
	write("sub/big", big, 0o755)
	write("suid", []byte("s"), 0o4755|os.ModeSetuid)
	must(os.Chmod(filepath.Join(dir, "suid"), 0o755|os.ModeSetuid|os.ModeSticky))
	// A sparse file with data at 0, 1 MiB and its end: several extents.
	f, err := os.Create(filepath.Join(dir, "sparse"))
	must(err)
	for _, off := range []int64{0, 1 << 20, 5<<20 - 3} {
		_, err := f.WriteAt([]byte("abc"), off)
		must(err)
	}
	must(f.Close())
	must(os.Symlink("short", filepath.Join(dir, "link-short")))
	must(os.Symlink(strings.Repeat("long/", 200), filepath.Join(dir, "link-long")))
	must(os.Link(filepath.Join(dir, "one"), filepath.Join(dir, "sub/one-again")))
	for i := 0; i < 300; i++ {
		write(fmt.Sprintf("many/entry-with-a-longish-name-%04d", i), nil, 0o644)
	}
	if os.Geteuid() == 0 {
		must(testtree.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, unix.Mkdev(1, 3)))
		must(testtree.Mknod(filepath.Join(dir, "bigdev"), unix.S_IFBLK|0o600, unix.Mkdev(259, 70000)))
		must(os.Chown(filepath.Join(dir, "one"), 70000, 1234))
	}
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	must(unix.Setxattr(filepath.Join(dir, "one"), "user.small", []byte("v"), 0))
	must(unix.Setxattr(filepath.Join(dir, "sub/big"), "user.large", bytes.Repeat([]byte{'L'}, 2000), 0))
	return dir
}

func TestReaderAgainstMke2fs(t *testing.T) {
	oracle.Need(t, "mke2fs")
	src := readerSourceTree(t)
	img := filepath.Join(t.TempDir(), "fs.img")
	r := oracle.Run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "readertest",
		"-U", "2f9a4b1c-1111-4222-8333-944455556666", "-d", src, img, "32M")
	if r.Code != 0 {
		t.Fatal(r)
	}
	oracle.E2fsck(t, img, 0)
	fs := openImage(t, img)
	if fs.Info.Label != "readertest" || fmt.Sprintf("%x", fs.Info.UUID[:4]) != "2f9a4b1c" {
		t.Errorf("label %q uuid %x", fs.Info.Label, fs.Info.UUID)
	}
	want, err := stage.Dir(src, stage.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	compareWithTree(t, fs, want)
}

func openImage(t *testing.T, img string) *FS {
	t.Helper()
	fs, _ := oracle.OpenImage(t, img, Open)
	return fs
}

// compareWithTree checks that every entry of want is in fs with the same
// type, mode, owner, size, mtime, content, target, device and xattrs.
func compareWithTree(t *testing.T, fs *FS, want *tree.Node) {
	t.Helper()
	got := map[string]*FileInfo{}
	if err := fs.Walk(func(p string, f *FileInfo) error {
		got[p] = f
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	inodes := map[*tree.Node]uint32{}
	err := tree.Walk(want, func(p string, n *tree.Node) error {
		if p == "/" {
			return nil
		}
		g := got[p]
		if g == nil {
			t.Errorf("%s: missing", p)
			return nil
		}
		delete(got, p)
		if ino, ok := inodes[n]; ok && ino != g.Ino {
			t.Errorf("%s: hard link to inode %d, want %d", p, g.Ino, ino)
		}
		inodes[n] = g.Ino
		if g.Mode&07777 != uint16(n.Perm) || g.UID != n.UID || g.GID != n.GID {
			t.Errorf("%s: mode %o uid %d gid %d, want %o %d %d", p, g.Mode&07777, g.UID, g.GID, n.Perm, n.UID, n.GID)
		}
		// mke2fs -d keeps whole seconds only.
		if !g.Mtime.Equal(n.Mtime.Truncate(time.Second)) {
			t.Errorf("%s: mtime %v, want %v", p, g.Mtime, n.Mtime)
		}
		switch n.Type {
		case tree.Regular:
			data, err := io.ReadAll(io.NewSectionReader(fs.OpenFile(g), 0, int64(g.Size)))
			if err != nil {
				t.Errorf("%s: %v", p, err)
			}
			src, _ := os.ReadFile(n.Source)
			if !bytes.Equal(data, src) {
				t.Errorf("%s: content differs (%d vs %d bytes)", p, len(data), len(src))
			}
		case tree.Symlink:
			if g.Target != n.Target {
				t.Errorf("%s: target %q, want %q", p, g.Target, n.Target)
			}
		case tree.CharDev, tree.BlockDev:
			if g.Major != n.Major || g.Minor != n.Minor {
				t.Errorf("%s: device %d:%d, want %d:%d", p, g.Major, g.Minor, n.Major, n.Minor)
			}
		}
		var gx []tree.Xattr
		for _, x := range g.Xattrs {
			if !strings.HasPrefix(x.Name, "security.") {
				gx = append(gx, tree.Xattr{Name: x.Name, Value: x.Value})
			}
		}
		if fmt.Sprint(gx) != fmt.Sprint(n.Xattrs) {
			t.Errorf("%s: xattrs %q, want %q", p, gx, n.Xattrs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(got, "/")
	delete(got, "/lost+found")
	for p := range got {
		t.Errorf("%s: not in the source", p)
	}
}

func TestReaderRejectsGarbage(t *testing.T) {
	for _, size := range []int64{0, 100, 4096, 1 << 20} {
		b := bytes.Repeat([]byte{0xA5}, int(size))
		if _, err := Open(bytes.NewReader(b), size); !errors.Is(err, ErrNotExt4) {
			t.Errorf("%d bytes of garbage: %v, want ErrNotExt4", size, err)
		}
	}
}

// FuzzOpen feeds mutated file systems to the reader: errors are fine,
// panics, hangs and huge allocations are not.
func FuzzOpen(f *testing.F) {
	if _, err := os.Stat("/sbin/mke2fs"); err == nil {
		dir := f.TempDir()
		img := filepath.Join(dir, "seed.img")
		src := filepath.Join(dir, "src")
		os.MkdirAll(filepath.Join(src, "d"), 0o755)
		os.WriteFile(filepath.Join(src, "d", "f"), []byte("hello"), 0o644)
		os.Symlink("f", filepath.Join(src, "d", "l"))
		if r := oracle.Run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "1024", "-N", "16", "-O", "^has_journal,^resize_inode", "-d", src, img, "256K"); r.Code == 0 {
			if b, err := os.ReadFile(img); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		_ = fs.Walk(func(p string, fi *FileInfo) error {
			if fi.Mode&ModeType == ModeReg {
				buf := make([]byte, 4096)
				fs.OpenFile(fi).ReadAt(buf, 0)
			}
			return nil
		})
	})
}

// TestReaderBigalloc: a file system with bigalloc (clusters of several
// blocks) is refused as an unsupported feature, not as a corrupt one.
func TestReaderBigalloc(t *testing.T) {
	oracle.Need(t, "mke2fs")
	img := filepath.Join(t.TempDir(), "fs.img")
	r := oracle.Run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-O", "bigalloc", "-C", "65536", img, "64M")
	if r.Code != 0 {
		t.Fatal(r)
	}
	oracle.E2fsck(t, img, 0)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(f, fi.Size())
	if !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrCorrupt) {
		t.Errorf("bigalloc: %v, want ErrUnsupported", err)
	}
}
