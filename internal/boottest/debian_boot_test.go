package boottest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/vm"
)

// debianTree is the Debian bookworm tree the real-userland boot tests
// share (the BIOS GRUB test boots the same one): systemd, udev, Debian's
// kernel and initramfs, systemd-boot's EFI binary and GRUB's BIOS modules.
// It must not be changed: files are added through contents.
var debianTree = Tree{Suite: "bookworm", Include: []string{"systemd", "systemd-sysv", "udev", "linux-image-amd64", "systemd-boot-efi", "grub-pc-bin"}}

// bootCheckScript runs as purefs-check.service once the system is up: it
// waits for systemd to finish starting, writes the state and the failed
// units to /var/lib/purefs-boot-result and powers off.
const bootCheckScript = `#!/bin/sh
state=$(systemctl is-system-running --wait)
failed=$(systemctl list-units --state=failed --no-legend --plain | cut -d' ' -f1 | tr '\n' ' ')
printf 'state=%s\nfailed=%s\n' "$state" "$failed" >/var/lib/purefs-boot-result
sync
echo "PUREFS-SYSTEMD state=$state failed=$failed" >/dev/ttyS0
systemctl poweroff
`

// Type=simple: a oneshot unit would be part of the start-up that
// is-system-running --wait waits for.
const bootCheckUnit = `[Unit]
Description=purefs boot check
After=multi-user.target

[Service]
Type=simple
ExecStart=/usr/local/sbin/purefs-check
`

// TestBootDebianSystemd builds an efi image of a real Debian userland
// (debootstrap's tree, unchanged, plus a check unit through contents) with
// the native systemd-boot and Debian's own kernel and initramfs, boots it
// under OVMF (-machine q35) until systemd reports "running" with no failed
// unit, and reads that report back from the powered-off image with
// debugfs.
func TestBootDebianSystemd(t *testing.T) {
	a := Need(t)
	root := NeedTree(t, debianTree)
	kernels, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	initrds, _ := filepath.Glob(filepath.Join(root, "boot", "initrd.img-*"))
	if len(kernels) != 1 || len(initrds) != 1 {
		t.Fatalf("the tree's /boot has kernels %v and initrds %v, want one of each", kernels, initrds)
	}
	add := t.TempDir()
	put(t, add, "purefs-check", 0o755, []byte(bootCheckScript))
	put(t, add, "purefs-check.service", 0o644, []byte(bootCheckUnit))
	put(t, add, "hostname", 0o644, []byte("purefs-debian\n"))
	out := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	purefsBuild(t, map[string]any{
		"root":               root,
		"partitionTableType": "efi",
		"bootSize":           "128M",
		"additionalSpace":    "64M",
		"keepOwners":         true,
		"contents": []any{
			map[string]any{"source": filepath.Join(add, "purefs-check"), "target": "/usr/local/sbin/purefs-check", "mode": "0755"},
			map[string]any{"source": filepath.Join(add, "purefs-check.service"), "target": "/etc/systemd/system/purefs-check.service", "mode": "0644"},
			map[string]any{"source": filepath.Join(add, "hostname"), "target": "/etc/hostname", "mode": "0644"},
		},
		"bootloader": map[string]any{
			"type": "systemd-boot", "efi": filepath.Join(root, "usr/lib/systemd/boot/efi/systemd-bootx64.efi"),
			"timeout": 0, "default": "debian",
			"entries": []any{map[string]any{
				"id": "debian", "title": "Debian (purefs)", "linux": kernels[0], "initrd": initrds[0],
				"options": "root=PARTUUID=f222513b-ded1-49fa-b591-20ce86a2fe7f rw console=ttyS0 systemd.wants=purefs-check.service systemd.show_status=0 panic=-1"}},
		},
	}, out)
	t.Logf("purefs build of the %s tree took %v", debianTree.Suite, time.Since(start).Round(time.Millisecond))
	img := filepath.Join(out, "nixos.img")

	vars := filepath.Join(t.TempDir(), "efi-vars.fd")
	if err := os.WriteFile(vars, mustRead(t, a.OVMFVars), 0o644); err != nil {
		t.Fatal(err)
	}
	var serial bytes.Buffer
	start = time.Now()
	_, err := vm.Run(context.Background(), vm.Options{
		UEFI:      &vm.UEFI{Code: a.OVMFCode, Vars: vars},
		Disks:     []vm.Disk{{Path: img}},
		MemSize:   1024,
		Timeout:   6 * time.Minute,
		Serial:    &serial,
		ExtraArgs: []string{"-machine", "q35"},
	})
	t.Logf("boot to power-off took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("vm.Run: %v\nconsole:\n%s", err, serial.String())
	}

	// The report, from the image itself: the root partition's offset as
	// sfdisk reads it.
	js, err := exec.Command("sfdisk", "--json", img).Output()
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		PartitionTable struct {
			Partitions []struct{ Start int64 }
		}
	}
	if err := json.Unmarshal(js, &table); err != nil || len(table.PartitionTable.Partitions) != 2 {
		t.Fatalf("sfdisk --json: %v\n%s", err, js)
	}
	start2 := table.PartitionTable.Partitions[1].Start
	res, err := exec.Command("debugfs", "-R", "cat /var/lib/purefs-boot-result", img+"?offset="+strconv.FormatInt(start2*512, 10)).Output()
	if err != nil {
		t.Fatalf("debugfs: %v", err)
	}
	report := string(res)
	t.Logf("systemd's report: %q", report)
	if !strings.Contains(report, "state=running\n") || !strings.Contains(report, "failed=\n") {
		t.Errorf("systemd did not come up cleanly: %q\nconsole:\n%s", report, serial.String())
	}
}
