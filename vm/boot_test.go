package vm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/internal/boottest"
	"github.com/purefs/purefs/vm"
)

// bootTimeout bounds one guest run; a TCG boot of the Debian kernel takes
// tens of seconds on a busy host.
const bootTimeout = 4 * time.Minute

// makeDisk makes the ext4 disk the guest reads. It is the one place to
// switch to purefs's own ext4 writer.
func makeDisk(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hello from the host's ext4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := boottest.MakeExt4(context.Background(), img, root, 16, []boottest.Owner{{Path: "/hello.txt", UID: 1000, GID: 100}}); err != nil {
		t.Fatal(err)
	}
	return img
}

func TestBootCommand(t *testing.T) {
	a := boottest.Need(t)
	initrd := boottest.VMInitramfs(t, a)
	disk := makeDisk(t)
	share := t.TempDir()
	cases := []struct {
		name    string
		command string
		status  int
		console string
	}{
		{"ok", `set -e
mkdir -p /mnt/d
mount -t ext4 -o ro /dev/vda /mnt/d
cat /mnt/d/hello.txt
stat -c 'owner=%u:%g mode=%a' /mnt/d/hello.txt
stat -c '%u:%g' /mnt/d/hello.txt >/share/owner
umount /mnt/d`, 0, "hello from the host's ext4"},
		{"fails", `echo about to fail; exit 7`, 7, "about to fail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var serial bytes.Buffer
			start := time.Now()
			st, err := vm.Run(context.Background(), vm.Options{
				Kernel:  a.Kernel,
				Initrd:  initrd,
				Disks:   []vm.Disk{{Path: disk, Format: "raw"}},
				Share:   &vm.Share{Dir: share},
				Command: c.command,
				MemSize: 512,
				Timeout: bootTimeout,
				Serial:  &serial,
			})
			t.Logf("guest run took %v", time.Since(start).Round(time.Millisecond))
			if err != nil {
				t.Fatalf("vm.Run: %v\nconsole:\n%s", err, serial.String())
			}
			if st != c.status {
				t.Errorf("status %d, want %d\nconsole:\n%s", st, c.status, serial.String())
			}
			if !strings.Contains(serial.String(), c.console) {
				t.Errorf("console lacks %q:\n%s", c.console, serial.String())
			}
		})
	}
	b, err := os.ReadFile(filepath.Join(share, "owner"))
	if err != nil || strings.TrimSpace(string(b)) != "1000:100" {
		t.Errorf("share/owner = %q, %v; want 1000:100", b, err)
	}
}

func TestBootTimeout(t *testing.T) {
	a := boottest.Need(t)
	initrd := boottest.VMInitramfs(t, a)
	start := time.Now()
	_, err := vm.Run(context.Background(), vm.Options{
		Kernel:  a.Kernel,
		Initrd:  initrd,
		Command: "sleep 100000",
		MemSize: 256,
		Timeout: 3 * time.Second,
	})
	took := time.Since(start)
	if !errors.Is(err, vm.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if took > 3*time.Second+probeSlack+10*time.Second {
		t.Errorf("Run returned after %v, long after its 3s timeout", took)
	}
}

// probeSlack allows for the KVM probe, which runs before the timeout starts.
const probeSlack = 15 * time.Second

// makeEFIDisk makes a GPT image with an empty ESP and a small root; the
// one place to switch to purefs build.
func makeEFIDisk(t *testing.T) (img string, rootOff, espOff int64) {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "machine-id"), []byte("0123456789abcdef0123456789abcdef\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	img = filepath.Join(t.TempDir(), "nixos.img")
	if err := boottest.MakeEFIImage(context.Background(), img, boottest.EFIImage{RootDir: root, ESPMiB: 32, RootMiB: 32}); err != nil {
		t.Fatal(err)
	}
	return img, 33 << 20, 1 << 20
}

// TestBootInstall runs make-disk-image.nix's boot-loader step (Install) under OVMF
// with efivarfs, as purefs build does for installBootLoader.
func TestBootInstall(t *testing.T) {
	a := boottest.Need(t)
	initrd := boottest.VMInitramfs(t, a)
	img, rootOff, espOff := makeEFIDisk(t)
	script, err := vm.Install{Root: "/dev/vda2", ESP: "/dev/vda1", EFIVars: true, ConfigFile: "/share/configuration.nix",
		Command: `test "$NIXOS_INSTALL_BOOTLOADER" = 1
mkdir -p /mnt/boot/loader
ls /sys/firmware/efi/efivars | grep -q . && echo efivars-ok
echo installed >/mnt/boot/loader/installed
echo new-id >/mnt/etc/machine-id`}.Script()
	if err != nil {
		t.Fatal(err)
	}
	share := t.TempDir()
	if err := os.WriteFile(filepath.Join(share, "configuration.nix"), []byte("{ }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := filepath.Join(t.TempDir(), "efi-vars.fd")
	tmpl, err := os.ReadFile(a.OVMFVars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vars, tmpl, 0o644); err != nil {
		t.Fatal(err)
	}
	var serial bytes.Buffer
	start := time.Now()
	st, err := vm.Run(context.Background(), vm.Options{
		Kernel: a.Kernel, Initrd: initrd,
		UEFI:    &vm.UEFI{Code: a.OVMFCode, Vars: vars},
		Disks:   []vm.Disk{{Path: img}},
		Share:   &vm.Share{Dir: share},
		Command: script,
		MemSize: 512,
		Timeout: bootTimeout,
		Serial:  &serial,
	})
	t.Logf("UEFI install run took %v", time.Since(start).Round(time.Millisecond))
	if err != nil || st != 0 {
		t.Fatalf("status %d, err %v\nconsole:\n%s", st, err, serial.String())
	}
	if !strings.Contains(serial.String(), "efivars-ok") {
		t.Errorf("efivarfs not mounted:\n%s", serial.String())
	}
	// The ESP got the installer's file; the root lost its machine-id.
	out, err := exec.Command("mtype", "-i", fmt.Sprintf("%s@@%d", img, espOff), "::/loader/installed").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "installed" {
		t.Errorf("ESP loader/installed: %q, %v", out, err)
	}
	dev := fmt.Sprintf("%s?offset=%d", img, rootOff)
	out, _ = exec.Command("debugfs", "-R", "ls -l /etc", dev).CombinedOutput()
	if strings.Contains(string(out), "machine-id") {
		t.Errorf("/etc/machine-id survived:\n%s", out)
	}
	out, _ = exec.Command("debugfs", "-R", "cat /etc/nixos/configuration.nix", dev).CombinedOutput()
	if !strings.Contains(string(out), "{ }") {
		t.Errorf("configuration.nix not copied:\n%s", out)
	}
	if out, err := exec.Command("e2fsck", "-fn", dev).CombinedOutput(); err != nil {
		t.Errorf("e2fsck after the run: %v\n%s", err, out)
	}
}
