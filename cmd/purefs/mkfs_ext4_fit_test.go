package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestMkfsExt4Fit sizes the file system as make-ext4-fs.nix does: the
// least that holds the tree, plus 16 MiB free.
func TestMkfsExt4Fit(t *testing.T) {
	oracle.Need(t, "e2fsck", "dumpe2fs")
	src := t.TempDir()
	for i := range 50 {
		p := filepath.Join(src, "nix", "store", "pkg-"+strconv.Itoa(i), "data")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{byte(i + 1)}, 40000*i+1), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := filepath.Join(t.TempDir(), "ext4-fs.img")
	if err := mkfsExt4Main([]string{"--root", src, "--fit", "16M", "--label", "NIXOS_SD", "--uuid", "44444444-4444-4444-8888-888888888888", "--epoch", "1", img}); err != nil {
		t.Fatal(err)
	}
	oracle.E2fsck(t, img, 0)
	d := oracle.Dumpe2fs(t, img, 0)
	free, _ := strconv.ParseInt(d["Free blocks"], 10, 64)
	blocks, _ := strconv.ParseInt(d["Block count"], 10, 64)
	fi, _ := os.Stat(img)
	if fi.Size() != blocks*4096 {
		t.Errorf("image of %d bytes holds %d blocks", fi.Size(), blocks)
	}
	if free*4096 < 14<<20 || free*4096 > 17<<20 {
		t.Errorf("%d bytes free, want about 16 MiB", free*4096)
	}
	if _, err := parseMkfsExt4([]string{"--fit", "16M", "--size", "64M", img}, io.Discard); err == nil {
		t.Error("--fit with --size: no error")
	}
	if _, err := parseMkfsExt4([]string{"--fit", "lots", img}, io.Discard); err == nil {
		t.Error("--fit lots: no error")
	}
}
