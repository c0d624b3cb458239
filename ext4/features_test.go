package ext4

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/tree"
)

var t0 = time.Date(2024, 2, 29, 12, 34, 56, 123456789, time.UTC)

func file(data []byte) *tree.Node {
	return &tree.Node{Type: tree.Regular, Perm: 0o644, Size: int64(len(data)), Data: data, Mtime: t0, Atime: t0, Ctime: t0}
}

func dir(entries ...tree.Entry) *tree.Node {
	d := &tree.Node{Type: tree.Dir, Perm: 0o755, Mtime: t0, Atime: t0, Ctime: t0, Entries: entries}
	d.Sort()
	return d
}

// exactMount compares a mounted image with the tree it was made from.
func exactMount(t *testing.T, img string, root *tree.Node) {
	t.Helper()
	want, err := manifest.FromTree(root, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkMounted(t, img, 0, expect{want, manifest.CompareOptions{}})
}

func TestHtreeTwoLevels(t *testing.T) {
	big := dir()
	for i := range 10000 {
		name := fmt.Sprintf("%06d-%s", i, strings.Repeat("n", 240))
		big.Entries = append(big.Entries, tree.Entry{Name: name, Node: file(nil)})
	}
	small := dir()
	for i := range 500 {
		small.Entries = append(small.Entries, tree.Entry{Name: fmt.Sprintf("f%d", i), Node: file([]byte{byte(i)})})
	}
	root := dir(tree.Entry{Name: "big", Node: big}, tree.Entry{Name: "small", Node: small})
	img := build(t, root, Options{Size: 128 << 20})
	for _, d := range []string{"/big", "/small"} {
		out := oracle.Debugfs(t, img, 0, "htree "+d)
		if !strings.Contains(out, "Root node dump") || strings.Contains(out, "not a hash-indexed") {
			t.Errorf("debugfs htree %s:\n%s", d, head(out, 20))
		}
	}
	if out := oracle.Debugfs(t, img, 0, "htree /big"); !strings.Contains(out, "Indirect levels: 1") {
		t.Errorf("/big should have two index levels:\n%s", head(out, 12))
	}
	exactMount(t, img, root)
	checkSecondReader(t, img, dir(tree.Entry{Name: "small", Node: small}))
}

func TestDeepExtentTree(t *testing.T) {
	// 3000 data blocks separated by holes: 3000 extents, a two-level tree.
	data := make([]byte, 6000*BlockSize)
	for i := 0; i < 3000; i++ {
		data[2*i*BlockSize] = byte(i%255 + 1)
	}
	// All-zero blocks written as data are not allocated either.
	f := file(data)
	root := dir(tree.Entry{Name: "sparse", Node: f}, tree.Entry{Name: "dense", Node: file(bytes.Repeat([]byte("x"), 300*BlockSize+17))})
	img := build(t, root, Options{Size: 64 << 20})
	out := oracle.Debugfs(t, img, 0, "stat /sparse")
	if !strings.Contains(out, "Blockcount: ") || strings.Contains(out, "Blockcount: 0") {
		t.Fatalf("stat: %s", head(out, 10))
	}
	ex := oracle.Debugfs(t, img, 0, "ex /sparse")
	if !strings.Contains(ex, " 2/ 2 ") {
		t.Errorf("expected a depth-2 extent tree:\n%s", head(ex, 8))
	}
	if !strings.Contains(out, fmt.Sprintf("Blockcount: %d", (3000+9+1)*8)) {
		t.Errorf("sparse file should own 3000 data and 10 tree blocks:\n%s", head(out, 12))
	}
	exactMount(t, img, root)
}

// acl builds a POSIX ACL in the Linux xattr encoding.
func acl(entries ...[3]uint32) []byte {
	b := make([]byte, 4+8*len(entries))
	le.PutUint32(b, 2)
	for i, e := range entries {
		le.PutUint16(b[4+8*i:], uint16(e[0]))
		le.PutUint16(b[6+8*i:], uint16(e[1]))
		le.PutUint32(b[8+8*i:], e[2])
	}
	return b
}

func TestXattrsAndDevices(t *testing.T) {
	var many []tree.Xattr
	for i := range 12 {
		many = append(many, tree.Xattr{Name: fmt.Sprintf("user.attr%02d", i), Value: bytes.Repeat([]byte{byte('a' + i)}, 100)})
	}
	a, b := file([]byte("a")), file([]byte("b"))
	a.Xattrs, b.Xattrs = many, many
	small := file([]byte("s"))
	small.Xattrs = []tree.Xattr{{Name: "security.selinux", Value: []byte("system_u:object_r:etc_t:s0\x00")}}
	d := dir()
	d.Xattrs = []tree.Xattr{
		{Name: "system.posix_acl_access", Value: acl([3]uint32{1, 7, 0xFFFFFFFF}, [3]uint32{2, 5, 1000}, [3]uint32{4, 5, 0xFFFFFFFF}, [3]uint32{0x10, 7, 0xFFFFFFFF}, [3]uint32{0x20, 1, 0xFFFFFFFF})},
		{Name: "system.posix_acl_default", Value: acl([3]uint32{1, 7, 0xFFFFFFFF}, [3]uint32{4, 5, 0xFFFFFFFF}, [3]uint32{8, 6, 70000}, [3]uint32{0x10, 7, 0xFFFFFFFF}, [3]uint32{0x20, 0, 0xFFFFFFFF})},
	}
	dev := func(ty tree.Type, ma, mi uint32) *tree.Node {
		return &tree.Node{Type: ty, Perm: 0o600, Major: ma, Minor: mi, UID: 70000, GID: 1 << 31, Mtime: t0, Atime: t0, Ctime: t0}
	}
	long := &tree.Node{Type: tree.Symlink, Perm: 0o777, Target: strings.Repeat("long/", 100), Mtime: t0, Atime: t0, Ctime: t0}
	short := &tree.Node{Type: tree.Symlink, Perm: 0o777, Target: "a", Mtime: t0, Atime: t0, Ctime: t0}
	suid := file([]byte("#!/bin/sh\n"))
	suid.Perm = 0o4755
	sticky := dir()
	sticky.Perm = 0o1777
	root := dir(
		tree.Entry{Name: "a", Node: a}, tree.Entry{Name: "b", Node: b}, tree.Entry{Name: "b-link", Node: b},
		tree.Entry{Name: "s", Node: small}, tree.Entry{Name: "acl", Node: d},
		tree.Entry{Name: "null", Node: dev(tree.CharDev, 1, 3)}, tree.Entry{Name: "nvme", Node: dev(tree.BlockDev, 259, 65536)},
		tree.Entry{Name: "big", Node: dev(tree.CharDev, 4000, 1<<19)},
		tree.Entry{Name: "fifo", Node: dev(tree.FIFO, 0, 0)}, tree.Entry{Name: "sock", Node: dev(tree.Socket, 0, 0)},
		tree.Entry{Name: "long", Node: long}, tree.Entry{Name: "short", Node: short},
		tree.Entry{Name: "suid", Node: suid}, tree.Entry{Name: "tmp", Node: sticky},
	)
	img := build(t, root, Options{Size: 16 << 20})
	// a and b carry the same attributes: one shared block, two references.
	sa, sb := oracle.Debugfs(t, img, 0, "stat /a"), oracle.Debugfs(t, img, 0, "stat /b")
	acl1, acl2 := fileACL(sa), fileACL(sb)
	if acl1 == "" || acl1 == "0" || acl1 != acl2 {
		t.Errorf("xattr blocks: /a %q, /b %q", acl1, acl2)
	}
	exactMount(t, img, root)
}

// fileACL returns the "File ACL:" field of debugfs stat output.
func fileACL(s string) string {
	_, v, _ := strings.Cut(s, "File ACL: ")
	f := strings.Fields(v)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func TestHardLinkGroups(t *testing.T) {
	n := 20000
	if !testing.Short() {
		n = 100000
	}
	d := dir()
	for i := range n {
		f := file([]byte{byte(i)})
		d.Entries = append(d.Entries, tree.Entry{Name: fmt.Sprintf("a%07d", i), Node: f}, tree.Entry{Name: fmt.Sprintf("b%07d", i), Node: f})
	}
	shared := file([]byte("shared"))
	wide := dir()
	for i := range maxLinks {
		wide.Entries = append(wide.Entries, tree.Entry{Name: fmt.Sprintf("l%05d", i), Node: shared})
	}
	d.Sort()
	root := dir(tree.Entry{Name: "pairs", Node: d}, tree.Entry{Name: "wide", Node: wide})
	if !testing.Short() {
		// More subdirectories than a link count holds: dir_nlink sets 1.
		subs := dir()
		for i := range maxLinks + 10 {
			subs.Entries = append(subs.Entries, tree.Entry{Name: fmt.Sprintf("s%06d", i), Node: dir()})
		}
		root.Set("subs", subs)
	}
	img := build(t, root, Options{Size: 1 << 30})
	if out := oracle.Debugfs(t, img, 0, "stat /wide/l00000"); !strings.Contains(out, fmt.Sprintf("Links: %d", maxLinks)) {
		t.Errorf("stat: %s", head(out, 6))
	}
	if !testing.Short() {
		if out := oracle.Debugfs(t, img, 0, "stat /subs"); !strings.Contains(out, "Links: 1 ") {
			t.Errorf("stat /subs: %s", head(out, 6))
		}
	}
	wide.Entries = append(wide.Entries, tree.Entry{Name: "z", Node: shared})
	if err := Write(discard{}, root, Options{Size: 512 << 20}); !errors.Is(err, ErrTree) {
		t.Errorf("65001 links: %v, want ErrTree", err)
	}
}

type discard struct{}

func (discard) WriteAt(p []byte, off int64) (int, error) { return len(p), nil }

func TestDeterministic(t *testing.T) {
	mk := func() *tree.Node {
		var es []tree.Entry
		for i := range 200 {
			es = append(es, tree.Entry{Name: fmt.Sprintf("file%03d", i), Node: file(bytes.Repeat([]byte{byte(i)}, i*100))})
		}
		return dir(tree.Entry{Name: "d", Node: dir(es...)}, tree.Entry{Name: "x", Node: file([]byte("x"))})
	}
	opts := Options{Size: 32 << 20, Label: "det", Epoch: 1700000000, HasEpoch: true}
	a := build(t, mk(), opts)
	b := build(t, mk(), opts)
	if !sameFile(t, a, b) {
		t.Error("two builds of the same tree differ")
	}
	if DeriveUUID(mk(), opts) == DeriveUUID(mk(), Options{Size: 32 << 20, Label: "other"}) {
		t.Error("the derived UUID ignores the label")
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

func TestErrors(t *testing.T) {
	long := dir()
	long.Entries = []tree.Entry{{Name: strings.Repeat("n", 256), Node: file(nil)}}
	missing := dir(tree.Entry{Name: "gone", Node: &tree.Node{Type: tree.Regular, Perm: 0o644, Size: 10, Source: "/nonexistent/purefs-source"}})
	var many []tree.Entry
	for i := range 100 {
		many = append(many, tree.Entry{Name: fmt.Sprint(i), Node: file(nil)})
	}
	bigx := file(nil)
	bigx.Xattrs = []tree.Xattr{{Name: "user.big", Value: make([]byte, 5000)}}
	cases := []struct {
		name string
		root *tree.Node
		opts Options
		want error
		text string
	}{
		{"label", dir(), Options{Size: 16 << 20, Label: "this label is too long"}, ErrLabel, "at most 16"},
		{"small", dir(), Options{Size: 1 << 20}, ErrNoSpace, "the tree fits in"},
		{"full", dir(tree.Entry{Name: "f", Node: file(bytes.Repeat([]byte{1}, 9<<20))}), Options{Size: 8 << 20}, ErrNoSpace, "the tree fits in"},
		{"name", long, Options{Size: 16 << 20}, ErrName, "nnnn"},
		{"source", missing, Options{Size: 16 << 20}, ErrSource, "/gone"},
		{"inodes", dir(many...), Options{Size: 16 << 20, Inodes: 50}, ErrTooManyInodes, "needs 111"},
		{"xattr", dir(tree.Entry{Name: "x", Node: bigx}), Options{Size: 16 << 20}, ErrXattr, "user.big"},
		{"root", file(nil), Options{Size: 16 << 20}, ErrTree, "root"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(discard{}, tc.root, tc.opts)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %v, want %v mentioning %q", err, tc.want, tc.text)
			}
		})
	}
}

// TestWindowOnly checks that Write touches nothing outside its window
// through a plain io.WriterAt.
func TestWindowOnly(t *testing.T) {
	img := filepath.Join(t.TempDir(), "w.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const off, size = 3 << 20, 16 << 20
	if err := f.Truncate(off + size + 1<<20); err != nil {
		t.Fatal(err)
	}
	w := &boundedWriter{f: f, off: off, size: size}
	root := dir(tree.Entry{Name: "x", Node: file([]byte("hello"))})
	if err := Write(w, root, Options{Size: size}); err != nil {
		t.Fatal(err)
	}
	if w.bad != "" {
		t.Fatal(w.bad)
	}
	oracle.E2fsckStrict(t, img, off)
	var st unix.Stat_t
	if err := unix.Stat(img, &st); err != nil {
		t.Fatal(err)
	}
	if st.Blocks*512 > 2<<20 {
		t.Errorf("image uses %d bytes on disk: not sparse", st.Blocks*512)
	}
}

type boundedWriter struct {
	f         *os.File
	off, size int64
	bad       string
}

func (w *boundedWriter) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > w.size {
		w.bad = fmt.Sprintf("write of %d bytes at %d outside the %d-byte window", len(p), off, w.size)
	}
	return w.f.WriteAt(p, w.off+off)
}

func TestOwnerEpochLostFound(t *testing.T) {
	late := file([]byte("late"))
	late.Mtime = time.Date(2035, 1, 1, 0, 0, 0, 5, time.UTC)
	late.UID, late.GID = 1000, 1000
	early := file([]byte("early"))
	early.Mtime = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	lf := dir(tree.Entry{Name: "kept", Node: file([]byte("k"))})
	lf.Perm = 0o700
	root := dir(tree.Entry{Name: "late", Node: late}, tree.Entry{Name: "early", Node: early}, tree.Entry{Name: "lost+found", Node: lf})
	epoch := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	img := build(t, root, Options{Size: 16 << 20, Epoch: epoch.Unix(), HasEpoch: true, Owner: &Owner{UID: 0, GID: 0}})
	mnt := oracle.Mount(t, img, 0, "ext4")
	var st unix.Stat_t
	if err := unix.Lstat(mnt+"/late", &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 0 || st.Gid != 0 || st.Mtim.Sec != epoch.Unix() || st.Mtim.Nsec != 0 {
		t.Errorf("/late: uid %d gid %d mtime %v, want 0 0 %v", st.Uid, st.Gid, st.Mtim, epoch.Unix())
	}
	if err := unix.Lstat(mnt+"/early", &st); err != nil {
		t.Fatal(err)
	}
	if st.Mtim.Sec != early.Mtime.Unix() {
		t.Errorf("/early: mtime %d, want %d", st.Mtim.Sec, early.Mtime.Unix())
	}
	if b, err := os.ReadFile(mnt + "/lost+found/kept"); err != nil || string(b) != "k" {
		t.Errorf("/lost+found/kept: %q, %v", b, err)
	}
	if h := oracle.Dumpe2fs(t, img, 0); !strings.Contains(h["Filesystem created"], "Sat Jun  1 00:00:00 2024") {
		t.Errorf("Filesystem created: %q", h["Filesystem created"])
	}
}

// TestNeedIsEnough: a file system of the size Need returns holds the tree.
func TestNeedIsEnough(t *testing.T) {
	var es []tree.Entry
	for i := range 3000 {
		es = append(es, tree.Entry{Name: fmt.Sprintf("f%04d", i), Node: file(bytes.Repeat([]byte{byte(i) | 1}, i*7))})
	}
	sub := dir(es...)
	root := dir(tree.Entry{Name: "d", Node: sub}, tree.Entry{Name: "big", Node: file(bytes.Repeat([]byte{1}, 20<<20))})
	size, inodes, err := Need(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if inodes < 3013 {
		t.Errorf("Need: %d inodes", inodes)
	}
	build(t, root, Options{Size: size})
	if err := Write(discard{}, root, Options{Size: size - 8<<20}); !errors.Is(err, ErrNoSpace) {
		t.Errorf("8 MiB less than needed: %v", err)
	}
}
