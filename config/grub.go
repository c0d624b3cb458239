package config

import (
	"fmt"
	"github.com/purefs/purefs/nixpkgs"
	"strings"
)

// Bootloader types.
const (
	SystemdBoot = "systemd-boot"
	GrubBIOS    = "grub-bios"
)

// GrubOptions are the keys of a "grub-bios" bootloader: GRUB 2 for BIOS
// PCs (i386-pc), installed without a virtual machine as grub-install does
// it:
//
//	"bootloader": {
//	  "type": "grub-bios",
//	  "grubDir": "/usr/lib/grub/i386-pc",
//	  "modules": ["serial"],
//	  "entries": [{"id": "debian", "linux": "boot:/vmlinuz-*",
//	               "initrd": "boot:/initrd.img-*", "options": "root=PARTUUID=… ro"}],
//	  "timeout": 3
//	}
//
// or, with images made beforehand,
//
//	"bootloader": {"type": "grub-bios", "bootImg": "boot.img", "coreImg": "core.img", "config": "grub.cfg"}
//
// bootImg is GRUB's boot.img (exactly 512 bytes); coreImg a core image
// made by `grub-mkimage -O i386-pc` whose prefix names where the image's
// /boot/grub is (see below). Without coreImg, purefs runs grub-mkimage
// (from PATH, else the root's /usr/bin/grub-mkimage) with grubDir's files,
// the modules for the disk (biosdisk, part_msdos or part_gpt, ext2 or fat),
// "modules" and the prefix of the layout. grubDir defaults to the root's
// /usr/lib/grub/i386-pc, else the host's; its *.mod and *.lst files, boot.img
// and core.img are placed in the image's /boot/grub/i386-pc, as
// grub-install places them (with coreImg, only when grubDir is given).
//
// The core image goes into the gap before the first partition (legacy,
// legacy+boot) or the BIOS boot partition (legacy+gpt, hybrid); boot.img
// into the MBR, whose partition table is kept. The prefix is on the
// partition that holds the image's /boot, relative to the disk the BIOS
// booted:
//
//	legacy       (,msdos1)/boot/grub   the ext4 root
//	legacy+gpt   (,gpt2)/boot/grub     the ext4 root
//	legacy+boot  (,msdos1)/grub        the FAT BOOT partition, which holds /boot
//	hybrid       (,gpt1)/grub          the ESP (FAT), which holds /boot
//
// /boot/grub/grub.cfg is "config" (a host file) or, without it, made from
// the entries: one menuentry per entry, "timeout" (default 5 seconds) and
// "default" as GRUB's timeout and default. GRUB reads the entries' files
// from the same partition.
type GrubOptions struct {
	BootImg string   // host path of boot.img, or ""
	CoreImg string   // host path of core.img, or ""
	GrubDir string   // host directory of GRUB's i386-pc files, or ""
	Modules []string // modules added to the core image made by purefs
	Config  string   // host path of grub.cfg, or ""
}

// grubKeys reads the grub-bios keys of bo into b.
func grubKeys(bo *object, b *Bootloader) error {
	var err error
	g := &b.GrubOptions
	for _, f := range []struct {
		p *string
		k string
	}{{&g.BootImg, "bootImg"}, {&g.CoreImg, "coreImg"}, {&g.GrubDir, "grubDir"}, {&g.Config, "config"}} {
		if *f.p, err = bo.str(f.k, ""); err != nil {
			return err
		}
	}
	g.Modules, err = bo.strList("modules", false)
	return err
}

// validateGrub checks a grub-bios bootloader on its own.
func (b *Bootloader) validateGrub() error {
	g := &b.GrubOptions
	if b.EFI != "" {
		return fmt.Errorf("%w: key %q belongs to systemd-boot, not %q", ErrBootloader, "bootloader.efi", GrubBIOS)
	}
	if g.CoreImg != "" && len(g.Modules) > 0 {
		return fmt.Errorf("%w: key %q: modules go into a core image purefs makes; coreImg is made already", ErrBootloader, "bootloader.modules")
	}
	for i, m := range g.Modules {
		if m == "" || strings.ContainsAny(m, "/ \t\n\x00") {
			return fmt.Errorf("%w: key %q: %q is not a module name", ErrBootloader, fmt.Sprintf("bootloader.modules[%d]", i), m)
		}
	}
	if g.Config == "" && len(b.Entries) == 0 {
		return fmt.Errorf("%w: key %q: give entries or a grub.cfg (key \"config\")", ErrBootloader, "bootloader.entries")
	}
	if g.Config != "" && len(b.Entries) > 0 {
		return fmt.Errorf("%w: key %q: grub.cfg is given, so the entries would not be used", ErrBootloader, "bootloader.entries")
	}
	return nil
}

// GrubLayouts are the partition table types a grub-bios install supports.
func grubLayout(t nixpkgs.TableType) bool {
	return t == nixpkgs.Legacy || t == nixpkgs.LegacyGPT || t == nixpkgs.LegacyBoot || t == nixpkgs.Hybrid
}
