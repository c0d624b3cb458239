package boottest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/vm"
)

// purefsBuild writes the image into out with purefs build (package
// diskimage) from cfg, as `purefs build --config FILE --out DIR` does, and
// returns its path (out/nixos.img for a raw image).
func purefsBuild(t *testing.T, cfg map[string]any, out string) string {
	t.Helper()
	img, _ := buildPlan(t, cfg, out)
	return img
}

// systemdBoot is the "bootloader" key of a test image: systemd-boot
// (the efi binary) with one entry, "purefs", booting kernel and initrd
// with options, at once.
func systemdBoot(efi, title, kernel, initrd, options string) map[string]any {
	return map[string]any{
		"type": "systemd-boot", "efi": efi, "timeout": 0, "default": "purefs",
		"entries": []any{map[string]any{
			"id": "purefs", "title": title, "linux": kernel, "initrd": initrd, "options": options}},
	}
}

// buildRoot is rootTree for purefs build: /etc/owned gets its owner and
// mode from a contents entry, as in make-disk-image.nix.
func buildRoot(t *testing.T, a *Assets) (string, []any) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the staged tree must belong to root: run as root (as CI does)")
	}
	root := testTree(t, mustRead(t, a.Busybox), rootInit)
	return root, ownedContents(t)
}

// ownedContents is the contents entry that gives the root's /etc/owned
// its owner and mode.
func ownedContents(t *testing.T) []any {
	t.Helper()
	owned := filepath.Join(t.TempDir(), "owned")
	if err := os.WriteFile(owned, []byte("owned by 1234"), 0o644); err != nil {
		t.Fatal(err)
	}
	return []any{map[string]any{
		"source": owned, "target": "/etc/owned", "mode": "0640", "user": "1234", "group": "5678"}}
}

// TestBootPurefsBuild boots images written entirely by purefs build, with
// systemd-boot installed natively (the "bootloader" key): the kernel's
// vfat driver reads purefs's ESP and its ext4 driver purefs's root.
func TestBootPurefsBuild(t *testing.T) {
	a := Need(t)
	root, contents := buildRoot(t, a)
	initrdPath := bootInitramfsFile(t, a)
	for _, layout := range []struct{ name, root string }{{"efi", "/dev/vda2"}, {"hybrid", "/dev/vda3"}} {
		t.Run(layout.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			img := purefsBuild(t, map[string]any{
				"root":               root,
				"partitionTableType": layout.name,
				"bootSize":           "64M",
				"additionalSpace":    "16M",
				"contents":           contents,
				"bootloader": systemdBoot(a.SystemdBoot, "purefs boot test", a.Kernel, initrdPath,
					"root="+layout.root+" purefs.esp=/dev/vda1 console=ttyS0 panic=-1 loglevel=4"),
			}, out)
			bootEFIAndCheck(t, a, img)
		})
	}
}

// TestBootPurefsBuildLegacy builds a legacy (MBR) image with purefs build
// whose installBootLoader step runs extlinux in the VM (the "vm" key),
// then boots the image through the BIOS.
func TestBootPurefsBuildLegacy(t *testing.T) {
	a := Need(t)
	bootExtlinuxBuild(t, a, extlinuxConf, extlinuxInstall, map[string]any{"partitionTableType": "legacy"})
}

// bootExtlinuxBuild builds an image with purefs build from cfg and the
// test root, whose /boot holds the kernel, the test initrd and conf as
// extlinux.conf, and whose installBootLoader step runs command with
// extlinux in the share; then it boots the image through the BIOS.
func bootExtlinuxBuild(t *testing.T, a *Assets, conf, command string, cfg map[string]any) {
	t.Helper()
	root, contents := buildRoot(t, a)
	put(t, root, "boot/vmlinuz", 0o644, mustRead(t, a.Kernel))
	put(t, root, "boot/initrd", 0o644, bootInitramfs(t, a))
	put(t, root, "boot/extlinux/extlinux.conf", 0o644, []byte(conf))
	cfg["root"] = root
	cfg["additionalSpace"] = "16M"
	cfg["contents"] = contents
	cfg["installBootLoader"] = true
	cfg["memSize"] = 512
	cfg["vm"] = map[string]any{
		"kernel": a.Kernel, "initrd": vmStepInitrd(t, a.Busybox, a.ModDir), "share": extlinuxShare(t, a), "timeout": 300,
		"command": command,
	}
	img := purefsBuild(t, cfg, filepath.Join(t.TempDir(), "out"))
	bootAndCheck(t, vm.Options{Disks: []vm.Disk{{Path: img}}}, markerBoot, markerChecks)
}

// TestBootPurefsBuildXBOOTLDR boots an efixbootldr image written by purefs
// build: systemd-boot on the ESP (partition 1), its loader entry and the
// kernel on the XBOOTLDR partition (2), where systemd-boot finds them; the
// test initrd checks the entry there through the kernel's vfat.
func TestBootPurefsBuildXBOOTLDR(t *testing.T) {
	a := Need(t)
	root, contents := buildRoot(t, a)
	initrdPath := bootInitramfsFile(t, a)
	out := filepath.Join(t.TempDir(), "out")
	img := purefsBuild(t, map[string]any{
		"root":               root,
		"partitionTableType": "efixbootldr",
		"bootSize":           "160M",
		"additionalSpace":    "16M",
		"contents":           contents,
		"bootloader": systemdBoot(a.SystemdBoot, "purefs boot test", a.Kernel, initrdPath,
			"root=/dev/vda3 purefs.esp=/dev/vda2 console=ttyS0 panic=-1 loglevel=4"),
	}, out)
	// The ESP holds systemd-boot and no entries: it can only boot what it
	// finds on XBOOTLDR.
	espOff := int64(8 << 20)
	if list := oracle.Mdir(t, img, espOff, "::/loader"); strings.Contains(list, "entries") {
		t.Fatalf("the ESP holds loader entries:\n%s", list)
	}
	bootEFIAndCheck(t, a, img)
}

// TestBootPurefsBuildLegacyBoot builds a legacy+boot image (MBR, a FAT BOOT
// partition holding the root's /boot, root on partition 2) whose
// installBootLoader step installs extlinux onto BOOT, mounted at /mnt/boot
// as make-disk-image.nix mounts it, then boots it through the BIOS.
func TestBootPurefsBuildLegacyBoot(t *testing.T) {
	a := Need(t)
	conf := strings.NewReplacer(
		"/boot/vmlinuz", "/vmlinuz", "/boot/initrd", "/initrd", "root=/dev/vda1", "root=/dev/vda2").Replace(extlinuxConf)
	// make-disk-image.nix already marks BOOT active.
	command := strings.Replace(extlinuxInstall, "printf '\\200' | dd of=/dev/vda bs=1 seek=446 count=1 conv=notrunc\n", "", 1)
	bootExtlinuxBuild(t, a, conf, command, map[string]any{"partitionTableType": "legacy+boot", "bootSize": "96M"})
}
