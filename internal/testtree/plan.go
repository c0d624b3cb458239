package testtree

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/purefs/purefs/tree"
)

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// classSizes are the per-class magnitudes of the plan.
type classSizes struct {
	bigFile    int64 // the largest dense file
	bigDir     int   // entries in /dirs/big (one 4 KiB block holds about 110)
	random     int   // entries of the random subtree
	maxRandom  int64 // largest random file
	manyHoles  int   // data chunks of /sparse/many-holes
	hardGroups int   // extra hard-link groups
}

func (c Class) sizes() classSizes {
	switch c {
	case Small:
		return classSizes{3*mib + 7, 400, 200, 256 * kib, 128, 4}
	case Medium:
		return classSizes{6*mib + 5, 1500, 800, 256 * kib, 256, 8}
	case Large:
		return classSizes{12*mib + 3, 5000, 3000, 256 * kib, 512, 16}
	}
	return classSizes{2*mib + 3, 200, 30, 64 * kib, 64, 1}
}

func (g *gen) dir(path string, mode uint32) *spec {
	return g.add(&spec{path: path, typ: tree.Dir, mode: mode})
}

// file plans a dense regular file of random content.
func (g *gen) file(path string, mode uint32, size int64) *spec {
	s := &spec{path: path, typ: tree.Regular, mode: mode, size: size}
	if size > 0 {
		s.extents = []extent{{0, size}}
	}
	return g.add(s)
}

// sparse plans a regular file with data only in the given regions.
func (g *gen) sparse(path string, size int64, data ...extent) *spec {
	return g.add(&spec{path: path, typ: tree.Regular, mode: 0o644, size: size, extents: data})
}

func (g *gen) symlink(path, target string) *spec {
	return g.add(&spec{path: path, typ: tree.Symlink, mode: 0o777, target: target})
}

func (g *gen) node(path string, t tree.Type, major, minor uint32) *spec {
	return g.add(&spec{path: path, typ: t, mode: 0o644, major: major, minor: minor})
}

// link plans path as a further name of the inode planned at first.
func (g *gen) link(path, first string) {
	f := g.byPath[first]
	if f == nil || f.typ == tree.Dir {
		if g.err == nil {
			g.err = fmt.Errorf("%w: plan: hard link %q to %q, which is not a planned non-directory", ErrGenerate, path, first)
		}
		return
	}
	g.add(&spec{path: path, typ: f.typ, linkTo: first, mtime: f.mtime, atime: f.atime})
}

