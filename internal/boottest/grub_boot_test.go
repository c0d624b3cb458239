package boottest

import (
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/vm"
)

// TestBootPurefsGrub boots images built by purefs build with GRUB
// installed natively ("bootloader" of type grub-bios: core.img made by
// grub-mkimage, placed in the MBR gap or the BIOS boot partition) through
// SeaBIOS on a q35 machine, one per layout GRUB can boot. The entries name
// the kernel and initrd in the image's /boot by glob; GRUB loads them from
// the ext4 root (legacy, legacy+gpt) or the FAT partition that holds /boot
// (legacy+boot's BOOT, hybrid's ESP), and the guest checks its root from
// inside.
func TestBootPurefsGrub(t *testing.T) {
	a := Need(t)
	oracle.NeedGrub(t)
	root, contents := buildRoot(t, a)
	put(t, root, "boot/vmlinuz-"+a.KernelVersion, 0o644, mustRead(t, a.Kernel))
	put(t, root, "boot/initrd.img-"+a.KernelVersion, 0o644, bootInitramfs(t, a))
	for _, layout := range []struct{ name, root string }{
		{"legacy", "/dev/vda1"}, {"legacy+gpt", "/dev/vda2"}, {"legacy+boot", "/dev/vda2"}, {"hybrid", "/dev/vda3"},
	} {
		t.Run(layout.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			img := purefsBuild(t, map[string]any{
				"root":               root,
				"partitionTableType": layout.name,
				"bootSize":           "64M",
				"additionalSpace":    "16M",
				"contents":           contents,
				"bootloader": map[string]any{
					"type": "grub-bios", "timeout": 0,
					"entries": []any{map[string]any{
						"linux": "boot:/vmlinuz-*", "initrd": "boot:/initrd.img-*",
						"options": "root=" + layout.root + " console=ttyS0 panic=-1 loglevel=4"}},
				},
			}, out)
			bootAndCheck(t, vm.Options{Disks: []vm.Disk{{Path: img}}, ExtraArgs: []string{"-machine", "q35"}}, markerBoot, markerChecks)
		})
	}
}
