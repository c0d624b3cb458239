// Package testtree generates source trees for tests: deterministic from a
// seed and a size class, covering the cases a real root file system holds
// (file sizes around block boundaries, sparse files, deep and large
// directories, short and long symlinks, hard links across directories,
// devices, FIFOs, sockets, odd modes and names, xattrs and POSIX ACLs,
// owners past 16 bits, times with nanoseconds and outside 1970..2038).
//
// Generate writes the tree into a host directory and returns the manifest of
// what it made, built from its own plan rather than read back, so that a
// test can compare the directory, an image made from it or an extraction of
// that image against it with manifest.Compare.
//
// The tree's top-level directories: /files (sizes 0, 1, 511..8192 around
// block sizes, 1 MiB ± 1, the class's largest file, explicit zeros),
// /sparse (holes at the start, middle and end, many holes, all hole,
// unaligned holes, /sparse/huge with Options.Huge), /dirs (empty, 24 deep,
// /dirs/big larger than a block, sticky, setgid, odd modes), /modes,
// /names, /times, /links (symlinks of 1 to 4095 bytes, dangling, absolute,
// looping), /hard (hard-link groups, across directories, of a symlink and
// of a FIFO), /special, /xattrs (user.*, trusted.*, ACLs), /owners and
// /random (a seeded random subtree sized by the class).
//
// Options leave out what a consumer cannot hold (FATSafe, NoSpecial,
// NoXattrs, NoACLs, NoHardLinks). Device nodes, foreign owners and trusted.*
// xattrs need root: without it they are left out and the manifest's Notes
// say so.
package testtree

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/tree"
)

// ErrGenerate is wrapped by every error of Generate.
var ErrGenerate = errors.New("testtree: cannot generate")

// Class is a size class: how many entries and how many bytes.
type Class int

const (
	Tiny   Class = iota // every case once, about 1 MiB of data per large file
	Small               // larger files (a few MiB), a few hundred random entries
	Medium              // more of everything, about a thousand random entries
	Large               // thousands of entries in one directory, larger files
)

func (c Class) String() string {
	switch c {
	case Tiny:
		return "tiny"
	case Small:
		return "small"
	case Medium:
		return "medium"
	case Large:
		return "large"
	}
	return fmt.Sprintf("class(%d)", int(c))
}

// Options say what to generate. The zero value is a Tiny tree of seed 0
// with every kind of entry the machine allows.
type Options struct {
	Seed  int64
	Class Class
	// Huge adds a sparse file of 4 GiB + 4097 bytes (a few KiB of data,
	// one run across the 4 GiB boundary).
	Huge bool
	// FATSafe keeps to what a FAT file system holds: directories and
	// regular files only, printable ASCII names valid on FAT and distinct regardless
	// of case, times within 1980..2107, no xattrs, no hard links, no
	// owners other than the caller.
	FATSafe bool
	// NoSpecial leaves out devices, FIFOs and sockets.
	NoSpecial bool
	// NoXattrs leaves out extended attributes (ACLs included).
	NoXattrs bool
	// NoACLs leaves out POSIX ACLs only.
	NoACLs bool
	// NoHardLinks leaves out hard links.
	NoHardLinks bool
	// MaxSymlink caps the length of symlink targets (0: ext4's 4095;
	// XFS holds at most 1024).
	MaxSymlink int
}

// spec is one entry of the plan.
type spec struct {
	path         string // absolute in the tree
	typ          tree.Type
	mode         uint32
	uid, gid     uint32
	mtime, atime int64
	size         int64
	extents      []extent // data regions of a regular file; the rest are holes
	zeros        bool     // write the whole size as explicit zero bytes
	target       string
	major, minor uint32
	xattrs       []tree.Xattr
	linkTo       string // a further name of the inode first made at linkTo
}

type extent struct{ off, len int64 }

// gen holds the plan being built.
type gen struct {
	opts     Options
	rng      *rand.Rand
	root     bool // running as root
	uid, gid uint32
	specs    []*spec
	byPath   map[string]*spec
	notes    []string
	err      error // the first plan error
}

