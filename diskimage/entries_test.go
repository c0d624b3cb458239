package diskimage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/internal/oracle"
)

// TestSystemdBootEntries: entries naming ESP files by glob are not copied;
// a host kernel goes where kernel-install puts kernels; each entry is
// written in kernel-install's form and named TOKEN-VERSION.conf, with the
// token from the root's os-release written to /etc/kernel/entry-token.
func TestSystemdBootEntries(t *testing.T) {
	oracle.Need(t, "mtype", "mdir", "debugfs")
	root := buildTree(t)
	dir := t.TempDir()
	osrel := filepath.Join(dir, "os-release")
	os.WriteFile(osrel, []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\n"), 0o644)
	kernel := filepath.Join(dir, "vmlinuz-6.1.0-99-amd64")
	os.WriteFile(kernel, []byte("a host kernel"), 0o644)
	efi := fakePE(t, 0x8664)
	out := filepath.Join(t.TempDir(), "out")
	plan, err := build(t, map[string]any{
		"root": root, "partitionTableType": "efi", "bootSize": "64M", "additionalSpace": "8M",
		"contents": []any{map[string]any{"source": osrel, "target": "/usr/lib/os-release"}},
		"bootloader": map[string]any{"type": "systemd-boot", "efi": efi, "entries": []any{
			map[string]any{"linux": "esp:/kernels/linux-*.gz", "options": "root=PARTUUID=f222513b-ded1-49fa-b591-20ce86a2fe7f ro"},
			map[string]any{"linux": dir + "/vmlinuz-*", "initrd": osrel, "title": "host"},
		}},
	}, out)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(out, "nixos.img")
	l := plan.Layout
	oracle.FsckFat(t, img, l.ESPOffset, l.ESPSize)
	mtype := func(p string) string {
		r := oracle.Run("mtype", "-i", img+"@@"+strconvI(l.ESPOffset), "::"+p)
		if r.Code != 0 {
			t.Errorf("%s", r)
		}
		return r.Stdout
	}
	for p, want := range map[string]string{
		"/loader/entries/debian-6.1.0.gz.conf": "title      Debian GNU/Linux 12 (bookworm)\nversion    6.1.0.gz\nsort-key   debian\n" +
			"options    root=PARTUUID=f222513b-ded1-49fa-b591-20ce86a2fe7f ro\nlinux      /kernels/linux-6.1.0.gz\n",
		"/loader/entries/debian-6.1.0-99-amd64.conf": "title      host\nversion    6.1.0-99-amd64\nsort-key   debian\n" +
			"linux      /debian/6.1.0-99-amd64/linux\ninitrd     /debian/6.1.0-99-amd64/os-release\n",
		"/loader/entries.srel":              "type1\n",
		"/debian/6.1.0-99-amd64/linux":      "a host kernel",
		"/debian/6.1.0-99-amd64/os-release": "PRETTY_NAME=",
	} {
		if got := mtype(p); !strings.HasPrefix(got, want) {
			t.Errorf("%s: %q, want %q", p, got, want)
		}
	}
	// the ESP's kernel is not copied anywhere
	if d := oracle.Mdir(t, img, l.ESPOffset, "::/EFI"); strings.Contains(strings.ToLower(d), "purefs") {
		t.Errorf("an ESP kernel was copied:\n%s", d)
	}
	if got := oracle.Debugfs(t, img, l.RootOffset, "cat /etc/kernel/entry-token"); !strings.HasPrefix(got, "debian\n") {
		t.Errorf("/etc/kernel/entry-token: %q", got)
	}
}
