package vm

import (
	"errors"
	"testing"
)

// TestArchArgs: the other guest architectures get the virt machine, the
// Cortex-A57 for arm64 under TCG (max for riscv64), their console, and the
// UEFI firmware that goes with the architecture.
func TestArchArgs(t *testing.T) {
	q := fakeQEMU(t)
	k := touch(t, "Image")
	for _, c := range []struct{ arch, cpu, console string }{
		{"arm64", "cortex-a57", "console=ttyAMA0 panic=-1"},
		{"riscv64", "max", "console=ttyS0 panic=-1"},
	} {
		r, err := resolve(Options{Arch: c.arch, QEMU: q, Kernel: k})
		if err != nil {
			t.Fatal(err)
		}
		got := r.qemuArgs("tcg", "", "")
		for _, w := range [][]string{{"-machine", "virt"}, {"-cpu", c.cpu}, {"-append", c.console}} {
			if !containsSeq(got, w) {
				t.Errorf("%s: args lack %q: %q", c.arch, w, got)
			}
		}
	}
	// AAVMF_CODE.fd given: its variable store is AAVMF_VARS.fd next to it.
	code := touch(t, "AAVMF_CODE.fd")
	if v := varsTemplate(code); v != code[:len(code)-len("AAVMF_CODE.fd")]+"AAVMF_VARS.fd" {
		t.Errorf("varsTemplate(%s) = %s", code, v)
	}
	if varsTemplate("/usr/share/AAVMF/AAVMF_CODE.fd") != "/usr/share/AAVMF/AAVMF_VARS.fd" {
		t.Error("AAVMF's variable store")
	}
	if _, err := resolve(Options{Arch: "mips", QEMU: q, Kernel: k}); !errors.Is(err, ErrInput) {
		t.Errorf("unknown architecture: %v", err)
	}
}
