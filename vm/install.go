package vm

import (
	"fmt"
	"regexp"
	"strings"
)

// Install describes make-disk-image.nix's boot-loader step inside the guest: mount the
// image's root (and ESP), run the target system's installer, remove
// /etc/machine-id, unmount.
type Install struct {
	// Root is the root file system's device in the guest, e.g. /dev/vda2
	// (default /dev/vda, an image without a partition table).
	Root string
	// ESP is the ESP's device ("" for none), mounted at /mnt/boot.
	ESP string
	// Mounts are further FAT partitions mounted below /mnt after the root,
	// in order (efixbootldr: the ESP at /mnt/efi, XBOOTLDR at /mnt/boot;
	// legacy+boot: BOOT at /mnt/boot), as make-disk-image.nix mounts them.
	Mounts []Mount
	// EFIVars mounts efivarfs (the guest must have booted through OVMF).
	EFIVars bool
	// ConfigFile, if set, is a path in the guest (such as
	// /share/configuration.nix) copied to /mnt/etc/nixos/configuration.nix.
	ConfigFile string
	// Command is the installer, run by sh with /mnt holding the target
	// and NIXOS_INSTALL_BOOTLOADER=1 set; for NixOS:
	// chroot /mnt /nix/var/nix/profiles/system/bin/switch-to-configuration boot
	// (or nixos-enter where the guest has it).
	Command string
}

// Mount is a device mounted at /mnt/Dir in the guest.
type Mount struct {
	Device string // e.g. /dev/vda1
	Dir    string // below /mnt, e.g. "efi" or "boot"
}

var (
	devRE = regexp.MustCompile(`^/dev/[A-Za-z0-9/_.:-]+$`)
	dirRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$`)
)

// Script returns the guest shell script for Options.Command. It stops at
// the first failing step; the script's status is the installer's.
func (in Install) Script() (string, error) {
	root := in.Root
	if root == "" {
		root = "/dev/vda"
	}
	if !devRE.MatchString(root) || (in.ESP != "" && !devRE.MatchString(in.ESP)) {
		return "", fmt.Errorf("%w: install: bad device %q / %q", ErrInput, root, in.ESP)
	}
	mounts := in.Mounts
	if in.ESP != "" {
		mounts = append([]Mount{{in.ESP, "boot"}}, mounts...)
	}
	for _, m := range mounts {
		if !devRE.MatchString(m.Device) || !dirRE.MatchString(m.Dir) || strings.Contains("/"+m.Dir+"/", "/../") {
			return "", fmt.Errorf("%w: install: bad mount %q at %q", ErrInput, m.Device, m.Dir)
		}
	}
	if strings.TrimSpace(in.Command) == "" {
		return "", fmt.Errorf("%w: install: no installer command", ErrInput)
	}
	if strings.ContainsAny(in.ConfigFile, "'\n") {
		return "", fmt.Errorf("%w: install: bad config file path %q", ErrInput, in.ConfigFile)
	}
	var b strings.Builder
	b.WriteString("set -e\n")
	// Wait for the disks: virtio probing may finish after init starts.
	fmt.Fprintf(&b, "i=0; while [ ! -b %s ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done\n", root)
	if len(mounts) > 0 {
		// systemd-boot's installer finds the ESP through /dev/block
		// (make-disk-image.nix links the first partition there).
		fmt.Fprintf(&b, "mkdir -p /dev/block; ln -sf %s /dev/block/254:1\n", mounts[0].Device)
	}
	fmt.Fprintf(&b, "mkdir -p /mnt\nmount %s /mnt\n", root)
	for _, m := range mounts {
		fmt.Fprintf(&b, "mkdir -p /mnt/%s\nmount %s /mnt/%s\n", m.Dir, m.Device, m.Dir)
	}
	if in.EFIVars {
		b.WriteString("mount -t efivarfs efivarfs /sys/firmware/efi/efivars\n")
	}
	b.WriteString("mkdir -p /mnt/etc/nixos\n")
	if in.ConfigFile != "" {
		fmt.Fprintf(&b, "cp '%s' /mnt/etc/nixos/configuration.nix\n", in.ConfigFile)
	}
	b.WriteString("set +e\n(\nexport NIXOS_INSTALL_BOOTLOADER=1\n")
	b.WriteString(in.Command)
	b.WriteString("\n)\nst=$?\nset -e\n")
	// The installer makes a machine-id; one id baked into every image is wrong.
	b.WriteString("rm -f /mnt/etc/machine-id\n")
	if in.EFIVars {
		b.WriteString("umount /sys/firmware/efi/efivars\n")
	}
	for i := len(mounts) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "umount /mnt/%s\n", mounts[i].Dir)
	}
	b.WriteString("umount /mnt\nsync\nexit $st\n")
	return b.String(), nil
}
