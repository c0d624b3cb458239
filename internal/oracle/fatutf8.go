package oracle

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// McopyUTF8 is Mcopy with mtools in a UTF-8 locale (C.UTF-8), so that
// long names outside ASCII come out as they are stored rather than as '_'.
func McopyUTF8(t testing.TB, img string, off int64, dst string) {
	t.Helper()
	Need(t, "mcopy", "mdir")
	if r := runUTF8("mdir", "-b", "-i", mtoolsImage(img, off), "::/"); r.Code != 0 {
		return // an empty root: nothing to copy
	}
	if r := runUTF8("mcopy", "-s", "-p", "-n", "-Q", "-i", mtoolsImage(img, off), "::/*", dst); r.Code != 0 {
		t.Fatalf("mcopy reports a problem:\n%s", r)
	}
}

// runUTF8 is Run with LC_ALL=C.UTF-8 instead of C.
func runUTF8(name string, args ...string) Result {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "TZ=UTC", "MTOOLS_SKIP_CHECK=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := Result{Cmd: name + " " + quoteArgs(args), Stdout: out.String(), Stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		r.Code = -1
		r.Stderr += err.Error()
	}
	return r
}

// MountVfat is Mount for a FAT file system with the options that make the
// kernel's view comparable with the source on any host: long names in
// UTF-8 (iocharset=utf8, whatever the kernel's default) and time stamps
// read as UTC (tz=UTC, whatever the kernel's time zone).
func MountVfat(t testing.TB, img string, off int64) string {
	t.Helper()
	Need(t, "mount", "umount")
	if os.Geteuid() != 0 {
		t.Skip("mount needs root")
	}
	dir := t.TempDir()
	r := Run("mount", "-t", "vfat", "-o", fmt.Sprintf("loop,ro,offset=%d,iocharset=utf8,tz=UTC", off), img, dir)
	if r.Code != 0 {
		if strings.Contains(r.Stderr, "wrong fs type") || strings.Contains(r.Stderr, "bad superblock") {
			t.Fatalf("the kernel refuses to mount the vfat file system:\n%s\n%s", r, dmesgTail())
		}
		t.Skipf("kernel mount not available here:\n%s", r)
	}
	t.Cleanup(func() {
		if r := Run("umount", dir); r.Code != 0 {
			t.Errorf("umount: %s", r)
		}
	})
	return dir
}
