package ext4

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/purefs/purefs/tree"
)

// maxLinks is the kernel's EXT4_LINK_MAX for files.
const maxLinks = 65000

// inodeRec is what the writer keeps per inode: the node, its links and
// where its blocks went.
type inodeRec struct {
	n       *tree.Node
	name    string // name of the first entry, for error messages
	parent  uint32 // inode number of the directory holding that entry
	links   uint32
	subdirs uint32
	iblock  [60]byte
	blocks  uint64 // file-system blocks owned (data and tree blocks)
	size    uint64 // i_size
	flags   uint32
	xattrB  uint64 // xattr block, or 0
	isDir   bool
}

// walkTree assigns inode numbers in depth-first order with sorted names:
// 2 for the root, 11 for lost+found, 12 upwards for the rest. Hard links
// share the number of their first entry.
func walkTree(root *tree.Node) ([]inodeRec, map[*tree.Node]uint32, error) {
	if root == nil || root.Type != tree.Dir {
		return nil, nil, fmt.Errorf("%w: the root is not a directory", ErrTree)
	}
	n := countEntries(root)
	recs := make([]inodeRec, FirstIno+1, FirstIno+1+n) // index = inode number; 0 unused
	ino := make(map[*tree.Node]uint32, n+1)
	ino[root] = RootIno
	recs[RootIno] = inodeRec{n: root, parent: RootIno, isDir: true, links: 2}
	recs[LostFound] = inodeRec{name: "lost+found", parent: RootIno, isDir: true, links: 2}
	if lf := root.Lookup("lost+found"); lf != nil {
		if lf.Type != tree.Dir {
			return nil, nil, fmt.Errorf("%w: /lost+found is a %s, not a directory", ErrTree, lf.Type)
		}
		recs[LostFound].n = lf
		ino[lf] = LostFound
	}
	recs[RootIno].subdirs++ // lost+found
	var walk func(dir uint32, d *tree.Node) error
	walk = func(dir uint32, d *tree.Node) error {
		for i, e := range d.Entries {
			p := entryPath{&recs, dir, e.Name}
			if err := tree.ValidName(e.Name); err != nil {
				return fmt.Errorf("%w: %s: %v", ErrName, p, err)
			}
			if i > 0 && d.Entries[i-1].Name >= e.Name {
				return fmt.Errorf("%w: %s: entries not sorted or duplicated", ErrTree, p)
			}
			if e.Node == nil {
				return fmt.Errorf("%w: %s: no node", ErrTree, p)
			}
			if n, ok := ino[e.Node]; ok {
				if n == LostFound && dir == RootIno && e.Name == "lost+found" {
					if err := walk(LostFound, e.Node); err != nil {
						return err
					}
					continue
				}
				if recs[n].isDir {
					return fmt.Errorf("%w: %s: a directory with two entries", ErrTree, p)
				}
				recs[n].links++
				if recs[n].links > maxLinks {
					return fmt.Errorf("%w: %s: more than %d hard links", ErrTree, p, maxLinks)
				}
				continue
			}
			if len(recs) > math.MaxUint32-1 {
				return fmt.Errorf("%w: more than 2^32 inodes", ErrTooManyInodes)
			}
			n := uint32(len(recs))
			ino[e.Node] = n
			r := inodeRec{n: e.Node, name: e.Name, parent: dir, links: 1}
			switch e.Node.Type {
			case tree.Dir:
				r.isDir, r.links = true, 2
				recs[dir].subdirs++
			case tree.Symlink:
				if strings.IndexByte(e.Node.Target, 0) >= 0 {
					return fmt.Errorf("%w: %s: symlink target contains NUL", ErrTree, p)
				}
				if len(e.Node.Target) == 0 || len(e.Node.Target) > MaxSymlinkLen {
					return fmt.Errorf("%w: %s: symlink target of %d bytes (1 to %d allowed)", ErrTree, p, len(e.Node.Target), MaxSymlinkLen)
				}
			case tree.Regular:
				if e.Node.Size < 0 || e.Node.Size > 16<<40-BlockSize {
					return fmt.Errorf("%w: %s: file size %d out of range", ErrTree, p, e.Node.Size)
				}
			case tree.CharDev, tree.BlockDev:
				if e.Node.Major > 0xfff || e.Node.Minor > 0xfffff {
					return fmt.Errorf("%w: %s: device %d:%d beyond 12-bit major, 20-bit minor", ErrTree, p, e.Node.Major, e.Node.Minor)
				}
			case tree.FIFO, tree.Socket:
			default:
				return fmt.Errorf("%w: %s: unknown type %v", ErrTree, p, e.Node.Type)
			}
			recs = append(recs, r)
			if e.Node.Type == tree.Dir {
				if err := walk(n, e.Node); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(RootIno, root); err != nil {
		return nil, nil, err
	}
	for i := range recs {
		if recs[i].isDir {
			recs[i].links = 2 + recs[i].subdirs
			if recs[i].links > maxLinks {
				recs[i].links = 1 // dir_nlink: the count is not kept
			}
		}
	}
	return recs, ino, nil
}

// ftype is the directory entry type of a node.
func ftype(t tree.Type) uint8 {
	switch t {
	case tree.Regular:
		return FtRegFile
	case tree.Dir:
		return FtDir
	case tree.Symlink:
		return FtSymlink
	case tree.CharDev:
		return FtChrdev
	case tree.BlockDev:
		return FtBlkdev
	case tree.FIFO:
		return FtFifo
	case tree.Socket:
		return FtSock
	}
	return 0
}

// dirents lists the entries of directory node d with their inode numbers.
func dirents(d *tree.Node, ino map[*tree.Node]uint32, isRoot bool) []dirent {
	var es []dirent
	if d != nil {
		es = make([]dirent, 0, len(d.Entries)+1)
		for _, e := range d.Entries {
			es = append(es, dirent{e.Name, ino[e.Node], ftype(e.Node.Type)})
		}
	}
	if isRoot && (d == nil || d.Lookup("lost+found") == nil) {
		es = append(es, dirent{"lost+found", LostFound, FtDir})
		sort.SliceStable(es, func(i, j int) bool { return es[i].name < es[j].name })
	}
	return es
}

// entryPath is a lazily built path for error messages.
type entryPath struct {
	recs *[]inodeRec
	dir  uint32
	name string
}

func (p entryPath) String() string {
	d := pathOf(*p.recs, p.dir)
	if d == "/" {
		return "/" + p.name
	}
	return d + "/" + p.name
}

// pathOf returns the path of inode ino's first entry.
func pathOf(recs []inodeRec, ino uint32) string {
	if ino == RootIno {
		return "/"
	}
	var parts []string
	for ino != RootIno && len(parts) < 4096 {
		parts = append(parts, recs[ino].name)
		ino = recs[ino].parent
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString("/")
		b.WriteString(parts[i])
	}
	return b.String()
}

// countEntries counts the entries below root (hard links included), each
// directory once even if a malformed tree links it twice.
func countEntries(root *tree.Node) int {
	seen := map[*tree.Node]bool{}
	var count func(d *tree.Node) int
	count = func(d *tree.Node) int {
		seen[d] = true
		n := len(d.Entries)
		for _, e := range d.Entries {
			if e.Node != nil && e.Node.Type == tree.Dir && !seen[e.Node] {
				n += count(e.Node)
			}
		}
		return n
	}
	return count(root)
}
