package stage

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/tree"
)

// readXattrs returns the extended attributes of name in dirfd (path is
// the same entry; a symlink is not followed), sorted by name.
func readXattrs(dirfd int, name, path string) ([]tree.Xattr, error) {
	var small [256]byte
	size, err := hostio.ListxattrAt(dirfd, name, path, small[:])
	list := small[:]
	if errors.Is(err, unix.ERANGE) {
		size, err = hostio.ListxattrAt(dirfd, name, path, nil)
		if err == nil {
			list = make([]byte, size)
			size, err = hostio.ListxattrAt(dirfd, name, path, list)
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
		if xn == "" || tree.HostOnlyXattr(xn) || !linuxNamespace(xn) {
			continue
		}
		vs, err := hostio.GetxattrAt(dirfd, name, path, xn, nil)
		if err != nil {
			if errors.Is(err, hostio.ENOATTR) {
				continue
			}
			return nil, fmt.Errorf("%w: %s: getxattr %s: %v", ErrSource, path, xn, err)
		}
		v := make([]byte, vs)
		vs, err = hostio.GetxattrAt(dirfd, name, path, xn, v)
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
	if uint32(st.Mode)&bit != 0 {
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

// linuxNamespace reports whether an attribute name is in one of the
// namespaces Linux file systems hold; others (darwin's com.apple.*) are
// the host's own and stay out of images.
func linuxNamespace(name string) bool {
	for _, ns := range []string{"user.", "trusted.", "security.", "system."} {
		if strings.HasPrefix(name, ns) {
			return true
		}
	}
	return false
}
