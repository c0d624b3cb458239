//go:build !linux

package hostio

import "golang.org/x/sys/unix"

func listxattrat(dirfd int, name string, buf []byte) (int, bool, error)    { return 0, false, nil }
func getxattrat(dirfd int, name, xn string, buf []byte) (int, bool, error) { return 0, false, nil }

// ENOATTR is the error of a missing extended attribute.
const ENOATTR = unix.ENOATTR
