package hostio

import (
	"runtime"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// noListxattrat and noGetxattrat are set once listxattrat(2) and
// getxattrat(2) (Linux 6.13) are found missing.
var noListxattrat, noGetxattrat atomic.Bool

// listxattrat is listxattrat(2) of name in dirfd; !ok where the kernel
// lacks it.
func listxattrat(dirfd int, name string, buf []byte) (int, bool, error) {
	if noListxattrat.Load() {
		return 0, false, nil
	}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return 0, true, err
	}
	var bp unsafe.Pointer
	if len(buf) > 0 {
		bp = unsafe.Pointer(&buf[0])
	}
	n, ok, err := xattrat(&noListxattrat, unix.SYS_LISTXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		unix.AT_SYMLINK_NOFOLLOW, uintptr(bp), uintptr(len(buf)), 0)
	runtime.KeepAlive(buf)
	runtime.KeepAlive(p)
	return n, ok, err
}

// getxattrat is getxattrat(2) of attribute xn of name in dirfd; !ok where
// the kernel lacks it.
func getxattrat(dirfd int, name, xn string, buf []byte) (int, bool, error) {
	if noGetxattrat.Load() {
		return 0, false, nil
	}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return 0, true, err
	}
	x, err := unix.BytePtrFromString(xn)
	if err != nil {
		return 0, true, err
	}
	// struct xattr_args { __aligned_u64 value; __u32 size; __u32 flags; }
	var args struct {
		value uint64
		size  uint32
		flags uint32
	}
	if len(buf) > 0 {
		args.value = uint64(uintptr(unsafe.Pointer(&buf[0])))
		args.size = uint32(len(buf))
	}
	n, ok, err := xattrat(&noGetxattrat, unix.SYS_GETXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		unix.AT_SYMLINK_NOFOLLOW, uintptr(unsafe.Pointer(x)), uintptr(unsafe.Pointer(&args)), unsafe.Sizeof(args))
	runtime.KeepAlive(buf)
	runtime.KeepAlive(p)
	runtime.KeepAlive(x)
	return n, ok, err
}

// xattrat makes one of the *xattrat system calls, retrying on EINTR;
// where the kernel lacks it, it sets missing and reports !ok.
func xattrat(missing *atomic.Bool, trap, a1, a2, a3, a4, a5, a6 uintptr) (n int, ok bool, err error) {
	for {
		r, _, errno := unix.Syscall6(trap, a1, a2, a3, a4, a5, a6)
		switch errno {
		case 0:
			return int(r), true, nil
		case unix.EINTR:
			continue
		case unix.ENOSYS:
			missing.Store(true)
			return 0, false, nil
		}
		return 0, true, errno
	}
}

// ENOATTR is the error of a missing extended attribute (ENODATA on Linux).
const ENOATTR = unix.ENODATA
