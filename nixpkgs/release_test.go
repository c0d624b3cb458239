package nixpkgs

import (
	"errors"
	"strings"
	"testing"
)

// TestParted pins each version's parted commands to the text of its
// make-disk-image.nix (partitionDiskScript), with $bootSize / $bootSizeMiB
// written B: the February 2024 file (NixOS/nixpkgs 9188bb5186, "OVMF: Add
// test with secure boot enabled"; as 23.11's and 24.05's but for
// efixbootldr), 24.05's efixbootldr (NixOS/nixpkgs pull request 285401,
// "nixos/systemd-boot: Add support for an XBOOTLDR partition"; the file at
// NixOS/nixpkgs 025640dcb7270faa6fe80089fda831b89f3824a9) and today's
// (25.05 and later; loongson-community/nixpkgs 2eb0578457838ef764d6f9956a3629b094b33d5f,
// faukah/nixpkgs 3b20077cd82fd1f099e92e2792d73e3176d4869d).
func TestParted(t *testing.T) {
	for _, c := range []struct {
		release string
		tt      TableType
		want    string
	}{
		{"", Legacy, "mklabel msdos mkpart primary ext4 1MiB -1"},
		{"", LegacyGPT, "mklabel gpt mkpart no-fs 1MB 2MB set 1 bios_grub on align-check optimal 1 mkpart primary ext4 2MB -1 align-check optimal 2 print"},
		{"", EFI, "mklabel gpt mkpart ESP fat32 8MiB B set 1 boot on mkpart primary ext4 B -1"},
		{"", Hybrid, "mklabel gpt mkpart ESP fat32 8MiB B set 1 boot on mkpart no-fs 0 1024KiB set 2 bios_grub on mkpart primary ext4 B -1"},
		{"", None, ""},
		{"24.05", EFIXBootLdr, "mklabel gpt mkpart ESP fat32 8MiB 100MiB set 1 boot on mkpart BOOT fat32 100MiB B set 2 bls_boot on mkpart ROOT ext4 B -1"},
		{"25.11", Legacy, "mklabel msdos mkpart primary ext4 1MiB 100% print"},
		{"25.11", LegacyBoot, "mklabel msdos mkpart primary fat32 1MiB B set 1 boot on mkpart primary ext4 B 100% print"},
		{"25.11", LegacyGPT, "mklabel gpt mkpart no-fs 1MiB 2MiB set 1 bios_grub on mkpart primary ext4 2MiB 100% align-check optimal 2 print"},
		{"25.11", EFI, "mklabel gpt mkpart ESP fat32 8MiB B set 1 boot on align-check optimal 1 mkpart primary ext4 B 100% align-check optimal 2 print"},
		{"25.11", EFIXBootLdr, "mklabel gpt mkpart ESP fat32 8MiB 100MiB set 1 boot on align-check optimal 1 mkpart BOOT fat32 100MiB B set 2 bls_boot on align-check optimal 2 mkpart ROOT ext4 B 100% align-check optimal 3 print"},
		{"25.11", Hybrid, "mklabel gpt mkpart ESP fat32 8MiB B set 1 boot on align-check optimal 1 mkpart no-fs 0 1024KiB set 2 bios_grub on mkpart primary ext4 B 100% align-check optimal 3 print"},
	} {
		r, err := LookupRelease(c.release)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(r.Parted(c.tt, "B"), " "); got != c.want {
			t.Errorf("%q %s:\n got %s\nwant %s", c.release, c.tt, got, c.want)
		}
	}
}

func TestReleases(t *testing.T) {
	def, _ := LookupRelease("")
	if def.Has(EFIXBootLdr) || def.Has(LegacyBoot) || def.RoundBootSize || def.CountLinks || def.BaseName {
		t.Errorf("the February 2024 rules: %+v", def)
	}
	if got := def.For(LegacyBoot); got.Release != Latest().Release || !got.Has(LegacyBoot) {
		t.Errorf("no release, legacy+boot: %+v", got)
	}
	if got := def.For(EFI); got.Release != "" {
		t.Errorf("no release, efi: %+v", got)
	}
	r, _ := LookupRelease("24.11")
	if !r.Has(EFIXBootLdr) || r.Has(LegacyBoot) || r.RoundBootSize {
		t.Errorf("24.11: %+v", r)
	}
	if err := r.CheckTableType(LegacyBoot); !errors.Is(err, ErrLayout) {
		t.Errorf("24.11 legacy+boot: %v", err)
	}
	r, _ = LookupRelease("25.05")
	if !r.RoundBootSize || !r.RoundSizes || !r.CountLinks || !r.BaseName || r.CheckTableType(LegacyBoot) != nil {
		t.Errorf("25.05: %+v", r)
	}
	for _, bad := range []string{"24.04", "25.5", "unstable", "2505", " 25.05"} {
		if _, err := LookupRelease(bad); !errors.Is(err, ErrRelease) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// round_to_nearest adds a whole unit to an aligned value.
	if got := r.BootSizeBytes(256 * MiB); got != 257*MiB {
		t.Errorf("256M: %d", got)
	}
	if got := r.PartedBootSize("256M", 256*MiB); got != "257MiB" {
		t.Errorf("256M: %s", got)
	}
	if got := def.PartedBootSize("256M", 256*MiB); got != "256M" {
		t.Errorf("256M, 2024: %s", got)
	}
	if RoundToNearest(4095, 4096) != 4096 || RoundToNearest(4096, 4096) != 8192 {
		t.Error("RoundToNearest")
	}
	if got := r.Sgdisk(EFIXBootLdr, "R"); strings.Join(got, " ") != "--disk-guid="+DiskGUID+" --partition-guid=1:"+ESPGUID+" --partition-guid=2:"+Partition2GUID+" --partition-guid=3:R" {
		t.Errorf("sgdisk %q", got)
	}
}
