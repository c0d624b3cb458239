package stage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/tree"
)

// ErrSource is wrapped by errors about a source file or directory.
var ErrSource = errors.New("stage: bad source")

// WalkOptions control how a host directory becomes a tree. The zero value
// keeps every attribute of the source.
type WalkOptions struct {
	// NoXattrs skips reading extended attributes.
	NoXattrs bool
}

// fileID identifies a host inode, to find hard links.
type fileID struct{ dev, ino uint64 }

// walker carries the hard-link map across one or more Walk calls, so that
// links between several sources of one build are found too.
type walker struct {
	opts  WalkOptions
	links map[fileID]*tree.Node // nil: every name gets its own node
}

// Dir reads the host directory dir (which must be a directory; symlinks in
// it are not followed) into a tree. The returned root node carries dir's own
// attributes. Hard links inside dir share one *tree.Node.
func Dir(dir string, opts WalkOptions) (*tree.Node, error) {
	w := &walker{opts: opts, links: map[fileID]*tree.Node{}}
	n, err := w.node(dir)
	if err != nil {
		return nil, err
	}
	if n.Type != tree.Dir {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrSource, dir)
	}
	return n, nil
}

// node reads path (lstat) and, for a directory, everything below it.
func (w *walker) node(path string) (*tree.Node, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
	}
	id := fileID{uint64(st.Dev), st.Ino}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Nlink > 1 && w.links != nil {
		if n, ok := w.links[id]; ok {
			return n, nil
		}
	}
	n := &tree.Node{
		Perm:  st.Mode & 07777,
		UID:   st.Uid,
		GID:   st.Gid,
		Atime: time.Unix(st.Atim.Unix()),
		Mtime: time.Unix(st.Mtim.Unix()),
		Ctime: time.Unix(st.Ctim.Unix()),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		n.Type = tree.Regular
		n.Size = st.Size
		n.Source = path
		if err := unix.Access(path, unix.R_OK); err != nil && os.Geteuid() != 0 {
			return nil, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
		}
	case unix.S_IFDIR:
		n.Type = tree.Dir
	case unix.S_IFLNK:
		n.Type = tree.Symlink
		t, err := os.Readlink(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
		}
		n.Target = t
		n.Size = int64(len(t))
	case unix.S_IFCHR:
		n.Type = tree.CharDev
		n.Major, n.Minor = unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	case unix.S_IFBLK:
		n.Type = tree.BlockDev
		n.Major, n.Minor = unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	case unix.S_IFIFO:
		n.Type = tree.FIFO
	case unix.S_IFSOCK:
		n.Type = tree.Socket
	default:
		return nil, fmt.Errorf("%w: %s: unknown file type %#o", ErrSource, path, st.Mode&unix.S_IFMT)
	}
	if !w.opts.NoXattrs {
		x, err := readXattrs(path)
		if err != nil {
			return nil, err
		}
		n.Xattrs = x
	}
	if n.Type != tree.Dir && st.Nlink > 1 && w.links != nil {
		w.links[id] = n
	}
	if n.Type == tree.Dir {
		d, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
		}
		names, err := d.Readdirnames(-1)
		d.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
		}
		sort.Strings(names)
		n.Entries = make([]tree.Entry, 0, len(names))
		for _, name := range names {
			c, err := w.node(filepath.Join(path, name))
			if err != nil {
				return nil, err
			}
			n.Entries = append(n.Entries, tree.Entry{Name: name, Node: c})
		}
	}
	return n, nil
}

// readXattrs returns the extended attributes of path (not following a
// symlink), sorted by name.
func readXattrs(path string) ([]tree.Xattr, error) {
	size, err := unix.Llistxattr(path, nil)
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %s: listxattr: %v", ErrSource, path, err)
	}
	if size == 0 {
		return nil, nil
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(path, buf)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: listxattr: %v", ErrSource, path, err)
	}
	var out []tree.Xattr
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" {
			continue
		}
		vs, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue
			}
			return nil, fmt.Errorf("%w: %s: getxattr %s: %v", ErrSource, path, name, err)
		}
		v := make([]byte, vs)
		vs, err = unix.Lgetxattr(path, name, v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: getxattr %s: %v", ErrSource, path, name, err)
		}
		out = append(out, tree.Xattr{Name: name, Value: v[:vs]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
