package ext4

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestDirHashMatchesDebugfs compares dirHash with debugfs's dx_hash.
func TestDirHashMatchesDebugfs(t *testing.T) {
	oracle.Need(t, "debugfs")
	seed := [16]byte{0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55}
	seedStr := "11111111-2222-3333-4444-555555555555"
	names := []string{"a", "lost+found", "hello world", strings.Repeat("x", 31), strings.Repeat("y", 32),
		strings.Repeat("abcdefgh", 12) + "z", "caf\xc3\xa9-\xff\x80"}
	re := regexp.MustCompile(`Hash of (?s:.*) is (0x[0-9a-f]+) \(minor (0x[0-9a-f]+)\)`)
	sw := seedWords(seed)
	for _, n := range names {
		r := oracle.Run("debugfs", "-R", fmt.Sprintf("dx_hash -s %s -h half_md4 %s", seedStr, quoteDebugfs(n)))
		m := re.FindStringSubmatch(r.Stdout + r.Stderr)
		if m == nil {
			t.Fatalf("debugfs output: %s", r)
		}
		h, minor := dirHash(n, &sw)
		if got := fmt.Sprintf("0x%x", h); got != m[1] {
			t.Errorf("%q: hash %s, debugfs %s", n, got, m[1])
		}
		if got := fmt.Sprintf("0x%x", minor); got != m[2] {
			t.Errorf("%q: minor %s, debugfs %s", n, got, m[2])
		}
	}
}

// quoteDebugfs quotes a name for debugfs's command parser.
func quoteDebugfs(n string) string {
	if strings.ContainsAny(n, " \t\"") {
		return `"` + n + `"`
	}
	return n
}
