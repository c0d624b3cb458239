package oracle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// GrubDir is where Debian's grub-pc-bin keeps the i386-pc images, modules
// and grub-bios-setup.
const GrubDir = "/usr/lib/grub/i386-pc"

// NeedGrub skips (or, under CI, fails) t unless grub-pc-bin's i386-pc
// files and grub-mkimage are installed.
func NeedGrub(t testing.TB) {
	t.Helper()
	Need(t, "grub-mkimage")
	for _, f := range []string{"boot.img", "diskboot.img", "normal.mod", "grub-bios-setup"} {
		if _, err := os.Stat(GrubDir + "/" + f); err != nil {
			if InCI() {
				t.Fatalf("oracle grub-pc-bin is missing under CI=true: %v", err)
			}
			t.Skipf("oracle grub-pc-bin not installed: %v", err)
		}
	}
}

// GrubBiosSetup runs GRUB's own grub-bios-setup on img, as grub-install
// does: boot and core (host paths) are installed onto the disk img through
// a loop device, with the file system at rootOff mounted read-only (through
// a second loop device) as the directory setup needs to find its root
// device. noRS adds --no-rs-codes. Where the kernel refuses loop devices
// or mounts (not root, a sandbox) the test is skipped, even under CI.
func GrubBiosSetup(t testing.TB, img string, rootOff int64, boot, core string, noRS bool) {
	t.Helper()
	NeedGrub(t)
	Need(t, "losetup", "mount", "umount")
	if os.Geteuid() != 0 {
		t.Skip("grub-bios-setup on an image needs root (loop devices)")
	}
	r := Run("losetup", "--find", "--show", img)
	if r.Code != 0 {
		t.Skipf("loop devices not available here:\n%s", r)
	}
	disk := strings.TrimSpace(r.Stdout)
	defer Run("losetup", "-d", disk)
	// mount's own loop option refuses a second loop device over the same
	// file; losetup makes one.
	r = Run("losetup", "--find", "--show", "--read-only", "--offset", fmt.Sprint(rootOff), img)
	if r.Code != 0 {
		t.Skipf("loop devices not available here:\n%s", r)
	}
	part := strings.TrimSpace(r.Stdout)
	defer Run("losetup", "-d", part)
	dir := t.TempDir()
	r = Run("mount", "-o", "ro,noload", part, dir)
	if r.Code != 0 {
		t.Skipf("kernel mount not available here:\n%s", r)
	}
	defer func() {
		if r := Run("umount", dir); r.Code != 0 {
			t.Errorf("umount: %s", r)
		}
	}()
	dmap := t.TempDir() + "/device.map"
	if err := os.WriteFile(dmap, []byte("(hd0) "+disk+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// -b and -c are taken relative to -d.
	up := strings.Repeat("../", strings.Count(filepath.Clean(dir), "/"))
	rel := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return up + strings.TrimPrefix(a, "/")
	}
	args := []string{"--device-map=" + dmap, "-d", dir, "-b", rel(boot), "-c", rel(core)}
	if noRS {
		args = append(args, "--no-rs-codes")
	}
	args = append(args, disk)
	if r := Run(GrubDir+"/grub-bios-setup", args...); r.Code != 0 {
		t.Fatalf("grub-bios-setup failed:\n%s", r)
	}
}
