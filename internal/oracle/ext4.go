package oracle

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// e2fsckDeclined matches the questions e2fsck -n answers "no" and the
// problems it ignores: for some (a group descriptor checksum, a resize
// inode) it still exits 0.
var e2fsckDeclined = regexp.MustCompile(`(?m)\?\s+no$|IGNORED`)

// E2fsckErr runs `e2fsck -fn` on the ext4 file system at off and returns an
// error holding e2fsck's report unless it finds nothing to fix: exit 0 and
// no fix declined or problem ignored on the way.
func E2fsckErr(t testing.TB, img string, off int64) error {
	t.Helper()
	Need(t, "e2fsck")
	r := Run("e2fsck", "-fn", e2img(img, off))
	if r.Code != 0 || e2fsckDeclined.MatchString(r.Stdout+r.Stderr) {
		return fmt.Errorf("e2fsck found problems:\n%s", r)
	}
	return nil
}

// E2fsck fails t unless `e2fsck -fn` finds the file system at off clean.
func E2fsck(t testing.TB, img string, off int64) {
	t.Helper()
	if err := E2fsckErr(t, img, off); err != nil {
		t.Fatal(err)
	}
}

// Dumpe2fs returns the "Name: value" lines of `dumpe2fs -h` as a map (keys
// as dumpe2fs spells them, e.g. "Block count", "Reserved GDT blocks",
// "Journal size").
func Dumpe2fs(t testing.TB, img string, off int64) map[string]string {
	t.Helper()
	r := must(t, []int{0}, "dumpe2fs", "-h", e2img(img, off))
	return parseColonLines(r.Stdout)
}

// Debugfs runs one debugfs request (e.g. "stat /etc", "htree /nix/store")
// read-only and returns its output. debugfs reports most failures on
// standard error with exit status 0, so the caller checks the text; a
// start-up failure fails t.
func Debugfs(t testing.TB, img string, off int64, request string) string {
	t.Helper()
	r := must(t, []int{0}, "debugfs", "-R", request, e2img(img, off))
	return r.Stdout + r.Stderr
}

// parseColonLines turns "Key:   value" lines into a map.
func parseColonLines(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}
