package hostio

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/unix"
)

// punchHole deallocates [off, off+n) of fd, keeping its size.
func punchHole(fd int, off, n int64) error {
	return unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
}

// zeroDevice zeroes [off, off+n) of a block device with BLKZEROOUT.
func zeroDevice(fd int, off, n int64) error {
	r := [2]uint64{uint64(off), uint64(n)}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKZEROOUT, uintptr(unsafe.Pointer(&r[0])))
	if errno != 0 {
		return errno
	}
	return nil
}

func pwritev(fd int, iov [][]byte, off int64) (int, error) { return unix.Pwritev(fd, iov, off) }

func allocate(fd int, off, n int64) { _ = unix.Fallocate(fd, 0, off, n) }

func copyFileRange(src int, soff int64, dst int, doff int64, n int64) (int64, error) {
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

func cloneRange(src int, soff int64, dst int, doff int64, n int64) error {
	return unix.IoctlFileCloneRange(dst, &unix.FileCloneRange{
		Src_fd: int64(src), Src_offset: uint64(soff), Src_length: uint64(n), Dest_offset: uint64(doff),
	})
}
