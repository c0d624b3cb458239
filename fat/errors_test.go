package fat

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/sparse"
	"github.com/purefs/purefs/tree"
)

func dataFile(data string) *tree.Node {
	return &tree.Node{Type: tree.Regular, Data: []byte(data), Size: int64(len(data))}
}

func dirOf(entries map[string]*tree.Node) *tree.Node {
	d := tree.NewDir(0o755)
	for n, e := range entries {
		d.Set(n, e)
	}
	return d
}

func TestBadInput(t *testing.T) {
	big := &tree.Node{Type: tree.Regular, Size: 1 << 32, Source: "/nonexistent"}
	manyRoot := tree.NewDir(0o755)
	for i := 0; i < 600; i++ {
		manyRoot.Set(fmt.Sprintf("f%d", i), dataFile(""))
	}
	hugeDir := tree.NewDir(0o755)
	for i := 0; i < 22000; i++ {
		hugeDir.Set(fmt.Sprintf("a long name number %06d", i), dataFile(""))
	}
	for _, tc := range []struct {
		name string
		root *tree.Node
		opts Options
		want error
		path string // the error must name it
	}{
		{"long label", tree.NewDir(0o755), Options{Size: 8 << 20, Label: "TWELVE CHARS"}, ErrLabel, "TWELVE CHARS"},
		{"label char", tree.NewDir(0o755), Options{Size: 8 << 20, Label: "A.B"}, ErrLabel, "A.B"},
		{"label space", tree.NewDir(0o755), Options{Size: 8 << 20, Label: " AB"}, ErrLabel, ""},
		{"label utf8", tree.NewDir(0o755), Options{Size: 8 << 20, Label: "ÉSP"}, ErrLabel, ""},
		{"colon", dirOf(map[string]*tree.Node{"a:b": dataFile("x")}), Options{Size: 8 << 20}, ErrName, "/a:b"},
		{"trailing dot", dirOf(map[string]*tree.Node{"sub": dirOf(map[string]*tree.Node{"x.": dataFile("x")})}), Options{Size: 8 << 20}, ErrName, "/sub/x."},
		{"trailing space", dirOf(map[string]*tree.Node{"x ": dataFile("x")}), Options{Size: 8 << 20}, ErrName, "/x "},
		{"not utf8", dirOf(map[string]*tree.Node{"\xff": dataFile("x")}), Options{Size: 8 << 20}, ErrName, ""},
		{"too long", dirOf(map[string]*tree.Node{strings.Repeat("é", 256): dataFile("x")}), Options{Size: 8 << 20}, ErrName, ""},
		{"case", dirOf(map[string]*tree.Node{"Boot": dataFile("x"), "BOOT": dataFile("y")}), Options{Size: 8 << 20}, ErrName, "/Boot"},
		{"symlink", dirOf(map[string]*tree.Node{"l": {Type: tree.Symlink, Target: "x"}}), Options{Size: 8 << 20}, ErrUnsupported, "/l"},
		{"device", dirOf(map[string]*tree.Node{"d": dirOf(map[string]*tree.Node{"null": {Type: tree.CharDev}})}), Options{Size: 8 << 20}, ErrUnsupported, "/d/null"},
		{"fifo", dirOf(map[string]*tree.Node{"p": {Type: tree.FIFO}}), Options{Size: 8 << 20}, ErrUnsupported, "/p"},
		{"4 GiB", dirOf(map[string]*tree.Node{"big": big}), Options{Size: 8 << 30}, ErrUnsupported, "/big"},
		{"no space", dirOf(map[string]*tree.Node{"f": dataFile(strings.Repeat("x", 3<<20))}), Options{Size: 2 << 20}, ErrNoSpace, "/f"},
		{"root full", manyRoot, Options{Size: 8 << 20}, ErrNoSpace, ""},
		{"dir full", dirOf(map[string]*tree.Node{"d": hugeDir}), Options{Size: 64 << 20}, ErrNoSpace, "/d"},
		{"type 13", tree.NewDir(0o755), Options{Size: 8 << 20, FATType: 13}, ErrType, ""},
		{"FAT12 1G", tree.NewDir(0o755), Options{Size: 1 << 30, FATType: 12}, ErrType, ""},
		{"FAT16 1M", tree.NewDir(0o755), Options{Size: 1 << 20, FATType: 16}, ErrType, ""},
		{"FAT32 32M", tree.NewDir(0o755), Options{Size: 32 << 20, FATType: 32}, ErrType, ""},
		{"size 0", tree.NewDir(0o755), Options{}, ErrNoSpace, ""},
		{"missing source", dirOf(map[string]*tree.Node{"m": {Type: tree.Regular, Size: 5, Source: "/nonexistent/x"}}), Options{Size: 8 << 20}, ErrSource, "/m"},
		{"short data", dirOf(map[string]*tree.Node{"m": {Type: tree.Regular, Size: 5, Data: []byte("abc")}}), Options{Size: 8 << 20}, ErrSource, "/m"},
		{"root not dir", dataFile("x"), Options{Size: 8 << 20}, ErrUnsupported, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := make([]byte, min(tc.opts.Size, 64<<20))
			err := Write(&sliceWriter{img}, tc.root, tc.opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %q", err, tc.path)
			}
		})
	}
}

