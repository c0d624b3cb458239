// Package hostfs holds the system calls purefs reads source trees with
// that the standard library and x/sys do not wrap as needed.
package hostfs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// OpenNoatime opens name in dirfd (unix.AT_FDCWD: a path) with flags,
// not following a symlink in its last element, and with O_NOATIME where
// the caller may use it (the owner, or CAP_FOWNER), so that reading a
// tree does not change the times the next build of it sees. EINTR is
// retried.
func OpenNoatime(dirfd int, name string, flags int) (int, error) {
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	for {
		fd, err := unix.Openat(dirfd, name, flags|unix.O_NOATIME, 0)
		if err == unix.EPERM {
			fd, err = unix.Openat(dirfd, name, flags, 0)
		}
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// ErrNoCopyRange reports that copy_file_range cannot copy between two
// files (two file systems that do not support it, an old kernel): the
// caller copies through a buffer instead.
var ErrNoCopyRange = errors.New("copy_file_range not supported between these files")

// CopyRange copies n bytes at soff of the file src to doff of the file
// dst with copy_file_range (which clones where the file system shares
// extents), over short copies and EINTR. It returns the bytes copied:
// fewer than n with a nil error where the source ended first, and
// ErrNoCopyRange where the files do not allow it.
func CopyRange(src int, soff int64, dst int, doff int64, n int64) (int64, error) {
	var done int64
	for done < n {
		k, err := unix.CopyFileRange(src, &soff, dst, &doff, int(min(n-done, 1<<30)), 0)
		if err == unix.EINTR {
			continue
		}
		if errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) ||
			errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EBADF) {
			return done, ErrNoCopyRange
		}
		if err != nil {
			return done, err
		}
		if k == 0 {
			return done, nil
		}
		done += int64(k)
	}
	return done, nil
}
