package vm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeQEMU returns a directory on $PATH-independent ground: an executable
// named like the emulator, so that resolve finds it without QEMU installed.
func fakeQEMU(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func touch(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestResolveErrors(t *testing.T) {
	q := fakeQEMU(t)
	k := touch(t, "vmlinuz")
	dir := t.TempDir()
	cases := []struct {
		name string
		o    Options
		want error
	}{
		{"no qemu", Options{QEMU: "/nonexistent/qemu-system-x86_64", Kernel: k}, ErrNoQEMU},
		{"no qemu on PATH", Options{QEMU: "purefs-no-such-qemu", Kernel: k}, ErrNoQEMU},
		{"missing kernel", Options{QEMU: q, Kernel: filepath.Join(dir, "nope")}, ErrInput},
		{"kernel is dir", Options{QEMU: q, Kernel: dir}, ErrInput},
		{"missing initrd", Options{QEMU: q, Kernel: k, Initrd: filepath.Join(dir, "nope")}, ErrInput},
		{"initrd without kernel", Options{QEMU: q, Initrd: k, Disks: []Disk{{Path: k}}}, ErrInput},
		{"nothing to boot", Options{QEMU: q}, ErrInput},
		{"missing disk", Options{QEMU: q, Kernel: k, Disks: []Disk{{Path: filepath.Join(dir, "nope")}}}, ErrInput},
		{"bad format", Options{QEMU: q, Kernel: k, Disks: []Disk{{Path: k, Format: "raw,file=/etc/passwd"}}}, ErrInput},
		{"bad accel", Options{QEMU: q, Kernel: k, Accel: "hvf"}, ErrInput},
		{"bad arch", Options{QEMU: q, Kernel: k, Arch: "mips"}, ErrInput},
		{"small mem", Options{QEMU: q, Kernel: k, MemSize: 1}, ErrInput},
		{"negative timeout", Options{QEMU: q, Kernel: k, Timeout: -time.Second}, ErrInput},
		{"share missing", Options{QEMU: q, Kernel: k, Share: &Share{Dir: filepath.Join(dir, "nope")}}, ErrInput},
		{"share is file", Options{QEMU: q, Kernel: k, Share: &Share{Dir: k}}, ErrInput},
		{"share tag xchg", Options{QEMU: q, Kernel: k, Share: &Share{Dir: dir, Tag: XchgTag}}, ErrInput},
		{"share tag bad", Options{QEMU: q, Kernel: k, Share: &Share{Dir: dir, Tag: "a b"}}, ErrInput},
		{"ovmf missing", Options{QEMU: q, Kernel: k, UEFI: &UEFI{Code: filepath.Join(dir, "OVMF_CODE.fd")}}, ErrInput},
		{"vars template missing", Options{QEMU: q, Kernel: k, UEFI: &UEFI{Code: touch(t, "OVMF_CODE.fd"), Vars: filepath.Join(dir, "nope")}}, ErrInput},
		{"vars is dir", Options{QEMU: q, Kernel: k, UEFI: &UEFI{Code: k, Vars: dir}}, ErrInput},
		{"command without kernel", Options{QEMU: q, Disks: []Disk{{Path: k}}, Command: "true"}, ErrInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := resolve(c.o)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

func TestRunChecksBeforeStarting(t *testing.T) {
	start := time.Now()
	_, err := Run(context.Background(), Options{QEMU: "/nonexistent/qemu", Kernel: "/nonexistent/vmlinuz"})
	if !errors.Is(err, ErrNoQEMU) {
		t.Fatalf("err = %v, want ErrNoQEMU", err)
	}
	_, err = Run(context.Background(), Options{QEMU: fakeQEMU(t), Kernel: "/nonexistent/vmlinuz"})
	if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "/nonexistent/vmlinuz") {
		t.Fatalf("err = %v, want ErrInput naming the kernel", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("bad input took %v to report", d)
	}
}

func TestRunReportsMissingStatus(t *testing.T) {
	// A "QEMU" that exits at once: the guest never reports a status.
	_, err := Run(context.Background(), Options{QEMU: fakeQEMU(t), Kernel: touch(t, "k"), Command: "true", Accel: "tcg"})
	if !errors.Is(err, ErrNoStatus) {
		t.Fatalf("err = %v, want ErrNoStatus", err)
	}
}

func TestRunTimeoutKillsQEMU(t *testing.T) {
	q := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	if err := os.WriteFile(q, []byte("#!/bin/sh\nexec sleep 1000\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := Run(context.Background(), Options{QEMU: q, Kernel: touch(t, "k"), Accel: "tcg", Timeout: 300 * time.Millisecond})
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 7*time.Second {
		t.Errorf("Run took %v with a 300ms timeout", d)
	}
}

func TestRunQEMUFailure(t *testing.T) {
	q := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	if err := os.WriteFile(q, []byte("#!/bin/sh\necho 'qemu: bad option' >&2; exit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Options{QEMU: q, Kernel: touch(t, "k"), Accel: "tcg"})
	if !errors.Is(err, ErrQEMU) || !strings.Contains(err.Error(), "bad option") {
		t.Fatalf("err = %v, want ErrQEMU with QEMU's message", err)
	}
}

func TestQEMUArgs(t *testing.T) {
	q := fakeQEMU(t)
	k := touch(t, "vmlinuz")
	i := touch(t, "initrd")
	d := touch(t, "a,b.img")
	code := touch(t, "OVMF_CODE.fd")
	touch(t, "OVMF_VARS.fd") // other dir; not used since Vars is given
	vars := touch(t, "efi-vars.fd")
	share := t.TempDir()
	r, err := resolve(Options{
		QEMU: q, Kernel: k, Initrd: i, MemSize: 512,
		Disks: []Disk{{Path: d}, {Path: d, Format: "qcow2", ReadOnly: true}},
		Share: &Share{Dir: share},
		UEFI:  &UEFI{Code: code, Vars: vars},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := r.qemuArgs("tcg", "/x", vars)
	want := [][]string{
		{"-accel", "tcg"},
		{"-m", "512"},
		{"-smp", "1"},
		{"-no-reboot"},
		{"-serial", "stdio"},
		{"-kernel", k},
		{"-initrd", i},
		{"-append", "console=ttyS0 panic=-1"},
		{"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + code},
		{"-drive", "if=pflash,format=raw,unit=1,file=" + vars},
		{"-drive", "if=virtio,format=raw,file=" + strings.ReplaceAll(d, ",", ",,") + ",cache=writeback,index=0"},
		{"-drive", "if=virtio,format=qcow2,file=" + strings.ReplaceAll(d, ",", ",,") + ",cache=writeback,index=1,readonly=on"},
		{"-fsdev", "local,id=fs0,path=/x,security_model=none,multidevs=remap"},
		{"-device", "virtio-9p-pci,fsdev=fs0,mount_tag=xchg"},
		{"-fsdev", "local,id=fs1,path=" + share + ",security_model=none,multidevs=remap"},
		{"-device", "virtio-9p-pci,fsdev=fs1,mount_tag=share"},
	}
	for _, w := range want {
		if !containsSeq(got, w) {
			t.Errorf("args lack %q:\n%q", w, got)
		}
	}
	if slices.Contains(got, "host") {
		t.Errorf("-cpu host under TCG: %q", got)
	}
	kvm := r.qemuArgs("kvm", "", vars)
	if !containsSeq(kvm, []string{"-cpu", "host"}) || strings.Contains(strings.Join(kvm, " "), "mount_tag=xchg") {
		t.Errorf("kvm args: %q", kvm)
	}
}

func TestUEFIVarsTemplate(t *testing.T) {
	dir := t.TempDir()
	code := filepath.Join(dir, "OVMF_CODE_4M.fd")
	tmpl := filepath.Join(dir, "OVMF_VARS_4M.fd")
	for _, p := range []string{code, tmpl} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := resolve(Options{QEMU: fakeQEMU(t), Kernel: code, UEFI: &UEFI{Code: code}})
	if err != nil {
		t.Fatal(err)
	}
	if r.varsTmpl != tmpl {
		t.Errorf("vars template %q, want %q", r.varsTmpl, tmpl)
	}
}

func TestRunCreatesEFIVars(t *testing.T) {
	dir := t.TempDir()
	code := filepath.Join(dir, "OVMF_CODE.fd")
	tmpl := filepath.Join(dir, "OVMF_VARS.fd")
	os.WriteFile(code, []byte("code"), 0o644)
	os.WriteFile(tmpl, []byte("vars template"), 0o644)
	vars := filepath.Join(t.TempDir(), "efi-vars.fd")
	_, err := Run(context.Background(), Options{QEMU: fakeQEMU(t), Kernel: code, Accel: "tcg", UEFI: &UEFI{Code: code, Vars: vars}})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(vars); err != nil || string(b) != "vars template" {
		t.Errorf("efi-vars.fd = %q, %v; want a copy of the template", b, err)
	}
}

func containsSeq(s, sub []string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if slices.Equal(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 4}
	b.Write([]byte("abc"))
	b.Write([]byte("defg"))
	if got := b.String(); got != "defg" {
		t.Errorf("tail %q", got)
	}
}

func TestProbeSector(t *testing.T) {
	if len(probeSector) != 512 || probeSector[510] != 0x55 || probeSector[511] != 0xaa {
		t.Fatal("probe sector is not a 512-byte boot sector")
	}
}

// TestQEMUArgsSMM: make-disk-image.nix's options for firmware that needs
// system management mode, and no other -machine.
func TestQEMUArgsSMM(t *testing.T) {
	k := touch(t, "vmlinuz")
	r, err := resolve(Options{QEMU: fakeQEMU(t), Kernel: k, SMM: true})
	if err != nil {
		t.Fatal(err)
	}
	got := r.qemuArgs("tcg", "", "")
	if !containsSeq(got, []string{"-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"}) ||
		strings.Count(strings.Join(got, " "), "-machine") != 1 {
		t.Errorf("args %q", got)
	}
	if _, err := resolve(Options{QEMU: fakeQEMU(t), Kernel: k, SMM: true, Arch: "arm64"}); !errors.Is(err, ErrInput) {
		t.Errorf("SMM on arm64: %v", err)
	}
}
