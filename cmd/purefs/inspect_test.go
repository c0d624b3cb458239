package main

import (
	"path/filepath"
	"testing"
)

// TestInspectDiffArgs: flags may follow the image names; diff exits 0 for
// identical images and 2 for a missing one.
func TestInspectDiffArgs(t *testing.T) {
	img := filepath.Join(t.TempDir(), "fat.img")
	if code := run([]string{"mkfs", "vfat", "--size", "4M", "--volume-id", "0badcafe", img}); code != 0 {
		t.Fatalf("mkfs vfat exited %d", code)
	}
	if code := run([]string{"inspect", img, "--json"}); code != 0 {
		t.Errorf("inspect IMAGE --json exited %d", code)
	}
	if code := run([]string{"diff", img, img, "--max-ranges", "3"}); code != 0 {
		t.Errorf("diff of an image with itself exited %d", code)
	}
	if code := run([]string{"diff", img, img + ".missing"}); code != 2 {
		t.Errorf("diff with a missing image exited %d, want 2", code)
	}
}
