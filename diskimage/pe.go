package diskimage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/purefs/purefs/config"
)

// ErrEFIArch is wrapped when the bootloader's EFI binary is not a PE
// image for the configured system.
var ErrEFIArch = errors.New("diskimage: the bootloader's EFI binary does not match system")

// peMachineNames names the PE/COFF machine types of EFI binaries.
var peMachineNames = map[uint16]string{
	0x014c: "i386",
	0x01c2: "arm (Thumb)",
	0x0200: "ia64",
	0x5032: "riscv32",
	0x5064: "riscv64",
	0x5128: "riscv128",
	0x6232: "loongarch32",
	0x6264: "loongarch64",
	0x8664: "x86_64",
	0xAA64: "aarch64",
}

// peMachine reads the Machine field of the PE/COFF header of the EFI
// binary at path: the MS-DOS stub's e_lfanew (0x3c) points at the "PE\0\0"
// signature, followed by the COFF file header, whose first field is
// Machine.
func peMachine(path string) (uint16, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var dos [0x40]byte
	if _, err := io.ReadFull(f, dos[:]); err != nil || dos[0] != 'M' || dos[1] != 'Z' {
		return 0, errors.New("not a PE image (no MZ header)")
	}
	lfanew := int64(binary.LittleEndian.Uint32(dos[0x3c:])) // 0x3c e_lfanew
	var hdr [6]byte
	if _, err := f.ReadAt(hdr[:], lfanew); err != nil || string(hdr[:4]) != "PE\x00\x00" {
		return 0, errors.New("not a PE image (no PE signature)")
	}
	return binary.LittleEndian.Uint16(hdr[4:]), nil // COFF header 0x00 Machine
}

// checkEFIMachine fails unless the EFI binary at path is a PE image for
// sys: firmware of another architecture cannot run it, and an image that
// boots nowhere is better refused before it is written.
func checkEFIMachine(path string, sys config.System) error {
	m, err := peMachine(path)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrEFIArch, path, err)
	}
	if m == sys.PEMachine {
		return nil
	}
	name := peMachineNames[m]
	if name == "" {
		name = "unknown"
	}
	return fmt.Errorf("%w: %s is an EFI binary for %s (PE machine %#04x), system %s needs %#04x",
		ErrEFIArch, path, name, m, sys.Name, sys.PEMachine)
}
