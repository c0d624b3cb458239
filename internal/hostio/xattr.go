package hostio

import "golang.org/x/sys/unix"

// ListxattrAt is llistxattr of name in dirfd, path being the same entry:
// listxattrat where the kernel has it (one name lookup, no walk of a path
// that may be longer than PATH_MAX), else llistxattr of path. EINTR is
// retried.
func ListxattrAt(dirfd int, name, path string, buf []byte) (int, error) {
	if fast() {
		if n, ok, err := listxattrat(dirfd, name, buf); ok {
			return n, err
		}
	}
	for {
		n, err := unix.Llistxattr(path, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// GetxattrAt is lgetxattr of attribute xn of name in dirfd, path being
// the same entry: getxattrat where the kernel has it, else lgetxattr of
// path.
func GetxattrAt(dirfd int, name, path, xn string, buf []byte) (int, error) {
	if fast() {
		if n, ok, err := getxattrat(dirfd, name, xn, buf); ok {
			return n, err
		}
	}
	for {
		n, err := unix.Lgetxattr(path, xn, buf)
		if err != unix.EINTR {
			return n, err
		}
	}
}
