package boottest

import (
	"strings"
	"testing"
)

// TestTrixieTools makes the Debian trixie tree whose parted and sgdisk are
// the versions nixpkgs ships (parted 3.6, sgdisk 1.0.10) and runs them.
func TestTrixieTools(t *testing.T) {
	root := NeedTree(t, Tree{Suite: "trixie", Variant: "minbase", Include: []string{"parted", "gdisk"}})
	out, err := Chroot(root, "parted", "--version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "parted (GNU parted) 3.6") {
		t.Errorf("parted --version: %q, want 3.6", out)
	}
	out, err = Chroot(root, "sgdisk", "--version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1.0.10") {
		t.Errorf("sgdisk --version: %q, want 1.0.10", out)
	}
}

func TestMirror(t *testing.T) {
	t.Setenv("PUREFS_DEBIAN_MIRROR", "http://example.invalid/debian")
	if got := Mirror(); got != "http://example.invalid/debian" {
		t.Errorf("Mirror() = %q", got)
	}
	t.Setenv("PUREFS_DEBIAN_MIRROR", "")
	if got := Mirror(); !strings.HasPrefix(got, "http") {
		t.Errorf("Mirror() = %q, want a URL", got)
	}
}
