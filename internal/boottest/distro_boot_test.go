package boottest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/diskimage"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/vm"
)

// checkOptions, added to the example's command line, pull in the check
// unit and keep the serial console (slow under TCG) short.
const checkOptions = "systemd.wants=purefs-check.service systemd.show_status=0 quiet"

// debianCheckUnit records, once the boot has finished, what systemd says
// of it (is-system-running and the failed units) in /var/lib/purefs/NAME,
// NAME being "first", or "second" when the command line has
// purefs.second=1; the first boot then adds an entry for the kernel
// dropped on the ESP with kernel-install, when there is one. Then it
// powers off. It is pulled in by systemd.wants= on the command line.
const debianCheckUnit = `[Unit]
Description=purefs boot check

[Service]
Type=simple
ExecStart=/usr/local/sbin/purefs-check
`

const debianCheckScript = `#!/bin/sh
state=$(systemctl is-system-running --wait)
name=first
grep -q purefs.second=1 /proc/cmdline && name=second
mkdir -p /var/lib/purefs
out=/var/lib/purefs/$name
{
	echo "state $state"
	echo "kernel $(uname -r)"
	systemctl --failed --no-legend --plain
	if [ $name = first ] && [ -e /boot/vmlinuz-9.9.9-purefs ]; then
		kernel-install add 9.9.9-purefs /boot/vmlinuz-9.9.9-purefs /boot/initrd.img-9.9.9-purefs && echo "kernel-install ok"
		ls /boot/loader/entries
	fi
} >$out 2>&1
sync
systemctl poweroff
`

// debianContents are the files the Debian boot tests add to the tree.
func debianContents(t *testing.T, extra ...any) []any {
	t.Helper()
	dir := t.TempDir()
	put(t, dir, "purefs-check.service", 0o644, []byte(debianCheckUnit))
	put(t, dir, "purefs-check", 0o755, []byte(debianCheckScript))
	return append([]any{
		map[string]any{"source": filepath.Join(dir, "purefs-check.service"), "target": "/etc/systemd/system/purefs-check.service"},
		map[string]any{"source": filepath.Join(dir, "purefs-check"), "target": "/usr/local/sbin/purefs-check", "mode": "0755"},
	}, extra...)
}

// exampleConfig reads examples/debian/NAME (the README's configurations)
// for the tree root: its root is replaced, its contents' relative sources
// made absolute, extra contents appended, and extra options added to its
// entries' command line.
func exampleConfig(t *testing.T, name, root string, contents []any, options string) map[string]any {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples", "debian"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, name)), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["root"] = root
	cfg["format"] = "raw"
	cfg["additionalSpace"] = "64M"
	for _, c := range cfg["contents"].([]any) {
		c := c.(map[string]any)
		c["source"] = filepath.Join(dir, c["source"].(string))
	}
	cfg["contents"] = append(cfg["contents"].([]any), contents...)
	b := cfg["bootloader"].(map[string]any)
	b["timeout"] = 0
	if efi, ok := b["efi"].(string); ok {
		b["efi"] = filepath.Join(root, strings.TrimPrefix(efi, "/srv/debian"))
	}
	for _, e := range b["entries"].([]any) {
		e := e.(map[string]any)
		e["options"] = e["options"].(string) + " " + options
	}
	return cfg
}

