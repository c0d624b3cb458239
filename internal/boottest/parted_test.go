package boottest

import (
	"strings"
	"testing"
)

// TestNixpkgsTools makes the trixie tree and checks that its parted
// writes a table on an image inside it.
func TestNixpkgsTools(t *testing.T) {
	n := NeedNixpkgsTools(t)
	_, img := n.Image(t, 64<<20)
	out, err := n.Run("parted", "--script", img, "--", "mklabel", "gpt", "mkpart", "ESP", "fat32", "8MiB", "32MiB", "print")
	if err != nil || !strings.Contains(out, "ESP") {
		t.Fatalf("%v\n%s", err, out)
	}
}
