package oracle

import (
	"fmt"
	"testing"
)

// FsckFatErr runs `fsck.fat -n` on the FAT file system of size bytes at off
// (size 0: to the end of img) and returns an error with its report unless
// it is clean.
func FsckFatErr(t testing.TB, img string, off, size int64) error {
	t.Helper()
	Need(t, "fsck.fat")
	path := img
	if off != 0 || size != 0 {
		path = Window(t, img, off, size)
	}
	r := Run("fsck.fat", "-n", "-V", path)
	if r.Code != 0 {
		return fmt.Errorf("fsck.fat found problems:\n%s", r)
	}
	return nil
}

// FsckFat fails t unless `fsck.fat -n -V` finds the file system clean.
func FsckFat(t testing.TB, img string, off, size int64) {
	t.Helper()
	if err := FsckFatErr(t, img, off, size); err != nil {
		t.Fatal(err)
	}
}

// mtoolsImage names the window at off for mtools.
func mtoolsImage(img string, off int64) string { return fmt.Sprintf("%s@@%d", img, off) }

// Mdir returns `mdir -a` of dir (an mtools path such as "::/EFI") in the
// FAT file system at off.
func Mdir(t testing.TB, img string, off int64, dir string) string {
	t.Helper()
	r := must(t, []int{0}, "mdir", "-a", "-i", mtoolsImage(img, off), dir)
	return r.Stdout
}

// Mcopy extracts the whole FAT file system at off into the host directory
// dst (which must exist) with `mcopy -s -p -n -m` (-m keeps the
// modification times).
func Mcopy(t testing.TB, img string, off int64, dst string) {
	t.Helper()
	Need(t, "mcopy", "mdir")
	r := Run("mdir", "-b", "-i", mtoolsImage(img, off), "::/")
	if r.Code != 0 {
		// An empty root makes mdir -b exit non-zero: nothing to copy.
		return
	}
	must(t, []int{0}, "mcopy", "-s", "-p", "-n", "-m", "-Q", "-i", mtoolsImage(img, off), "::/*", dst)
}
