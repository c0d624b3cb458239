package ext4

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/tree"
	"golang.org/x/sys/unix"
)

// plainWriter hides an *os.File behind io.WriterAt alone, so that Write
// reads sources itself instead of handing them to copy_file_range.
type plainWriter struct{ f *os.File }

func (w plainWriter) WriteAt(p []byte, off int64) (int, error) { return w.f.WriteAt(p, off) }

// TestWritePathsSameBytes writes one tree through a FileWindow (whole
// blocks through copy_file_range on the mover) and through a plain
// io.WriterAt (every byte read and written by the writer), with and
// without NoZeroScan: each pair must be the same bytes.
func TestWritePathsSameBytes(t *testing.T) {
	_, root, _ := genTree(t, testtree.Options{Seed: 5, Class: testtree.Small})
	for _, nz := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoZeroScan=%v", nz), func(t *testing.T) {
			opts := Options{Size: 256 << 20, NoZeroScan: nz}
			var imgs [2][]byte
			for i := range imgs {
				img := filepath.Join(t.TempDir(), "fs.img")
				f, err := os.Create(img)
				if err != nil {
					t.Fatal(err)
				}
				var werr error
				if i == 0 {
					werr = Write(FileWindow{F: f}, root, opts)
				} else {
					if err := f.Truncate(opts.Size); err != nil {
						t.Fatal(err)
					}
					werr = Write(plainWriter{f}, root, opts)
				}
				f.Close()
				if werr != nil {
					t.Fatal(werr)
				}
				oracle.E2fsckStrict(t, img, 0)
				if imgs[i], err = os.ReadFile(img); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(imgs[0], imgs[1]) {
				t.Errorf("FileWindow and plain writer differ, first at byte %d", firstDiff(imgs[0], imgs[1]))
			}
		})
	}
}

// TestNoZeroScanFullFileSystem fills a file system whose clone region
// (sized for the large files whole) is larger than its free space, since
// the large file is mostly a hole: the main region starts out empty and
// goes on in the clone region, and the image must still be clean and
// hold the tree.
func TestNoZeroScanFullFileSystem(t *testing.T) {
	sparseFile := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(sparseFile)
	if err != nil {
		t.Fatal(err)
	}
	run := bytes.Repeat([]byte("data run "), (1<<20)/9+1)[:1<<20]
	for _, off := range []int64{3 << 20, 40 << 20} {
		if _, err := f.WriteAt(run, off); err != nil {
			t.Fatal(err)
		}
	}
	const size = 64<<20 + 123
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	es := []tree.Entry{{Name: "sparse", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: size, Source: sparseFile, Mtime: t0, Atime: t0, Ctime: t0}}}
	for i := range 300 {
		es = append(es, tree.Entry{Name: fmt.Sprintf("small-%03d", i), Node: file(bytes.Repeat([]byte{byte(i)}, 9000+i))})
	}
	root := dir(es...)
	for _, nz := range []bool{false, true} {
		opts := Options{Size: 24 << 20, NoZeroScan: nz}
		if err := Check(root, opts); err != nil {
			t.Fatalf("NoZeroScan=%v: Check: %v", nz, err)
		}
		img := build(t, root, opts)
		want, err := manifest.FromTree(root, manifest.Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkMounted(t, img, 0, expect{want, manifest.CompareOptions{IgnoreRoot: true, IgnoreAtime: true}})
	}
}

// failingWriter fails every write past limit bytes of the window.
type failingWriter struct{ limit int64 }

var errWindowFull = errors.New("window full")

func (w failingWriter) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > w.limit {
		return 0, errWindowFull
	}
	return len(p), nil
}

// TestWindowWriteErrors: a write to the window that fails is reported as
// what it is, not as a source that could not be read: through a plain
// io.WriterAt, and through a FileWindow on a full host file system (where
// the mover's copy_file_range and pwritev fail).
func TestWindowWriteErrors(t *testing.T) {
	root := bigFiles(t, t.TempDir())
	for _, nz := range []bool{false, true} {
		err := Write(failingWriter{limit: 4 << 20}, root, Options{Size: 64 << 20, NoZeroScan: nz})
		if !errors.Is(err, errWindowFull) || errors.Is(err, ErrSource) {
			t.Errorf("NoZeroScan=%v, plain writer: %v, want the writer's error and not ErrSource", nz, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	// Sources and image on one small tmpfs: copy_file_range itself runs
	// out of space there.
	mnt := filepath.Join(t.TempDir(), "full")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := oracle.Run("mount", "-t", "tmpfs", "-o", "size=22m", "tmpfs", mnt); r.Code != 0 {
		t.Skipf("cannot mount tmpfs: %s", r)
	}
	defer oracle.Run("umount", mnt)
	root = bigFiles(t, mnt)
	for _, nz := range []bool{false, true} {
		f, err := os.Create(filepath.Join(mnt, "img"))
		if err != nil {
			t.Fatal(err)
		}
		err = Write(FileWindow{F: f}, root, Options{Size: 64 << 20, NoZeroScan: nz})
		f.Close()
		os.Remove(f.Name())
		if !errors.Is(err, unix.ENOSPC) || errors.Is(err, ErrSource) {
			t.Errorf("NoZeroScan=%v, full file system: %v, want ENOSPC and not ErrSource", nz, err)
		}
	}
}

// countingWriter fails every write after the first ok ones.
type countingWriter struct {
	n  *atomic.Int64
	ok int64
}

func (w countingWriter) WriteAt(p []byte, off int64) (int, error) {
	if w.n.Add(1) > w.ok {
		return 0, errWindowFull
	}
	return len(p), nil
}

// TestWindowFailsMidTree: whichever write to the window fails first, with
// directories, long symlinks and files still to place, Write returns that
// error (no panic, no other error in its place).
func TestWindowFailsMidTree(t *testing.T) {
	long := strings.Repeat("target/", 20)
	var es []tree.Entry
	for i := range 3000 {
		sub := dir()
		if i%10 == 0 {
			sub = dir(tree.Entry{Name: "f", Node: file([]byte(fmt.Sprint(i)))},
				tree.Entry{Name: "l", Node: &tree.Node{Type: tree.Symlink, Perm: 0o777, Target: long}})
		}
		es = append(es, tree.Entry{Name: fmt.Sprintf("d%04d", i), Node: sub})
	}
	root := dir(es...)
	for ok := range int64(60) {
		var n atomic.Int64
		err := Write(countingWriter{&n, ok}, root, Options{Size: 64 << 20})
		if !errors.Is(err, errWindowFull) {
			t.Errorf("writes failing after %d: %v, want the window's error", ok, err)
		}
	}
}

// bigFiles writes six 3 MiB files into dir and returns a tree of them.
func bigFiles(t *testing.T, dir string) *tree.Node {
	t.Helper()
	var es []tree.Entry
	for i := range 6 {
		p := filepath.Join(dir, fmt.Sprintf("big-%d", i))
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i + 1)}, 3<<20), 0o644); err != nil {
			t.Fatal(err)
		}
		es = append(es, tree.Entry{Name: fmt.Sprintf("big-%d", i), Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: 3 << 20, Source: p, Mtime: t0, Atime: t0, Ctime: t0}})
	}
	return dir2(es...)
}
