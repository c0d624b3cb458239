package fat

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

// srcTime is the base modification time of the test trees.
var srcTime = time.Date(2021, 6, 5, 4, 3, 2, 345_000_000, time.UTC)

// writeSrc writes a file below root with a fixed time stamp.
func writeSrc(t testing.TB, root, rel string, data []byte, mtime time.Time) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// fixDirTimes gives every directory below root the time mtime.
func fixDirTimes(t testing.TB, root string, mtime time.Time) {
	t.Helper()
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return err
	})
	for _, d := range dirs {
		if err := os.Chtimes(d, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// pattern returns n bytes of a pattern that depends on seed.
func pattern(seed, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// oddNames are names that exercise the 8.3 alias rules.
var oddNames = []string{
	"README.TXT", "readme2.txt", "Mixed Case Name.txt", "a", "A1", "file.tar.gz",
	".hidden", "..dots", "name  with  spaces", "ünïcödé-名前.txt", "emoji-😀.bin",
	"[brackets]+plus=eq;semi,comma.txt", "UPPER.LONGEXT", "noext", "12345678.123",
	"123456789.12", "a.b.c.d", "~tilde", "FILENA~1.TXT", "filename long.txt",
	"FILENAME.TX", "Filename.Txt2", "x.y", "$dollar%", "-dash", "@at", "back`tick",
	strings.Repeat("long", 62) + "end.txt",
}

// makeSrcTree builds the test tree: odd names, a deep path, empty files,
// sizes around the cluster size, many names sharing a prefix, and a
// directory of many entries.
func makeSrcTree(t testing.TB, root string, many int) {
	t.Helper()
	for i, n := range oddNames {
		writeSrc(t, root, filepath.Join("names", n), pattern(i, i*37), srcTime.Add(time.Duration(i)*1500*time.Millisecond))
	}
	deep := "deep"
	for i := 0; i < 24; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("level %02d", i))
	}
	writeSrc(t, root, filepath.Join(deep, "bottom.txt"), []byte("bottom\n"), srcTime)
	writeSrc(t, root, "empty", nil, srcTime)
	writeSrc(t, root, "sub/empty.dat", nil, srcTime)
	if err := os.MkdirAll(filepath.Join(root, "emptydir"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{511, 512, 513, 2047, 2048, 2049, 4096, 4097, 65536, 300001} {
		writeSrc(t, root, fmt.Sprintf("sizes/s%d", n), pattern(100+i, n), srcTime)
	}
	// Sparse-looking data: zero chunks inside.
	z := make([]byte, 3<<20)
	copy(z[1<<20:], pattern(7, 1000))
	writeSrc(t, root, "sizes/zeros", z, srcTime)
	for i := 0; i < 40; i++ {
		writeSrc(t, root, fmt.Sprintf("prefix/file number %d.txt", i), []byte(fmt.Sprint(i)), srcTime)
	}
	for i := 0; i < many; i++ {
		writeSrc(t, root, fmt.Sprintf("many/entry-%05d.efi", i), []byte(fmt.Sprint(i, "\n")), srcTime)
	}
	// Times: before 1980, far future, odd seconds with hundredths.
	writeSrc(t, root, "times/old", []byte("old"), time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC))
	writeSrc(t, root, "times/future", []byte("future"), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))
	writeSrc(t, root, "times/odd", []byte("odd"), time.Date(2023, 12, 31, 23, 59, 59, 990_000_000, time.UTC))
	// A hard link: FAT has none, so it becomes a second copy.
	if err := os.Link(filepath.Join(root, "sizes/s4097"), filepath.Join(root, "sub/hardlink")); err != nil {
		t.Fatal(err)
	}
	fixDirTimes(t, root, srcTime)
}

// manifest describes every entry of fsys: "d" for a directory, "f SIZE
// SHA256" for a file.
func manifest(t testing.TB, fsys fs.FS) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if d.IsDir() {
			m[p] = "d"
			return nil
		}
		h := sha256.New()
		if fi, err := d.Info(); err == nil && fi.Size() == 0 {
			// go-diskfs cannot open an empty file (first cluster 0).
			m[p] = fmt.Sprintf("f 0 %x", h.Sum(nil))
			return nil
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.Copy(h, f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		m[p] = fmt.Sprintf("f %d %x", n, h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameManifest fails t with the differences between two manifests.
func sameManifest(t testing.TB, what string, want, got map[string]string) {
	t.Helper()
	var diffs []string
	for p, w := range want {
		if g, ok := got[p]; !ok {
			diffs = append(diffs, "missing "+p)
		} else if g != w {
			diffs = append(diffs, fmt.Sprintf("%s: %s, want %s", p, g, w))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diffs = append(diffs, "extra "+p)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		if len(diffs) > 20 {
			diffs = append(diffs[:20], fmt.Sprintf("... %d more", len(diffs)-20))
		}
		t.Fatalf("%s differs from the source:\n%s", what, strings.Join(diffs, "\n"))
	}
}

// bmpOnly drops the entries whose names have characters outside the BMP
// or that mtools shows as '_' for them.
func bmpOnly(m map[string]string) map[string]string {
	out := map[string]string{}
	for p, v := range m {
		if strings.ContainsFunc(p, func(r rune) bool { return r > 0xffff }) || strings.Contains(p, "emoji-") {
			continue
		}
		out[p] = v
	}
	return out
}

// buildFromDir stages src and writes it into a new image.
func buildFromDir(t testing.TB, src string, opts Options) string {
	t.Helper()
	root, err := stage.Dir(src, stage.WalkOptions{NoXattrs: true})
	if err != nil {
		t.Fatal(err)
	}
	return writeImage(t, root, opts)
}

func TestTreeOracles(t *testing.T) {
	src := t.TempDir()
	makeSrcTree(t, src, 1200)
	want := manifest(t, os.DirFS(src))
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"fat16-64M", Options{Size: 64 << 20, Label: "ESP"}},
		{"fat32-600M", Options{Size: 600 << 20, Label: "ESP", HasEpoch: true, Epoch: srcTime.Unix() + 30}},
		{"fat12-16M", Options{Size: 16 << 20, FATType: 12}},
		{"fat32-forced-40M", Options{Size: 40 << 20, FATType: 32}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			img := buildFromDir(t, src, tc.opts)
			t.Logf("build %v", time.Since(start))
			start = time.Now()
			oracle.FsckFat(t, img, 0, 0)
			t.Logf("fsck %v", time.Since(start))
			start = time.Now()
			out := t.TempDir()
			oracle.McopyUTF8(t, img, 0, out)
			// mtools stores names in UCS-2 and cannot show characters
			// outside the BMP; the kernel checks those.
			sameManifest(t, "mcopy's copy", bmpOnly(want), bmpOnly(manifest(t, os.DirFS(out))))
			t.Logf("mcopy %v", time.Since(start))
			g, _ := ComputeGeometry(tc.opts.Size, tc.opts.FATType)
			if g.FATType == 16 || tc.opts.FATType == 32 {
				// go-diskfs is slow on large directories: two cases suffice.
				start = time.Now()
				sameManifest(t, "go-diskfs's view", bmpOnly(want), bmpOnly(manifest(t, diskfsRead(t, img, tc.opts.Size, g.FATType))))
				t.Logf("go-diskfs %v", time.Since(start))
			}
			mnt := oracle.MountVfat(t, img, 0)
			sameManifest(t, "the kernel's view", want, manifest(t, os.DirFS(mnt)))
			checkMountTimes(t, src, mnt, tc.opts)
		})
	}
}

// checkMountTimes compares the modification times the kernel reports with
// the source's, clamped and rounded as FAT stores them.
func checkMountTimes(t *testing.T, src, mnt string, opts Options) {
	t.Helper()
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		si, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		gi, err := os.Stat(filepath.Join(mnt, rel))
		if err != nil {
			t.Fatal(err)
		}
		w := si.ModTime()
		if opts.HasEpoch && w.Unix() >= opts.Epoch {
			w = time.Unix(opts.Epoch, 0)
		}
		w = w.UTC()
		if w.Before(minFATTime) {
			w = minFATTime
		}
		if w.After(maxFATTime) {
			w = maxFATTime
		}
		w = w.Truncate(2 * time.Second)
		if !gi.ModTime().Equal(w) {
			t.Errorf("%s: mtime %v, want %v", rel, gi.ModTime().UTC(), w)
		}
		return nil
	})
}

