package testtree

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/tree"
)

// generate makes a tree in a new temporary directory and checks it against
// its own manifest.
func generate(t *testing.T, opts Options) (string, *manifest.Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	want, err := Generate(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifest.FromDir(dir, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := manifest.Compare(want, got, manifest.CompareOptions{}); len(d) > 0 {
		t.Fatalf("generated tree differs from its manifest:\n%s", d)
	}
	return dir, want
}

func TestGenerateMatchesDir(t *testing.T) {
	for _, c := range []Class{Tiny, Small} {
		t.Run(c.String(), func(t *testing.T) {
			dir, want := generate(t, Options{Seed: 1, Class: c})
			// Reading the tree must not change it (atimes included).
			again, err := manifest.FromDir(dir, manifest.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := manifest.Compare(want, again, manifest.CompareOptions{}); len(d) > 0 {
				t.Errorf("a second read differs:\n%s", d)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	_, a := generate(t, Options{Seed: 7})
	_, b := generate(t, Options{Seed: 7})
	if d := manifest.Compare(a, b, manifest.CompareOptions{}); len(d) > 0 {
		t.Errorf("same seed, different trees:\n%s", d)
	}
	_, c := generate(t, Options{Seed: 8})
	if d := manifest.Compare(a, c, manifest.CompareOptions{}); len(d) == 0 {
		t.Error("seeds 7 and 8 gave the same tree")
	}
}

// TestCoverage checks that the tree holds every case the generator promises.
func TestCoverage(t *testing.T) {
	_, m := generate(t, Options{Seed: 3})
	root := os.Geteuid() == 0
	has := func(what string, ok func(*manifest.Entry) bool) {
		t.Helper()
		for i := range m.Entries {
			if ok(&m.Entries[i]) {
				return
			}
		}
		t.Errorf("no %s", what)
	}
	for _, size := range []int64{0, 1, 4095, 4096, 4097} {
		has("file of the size", func(e *manifest.Entry) bool { return e.Type == tree.Regular && e.Size == size })
	}
	has("file over 2 MiB", func(e *manifest.Entry) bool { return e.Type == tree.Regular && e.Size > 2<<20 })
	has("directory at depth 20", func(e *manifest.Entry) bool { return e.Type == tree.Dir && strings.Count(e.Path, "/") >= 20 })
	has("empty directory", func(e *manifest.Entry) bool { return e.Path == "/dirs/empty" && e.Nlink == 2 })
	has("short symlink", func(e *manifest.Entry) bool { return e.Type == tree.Symlink && len(e.Target) < 60 })
	has("4095-byte symlink", func(e *manifest.Entry) bool { return e.Type == tree.Symlink && len(e.Target) == 4095 })
	has("hard links across dirs", func(e *manifest.Entry) bool { return e.Nlink >= 3 && e.LinkGroup != "" })
	has("FIFO", func(e *manifest.Entry) bool { return e.Type == tree.FIFO })
	has("socket", func(e *manifest.Entry) bool { return e.Type == tree.Socket })
	has("setuid", func(e *manifest.Entry) bool { return e.Mode&0o4000 != 0 })
	has("setgid dir", func(e *manifest.Entry) bool { return e.Type == tree.Dir && e.Mode&0o2000 != 0 })
	has("sticky dir", func(e *manifest.Entry) bool { return e.Type == tree.Dir && e.Mode&0o1000 != 0 })
	has("255-byte name", func(e *manifest.Entry) bool { return len(filepath.Base(e.Path)) == 255 })
	has("1-byte name", func(e *manifest.Entry) bool { return len(filepath.Base(e.Path)) == 1 })
	has("name with a newline", func(e *manifest.Entry) bool { return strings.Contains(e.Path, "\n") })
	has("3000-byte xattr", func(e *manifest.Entry) bool { return len(e.Xattrs) > 0 && len(e.Xattrs[0].Value) == 3000 })
	has("default ACL", func(e *manifest.Entry) bool {
		for _, x := range e.Xattrs {
			if x.Name == "system.posix_acl_default" {
				return true
			}
		}
		return false
	})
	has("mtime with nanoseconds", func(e *manifest.Entry) bool { return e.Mtime%1e9 != 0 })
	has("mtime before 1970", func(e *manifest.Entry) bool { return e.Mtime < 0 })
	if root {
		has("mode 0000", func(e *manifest.Entry) bool { return e.Type == tree.Regular && e.Mode == 0 })
		has("char device", func(e *manifest.Entry) bool { return e.Type == tree.CharDev })
		has("block device", func(e *manifest.Entry) bool { return e.Type == tree.BlockDev })
		has("uid over 65535", func(e *manifest.Entry) bool { return e.UID > 65535 })
	} else if len(m.Notes) == 0 {
		t.Error("not root, yet no note says what was left out")
	}
	if got := m.Count(tree.Regular); got < 300 {
		t.Errorf("only %d regular files", got)
	}
}

func TestFATSafe(t *testing.T) {
	_, m := generate(t, Options{Seed: 4, FATSafe: true})
	lower := map[string]string{}
	for _, e := range m.Entries {
		if e.Type != tree.Regular && e.Type != tree.Dir {
			t.Errorf("%q: %s in a FAT-safe tree", e.Path, e.Type)
		}
		if len(e.Xattrs) > 0 || e.LinkGroup != "" {
			t.Errorf("%q: xattrs or hard links in a FAT-safe tree", e.Path)
		}
		if strings.ContainsAny(e.Path, "\"*:<>?\\|\x7f") || strings.ContainsFunc(e.Path, func(r rune) bool { return r < ' ' || r > '~' }) {
			t.Errorf("%q: not a portable FAT name", e.Path)
		}
		if o, ok := lower[strings.ToLower(e.Path)]; ok {
			t.Errorf("%q and %q differ only in case", e.Path, o)
		}
		lower[strings.ToLower(e.Path)] = e.Path
		const y1980, y2108 = 315532800e9, 4354819200e9
		if e.Mtime < y1980 || e.Mtime >= y2108 {
			t.Errorf("%q: mtime %d outside FAT's range", e.Path, e.Mtime)
		}
	}
}

func TestOptionsLeaveOut(t *testing.T) {
	_, m := generate(t, Options{Seed: 5, NoSpecial: true, NoXattrs: true, NoHardLinks: true})
	for _, e := range m.Entries {
		switch {
		case e.Type == tree.CharDev || e.Type == tree.BlockDev || e.Type == tree.FIFO || e.Type == tree.Socket:
			t.Errorf("%q: %s with NoSpecial", e.Path, e.Type)
		case len(e.Xattrs) > 0:
			t.Errorf("%q: xattrs with NoXattrs", e.Path)
		case e.LinkGroup != "":
			t.Errorf("%q: hard link with NoHardLinks", e.Path)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(dir, Options{}); !errors.Is(err, ErrGenerate) {
		t.Errorf("non-empty dir: err = %v, want ErrGenerate", err)
	}
	if _, err := Generate(filepath.Join(t.TempDir(), "d"), Options{Class: 9}); !errors.Is(err, ErrGenerate) {
		t.Errorf("bad class: err = %v, want ErrGenerate", err)
	}
}

// TestRoundTripCp copies the tree with `cp -a` and finds no difference.
func TestRoundTripCp(t *testing.T) {
	need(t, "cp")
	src, want := generate(t, Options{Seed: 11})
	dst := filepath.Join(t.TempDir(), "dst")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "cp", "-a", src+"/.", dst)
	got, err := manifest.FromDir(dst, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := manifest.Compare(want, got, manifest.CompareOptions{}); len(d) > 0 {
		t.Errorf("cp -a copy differs:\n%s", d)
	}
}

// TestRoundTripTar archives the tree with GNU tar (pax format, xattrs and
// ACLs) and extracts it: nothing differs but what tar cannot carry —
// sockets (tar skips them), hard links between FIFOs and atimes.
func TestRoundTripTar(t *testing.T) {
	need(t, "tar")
	src, want := generate(t, Options{Seed: 12})
	archive := filepath.Join(t.TempDir(), "tree.tar")
	dst := filepath.Join(t.TempDir(), "dst")
	if err := os.Mkdir(dst, 0o700); err != nil {
		t.Fatal(err)
	}
	run(t, "tar", "--format=posix", "--xattrs", "--xattrs-include=*", "--acls", "-C", src, "-cpf", archive, ".")
	run(t, "tar", "--xattrs", "--xattrs-include=*", "--acls", "--numeric-owner", "-C", dst, "-xpf", archive)
	got, err := manifest.FromDir(dst, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want = want.Filter(func(e *manifest.Entry) bool { return e.Type != tree.Socket })
	for i := range want.Entries {
		// GNU tar archives each name of a hard-linked FIFO as a FIFO of its own.
		if e := &want.Entries[i]; e.Type == tree.FIFO {
			e.Nlink, e.LinkGroup = 1, ""
		}
	}
	if d := manifest.Compare(want, got, manifest.CompareOptions{IgnoreAtime: true}); len(d) > 0 {
		t.Errorf("tar extraction differs:\n%s", d)
	}
}

func need(t *testing.T, tool string) {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing under CI=true", tool)
		}
		t.Skipf("%s not installed", tool)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

// TestClasses checks that each class is larger than the one before and
// that Large has thousands of entries in one directory. (Tiny and Small are
// read back in TestGenerateMatchesDir; the larger ones are only counted.)
func TestClasses(t *testing.T) {
	classes := []Class{Tiny, Small}
	if !testing.Short() {
		classes = append(classes, Medium, Large)
	}
	prev := 0
	for _, c := range classes {
		m, err := Generate(filepath.Join(t.TempDir(), "src"), Options{Seed: 9, Class: c})
		if err != nil {
			t.Fatal(err)
		}
		big := 0
		for _, e := range m.Entries {
			if strings.HasPrefix(e.Path, "/dirs/big/") {
				big++
			}
		}
		t.Logf("%s: %d entries, %d in /dirs/big", c, len(m.Entries), big)
		if len(m.Entries) <= prev {
			t.Errorf("%s: %d entries, not more than the class before (%d)", c, len(m.Entries), prev)
		}
		prev = len(m.Entries)
		if c == Large && big < 2000 {
			t.Errorf("large: only %d entries in /dirs/big", big)
		}
		if big < 150 {
			t.Errorf("%s: %d entries in /dirs/big fit one 4 KiB block", c, big)
		}
	}
}

// TestHuge makes the sparse file past 4 GiB and checks that it stays
// sparse and reads back as planned (all but its content hash, which the
// generator computes as for the smaller sparse files read back elsewhere).
func TestHuge(t *testing.T) {
	if testing.Short() {
		t.Skip("the > 4 GiB sparse file takes a while to hash: not in -short")
	}
	dir := filepath.Join(t.TempDir(), "src")
	m, err := Generate(dir, Options{Seed: 13, Huge: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifest.FromDir(dir, manifest.Options{NoContent: true})
	if err != nil {
		t.Fatal(err)
	}
	if d := manifest.Compare(m, got, manifest.CompareOptions{}); len(d) > 0 {
		t.Errorf("generated tree differs from its manifest:\n%s", d)
	}
	e := m.Lookup("/sparse/huge")
	if e == nil || e.Size <= 4<<30 {
		t.Fatalf("no file past 4 GiB: %+v", e)
	}
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, "sparse/huge"), &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 1<<20 {
		t.Errorf("/sparse/huge uses %d bytes of disk: not sparse", st.Blocks*512)
	}
}
