package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/tree"
)

// Options control FromDir and FromTree. The zero value records everything.
type Options struct {
	// NoXattrs leaves extended attributes out.
	NoXattrs bool
	// NoContent leaves ContentHash empty (no file data is read).
	NoContent bool
}

// FromDir reads the host directory dir (a kernel mount, an extraction, a
// generated tree) into a manifest; dir itself is the entry "/". Symlinks
// are not followed, and file data is read with O_NOATIME where permitted so
// that reading does not change the atimes it records.
func FromDir(dir string, opts Options) (*Manifest, error) {
	r := dirReader{opts: opts, m: &Manifest{}}
	if err := r.walk(dir, "/"); err != nil {
		return nil, err
	}
	if r.m.Entries[0].Type != tree.Dir {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrRead, dir)
	}
	r.m.setLinkGroups(r.ids)
	return r.m, nil
}

type dirReader struct {
	opts Options
	m    *Manifest
	ids  []string
}

func (r *dirReader) walk(host, path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(host, &st); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRead, host, err)
	}
	e := Entry{
		Path:  path,
		Mode:  uint32(st.Mode) & 07777,
		UID:   st.Uid,
		GID:   st.Gid,
		Mtime: st.Mtim.Nano(),
		Atime: st.Atim.Nano(),
		Nlink: uint32(st.Nlink),
	}
	id := ""
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Type = tree.Regular
		e.Size = st.Size
		if !r.opts.NoContent {
			h, n, err := hashFile(host)
			if err != nil {
				return err
			}
			if n != st.Size {
				return fmt.Errorf("%w: %s: read %d bytes of %d", ErrRead, host, n, st.Size)
			}
			e.ContentHash = h
		}
	case unix.S_IFDIR:
		e.Type = tree.Dir
	case unix.S_IFLNK:
		e.Type = tree.Symlink
		t, err := readlink(host, &st)
		if err != nil {
			return err
		}
		e.Target = t
		e.Size = int64(len(t))
	case unix.S_IFCHR:
		e.Type = tree.CharDev
	case unix.S_IFBLK:
		e.Type = tree.BlockDev
	case unix.S_IFIFO:
		e.Type = tree.FIFO
	case unix.S_IFSOCK:
		e.Type = tree.Socket
	default:
		return fmt.Errorf("%w: %s: unknown file type %#o", ErrRead, host, st.Mode&unix.S_IFMT)
	}
	if e.Type == tree.CharDev || e.Type == tree.BlockDev {
		e.Major, e.Minor = unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	}
	if e.Type != tree.Dir && st.Nlink > 1 {
		id = fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	if !r.opts.NoXattrs {
		x, err := readXattrs(host)
		if err != nil {
			return err
		}
		e.Xattrs = x
	}
	r.m.Entries = append(r.m.Entries, e)
	r.ids = append(r.ids, id)
	if e.Type != tree.Dir {
		return nil
	}
	d, err := openNoatime(host, unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRead, host, err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := r.walk(filepath.Join(host, name), join(path, name)); err != nil {
			return err
		}
	}
	return nil
}

// openNoatime opens path for reading (not following a symlink) with
// O_NOATIME where the caller may use it.
func openNoatime(path string, flags int) (*os.File, error) {
	fd, err := hostio.OpenNoatime(hostio.CWD, path, flags|unix.O_RDONLY)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrRead, path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// readlink returns the target of the symlink at path, whose lstat is st.
// Reading a symlink updates its atime and no flag prevents that, so the
// atime is put back when it moved (best effort: a read-only mount never
// moves it, and a caller who may not set it loses only the atime).
func readlink(path string, st *unix.Stat_t) (string, error) {
	t, err := os.Readlink(path)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRead, err)
	}
	var after unix.Stat_t
	if unix.Lstat(path, &after) == nil && after.Atim != st.Atim {
		ts := []unix.Timespec{st.Atim, after.Mtim}
		_ = unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
	return t, nil
}

// hashFile returns the hex SHA-256 of the file at path and its length.
func hashFile(path string) (string, int64, error) {
	f, err := openNoatime(path, 0)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	return hashReader(f, path)
}

// bufPool holds the read buffers of hashReader.
var bufPool = sync.Pool{New: func() any { return new([1 << 20]byte) }}