// plan lays out the whole tree.
func (g *gen) plan() error {
	cs := g.opts.Class.sizes()
	fat := g.opts.FATSafe
	special := !fat && !g.opts.NoSpecial
	xattrs := !fat && !g.opts.NoXattrs
	acls := xattrs && !g.opts.NoACLs
	hard := !fat && !g.opts.NoHardLinks
	if special && !g.root {
		g.notes = append(g.notes, "not root: no character or block devices")
	}
	if !fat && !g.root {
		g.notes = append(g.notes, "not root: every entry is owned by the caller")
	}
	if !g.root {
		g.notes = append(g.notes, "not root: no files or directories the owner cannot read")
	}

	g.dir("/", 0o755)

	// Regular files around the block size and up to several MiB; one of
	// explicit zeros.
	g.dir("/files", 0o755)
	for _, n := range []int64{0, 1, 511, 512, 4095, 4096, 4097, 8191, 8192, 65536, 1*mib - 1, 1*mib + 1, cs.bigFile} {
		g.file(fmt.Sprintf("/files/size-%d", n), 0o644, n)
	}
	g.add(&spec{path: "/files/zeros-64k", typ: tree.Regular, mode: 0o644, size: 64 * kib, zeros: true})
	g.add(&spec{path: "/files/zeros-1m-dense", typ: tree.Regular, mode: 0o644, size: 1 * mib, zeros: true})

	// Sparse files: holes at the start, the middle, the end, many holes,
	// nothing but a hole, holes not on block boundaries.
	g.dir("/sparse", 0o755)
	g.sparse("/sparse/hole-start", 1*mib, extent{1*mib - 8*kib, 8 * kib})
	g.sparse("/sparse/hole-middle", 1*mib, extent{0, 64 * kib}, extent{960 * kib, 64 * kib})
	g.sparse("/sparse/hole-end", 1*mib, extent{0, 8 * kib})
	g.sparse("/sparse/all-hole", 2*mib)
	g.sparse("/sparse/unaligned", 100000, extent{5000, 100}, extent{70001, 3})
	var many []extent
	for i := 0; i < cs.manyHoles; i++ {
		many = append(many, extent{int64(i) * 64 * kib, 4 * kib})
	}
	g.sparse("/sparse/many-holes", int64(cs.manyHoles)*64*kib, many...)
	if g.opts.Huge {
		size := int64(4*gib + 4097)
		g.sparse("/sparse/huge", size, extent{0, 4 * kib}, extent{4*gib - 100, 200}, extent{size - 1, 1})
	}

	// Directories: empty, deep, larger than one block, odd modes.
	g.dir("/dirs", 0o755)
	g.dir("/dirs/empty", 0o755)
	deep := "/dirs/deep"
	g.dir(deep, 0o755)
	for i := 1; i <= 24; i++ {
		deep = fmt.Sprintf("%s/d%02d", deep, i)
		g.dir(deep, 0o755)
	}
	g.file(deep+"/leaf", 0o644, 13)
	g.dir("/dirs/big", 0o755)
	for i := 0; i < cs.bigDir; i++ {
		g.file(fmt.Sprintf("/dirs/big/entry-%05d-%s", i, g.word(8)), 0o644, g.rng.Int64N(64))
	}
	g.dir("/dirs/sticky", 0o1777)
	g.dir("/dirs/setgid", 0o2775)
	g.file("/dirs/setgid/inside", 0o644, 10)
	if !fat && g.root {
		g.dir("/dirs/mode-0000", 0)
	}
	if !fat {
		g.dir("/dirs/mode-0777", 0o777)
	}

	// Modes.
	g.dir("/modes", 0o755)
	for _, m := range []uint32{0, 0o400, 0o444, 0o600, 0o644, 0o755, 0o777, 0o4755, 0o2755, 0o1755, 0o6755, 0o7777, 0o4000} {
		if (fat && m&0o7000 != 0) || (!g.root && m&0o400 == 0) {
			continue
		}
		g.file(fmt.Sprintf("/modes/m%04o", m), m, 7)
	}

	// Names.
	g.dir("/names", 0o755)
	names := []string{
		"a", "Z", "with space", "UPPER-lower", "-dash", ".hidden", "#hash%percent&amp",
		strings.Repeat("n", 255),
	}
	if !fat {
		names = append(names,
			"caf\u00e9-\u00fcn\u00efcode-\u540d\u524d", "emoji-\U0001F600",
			strings.Repeat("\u00e9", 127)+"x", // 255 bytes of UTF-8
			" leading space", "..two-dots",
			"bad-utf8-\xff\xfe\x80", "latin1-caf\xe9", "new\nline", "tab\there", "trailing space ",
			"quote'\"", "back\\slash", "colon:star*question?", "lt<gt>pipe|", "ctrl-\x01\x1f\x7f", "z",
		)
	}
	for i, n := range names {
		g.file("/names/"+n, 0o644, int64(i))
	}
	long := "/names/" + strings.Repeat("d", 255)
	g.dir(long, 0o755)
	g.file(long+"/"+strings.Repeat("f", 255), 0o644, 255)

	// Times: the epoch, nanoseconds, outside 1970..2038 (not on FAT).
	g.dir("/times", 0o755)
	times := []int64{
		315532800e9,              // 1980-01-01, FAT's first day
		951827696123456789,       // 2000-02-29T12:34:56.123456789
		2147483647e9 + 999999999, // the last 32-bit second
		2147483648e9 + 1,         // the first second past it
		4102444800e9 + 500000000, // 2100-01-01
		4354819199e9 + 999999999, // 2107-12-31T23:59:59.999999999, FAT's last
	}
	if !fat {
		times = append(times, 0, 1, -1, -2147483647e9 /* 1901-12-13, a second after ext4's first */, 7258118400e9+42 /* 2200-01-01 */)
	}
	for i, t := range times {
		s := g.file(fmt.Sprintf("/times/t%02d", i), 0o644, 1)
		s.mtime, s.atime = t, t+int64(i)
	}

	if !fat {
		g.plansymlinks()
	}
	if hard {
		g.planHardLinks(cs.hardGroups, special)
	}
	if special {
		g.dir("/special", 0o755)
		g.node("/special/fifo", tree.FIFO, 0, 0)
		g.node("/special/fifo-0600", tree.FIFO, 0, 0).mode = 0o600
		g.node("/special/socket", tree.Socket, 0, 0).mode = 0o755
		if g.root {
			g.node("/special/null", tree.CharDev, 1, 3).mode = 0o666
			g.node("/special/tty0", tree.CharDev, 4, 0).mode = 0o620
			g.node("/special/sda", tree.BlockDev, 8, 0).mode = 0o660
			g.node("/special/loop7", tree.BlockDev, 7, 7).mode = 0o660
			g.node("/special/big-minor", tree.CharDev, 240, 70000)
			g.node("/special/max-numbers", tree.BlockDev, 4095, 1<<20-1)
		}
	}
	if xattrs {
		g.planXattrs(acls)
	}
	if !fat && g.root {
		g.dir("/owners", 0o755)
		ids := [][2]uint32{{0, 0}, {1, 1}, {1000, 100}, {65534, 65534}, {65535, 65536}, {65536, 65535}, {100000, 200000}, {2147483647, 2147483648}, {4294967294, 4294967294}}
		for _, id := range ids {
			s := g.file(fmt.Sprintf("/owners/u%d-g%d", id[0], id[1]), 0o644, 3)
			s.uid, s.gid = id[0], id[1]
		}
		d := g.dir("/owners/dir-1000", 0o750)
		d.uid, d.gid = 1000, 1000
		l := g.symlink("/owners/link-1234", "u0-g0")
		l.uid, l.gid = 1234, 5678
		s := g.file("/owners/setuid-owned", 0o4750, 5)
		s.uid, s.gid = 1000, 1000
	}

	g.planRandom(cs)
	return g.err
}

