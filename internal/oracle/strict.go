package oracle

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// e2fsckDeclined matches the questions e2fsck -n answers "no" and the
// problems it ignores. Some of them (a group descriptor checksum, a resize
// inode) leave its exit status at 0.
var e2fsckDeclined = regexp.MustCompile(`(?m)\?\s+no$|IGNORED`)

// E2fsckStrictErr is E2fsckErr that also fails when e2fsck exits 0 but
// declined a fix or ignored a problem on the way, which it does for bad
// group descriptor checksums and an invalid resize inode.
func E2fsckStrictErr(t testing.TB, img string, off int64) error {
	t.Helper()
	Need(t, "e2fsck")
	r := Run("e2fsck", "-fn", e2img(img, off))
	if r.Code != 0 || e2fsckDeclined.MatchString(r.Stdout+r.Stderr) {
		return fmt.Errorf("e2fsck found problems:\n%s", r)
	}
	return nil
}

// E2fsckStrict fails t unless E2fsckStrictErr finds the file system clean.
func E2fsckStrict(t testing.TB, img string, off int64) {
	t.Helper()
	if err := E2fsckStrictErr(t, img, off); err != nil {
		t.Fatal(err)
	}
}

// SgdiskVerifyStrictErr is SgdiskVerifyErr that also fails on the CRC and
// header warnings sgdisk prints on standard error when it falls back to the
// backup GPT: with a corrupt main header it still says "No problems found"
// and exits 0.
func SgdiskVerifyStrictErr(t testing.TB, img string) error {
	t.Helper()
	Need(t, "sgdisk")
	r := Run("sgdisk", "-v", img)
	out := r.Stdout + r.Stderr
	bad := r.Code != 0 || !strings.Contains(r.Stdout, "No problems found")
	for _, w := range []string{"corrupt GPT", "CRC", "ERROR", "invalid main GPT header", "invalid backup GPT header"} {
		bad = bad || strings.Contains(out, w)
	}
	if bad {
		return fmt.Errorf("sgdisk -v found problems:\n%s", r)
	}
	return nil
}

// SgdiskVerifyStrict fails t unless SgdiskVerifyStrictErr finds no problems.
func SgdiskVerifyStrict(t testing.TB, img string) {
	t.Helper()
	if err := SgdiskVerifyStrictErr(t, img); err != nil {
		t.Fatal(err)
	}
}

// QemuImgCompareDataErr compares the guest-visible contents of two disks
// of any formats: `qemu-img compare` without -s, plus equal virtual sizes.
// QemuImgCompareErr's strict mode also compares allocation, and a raw
// file's holes count as allocated while a qcow2's unallocated clusters do
// not, so it rejects every sparse raw disk against its qcow2 conversion.
func QemuImgCompareDataErr(t testing.TB, a, b string) error {
	t.Helper()
	Need(t, "qemu-img")
	ia, ib := QemuImg(t, a), QemuImg(t, b)
	if ia.VirtualSize != ib.VirtualSize {
		return fmt.Errorf("qemu-img info: virtual sizes differ: %s is %d bytes, %s is %d", a, ia.VirtualSize, b, ib.VirtualSize)
	}
	r := Run("qemu-img", "compare", a, b)
	if r.Code != 0 {
		return fmt.Errorf("qemu-img compare says the images differ:\n%s", r)
	}
	return nil
}

// QemuImgCompareData fails t unless QemuImgCompareDataErr finds a and b
// the same disk.
func QemuImgCompareData(t testing.TB, a, b string) {
	t.Helper()
	if err := QemuImgCompareDataErr(t, a, b); err != nil {
		t.Fatal(err)
	}
}
