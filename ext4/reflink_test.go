package ext4

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

// TestReflinkOnXFS builds an image on a loop-mounted XFS with reflink=1
// from sources on the same file system, at an offset, and checks that the
// files' blocks in the image are shared with the sources, not copied: a
// large file, and one the prefetchers read whole (under 1 MiB) whose
// blocks are cloned once scanned, all-zero block left out.
func TestReflinkOnXFS(t *testing.T) {
	mnt := oracle.MountXFS(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), (8<<20)/16+100) // 8 MiB and a tail
	src := filepath.Join(mnt, "src.bin")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	mid := append(bytes.Repeat([]byte("mid-size file.\n"), 150<<10/16), make([]byte, 8192)...)
	mid = append(mid, bytes.Repeat([]byte("end"), 50000)...)
	midSrc := filepath.Join(mnt, "mid.bin")
	if err := os.WriteFile(midSrc, mid, 0o644); err != nil {
		t.Fatal(err)
	}
	root := dir2(
		tree.Entry{Name: "big", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: int64(len(data)), Source: src}},
		tree.Entry{Name: "mid", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: int64(len(mid)), Source: midSrc}})
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
	// Every whole block of mid in the image is shared with its source.
	shared := sharedBlocks(t, img)
	var blocks []int64
	for _, f := range strings.Fields(oracle.Debugfs(t, img, off, "blocks /mid")) {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			break // debugfs's banner, from its standard error
		}
		blocks = append(blocks, n)
	}
	if want := (len(mid) - 8192) / BlockSize; len(blocks) < want {
		t.Fatalf("mid has %d blocks, want at least %d: %v", len(blocks), want, blocks)
	}
	whole := 0
	for i, n := range blocks {
		if i == len(blocks)-1 && len(mid)%BlockSize != 0 {
			continue // the partial last block is written
		}
		whole++
		if !shared[off/BlockSize+n] {
			t.Errorf("block %d of mid (image block %d) is not shared with the source", i, n)
		}
	}
	if whole == 0 {
		t.Error("mid has no whole blocks")
	}
}

// sharedBlocks returns the blocks (of BlockSize bytes) of file that
// filefrag reports in shared extents.
func sharedBlocks(t *testing.T, file string) map[int64]bool {
	t.Helper()
	r := oracle.Run("filefrag", "-v", "-b4096", file)
	if r.Code != 0 {
		t.Fatalf("filefrag: %s", r)
	}
	out := map[int64]bool{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		f := strings.Fields(strings.NewReplacer("..", " ", ":", " ").Replace(line))
		if len(f) < 5 || !strings.Contains(line, "shared") {
			continue
		}
		lo, err1 := strconv.ParseInt(f[1], 10, 64)
		hi, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		for b := lo; b <= hi; b++ {
			out[b] = true
		}
	}
	return out
}

// TestNoZeroScanOnXFS builds a generated tree (small and large files,
// sparse files, tails, hard links, xattrs) with NoZeroScan from an XFS
// with reflinks, where large files are cloned, and the same tree from the
// host's file system, where they are copied: the images must be the same
// bytes (the layout depends on the tree, never on the file system; XFS's
// own ACL attributes are not taken for the file's), pass e2fsck, share
// extents with the sources on XFS, and hold the tree.
func TestNoZeroScanOnXFS(t *testing.T) {
	mnt := oracle.MountXFS(t)
	// XFS holds symlinks of at most 1024 bytes and minors below 2^18.
	gen := testtree.Options{Seed: 11, Class: testtree.Small, MaxSymlink: 1024, NoSpecial: true}
	opts := Options{Size: 256 << 20, NoZeroScan: true, HasEpoch: true, Epoch: 1_000_000_000}
	const off = 1 << 20
	var imgs []string
	var roots []*tree.Node
	for _, base := range []string{mnt, t.TempDir()} {
		src := filepath.Join(base, "src")
		if _, err := testtree.Generate(src, gen); err != nil {
			t.Fatal(err)
		}
		root, err := stage.Dir(src, stage.WalkOptions{})
		if err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(base, "disk.img")
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		if err := Write(FileWindow{F: f, Off: off}, root, opts); err != nil {
			t.Fatal(err)
		}
		f.Close()
		oracle.E2fsckStrict(t, img, off)
		imgs = append(imgs, img)
		roots = append(roots, root)
	}
	a, err := os.ReadFile(imgs[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(imgs[1])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("the image built on XFS differs from the one built on the host (%d, %d bytes, first difference at %d)",
			len(a), len(b), firstDiff(a, b))
	}
	if r := oracle.Run("filefrag", "-v", imgs[0]); !strings.Contains(r.Stdout, "shared") {
		t.Errorf("no shared extents in the image on XFS:\n%s", head(r.Stdout, 20))
	}
	want, err := manifest.FromTree(roots[0], manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The epoch clamps every time: compare everything else.
	checkMounted(t, imgs[0], off, expect{want, manifest.CompareOptions{IgnoreMtime: true, IgnoreAtime: true}})
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func dir2(es ...tree.Entry) *tree.Node { return &tree.Node{Type: tree.Dir, Perm: 0o755, Entries: es} }
