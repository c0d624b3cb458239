package config

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// ErrSystem is wrapped by errors about the "system" key.
var ErrSystem = errors.New("config: unknown system")

// System describes a target platform by its Nix name: what the native
// systemd-boot install and the installBootLoader step need to know.
type System struct {
	// Name is Nix's system name, e.g. "aarch64-linux".
	Name string
	// GOARCH is Go's name of the architecture ("arm64"), which the vm
	// package uses for the guest.
	GOARCH string
	// EFIArch is the suffix UEFI and systemd-boot give the architecture:
	// BOOT<EFIArch>.EFI, systemd-boot<efiarch>.efi ("AA64").
	EFIArch string
	// PEMachine is the Machine field of the PE/COFF header of the
	// architecture's EFI binaries (0xAA64).
	PEMachine uint16
}

// Systems are the target platforms purefs knows, by Nix name.
var Systems = []System{
	{Name: "x86_64-linux", GOARCH: "amd64", EFIArch: "X64", PEMachine: 0x8664},
	{Name: "aarch64-linux", GOARCH: "arm64", EFIArch: "AA64", PEMachine: 0xAA64},
	{Name: "riscv64-linux", GOARCH: "riscv64", EFIArch: "RISCV64", PEMachine: 0x5064},
}

// LookupSystem returns the system named name (a Nix system name).
func LookupSystem(name string) (System, bool) {
	for _, s := range Systems {
		if s.Name == name {
			return s, true
		}
	}
	return System{}, false
}

// HostSystem is the Nix name of the architecture purefs runs on
// (runtime.GOARCH), or "" when it is none of Systems.
func HostSystem() string {
	for _, s := range Systems {
		if s.GOARCH == runtime.GOARCH {
			return s.Name
		}
	}
	return ""
}

// RemovablePath is the ESP path UEFI firmware boots from removable media
// (and from any disk without a boot entry): EFI/BOOT/BOOTAA64.EFI.
func (s System) RemovablePath() string { return "EFI/BOOT/BOOT" + s.EFIArch + ".EFI" }

// SystemdBootPath is where bootctl installs systemd-boot on the ESP:
// EFI/systemd/systemd-bootaa64.efi.
func (s System) SystemdBootPath() string {
	return "EFI/systemd/systemd-boot" + strings.ToLower(s.EFIArch) + ".efi"
}

// Target returns the system of c (its "system" key, or the host's).
func (c *Config) Target() System {
	s, _ := LookupSystem(c.System)
	return s
}

func systemNames() string {
	var n []string
	for _, s := range Systems {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}

// validateSystem checks the "system" key.
func (c *Config) validateSystem() error {
	if c.System == "" {
		// Only the bootloader and the VM step depend on the target.
		if c.Bootloader == nil && !c.InstallBootLoader {
			return nil
		}
		return fmt.Errorf("%w: key %q: the host's architecture %s has no Nix system name purefs knows; set it to one of %s", ErrSystem, "system", runtime.GOARCH, systemNames())
	}
	if _, ok := LookupSystem(c.System); !ok {
		return fmt.Errorf("%w: key %q: %q, want one of %s", ErrSystem, "system", c.System, systemNames())
	}
	return nil
}
