package stage

import (
	"fmt"

	"github.com/purefs/purefs/tree"
)

// SplitBoot is SplitDir(root, "boot"): the top of the ESP for the efi and
// hybrid layouts.
func SplitBoot(root *tree.Node) (*tree.Node, error) { return SplitDir(root, "boot") }

// SplitDir moves the content of root's directory /name (boot, efi) into a
// new directory node, the top of the FAT partition mounted there, and
// leaves /name on the root file system as an empty mount point with its
// own attributes (a missing one is created, mode 0755, owned by root,
// with the time stamps of root). A /name that is not a directory is an
// ErrConflict.
func SplitDir(root *tree.Node, name string) (*tree.Node, error) {
	boot := root.Lookup(name)
	if boot == nil {
		boot = tree.NewDir(0o755)
		boot.Atime, boot.Mtime, boot.Ctime, boot.Btime = root.Atime, root.Mtime, root.Ctime, root.Btime
		root.Set(name, boot)
	}
	if boot.Type != tree.Dir {
		return nil, fmt.Errorf("%w: /%s is a %s; a FAT partition is mounted there", ErrConflict, name, boot.Type)
	}
	esp := tree.NewDir(0o755)
	esp.Atime, esp.Mtime, esp.Ctime, esp.Btime = boot.Atime, boot.Mtime, boot.Ctime, boot.Btime
	esp.Entries, boot.Entries = boot.Entries, nil
	return esp, nil
}
