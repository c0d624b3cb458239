package initrd_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/boottest"
	"github.com/purefs/purefs/vm/initrd"
)

// TestCPIOBusybox unpacks an archive with busybox cpio, an independent
// reader of the format.
func TestCPIOBusybox(t *testing.T) {
	a := boottest.Need(t)
	dir := t.TempDir()
	arc := filepath.Join(dir, "a.cpio")
	if err := os.WriteFile(arc, initrd.WriteSample(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	f, _ := os.Open(arc)
	defer f.Close()
	cmd := exec.Command(a.Busybox, "cpio", "-i", "-d", "-m")
	cmd.Dir, cmd.Stdin = out, f
	if b, err := cmd.CombinedOutput(); err != nil {
		// Device nodes need privileges; everything else must unpack.
		if !bytes.Contains(b, []byte("console")) {
			t.Fatalf("busybox cpio: %v\n%s", err, b)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "bin/x")); err != nil || string(b) != "12345" {
		t.Errorf("bin/x = %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(out, "bin/sh")); err != nil || l != "busybox" {
		t.Errorf("bin/sh → %q, %v", l, err)
	}
}

func TestModuleClosure(t *testing.T) {
	a := boottest.Need(t)
	mods, err := initrd.ModuleClosure(a.ModDir, initrd.DefaultModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		if _, dup := pos[m.Name]; dup {
			t.Errorf("%s listed twice", m.Name)
		}
		pos[m.Name] = i
	}
	for _, w := range initrd.DefaultModules {
		if _, ok := pos[w]; !ok {
			t.Errorf("%s missing from the closure", w)
		}
	}
	// Each module's dependencies load before it.
	for _, m := range mods {
		deps, _, err := initrd.ModInfoDeps(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			if p, ok := pos[initrd.NormModName(d)]; ok && p > pos[m.Name] {
				t.Errorf("%s loads after %s, which needs it", d, m.Name)
			}
		}
	}
	if _, err := initrd.ModuleClosure(a.ModDir, []string{"no_such_module"}); !errors.Is(err, initrd.ErrModule) {
		t.Errorf("unknown module: %v", err)
	}
}
