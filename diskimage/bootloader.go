package diskimage

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/tree"
)

// addSystemdBoot installs systemd-boot natively: onto the ESP tree the EFI
// binary (checked to be a PE image for sys) as
// EFI/systemd/systemd-boot<arch>.efi and as the removable-media fallback
// EFI/BOOT/BOOT<ARCH>.EFI of sys, and loader/loader.conf; onto the boot
// tree (the partition holding the root's /boot: the ESP itself, or
// efixbootldr's XBOOTLDR partition, where systemd-boot also looks) the
// entries as kernel-install lays them out (addEntries). Every file gets the
// epoch as its time stamps.
func addSystemdBoot(esp, boot, root *tree.Node, b *config.Bootloader, sys config.System, epoch int64) error {
	if boot == nil {
		boot = esp
	}
	if err := checkEFIMachine(b.EFI, sys); err != nil {
		return err
	}
	t := time.Unix(epoch, 0)
	onto := esp
	add := func(path string, n *tree.Node) error {
		n.Perm = 0o644
		n.Atime, n.Mtime, n.Ctime, n.Btime = t, t, t, t
		return putFile(onto, path, n, t)
	}
	host := func(path, src string) error {
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("bootloader: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("bootloader: %s is not a regular file", src)
		}
		return add(path, &tree.Node{Type: tree.Regular, Source: src, Size: fi.Size()})
	}
	data := func(path string, b []byte) error {
		return add(path, &tree.Node{Type: tree.Regular, Data: b, Size: int64(len(b))})
	}
	if err := host(sys.SystemdBootPath(), b.EFI); err != nil {
		return err
	}
	if err := host(sys.RemovablePath(), b.EFI); err != nil {
		return err
	}
	if err := data("loader/loader.conf", b.LoaderConf()); err != nil {
		return err
	}
	return addEntries(boot, root, b, t)
}

// putFile places n at path (relative, '/'-separated) below dir, creating
// missing directories with time t. An existing file is replaced; a file in
// the way of a directory is an error.
func putFile(dir *tree.Node, path string, n *tree.Node, t time.Time) error {
	parts := strings.Split(path, "/")
	for i, name := range parts[:len(parts)-1] {
		next := dir.Lookup(name)
		if next == nil {
			next = &tree.Node{Type: tree.Dir, Perm: 0o755, Atime: t, Mtime: t, Ctime: t, Btime: t}
			dir.Set(name, next)
		} else if next.Type != tree.Dir {
			return fmt.Errorf("%w: /boot/%s is not a directory", ErrESP, strings.Join(parts[:i+1], "/"))
		}
		dir = next
	}
	dir.Set(parts[len(parts)-1], n)
	return nil
}
