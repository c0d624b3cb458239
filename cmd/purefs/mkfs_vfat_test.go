package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/fat"
	"github.com/purefs/purefs/internal/oracle"
)

func TestParseMkfsVfat(t *testing.T) {
	a, err := parseMkfsVfat([]string{"--size", "32M", "--label", "ESP", "img", "--offset", "1M", "--volume-id", "1234ABCD", "--fat", "32", "--epoch", "7"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if a.image != "img" || a.size != 32<<20 || a.offset != 1<<20 || a.opts.Label != "ESP" || a.opts.VolumeID != 0x1234abcd ||
		!a.opts.HasVolumeID || a.opts.FATType != 32 || a.opts.Epoch != 7 || !a.opts.HasEpoch || a.opts.HiddenSectors != 2048 {
		t.Errorf("parsed %+v", a)
	}
	for _, args := range [][]string{
		{},
		{"a", "b"},
		{"--size", "lots", "img"},
		{"--volume-id", "xyz", "img"},
		{"--fat", "13", "img"},
		{"--epoch", "yesterday", "img"},
	} {
		if _, err := parseMkfsVfat(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// TestMkfsVfatAtOffset writes a file system into the middle of an image
// whose other bytes must stay as they were.
func TestMkfsVfatAtOffset(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(filepath.Join(src, "EFI", "BOOT"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "EFI", "BOOT", "BOOTX64.EFI"), bytes.Repeat([]byte("MZ"), 40000), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "disk.img")
	const off, size = 1 << 20, 40 << 20
	before := bytes.Repeat([]byte{0xa5}, off+size+(1<<20))
	if err := os.WriteFile(img, before, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mkfsVfatMain([]string{"--root", src, "--offset", "1M", "--size", "40M", "--label", "ESP", "--epoch", "1700000000", img}); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) || !bytes.Equal(after[:off], before[:off]) || !bytes.Equal(after[off+size:], before[off+size:]) {
		t.Fatal("bytes outside the window changed")
	}
	oracle.FsckFat(t, img, off, size)
	out := t.TempDir()
	oracle.Mcopy(t, img, off, out)
	got, err := os.ReadFile(filepath.Join(out, "EFI", "BOOT", "BOOTX64.EFI"))
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte("MZ"), 40000)) {
		t.Fatalf("mcopy: %v, %d bytes", err, len(got))
	}
	fs, err := fat.Open(io.NewSectionReader(bytes.NewReader(after), off, size), size)
	if err != nil {
		t.Fatal(err)
	}
	if fs.Boot.HiddenSectors != off/512 || fs.Boot.Label != "ESP" {
		t.Errorf("boot sector %+v", fs.Boot)
	}
}

func TestMkfsVfatErrors(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "big"), make([]byte, 3<<20), 0o644)
	withLink := filepath.Join(dir, "link")
	os.MkdirAll(withLink, 0o755)
	os.Symlink("target", filepath.Join(withLink, "lnk"))
	for _, tc := range []struct {
		args []string
		want error
	}{
		{[]string{"--size", "8M", "--label", "MUCH TOO LONG"}, fat.ErrLabel},
		{[]string{"--size", "8M", "--label", "A*B"}, fat.ErrLabel},
		{[]string{"--size", "1M", "--root", src}, fat.ErrNoSpace},
		{[]string{"--size", "8M", "--root", withLink}, fat.ErrUnsupported},
		{[]string{"--size", "1G", "--fat", "12"}, fat.ErrType},
		{[]string{"--size", "4K"}, fat.ErrNoSpace},
	} {
		img := filepath.Join(dir, "out.img")
		err := mkfsVfatMain(append(tc.args, img))
		if !errors.Is(err, tc.want) {
			t.Errorf("%q: error %v, want %v", tc.args, err, tc.want)
		}
		if _, err := os.Stat(img); !os.IsNotExist(err) {
			t.Errorf("%q: left %s behind", tc.args, img)
			os.Remove(img)
		}
	}
}

// TestMkfsVfatBadInputKeepsImage checks that an error found before writing
// leaves an existing image exactly as it was.
func TestMkfsVfatBadInputKeepsImage(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	before := bytes.Repeat([]byte{0x5a}, 8<<20)
	if err := os.WriteFile(img, before, 0o644); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "bad:name"), []byte("x"), 0o644)
	for _, args := range [][]string{
		{"--label", "bad|label", img},
		{"--root", src, img},
		{"--root", src, "--size", "16M", img},
	} {
		if err := mkfsVfatMain(args); err == nil {
			t.Errorf("%q: no error", args)
		}
		after, err := os.ReadFile(img)
		if err != nil || !bytes.Equal(after, before) {
			t.Fatalf("%q: the image changed (%v)", args, err)
		}
	}
}
