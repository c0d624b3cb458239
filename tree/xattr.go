package tree

import "strings"

// HostOnlyXattr reports extended attributes that belong to the file
// system or the machine a source sits on rather than to the file; trees
// read from a host leave them out, as cp -a does (attr's xattr.conf). XFS
// shows root its own copies of POSIX ACLs and capabilities under
// trusted.SGI_*, and an EVM signature binds a file to the inode it was
// made for. Without this, an image built from a tree on XFS would differ
// from one built from the same tree elsewhere.
func HostOnlyXattr(name string) bool {
	switch name {
	case "trusted.SGI_ACL_FILE", "trusted.SGI_ACL_DEFAULT", "trusted.SGI_CAP_FILE", "trusted.SGI_MAC_FILE", "security.evm":
		return true
	}
	return strings.HasPrefix(name, "trusted.SGI_DMI_") || strings.HasPrefix(name, "xfsroot.")
}
