package stage

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/tree"
)

// ErrSource is wrapped by errors about a source file or directory.
var ErrSource = errors.New("stage: bad source")

// WalkOptions control how a host directory becomes a tree. The zero value
// keeps every attribute of the source.
type WalkOptions struct {
	// NoXattrs skips reading extended attributes.
	NoXattrs bool
	// Parallel is how many directories are read at once; 0 means 16.
	// The tree is the same whatever the value.
	Parallel int
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
	if n.Type == tree.Symlink {
		return nil, fmt.Errorf("%w: %s is a symlink (to %s), not a directory; give %s/ to read what it points to", ErrSource, dir, n.Target, strings.TrimSuffix(dir, "/"))
	}
	if n.Type != tree.Dir {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrSource, dir)
	}
	return n, nil
}

// node reads path (lstat) and, for a directory, everything below it.
// Directories are read concurrently; hard links are joined afterwards in
// depth-first name order, so the first name of an inode in that order
// gives the shared node its Source, exactly as a sequential walk would.
func (w *walker) node(path string) (*tree.Node, error) {
	n, id, err := w.stat(path)
	if err != nil {
		return nil, err
	}
	if n.Type != tree.Dir {
		return w.join(n, id), nil
	}
	pw := &parWalk{w: w, ids: map[*tree.Node]fileID{}}
	par := w.opts.Parallel
	if par <= 0 {
		par = 16
	}
	pw.sem = make(chan struct{}, par-1)
	if fd, err := openDir(unix.AT_FDCWD, path); err != nil {
		pw.fail(path, fmt.Errorf("%w: %s: %v", ErrSource, path, err))
	} else {
		pw.dir(filepath.Clean(path), n, fd)
	}
	pw.wg.Wait()
	if len(pw.errs) > 0 {
		// Report the error of the first path in name order, whatever
		// the order the directories were read in.
		sort.Slice(pw.errs, func(i, j int) bool { return pw.errs[i].path < pw.errs[j].path })
		return nil, pw.errs[0].err
	}
	if w.links != nil && len(pw.ids) > 0 {
		pw.joinAll(n)
	}
	return n, nil
}

// join returns the node already read for id, or registers n as it.
func (w *walker) join(n *tree.Node, id fileID) *tree.Node {
	if w.links == nil || id == (fileID{}) {
		return n
	}
	if m, ok := w.links[id]; ok {
		return m
	}
	w.links[id] = n
	return n
}

type pathErr struct {
	path string
	err  error
}

// parWalk is one concurrent walk below a directory.
type parWalk struct {
	w   *walker
	sem chan struct{} // tokens for extra goroutines
	wg  sync.WaitGroup

	mu   sync.Mutex
	errs []pathErr
	ids  map[*tree.Node]fileID // nodes with more than one link
}

// fail records an error. The walk goes on, so that the set of errors, and
// the one reported, do not depend on timing.
func (p *parWalk) fail(path string, err error) {
	p.mu.Lock()
	p.errs = append(p.errs, pathErr{path, err})
	p.mu.Unlock()
}

// dir fills n.Entries from the host directory path (clean), open as fd,
// which it closes, handing subdirectories to other goroutines while tokens
// last and reading them itself otherwise. Entries and subdirectories are
// opened relative to the directory's descriptor, so that each costs the
// kernel one name lookup rather than a walk of the whole path.
func (p *parWalk) dir(path string, n *tree.Node, fd int) {
	defer unix.Close(fd)
	names, err := readNames(fd)
	if err != nil {
		p.fail(path, fmt.Errorf("%w: %s: %v", ErrSource, path, err))
		return
	}
	sort.Strings(names)
	n.Entries = make([]tree.Entry, len(names))
	for i, name := range names {
		cp := joinName(path, name)
		c, id, err := p.w.statAt(fd, name, cp)
		if err != nil {
			p.fail(cp, err)
			return
		}
		n.Entries[i] = tree.Entry{Name: name, Node: c}
		if id != (fileID{}) {
			p.mu.Lock()
			p.ids[c] = id
			p.mu.Unlock()
		}
	}
	for _, e := range n.Entries {
		if e.Node.Type != tree.Dir {
			continue
		}
		cp, c := joinName(path, e.Name), e.Node
		cfd, err := openDir(fd, e.Name)
		if err != nil {
			p.fail(cp, fmt.Errorf("%w: %s: %v", ErrSource, cp, err))
			continue
		}
		select {
		case p.sem <- struct{}{}:
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer func() { <-p.sem }()
				p.dir(cp, c, cfd)
			}()
		default:
			p.dir(cp, c, cfd)
		}
	}
}

