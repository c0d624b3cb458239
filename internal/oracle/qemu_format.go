package oracle

import (
	"encoding/json"
	"fmt"
	"testing"
)

// QemuImgAs returns `qemu-img info --output=json -f format` of img, for
// images qemu cannot probe (a fixed VHD has no magic at its start).
func QemuImgAs(t testing.TB, img, format string) QemuImgInfo {
	t.Helper()
	r := must(t, []int{0}, "qemu-img", "info", "--output=json", "-f", format, img)
	var info QemuImgInfo
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("qemu-img info: %v\n%s", err, r)
	}
	info.Raw = r.Stdout
	return info
}

// QemuImgCompareAsErr runs `qemu-img compare -f fa -F fb a b` and returns
// an error unless the two virtual disks hold the same bytes. It is not
// strict (-s): a raw file counts every sector as allocated, so a strict
// comparison with a sparse container always fails; and a longer disk may
// differ in size if its tail is zero. Check sizes with QemuImgAs.
func QemuImgCompareAsErr(t testing.TB, a, fa, b, fb string) error {
	t.Helper()
	Need(t, "qemu-img")
	r := Run("qemu-img", "compare", "-f", fa, "-F", fb, a, b)
	if r.Code != 0 {
		return fmt.Errorf("qemu-img compare says the images differ:\n%s", r)
	}
	return nil
}

// QemuImgCompareAs fails t unless `qemu-img compare -f fa -F fb a b` says
// the two virtual disks hold the same bytes (see QemuImgCompareAsErr).
func QemuImgCompareAs(t testing.TB, a, fa, b, fb string) {
	t.Helper()
	if err := QemuImgCompareAsErr(t, a, fa, b, fb); err != nil {
		t.Fatal(err)
	}
}

// QemuImgConvert runs `qemu-img convert ARGS...` (e.g. "-f", "raw", "-O",
// "vpc", in, out) and fails t unless it succeeds.
func QemuImgConvert(t testing.TB, args ...string) {
	t.Helper()
	must(t, []int{0}, "qemu-img", append([]string{"convert"}, args...)...)
}
