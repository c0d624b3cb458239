package ext4

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/tree"
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
