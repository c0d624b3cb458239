package diskimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/nixpkgs"
)

// TestBuildBootLayouts builds efixbootldr and legacy+boot images and
// checks their FAT partitions with fsck.fat and mtools (the root's /efi on
// the ESP and its /boot on XBOOTLDR; legacy+boot's /boot on BOOT), the
// tables with sgdisk and sfdisk and the root with e2fsck; baseName names
// the output.
func TestBuildBootLayouts(t *testing.T) {
	oracle.Need(t, "e2fsck", "sgdisk", "sfdisk", "fsck.fat", "mdir")
	root := buildTree(t)
	if err := os.MkdirAll(filepath.Join(root, "efi/EFI/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "efi/EFI/systemd/systemd-bootx64.efi"), []byte(strings.Repeat("MZ", 3000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		layout, release, boot string
		labels                []string // FAT labels by partition number
	}{
		{"efixbootldr", "", "160M", []string{"ESP", "BOOT"}},
		{"efixbootldr", "24.05", "160M", []string{"ESP", "BOOT"}},
		{"efixbootldr", "25.11", "1G", []string{"ESP", "BOOT"}},
		{"legacy+boot", "", "64M", []string{"BOOT"}},
		{"legacy+boot", "25.05", "300M", []string{"BOOT"}},
	} {
		t.Run(c.layout+"/"+orDefault(c.release, "2024")+"/"+c.boot, func(t *testing.T) {
			cfg := map[string]any{"root": root, "partitionTableType": c.layout, "bootSize": c.boot, "additionalSpace": "8M"}
			if c.release != "" {
				cfg["nixpkgsRelease"] = c.release
			}
			base := "nixos"
			if c.release != "24.05" {
				base = "disk-" + strings.ReplaceAll(c.layout, "+", "-")
				cfg["baseName"] = base
			}
			out := filepath.Join(t.TempDir(), "out")
			plan, err := build(t, cfg, out)
			if err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(out, base+".img")
			hydra, _ := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
			if string(hydra) != "file raw-image "+img+"\n" {
				t.Errorf("hydra-build-products %q", hydra)
			}
			l := plan.Layout
			dump := oracle.SfdiskDump(t, img)
			if l.IsGPT() {
				oracle.SgdiskVerify(t, img)
				if !strings.Contains(dump, "type=BC13C2FF-59E6-4262-A352-B275FD6F7172") || !strings.Contains(dump, "type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B") {
					t.Errorf("no ESP and XBOOTLDR:\n%s", dump)
				}
			} else if !strings.Contains(dump, "type=c, bootable") || !strings.Contains(dump, "type=83") {
				t.Errorf("no bootable FAT32 partition and Linux root:\n%s", dump)
			}
			for i, label := range c.labels {
				p := l.Partition(i + 1)
				oracle.FsckFat(t, img, p.Offset, p.Size)
				top := oracle.Mdir(t, img, p.Offset, "::/")
				if !strings.Contains(top, "Volume in drive : is "+label) {
					t.Errorf("partition %d: label is not %s:\n%s", i+1, label, top)
				}
			}
			bootPart := l.Partition(len(c.labels))
			if list := oracle.Mdir(t, img, bootPart.Offset, "::/loader"); !strings.Contains(list, "loader") {
				t.Errorf("the root's /boot is not on BOOT:\n%s", list)
			}
			if c.layout == "efixbootldr" {
				if list := oracle.Mdir(t, img, l.ESPOffset, "::/EFI/systemd"); !strings.Contains(strings.ToLower(list), "systemd-bootx64") {
					t.Errorf("the root's /efi is not on the ESP:\n%s", list)
				}
				if list := oracle.Mdir(t, img, l.ESPOffset, "::/"); strings.Contains(list, "loader") {
					t.Errorf("the root's /boot is on the ESP:\n%s", list)
				}
			}
			if l.RootPartition != nixpkgs.TableType(c.layout).RootPartition() {
				t.Errorf("root partition %d", l.RootPartition)
			}
			oracle.E2fsckStrict(t, img, l.RootOffset)
			dirs := []string{"/boot"}
			if c.layout == "efixbootldr" {
				dirs = append(dirs, "/efi")
			}
			for _, dir := range dirs {
				if got := oracle.Debugfs(t, img, l.RootOffset, "ls "+dir); strings.Contains(got, "loader") || strings.Contains(got, "EFI") {
					t.Errorf("%s on the root is not empty: %s", dir, got)
				}
			}
		})
	}
}
