// Package hostfs holds the system calls purefs reads source trees with
// that the standard library and x/sys do not wrap as needed.
package hostfs

import (
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
