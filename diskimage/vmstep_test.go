package diskimage

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/purefs/purefs/config"

	"github.com/purefs/purefs/internal/boottest"
	"github.com/purefs/purefs/internal/oracle"
)

// TestInstallBootLoaderVM runs the VM step of an efi build with OVMF and
// efivarfs: the installer writes into the mounted root and ESP and leaves
// a machine-id, which the step removes; a failing installer fails the
// build and leaves the output directory empty.
func TestInstallBootLoaderVM(t *testing.T) {
	a := boottest.Need(t)
	initrd := boottest.VMInitramfs(t, a)
	root := buildTree(t)
	cfg := map[string]any{
		"root": root, "partitionTableType": "efi", "bootSize": "64M", "additionalSpace": "8M",
		"format": "qcow2", "installBootLoader": true, "memSize": 512,
		"touchEFIVars": true, "efiVariables": a.OVMFVars,
		"vm": map[string]any{
			"kernel": a.Kernel, "initrd": initrd, "accel": "tcg", "timeout": 600,
			"command": "echo installed > /mnt/etc/installed-by-vm && mkdir -p /mnt/boot/EFI/vm && echo esp > /mnt/boot/EFI/vm/mark && echo 0123 > /mnt/etc/machine-id && ls /sys/firmware/efi/efivars >/dev/null",
		},
	}
	out := filepath.Join(t.TempDir(), "out")
	plan, err := build(t, cfg, out)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(out, "nixos.qcow2")
	oracle.QemuImgCheck(t, img)
	raw := filepath.Join(t.TempDir(), "disk.raw")
	oracle.QemuImgConvert(t, "-f", "qcow2", "-O", "raw", img, raw)
	l := plan.Layout
	oracle.E2fsck(t, raw, l.RootOffset)
	oracle.FsckFat(t, raw, l.ESPOffset, l.ESPSize)
	if got := oracle.Debugfs(t, raw, l.RootOffset, "cat /etc/installed-by-vm"); !strings.Contains(got, "installed") {
		t.Errorf("the installer's file is missing from the root: %q", got)
	}
	if got := oracle.Debugfs(t, raw, l.RootOffset, "stat /etc/machine-id"); !strings.Contains(got, "File not found") {
		t.Errorf("/etc/machine-id was not removed: %q", got)
	}
	if got := oracle.Mdir(t, raw, l.ESPOffset, "::/EFI/vm"); !strings.Contains(strings.ToLower(got), "mark") {
		t.Errorf("the installer's ESP file is missing:\n%s", got)
	}
	if fi, err := os.Stat(filepath.Join(out, "efi-vars.fd")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("efi-vars.fd: %v %v", fi, err)
	}

	cfg["vm"].(map[string]any)["command"] = "exit 7"
	out2 := filepath.Join(t.TempDir(), "out")
	if _, err := build(t, cfg, out2); !errors.Is(err, ErrBootLoader) || !strings.Contains(err.Error(), "status 7") {
		t.Errorf("failing installer: %v", err)
	}
	if _, err := os.Stat(out2); !os.IsNotExist(err) {
		t.Errorf("a failed build left %s behind", out2)
	}
}

// TestStopDuringVMStep: a build stopped while its VM step runs kills the
// VM (here a stand-in for QEMU that waits), and Stop returns only when it
// is gone, with nothing left of the build.
func TestStopDuringVMStep(t *testing.T) {
	oracle.Need(t, "sh")
	work := t.TempDir()
	pidFile := filepath.Join(work, "qemu.pid")
	qemu := filepath.Join(work, "qemu-system-x86_64")
	script := "#!/bin/sh\necho $$ > " + pidFile + ".tmp && mv " + pidFile + ".tmp " + pidFile + "\nexec sleep 60\n"
	if err := os.WriteFile(qemu, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kernel", "initrd"} {
		if err := os.WriteFile(filepath.Join(work, f), []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := config.Load(writeConfig(t, map[string]any{
		"root": buildTree(t), "partitionTableType": "none", "additionalSpace": "8M", "installBootLoader": true,
		"vm": map[string]any{"kernel": filepath.Join(work, "kernel"), "initrd": filepath.Join(work, "initrd"),
			"qemu": qemu, "accel": "tcg", "timeout": 600, "command": "true"},
	}))
	if err != nil {
		t.Fatal(err)
	}
	parent := t.TempDir()
	in := &Interrupt{}
	opts := BuildOptions{OutDir: filepath.Join(parent, "out"), SourceDateEpoch: "1", Interrupt: in}
	plan, err := MakePlan(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Build(plan, opts) }()
	var pid int
	for deadline := time.Now().Add(time.Minute); pid == 0; time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		select {
		case err := <-done:
			t.Fatalf("the build ended before its VM step ran: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the VM step never started")
		}
	}
	if !in.Stop() {
		t.Fatal("Stop during the VM step did not stop the build")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the VM (PID %d) outlived Stop: %v", pid, err)
	}
	if err := <-done; !errors.Is(err, ErrInterrupted) {
		t.Errorf("Build after Stop: %v, want ErrInterrupted", err)
	}
	if got := names(t, parent); len(got) != 0 {
		t.Errorf("a stopped build left %q", got)
	}
}
