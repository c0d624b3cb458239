package vm

import (
	"errors"
	"strings"
	"testing"
)

func TestInstallScript(t *testing.T) {
	s, err := Install{Root: "/dev/vda2", ESP: "/dev/vda1", EFIVars: true, ConfigFile: "/share/configuration.nix",
		Command: "chroot /mnt /nix/var/nix/profiles/system/bin/switch-to-configuration boot"}.Script()
	if err != nil {
		t.Fatal(err)
	}
	order := []string{
		"ln -sf /dev/vda1 /dev/block/254:1",
		"mount /dev/vda2 /mnt\n",
		"mount /dev/vda1 /mnt/boot\n",
		"mount -t efivarfs",
		"cp '/share/configuration.nix' /mnt/etc/nixos/configuration.nix",
		"NIXOS_INSTALL_BOOTLOADER=1",
		"switch-to-configuration boot",
		"rm -f /mnt/etc/machine-id",
		"umount /mnt/boot",
		"umount /mnt\n",
		"exit $st",
	}
	at := 0
	for _, o := range order {
		i := strings.Index(s[at:], o)
		if i < 0 {
			t.Fatalf("script lacks %q after offset %d:\n%s", o, at, s)
		}
		at += i + len(o)
	}
	for _, bad := range []Install{
		{Command: ""},
		{Root: "/dev/vda; rm -rf /", Command: "true"},
		{ESP: "vda1", Command: "true"},
		{ConfigFile: "a'b", Command: "true"},
		{Mounts: []Mount{{"/dev/vda1", "../etc"}}, Command: "true"},
		{Mounts: []Mount{{"/dev/vda1", "/efi"}}, Command: "true"},
		{Mounts: []Mount{{"/dev/vda1; reboot", "efi"}}, Command: "true"},
	} {
		if _, err := bad.Script(); !errors.Is(err, ErrInput) {
			t.Errorf("%+v: err %v, want ErrInput", bad, err)
		}
	}
}

// TestInstallScriptMounts: efixbootldr's ESP at /mnt/efi and XBOOTLDR at
// /mnt/boot, mounted after the root and unmounted before it.
func TestInstallScriptMounts(t *testing.T) {
	s, err := Install{Root: "/dev/vda3", Mounts: []Mount{{"/dev/vda1", "efi"}, {"/dev/vda2", "boot"}}, Command: "true"}.Script()
	if err != nil {
		t.Fatal(err)
	}
	at := 0
	for _, o := range []string{
		"ln -sf /dev/vda1 /dev/block/254:1",
		"mount /dev/vda3 /mnt\n",
		"mkdir -p /mnt/efi\nmount /dev/vda1 /mnt/efi\n",
		"mkdir -p /mnt/boot\nmount /dev/vda2 /mnt/boot\n",
		"umount /mnt/boot\n",
		"umount /mnt/efi\n",
		"umount /mnt\n",
	} {
		i := strings.Index(s[at:], o)
		if i < 0 {
			t.Fatalf("script lacks %q after offset %d:\n%s", o, at, s)
		}
		at += i + len(o)
	}
}