// joinName is filepath.Join of a clean path and a name from a directory.
func joinName(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// openDir opens name in dirfd, a directory, for reading its entries and
// for the *at system calls, without following a symlink put in its place.
// Reading it does not move its access time where the caller may ask so.
func openDir(dirfd int, name string) (int, error) {
	return hostio.OpenDir(dirfd, name)
}

// direntBufs holds getdents buffers for reuse.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// readNames returns the names in the directory fd, without "." and "..".
func readNames(fd int) ([]string, error) {
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	var names []string
	for {
		n, err := unix.ReadDirent(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n <= 0 {
			return names, nil
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
}

// joinAll makes every name of one host inode point at one node, in
// depth-first name order.
func (p *parWalk) joinAll(d *tree.Node) {
	for i, e := range d.Entries {
		if id, ok := p.ids[e.Node]; ok {
			d.Entries[i].Node = p.w.join(e.Node, id)
		}
		if e.Node.Type == tree.Dir {
			p.joinAll(e.Node)
		}
	}
}

// stat reads one path (lstat) into a node without its entries. id is
// non-zero for a non-directory with more than one link.
func (w *walker) stat(path string) (*tree.Node, fileID, error) {
	return w.statAt(unix.AT_FDCWD, path, path)
}

// statAt is stat of name in the directory dirfd; path names the same
// entry in errors, in Source and for the calls that have no *at form.
func (w *walker) statAt(dirfd int, name, path string) (*tree.Node, fileID, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return nil, fileID{}, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
		}
	}
	var id fileID
	if st.Mode&unix.S_IFMT != unix.S_IFDIR && st.Nlink > 1 {
		id = fileID{uint64(st.Dev), st.Ino}
	}
	n := &tree.Node{
		Perm:  uint32(st.Mode) & 07777,
		UID:   st.Uid,
		GID:   st.Gid,
		Atime: time.Unix(st.Atim.Unix()),
		Mtime: time.Unix(st.Mtim.Unix()),
		Ctime: time.Unix(st.Ctim.Unix()),
	}
	if !w.opts.NoXattrs {
		x, err := readXattrs(dirfd, name, path)
		if err != nil {
			return nil, id, err
		}
		n.Xattrs = x
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		n.Type = tree.Regular
		n.Size = st.Size
		n.Source = path
		if err := checkReadable(dirfd, name, &st, n.Xattrs, w.opts.NoXattrs); err != nil {
			return nil, id, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
		}
	case unix.S_IFDIR:
		n.Type = tree.Dir
	case unix.S_IFLNK:
		n.Type = tree.Symlink
		t, err := readlinkAt(dirfd, name, st.Size)
		if err != nil {
			return nil, id, fmt.Errorf("%w: %s: %v", ErrSource, path, err)
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
		return nil, id, fmt.Errorf("%w: %s: unknown file type %#o", ErrSource, path, st.Mode&unix.S_IFMT)
	}
	return n, id, nil
}

// readlinkAt reads the target of the symlink name in dirfd; size is its
// lstat size, a hint (some file systems report 0).
func readlinkAt(dirfd int, name string, size int64) (string, error) {
	b := make([]byte, max(size+1, 128))
	for {
		n, err := unix.Readlinkat(dirfd, name, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", err
		}
		if n < len(b) {
			return string(b[:n]), nil
		}
		b = make([]byte, 2*len(b))
	}
}
