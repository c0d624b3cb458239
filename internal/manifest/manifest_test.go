package manifest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/stage"
	"github.com/purefs/purefs/tree"
)

func gen(t *testing.T, opts testtree.Options) (string, *manifest.Manifest) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "src")
	m, err := testtree.Generate(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func fromDir(t *testing.T, dir string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.FromDir(dir, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCompareDetects changes a copy of a generated tree in every way the
// comparer must notice and checks that each change is reported, and
// nothing else.
func TestCompareDetects(t *testing.T) {
	src, want := gen(t, testtree.Options{Seed: 21})
	dst := filepath.Join(t.TempDir(), "dst")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	p := func(s string) string { return filepath.Join(dst, s) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	keepTimes := func(path string, change func()) {
		t.Helper()
		var st unix.Stat_t
		must(unix.Lstat(path, &st))
		change()
		must(unix.UtimesNanoAt(unix.AT_FDCWD, path, []unix.Timespec{st.Atim, st.Mtim}, unix.AT_SYMLINK_NOFOLLOW))
	}
	dirTimes := func(path string, change func()) {
		t.Helper()
		keepTimes(filepath.Dir(path), change)
	}

	must(os.Chmod(p("modes/m0644"), 0o640))
	keepTimes(p("files/size-4096"), func() {
		f, err := os.OpenFile(p("files/size-4096"), os.O_WRONLY, 0)
		must(err)
		_, err = f.WriteAt([]byte{'!'}, 100)
		must(err)
		must(f.Close())
	})
	must(unix.Setxattr(p("xattrs/small"), "user.one", []byte("2"), 0))
	dirTimes(p("links/dangling"), func() {
		must(os.Remove(p("links/dangling")))
		must(os.Symlink("does/not/exist/either", p("links/dangling")))
	})
	must(unix.UtimesNanoAt(unix.AT_FDCWD, p("links/dangling"), []unix.Timespec{
		unix.NsecToTimespec(want.Lookup("/links/dangling").Atime),
		unix.NsecToTimespec(want.Lookup("/links/dangling").Mtime),
	}, unix.AT_SYMLINK_NOFOLLOW))
	dirTimes(p("names/a"), func() { must(os.Remove(p("names/a"))) })
	dirTimes(p("names/new-one"), func() { must(os.WriteFile(p("names/new-one"), nil, 0o644)) })
	must(unix.UtimesNanoAt(unix.AT_FDCWD, p("names/new-one"), []unix.Timespec{{Sec: 1}, {Sec: 1}}, 0))
	must(unix.UtimesNanoAt(unix.AT_FDCWD, p("times/t01"), []unix.Timespec{unix.NsecToTimespec(want.Lookup("/times/t01").Atime), {Sec: 951827696, Nsec: 123456788}}, 0))
	wantDiffs := []string{
		"/files/size-4096: content: want sha256 ",
		"/links/dangling: target: want \"does/not/exist\", got \"does/not/exist/either\"",
		"/modes/m0644: mode: want 0644, got 0640",
		"/names/a: missing (want regular)",
		"/names/new-one: unexpected (got regular)",
		"/times/t01: mtime: want 2000-02-29T12:34:56.123456789Z, got 2000-02-29T12:34:56.123456788Z",
		"/xattrs/small: xattr user.one: want \"1\", got \"2\"",
	}
	if os.Geteuid() == 0 {
		must(os.Lchown(p("owners/u1-g1"), 1, 7))
		wantDiffs = append(wantDiffs, "/owners/u1-g1: gid: want 1, got 7")
	}
	got := fromDir(t, dst)
	ds := manifest.Compare(want, got, manifest.CompareOptions{})
	lines := strings.Split(strings.TrimSuffix(ds.String(), "\n"), "\n")
	if len(lines) != len(wantDiffs) {
		t.Errorf("got %d differences, want %d:\n%s", len(lines), len(wantDiffs), ds)
	}
	for _, w := range wantDiffs {
		found := false
		for _, l := range lines {
			found = found || strings.HasPrefix(l, w)
		}
		if !found {
			t.Errorf("no difference %q in:\n%s", w, ds)
		}
	}
	// A nanosecond is within any granularity.
	ds = manifest.Compare(want, got, manifest.CompareOptions{TimeGranularity: 2 * time.Second, IgnoreXattrs: true, IgnoreMode: true, IgnoreOwner: true, Skip: []string{"/names", "/files", "/links"}})
	if len(ds) > 0 {
		t.Errorf("with everything changed ignored, still:\n%s", ds)
	}
}

func TestCompareLinksAndTypes(t *testing.T) {
	want := &manifest.Manifest{Entries: []manifest.Entry{
		{Path: "/", Type: tree.Dir, Mode: 0o755, Nlink: 3},
		{Path: "/a", Type: tree.Regular, Nlink: 2, LinkGroup: "/a"},
		{Path: "/d", Type: tree.Dir, Nlink: 2},
		{Path: "/d/b", Type: tree.Regular, Nlink: 2, LinkGroup: "/a"},
		{Path: "/lost+found", Type: tree.Dir, Nlink: 2},
		{Path: "/n", Type: tree.CharDev, Major: 1, Minor: 3, Nlink: 1},
	}}
	got := &manifest.Manifest{Entries: []manifest.Entry{
		{Path: "/", Type: tree.Dir, Mode: 0o700, Nlink: 3, Mtime: 5},
		{Path: "/a", Type: tree.Regular, Nlink: 1},
		{Path: "/d", Type: tree.Symlink, Target: "x", Nlink: 1},
		{Path: "/d/b", Type: tree.Regular, Nlink: 1},
		{Path: "/n", Type: tree.CharDev, Major: 1, Minor: 5, Nlink: 1},
	}}
	ds := manifest.Compare(want, got, manifest.CompareOptions{IgnoreLostFound: true, IgnoreRoot: true})
	wantText := `/a: nlink: want 2, got 1
/a: link group: want /a, got (none)
/d: type: want directory, got symlink
/d/b: nlink: want 2, got 1
/d/b: link group: want /a, got (none)
/n: rdev: want 1,3, got 1,5
`
	if ds.String() != wantText {
		t.Errorf("got:\n%swant:\n%s", ds, wantText)
	}
	ds = manifest.Compare(want, got, manifest.CompareOptions{IgnoreLinks: true, IgnoreNlink: true, IgnoreRootTimes: true, Skip: []string{"/d", "/n", "/lost+found"}})
	if want := "/: mode: want 0755, got 0700\n"; ds.String() != want {
		t.Errorf("got:\n%swant:\n%s", ds, want)
	}
}

func TestDiffQuotesOddPaths(t *testing.T) {
	d := manifest.Diff{Path: "/new\nline \xff", Kind: manifest.Missing, Want: "regular"}
	if got, want := d.String(), `"/new\nline \xff": missing (want regular)`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestFromTree checks that the manifest of stage.Dir's tree equals the
// manifest of the directory it was read from.
func TestFromTree(t *testing.T) {
	src, want := gen(t, testtree.Options{Seed: 22})
	root, err := stage.Dir(src, stage.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := manifest.FromTree(root, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// FromTree counts directory links by the rule (2 + subdirectories),
	// as the generator does. stage.Dir's readlink moves a symlink's atime,
	// and it reads names concurrently, so a hard-linked symlink's second
	// name may be seen after the first was read: leave those out.
	var opts manifest.CompareOptions
	for _, e := range want.Entries {
		if e.Type == tree.Symlink && e.LinkGroup != "" {
			opts.Skip = append(opts.Skip, e.Path)
		}
	}
	if ds := manifest.Compare(want, got, opts); len(ds) > 0 {
		t.Errorf("FromTree(stage.Dir) differs from the generated tree:\n%s", ds)
	}
}

func TestFromTreeData(t *testing.T) {
	root := tree.NewDir(0o755)
	root.Set("d", &tree.Node{Type: tree.Regular, Perm: 0o644, Data: []byte("abc"), Size: 3})
	root.Set("bad", &tree.Node{Type: tree.Regular, Perm: 0o644, Data: []byte("abc"), Size: 4})
	if _, err := manifest.FromTree(root, manifest.Options{}); err == nil || !strings.Contains(err.Error(), "/bad") {
		t.Errorf("size mismatch: err = %v, want an error naming /bad", err)
	}
	root.Remove("bad")
	m, err := manifest.FromTree(root)
	if err != nil {
		t.Fatal(err)
	}
	e := m.Lookup("/d")
	if e == nil || e.ContentHash != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || e.Nlink != 1 {
		t.Errorf("entry /d = %+v", e)
	}
	if r := m.Lookup("/"); r == nil || r.Nlink != 2 {
		t.Errorf("root entry = %+v", r)
	}
}

func TestFromDirErrors(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{f, filepath.Join(t.TempDir(), "absent")} {
		if _, err := manifest.FromDir(p, manifest.Options{}); err == nil {
			t.Errorf("FromDir(%s) did not fail", p)
		}
	}
}
