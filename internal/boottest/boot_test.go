package boottest

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/vm"
	"github.com/purefs/purefs/vm/initrd"
)

// Markers the guest prints on its serial console.
const (
	markerESP    = "PUREFS-ESP-OK"
	markerBoot   = "PUREFS-BOOT-OK"
	markerChecks = "PUREFS-CHECKS-OK"
	markerFailed = "PUREFS-CHECK-FAILED"
)

// bootInitrd is the initrd's /init: load the drivers, mount the root
// named by root= and hand over to its /sbin/init. With purefs.esp=DEV it
// first checks the ESP through the kernel's vfat.
const bootInitrd = `#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/lib/modules/$m"; done </lib/modules/load
root=/dev/vda2 esp=
for x in $(cat /proc/cmdline); do
	case $x in
	root=*) root=${x#root=} ;;
	purefs.esp=*) esp=${x#purefs.esp=} ;;
	esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /esp /newroot
if [ -n "$esp" ]; then
	if mount -t vfat -o ro "$esp" /esp && grep -q '^linux  */' /esp/loader/entries/purefs.conf; then
		echo ` + markerESP + `
	fi
	umount /esp
fi
mount -t ext4 -o ro "$root" /newroot || { echo "` + markerFailed + ` cannot mount $root"; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
`

// rootChecks is the part of the roots' /sbin/init that checks content,
// owners and modes; it sets fail to 1 on a failed check.
const rootChecks = `fail=0
check() { # path want(uid:gid mode)
	got=$(/bin/busybox stat -c '%u:%g %a' "$1")
	if [ "$got" != "$2" ]; then echo "` + markerFailed + ` $1: $got, want $2"; fail=1; fi
}
check /etc/owned '1234:5678 640'
check /etc/secret '0:0 600'
check /usr/bin/suid '0:0 4755'
check /tmp '0:0 1777'
[ "$(/bin/busybox readlink /etc/link)" = owned ] || { echo "` + markerFailed + ` /etc/link"; fail=1; }
[ "$(/bin/busybox cat /etc/owned)" = "owned by 1234" ] || { echo "` + markerFailed + ` /etc/owned contents"; fail=1; }
`

