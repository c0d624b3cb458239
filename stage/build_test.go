package stage

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/tree"
)

// files writes a tree below dir: a key ending in "/" is a directory, one
// starting with "->" in its value a symlink, anything else a file.
func files(t *testing.T, dir string, spec map[string]string) {
	t.Helper()
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := filepath.Join(dir, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		v := spec[k]
		var err error
		switch {
		case strings.HasSuffix(k, "/"):
			err = os.MkdirAll(p, 0o750)
		case strings.HasPrefix(v, "->"):
			err = os.Symlink(strings.TrimPrefix(v, "->"), p)
		default:
			err = os.WriteFile(p, []byte(v), 0o640)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// listing renders a tree as "path type perm uid:gid" lines.
func listing(root *tree.Node) string {
	var b strings.Builder
	_ = tree.Walk(root, func(p string, n *tree.Node) error {
		b.WriteString(p + " " + n.Type.String()[:3] + " " + strings.TrimPrefix(octal(n.Perm), "0") + " " + itoa(n.UID) + ":" + itoa(n.GID))
		if n.Type == tree.Symlink {
			b.WriteString(" -> " + n.Target)
		}
		b.WriteString("\n")
		return nil
	})
	return b.String()
}

func octal(v uint32) string {
	s := ""
	for ; v > 0; v /= 8 {
		s = string(rune('0'+v%8)) + s
	}
	return "0" + s
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	s := ""
	for ; v > 0; v /= 10 {
		s = string(rune('0'+v%10)) + s
	}
	return s
}

func find(t *testing.T, root *tree.Node, p string) *tree.Node {
	t.Helper()
	n, err := lookup(root, strings.TrimPrefix(p, "/"))
	if err != nil || n == nil {
		t.Fatalf("%s not in tree: %v", p, err)
	}
	return n
}

func chmod(t *testing.T, s string) *config.Chmod {
	c, err := config.ParseChmod(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStage(t *testing.T) {
	top := t.TempDir()
	root := filepath.Join(top, "root")
	src := filepath.Join(top, "src")
	files(t, root, map[string]string{
		"etc/passwd":       "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
		"etc/static/group": "root:x:0:\nusers:x:100:alice\nwheel:x:1:\n",
		"etc/group":        "->static/group",
		"etc/ssh/":         "",
		"etc/hostname":     "old",
		"nix/store/aaa-x/": "",
		"bin/sh":           "#!",
	})
	files(t, src, map[string]string{
		"dir/a":             "A",
		"dir/sub/b":         "B",
		"glob/one.conf":     "1",
		"glob/two.conf":     "2",
		"glob/.hidden.conf": "h",
		"glob/other":        "o",
		"file":              "F",
		"hostname":          "new",
		"linkdir":           "->dir",
		"store/bbb-y/bin":   "y",
		"config.nix":        "{ }",
	})
	// A configuration.nix from the Nix store is read-only; make-disk-image.nix's cp
	// keeps that mode.
	if err := os.Chmod(filepath.Join(src, "config.nix"), 0o444); err != nil {
		t.Fatal(err)
	}
	in := Input{
		Root: root,
		Contents: []config.Content{
			{Source: filepath.Join(src, "dir"), Target: "/opt/d", Mode: chmod(t, "D755,F600"), User: "alice", Group: "users"},
			{Source: filepath.Join(src, "glob/*.conf"), Target: "/etc/ssh", Mode: chmod(t, "0644")},
			{Source: filepath.Join(src, "file"), Target: "srv/x/file", User: "42", Group: "wheel"},
			{Source: filepath.Join(src, "hostname"), Target: "/etc/hostname"},
			{Source: filepath.Join(src, "linkdir"), Target: "/opt/viaLink"},
		},
		ConfigFile:      filepath.Join(src, "config.nix"),
		AdditionalPaths: []string{filepath.Join(src, "store/bbb-y"), "/nix/store/aaa-x" /* present: skipped */},
		Epoch:           1700000000,
		FixTimes:        true,
	}
	// additionalPaths are host paths that are also image paths: use the
	// test directory's own absolute path.
	r, err := Stage(in)
	if err != nil {
		t.Fatal(err)
	}
	got := listing(r.Tree)
	for _, want := range []string{
		"/ dir 755 0:0\n",
		"/opt dir 755 0:0\n",
		"/opt/d dir 755 1000:100\n",
		"/opt/d/a reg 600 1000:100\n",
		"/opt/d/sub dir 755 1000:100\n",
		"/opt/d/sub/b reg 600 1000:100\n",
		"/etc/ssh dir 750 0:0\n",
		"/etc/ssh/one.conf reg 644 0:0\n",
		"/etc/ssh/two.conf reg 644 0:0\n",
		"/srv/x dir 755 0:0\n",
		"/srv/x/file reg 640 42:1\n",
		"/etc/nixos/configuration.nix reg 444 0:0\n",
		"/opt/viaLink/a reg 640 0:0\n",
		"/nix/store/aaa-x dir 750 0:0\n",
		"bbb-y/bin reg 640 0:0\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	for _, absent := range []string{".hidden.conf", "/etc/ssh/other"} {
		if strings.Contains(got, absent) {
			t.Errorf("unexpected %q in\n%s", absent, got)
		}
	}
	if n := find(t, r.Tree, "/etc/hostname"); n.Source != filepath.Join(src, "hostname") {
		t.Errorf("/etc/hostname from %q", n.Source)
	}
	if n := find(t, r.Tree, "/etc/nixos/configuration.nix"); n.Source != in.ConfigFile || n.Size != 3 {
		t.Errorf("configuration.nix %+v", n)
	}
	epoch := time.Unix(1700000000, 0)
	_ = tree.Walk(r.Tree, func(p string, n *tree.Node) error {
		if !n.Mtime.Equal(epoch) || !n.Atime.Equal(epoch) || !n.Ctime.Equal(epoch) || !n.Btime.Equal(epoch) {
			t.Errorf("%s: times %v %v %v %v", p, n.Atime, n.Mtime, n.Ctime, n.Btime)
		}
		return nil
	})
	if r.Usage.Nodes != int64(tree.Count(r.Tree).Nodes) || r.Usage.Entries == 0 {
		t.Errorf("usage %+v", r.Usage)
	}

	// Deterministic: a second run gives the same listing.
	r2, err := Stage(in)
	if err != nil {
		t.Fatal(err)
	}
	if listing(r2.Tree) != got || r2.Usage != r.Usage {
		t.Error("two runs differ")
	}
}

func TestStageKeepsTimesAndOwners(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"a": "x"})
	old := time.Unix(1234567890, 0)
	if err := os.Chtimes(filepath.Join(root, "a"), old, old); err != nil {
		t.Fatal(err)
	}
	r, err := Stage(Input{Root: root, KeepOwners: true, Epoch: 5})
	if err != nil {
		t.Fatal(err)
	}
	a := find(t, r.Tree, "/a")
	if !a.Mtime.Equal(old) || a.UID != uint32(os.Getuid()) {
		t.Errorf("a: mtime %v uid %d", a.Mtime, a.UID)
	}
	if n := find(t, r.Tree, "/etc/nixos"); !n.Mtime.Equal(time.Unix(5, 0)) || n.Perm != 0o755 {
		t.Errorf("/etc/nixos %+v", n)
	}
}

func TestStageOnlyNixStore(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{
		"nix/store/aaa-x/bin/x": "x",
		"nix/store/bbb-y":       "y",
		"nix/store/.links/zz":   "y",
		"nix/var/nix/db/db":     "d",
		"etc/passwd":            "",
	})
	r, err := Stage(Input{Root: root, OnlyNixStore: true, FixTimes: true, Epoch: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := "/ dir 755 0:0\n/aaa-x dir 755 0:0\n/aaa-x/bin dir 755 0:0\n/aaa-x/bin/x reg 640 0:0\n/bbb-y reg 640 0:0\n"
	if got := listing(r.Tree); got != want {
		t.Errorf("tree\n%s\nwant\n%s", got, want)
	}
	// make-disk-image.nix measures its whole staging folder.
	if r.Usage.Entries != int64(len(strings.Split(strings.TrimSpace(listing(mustDir(t, root))), "\n"))) {
		t.Errorf("usage %+v", r.Usage)
	}
	if _, err := Stage(Input{Root: t.TempDir(), OnlyNixStore: true}); !errors.Is(err, ErrSource) {
		t.Errorf("no store: %v", err)
	}
}

func mustDir(t *testing.T, dir string) *tree.Node {
	n, err := Dir(dir, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStageHardLinks(t *testing.T) {
	top := t.TempDir()
	files(t, top, map[string]string{"root/a": "x", "src/b": "y"})
	for _, l := range [][2]string{{"root/a", "root/a2"}, {"src/b", "src/b2"}} {
		if err := os.Link(filepath.Join(top, l[0]), filepath.Join(top, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Stage(Input{Root: filepath.Join(top, "root"), Contents: []config.Content{{Source: filepath.Join(top, "src"), Target: "/c"}}})
	if err != nil {
		t.Fatal(err)
	}
	if find(t, r.Tree, "/a") != find(t, r.Tree, "/a2") {
		t.Error("hard link in root not kept")
	}
	if find(t, r.Tree, "/c/b") == find(t, r.Tree, "/c/b2") {
		t.Error("hard link in contents kept (rsync -a without -H copies)")
	}
}

func TestStageEmptyRoot(t *testing.T) {
	src := t.TempDir()
	files(t, src, map[string]string{"f": "1"})
	r, err := Stage(Input{Contents: []config.Content{{Source: filepath.Join(src, "f"), Target: "/f"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "/ dir 755 0:0\n/etc dir 755 0:0\n/etc/nixos dir 755 0:0\n/f reg 640 0:0\n"
	if got := listing(r.Tree); got != want {
		t.Errorf("tree\n%s\nwant\n%s", got, want)
	}
}

func TestStageErrors(t *testing.T) {
	top := t.TempDir()
	root := filepath.Join(top, "root")
	src := filepath.Join(top, "src")
	files(t, root, map[string]string{"etc/passwd": "alice:x:1000:100::/:/bin/sh\n", "etc/group": "users:x:100:\n", "bin/": "", "file": "f"})
	files(t, src, map[string]string{"f": "1", "d/x": "2", "g/a": "3"})
	f := filepath.Join(src, "f")
	d := filepath.Join(src, "d")
	for _, tc := range []struct {
		name string
		in   Input
		want error
	}{
		{"missing root", Input{Root: filepath.Join(top, "nope")}, ErrSource},
		{"root is a file", Input{Root: f}, ErrSource},
		{"missing source", Input{Root: root, Contents: []config.Content{{Source: filepath.Join(src, "nope"), Target: "/x"}}}, ErrSource},
		{"glob matches nothing", Input{Root: root, Contents: []config.Content{{Source: filepath.Join(src, "*.none"), Target: "/x"}}}, ErrSource},
		{"bad glob", Input{Root: root, Contents: []config.Content{{Source: filepath.Join(src, "[*"), Target: "/x"}}}, ErrSource},
		{"duplicate target", Input{Root: root, Contents: []config.Content{{Source: f, Target: "/x"}, {Source: f, Target: "x"}}}, ErrDuplicate},
		{"target is a created parent", Input{Root: root, Contents: []config.Content{{Source: f, Target: "/a/b"}, {Source: d, Target: "/a"}}}, ErrDuplicate},
		{"target is root", Input{Root: root, Contents: []config.Content{{Source: d, Target: "/"}}}, ErrDuplicate},
		{"target under a file", Input{Root: root, Contents: []config.Content{{Source: f, Target: "/a"}, {Source: f, Target: "/a/b"}}}, ErrConflict},
		{"target escapes", Input{Root: root, Contents: []config.Content{{Source: f, Target: "../x"}}}, ErrTarget},
		{"file over root dir", Input{Root: root, Contents: []config.Content{{Source: f, Target: "/bin"}}}, ErrConflict},
		{"dir over root file", Input{Root: root, Contents: []config.Content{{Source: d, Target: "/file"}}}, ErrConflict},
		{"unknown user", Input{Root: root, Contents: []config.Content{{Source: f, Target: "/x", User: "bob", Group: "users"}}}, ErrOwner},
		{"unknown group", Input{Root: root, Contents: []config.Content{{Source: f, Target: "/x", User: "alice", Group: "staff"}}}, ErrOwner},
		{"no passwd", Input{Contents: []config.Content{{Source: f, Target: "/x", User: "alice", Group: "0"}}}, ErrOwner},
		{"id out of range", Input{Root: root, Contents: []config.Content{{Source: f, Target: "/x", User: "4294967296", Group: "0"}}}, ErrOwner},
		{"configFile missing", Input{Root: root, ConfigFile: filepath.Join(src, "nope.nix")}, ErrSource},
		{"configFile is a dir", Input{Root: root, ConfigFile: d}, ErrSource},
		{"additionalPath missing", Input{Root: root, AdditionalPaths: []string{filepath.Join(src, "nope")}}, ErrSource},
		{"additionalPath relative", Input{Root: root, AdditionalPaths: []string{"nix/store/x"}}, ErrTarget},
		{"additionalPath under a file", Input{Root: root, AdditionalPaths: []string{"/file/x"}}, ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Stage(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Stage = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	dir := t.TempDir()
	files(t, dir, map[string]string{"a/x1": "", "a/x2": "", "a/.x3": "", "b/x1": "", "c": "", "a/y": ""})
	for pat, want := range map[string][]string{
		"*/x*":   {"a/x1", "a/x2", "b/x1"},
		"a/.x*":  {"a/.x3"},
		"a/x?":   {"a/x1", "a/x2"},
		"[ab]/y": {"a/y"},
		"c/*":    nil,
		"*":      {"a", "b", "c"},
	} {
		got, err := glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			want[i] = filepath.Join(dir, want[i])
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("glob(%s) = %v, want %v", pat, got, want)
		}
	}
}

func TestFromConfig(t *testing.T) {
	c, err := config.Parse([]byte(`{"root": "/r", "onlyNixStore": true, "additionalPaths": ["/nix/store/a"]}`))
	if err != nil {
		t.Fatal(err)
	}
	in, err := FromConfig(c, "")
	if err != nil {
		t.Fatal(err)
	}
	if in.Root != "/r" || !in.OnlyNixStore || !in.FixTimes || in.Epoch != 1 || len(in.AdditionalPaths) != 1 {
		t.Errorf("%+v", in)
	}
	if _, err := FromConfig(c, "x"); !errors.Is(err, config.ErrEpoch) {
		t.Errorf("bad epoch: %v", err)
	}
}

func TestOwnerThroughSymlinks(t *testing.T) {
	top := t.TempDir()
	root := filepath.Join(top, "root")
	src := filepath.Join(top, "src")
	files(t, root, map[string]string{
		"etc/passwd":                   "->/etc/static/passwd",
		"etc/static":                   "->../nix/store/abc-etc/etc",
		"nix/store/abc-etc/etc/passwd": "# comment\nbob:x:2000:2000::/:/bin/sh\n",
		"etc/group":                    "->group2",
		"etc/group2":                   "->./static/../../../../etc/group3",
		"etc/group3":                   "staff:x:50:bob\n",
		"etc/loop":                     "->loop",
	})
	files(t, src, map[string]string{"d/f": "x"})
	r, err := Stage(Input{Root: root, Contents: []config.Content{{Source: filepath.Join(src, "d"), Target: "/home/bob", User: "bob", Group: "staff"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := find(t, r.Tree, "/home/bob/f"); n.UID != 2000 || n.GID != 50 {
		t.Errorf("owner %d:%d", n.UID, n.GID)
	}
	if n := find(t, r.Tree, "/home"); n.UID != 0 {
		t.Errorf("/home owner %d", n.UID)
	}
	if _, err := readTreeFile(r.Tree, "etc/loop"); err == nil {
		t.Error("symlink loop read")
	}
}

func TestGlobMerge(t *testing.T) {
	top := t.TempDir()
	files(t, top, map[string]string{
		"a/share/x":   "1",
		"a/share/dup": "old",
		"b/share/y":   "2",
		"b/share/dup": "new",
		"c/share":     "a file",
	})
	if err := os.Chmod(filepath.Join(top, "b/share"), 0o711); err != nil {
		t.Fatal(err)
	}
	in := Input{Contents: []config.Content{
		{Source: filepath.Join(top, "a/*"), Target: "/usr"},
		{Source: filepath.Join(top, "b/*"), Target: "/usr"},
	}}
	root, err := build(in)
	if err != nil {
		t.Fatal(err)
	}
	want := "/usr dir 755 0:0\n/usr/share dir 711 0:0\n/usr/share/dup reg 640 0:0\n/usr/share/x reg 640 0:0\n/usr/share/y reg 640 0:0\n"
	if got := listing(root); !strings.Contains(got, want) {
		t.Errorf("tree\n%s\nwant\n%s", got, want)
	}
	if n := find(t, root, "/usr/share/dup"); n.Source != filepath.Join(top, "b/share/dup") {
		t.Errorf("dup from %s", n.Source)
	}
	in.Contents = append(in.Contents, config.Content{Source: filepath.Join(top, "c/*"), Target: "/usr"})
	if _, err := build(in); !errors.Is(err, ErrConflict) {
		t.Errorf("file over a merged directory: %v", err)
	}
}

func TestXattrs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	files(t, dir, map[string]string{"f": "x"})
	if err := unix.Setxattr(p, "user.purefs", []byte("v"), 0); err != nil {
		t.Skipf("no user xattrs here: %v", err)
	}
	r, err := build(Input{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	if x := find(t, r, "/f").Xattrs; len(x) != 1 || x[0].Name != "user.purefs" || string(x[0].Value) != "v" {
		t.Errorf("xattrs %+v", x)
	}
	r, err = build(Input{Root: dir, Walk: WalkOptions{NoXattrs: true}})
	if err != nil {
		t.Fatal(err)
	}
	if x := find(t, r, "/f").Xattrs; len(x) != 0 {
		t.Errorf("NoXattrs kept %+v", x)
	}
}

func TestSplitBoot(t *testing.T) {
	root := t.TempDir()
	files(t, root, map[string]string{"boot/EFI/BOOT/BOOTX64.EFI": "pe", "boot/loader/loader.conf": "timeout 0\n", "etc/x": ""})
	tr, err := build(Input{Root: root, FixTimes: true, Epoch: 7})
	if err != nil {
		t.Fatal(err)
	}
	esp, err := SplitBoot(tr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := listing(esp), "/ dir 755 0:0\n/EFI dir 755 0:0\n/EFI/BOOT dir 755 0:0\n/EFI/BOOT/BOOTX64.EFI reg 640 0:0\n/loader dir 755 0:0\n/loader/loader.conf reg 640 0:0\n"; got != want {
		t.Errorf("esp\n%s\nwant\n%s", got, want)
	}
	if b := find(t, tr, "/boot"); len(b.Entries) != 0 {
		t.Errorf("/boot keeps %d entries", len(b.Entries))
	}
	empty, err := build(Input{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SplitBoot(empty); err != nil || find(t, empty, "/boot").Type != tree.Dir {
		t.Errorf("SplitBoot without /boot: %v", err)
	}
	odd := t.TempDir()
	files(t, odd, map[string]string{"boot": "->/nowhere"})
	tr, err = build(Input{Root: odd})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := SplitBoot(tr); !errors.Is(err, ErrConflict) {
		t.Errorf("symlinked /boot: %v", err)
	}
}

// TestStageReowned: without KeepOwners, the entries owned by others than
// the root directory's owner are counted (hard links once), setuid and
// setgid ones apart; with KeepOwners, or in a tree of one owner, nothing.
func TestStageReowned(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := t.TempDir()
	files(t, root, map[string]string{"shadow": "x", "chkpwd": "y", "plain": "z", "mine": "w"})
	os.Chown(filepath.Join(root, "shadow"), 0, 42)
	os.Chown(filepath.Join(root, "chkpwd"), 0, 42)
	os.Chmod(filepath.Join(root, "chkpwd"), os.ModeSetgid|0o755)
	os.Chown(filepath.Join(root, "plain"), 1000, 1000)
	os.Chmod(filepath.Join(root, "mine"), os.ModeSetuid|0o755) // setuid, but root's: not counted
	if err := os.Link(filepath.Join(root, "plain"), filepath.Join(root, "plain2")); err != nil {
		t.Fatal(err)
	}
	os.Chown(root, 0, 0)
	r, err := Stage(Input{Root: root, Epoch: 5})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Reowned{Entries: 3, SetID: 1}); r.Reowned != want {
		t.Errorf("Reowned = %+v, want %+v", r.Reowned, want)
	}
	if n := find(t, r.Tree, "/chkpwd"); n.UID != 0 || n.GID != 0 || n.Perm != 0o2755 {
		t.Errorf("/chkpwd %+v", n)
	}
	if r, err := Stage(Input{Root: root, KeepOwners: true, Epoch: 5}); err != nil || r.Reowned != (Reowned{}) {
		t.Errorf("KeepOwners: %+v, %v", r.Reowned, err)
	}
	// a tree of one owner (as a Nix build's is): nothing to say
	one := t.TempDir()
	files(t, one, map[string]string{"a": "x"})
	filepath.Walk(one, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, 1000, 1000) })
	if r, err := Stage(Input{Root: one, Epoch: 5}); err != nil || r.Reowned != (Reowned{}) {
		t.Errorf("one owner: %+v, %v", r.Reowned, err)
	}
}

// build stages in and returns the tree to write.
func build(in Input) (*tree.Node, error) {
	r, err := Stage(in)
	if err != nil {
		return nil, err
	}
	return r.Tree, nil
}