func TestDeterministic(t *testing.T) {
	src := t.TempDir()
	makeSrcTree(t, src, 300)
	// The epoch is after the source's times, so that access times moved
	// by reading would show if they were used.
	opts := Options{Size: 48 << 20, Label: "ESP", HasEpoch: true, Epoch: 4000000000}
	// Each build stages the tree again: reading the files between the
	// two moves their access times, which must not matter.
	root, err := stage.Dir(src, stage.WalkOptions{NoXattrs: true})
	if err != nil {
		t.Fatal(err)
	}
	a := writeImage(t, root, opts)
	root, err = stage.Dir(src, stage.WalkOptions{NoXattrs: true})
	if err != nil {
		t.Fatal(err)
	}
	b := writeImage(t, root, opts)
	da, db := oracle.ReadAt(t, a, 0, 48<<20), oracle.ReadAt(t, b, 0, 48<<20)
	if string(da) != string(db) {
		t.Fatal("two builds from the same inputs differ")
	}
	// A change of content changes the volume ID.
	writeSrc(t, src, "sizes/s512", pattern(999, 512), srcTime)
	root.Lookup("sizes").Lookup("s512").Source = filepath.Join(src, "sizes/s512")
	c := writeImage(t, root, opts)
	if string(oracle.ReadAt(t, c, 0x27, 4)) == string(da[0x27:0x2b]) {
		t.Error("volume ID did not change with the content")
	}
}

