// Package tree is the in-memory file tree that purefs writes into file
// systems. The stage package builds it from a root directory and a contents
// list; the ext4 and fat writers consume it. It holds metadata only: file data
// stays in the source files (Node.Source) or, for small generated files, in
// Node.Data, and is read while the image is written.
//
// A Node is an inode: hard links are several directory entries that point at
// the same *Node. Directory entries are kept sorted by name (byte order), so
// every walk of a tree is deterministic.
package tree

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Type is the kind of file a Node is.
type Type uint8

const (
	Regular Type = iota + 1
	Dir
	Symlink
	CharDev
	BlockDev
	FIFO
	Socket
)

func (t Type) String() string {
	switch t {
	case Regular:
		return "regular"
	case Dir:
		return "directory"
	case Symlink:
		return "symlink"
	case CharDev:
		return "char device"
	case BlockDev:
		return "block device"
	case FIFO:
		return "fifo"
	case Socket:
		return "socket"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// Xattr is one extended attribute. Names carry their namespace prefix
// ("user.foo", "security.selinux", "system.posix_acl_access", "trusted.x").
// POSIX ACLs are given in the Linux xattr encoding (the one getxattr returns);
// each file system writer converts them to its own on-disk form.
type Xattr struct {
	Name  string
	Value []byte
}

// Node is one file (an inode).
type Node struct {
	Type Type
	// Perm holds the permission bits including setuid, setgid and sticky
	// (mask 07777); the file type is in Type.
	Perm uint32
	UID  uint32
	GID  uint32

	Atime, Mtime, Ctime, Btime time.Time

	// Size is the apparent size of a regular file in bytes.
	Size int64
	// Source is the host path whose bytes are the content of a regular
	// file. Empty for other types, or when Data is set.
	Source string
	// Data, when non-nil, is the content of a regular file (used for small
	// generated files); it takes precedence over Source.
	Data []byte

	// Target is the link target of a symlink (any bytes but NUL, up to 4095).
	Target string

	// Major and Minor are the device numbers of char and block devices.
	Major, Minor uint32

	// Xattrs are sorted by name.
	Xattrs []Xattr

	// Entries are the children of a directory, sorted by name.
	Entries []Entry
}

// Entry is a directory entry: a name (one path component, any bytes but '/'
// and NUL, at most 255 bytes) and the node it points at.
type Entry struct {
	Name string
	Node *Node
}

// ErrInvalidName is returned for names that no file system can hold.
var ErrInvalidName = errors.New("tree: invalid name")

// ValidName reports whether name can be a directory entry.
func ValidName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%w %q", ErrInvalidName, name)
	case len(name) > 255:
		return fmt.Errorf("%w: %q is %d bytes, more than 255", ErrInvalidName, name, len(name))
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("%w %q: contains '/' or NUL", ErrInvalidName, name)
	}
	return nil
}

// NewDir returns an empty directory node.
func NewDir(perm uint32) *Node { return &Node{Type: Dir, Perm: perm} }

// Lookup returns the entry named name in directory d, or nil.
func (d *Node) Lookup(name string) *Node {
	i := sort.Search(len(d.Entries), func(i int) bool { return d.Entries[i].Name >= name })
	if i < len(d.Entries) && d.Entries[i].Name == name {
		return d.Entries[i].Node
	}
	return nil
}

// Set adds or replaces the entry name in directory d, keeping Entries sorted.
func (d *Node) Set(name string, n *Node) {
	i := sort.Search(len(d.Entries), func(i int) bool { return d.Entries[i].Name >= name })
	if i < len(d.Entries) && d.Entries[i].Name == name {
		d.Entries[i].Node = n
		return
	}
	d.Entries = append(d.Entries, Entry{})
	copy(d.Entries[i+1:], d.Entries[i:])
	d.Entries[i] = Entry{Name: name, Node: n}
}

// Remove deletes the entry name from directory d and returns its node, or nil.
func (d *Node) Remove(name string) *Node {
	i := sort.Search(len(d.Entries), func(i int) bool { return d.Entries[i].Name >= name })
	if i < len(d.Entries) && d.Entries[i].Name == name {
		n := d.Entries[i].Node
		d.Entries = append(d.Entries[:i], d.Entries[i+1:]...)
		return n
	}
	return nil
}

// Sort sorts the entries of d and of every directory below it. Builders that
// append to Entries directly call it once at the end.
func (d *Node) Sort() {
	_ = Walk(d, func(_ string, n *Node) error {
		if n.Type == Dir {
			sort.Slice(n.Entries, func(i, j int) bool { return n.Entries[i].Name < n.Entries[j].Name })
		}
		return nil
	})
}

// Walk calls fn for root (path "/") and every node below it in depth-first
// pre-order, entries in sorted order. A hard-linked node is visited once per
// entry. Paths are absolute, joined with '/'.
func Walk(root *Node, fn func(path string, n *Node) error) error {
	return walk("/", root, fn)
}

func walk(path string, n *Node, fn func(string, *Node) error) error {
	if err := fn(path, n); err != nil {
		return err
	}
	if n.Type != Dir {
		return nil
	}
	for _, e := range n.Entries {
		p := path + e.Name
		if path != "/" {
			p = path + "/" + e.Name
		}
		if err := walk(p, e.Node, fn); err != nil {
			return err
		}
	}
	return nil
}

// Stats are counts over a tree, with hard-linked nodes counted once.
type Stats struct {
	Nodes    int   // distinct nodes (inodes), root included
	Entries  int   // directory entries, root excluded
	Dirs     int   // directories, root included
	Bytes    int64 // apparent bytes of regular files
	MaxLinks int   // largest number of entries sharing one node
}

// Count returns the Stats of the tree below root.
func Count(root *Node) Stats {
	var s Stats
	links := map[*Node]int{}
	_ = Walk(root, func(_ string, n *Node) error {
		links[n]++
		if links[n] > 1 {
			s.Entries++
			return nil
		}
		s.Nodes++
		if n != root {
			s.Entries++
		}
		switch n.Type {
		case Dir:
			s.Dirs++
		case Regular:
			s.Bytes += n.Size
		}
		return nil
	})
	for _, c := range links {
		s.MaxLinks = max(s.MaxLinks, c)
	}
	return s
}