// plansymlinks plans short and long, dangling, absolute and looping symlinks.
func (g *gen) plansymlinks() {
	g.dir("/links", 0o755)
	g.symlink("/links/short", "../files/size-1")
	g.symlink("/links/dangling", "does/not/exist")
	g.symlink("/links/absolute", "/etc/passwd")
	g.symlink("/links/to-dir", "../dirs")
	g.symlink("/links/self-loop", "self-loop")
	g.symlink("/links/odd-target", "sp ace\nnew\xffline")
	for _, n := range []int{1, 59, 60, 61, 255, 256, 1000, 4095} {
		if g.opts.MaxSymlink > 0 && n > g.opts.MaxSymlink {
			continue
		}
		g.symlink(fmt.Sprintf("/links/len-%d", n), targetOfLen(n))
	}
	s := g.symlink("/links/timed", "size-1")
	s.mtime, s.atime = 1234567890123456789, 1234567891987654321
}

// targetOfLen returns a relative path of exactly n bytes.
func targetOfLen(n int) string {
	return strings.Repeat("0123456789/", n/11+1)[:n]
}

// planHardLinks plans hard-link groups within and across directories.
func (g *gen) planHardLinks(groups int, special bool) {
	g.dir("/hard", 0o755)
	g.dir("/hard/a", 0o755)
	g.dir("/hard/b", 0o755)
	g.dir("/hard/b/c", 0o755)
	g.file("/hard/a/one", 0o644, 5000)
	g.link("/hard/b/two", "/hard/a/one")
	g.link("/hard/b/c/three", "/hard/a/one")
	g.link("/hard/three-top", "/hard/a/one")
	g.file("/hard/empty-1", 0o600, 0)
	g.link("/hard/empty-2", "/hard/empty-1")
	g.file("/hard/b/setuid", 0o4755, 100)
	g.link("/hard/a/setuid-link", "/hard/b/setuid")
	g.link("/dirs/linked-from-hard", "/hard/b/setuid")
	g.symlink("/hard/symlink", "a/one")
	g.link("/hard/b/symlink-link", "/hard/symlink")
	if special {
		g.node("/hard/fifo", tree.FIFO, 0, 0)
		g.link("/hard/a/fifo-link", "/hard/fifo")
	}
	for i := 0; i < groups; i++ {
		first := fmt.Sprintf("/hard/group-%02d", i)
		g.file(first, 0o644, g.rng.Int64N(20000))
		for j := 0; j < 2+i%4; j++ {
			g.link(fmt.Sprintf("/hard/%s/group-%02d-%d", []string{"a", "b", "b/c"}[j%3], i, j), first)
		}
	}
}

// ACL tags and perms of the Linux xattr encoding (linux/posix_acl_xattr.h).
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20
	aclNoID     = 0xffffffff
)

type aclEntry struct {
	tag, perm uint16
	id        uint32
}

// aclXattr encodes entries (sorted by tag, then id) the way getxattr
// returns them: version 2, then tag, perm, id little-endian.
func aclXattr(entries ...aclEntry) []byte {
	b := make([]byte, 4+8*len(entries))
	binary.LittleEndian.PutUint32(b, 2)
	for i, e := range entries {
		o := 4 + 8*i
		binary.LittleEndian.PutUint16(b[o:], e.tag)
		binary.LittleEndian.PutUint16(b[o+2:], e.perm)
		binary.LittleEndian.PutUint32(b[o+4:], e.id)
	}
	return b
}

