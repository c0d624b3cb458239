package oracle

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// QemuImgInfo is the part of `qemu-img info --output=json` tests look at.
type QemuImgInfo struct {
	Format      string          `json:"format"`
	VirtualSize int64           `json:"virtual-size"`
	ActualSize  int64           `json:"actual-size"`
	ClusterSize int64           `json:"cluster-size"`
	Specific    json.RawMessage `json:"format-specific"`
	Raw         string          `json:"-"`
}

// QemuImg returns `qemu-img info --output=json` of img.
func QemuImg(t testing.TB, img string) QemuImgInfo {
	t.Helper()
	r := must(t, []int{0}, "qemu-img", "info", "--output=json", img)
	var info QemuImgInfo
	if err := json.Unmarshal([]byte(r.Stdout), &info); err != nil {
		t.Fatalf("qemu-img info: %v\n%s", err, r)
	}
	info.Raw = r.Stdout
	return info
}

// QemuImgCheckErr runs `qemu-img check` (for formats that support it) and
// returns an error with its report unless the image is clean: no errors,
// no leaks, no corruptions.
func QemuImgCheckErr(t testing.TB, img string) error {
	t.Helper()
	Need(t, "qemu-img")
	r := Run("qemu-img", "check", img)
	if r.Code != 0 || strings.Contains(r.Stdout+r.Stderr, "leaked") || strings.Contains(r.Stdout+r.Stderr, "ERROR") {
		return fmt.Errorf("qemu-img check found problems:\n%s", r)
	}
	return nil
}

// QemuImgCheck fails t unless `qemu-img check` finds img clean.
func QemuImgCheck(t testing.TB, img string) {
	t.Helper()
	if err := QemuImgCheckErr(t, img); err != nil {
		t.Fatal(err)
	}
}

// QemuImgCompareErr returns an error unless the two virtual disks have the
// same size (qemu-img info) and the same bytes (`qemu-img compare`). It is
// not strict (-s), which also compares allocation: a raw file's holes count
// as allocated and a qcow2's unallocated clusters do not, so a sparse raw
// disk would never match its own conversion.
func QemuImgCompareErr(t testing.TB, a, b string) error {
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

// QemuImgCompare fails t unless QemuImgCompareErr finds a and b the same
// disk.
func QemuImgCompare(t testing.TB, a, b string) {
	t.Helper()
	if err := QemuImgCompareErr(t, a, b); err != nil {
		t.Fatal(err)
	}
}
