package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestConvertVMDK: a vfat image goes to vmdk (both subformats, compat6,
// an adapter type) and ova; qemu-img checks and compares the vmdks;
// inspect reads each, diff finds each identical to the image, and each
// converts back; bad options, a descriptor file and a truncated vmdk
// fail with one line and leave no output.
func TestConvertVMDK(t *testing.T) {
	oracle.Need(t, "qemu-img")
	dir := t.TempDir()
	img := filepath.Join(dir, "fat.img")
	if code := run([]string{"mkfs", "vfat", "--size", "12M", "--volume-id", "0badcafe", img}); code != 0 {
		t.Fatalf("mkfs vfat exited %d", code)
	}
	for i, args := range [][]string{
		{"-O", "vmdk"},
		{"-O", "vmdk", "-o", "subformat=streamOptimized"},
		{"-O", "vmdk", "-o", "compat6,adapter_type=lsilogic"},
		{"-O", "ova"},
	} {
		out := filepath.Join(dir, "out"+string(rune('0'+i))+"."+args[1])
		if code := run(append(append([]string{"convert"}, args...), img, out)); code != 0 {
			t.Fatalf("convert %q exited %d", args, code)
		}
		if args[1] == "vmdk" {
			oracle.QemuImgCheck(t, out)
			oracle.QemuImgCompareAs(t, img, "raw", out, "vmdk")
		}
		if code := run([]string{"inspect", out}); code != 0 {
			t.Errorf("inspect %s exited %d", out, code)
		}
		if code := run([]string{"diff", img, out}); code != 0 {
			t.Errorf("diff with %s exited %d", out, code)
		}
		back := filepath.Join(dir, "back.img")
		if code := run([]string{"convert", "-O", "raw", out, back}); code != 0 {
			t.Fatalf("convert %s to raw exited %d", out, code)
		}
		if code := run([]string{"diff", img, back}); code != 0 {
			t.Errorf("%s round trip differs", out)
		}
	}
	// Two conversions are identical (the member names follow the
	// output's name, so the second one replaces the first).
	a, _ := os.ReadFile(filepath.Join(dir, "out3.ova"))
	c := filepath.Join(dir, "out3.ova")
	if code := run([]string{"convert", "-O", "ova", img, c}); code != 0 {
		t.Fatal("second ova conversion failed")
	}
	if b, _ := os.ReadFile(c); len(a) == 0 || string(a) != string(b) {
		t.Error("two ova conversions differ")
	}

	v, _ := os.ReadFile(filepath.Join(dir, "out0.vmdk"))
	trunc := filepath.Join(dir, "trunc.vmdk")
	os.WriteFile(trunc, v[:len(v)-70000], 0o644)
	desc := filepath.Join(dir, "desc.vmdk")
	if r := oracle.Run("qemu-img", "create", "-q", "-f", "vmdk", "-o", "subformat=twoGbMaxExtentSparse", desc, "8M"); r.Code != 0 {
		t.Fatal(r)
	}
	x := filepath.Join(dir, "x")
	for _, args := range [][]string{
		{"convert", "-O", "vmdk", "-o", "subformat=monolithicFlat", img, x},
		{"convert", "-O", "vmdk", "-o", "adapter_type=pvscsi", img, x},
		{"convert", "-O", "vmdk", "-o", "cluster_size=64k", img, x},
		{"convert", "-O", "qcow2", "-o", "compat6", img, x},
		{"convert", "-O", "ova", "-o", "subformat=monolithicSparse", img, x},
		{"convert", "-O", "raw", trunc, x},
		{"convert", "-O", "raw", desc, x},
	} {
		if code := run(args); code == 0 {
			t.Errorf("%q succeeded", args)
		}
		if _, err := os.Stat(x); err == nil {
			t.Fatalf("%q left its output", args)
		}
	}
	for _, bad := range []string{trunc, desc} {
		if code := run([]string{"inspect", bad}); code == 0 {
			t.Errorf("inspect %s succeeded", bad)
		}
	}
}
