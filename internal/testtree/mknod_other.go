//go:build !freebsd

package testtree

import "golang.org/x/sys/unix"

// Mknod is unix.Mknod, whose device argument is an int outside FreeBSD.
func Mknod(path string, mode uint32, dev uint64) error { return unix.Mknod(path, mode, int(dev)) }
