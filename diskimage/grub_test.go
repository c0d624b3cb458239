package diskimage

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/grub"
	"github.com/purefs/purefs/internal/oracle"
)

// grubConfig is a grub-bios build of buildTree's root with one entry
// found by glob in /boot.
func grubCfg(root, layout string, bl map[string]any) map[string]any {
	b := map[string]any{"type": "grub-bios", "timeout": 1,
		"entries": []any{map[string]any{"id": "test", "linux": "boot:/kernels/linux-*.gz", "options": "console=ttyS0"}}}
	for k, v := range bl {
		b[k] = v
	}
	return map[string]any{"root": root, "partitionTableType": layout, "bootSize": "64M", "additionalSpace": "8M", "bootloader": b}
}

// TestBuildGrub builds images with GRUB installed natively, checks them
// with the oracles (tables, file systems, the staged tree in the root),
// finds grub.cfg and the modules where GRUB's prefix points, and compares
// the disk with a copy on which GRUB's own grub-bios-setup installed the
// same boot.img and core.img: the copy must be identical, byte for byte.
func TestBuildGrub(t *testing.T) {
	oracle.NeedGrub(t)
	oracle.Need(t, "e2fsck", "sgdisk", "sfdisk", "fsck.fat", "debugfs", "mtype")
	root := buildTree(t)
	extra := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(extra, []byte("contents entry\n"), 0o644)
	for _, layout := range []string{"legacy", "legacy+gpt", "legacy+boot", "hybrid"} {
		t.Run(layout, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			c := grubCfg(root, layout, nil)
			c["contents"] = []any{map[string]any{"source": extra, "target": "/home/alice/notes.txt", "mode": "0600", "user": "alice", "group": "users"}}
			plan, err := build(t, c, out)
			if err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(out, "nixos.img")
			checkRaw(t, img, plan)
			l := plan.Layout
			var cfg string
			onFAT := layout == "hybrid" || layout == "legacy+boot"
			if onFAT {
				off := l.Partition(1).Offset
				cfg = oracle.Run("mtype", "-i", img+"@@"+strconvI(off), "::/grub/grub.cfg").Stdout
				if d := oracle.Mdir(t, img, off, "::/grub/i386-pc"); !strings.Contains(d, "normal.mod") {
					t.Errorf("the FAT partition lacks /grub/i386-pc/normal.mod:\n%s", d)
				}
			} else {
				cfg = oracle.Debugfs(t, img, l.RootOffset, "cat /boot/grub/grub.cfg")
				if d := oracle.Debugfs(t, img, l.RootOffset, "ls /boot/grub/i386-pc"); !strings.Contains(d, "normal.mod") || !strings.Contains(d, "core.img") {
					t.Errorf("root lacks /boot/grub/i386-pc/normal.mod:\n%s", d)
				}
			}
			want := "set timeout=1\n\nmenuentry 'test' --id 'test' {\n\tlinux '" + map[bool]string{true: "", false: "/boot"}[onFAT] + "/kernels/linux-6.1.0.gz' console=ttyS0\n}\n"
			if !strings.Contains(cfg, want) {
				t.Errorf("grub.cfg:\n%s\nwant it to hold:\n%s", cfg, want)
			}

			// GRUB's own setup on a copy whose boot code and core area
			// are as the tables left them
			orig, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			area, err := grubArea(l)
			if err != nil {
				t.Fatal(err)
			}
			cp := bytes.Clone(orig)
			clear(cp[:0x1b8])
			clear(cp[area.Start*512 : (area.Start+area.Sectors)*512])
			if bytes.Equal(cp, orig) {
				t.Fatal("the image has no boot code")
			}
			theirs := filepath.Join(t.TempDir(), "theirs.img")
			core := filepath.Join(t.TempDir(), "core.img")
			if err := os.WriteFile(theirs, cp, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(core, plan.grub.core, 0o644); err != nil {
				t.Fatal(err)
			}
			oracle.GrubBiosSetup(t, theirs, l.RootOffset, filepath.Join(oracle.GrubDir, "boot.img"), core, false)
			got, err := os.ReadFile(theirs)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, orig) {
				n, first := 0, -1
				for i := range got {
					if got[i] != orig[i] {
						if first < 0 {
							first = i
						}
						n++
					}
				}
				t.Errorf("grub-bios-setup's disk differs from purefs's in %d bytes, first at %#x", n, first)
			}
		})
	}
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

// TestBuildGrubDeterministic: two builds give the same bytes.
func TestBuildGrubDeterministic(t *testing.T) {
	oracle.NeedGrub(t)
	root := buildTree(t)
	var imgs [2][]byte
	for i := range imgs {
		out := filepath.Join(t.TempDir(), "out")
		if _, err := build(t, grubCfg(root, "legacy", nil), out); err != nil {
			t.Fatal(err)
		}
		imgs[i], _ = os.ReadFile(filepath.Join(out, "nixos.img"))
	}
	if !bytes.Equal(imgs[0], imgs[1]) {
		t.Error("two builds differ")
	}
}