// Generate creates the tree for opts in dir, which must be an empty
// directory or not exist yet, and returns its manifest. The same options
// give the same tree, byte for byte and attribute for attribute, on any
// machine with the same privileges.
func Generate(dir string, opts Options) (*manifest.Manifest, error) {
	if opts.Class < Tiny || opts.Class > Large {
		return nil, fmt.Errorf("%w: unknown size class %d", ErrGenerate, int(opts.Class))
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: %v", ErrGenerate, err)
	}
	if names, err := readNames(dir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenerate, err)
	} else if len(names) > 0 {
		return nil, fmt.Errorf("%w: %s is not empty", ErrGenerate, dir)
	}
	g := &gen{
		opts:   opts,
		rng:    rand.New(rand.NewPCG(uint64(opts.Seed), uint64(opts.Class)<<32|0x7e57)),
		root:   os.Geteuid() == 0,
		uid:    uint32(os.Geteuid()),
		gid:    uint32(os.Getegid()),
		byPath: map[string]*spec{},
	}
	if err := g.plan(); err != nil {
		return nil, err
	}
	m, err := g.make(dir)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func readNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// add appends s to the plan after checking that its parent is a planned
// directory and its path is new; a violation is kept as the plan's error.
func (g *gen) add(s *spec) *spec {
	if g.err != nil {
		return s
	}
	if s.path != "/" {
		par := s.path[:strings.LastIndexByte(s.path, '/')]
		if par == "" {
			par = "/"
		}
		if p := g.byPath[par]; p == nil || p.typ != tree.Dir {
			g.err = fmt.Errorf("%w: plan: parent of %q is not a planned directory", ErrGenerate, s.path)
			return s
		}
	}
	if g.byPath[s.path] != nil {
		g.err = fmt.Errorf("%w: plan: %q planned twice", ErrGenerate, s.path)
		return s
	}
	if s.mtime == 0 && s.atime == 0 {
		s.mtime, s.atime = g.randTimes()
	}
	if !g.root || g.opts.FATSafe {
		s.uid, s.gid = g.uid, g.gid
	}
	if g.opts.FATSafe || g.opts.NoXattrs {
		s.xattrs = nil
	}
	g.specs = append(g.specs, s)
	g.byPath[s.path] = s
	return s
}

// randTimes returns an mtime within 2000..2030 with nanoseconds and an
// atime a little later.
func (g *gen) randTimes() (mtime, atime int64) {
	const y2000, y2030 = 946684800, 1893456000
	mtime = (y2000+g.rng.Int64N(y2030-y2000))*1e9 + g.rng.Int64N(1e9)
	return mtime, mtime + g.rng.Int64N(86400*1e9)
}

// make materializes the plan in dir and returns its manifest.
func (g *gen) make(dir string) (*manifest.Manifest, error) {
	host := func(p string) string { return filepath.Join(dir, p) }
	m := &manifest.Manifest{Notes: g.notes}
	ids := make([]string, 0, len(g.specs))
	hashes := map[string]string{}
	for _, s := range g.specs {
		p := host(s.path)
		if s.linkTo != "" {
			if err := unix.Linkat(unix.AT_FDCWD, host(s.linkTo), unix.AT_FDCWD, p, 0); err != nil {
				return nil, fmt.Errorf("%w: link %s: %v", ErrGenerate, s.path, err)
			}
			first := g.byPath[s.linkTo]
			e := entryOf(first, hashes[s.linkTo])
			e.Path = s.path
			m.Entries = append(m.Entries, e)
			ids = append(ids, s.linkTo)
			continue
		}
		var err error
		switch s.typ {
		case tree.Dir:
			if s.path != "/" {
				err = unix.Mkdir(p, 0o700)
			}
		case tree.Regular:
			hashes[s.path], err = g.writeFile(p, s)
		case tree.Symlink:
			err = unix.Symlink(s.target, p)
		case tree.FIFO:
			err = unix.Mkfifo(p, 0o600)
		case tree.Socket:
			err = Mknod(p, unix.S_IFSOCK|0o600, 0)
		case tree.CharDev:
			err = Mknod(p, unix.S_IFCHR|0o600, unix.Mkdev(s.major, s.minor))
		case tree.BlockDev:
			err = Mknod(p, unix.S_IFBLK|0o600, unix.Mkdev(s.major, s.minor))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrGenerate, s.path, err)
		}
		m.Entries = append(m.Entries, entryOf(s, hashes[s.path]))
		ids = append(ids, s.path)
	}
	// Attributes children first, so that no later change touches a
	// directory's times: xattrs, then owner (chown clears setuid and
	// setgid), then mode, then times.
	for i := len(g.specs) - 1; i >= 0; i-- {
		s := g.specs[i]
		if s.linkTo != "" {
			continue
		}
		p := host(s.path)
		for _, x := range s.xattrs {
			if err := unix.Lsetxattr(p, x.Name, x.Value, 0); err != nil {
				return nil, fmt.Errorf("%w: %s: setxattr %s: %v", ErrGenerate, s.path, x.Name, err)
			}
		}
		if g.root && !g.opts.FATSafe {
			if err := unix.Lchown(p, int(s.uid), int(s.gid)); err != nil {
				return nil, fmt.Errorf("%w: %s: chown: %v", ErrGenerate, s.path, err)
			}
		}
		if s.typ != tree.Symlink {
			if err := unix.Chmod(p, s.mode); err != nil {
				return nil, fmt.Errorf("%w: %s: chmod: %v", ErrGenerate, s.path, err)
			}
		}
		ts := []unix.Timespec{unix.NsecToTimespec(s.atime), unix.NsecToTimespec(s.mtime)}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return nil, fmt.Errorf("%w: %s: utimensat: %v", ErrGenerate, s.path, err)
		}
	}
	if err := m.Finish(ids); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrGenerate, err)
	}
	return m, nil
}

