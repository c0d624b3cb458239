package boottest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/vm"
)

// The aarch64 boot tests: Debian's arm64 kernel and busybox (fetched with
// an apt configuration of their own, see FetchForeign) under
// qemu-system-aarch64 -M virt (TCG), booting images purefs build made
// for system aarch64-linux on this x86_64 host.

// armInit is /sbin/init of the aarch64 roots: rootInit's checks of
// content, owners and modes, that the machine is an aarch64 one, and,
// with a FIRMWARE partition (sd-card), that its files are readable.
const armInit = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo ` + markerBoot + `
` + rootChecks + `m=$(/bin/busybox uname -m)
echo "machine: $m"
[ "$m" = aarch64 ] || { echo "` + markerFailed + ` uname -m is $m"; fail=1; }
if [ -d /boot/firmware ]; then
	if /bin/busybox mount -t vfat -o ro /dev/vda1 /boot/firmware && /bin/busybox grep -q purefs-sd /boot/firmware/config.txt; then
		echo PUREFS-FIRMWARE-OK
	else
		echo "` + markerFailed + ` firmware partition"; fail=1
	fi
fi
[ $fail = 0 ] && echo ` + markerChecks + `
/bin/busybox poweroff -f
`

// armBootInitramfs is bootInitramfsFile for the arm64 kernel.
func armBootInitramfs(t *testing.T, a *ForeignAssets) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "initrd")
	if err := os.WriteFile(p, testInitramfs(t, a.Busybox, a.ModDir), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// armRoot is buildRoot with the arm64 busybox and armInit.
func armRoot(t *testing.T, a *ForeignAssets) (string, []any) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the staged tree must belong to root: run as root (as CI does)")
	}
	return testTree(t, mustRead(t, a.Busybox), armInit), ownedContents(t)
}

// armBoot boots o on the aarch64 virt machine and checks the markers.
func armBoot(t *testing.T, o vm.Options, markers ...string) string {
	t.Helper()
	o.Arch = "arm64"
	o.Accel = "tcg"
	return bootAndCheck(t, o, markers...)
}

// TestBootAarch64EFI builds an efi image for aarch64-linux with the
// native systemd-boot install (EFI/BOOT/BOOTAA64.EFI) and boots it through
// AAVMF: the firmware finds systemd-boot at the removable-media path,
// systemd-boot the kernel and initrd on the ESP, the kernel's vfat reads
// the ESP and its ext4 the root, whose init checks content, owners, modes
// and uname -m.
func TestBootAarch64EFI(t *testing.T) {
	a := NeedForeign(t, "arm64")
	oracle := func(name string) {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s not installed", name)
		}
	}
	oracle("qemu-system-aarch64")
	root, contents := armRoot(t, a)
	initrdPath := armBootInitramfs(t, a)
	out := filepath.Join(t.TempDir(), "out")
	img := purefsBuild(t, map[string]any{
		"root":               root,
		"partitionTableType": "efi",
		"system":             "aarch64-linux",
		"bootSize":           "64M",
		"additionalSpace":    "16M",
		"contents":           contents,
		"bootloader": systemdBoot(a.SystemdBoot, "purefs aarch64 boot test", a.Kernel, initrdPath,
			"root=/dev/vda2 purefs.esp=/dev/vda1 console=ttyAMA0 panic=-1 loglevel=4"),
	}, out)
	console := armBoot(t, vm.Options{
		UEFI:  &vm.UEFI{Code: a.FirmwareCode, Vars: efiVars(t, a.FirmwareVars)},
		Disks: []vm.Disk{{Path: img}},
	}, markerESP, markerBoot, markerChecks, "machine: aarch64")
	if !strings.Contains(console, "purefs aarch64 boot test") && !strings.Contains(console, "Booting") {
		t.Log("systemd-boot printed nothing on the serial console (timeout 0)")
	}
}

// TestBootAarch64SDCard builds the sd-card layout for an aarch64 root and
// boots it with the kernel and initrd handed to QEMU directly (as U-Boot
// would after reading extlinux.conf), root=/dev/vda2; the init also reads
// the FIRMWARE partition.
func TestBootAarch64SDCard(t *testing.T) {
	a := NeedForeign(t, "arm64")
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		t.Skip("qemu-system-aarch64 not installed")
	}
	root, contents := armRoot(t, a)
	if err := os.MkdirAll(filepath.Join(root, "boot", "firmware"), 0o755); err != nil {
		t.Fatal(err)
	}
	fw := t.TempDir()
	put(t, fw, "config.txt", 0o644, []byte("# purefs-sd\narm_64bit=1\n"))
	put(t, fw, "overlays/README", 0o644, []byte("overlays\n"))
	out := filepath.Join(t.TempDir(), "out")
	purefsBuild(t, map[string]any{
		"root": root, "partitionTableType": "sd-card", "system": "aarch64-linux",
		"firmware": fw, "compressImage": false, "contents": contents,
	}, out)
	img := filepath.Join(out, "sd-image", "nixos.img")
	armBoot(t, vm.Options{
		Kernel: a.Kernel, Initrd: armBootInitramfs(t, a),
		Append: "root=/dev/vda2 console=ttyAMA0 panic=-1 loglevel=4",
		Disks:  []vm.Disk{{Path: img}},
	}, markerBoot, markerChecks, "machine: aarch64", "PUREFS-FIRMWARE-OK")
}

// armInstall is the installBootLoader command of the aarch64 VM step: it
// installs systemd-boot from the share onto the ESP at the removable-media
// path, as bootctl would, and records the machine it ran on.
const armInstall = `set -e
test "$NIXOS_INSTALL_BOOTLOADER" = 1
mkdir -p /mnt/boot/EFI/BOOT /mnt/boot/loader
cp /share/systemd-bootaa64.efi /mnt/boot/EFI/BOOT/BOOTAA64.EFI
uname -m >/mnt/boot/loader/installed-on
uname -m >/mnt/etc/installed-on
echo arm-installed`

// TestBootAarch64InstallBootLoader runs the installBootLoader step of an
// aarch64-linux image in an aarch64 guest (qemu-system-aarch64 -M virt,
// the arm64 kernel and a busybox initramfs keeping the vm package's
// protocol), then reads what it wrote back from the image.
func TestBootAarch64InstallBootLoader(t *testing.T) {
	a := NeedForeign(t, "arm64")
	if _, err := exec.LookPath("qemu-system-aarch64"); err != nil {
		t.Skip("qemu-system-aarch64 not installed")
	}
	root, contents := armRoot(t, a)
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	share := t.TempDir()
	put(t, share, "systemd-bootaa64.efi", 0o644, mustRead(t, a.SystemdBoot))
	vmInitrd := vmStepInitrd(t, a.Busybox, a.ModDir)
	out := filepath.Join(t.TempDir(), "out")
	start := time.Now()
	img := purefsBuild(t, map[string]any{
		"root": root, "partitionTableType": "efi", "system": "aarch64-linux",
		"bootSize": "64M", "additionalSpace": "16M", "contents": contents,
		"installBootLoader": true, "memSize": 512,
		"vm": map[string]any{
			"kernel": a.Kernel, "initrd": vmInitrd, "share": share, "timeout": 300, "accel": "tcg",
			"command": armInstall,
		},
	}, out)
	t.Logf("build with the aarch64 VM step took %v", time.Since(start).Round(time.Millisecond))
	const espOff = 8 << 20
	r := exec.Command("mtype", "-i", fmt.Sprintf("%s@@%d", img, espOff), "::/loader/installed-on")
	r.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	got, err := r.CombinedOutput()
	if err != nil || strings.TrimSpace(string(got)) != "aarch64" {
		t.Errorf("ESP loader/installed-on: %q, %v", got, err)
	}
	efi := exec.Command("mtype", "-i", fmt.Sprintf("%s@@%d", img, espOff), "::/EFI/BOOT/BOOTAA64.EFI")
	efi.Env = r.Env
	if b, err := efi.Output(); err != nil || !bytes.Equal(b, mustRead(t, a.SystemdBoot)) {
		t.Errorf("ESP EFI/BOOT/BOOTAA64.EFI is not systemd-bootaa64.efi: %v", err)
	}
}