// TestBuildGrubErrors: each bad input is one error line wrapping its
// sentinel, and the output directory stays as it was.
func TestBuildGrubErrors(t *testing.T) {
	oracle.NeedGrub(t)
	root := buildTree(t)
	dir := t.TempDir()
	short := filepath.Join(dir, "short.img")
	boot, err := os.ReadFile(filepath.Join(oracle.GrubDir, "boot.img"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(short, boot[:511], 0o644)
	// a real core image padded beyond what GRUB can load (888 sectors)
	out := filepath.Join(t.TempDir(), "o")
	plan, err := build(t, grubCfg(root, "legacy", nil), out)
	if err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.img")
	os.WriteFile(big, append(bytes.Clone(plan.grub.core), make([]byte, 900*512)...), 0o644)
	notCore := filepath.Join(dir, "efi.img")
	os.WriteFile(notCore, bytes.Repeat([]byte("MZ"), 4096), 0o644)
	twoKernels := buildTree(t)
	os.WriteFile(filepath.Join(twoKernels, "boot/kernels/linux-6.2.0.gz"), []byte("k"), 0o644)
	cases := []struct {
		name string
		cfg  map[string]any
		want error
	}{
		{"boot.img of 511 bytes", grubCfg(root, "legacy", map[string]any{"bootImg": short}), grub.ErrBootImage},
		{"core.img too large for the gap", grubCfg(root, "legacy", map[string]any{"coreImg": big}), ErrGrub},
		{"core.img too large for the BIOS boot partition", grubCfg(root, "legacy+gpt", map[string]any{"coreImg": big}), ErrGrub},
		{"core.img not i386-pc", grubCfg(root, "legacy", map[string]any{"coreImg": notCore}), grub.ErrCoreImage},
		{"glob without match", grubCfg(root, "legacy", map[string]any{"entries": []any{map[string]any{"id": "a", "linux": "boot:/vmlinuz-*"}}}), ErrBootEntry},
		{"glob with two matches", grubCfg(twoKernels, "legacy", nil), ErrBootEntry},
		{"host glob without match", grubCfg(root, "legacy", map[string]any{"entries": []any{map[string]any{"id": "a", "linux": dir + "/vmlinuz-*"}}}), ErrBootEntry},
		{"no id and no version", grubCfg(root, "legacy", map[string]any{"entries": []any{map[string]any{"linux": short}}}), ErrBootEntry},
		{"grubDir without modules", grubCfg(root, "legacy", map[string]any{"grubDir": dir, "bootImg": filepath.Join(oracle.GrubDir, "boot.img")}), ErrGrub},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			os.MkdirAll(out, 0o755)
			os.WriteFile(filepath.Join(out, "keep"), []byte("x"), 0o644)
			_, err := build(t, c.cfg, out)
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of several lines: %q", err)
			}
			t.Log(err)
			ents, _ := os.ReadDir(out)
			if len(ents) != 1 || ents[0].Name() != "keep" {
				t.Errorf("output directory changed: %v", ents)
			}
		})
	}
}

// TestPlanWarnings: a legacy image without a boot loader, and a root with
// other owners than root (buildTree's, made by the test-tree generator as
// root, has some), are each one line in the plan's warnings.
func TestPlanWarnings(t *testing.T) {
	oracle.NeedGrub(t)
	root := buildTree(t)
	keep := func(c map[string]any) map[string]any { c["keepOwners"] = true; return c }
	for _, c := range []struct {
		cfg          map[string]any
		boot, owners bool
	}{
		{map[string]any{"root": root, "partitionTableType": "legacy"}, true, true},
		{map[string]any{"root": root, "partitionTableType": "legacy+gpt"}, true, true},
		{keep(map[string]any{"root": root, "partitionTableType": "legacy"}), true, false},
		{map[string]any{"root": root, "partitionTableType": "efi"}, false, true},
		{keep(grubCfg(root, "legacy", nil)), false, false},
	} {
		plan, err := build(t, c.cfg, filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		var boot, owners int
		for _, w := range plan.Warnings {
			if strings.Contains(w, "\n") {
				t.Errorf("warning of several lines: %q", w)
			}
			if strings.Contains(w, "will not boot") {
				boot++
			}
			if strings.Contains(w, "setuid or setgid") && strings.Contains(w, `"keepOwners"`) {
				owners++
			}
		}
		if boot != map[bool]int{true: 1}[c.boot] || owners != map[bool]int{true: 1}[c.owners] || len(plan.Warnings) != boot+owners {
			t.Errorf("%v keepOwners=%v: warnings %q", c.cfg["partitionTableType"], c.cfg["keepOwners"], plan.Warnings)
		}
	}
}