// buildPlan is purefsBuild that returns the plan too.
func buildPlan(t *testing.T, cfg map[string]any, out string) (string, *diskimage.BuildPlan) {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	opts := diskimage.BuildOptions{OutDir: out, SourceDateEpoch: "1700000000"}
	plan, err := diskimage.MakePlan(c, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range plan.Warnings {
		t.Logf("warning: %s", w)
	}
	if err := diskimage.Build(plan, opts); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(out, c.Filename()), plan
}

// bootDebian boots img (BIOS, or OVMF with uefi) until the guest powers
// off, and returns what the check unit wrote to /var/lib/purefs/name.
func bootDebian(t *testing.T, a *Assets, img string, rootOff int64, uefi bool, name string) string {
	t.Helper()
	var serial strings.Builder
	o := vm.Options{
		Disks:     []vm.Disk{{Path: img}},
		MemSize:   1024,
		Timeout:   8 * time.Minute,
		Serial:    &serial,
		ExtraArgs: []string{"-machine", "q35"},
	}
	if uefi {
		vars := filepath.Join(t.TempDir(), "efi-vars.fd")
		if err := os.WriteFile(vars, mustRead(t, a.OVMFVars), 0o644); err != nil {
			t.Fatal(err)
		}
		o.UEFI = &vm.UEFI{Code: a.OVMFCode, Vars: vars}
	}
	start := time.Now()
	_, err := vm.Run(t.Context(), o)
	t.Logf("boot to power-off took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("vm.Run: %v\nconsole:\n%s", err, serial.String())
	}
	got := oracle.Debugfs(t, img, rootOff, "cat /var/lib/purefs/"+name)
	if !strings.Contains(got, "state ") {
		t.Fatalf("/var/lib/purefs/%s not written:\n%s\nconsole:\n%s", name, got, serial.String())
	}
	return got
}

// checkRunning fails t unless the report says systemd reached "running".
func checkRunning(t *testing.T, report string) {
	t.Helper()
	if !strings.Contains(report, "state running\n") {
		t.Errorf("systemd did not reach running:\n%s", report)
	}
}

// TestBootDebianGrub builds a legacy image of a Debian 12 tree made by
// debootstrap, with GRUB from the tree's own grub-pc-bin installed
// natively and one entry for the tree's kernel and initramfs found by
// glob, boots it through SeaBIOS and expects systemd to report running
// with no failed unit.
func TestBootDebianGrub(t *testing.T) {
	a := Need(t)
	oracle.Need(t, "debugfs", "grub-mkimage")
	tree := NeedTree(t, debianTree)
	out := filepath.Join(t.TempDir(), "out")
	img, plan := buildPlan(t, exampleConfig(t, "legacy.json", tree, debianContents(t), checkOptions), out)
	checkRunning(t, bootDebian(t, a, img, plan.Layout.RootOffset, false, "first"))
}

// TestBootDebianKernelInstall builds an efi image of the Debian tree with
// systemd-boot installed natively and one entry naming the kernel and
// initramfs already on the ESP (no copy), and drops a second kernel on the
// ESP without an entry. The first boot (OVMF) must reach running; its
// check unit then runs kernel-install, which must find purefs's ESP, entry
// token and layout and write the second kernel's entry next to purefs's.
// With PUREFS_HEAVY=1 the image boots again and systemd-boot must pick
// the newer entry, which reaches running too.
func TestBootDebianKernelInstall(t *testing.T) {
	a := Need(t)
	oracle.Need(t, "debugfs", "mtype", "fsck.fat")
	tree := NeedTree(t, debianTree)
	kernels, _ := filepath.Glob(filepath.Join(tree, "boot", "vmlinuz-*"))
	initrds, _ := filepath.Glob(filepath.Join(tree, "boot", "initrd.img-*"))
	if len(kernels) != 1 || len(initrds) != 1 {
		t.Fatalf("the tree has kernels %v and initrds %v, want one each", kernels, initrds)
	}
	dir := t.TempDir()
	// kernel-install's command line for the second kernel
	put(t, dir, "cmdline", 0o644, []byte("root=UUID=f222513b-ded1-49fa-b591-20ce86a2fe7f ro console=ttyS0 "+checkOptions+" purefs.second=1\n"))
	cfg := exampleConfig(t, "efi.json", tree, debianContents(t,
		map[string]any{"source": filepath.Join(dir, "cmdline"), "target": "/etc/kernel/cmdline"},
		map[string]any{"source": kernels[0], "target": "/boot/vmlinuz-9.9.9-purefs"},
		map[string]any{"source": initrds[0], "target": "/boot/initrd.img-9.9.9-purefs"}), checkOptions)
	// the example's globs would match the dropped kernel too
	e := cfg["bootloader"].(map[string]any)["entries"].([]any)[0].(map[string]any)
	e["linux"], e["initrd"] = "esp:/vmlinuz-6.*", "esp:/initrd.img-6.*"
	out := filepath.Join(t.TempDir(), "out")
	img, plan := buildPlan(t, cfg, out)
	l := plan.Layout
	version := strings.TrimPrefix(filepath.Base(kernels[0]), "vmlinuz-")
	esp := img + "@@" + itoa(l.ESPOffset)
	ours := oracle.Run("mtype", "-i", esp, "::/loader/entries/debian-"+version+".conf").Stdout
	if !strings.Contains(ours, "linux      /vmlinuz-"+version+"\n") || !strings.Contains(ours, "sort-key   debian\n") {
		t.Fatalf("purefs's entry:\n%s", ours)
	}

	first := bootDebian(t, a, img, l.RootOffset, true, "first")
	checkRunning(t, first)
	if !strings.Contains(first, "kernel-install ok") {
		t.Fatalf("kernel-install failed in the guest:\n%s", first)
	}
	oracle.FsckFat(t, img, l.ESPOffset, l.ESPSize)
	theirs := oracle.Run("mtype", "-i", esp, "::/loader/entries/debian-9.9.9-purefs.conf").Stdout
	for _, want := range []string{"version    9.9.9-purefs\n", "sort-key   debian\n", "linux      /debian/9.9.9-purefs/linux\n", "purefs.second=1"} {
		if !strings.Contains(theirs, want) {
			t.Errorf("kernel-install's entry lacks %q:\n%s", want, theirs)
		}
	}
	if os.Getenv("PUREFS_HEAVY") != "1" {
		t.Log("the second boot, from kernel-install's entry, runs with PUREFS_HEAVY=1")
		return
	}
	second := bootDebian(t, a, img, l.RootOffset, true, "second")
	checkRunning(t, second)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
