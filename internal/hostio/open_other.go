//go:build !linux

package hostio

import "golang.org/x/sys/unix"

// hasFastPaths: the host has none of the Linux fast paths.
const hasFastPaths = false

// pathMax is PATH_MAX on the BSDs and darwin.
const pathMax = 1024

func noatimeFlag() int                    { return 0 }
func dirPathFlags() int                   { return unix.O_RDONLY }
func adviseSequential(fd int, size int64) {}