// rootInit is /sbin/init on the ext4 root: a busybox script that checks
// what the image writer put there.
const rootInit = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo ` + markerBoot + `
/bin/busybox ls -lan /
` + rootChecks + `[ $fail = 0 ] && echo ` + markerChecks + `
/bin/busybox poweroff -f
`

// put writes a file below base with exactly mode, making parents.
func put(t *testing.T, base, p string, mode os.FileMode, data []byte) {
	t.Helper()
	full := filepath.Join(base, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil { // beyond the umask
		t.Fatal(err)
	}
}

// bootInitramfs writes the test initrd and returns it gzipped: extlinux
// cannot read files with holes, and mkfs.ext4 -d turns zero blocks into
// holes.
func bootInitramfs(t *testing.T, a *Assets) []byte {
	t.Helper()
	return testInitramfs(t, a.Busybox, a.ModDir)
}

// bootInitramfsFile is bootInitramfs in a file of its own.
func bootInitramfsFile(t *testing.T, a *Assets) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "initrd")
	if err := os.WriteFile(p, bootInitramfs(t, a), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// testInitramfs is the gzipped test initrd for the kernel whose modules
// are in modDir.
func testInitramfs(t *testing.T, busybox, modDir string) []byte {
	t.Helper()
	initrdPath := filepath.Join(t.TempDir(), "initrd")
	if err := initrd.Write(initrdPath, initrd.Options{
		Busybox: busybox, ModDir: modDir,
		Modules: []string{"virtio_pci", "virtio_blk", "ext4", "crc32c_generic", "vfat", "nls_cp437", "nls_ascii"},
		Init:    bootInitrd,
	}); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	zw.Write(mustRead(t, initrdPath))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// rootTree makes the root file system's tree and the owners to give its
// entries (the tree belongs to whoever runs the test).
func rootTree(t *testing.T, a *Assets) (string, []Owner) {
	t.Helper()
	root := testTree(t, mustRead(t, a.Busybox), rootInit)
	put(t, root, "etc/owned", 0o640, []byte("owned by 1234"))
	owners := []Owner{{Path: "/etc/owned", UID: 1234, GID: 5678}}
	for _, p := range []string{"/", "/bin", "/bin/busybox", "/sbin", "/sbin/init", "/etc", "/etc/secret", "/etc/link",
		"/usr", "/usr/bin", "/usr/bin/suid", "/proc", "/dev", "/sys", "/tmp"} {
		owners = append(owners, Owner{Path: p})
	}
	return root, owners
}

// testTree makes the root tree the init checks, but for /etc/owned
// (whose owner each way of building gives it): busybox, init as
// /sbin/init, a secret, a setuid file, a symlink and the mount points.
func testTree(t *testing.T, busybox []byte, init string) string {
	t.Helper()
	root := t.TempDir()
	put(t, root, "bin/busybox", 0o755, busybox)
	put(t, root, "sbin/init", 0o755, []byte(init))
	put(t, root, "etc/secret", 0o600, []byte("secret\n"))
	put(t, root, "usr/bin/suid", 0o755|os.ModeSetuid, []byte("#!/bin/sh\n"))
	if err := os.Symlink("owned", filepath.Join(root, "etc/link")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return root
}

// makeEFIBootImage builds the efi test image: systemd-boot, the kernel
// and the initrd on the ESP. MakeEFIImage is the part to switch to
// purefs build.
func makeEFIBootImage(t *testing.T, a *Assets, img string, hybrid bool) {
	t.Helper()
	esp := t.TempDir()
	rootDev := "/dev/vda2"
	if hybrid {
		rootDev = "/dev/vda3"
	}
	sdboot := mustRead(t, a.SystemdBoot)
	put(t, esp, "EFI/BOOT/BOOTX64.EFI", 0o644, sdboot)
	put(t, esp, "EFI/systemd/systemd-bootx64.efi", 0o644, sdboot)
	put(t, esp, "loader/loader.conf", 0o644, []byte("timeout 0\ndefault purefs.conf\n"))
	put(t, esp, "loader/entries/purefs.conf", 0o644, []byte(
		"title purefs boot test\nlinux /vmlinuz\ninitrd /initrd\noptions root="+rootDev+" purefs.esp=/dev/vda1 console=ttyS0 panic=-1 loglevel=4\n"))
	put(t, esp, "vmlinuz", 0o644, mustRead(t, a.Kernel))
	put(t, esp, "initrd", 0o644, bootInitramfs(t, a))
	root, owners := rootTree(t, a)
	if err := MakeEFIImage(context.Background(), img, EFIImage{Hybrid: hybrid, ESPDir: esp, RootDir: root, Owners: owners}); err != nil {
		t.Fatal(err)
	}
}

// bootAndCheck boots img, asserts the markers on the serial console and
// returns the console's output.
func bootAndCheck(t *testing.T, o vm.Options, markers ...string) string {
	t.Helper()
	var serial bytes.Buffer
	o.MemSize = 512
	o.Timeout = 5 * time.Minute
	o.Serial = &serial
	start := time.Now()
	_, err := vm.Run(context.Background(), o)
	t.Logf("boot to power-off took %v", time.Since(start).Round(time.Millisecond))
	out := serial.String()
	if err != nil {
		t.Fatalf("vm.Run: %v\nconsole:\n%s", err, out)
	}
	for _, m := range markers {
		if !strings.Contains(out, m) {
			t.Errorf("console lacks %s", m)
		}
	}
	if strings.Contains(out, markerFailed) || t.Failed() {
		t.Errorf("console:\n%s", out)
	}
	return out
}

// efiVars returns a fresh copy of the UEFI variable-store template.
func efiVars(t *testing.T, template string) string {
	t.Helper()
	vars := filepath.Join(t.TempDir(), "efi-vars.fd")
	if err := os.WriteFile(vars, mustRead(t, template), 0o644); err != nil {
		t.Fatal(err)
	}
	return vars
}

// vmStepInitrd writes the initrd of purefs build's VM step (the vm
// package's protocol) for the kernel whose modules are in modDir.
func vmStepInitrd(t *testing.T, busybox, modDir string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "vm-initrd")
	if err := initrd.Write(p, initrd.Options{Busybox: busybox, ModDir: modDir, Modules: initrd.DefaultModules}); err != nil {
		t.Fatal(err)
	}
	return p
}

// bootEFIAndCheck boots img through OVMF, with a fresh copy of its
// variable store, and asserts that the ESP, the boot and the checks ran.
func bootEFIAndCheck(t *testing.T, a *Assets, img string) {
	t.Helper()
	bootEFIDiskAndCheck(t, a, vm.Disk{Path: img})
}

// bootEFIDiskAndCheck is bootEFIAndCheck for a disk in any format.
func bootEFIDiskAndCheck(t *testing.T, a *Assets, disk vm.Disk) {
	t.Helper()
	bootAndCheck(t, vm.Options{
		UEFI:  &vm.UEFI{Code: a.OVMFCode, Vars: efiVars(t, a.OVMFVars)},
		Disks: []vm.Disk{disk},
	}, markerESP, markerBoot, markerChecks)
}

// TestBootEFI boots make-disk-image.nix's efi layout, made with the standard tools,
// through OVMF and systemd-boot: the control for TestBootPurefsBuild
// (which also covers hybrid). Add "hybrid" here to check that layout too.
func TestBootEFI(t *testing.T) {
	a := Need(t)
	for _, layout := range []string{"efi"} {
		t.Run(layout, func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "nixos.img")
			makeEFIBootImage(t, a, img, layout == "hybrid")
			bootEFIAndCheck(t, a, img)
		})
	}
}

// extlinuxConf boots the root's /boot/vmlinuz with the test initrd.
const extlinuxConf = `SERIAL 0 115200
DEFAULT purefs
PROMPT 0
TIMEOUT 1
LABEL purefs
  LINUX /boot/vmlinuz
  INITRD /boot/initrd
  APPEND root=/dev/vda1 console=ttyS0 panic=-1 loglevel=4
