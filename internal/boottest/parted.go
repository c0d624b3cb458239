package boottest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// PartedTree is the Debian tree whose parted and sgdisk are the versions
// nixpkgs ships (parted 3.6 and sgdisk 1.0.10 in trixie), the oracle of
// make-disk-image.nix's partition tables.
var PartedTree = Tree{Suite: "trixie", Variant: "minbase", Include: []string{"parted", "gdisk"}}

// NixpkgsTools is PartedTree, made (once) for a test: NeedTree's rules
// apply (skipped without debootstrap, a failure under CI=true).
type NixpkgsTools struct {
	Root string // the tree
}

// NeedNixpkgsTools returns PartedTree for tb and checks that its parted
// is 3.6 and its sgdisk 1.0.10.
func NeedNixpkgsTools(tb testing.TB) *NixpkgsTools {
	tb.Helper()
	root := NeedTree(tb, PartedTree)
	out, err := Chroot(root, "parted", "--version")
	if err != nil || !regexp.MustCompile(`parted\) 3\.6\b`).MatchString(out) {
		tb.Fatalf("the trixie tree's parted is not 3.6: %v\n%s", err, out)
	}
	out, err = Chroot(root, "sgdisk", "--version")
	if err != nil || !strings.Contains(out, "1.0.10") {
		tb.Fatalf("the trixie tree's sgdisk is not 1.0.10: %v\n%s", err, out)
	}
	return &NixpkgsTools{Root: root}
}

// Image creates a sparse file of size bytes inside the tree (under its
// /tmp, removed when tb ends) and returns its path on the host and inside
// the tree.
func (n *NixpkgsTools) Image(tb testing.TB, size int64) (host, inTree string) {
	tb.Helper()
	dir, err := os.MkdirTemp(filepath.Join(n.Root, "tmp"), "purefs-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	host = filepath.Join(dir, "disk.img")
	f, err := os.Create(host)
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return host, "/tmp/" + filepath.Base(dir) + "/disk.img"
}

// Run runs one of the tree's programs (parted, sgdisk) with args and
// returns its combined output; err is non-nil when it exits non-zero.
func (n *NixpkgsTools) Run(name string, args ...string) (string, error) {
	out, err := Chroot(n.Root, name, args...)
	if err != nil {
		return out, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}
