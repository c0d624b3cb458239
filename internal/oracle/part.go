package oracle

import (
	"fmt"
	"strings"
	"testing"
)

// SgdiskVerifyErr runs `sgdisk -v` and returns an error with its report
// unless it finds no problems.
func SgdiskVerifyErr(t testing.TB, img string) error {
	t.Helper()
	Need(t, "sgdisk")
	r := Run("sgdisk", "-v", img)
	if r.Code != 0 || !strings.Contains(r.Stdout, "No problems found") {
		return fmt.Errorf("sgdisk -v found problems:\n%s", r)
	}
	return nil
}

// SgdiskVerify fails t unless `sgdisk -v` finds no problems.
func SgdiskVerify(t testing.TB, img string) {
	t.Helper()
	if err := SgdiskVerifyErr(t, img); err != nil {
		t.Fatal(err)
	}
}

// SfdiskDump returns `sfdisk --dump` of img.
func SfdiskDump(t testing.TB, img string) string {
	t.Helper()
	return must(t, []int{0}, "sfdisk", "--dump", img).Stdout
}

// SfdiskJSON returns `sfdisk --json` of img.
func SfdiskJSON(t testing.TB, img string) string {
	t.Helper()
	return must(t, []int{0}, "sfdisk", "--json", img).Stdout
}
