package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConvertArchives: a vfat image goes to vhdx, gce, raw-gzip and
// raw-zstd and back; inspect reads each and diff finds each identical to
// the image; a wrong option, a read-only format and a truncated archive
// fail and leave no output.
func TestConvertArchives(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "fat.img")
	if code := run([]string{"mkfs", "vfat", "--size", "12M", "--volume-id", "0badcafe", img}); code != 0 {
		t.Fatalf("mkfs vfat exited %d", code)
	}
	for _, format := range []string{"vhdx", "gce", "raw-gzip", "raw-zstd"} {
		out := filepath.Join(dir, "out."+format)
		if code := run([]string{"convert", "-O", format, img, out}); code != 0 {
			t.Fatalf("convert -O %s exited %d", format, code)
		}
		if code := run([]string{"inspect", out}); code != 0 {
			t.Errorf("inspect %s exited %d", format, code)
		}
		if code := run([]string{"diff", img, out}); code != 0 {
			t.Errorf("diff with the %s exited %d", format, code)
		}
		back := filepath.Join(dir, "back."+format+".img")
		if code := run([]string{"convert", "-O", "raw", out, back}); code != 0 {
			t.Fatalf("convert %s to raw exited %d", format, code)
		}
		if code := run([]string{"diff", img, back}); code != 0 {
			t.Errorf("%s round trip differs", format)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, "out.gce"))
	trunc := filepath.Join(dir, "trunc.gce")
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	for _, args := range [][]string{
		{"convert", "-O", "gce", "-o", "subformat=fixed", img, filepath.Join(dir, "x")},
		{"convert", "-O", "vhdx", "-o", "subformat=sparse", img, filepath.Join(dir, "x")},
		{"convert", "-O", "vhdx", "-o", "bogus=1", img, filepath.Join(dir, "x")},
		{"convert", "-O", "raw-bzip2", img, filepath.Join(dir, "x")},
		{"convert", "-O", "raw", trunc, filepath.Join(dir, "x")},
	} {
		if code := run(args); code == 0 {
			t.Errorf("%q succeeded", args)
		}
		if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
			t.Fatalf("%q left its output", args)
		}
	}
	if code := run([]string{"inspect", trunc}); code == 0 {
		t.Error("inspect of a truncated gce succeeded")
	}
}
