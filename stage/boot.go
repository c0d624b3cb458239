package stage

import (
	"fmt"

	"github.com/purefs/purefs/tree"
)

// SplitBoot moves the content of root's /boot into a new directory node,
// the top of the ESP for the efi and hybrid layouts, and leaves /boot on the
// root file system as an empty mount point with its own attributes (a
// missing /boot is created, mode 0755, owned by root, with the time stamps
// of root). A /boot that is not a directory is an ErrConflict.
func SplitBoot(root *tree.Node) (*tree.Node, error) {
	boot := root.Lookup("boot")
	if boot == nil {
		boot = tree.NewDir(0o755)
		boot.Atime, boot.Mtime, boot.Ctime, boot.Btime = root.Atime, root.Mtime, root.Ctime, root.Btime
		root.Set("boot", boot)
	}
	if boot.Type != tree.Dir {
		return nil, fmt.Errorf("%w: /boot is a %s; the ESP is mounted there", ErrConflict, boot.Type)
	}
	esp := tree.NewDir(0o755)
	esp.Atime, esp.Mtime, esp.Ctime, esp.Btime = boot.Atime, boot.Mtime, boot.Ctime, boot.Btime
	esp.Entries, boot.Entries = boot.Entries, nil
	return esp, nil
}
