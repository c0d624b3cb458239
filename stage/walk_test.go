package stage

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/tree"
)

// shape renders a tree with every attribute a walk sets and, for each
// node, the first path it was seen at (so shared nodes show up).
func shape(root *tree.Node) string {
	first := map[*tree.Node]string{}
	var b strings.Builder
	_ = tree.Walk(root, func(p string, n *tree.Node) error {
		if _, ok := first[n]; !ok {
			first[n] = p
		}
		fmt.Fprintf(&b, "%q %v %o %d %q %q same-as=%q\n", p, n.Type, n.Perm, n.Size, n.Source, n.Target, first[n])
		return nil
	})
	return b.String()
}

func TestParallelWalkIsSequentialWalk(t *testing.T) {
	dir := t.TempDir()
	for d := 0; d < 40; d++ {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", d%7), fmt.Sprintf("e%02d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := 0; f < 5; f++ {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%d", f)), []byte(sub), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Hard links across directories, made in an order unrelated to
		// the walk's.
		if d > 0 {
			target := filepath.Join(dir, fmt.Sprintf("d%02d", (d*3)%7), fmt.Sprintf("e%02d", (d*13)%d), "f0")
			if _, err := os.Stat(target); err == nil {
				if err := os.Link(target, filepath.Join(sub, "hard")); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	seq, err := Dir(dir, WalkOptions{Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := shape(seq)
	if !strings.Contains(want, "/hard") {
		t.Fatal("no hard links made")
	}
	for _, par := range []int{0, 2, 64} {
		for i := 0; i < 5; i++ {
			got, err := Dir(dir, WalkOptions{Parallel: par})
			if err != nil {
				t.Fatal(err)
			}
			if s := shape(got); s != want {
				t.Fatalf("Parallel %d differs from a sequential walk", par)
			}
		}
	}
}

// TestWalkErrors: unreadable files and directories are errors, and the one
// reported is the first bad path in name order, whatever the order the
// directories were read in. As root (who reads everything) the test runs
// itself as uid 65534.
func TestWalkErrors(t *testing.T) {
	dir := os.Getenv("PUREFS_WALK_ERRORS") // set in the run as uid 65534
	if dir == "" {
		dir = nobodyDir(t)
		files(t, dir, map[string]string{"a/x": "1", "b/y": "2", "c/": "", "c/z": "3"})
		if os.Geteuid() == 0 {
			for _, p := range []string{"", "a", "a/x", "b", "b/y", "c", "c/z"} {
				if err := os.Lchown(filepath.Join(dir, p), nobody, nobody); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, p := range []string{"b/y", "c"} {
			if err := os.Chmod(filepath.Join(dir, p), 0); err != nil {
				t.Fatal(err)
			}
		}
		defer os.Chmod(filepath.Join(dir, "c"), 0o755)
		if os.Geteuid() == 0 {
			out, err := runAsNobody(t, dir, "TestWalkErrors", "PUREFS_WALK_ERRORS="+dir)
			if err != nil {
				t.Fatalf("as uid 65534: %v\n%s", err, out)
			}
			return
		}
	}
	for i := 0; i < 5; i++ {
		_, err := Dir(dir, WalkOptions{})
		if !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), filepath.Join(dir, "b/y")) {
			t.Fatalf("Dir = %v, want ErrSource naming b/y (the first bad path)", err)
		}
	}
	if _, err := Dir(filepath.Join(dir, "c"), WalkOptions{}); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), filepath.Join(dir, "c")) {
		t.Errorf("Dir of an unreadable directory = %v", err)
	}
	// With b/y readable, the unreadable subdirectory is the error.
	if err := os.Chmod(filepath.Join(dir, "b/y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Dir(dir, WalkOptions{}); !errors.Is(err, ErrSource) || !strings.Contains(err.Error(), filepath.Join(dir, "c")+":") {
		t.Errorf("Dir = %v, want ErrSource naming c", err)
	}
	if _, err := Dir(filepath.Join(dir, "a/x"), WalkOptions{}); !errors.Is(err, ErrSource) {
		t.Errorf("Dir of a file = %v", err)
	}
}

// TestWalkReadableAsOtherUser walks, as an unprivileged user, sources that
// the mode bits alone decide and sources whose ACL decides: the walk
// refuses exactly the files that user cannot read.
func TestWalkReadableAsOtherUser(t *testing.T) {
	if os.Getenv("PUREFS_WALK_CHILD") != "" {
		for _, d := range strings.Split(os.Getenv("PUREFS_WALK_CHILD"), ":") {
			_, err := Dir(d, WalkOptions{})
			fmt.Printf("%s %v\n", filepath.Base(d), err == nil)
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a walk as another user")
	}
	dir := nobodyDir(t)
	// ACL in the kernel's xattr form: version 2, then (tag, perm, id).
	acl := func(user uint16) []byte {
		b := []byte{2, 0, 0, 0}
		for _, e := range [][3]uint32{{0x01, 6, 0xffffffff}, {0x02, uint32(user), nobody}, {0x04, 0, 0xffffffff}, {0x10, 4, 0xffffffff}, {0x20, 4, 0xffffffff}} {
			b = append(b, byte(e[0]), byte(e[0]>>8), byte(e[1]), byte(e[1]>>8), byte(e[2]), byte(e[2]>>8), byte(e[2]>>16), byte(e[2]>>24))
		}
		return b
	}
	cases := []struct {
		name     string
		uid, gid int
		mode     os.FileMode
		acl      []byte
		ok       bool
	}{
		{"own-0400", nobody, 0, 0o400, nil, true},
		{"own-0000", nobody, 0, 0, nil, false},
		{"own-0044", nobody, 0, 0o044, nil, false}, // the owner class decides
		{"other-0644", 0, 0, 0o644, nil, true},
		{"other-0640", 0, 0, 0o640, nil, false},
		{"group-0604", 0, nobody, 0o604, nil, false}, // the group class decides
		{"group-0640", 0, nobody, 0o640, nil, true},
		{"acl-grant", 0, 0, 0o600, acl(4), true},
		{"acl-deny", 0, 0, 0o644, acl(0), false},
	}
	var dirs []string
	want := ""
	for _, c := range cases {
		d := filepath.Join(dir, c.name)
		f := filepath.Join(d, "f")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(c.name), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(f, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
		if c.acl != nil {
			if err := unix.Setxattr(f, "system.posix_acl_access", c.acl, 0); err != nil {
				t.Skipf("no POSIX ACLs here: %v", err)
			}
		}
		if err := os.Chmod(f, c.mode); err != nil {
			t.Fatal(err)
		}
		if c.acl != nil {
			// chmod rewrites the mask entry: put the ACL back as made.
			if err := unix.Setxattr(f, "system.posix_acl_access", c.acl, 0); err != nil {
				t.Fatal(err)
			}
		}
		dirs = append(dirs, d)
		want += fmt.Sprintf("%s %v\n", c.name, c.ok)
	}
	out, err := runAsNobody(t, dir, "TestWalkReadableAsOtherUser", "PUREFS_WALK_CHILD="+strings.Join(dirs, ":"))
	if err != nil {
		t.Fatalf("walk as uid %d: %v\n%s", nobody, err, out)
	}
	got := strings.TrimSuffix(strings.TrimSuffix(string(out), "PASS\n"), "ok\n")
	if !strings.HasPrefix(got, want) {
		t.Errorf("walk as uid %d:\n%s\nwant:\n%s", nobody, out, want)
	}
}

// TestWalkLeavesOutHostXattrs: attributes that belong to the host's file
// system (XFS's copies of ACLs, EVM signatures) are not read into the
// tree; the file's own are.
func TestWalkLeavesOutHostXattrs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("trusted.* attributes need root")
	}
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"trusted.SGI_ACL_FILE", "trusted.SGI_DMI_x", "user.keep", "trusted.keep"} {
		if err := unix.Setxattr(f, name, []byte("v"), 0); err != nil {
			t.Skipf("setxattr %s: %v", name, err)
		}
	}
	root, err := Dir(dir, WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range root.Entries[0].Node.Xattrs {
		got = append(got, x.Name)
	}
	if want := []string{"trusted.keep", "user.keep"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("xattrs %v, want %v", got, want)
	}
}

const nobody = 65534

// nobodyDir returns a temporary directory that uid 65534 can enter.
func nobodyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runAsNobody runs the test named test of this binary as uid and gid 65534
// with env added, from a copy of the binary in dir (the original sits in a
// directory only root can enter), and returns its output.
func runAsNobody(t *testing.T, dir, test string, env ...string) ([]byte, error) {
	t.Helper()
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "walk.test")
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(bin)
	cmd := exec.Command(bin, "-test.run=^"+test+"$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	return cmd.CombinedOutput()
}

// TestWalkLeavesDirectoryAtimes: reading directories does not move their
// access times (O_NOATIME), so a second build from a tree sees the times
// the first one saw.
func TestWalkLeavesDirectoryAtimes(t *testing.T) {
	dir := t.TempDir()
	files(t, dir, map[string]string{"d/f": "data", "d/e/": ""})
	old := []unix.Timespec{unix.NsecToTimespec(946684800e9), unix.NsecToTimespec(946684800e9)} // 2000-01-01
	for _, p := range []string{"d", "d/f", "d/e"} {
		if err := unix.UtimesNano(filepath.Join(dir, p), old); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := Dir(dir, WalkOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"d", "d/e"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, p), &st); err != nil {
			t.Fatal(err)
		}
		if st.Atim.Sec != 946684800 {
			t.Errorf("%s: atime moved to %d by the walk", p, st.Atim.Sec)
		}
	}
}
