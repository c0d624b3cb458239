package hostio

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// CWD is the directory descriptor that makes a name a path of its own
// (AT_FDCWD).
const CWD = unix.AT_FDCWD

// OpenNoatime opens name in dirfd (CWD: a path) with flags, not following
// a symlink in its last element, and with O_NOATIME where the host has it
// and the caller may use it (the owner, or CAP_FOWNER), so that reading a
// tree does not change the times the next build of it sees. EINTR is
// retried.
func OpenNoatime(dirfd int, name string, flags int) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	for {
		var fd int
		var err error
		if na := noatimeFlag(); na != 0 {
			fd, err = unix.Openat(dirfd, name, flags|na, 0)
			if err == unix.EPERM {
				fd, err = unix.Openat(dirfd, name, flags, 0)
			}
		} else {
			fd, err = unix.Openat(dirfd, name, flags, 0)
		}
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// OpenSource opens the source file name in dirfd read-only, as
// OpenNoatime does.
func OpenSource(dirfd int, name string) (int, error) {
	return OpenNoatime(dirfd, name, unix.O_RDONLY)
}

// OpenDir opens the directory name in dirfd for reading its entries and
// for the *at system calls, as OpenNoatime does.
func OpenDir(dirfd int, name string) (int, error) {
	return OpenNoatime(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY)
}

// Close closes fd.
func Close(fd int) error { return unix.Close(fd) }

// PreadFull fills b from offset off of fd; what lies past the end of the
// file (it shrank) reads as zeros.
func PreadFull(fd int, b []byte, off int64) error {
	for done := 0; done < len(b); {
		n, err := unix.Pread(fd, b[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			clear(b[done:])
			return nil
		}
		done += n
	}
	return nil
}

// openDirAt opens name in at as a directory descriptor for the *at
// calls only (O_PATH where the host has it).
func openDirAt(at int, name string, extra int) (int, error) {
	for {
		fd, err := unix.Openat(at, name, dirPathFlags()|unix.O_DIRECTORY|unix.O_CLOEXEC|extra, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// openLongPath opens the directory path, which may be longer than
// PATH_MAX (walks read such trees through directory descriptors): a
// piece short enough at a time, each from the last.
func openLongPath(path string) (int, error) {
	max := pathMax - 1
	at := unix.AT_FDCWD
	for len(path) > max {
		i := strings.LastIndexByte(path[:max], '/')
		if i <= 0 {
			if at != unix.AT_FDCWD {
				unix.Close(at)
			}
			return -1, unix.ENAMETOOLONG
		}
		fd, err := openDirAt(at, path[:i], 0)
		if at != unix.AT_FDCWD {
			unix.Close(at)
		}
		if err != nil {
			return -1, err
		}
		at, path = fd, path[i+1:]
	}
	fd, err := openDirAt(at, path, 0)
	if at != unix.AT_FDCWD {
		unix.Close(at)
	}
	return fd, err
}

// DirCache holds the directories of the sources opened last. Sources come
// in a depth-first walk's order, so a directory's files resume after each
// of its subdirectories: a few directories are kept open, and a new one
// is opened from its parent's descriptor where that is held. The zero
// value is ready; Close releases it.
type DirCache struct {
	fds   map[string]int
	lru   []string // most recently used last
	path  string   // the last directory asked for, and its descriptor
	fd    int
	valid bool // path and fd are set
}

// dirCacheSize bounds the directories one DirCache holds open.
const dirCacheSize = 16

// At returns a directory descriptor and a name to open path by: the
// parent's descriptor and the last element where the parent opens, else
// CWD and the path itself.
func (d *DirCache) At(path string) (int, string) {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 || i == len(path)-1 {
		return unix.AT_FDCWD, path
	}
	dir, name := path[:i], path[i+1:]
	if !d.valid || dir != d.path {
		d.path, d.fd, d.valid = dir, d.get(dir), true
	}
	if d.fd < 0 {
		return unix.AT_FDCWD, path
	}
	return d.fd, name
}

// get returns a descriptor of dir, opening it if needed, or -1.
func (d *DirCache) get(dir string) int {
	if fd, ok := d.fds[dir]; ok {
		d.touch(dir)
		return fd
	}
	fd, err := d.open(dir)
	if err != nil {
		return -1
	}
	if d.fds == nil {
		d.fds = map[string]int{}
	}
	if len(d.lru) == dirCacheSize {
		old := d.lru[0]
		d.lru = d.lru[1:]
		unix.Close(d.fds[old])
		delete(d.fds, old)
	}
	d.fds[dir] = fd
	d.lru = append(d.lru, dir)
	return fd
}

// open opens dir: from its parent's descriptor where that is held (below
// a directory already open, entries are the tree's own directories, and
// no symlink is followed), else by its path.
func (d *DirCache) open(dir string) (int, error) {
	if j := strings.LastIndexByte(dir, '/'); j > 0 {
		if pfd, ok := d.fds[dir[:j]]; ok {
			return openDirAt(pfd, dir[j+1:], unix.O_NOFOLLOW)
		}
	}
	return openLongPath(dir)
}

func (d *DirCache) touch(dir string) {
	for k, p := range d.lru {
		if p == dir {
			copy(d.lru[k:], d.lru[k+1:])
			d.lru[len(d.lru)-1] = dir
			return
		}
	}
}

// Close closes the directories held.
func (d *DirCache) Close() {
	for _, fd := range d.fds {
		unix.Close(fd)
	}
	d.fds, d.lru, d.path, d.fd, d.valid = nil, nil, "", -1, false
}

// errUnsupported is what a fast path without a host implementation
// returns.
var errUnsupported = errors.New("hostio: not supported on this host")
