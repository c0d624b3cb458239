package oracle

import (
	"fmt"
	"strings"
	"testing"
)

// SgdiskVerifyErr runs `sgdisk -v` and returns an error with its report
// unless it finds no problems. With a corrupt main header sgdisk falls back
// to the backup, still says "No problems found" and exits 0, printing its
// CRC and header warnings on standard error: those count as problems too.
func SgdiskVerifyErr(t testing.TB, img string) error {
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
