package oracle

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/sparse"
)

// Mount mounts the file system at off in img read-only through a loop
// device and returns the mount point; it is unmounted when t ends. fstype
// is "ext4" or "vfat". Where the kernel refuses (not root, no loop devices,
// a sandbox), the test is skipped, even under CI: the kernel is an oracle
// only where the machine allows it.
func Mount(t testing.TB, img string, off int64, fstype string) string {
	t.Helper()
	Need(t, "mount", "umount")
	if os.Geteuid() != 0 {
		t.Skip("mount needs root")
	}
	dir := t.TempDir()
	opts := fmt.Sprintf("loop,ro,offset=%d", off)
	if fstype == "ext4" {
		opts += ",noload"
	}
	r := Run("mount", "-t", fstype, "-o", opts, img, dir)
	if r.Code != 0 {
		if strings.Contains(r.Stderr, "wrong fs type") || strings.Contains(r.Stderr, "bad superblock") || strings.Contains(r.Stderr, "structure needs cleaning") {
			t.Fatalf("the kernel refuses to mount the %s file system:\n%s\n%s", fstype, r, dmesgTail())
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

// dmesgTail returns the kernel's last messages, which explain a refused mount.
func dmesgTail() string {
	r := Run("dmesg")
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

// Window copies size bytes of img from off (size 0: to the end) into a new
// sparse temporary file and returns its path, for tools that cannot read at
// an offset. All-zero 64 KiB blocks become holes.
func Window(t testing.TB, img string, off, size int64) string {
	t.Helper()
	src, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if size == 0 {
		fi, err := src.Stat()
		if err != nil {
			t.Fatal(err)
		}
		size = fi.Size() - off
	}
	dst, err := os.CreateTemp(t.TempDir(), "window-*.img")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if err := dst.Truncate(size); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	for pos := int64(0); pos < size; pos += int64(len(buf)) {
		n := min(int64(len(buf)), size-pos)
		b := buf[:n]
		if _, err := src.ReadAt(b, off+pos); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if sparse.IsZero(b) {
			continue
		}
		if _, err := dst.WriteAt(b, pos); err != nil {
			t.Fatal(err)
		}
	}
	return dst.Name()
}

// MountXFS mounts a new, empty XFS with reflink=1 (a 1 GiB sparse file
// through a loop device) for the test and returns the mount point, for
// tests of copy_file_range sharing blocks; it is unmounted when t ends.
// Where that cannot be done, the test is skipped.
func MountXFS(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting XFS needs root")
	}
	Need(t, "mkfs.xfs", "mount", "umount", "filefrag")
	dir := t.TempDir()
	img := filepath.Join(dir, "xfs.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 1<<30); err != nil {
		t.Fatal(err)
	}
	if r := Run("mkfs.xfs", "-q", "-m", "reflink=1", img); r.Code != 0 {
		t.Fatalf("mkfs.xfs: %s", r)
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := Run("mount", "-o", "loop", img, mnt); r.Code != 0 {
		t.Skipf("cannot mount XFS here: %s", r)
	}
	t.Cleanup(func() {
		if r := Run("umount", mnt); r.Code != 0 {
			t.Errorf("umount: %s", r)
		}
	})
	return mnt
}

// SharedExtents reports whether filefrag sees extents of path shared with
// another file (reflinks).
func SharedExtents(t testing.TB, path string) bool {
	t.Helper()
	Need(t, "filefrag")
	r := Run("filefrag", "-v", path)
	if r.Code != 0 {
		t.Fatalf("filefrag: %s", r)
	}
	return strings.Contains(r.Stdout, "shared")
}
