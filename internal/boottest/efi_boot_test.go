package boottest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/vm"
)

// Markers the guest prints on its serial console.
const (
	markerESP    = "PUREFS-ESP-OK"
	markerBoot   = "PUREFS-BOOT-OK"
	markerChecks = "PUREFS-CHECKS-OK"
	markerFailed = "PUREFS-CHECK-FAILED"
)

// efiInitrd is the initrd's /init: load the drivers, show the ESP through
// the kernel's vfat, mount the ext4 root and hand over to its /sbin/init.
const efiInitrd = `#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
while read -r m; do insmod "/lib/modules/$m"; done </lib/modules/load
i=0
while [ ! -b /dev/vda2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mkdir -p /esp /newroot
if mount -t vfat -o ro /dev/vda1 /esp && grep -q '^linux /vmlinuz' /esp/loader/entries/purefs.conf; then
	echo ` + markerESP + `
fi
umount /esp
mount -t ext4 -o ro /dev/vda2 /newroot || { echo "` + markerFailed + ` cannot mount root"; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
`

// rootInit is /sbin/init on the ext4 root: a busybox script that checks
// what the image writer put there.
const rootInit = `#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo ` + markerBoot + `
/bin/busybox ls -lan /
fail=0
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
[ $fail = 0 ] && echo ` + markerChecks + `
/bin/busybox poweroff -f
`

// makeBootImage builds the efi test image. The ESP and root trees are
// plain directories; MakeEFIImage is the part to switch to purefs build.
func makeBootImage(t *testing.T, a *Assets, img string) {
	t.Helper()
	esp, root := t.TempDir(), t.TempDir()
	put := func(base, p string, mode os.FileMode, data []byte) {
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
	read := func(p string) []byte {
		t.Helper()
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sdboot := read(a.SystemdBoot)
	put(esp, "EFI/BOOT/BOOTX64.EFI", 0o644, sdboot)
	put(esp, "EFI/systemd/systemd-bootx64.efi", 0o644, sdboot)
	put(esp, "loader/loader.conf", 0o644, []byte("timeout 0\ndefault purefs.conf\n"))
	put(esp, "loader/entries/purefs.conf", 0o644, []byte(
		"title purefs boot test\nlinux /vmlinuz\ninitrd /initrd\noptions console=ttyS0 panic=-1 loglevel=4\n"))
	put(esp, "vmlinuz", 0o644, read(a.Kernel))
	initrd := filepath.Join(t.TempDir(), "initrd")
	if err := WriteInitramfs(initrd, InitramfsOptions{
		Busybox: a.Busybox, ModDir: a.ModDir,
		Modules: []string{"virtio_pci", "virtio_blk", "ext4", "crc32c_generic", "vfat", "nls_cp437", "nls_ascii"},
		Init:    efiInitrd,
	}); err != nil {
		t.Fatal(err)
	}
	put(esp, "initrd", 0o644, read(initrd))

	put(root, "bin/busybox", 0o755, read(a.Busybox))
	put(root, "sbin/init", 0o755, []byte(rootInit))
	put(root, "etc/owned", 0o640, []byte("owned by 1234"))
	put(root, "etc/secret", 0o600, []byte("secret\n"))
	put(root, "usr/bin/suid", 0o755|os.ModeSetuid, []byte("#!/bin/sh\n"))
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
	owners := []Owner{{Path: "/etc/owned", UID: 1234, GID: 5678}}
	// The trees belong to whoever runs the test; the image's entries to root.
	for _, p := range []string{"/", "/bin", "/bin/busybox", "/sbin", "/sbin/init", "/etc", "/etc/secret", "/etc/link",
		"/usr", "/usr/bin", "/usr/bin/suid", "/proc", "/dev", "/sys", "/tmp"} {
		owners = append(owners, Owner{Path: p})
	}
	if err := MakeEFIImage(context.Background(), img, EFIImage{ESPDir: esp, RootDir: root, Owners: owners}); err != nil {
		t.Fatal(err)
	}
}

func TestBootEFI(t *testing.T) {
	a := Need(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "nixos.img")
	makeBootImage(t, a, img)
	vars := filepath.Join(dir, "efi-vars.fd")
	if err := os.WriteFile(vars, mustRead(t, a.OVMFVars), 0o644); err != nil {
		t.Fatal(err)
	}
	var serial bytes.Buffer
	start := time.Now()
	_, err := vm.Run(context.Background(), vm.Options{
		UEFI:    &vm.UEFI{Code: a.OVMFCode, Vars: vars},
		Disks:   []vm.Disk{{Path: img}},
		MemSize: 512,
		Timeout: 5 * time.Minute,
		Serial:  &serial,
	})
	t.Logf("UEFI boot to power-off took %v", time.Since(start).Round(time.Millisecond))
	out := serial.String()
	if err != nil {
		t.Fatalf("vm.Run: %v\nconsole:\n%s", err, out)
	}
	for _, m := range []string{markerESP, markerBoot, markerChecks} {
		if !strings.Contains(out, m) {
			t.Errorf("console lacks %s", m)
		}
	}
	if strings.Contains(out, markerFailed) || t.Failed() {
		t.Errorf("console:\n%s", out)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
