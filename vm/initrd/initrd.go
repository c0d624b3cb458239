// Package initrd writes the small initramfs that runs purefs's VM step:
// a static busybox, kernel modules with their dependencies (read from
// each module's .modinfo, so an unpacked kernel package without
// modules.dep will do) and an /init script, by default vm.GuestInit.
//
// The archive is an uncompressed cpio "newc" stream, the format the Linux
// kernel unpacks. Every entry is owned by 0:0 with time 0 and inode
// numbers counting up, so the same inputs give the same bytes. Hard links,
// compression and owners other than root are not supported.
package initrd

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/purefs/purefs/vm"
)

// DefaultModules are the kernel modules a guest needs for purefs's VM
// step: virtio PCI and block devices, 9p over virtio, ext4, vfat and
// efivarfs. Those built into the kernel are skipped.
var DefaultModules = []string{
	"virtio_pci", "virtio_blk", "9pnet_virtio", "9p",
	"ext4", "crc32c_generic", "vfat", "nls_cp437", "nls_iso8859_1", "nls_ascii",
	"efivarfs",
}

// File is an extra regular file placed in an initramfs or a test root.
type File struct {
	Path string
	Mode os.FileMode
	Data []byte
}

// Options describe a busybox initramfs. Only Busybox is required.
type Options struct {
	Busybox string   // static busybox binary, installed as /bin/busybox
	ModDir  string   // the kernel's lib/modules/VERSION ("" for no modules)
	Modules []string // modules to include with their dependencies
	Init    string   // the /init script (default vm.GuestInit)
	Files   []File   // more files (parent directories are created)
}

// Write writes an uncompressed newc initramfs to dst. The same
// options give the same bytes. Modules go to /lib/modules/NAME.ko and
// their load order to /lib/modules/load, as vm.GuestInit expects.
func Write(dst string, o Options) (err error) {
	bb, err := os.ReadFile(o.Busybox)
	if err != nil {
		return fmt.Errorf("initrd: busybox: %w", err)
	}
	var mods []Module
	if len(o.Modules) > 0 {
		mods, err = ModuleClosure(o.ModDir, o.Modules)
		if err != nil {
			return err
		}
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("initrd: %w", cerr)
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	bw := bufio.NewWriter(f)
	c := NewCPIOWriter(bw)
	dirs := map[string]bool{}
	for _, d := range []string{"bin", "dev", "etc", "lib", "lib/modules", "mnt", "proc", "root", "run", "sbin", "sys", "tmp", "usr", "usr/bin", "usr/sbin"} {
		dirs[d] = true
	}
	files := append([]File(nil), o.Files...)
	for _, fl := range files {
		for d := path.Dir(strings.TrimPrefix(fl.Path, "/")); d != "." && d != "/"; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	dl := make([]string, 0, len(dirs))
	for d := range dirs {
		dl = append(dl, d)
	}
	sort.Strings(dl) // parents sort before their children
	for _, d := range dl {
		perm := os.FileMode(0o755)
		if d == "tmp" {
			perm = 0o777 | os.ModeSticky
		}
		c.Dir(d, perm)
	}
	c.CharDev("dev/console", 0o600, 5, 1)
	c.CharDev("dev/null", 0o666, 1, 3)
	c.File("bin/busybox", 0o755, bb)
	init := o.Init
	if init == "" {
		init = vm.GuestInit
	}
	c.File("init", 0o755, []byte(init))
	var load strings.Builder
	for _, m := range mods {
		b, err := os.ReadFile(m.Path)
		if err != nil {
			return fmt.Errorf("initrd: %w", err)
		}
		c.File("lib/modules/"+m.Name+".ko", 0o644, b)
		load.WriteString(m.Name + ".ko\n")
	}
	c.File("lib/modules/load", 0o644, []byte(load.String()))
	sort.SliceStable(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, fl := range files {
		c.File(fl.Path, fl.Mode, fl.Data)
	}
	if err := c.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	return nil
}
