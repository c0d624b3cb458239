package diskimage

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/internal/oracle"
)

// TestBuildArchiveFormats builds one layout as vhdx, gce, raw-gzip and
// raw-zstd: each output has the name nixpkgs' modules give it, a
// hydra-build-products line, the raw build's disk (by qemu-img compare,
// tar --sparse -xzf, gzip -dc, zstd -dc), and the same bytes when built
// again.
func TestBuildArchiveFormats(t *testing.T) {
	oracle.Need(t, "qemu-img", "tar", "gzip", "zstd")
	root := buildTree(t)
	base := map[string]any{"root": root, "partitionTableType": "efi", "bootSize": "64M", "additionalSpace": "8M"}
	rawDir := filepath.Join(t.TempDir(), "raw")
	if _, err := build(t, base, rawDir); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(rawDir, "nixos.img")
	want, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	for format, file := range map[string]string{
		"vhdx": "nixos.vhdx", "gce": "nixos.raw.tar.gz", "raw-gzip": "nixos.img.gz", "raw-zstd": "nixos.img.zst",
	} {
		cfg := map[string]any{"format": format}
		for k, v := range base {
			cfg[k] = v
		}
		var sums [][]byte
		for _, run := range []string{"a", "b"} {
			out := filepath.Join(t.TempDir(), run)
			if _, err := build(t, cfg, out); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			c, _ := config.Parse([]byte(`{"format":"` + format + `"}`))
			name := filepath.Join(out, file)
			if c.Filename() != file {
				t.Errorf("%s: Filename %q, want %q", format, c.Filename(), file)
			}
			hydra, _ := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
			if string(hydra) != "file "+format+"-image "+name+"\n" {
				t.Errorf("%s: hydra-build-products %q", format, hydra)
			}
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			sums = append(sums, b)
			if run == "b" {
				continue
			}
			switch format {
			case "vhdx":
				oracle.QemuImgCheck(t, name)
				oracle.QemuImgCompareAs(t, img, "raw", name, "vhdx")
			case "gce":
				x := t.TempDir()
				if r := oracle.Run("tar", "--sparse", "-xzf", name, "-C", x); r.Code != 0 {
					t.Fatalf("%s", r)
				}
				got, _ := os.ReadFile(filepath.Join(x, "disk.raw"))
				if !bytes.Equal(got, want) {
					t.Errorf("gce: disk.raw differs from the raw build")
				}
			default:
				tool := map[string]string{"raw-gzip": "gzip", "raw-zstd": "zstd"}[format]
				if r := oracle.Run(tool, "-dc", name); r.Code != 0 || r.Stdout != string(want) {
					t.Errorf("%s -dc: exit %d, %d bytes differ from the raw build", tool, r.Code, len(r.Stdout))
				}
			}
		}
		if !bytes.Equal(sums[0], sums[1]) {
			t.Errorf("%s: two builds differ", format)
		}
	}
}
