package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

func TestParseConvert(t *testing.T) {
	a, err := parseConvert([]string{"-O", "vpc", "-o", "subformat=fixed", "in.img", "-o", "force_size", "out.vhd", "--epoch", "1700000000"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if a.in != "in.img" || a.out != "out.vhd" || a.format != "vpc" || a.opts.Subformat != "fixed" || !a.opts.ForceSize || a.opts.Timestamp != 1700000000 {
		t.Errorf("parsed %+v", a)
	}
	for _, args := range [][]string{
		{"in", "out"},
		{"-O", "qcow2", "in"},
		{"-O", "qcow2", "a", "b", "c"},
		{"-O", "qcow2", "-o", "bogus", "a", "b"},
		{"-O", "vpc", "--epoch", "yesterday", "a", "b"},
	} {
		if _, err := parseConvert(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

func TestConvertLeavesNothingOnFailure(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.raw")
	b := make([]byte, 3<<20)
	copy(b[1<<20:], "some data")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.qcow2")
	if err := convertMain([]string{"-O", "qcow2-compressed", in, out}); err != nil {
		t.Fatal(err)
	}
	oracle.QemuImgCheck(t, out)
	oracle.QemuImgCompareAs(t, in, "raw", out, "qcow2")
	back := filepath.Join(dir, "back.raw")
	if err := convertMain([]string{"-O", "raw", out, back}); err != nil {
		t.Fatal(err)
	}
	oracle.QemuImgCompareAs(t, in, "raw", back, "raw")

	// A fixed VHD of a size that is not a whole MiB fails (Azure's rule)
	// and leaves neither the output nor a temporary file.
	odd := filepath.Join(dir, "odd.raw")
	if err := os.WriteFile(odd, b[:1<<20+512], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := convertMain([]string{"-O", "vpc", "-o", "subformat=fixed,force_size", odd, filepath.Join(dir, "odd.vhd")}); err == nil {
		t.Fatal("fixed force-size vpc of 1 MiB + 512 bytes: no error")
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*odd.vhd*"))
	if len(names) != 0 {
		t.Errorf("failed convert left %v", names)
	}
}