// TestAliases checks the 8.3 aliases against the rules of the Linux driver.
func TestAliases(t *testing.T) {
	root := tree.NewDir(0o755)
	names := append([]string{}, oddNames...)
	for i := 0; i < 12; i++ {
		names = append(names, fmt.Sprintf("file number %d.txt", i))
	}
	for _, n := range names {
		root.Set(n, &tree.Node{Type: tree.Regular, Data: []byte(n), Size: int64(len(n))})
	}
	img := writeImage(t, root, Options{Size: 4 << 20})
	out := oracle.Mdir(t, img, 0, "::/")
	for _, want := range []string{
		"README   TXT", "README2  TXT", "MIXEDC~1 TXT", "A1 ", "FILETA~1 GZ", "HIDDEN~1", "DOTS~1",
		"NAMEWI~1", "_N_C_D~1 TXT", "EMOJI-~1 BIN", "_BRACK~1 TXT", "UPPER~1  LON", "NOEXT", "12345678 123",
		"123456~1 12", "ABC~1    D", "~TILDE", "FILENA~1 TXT", "FILENA~2 TXT", "FILENAME TX",
		"FILENA~3 TXT", "FILENU~9 TXT", "X        Y", "$DOLLAR%", "-DASH", "@AT", "BACK`T~1",
		"LONGLO~1 TXT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("mdir lacks %q:\n%s", want, out)
		}
	}
}

// TestReaderSeesSource reads our images back with Open and compares names,
// contents and times with the source.
func TestReaderSeesSource(t *testing.T) {
	src := t.TempDir()
	makeSrcTree(t, src, 200)
	want := manifest(t, os.DirFS(src))
	for _, opts := range []Options{
		{Size: 20 << 20, FATType: 12, Label: "MY DISK"},
		{Size: 64 << 20, HasEpoch: true, Epoch: srcTime.Unix() + 3},
		{Size: 600 << 20},
	} {
		img := buildFromDir(t, src, opts)
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fsys, err := Open(f, opts.Size)
		if err != nil {
			t.Fatal(err)
		}
		sameManifest(t, "the reader's view", want, manifest(t, fsys.FS()))
		if fsys.VolumeLabel != opts.Label {
			t.Errorf("label entry %q, want %q", fsys.VolumeLabel, opts.Label)
		}
		err = fsys.Walk(func(p string, e Entry) error {
			fi, err := os.Stat(filepath.Join(src, p))
			if err != nil {
				return err
			}
			w := fi.ModTime()
			if opts.HasEpoch && w.Unix() >= opts.Epoch {
				w = time.Unix(opts.Epoch, 0)
			}
			w = w.UTC()
			if w.Before(minFATTime) {
				w = minFATTime
			}
			if w.After(maxFATTime) {
				w = maxFATTime
			}
			if !e.Modified.Equal(w.Truncate(2 * time.Second)) {
				t.Errorf("%s: modified %v, want %v", p, e.Modified, w)
			}
			if !e.Created.Equal(w.Truncate(10 * time.Millisecond)) {
				t.Errorf("%s: created %v, want %v", p, e.Created, w)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestAliasesMatchMtools: for ASCII names that need a numeric tail, our
// aliases are the ones mcopy makes when it copies the same names in the
// same order into an empty directory.
func TestAliasesMatchMtools(t *testing.T) {
	oracle.Need(t, "mcopy")
	names := []string{
		"Mixed Case Name.txt", "file.tar.gz", "name  with  spaces", "[brackets]+plus=eq;semi,comma.txt",
		"UPPER.LONGEXT", "123456789.12", "a.b.c.d", "back`tick", "filename long.txt",
		"file number 1.txt", "file number 2.txt", "file number 3.txt", "file number 4.txt",
		"Program Files", "loader.conf.bak", "nixos-generation-1.conf",
	}
	sort.Strings(names)
	src := t.TempDir()
	root := tree.NewDir(0o755)
	for _, n := range names {
		writeSrc(t, src, n, []byte(n), srcTime)
		root.Set(n, dataFile(n))
	}
	theirs := mkfsFat(t, 4<<20, 0, "")
	for _, n := range names {
		if r := oracle.Run("mcopy", "-i", theirs, filepath.Join(src, n), "::/"+n); r.Code != 0 {
			t.Fatal(r)
		}
	}
	ours := writeImage(t, root, Options{Size: 4 << 20})
	aliases := func(img string) map[string]string {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fsys, err := Open(f, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		ents, err := fsys.ReadDir("/")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, e := range ents {
			m[e.Name] = e.ShortName
		}
		return m
	}
	a, b := aliases(ours), aliases(theirs)
	for _, n := range names {
		if a[n] != b[n] {
			t.Errorf("%q: alias %q, mtools %q", n, a[n], b[n])
		}
	}
}

// fsysOf presents an in-memory tree (Data files only) as an fs.FS.
func fsysOf(root *tree.Node) fs.FS {
	m := fstest.MapFS{}
	tree.Walk(root, func(p string, n *tree.Node) error {
		if p == "/" {
			return nil
		}
		if n.Type == tree.Dir {
			m[p[1:]] = &fstest.MapFile{Mode: fs.ModeDir | 0o755}
		} else {
			m[p[1:]] = &fstest.MapFile{Data: n.Data}
		}
		return nil
	})
	return m
}
