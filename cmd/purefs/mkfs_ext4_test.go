package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/internal/oracle"
)

func TestParseMkfsExt4(t *testing.T) {
	a, err := parseMkfsExt4([]string{"--size", "64M", "--label", "root", "img", "--offset", "1M",
		"--uuid", "01234567-89ab-cdef-0123-456789abcdef", "--epoch", "7", "--owner", "0:100", "--inodes", "5000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if a.image != "img" || a.size != 64<<20 || a.offset != 1<<20 || a.opts.Label != "root" || a.opts.UUID[0] != 0x01 ||
		a.opts.UUID[15] != 0xef || a.opts.Epoch != 7 || !a.opts.HasEpoch || a.opts.Owner == nil || a.opts.Owner.GID != 100 ||
		a.opts.Inodes != 5000 {
		t.Errorf("parsed %+v", a)
	}
	for _, args := range [][]string{
		{},
		{"a", "b"},
		{"--size", "lots", "img"},
		{"--offset", "1000", "img"},
		{"--uuid", "xyz", "img"},
		{"--hash-seed", "0123456789abcdef0123456789abcdef", "img"},
		{"--owner", "root", "img"},
		{"--inodes", "-1", "img"},
		{"--epoch", "yesterday", "img"},
		{"--epoch", "-1", "img"},
		{"--epoch", "10737418240", "img"},
	} {
		if _, err := parseMkfsExt4(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestMkfsExt4AtOffset writes a file system into the middle of an image
// whose other bytes must stay as they were, then grows it with resize2fs.
func TestMkfsExt4AtOffset(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "etc", "hostname"), []byte("purefs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "disk.img")
	const off, size = 1 << 20, 32 << 20
	pattern := bytes.Repeat([]byte{0xA5}, 3*off+size)
	if err := os.WriteFile(img, pattern, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mkfsExt4Main([]string{"--root", src, "--offset", "1M", "--size", "32M", "--epoch", "1700000000", img}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(pattern) {
		t.Fatalf("image is %d bytes, was %d", len(got), len(pattern))
	}
	if !bytes.Equal(got[:off], pattern[:off]) || !bytes.Equal(got[off+size:], pattern[off+size:]) {
		t.Error("bytes outside the window changed")
	}
	oracle.E2fsckStrict(t, img, off)
	out := oracle.Debugfs(t, img, off, "cat /etc/hostname")
	if !strings.Contains(out, "purefs") {
		t.Errorf("debugfs cat: %s", out)
	}
	// resize2fs cannot work at an offset: grow a copy of the window.
	oracle.Need(t, "resize2fs")
	w := oracle.Window(t, img, off, size)
	if err := os.Truncate(w, 2*size); err != nil {
		t.Fatal(err)
	}
	if r := oracle.Run("resize2fs", w); r.Code != 0 {
		t.Fatalf("resize2fs: %s", r)
	}
	oracle.E2fsckStrict(t, w, 0)
	if h := oracle.Dumpe2fs(t, w, 0); h["Block count"] != "16384" {
		t.Errorf("after resize2fs: %s blocks", h["Block count"])
	}
}

func TestMkfsExt4Errors(t *testing.T) {
	dir := t.TempDir()
	// A name over 255 bytes cannot exist on a Linux host: the ext4
	// package tests it with an in-memory tree.
	many := filepath.Join(dir, "many")
	if err := os.MkdirAll(many, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		if err := os.WriteFile(filepath.Join(many, "f"+strings.Repeat("x", i)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	big := filepath.Join(dir, "big")
	if err := os.MkdirAll(big, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(big, "data"), bytes.Repeat([]byte{1}, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want error
	}{
		{"tiny", []string{"--size", "1M"}, ext4.ErrNoSpace},
		{"nospace", []string{"--size", "12M", "--root", big}, ext4.ErrNoSpace},
		{"inodes", []string{"--size", "16M", "--root", many, "--inodes", "16"}, ext4.ErrTooManyInodes},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "new.img")
			err := mkfsExt4Main(append(tc.args, img))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if _, err := os.Stat(img); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a failed run left %s behind", img)
			}
		})
	}
}

// TestMkfsExt4BadInputKeepsImage: bad input is found before an existing
// image is touched.
func TestMkfsExt4BadInputKeepsImage(t *testing.T) {
	img := filepath.Join(t.TempDir(), "old.img")
	old := bytes.Repeat([]byte{0x5A}, 16<<20)
	if err := os.WriteFile(img, old, 0o644); err != nil {
		t.Fatal(err)
	}
	err := mkfsExt4Main([]string{"--size", "1M", img})
	if !errors.Is(err, ext4.ErrNoSpace) {
		t.Fatalf("error %v, want ErrNoSpace", err)
	}
	got, err := os.ReadFile(img)
	if err != nil || !bytes.Equal(got, old) {
		t.Errorf("the image changed (%d bytes, %v)", len(got), err)
	}
}

// TestMkfsExt4NoSpaceKeepsImage: a tree too large for the window fails
// before any byte of an existing image changes, while one that fits only
// because its blocks are all zeros is written.
func TestMkfsExt4NoSpaceKeepsImage(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	zeros := filepath.Join(dir, "zeros")
	for _, d := range []string{big, zeros} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(big, "data"), bytes.Repeat([]byte{1}, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(zeros, "data"), make([]byte, 12<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "old.img")
	old := make([]byte, 16<<20)
	for i := range old {
		old[i] = byte(i*7 + i>>12)
	}
	if err := os.WriteFile(img, old, 0o644); err != nil {
		t.Fatal(err)
	}
	err := mkfsExt4Main([]string{"--root", big, "--size", "8M", "--offset", "1M", img})
	if !errors.Is(err, ext4.ErrNoSpace) || !strings.Contains(err.Error(), "the tree fits in") {
		t.Fatalf("error %v, want ErrNoSpace with the size needed", err)
	}
	if got, err := os.ReadFile(img); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("a failed run changed the image (%d bytes, %v)", len(got), err)
	}
	if err := mkfsExt4Main([]string{"--root", zeros, "--size", "8M", "--offset", "1M", img}); err != nil {
		t.Fatal(err)
	}
	oracle.E2fsckStrict(t, img, 1<<20)
	if got, err := os.ReadFile(img); err != nil || !bytes.Equal(got[:1<<20], old[:1<<20]) || !bytes.Equal(got[9<<20:], old[9<<20:]) {
		t.Error("bytes outside the window changed")
	}
}

// TestMkfsExt4ImageSize: a created image holds offset+size bytes even
// when the size is not a multiple of 4096; the file system takes the
// whole blocks.
func TestMkfsExt4ImageSize(t *testing.T) {
	img := filepath.Join(t.TempDir(), "s.img")
	if err := mkfsExt4Main([]string{"--size", "16385K", "--offset", "8K", img}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(8<<10 + 16385<<10); fi.Size() != want {
		t.Errorf("image of %d bytes, want %d", fi.Size(), want)
	}
	oracle.E2fsckStrict(t, img, 8<<10)
	if h := oracle.Dumpe2fs(t, img, 8<<10); h["Block count"] != "4096" {
		t.Errorf("Block count %s, want 4096", h["Block count"])
	}
}

// TestMkfsExt4EpochIgnoresReads: with an epoch, two builds of a tree are
// equal although the first reads the sources, the image's access times
// are the modification times, and the sources' access times stay.
func TestMkfsExt4EpochIgnoresReads(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "t")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	mtime := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, size := range map[string]int{"f": 3, "large": 3 << 20} {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("hi\n"), size/3), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, mtime); err != nil {
			t.Fatal(err)
		}
	}
	var imgs []string
	for _, name := range []string{"a.img", "b.img"} {
		img := filepath.Join(dir, name)
		if err := mkfsExt4Main([]string{"--root", src, "--size", "16M", "--epoch", "1700000000", img}); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	a, _ := os.ReadFile(imgs[0])
	b, _ := os.ReadFile(imgs[1])
	if !bytes.Equal(a, b) {
		t.Error("two builds with the same --epoch differ")
	}
	for _, name := range []string{"f", "large"} {
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(src, name), &st); err != nil {
			t.Fatal(err)
		}
		if st.Atim.Sec != old.Unix() {
			t.Errorf("building moved the access time of source %s to %d", name, st.Atim.Sec)
		}
		out := oracle.Debugfs(t, imgs[0], 0, "stat /"+name)
		if !strings.Contains(out, "atime: 0x5fee6600:00000000") || !strings.Contains(out, "mtime: 0x5fee6600:00000000") {
			t.Errorf("/%s: atime is not the mtime (2021):\n%s", name, out)
		}
	}
	oracle.E2fsckStrict(t, imgs[0], 0)
}

// TestMkfsExt4LongLabel: a label longer than 16 bytes is cut to 16 bytes
// with mke2fs's warning, not refused.
func TestMkfsExt4LongLabel(t *testing.T) {
	var stderr bytes.Buffer
	a, err := parseMkfsExt4([]string{"--size", "16M", "--label", "seventeen-bytes!!", "img"}, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if a.opts.Label != "seventeen-bytes!" {
		t.Errorf("label %q", a.opts.Label)
	}
	if got, want := stderr.String(), "Warning: label too long; will be truncated to 'seventeen-bytes!'\n\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

// TestMkfsRewritesInPlace: a file system made over an image that holds
// old data (another file system from a larger tree, then bytes with
// holes) is byte for byte the one made in a new file, for ext4 and FAT,
// at offset 0 and inside a disk, while the bytes outside the window stay.
func TestMkfsRewritesInPlace(t *testing.T) {
	dir := t.TempDir()
	tree := func(name string, scale int) string {
		root := filepath.Join(dir, name)
		for i := range 12 * scale {
			d := filepath.Join(root, "d"+strings.Repeat("x", i%5))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte{byte(i + scale), 0, byte(i * 3)}, 1+i*i*97*scale)
			if i%4 == 1 {
				// All-zero blocks inside a large file.
				data = append(append(data, make([]byte, 3*4096+5)...), data...)
			}
			if err := os.WriteFile(filepath.Join(d, "f"+strings.Repeat("y", i)), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return root
	}
	small, large := tree("small", 1), tree("large", 3)
	noise := make([]byte, 40<<20)
	for i := range noise {
		noise[i] = byte(i*131 + i>>9)
	}
	for _, fs := range []string{"ext4", "vfat"} {
		mkfs := mkfsExt4Main
		if fs == "vfat" {
			mkfs = mkfsVfatMain
		}
		odd := int64(1<<20 + 4096) // ext4 wants whole blocks, FAT sectors
		if fs == "vfat" {
			odd = 1<<20 + 512
		}
		for _, off := range []int64{0, odd} {
			name := fmt.Sprintf("%s-at-%d", fs, off)
			t.Run(name, func(t *testing.T) {
				args := func(root, img string) []string {
					return []string{"--root", root, "--size", "24M", "--offset", strconv.FormatInt(off, 10), "--epoch", "1700000000", img}
				}
				fresh := filepath.Join(t.TempDir(), "fresh.img")
				if err := mkfs(args(small, fresh)); err != nil {
					t.Fatal(err)
				}
				want, err := os.ReadFile(fresh)
				if err != nil {
					t.Fatal(err)
				}
				// Noise with two holes, written around them.
				noise := bytes.Clone(noise)
				img := filepath.Join(t.TempDir(), "reused.img")
				f, err := os.Create(img)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Truncate(int64(len(noise))); err != nil {
					t.Fatal(err)
				}
				pos := int64(0)
				for _, h := range [][2]int64{{3 << 20, 1 << 20}, {off + 10<<20 + 1234, 777777}, {int64(len(noise)), 0}} {
					if _, err := f.WriteAt(noise[pos:h[0]], pos); err != nil {
						t.Fatal(err)
					}
					clear(noise[h[0] : h[0]+h[1]])
					pos = h[0] + h[1]
				}
				f.Close()
				// The old data: noise, then a file system of a larger tree
				// over it, then this one.
				for _, root := range []string{large, small} {
					if err := mkfs(args(root, img)); err != nil {
						t.Fatal(err)
					}
				}
				got, err := os.ReadFile(img)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(noise) {
					t.Fatalf("image is %d bytes, was %d", len(got), len(noise))
				}
				end := off + 24<<20
				if !bytes.Equal(got[:off], noise[:off]) || !bytes.Equal(got[end:], noise[end:]) {
					t.Error("bytes outside the window changed")
				}
				if !bytes.Equal(got[off:end], want[off:end]) {
					i := off
					for got[i] == want[i] {
						i++
					}
					t.Fatalf("byte %d of the image differs from a new file's: %#x, want %#x", i, got[i], want[i])
				}
				if fs == "ext4" {
					oracle.E2fsckStrict(t, img, off)
				} else {
					oracle.FsckFat(t, img, off, 24<<20)
				}
			})
		}
	}
}
