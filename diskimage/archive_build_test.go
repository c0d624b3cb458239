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

// TestBuildArchiveKeys: compressionLevel reaches the compressor (gzip's
// header says level 1) and hyperv's vmFileName names the vhdx.
func TestBuildArchiveKeys(t *testing.T) {
	oracle.Need(t, "gzip")
	root := buildTree(t)
	out := filepath.Join(t.TempDir(), "gz")
	cfg := map[string]any{"root": root, "partitionTableType": "none", "additionalSpace": "8M", "format": "raw-gzip", "compressionLevel": 1}
	if _, err := build(t, cfg, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(out, "nixos.img.gz"))
	if err != nil || len(b) < 10 || b[8] != 4 {
		t.Errorf("gzip header %x (%v), want XFL 4 (level 1)", b[:min(len(b), 10)], err)
	}
	if r := oracle.Run("gzip", "-t", filepath.Join(out, "nixos.img.gz")); r.Code != 0 {
		t.Errorf("%s", r)
	}
	out = filepath.Join(t.TempDir(), "vhdx")
	cfg = map[string]any{"root": root, "partitionTableType": "none", "additionalSpace": "8M", "format": "vhdx",
		"hyperv": map[string]any{"vmFileName": "nixos-test-x86_64-linux.vhdx"}}
	if _, err := build(t, cfg, out); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "nixos-test-x86_64-linux.vhdx")); err != nil {
		t.Error(err)
	}
}
