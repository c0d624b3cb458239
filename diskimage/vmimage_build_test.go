package diskimage

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestBuildVMImages builds one layout as vmdk (default, and with the
// vmware key's streamOptimized, compat6 and adapter type) and as ova (with
// the virtualbox key): each output has its name and hydra-build-products
// line, qemu-img finds the vmdks (the ova's extracted with tar) clean and
// equal to the raw build, the ova's manifest checks, and a second build
// gives the same bytes.
func TestBuildVMImages(t *testing.T) {
	oracle.Need(t, "qemu-img", "tar", "sha256sum")
	root := buildTree(t)
	base := map[string]any{"root": root, "partitionTableType": "efi", "bootSize": "64M", "additionalSpace": "8M"}
	rawDir := filepath.Join(t.TempDir(), "raw")
	if _, err := build(t, base, rawDir); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(rawDir, "nixos.img")
	for _, c := range []struct {
		name, file, hydra string
		extra             map[string]any
		descWant          []string
	}{
		{"vmdk", "nixos.vmdk", "vmdk-image", map[string]any{"format": "vmdk"}, []string{`createType="monolithicSparse"`, `RW `, `"nixos.vmdk"`}},
		{"vmware", "nixos-vmware.vmdk", "vmdk-image", map[string]any{"format": "vmdk", "vmware": map[string]any{
			"vmFileName": "nixos-vmware.vmdk", "vmSubformat": "streamOptimized", "vmCompat6": true, "adapterType": "lsilogic"}},
			[]string{`createType="streamOptimized"`, `ddb.virtualHWVersion = "6"`, `ddb.adapterType = "lsilogic"`}},
		{"ova", "nixos-vbox.ova", "ova", map[string]any{"format": "ova", "virtualbox": map[string]any{
			"vmFileName": "nixos-vbox.ova", "vmName": "NixOS test", "memorySize": 2048, "cpus": 2}},
			[]string{`<VirtualSystem ovf:id="NixOS test">`, "<rasd:VirtualQuantity>2048</rasd:VirtualQuantity>", `ovf:href="nixos-vbox-disk001.vmdk"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := map[string]any{}
			for k, v := range base {
				cfg[k] = v
			}
			for k, v := range c.extra {
				cfg[k] = v
			}
			var outs [][]byte
			for _, run := range []string{"a", "b"} {
				out := filepath.Join(t.TempDir(), run)
				if _, err := build(t, cfg, out); err != nil {
					t.Fatal(err)
				}
				name := filepath.Join(out, c.file)
				hydra, _ := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
				if string(hydra) != "file "+c.hydra+" "+name+"\n" {
					t.Errorf("hydra-build-products %q", hydra)
				}
				b, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				outs = append(outs, b)
				if run == "b" {
					continue
				}
				disk, text := name, string(b[512:512*21])
				if c.name == "ova" {
					x := t.TempDir()
					if r := oracle.Run("tar", "-xf", name, "-C", x); r.Code != 0 {
						t.Fatal(r)
					}
					if r := oracle.Run("sh", "-c", "cd '"+x+"' && sha256sum -c nixos-vbox.mf"); r.Code != 0 {
						t.Fatal(r)
					}
					disk = filepath.Join(x, "nixos-vbox-disk001.vmdk")
					ovf, _ := os.ReadFile(filepath.Join(x, "nixos-vbox.ovf"))
					text = string(ovf)
				}
				for _, w := range c.descWant {
					if !strings.Contains(text, w) {
						t.Errorf("descriptor lacks %s:\n%s", w, text)
					}
				}
				oracle.QemuImgCheck(t, disk)
				oracle.QemuImgCompareAs(t, img, "raw", disk, "vmdk")
			}
			if !bytes.Equal(outs[0], outs[1]) {
				t.Error("two builds differ")
			}
		})
	}
}
