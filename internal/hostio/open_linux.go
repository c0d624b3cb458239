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

// willNeed is how much of a file read from start to end is asked for
// when it is opened: the prefetcher holds up to a few hundred files open
// ahead of the writer, and this bounds what they ask the page cache to
// hold before it is read.
const willNeed = 4 << 20

// adviseSequential tells the kernel that fd is read from start to end,
// so that it reads ahead further.
func adviseSequential(fd int, size int64) {
	if fast() {
		_ = unix.Fadvise(fd, 0, size, unix.FADV_SEQUENTIAL) // hints only
		// Start reading its beginning now: the prefetcher opens files
		// ahead of the writer, so that the disk reads several at once.
		_ = unix.Fadvise(fd, 0, min(size, willNeed), unix.FADV_WILLNEED)
	}
}