// TestSourceChanged: a source file that grew after staging is an error.
func TestSourceChanged(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("longer than five"), 0o644)
	root := dirOf(map[string]*tree.Node{"f": {Type: tree.Regular, Size: 5, Source: p}})
	if err := Write(&sliceWriter{make([]byte, 8<<20)}, root, Options{Size: 8 << 20}); !errors.Is(err, ErrSource) {
		t.Fatalf("error %v, want ErrSource", err)
	}
}

// TestBigDirectory: thousands of names sharing a long prefix, in one
// directory, each with a unique alias.
func TestBigDirectory(t *testing.T) {
	const n = 6000
	d := tree.NewDir(0o755)
	for i := 0; i < n; i++ {
		d.Set(fmt.Sprintf("file number %d.txt", i), dataFile(fmt.Sprint(i)))
	}
	root := dirOf(map[string]*tree.Node{"big": d})
	img := writeImage(t, root, Options{Size: 64 << 20})
	oracle.FsckFat(t, img, 0, 0)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fsys, err := Open(f, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	ents, err := fsys.ReadDir("/big")
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != n {
		t.Fatalf("%d entries, want %d", len(ents), n)
	}
	seen := map[string]bool{}
	for _, e := range ents {
		if seen[e.ShortName] {
			t.Fatalf("alias %s twice", e.ShortName)
		}
		seen[e.ShortName] = true
	}
	out := oracle.Mdir(t, img, 0, "::/big")
	if c := strings.Count(out, "file number "); c != n {
		t.Errorf("mdir lists %d long names, want %d", c, n)
	}
}

func TestCanFAT32(t *testing.T) {
	for _, tc := range []struct {
		size int64
		want bool
	}{{1 << 20, false}, {32 << 20, false}, {33 << 20, true}, {236 << 20, true}, {8 << 30, true}} {
		if got := CanFAT32(tc.size); got != tc.want {
			t.Errorf("CanFAT32(%d) = %v", tc.size, got)
		}
		err := Check(tree.NewDir(0o755), Options{Size: tc.size, FATType: 32})
		if (err == nil) != tc.want {
			t.Errorf("Check FAT32 of %d bytes: %v", tc.size, err)
		}
	}
}

// TestLargestFile writes a file of 4 GiB - 1 (sparse source, heavy).
func TestLargestFile(t *testing.T) {
	if os.Getenv("PUREFS_HEAVY") != "1" {
		t.Skip("set PUREFS_HEAVY=1")
	}
	src := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("end"), maxFileSize-3)
	f.Close()
	root := dirOf(map[string]*tree.Node{"big": {Type: tree.Regular, Size: maxFileSize, Source: src}})
	img := writeImage(t, root, Options{Size: 8 << 30})
	if err := oracle.FsckFatErr(t, img, 0, 0); err != nil {
		// fsck.fat 4.2 counts the chain length in 32 bits, so a chain of
		// 2^32 bytes reads as 0 (fixed upstream after 4.2, "fsck.fat: Do
		// not truncate files in cluster chain of size 2^32").
		if !strings.Contains(err.Error(), "cluster chain length is 0 bytes") {
			t.Fatal(err)
		}
		t.Logf("known fsck.fat 4.2 bug: %v", err)
	}
	fi, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer fi.Close()
	fsys, err := Open(fi, 8<<30)
	if err != nil {
		t.Fatal(err)
	}
	e, err := fsys.Stat("/big")
	if err != nil || e.Size != maxFileSize {
		t.Fatalf("%+v %v", e, err)
	}
}

// TestRootDirectory fills the fixed FAT16 root to its last slot, and
// spreads a FAT32 root over several clusters.
func TestRootDirectory(t *testing.T) {
	full := tree.NewDir(0o755)
	for i := 0; i < 511; i++ { // + the label entry = 512 slots
		full.Set(fmt.Sprintf("F%03d.TXT", i), dataFile("x"))
	}
	img := writeImage(t, full, Options{Size: 32 << 20, Label: "FULL"})
	oracle.FsckFat(t, img, 0, 0)
	full.Set("ONEMORE", dataFile("y"))
	if err := Check(full, Options{Size: 32 << 20, Label: "FULL"}); !errors.Is(err, ErrNoSpace) {
		t.Errorf("513 root slots on FAT16: %v", err)
	}

	wide := tree.NewDir(0o755)
	for i := 0; i < 3000; i++ {
		wide.Set(fmt.Sprintf("a rather long root name %d.conf", i), dataFile(fmt.Sprint(i)))
	}
	const size = 600 << 20
	img = writeImage(t, wide, Options{Size: size})
	oracle.FsckFat(t, img, 0, 0)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fsys, err := Open(f, size)
	if err != nil {
		t.Fatal(err)
	}
	want := manifest(t, fsysOf(wide))
	sameManifest(t, "the reader's view", want, manifest(t, fsys.FS()))
	if c := strings.Count(oracle.Mdir(t, img, 0, "::/"), "a rather long root name"); c != 3000 {
		t.Errorf("mdir lists %d names, want 3000", c)
	}
}

// TestSparse: an empty 8 GiB file system writes only its metadata sectors.
func TestSparse(t *testing.T) {
	img := writeImage(t, tree.NewDir(0o755), Options{Size: 8 << 30, Label: "ESP"})
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ranges, err := sparse.DataRanges(f, 8<<30)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, r := range ranges {
		n += r.Len
	}
	if n > 1<<20 {
		t.Errorf("%d bytes of data in an empty file system: %v", n, ranges)
	}
}