// entryOf returns the manifest entry for s (link fields are filled later).
func entryOf(s *spec, contentHash string) manifest.Entry {
	e := manifest.Entry{
		Path:        s.path,
		Type:        s.typ,
		Mode:        s.mode,
		UID:         s.uid,
		GID:         s.gid,
		Mtime:       s.mtime,
		Atime:       s.atime,
		ContentHash: contentHash,
		Target:      s.target,
		Major:       s.major,
		Minor:       s.minor,
	}
	switch s.typ {
	case tree.Regular:
		e.Size = s.size
	case tree.Symlink:
		e.Size = int64(len(s.target))
		e.Mode = 0o777
	}
	if len(s.xattrs) > 0 {
		e.Xattrs = append([]tree.Xattr(nil), s.xattrs...)
	}
	return e
}

// writeFile writes a regular file's data regions (holes elsewhere) and
// returns the SHA-256 of its whole content.
func (g *gen) writeFile(p string, s *spec) (string, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if s.zeros {
		if _, err := io.CopyN(io.MultiWriter(f, h), zeroReader{}, s.size); err != nil {
			return "", err
		}
	} else {
		src := contentStream(g.opts.Seed, s.path)
		var pos int64
		var longest int64
		for _, x := range s.extents {
			longest = max(longest, x.len)
		}
		buf := make([]byte, min(1<<20, longest))
		for _, x := range s.extents {
			if x.off < pos || x.off+x.len > s.size {
				return "", fmt.Errorf("plan bug: extent %d+%d out of order or past size %d", x.off, x.len, s.size)
			}
			if err := hashZeros(h, x.off-pos); err != nil {
				return "", err
			}
			for done := int64(0); done < x.len; {
				b := buf[:min(int64(len(buf)), x.len-done)]
				src.Read(b)
				h.Write(b)
				if _, err := f.WriteAt(b, x.off+done); err != nil {
					return "", err
				}
				done += int64(len(b))
			}
			pos = x.off + x.len
		}
		if err := hashZeros(h, s.size-pos); err != nil {
			return "", err
		}
		if err := f.Truncate(s.size); err != nil {
			return "", err
		}
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// contentStream returns the data source of the file at path: a ChaCha8
// stream keyed by make-disk-image.nix and the path, so that a file's bytes do not
// depend on what else is generated.
func contentStream(seed int64, path string) *rand.ChaCha8 {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	return rand.NewChaCha8(sha256.Sum256(append(b[:], path...)))
}

var zeroBuf [1 << 20]byte

func hashZeros(h hash.Hash, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeroBuf)))
		h.Write(zeroBuf[:k])
		n -= k
	}
	return nil
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