func hashReader(rd io.Reader, name string) (string, int64, error) {
	h := sha256.New()
	buf := bufPool.Get().(*[1 << 20]byte)
	defer bufPool.Put(buf)
	n, err := io.CopyBuffer(h, rd, buf[:])
	if err != nil {
		return "", n, fmt.Errorf("%w: %s: %v", ErrRead, name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// readXattrs returns the extended attributes of path (not following a
// symlink), sorted by name; nil when there are none or the file system has
// no xattr support.
func readXattrs(path string) ([]tree.Xattr, error) {
	var buf []byte
	for size := 1024; ; size *= 4 {
		buf = make([]byte, size)
		n, err := unix.Llistxattr(path, buf)
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		if errors.Is(err, unix.ERANGE) && size < 1<<20 {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: listxattr: %v", ErrRead, path, err)
		}
		buf = buf[:n]
		break
	}
	var out []tree.Xattr
	for _, name := range strings.Split(string(buf), "\x00") {
		if name == "" || tree.HostOnlyXattr(name) {
			continue
		}
		v := make([]byte, 64<<10) // the VFS limit on one value
		n, err := unix.Lgetxattr(path, name, v)
		if errors.Is(err, hostio.ENOATTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s: getxattr %s: %v", ErrRead, path, name, err)
		}
		out = append(out, tree.Xattr{Name: name, Value: append([]byte{}, v[:n]...)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// FromTree builds the manifest of an in-memory tree. Regular file content
// is read from Node.Data, or else from the host file Node.Source; a length
// that disagrees with Node.Size is an error naming the path. At most one
// Options may be given; none records everything.
func FromTree(root *tree.Node, options ...Options) (*Manifest, error) {
	var opts Options
	switch len(options) {
	case 0:
	case 1:
		opts = options[0]
	default:
		return nil, fmt.Errorf("manifest: FromTree: %d Options given, want at most one", len(options))
	}
	if root == nil || root.Type != tree.Dir {
		return nil, fmt.Errorf("%w: the tree's root is not a directory", ErrRead)
	}
	m := &Manifest{}
	var ids []string
	nodeIDs := map[*tree.Node]string{}
	hashes := map[*tree.Node]string{}
	err := tree.Walk(root, func(path string, n *tree.Node) error {
		e := Entry{
			Path:   path,
			Type:   n.Type,
			Mode:   n.Perm & 07777,
			UID:    n.UID,
			GID:    n.GID,
			Mtime:  nanos(n.Mtime),
			Atime:  nanos(n.Atime),
			Target: n.Target,
		}
		switch n.Type {
		case tree.Regular:
			e.Size = n.Size
			if h, ok := hashes[n]; ok {
				e.ContentHash = h
			} else if !opts.NoContent {
				h, err := hashNode(path, n)
				if err != nil {
					return err
				}
				hashes[n] = h
				e.ContentHash = h
			}
		case tree.Symlink:
			e.Size = int64(len(n.Target))
		case tree.CharDev, tree.BlockDev:
			e.Major, e.Minor = n.Major, n.Minor
		}
		if !opts.NoXattrs && len(n.Xattrs) > 0 {
			e.Xattrs = append([]tree.Xattr(nil), n.Xattrs...)
			sort.Slice(e.Xattrs, func(i, j int) bool { return e.Xattrs[i].Name < e.Xattrs[j].Name })
		}
		id := ""
		if n.Type != tree.Dir {
			var ok bool
			if id, ok = nodeIDs[n]; !ok {
				id = fmt.Sprintf("%p", n)
				nodeIDs[n] = id
			}
		}
		m.Entries = append(m.Entries, e)
		ids = append(ids, id)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := m.Finish(ids); err != nil {
		return nil, err
	}
	return m, nil
}

// hashNode hashes a regular node's content from Data or Source.
func hashNode(path string, n *tree.Node) (string, error) {
	var h string
	var size int64
	var err error
	switch {
	case n.Data != nil:
		h, size, err = hashReader(bytes.NewReader(n.Data), path)
	case n.Source != "":
		h, size, err = hashFile(n.Source)
	case n.Size == 0:
		h, size, err = hashReader(strings.NewReader(""), path)
	default:
		return "", fmt.Errorf("%w: %s: %d bytes but neither Data nor Source", ErrRead, path, n.Size)
	}
	if err != nil {
		return "", err
	}
	if size != n.Size {
		return "", fmt.Errorf("%w: %s: content is %d bytes, the tree says %d", ErrRead, path, size, n.Size)
	}
	return h, nil
}

// nanos returns t as nanoseconds since the epoch; the zero Time is 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
