package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/vm"
)

func TestVMOptions(t *testing.T) {
	o, _, err := vmOptions([]string{
		"--kernel", "K", "--initrd", "I", "--append", "console=ttyS0",
		"--mem", "512", "--disk", "a.img", "--disk", "b.qcow2,format=qcow2,readonly",
		"--share", "/s", "--efi-vars", "vars.fd", "--timeout", "90s",
		"--", "echo", "it's", "a b",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Kernel != "K" || o.Initrd != "I" || o.Append != "console=ttyS0" || o.MemSize != 512 || o.Timeout != 90*time.Second {
		t.Errorf("options %+v", o)
	}
	if len(o.Disks) != 2 || o.Disks[0] != (vm.Disk{Path: "a.img"}) || o.Disks[1] != (vm.Disk{Path: "b.qcow2", Format: "qcow2", ReadOnly: true}) {
		t.Errorf("disks %+v", o.Disks)
	}
	if o.Share == nil || o.Share.Dir != "/s" || o.UEFI == nil || o.UEFI.Vars != "vars.fd" {
		t.Errorf("share %+v uefi %+v", o.Share, o.UEFI)
	}
	if want := `echo 'it'\''s' 'a b'`; o.Command != want {
		t.Errorf("command %q, want %q", o.Command, want)
	}
	o, _, err = vmOptions([]string{"--kernel", "K", "--", "ls /; exit 3"}, io.Discard)
	if err != nil || o.Command != "ls /; exit 3" || o.UEFI != nil {
		t.Errorf("single-argument command: %q %v", o.Command, err)
	}
}

func TestVMOptionsErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--disk", ",format=raw"},
		{"--disk", "a.img,cache=none"},
		{"--timeout", "0s"},
		{"--mem", "lots"},
		{"--busybox", "bb", "--initrd", "I"},
		{"--modules", "M"},
	} {
		if _, _, err := vmOptions(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

func TestVMExitStatus(t *testing.T) {
	// A kernel that does not exist: one clear error, status 1, no QEMU.
	dir := t.TempDir()
	q := filepath.Join(dir, "qemu-system-x86_64")
	if err := os.WriteFile(q, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := run([]string{"vm", "--qemu", q, "--kernel", filepath.Join(dir, "nope"), "--", "true"}); got != 1 {
		t.Errorf("missing kernel: exit %d, want 1", got)
	}
	if got := run([]string{"vm", "--bogus"}); got != 2 {
		t.Errorf("bad flag: exit %d, want 2", got)
	}
}

// TestVMGuestStatus runs purefs vm against a stand-in QEMU that keeps the
// guest protocol (it writes the status into the exchange share): the
// guest command's status becomes purefs's. The boot tests in package vm
// do the same with a real guest.
func TestVMGuestStatus(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, "qemu-system-x86_64")
	script := `#!/bin/sh
for a in "$@"; do
	case $a in
	local,id=fs0,path=*) x=${a#local,id=fs0,path=}; x=${x%%,security_model=*} ;;
	esac
done
grep -q 'exit 5' "$x/cmd" && echo 5 >"$x/status"
exit 0
`
	if err := os.WriteFile(q, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	k := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(k, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := run([]string{"vm", "--qemu", q, "--accel", "tcg", "--kernel", k, "--", "echo hi; exit 5"}); got != 5 {
		t.Errorf("exit %d, want the guest command's 5", got)
	}
	if got := run([]string{"vm", "--qemu", q, "--accel", "tcg", "--kernel", k, "--", "true"}); got != 1 {
		t.Errorf("no status reported: exit %d, want 1", got)
	}
}

func TestVMGeneratedInitrd(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	if err := os.WriteFile(bb, []byte("busybox"), 0o755); err != nil {
		t.Fatal(err)
	}
	o, gen, err := vmOptions([]string{"--kernel", "K", "--busybox", bb, "--", "true"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.write(&o, dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(o.Initrd)
	if err != nil || !strings.HasPrefix(string(b), "070701") || !strings.Contains(string(b), "purefs-vm") {
		t.Errorf("generated initrd %s: %v (want a newc archive holding the guest init)", o.Initrd, err)
	}
}
