package oracle

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSharedExtents: a reflinked copy on XFS shares extents, a plain copy
// does not.
func TestSharedExtents(t *testing.T) {
	mnt := MountXFS(t)
	src := filepath.Join(mnt, "src")
	if err := os.WriteFile(src, bytes.Repeat([]byte("shared? "), 1<<17), 0o644); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(mnt, "plain")
	if r := Run("cp", "--reflink=never", src, plain); r.Code != 0 {
		t.Fatal(r)
	}
	if SharedExtents(t, plain) {
		t.Error("a plain copy shares extents")
	}
	clone := filepath.Join(mnt, "clone")
	if r := Run("cp", "--reflink=always", src, clone); r.Code != 0 {
		t.Fatal(r)
	}
	if !SharedExtents(t, clone) {
		t.Error("a reflinked copy shares no extents")
	}
}
