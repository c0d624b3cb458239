// Package manifest describes a file tree entry by entry — type, permission
// bits, owner, size, times, content hash, link target, device numbers,
// extended attributes and hard-link identity — so that a tree read back from
// an image (a kernel mount, an extraction, a reader) can be compared with the
// tree that went in, and every difference printed.
//
// A Manifest comes from a host directory (FromDir), from an in-memory
// tree.Node (FromTree), or from the testtree generator, which returns the
// manifest of what it made. Compare lists the differences between two of
// them; CompareOptions leave out what a given format cannot keep.
package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/purefs/purefs/tree"
)

// ErrRead is wrapped by errors about a file or directory that could not be
// read into a manifest.
var ErrRead = errors.New("manifest: cannot read")

// Entry is one directory entry of a tree and the inode it names.
type Entry struct {
	// Path is absolute within the tree, components joined with '/'; the
	// root is "/".
	Path string
	Type tree.Type
	// Mode holds the permission bits including setuid, setgid and sticky
	// (mask 07777).
	Mode     uint32
	UID, GID uint32
	// Size is the apparent size of a regular file and the target length of
	// a symlink; 0 for other types (directory sizes are a file system's
	// own business).
	Size int64
	// Mtime and Atime are nanoseconds since the Unix epoch.
	Mtime, Atime int64
	// ContentHash is the hex SHA-256 of a regular file's data.
	ContentHash string
	// Target is a symlink's target.
	Target string
	// Major and Minor are a device's numbers.
	Major, Minor uint32
	// Xattrs are sorted by name; nil when there are none.
	Xattrs []tree.Xattr
	// LinkGroup is, for a non-directory inode with more than one name in
	// the tree, the smallest of those paths (the same for every name);
	// empty otherwise.
	LinkGroup string
	// Nlink is the inode's link count: for FromDir what the file system
	// says, for FromTree and the generator the number of names in the tree
	// (directories: 2 plus the number of subdirectories).
	Nlink uint32
}

// Manifest is a tree's entries sorted by path (byte order).
type Manifest struct {
	Entries []Entry
	// Notes say what a producer left out and why (for example device nodes
	// when not running as root). They take no part in Compare.
	Notes []string
}

// Lookup returns the entry for path, or nil.
func (m *Manifest) Lookup(path string) *Entry {
	i := sort.Search(len(m.Entries), func(i int) bool { return m.Entries[i].Path >= path })
	if i < len(m.Entries) && m.Entries[i].Path == path {
		return &m.Entries[i]
	}
	return nil
}

// Filter returns a copy of m holding only the entries keep accepts. Link
// groups and link counts are left as they were.
func (m *Manifest) Filter(keep func(*Entry) bool) *Manifest {
	out := &Manifest{Notes: append([]string(nil), m.Notes...)}
	for i := range m.Entries {
		if keep(&m.Entries[i]) {
			out.Entries = append(out.Entries, m.Entries[i])
		}
	}
	return out
}

// Count returns the number of entries of type t.
func (m *Manifest) Count(t tree.Type) int {
	n := 0
	for _, e := range m.Entries {
		if e.Type == t {
			n++
		}
	}
	return n
}

// sortEntries sorts m's entries by path.
func (m *Manifest) sortEntries() {
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
}

// Finish sorts the entries by path and fills LinkGroup and Nlink from the
// given inode identities: ids[i] names the inode of Entries[i] before
// sorting (non-directory entries with equal non-empty ids are hard links).
// Non-directories get as many links as they have names, directories 2 plus
// their number of subdirectories. Producers that build a manifest by hand
// (the test-tree generator) call it once at the end.
func (m *Manifest) Finish(ids []string) error {
	if len(ids) != len(m.Entries) {
		return fmt.Errorf("manifest: Finish: %d ids for %d entries", len(ids), len(m.Entries))
	}
	names := map[string]uint32{}
	for i, id := range ids {
		if id != "" && m.Entries[i].Type != tree.Dir {
			names[id]++
		}
	}
	for i := range m.Entries {
		if m.Entries[i].Type != tree.Dir {
			m.Entries[i].Nlink = max(1, names[ids[i]])
		}
	}
	m.setLinkGroups(ids)
	subdirs := map[string]uint32{}
	for _, e := range m.Entries {
		if e.Type == tree.Dir && e.Path != "/" {
			subdirs[parent(e.Path)]++
		}
	}
	for i := range m.Entries {
		if m.Entries[i].Type == tree.Dir {
			m.Entries[i].Nlink = 2 + subdirs[m.Entries[i].Path]
		}
	}
	return nil
}

// setLinkGroups sets LinkGroup for every non-directory inode with more than
// one name (ids as for Finish), then sorts the entries by path.
func (m *Manifest) setLinkGroups(ids []string) {
	groups := map[string][]int{}
	for i, id := range ids {
		if id != "" && m.Entries[i].Type != tree.Dir {
			groups[id] = append(groups[id], i)
		}
	}
	for _, idx := range groups {
		if len(idx) < 2 {
			continue
		}
		first := m.Entries[idx[0]].Path
		for _, i := range idx[1:] {
			first = min(first, m.Entries[i].Path)
		}
		for _, i := range idx {
			m.Entries[i].LinkGroup = first
		}
	}
	m.sortEntries()
}

// parent returns the directory part of an absolute path.
func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// join appends name to the absolute directory path dir.
func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// QuotePath returns p as is when it is printable UTF-8 without spaces
// around, and Go-quoted otherwise (names may hold newlines and any byte).
func QuotePath(p string) string {
	q := strconv.Quote(p)
	if q[1:len(q)-1] == p && !strings.ContainsAny(p, " ") {
		return p
	}
	return q
}

// String lists the entries, one line each.
func (m *Manifest) String() string {
	var b strings.Builder
	for _, e := range m.Entries {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	for _, n := range m.Notes {
		fmt.Fprintf(&b, "# %s\n", n)
	}
	return b.String()
}

// String formats e on one line.
func (e *Entry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %04o %d:%d nlink=%d mtime=%s", QuotePath(e.Path), e.Type, e.Mode, e.UID, e.GID, e.Nlink, fmtTime(e.Mtime))
	switch e.Type {
	case tree.Regular:
		fmt.Fprintf(&b, " size=%d sha256=%.16s", e.Size, e.ContentHash)
	case tree.Symlink:
		fmt.Fprintf(&b, " -> %s", fmtString(e.Target))
	case tree.CharDev, tree.BlockDev:
		fmt.Fprintf(&b, " rdev=%d,%d", e.Major, e.Minor)
	}
	if e.LinkGroup != "" {
		fmt.Fprintf(&b, " link=%s", QuotePath(e.LinkGroup))
	}
	for _, x := range e.Xattrs {
		fmt.Fprintf(&b, " %s=%s", x.Name, fmtValue(x.Value))
	}
	return b.String()
}

// fmtTime prints nanoseconds since the epoch as RFC 3339 UTC with all nine
// fraction digits.
func fmtTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// fmtString quotes s, shortening it past 80 bytes.
func fmtString(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%q…(%d bytes)", s[:64], len(s))
	}
	return strconv.Quote(s)
}

// fmtValue prints an xattr value: quoted when short, length and a hex
// prefix otherwise.
func fmtValue(v []byte) string {
	if len(v) <= 32 {
		return strconv.Quote(string(v))
	}
	return fmt.Sprintf("%x…(%d bytes)", v[:16], len(v))
}
