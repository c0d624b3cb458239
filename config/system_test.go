package config

import (
	"errors"
	"runtime"
	"testing"
)

func TestSystem(t *testing.T) {
	c, err := Parse([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"amd64": "x86_64-linux", "arm64": "aarch64-linux", "riscv64": "riscv64-linux"}[runtime.GOARCH]; c.System != want {
		t.Errorf("default system %q, want the host's %q", c.System, want)
	}
	for _, s := range []struct{ name, removable, sdboot string }{
		{"x86_64-linux", "EFI/BOOT/BOOTX64.EFI", "EFI/systemd/systemd-bootx64.efi"},
		{"aarch64-linux", "EFI/BOOT/BOOTAA64.EFI", "EFI/systemd/systemd-bootaa64.efi"},
		{"riscv64-linux", "EFI/BOOT/BOOTRISCV64.EFI", "EFI/systemd/systemd-bootriscv64.efi"},
	} {
		c, err := Parse([]byte(`{"system": "` + s.name + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Target(); got.Name != s.name || got.RemovablePath() != s.removable || got.SystemdBootPath() != s.sdboot {
			t.Errorf("%s: %+v %s %s", s.name, got, got.RemovablePath(), got.SystemdBootPath())
		}
	}
	for _, bad := range []string{`{"system": "x86_64-darwin"}`, `{"system": "aarch64"}`, `{"system": ""}` + "", `{"system": "arm64"}`} {
		_, err := Parse([]byte(bad))
		if bad == `{"system": ""}` {
			// An empty system is the host's unknown architecture: fine
			// until something needs it.
			if err != nil {
				t.Errorf("%s: %v", bad, err)
			}
			_, err = Parse([]byte(`{"system": "", "installBootLoader": true, "vm": {"kernel": "k", "initrd": "i"}}`))
		}
		if !errors.Is(err, ErrSystem) {
			t.Errorf("%s: err %v, want ErrSystem", bad, err)
		}
	}
	if _, err := Parse([]byte(`{"system": 64}`)); !errors.Is(err, ErrType) {
		t.Errorf("system 64: %v, want ErrType", err)
	}
}
