package stage

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/tree"
)

// noListxattrat is set once listxattrat(2) (Linux 6.13) is found missing.
var noListxattrat atomic.Bool

// listxattrAt is llistxattr of name in dirfd: listxattrat where the kernel
// has it (one name lookup), else llistxattr of path.
func listxattrAt(dirfd int, name, path string, buf []byte) (int, error) {
	if !noListxattrat.Load() {
		p, err := unix.BytePtrFromString(name)
		if err != nil {
			return 0, err
		}
		var bp unsafe.Pointer
		if len(buf) > 0 {
			bp = unsafe.Pointer(&buf[0])
		}
		n, ok, err := xattrat(&noListxattrat, unix.SYS_LISTXATTRAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			unix.AT_SYMLINK_NOFOLLOW, uintptr(bp), uintptr(len(buf)), 0)
		runtime.KeepAlive(buf)
		if ok {
			return n, err
		}
	}
	return unix.Llistxattr(path, buf)
}

// xattrat makes one of the *xattrat system calls (Linux 6.13), retrying
// on EINTR; where the kernel lacks it, it sets missing and reports !ok.
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

// noGetxattrat is set once getxattrat(2) (Linux 6.13) is found missing.
var noGetxattrat atomic.Bool

// getxattrAt is lgetxattr of attribute xn of name in dirfd: getxattrat
// where the kernel has it (no walk of a path that may be longer than
// PATH_MAX), else lgetxattr of path.
func getxattrAt(dirfd int, name, path, xn string, buf []byte) (int, error) {
	if !noGetxattrat.Load() {
		p, err := unix.BytePtrFromString(name)
		if err != nil {
			return 0, err
		}
		x, err := unix.BytePtrFromString(xn)
		if err != nil {
			return 0, err
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
		if ok {
			return n, err
		}
	}
	return unix.Lgetxattr(path, xn, buf)
}

// readXattrs returns the extended attributes of name in dirfd (path is
// the same entry; a symlink is not followed), sorted by name.
func readXattrs(dirfd int, name, path string) ([]tree.Xattr, error) {
	var small [256]byte
	size, err := listxattrAt(dirfd, name, path, small[:])
	list := small[:]
	if errors.Is(err, unix.ERANGE) {
		size, err = listxattrAt(dirfd, name, path, nil)
		if err == nil {
			list = make([]byte, size)
			size, err = listxattrAt(dirfd, name, path, list)
		}
	}
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: %s: listxattr: %v", ErrSource, path, err)
	}
	if size == 0 {
		return nil, nil
	}
	var out []tree.Xattr
	for _, xn := range strings.Split(strings.TrimRight(string(list[:size]), "\x00"), "\x00") {
		if xn == "" || tree.HostOnlyXattr(xn) {
			continue
		}
		vs, err := getxattrAt(dirfd, name, path, xn, nil)
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue
			}
			return nil, fmt.Errorf("%w: %s: getxattr %s: %v", ErrSource, path, xn, err)
		}
		v := make([]byte, vs)
		vs, err = getxattrAt(dirfd, name, path, xn, v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: getxattr %s: %v", ErrSource, path, xn, err)
		}
		out = append(out, tree.Xattr{Name: xn, Value: v[:vs]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// caller is who reads the sources: the effective user and its groups.
var caller = sync.OnceValue(func() (c struct {
	uid    uint32
	groups map[uint32]bool
}) {
	c.uid = uint32(os.Geteuid())
	c.groups = map[uint32]bool{uint32(os.Getegid()): true}
	if gs, err := unix.Getgroups(); err == nil {
		for _, g := range gs {
			c.groups[uint32(g)] = true
		}
	} else {
		c.groups = nil // unknown: ask the kernel
	}
	return c
})

// checkReadable makes sure a regular file can be opened for reading, so
// that an unreadable source fails the walk rather than a write half done.
// The mode bits grant it where they decide (root; the owner; no ACL); the
// kernel is asked otherwise.
func checkReadable(dirfd int, name string, st *unix.Stat_t, xattrs []tree.Xattr, aclUnknown bool) error {
	c := caller()
	if c.uid == 0 {
		return nil
	}
	var bit uint32
	switch {
	case st.Uid == c.uid:
		bit = 0o400 // the owner class ignores ACLs and groups
	case aclUnknown || c.groups == nil || hasACL(xattrs):
	case c.groups[st.Gid]:
		bit = 0o040
	default:
		bit = 0o004
	}
	if st.Mode&bit != 0 {
		return nil // a denial is left to the kernel: capabilities may allow it
	}
	for {
		err := unix.Faccessat(dirfd, name, unix.R_OK, unix.AT_EACCESS)
		if err != unix.EINTR {
			return err
		}
	}
}

func hasACL(xs []tree.Xattr) bool {
	for _, x := range xs {
		if x.Name == "system.posix_acl_access" {
			return true
		}
	}
	return false
}
