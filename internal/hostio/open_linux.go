package hostio

import "golang.org/x/sys/unix"

// hasFastPaths: Linux has the fast paths of the _linux.go files.
const hasFastPaths = true

// pathMax is PATH_MAX, counting the terminating NUL.
const pathMax = unix.PathMax

func noatimeFlag() int {
	if fast() {
		return unix.O_NOATIME
	}
	return 0
}

func dirPathFlags() int {
	if fast() {
		return unix.O_PATH
	}
	return unix.O_RDONLY
}

// adviseSequential tells the kernel that fd is read from start to end,
// so that it reads ahead further.
func adviseSequential(fd int, size int64) {
	if fast() {
		_ = unix.Fadvise(fd, 0, size, unix.FADV_SEQUENTIAL) // a hint only
	}
}
