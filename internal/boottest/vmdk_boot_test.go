package boottest

import (
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/vm"
)

// TestBootPurefsBuildVMware boots the efi layout written by purefs build
// as VMware and VirtualBox images, through OVMF and systemd-boot with QEMU
// reading the containers itself: the vmdk (monolithicSparse, as
// vmware-image.nix makes it) read-write, and the streamOptimized disk
// inside the ova (virtualbox-image.nix's appliance, extracted with tar)
// read-only, since QEMU cannot rewrite compressed grains.
func TestBootPurefsBuildVMware(t *testing.T) {
	a := Need(t)
	oracle.Need(t, "tar")
	root, contents := buildRoot(t, a)
	initrdPath := bootInitramfsFile(t, a)
	for _, c := range []struct{ format, file string }{{"vmdk", "nixos.vmdk"}, {"ova", "nixos.ova"}} {
		t.Run(c.format, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			purefsBuild(t, map[string]any{
				"root":               root,
				"format":             c.format,
				"partitionTableType": "efi",
				"bootSize":           "64M",
				"additionalSpace":    "16M",
				"contents":           contents,
				"bootloader": systemdBoot(a.SystemdBoot, "purefs boot test", a.Kernel, initrdPath,
					"root=/dev/vda2 purefs.esp=/dev/vda1 console=ttyS0 panic=-1 loglevel=4"),
			}, out)
			disk := vm.Disk{Path: filepath.Join(out, c.file), Format: "vmdk"}
			if c.format == "ova" {
				x := t.TempDir()
				if r := oracle.Run("tar", "-xf", disk.Path, "-C", x); r.Code != 0 {
					t.Fatal(r)
				}
				disk = vm.Disk{Path: filepath.Join(x, "nixos-disk001.vmdk"), Format: "vmdk", ReadOnly: true}
			}
			oracle.QemuImgCheck(t, disk.Path)
			bootEFIDiskAndCheck(t, a, disk)
		})
	}
}