`

// extlinuxInstall is the boot-loader step for a legacy image: extlinux
// (run through the share's dynamic loader) into /boot/extlinux, and
// syslinux's MBR code onto the disk, which boots the active partition:
// mark partition 1 active (make-disk-image.nix's parted leaves it inactive).
const extlinuxInstall = `set -e
/share/ld.so --library-path /share /share/extlinux --install /mnt/boot/extlinux
dd if=/share/mbr.bin of=/dev/vda bs=440 count=1 conv=notrunc
printf '\200' | dd of=/dev/vda bs=1 seek=446 count=1 conv=notrunc
echo extlinux-installed`

// extlinuxShare makes the share directory with extlinux, its libc and
// syslinux's mbr.bin.
func extlinuxShare(t *testing.T, a *Assets) string {
	t.Helper()
	share := t.TempDir()
	put(t, share, "extlinux", 0o755, mustRead(t, a.Extlinux))
	put(t, share, "mbr.bin", 0o644, mustRead(t, a.SyslinuxMBR))
	put(t, share, "ld.so", 0o755, mustRead(t, filepath.Join(a.LibDir, "ld-linux-x86-64.so.2")))
	put(t, share, "libc.so.6", 0o755, mustRead(t, filepath.Join(a.LibDir, "libc.so.6")))
	return share
}

// TestBootLegacy makes an MBR image, installs extlinux into it through
// the VM step (vm.Install, as purefs vm and purefs build run it), then
// boots it through the BIOS.
func TestBootLegacy(t *testing.T) {
	a := Need(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "nixos.img")
	root, owners := rootTree(t, a)
	put(t, root, "boot/vmlinuz", 0o644, mustRead(t, a.Kernel))
	put(t, root, "boot/initrd", 0o644, bootInitramfs(t, a))
	put(t, root, "boot/extlinux/extlinux.conf", 0o644, []byte(extlinuxConf))
	for _, p := range []string{"/boot", "/boot/vmlinuz", "/boot/initrd", "/boot/extlinux", "/boot/extlinux/extlinux.conf"} {
		owners = append(owners, Owner{Path: p})
	}
	// extlinux 6.04 cannot read ext4's 64bit layout.
	if err := MakeLegacyImage(context.Background(), img, LegacyImage{RootDir: root, Owners: owners, Ext4: []string{"-b", "4096", "-O", "^64bit"}}); err != nil {
		t.Fatal(err)
	}

	// The boot-loader step: extlinux and its libc come in through the share.
	share := extlinuxShare(t, a)
	script, err := vm.Install{Root: "/dev/vda1", Command: extlinuxInstall}.Script()
	if err != nil {
		t.Fatal(err)
	}
	vmInitrd := filepath.Join(dir, "vm-initrd")
	if err := initrd.Write(vmInitrd, initrd.Options{Busybox: a.Busybox, ModDir: a.ModDir, Modules: initrd.DefaultModules, Init: vm.GuestInit}); err != nil {
		t.Fatal(err)
	}
	var serial bytes.Buffer
	start := time.Now()
	st, err := vm.Run(context.Background(), vm.Options{
		Kernel: a.Kernel, Initrd: vmInitrd,
		Disks: []vm.Disk{{Path: img}}, Share: &vm.Share{Dir: share},
		Command: script, MemSize: 512, Timeout: 5 * time.Minute, Serial: &serial,
	})
	t.Logf("install step took %v", time.Since(start).Round(time.Millisecond))
	if err != nil || st != 0 || !strings.Contains(serial.String(), "extlinux-installed") {
		t.Fatalf("install step: status %d, %v\nconsole:\n%s", st, err, serial.String())
	}
	bootAndCheck(t, vm.Options{Disks: []vm.Disk{{Path: img}}}, markerBoot, markerChecks)
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
