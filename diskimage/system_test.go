package diskimage

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/internal/oracle"
)

// fakePE writes a minimal PE/COFF image for machine: an MS-DOS header whose
// e_lfanew points at the PE signature and a COFF header.
func fakePE(t *testing.T, machine uint16) string {
	t.Helper()
	b := make([]byte, 0x200)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80) // e_lfanew
	copy(b[0x80:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x84:], machine) // Machine
	p := filepath.Join(t.TempDir(), "systemd-boot.efi")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func sdbootConfig(root, efi, system string) map[string]any {
	return map[string]any{
		"root": root, "partitionTableType": "efi", "bootSize": "64M", "additionalSpace": "8M",
		"system": system,
		"bootloader": map[string]any{"type": "systemd-boot", "efi": efi,
			"entries": []any{map[string]any{"id": "nixos", "linux": efi}}},
	}
}

// TestBuildSystemESPPaths installs systemd-boot for each system and finds
// it at that system's removable-media path (mdir reads the ESP).
func TestBuildSystemESPPaths(t *testing.T) {
	oracle.Need(t, "mdir", "fsck.fat")
	root := buildTree(t)
	for _, c := range []struct{ system, removable, sdboot string }{
		{"x86_64-linux", "BOOTX64.EFI", "systemd-bootx64.efi"},
		{"aarch64-linux", "BOOTAA64.EFI", "systemd-bootaa64.efi"},
		{"riscv64-linux", "BOOTRISCV64.EFI", "systemd-bootriscv64.efi"},
	} {
		t.Run(c.system, func(t *testing.T) {
			sys, _ := config.LookupSystem(c.system)
			out := filepath.Join(t.TempDir(), "out")
			plan, err := build(t, sdbootConfig(root, fakePE(t, sys.PEMachine), c.system), out)
			if err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(out, "nixos.img")
			l := plan.Layout
			oracle.FsckFat(t, img, l.ESPOffset, l.ESPSize)
			esp := t.TempDir()
			oracle.Mcopy(t, img, l.ESPOffset, esp)
			for _, p := range []string{"EFI/BOOT/" + c.removable, "EFI/systemd/" + c.sdboot} {
				got, err := os.ReadFile(filepath.Join(esp, p))
				if err != nil {
					t.Errorf("ESP: %v", err)
				} else if m, err := peMachine(filepath.Join(esp, p)); err != nil || m != sys.PEMachine || len(got) != 0x200 {
					t.Errorf("ESP %s: machine %#x, %v, %d bytes", p, m, err, len(got))
				}
			}
		})
	}
}

// TestBuildSystemErrors: an unknown system and an EFI binary of another
// architecture are one error each, and nothing is written.
func TestBuildSystemErrors(t *testing.T) {
	root := buildTree(t)
	notPE := filepath.Join(t.TempDir(), "notpe.efi")
	os.WriteFile(notPE, []byte("#!/bin/sh\n"), 0o644)
	cases := []struct {
		name string
		cfg  map[string]any
		want error
	}{
		{"unknown system", map[string]any{"root": root, "system": "mips64-linux"}, config.ErrSystem},
		{"x86_64 binary for aarch64", sdbootConfig(root, fakePE(t, 0x8664), "aarch64-linux"), ErrEFIArch},
		{"aarch64 binary for x86_64", sdbootConfig(root, fakePE(t, 0xAA64), "x86_64-linux"), ErrEFIArch},
		{"aarch64 binary for riscv64", sdbootConfig(root, fakePE(t, 0xAA64), "riscv64-linux"), ErrEFIArch},
		{"not a PE image", sdbootConfig(root, notPE, "x86_64-linux"), ErrEFIArch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { buildFails(t, c.cfg, c.want) })
	}
}

func TestPEMachine(t *testing.T) {
	for _, m := range []uint16{0x8664, 0xAA64, 0x5064} {
		got, err := peMachine(fakePE(t, m))
		if err != nil || got != m {
			t.Errorf("peMachine = %#x, %v; want %#x", got, err, m)
		}
	}
}