// planXattrs plans user.* xattrs small and large, on files and
// directories, and POSIX ACLs.
func (g *gen) planXattrs(acls bool) {
	g.dir("/xattrs", 0o755)
	g.file("/xattrs/small", 0o644, 10).xattrs = []tree.Xattr{
		{Name: "user.empty", Value: []byte{}},
		{Name: "user.one", Value: []byte("1")},
		{Name: "user.text", Value: []byte("hello, xattr")},
	}
	g.file("/xattrs/big", 0o644, 10).xattrs = []tree.Xattr{
		{Name: "user.big", Value: g.bytes(3000)},
	}
	var many []tree.Xattr
	for i := 0; i < 24; i++ {
		many = append(many, tree.Xattr{Name: fmt.Sprintf("user.k%02d", i), Value: g.bytes(16)})
	}
	g.file("/xattrs/many", 0o644, 0).xattrs = many
	g.dir("/xattrs/dir", 0o755).xattrs = []tree.Xattr{{Name: "user.on-a-dir", Value: []byte("yes")}}
	g.file("/xattrs/long-name", 0o644, 1).xattrs = []tree.Xattr{
		{Name: "user." + strings.Repeat("x", 250), Value: []byte("v")},
	}
	if g.root {
		g.file("/xattrs/trusted", 0o644, 1).xattrs = []tree.Xattr{
			{Name: "trusted.purefs", Value: []byte("t")},
			{Name: "user.a", Value: []byte("u")},
		}
	}
	if !acls {
		return
	}
	// An access ACL: the mode's group bits are the mask.
	g.file("/xattrs/acl-file", 0o750, 20).xattrs = []tree.Xattr{
		{Name: "system.posix_acl_access", Value: aclXattr(
			aclEntry{aclUserObj, 7, aclNoID},
			aclEntry{aclUser, 5, 1001},
			aclEntry{aclGroupObj, 5, aclNoID},
			aclEntry{aclGroup, 4, 2002},
			aclEntry{aclMask, 5, aclNoID},
			aclEntry{aclOther, 0, aclNoID},
		)},
		{Name: "user.with-acl", Value: []byte("1")},
	}
	// A directory with an access and a default ACL (empty, so that no
	// child inherits one).
	g.dir("/xattrs/acl-dir", 0o770).xattrs = []tree.Xattr{
		{Name: "system.posix_acl_access", Value: aclXattr(
			aclEntry{aclUserObj, 7, aclNoID},
			aclEntry{aclGroupObj, 7, aclNoID},
			aclEntry{aclGroup, 7, 3003},
			aclEntry{aclMask, 7, aclNoID},
			aclEntry{aclOther, 0, aclNoID},
		)},
		{Name: "system.posix_acl_default", Value: aclXattr(
			aclEntry{aclUserObj, 7, aclNoID},
			aclEntry{aclUser, 6, 1001},
			aclEntry{aclGroupObj, 5, aclNoID},
			aclEntry{aclMask, 7, aclNoID},
			aclEntry{aclOther, 4, aclNoID},
		)},
	}
}

// planRandom plans a random subtree of files and directories.
func (g *gen) planRandom(cs classSizes) {
	g.dir("/random", 0o755)
	dirs := []string{"/random"}
	for i := 0; i < cs.random; i++ {
		par := dirs[g.rng.IntN(len(dirs))]
		name := fmt.Sprintf("r%05d-%s", i, g.word(1+g.rng.IntN(12)))
		p := par + "/" + name
		if g.rng.IntN(6) == 0 && strings.Count(p, "/") < 8 {
			g.dir(p, []uint32{0o755, 0o750, 0o700}[g.rng.IntN(3)])
			dirs = append(dirs, p)
			continue
		}
		// Log-uniform sizes: most small, some large.
		size := int64(0)
		if bits := g.rng.IntN(64 - leadingZeros(cs.maxRandom)); bits > 0 {
			size = g.rng.Int64N(int64(1) << bits)
		}
		g.file(p, []uint32{0o644, 0o600, 0o755, 0o444}[g.rng.IntN(4)], size)
	}
}

func leadingZeros(v int64) int {
	n := 0
	for b := uint64(1) << 63; b != 0 && uint64(v)&b == 0; b >>= 1 {
		n++
	}
	return n
}

// word returns n random lowercase letters and digits (valid everywhere,
// FAT included).
func (g *gen) word(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// bytes returns n random bytes from the plan's generator.
func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}
