package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/purefs/purefs/nixpkgs"
)

func TestDefaults(t *testing.T) {
	c, err := Parse([]byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"diskSize", c.DiskSize, int64(0)},
		{"auto", c.AutoSize(), true},
		{"additionalSpace", c.AdditionalSpace, int64(512 * MiB)},
		{"bootSize", c.BootSize, int64(256 * MiB)},
		{"partitionTableType", c.PartitionTableType, nixpkgs.Legacy},
		{"installBootLoader", c.InstallBootLoader, false},
		{"touchEFIVars", c.TouchEFIVars, false},
		{"fsType", c.FSType, "ext4"},
		{"label", c.Label, "nixos"},
		{"configFile", c.ConfigFile, ""},
		{"memSize", c.MemSize, int64(1024)},
		{"name", c.Name, "nixos-disk-image"},
		{"format", c.Format, "raw"},
		{"deterministic", c.Deterministic, true},
		{"rootGPUID", c.RootGPUID, nixpkgs.DefaultRootGPUID},
		{"rootFSUID", c.RootFSUID, nixpkgs.DefaultRootGPUID},
		{"copyChannel", c.CopyChannel, true},
		{"filename", c.Filename(), "nixos.img"},
		{"rootPartition", c.PartitionTableType.RootPartition(), 1},
		{"reserved", c.ReservedSpace(), int64(MiB)},
		{"bootloader", c.Bootloader == nil, true},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	c, err = Parse([]byte(`{"onlyNixStore": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Label != "nix-store" {
		t.Errorf("onlyNixStore label = %q", c.Label)
	}
}

func TestFull(t *testing.T) {
	c, err := Parse([]byte(`{
		"diskSize": "2048", "additionalSpace": "1.5G", "bootSize": 536870912,
		"contents": [{"source": "/a", "target": "/etc/a", "mode": "0644", "user": "alice", "group": "100"},
		             {"source": "/b/*", "target": "b", "mode": null}],
		"partitionTableType": "efi", "touchEFIVars": true, "efiVariables": "vars.fd",
		"label": "root", "configFile": null, "root": null, "postVM": "echo hi", "memSize": 2048,
		"name": "n", "format": "qcow2-compressed", "deterministic": false,
		"rootGPUID": "f222513b-ded1-49fa-b591-20ce86a2fe7f", "rootFSUID": null,
		"copyChannel": false, "additionalPaths": ["/nix/store/abc-x"], "nixpkgsCompat": true,
		"bootloader": {"type": "systemd-boot", "efi": "sd.efi", "timeout": 0, "default": "b",
			"entries": [{"id": "a", "linux": "k"}, {"id": "b", "title": "B", "linux": "k", "initrd": ["i0", "i1"], "options": "quiet"}]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != "" || c.EFIVariables != "vars.fd" {
		t.Errorf("root %q efiVariables %q", c.Root, c.EFIVariables)
	}
	if c.DiskSize != 2048*MiB || c.AdditionalSpace != 3*512*MiB || c.BootSize != 512*MiB {
		t.Errorf("sizes %d %d %d", c.DiskSize, c.AdditionalSpace, c.BootSize)
	}
	if c.RootGPUID != nixpkgs.DefaultRootGPUID || c.RootFSUID != "" {
		t.Errorf("guids %q %q", c.RootGPUID, c.RootFSUID)
	}
	if c.Filename() != "nixos.qcow2" || c.ContainerFormat() != "qcow2" || c.Format != "qcow2-compressed" || c.PartitionTableType.RootPartition() != 2 {
		t.Errorf("format %q %q %q %d", c.Filename(), c.ContainerFormat(), c.Format, c.PartitionTableType.RootPartition())
	}
	if got := c.ReservedSpace(); got != 512*34+512*MiB {
		t.Errorf("reserved %d", got)
	}
	if len(c.Contents) != 2 || c.Contents[0].Mode.Apply(0o755, false) != 0o644 || c.Contents[1].Mode != nil || c.Contents[0].User != "alice" {
		t.Errorf("contents %+v", c.Contents)
	}
	b := c.Bootloader
	if b == nil || len(b.Entries) != 2 || b.Entries[0].Title != "a" {
		t.Fatalf("bootloader %+v", b)
	}
	if got, want := string(b.LoaderConf()), "timeout 0\ndefault b.conf\n"; got != want {
		t.Errorf("loader.conf %q, want %q", got, want)
	}
	if e := b.Entries[1]; e.Title != "B" || e.Linux != "k" || len(e.Initrd) != 2 || e.Options != "quiet" {
		t.Errorf("entry %+v", e)
	}
}

// TestGrubBIOS: a grub-bios bootloader's keys, with host paths taken from
// the config file's directory and image paths kept.
func TestGrubBIOS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	os.WriteFile(p, []byte(`{"partitionTableType": "legacy+gpt", "bootloader": {"type": "grub-bios",
		"bootImg": "boot.img", "grubDir": "/usr/lib/grub/i386-pc", "modules": ["serial", "terminal"],
		"timeout": 0, "default": "d", "entries": [{"id": "d", "version": "6.1", "linux": "boot:/vmlinuz-*", "initrd": ["esp:/x", "/abs/initrd", "rel/initrd"]}]}}`), 0o644)
	_, err := Load(p)
	if !errors.Is(err, ErrBootloader) {
		t.Fatalf("esp: on legacy+gpt: %v, want ErrBootloader", err)
	}
	os.WriteFile(p, []byte(`{"partitionTableType": "legacy+gpt", "bootloader": {"type": "grub-bios",
		"bootImg": "boot.img", "grubDir": "/usr/lib/grub/i386-pc", "modules": ["serial", "terminal"],
		"timeout": 0, "default": "d", "entries": [{"id": "d", "version": "6.1", "linux": "boot:/vmlinuz-*", "initrd": ["/abs/initrd", "rel/initrd"]}]}}`), 0o644)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	b := c.Bootloader
	if b.Type != GrubBIOS || b.BootImg != filepath.Join(dir, "boot.img") || b.CoreImg != "" || b.GrubDir != "/usr/lib/grub/i386-pc" ||
		len(b.Modules) != 2 || b.Modules[1] != "terminal" || !b.HasTimeout || b.Timeout != 0 || b.Default != "d" {
		t.Errorf("bootloader %+v", b)
	}
	e := b.Entries[0]
	if e.Linux != "boot:/vmlinuz-*" || e.Version != "6.1" || e.Initrd[0] != "/abs/initrd" || e.Initrd[1] != filepath.Join(dir, "rel/initrd") {
		t.Errorf("entry %+v", e)
	}
}

func TestFilenameAndPartition(t *testing.T) {
	for _, tc := range []struct{ format, file string }{
		{"raw", "nixos.img"}, {"qcow2", "nixos.qcow2"}, {"qcow2-compressed", "nixos.qcow2"}, {"vdi", "nixos.vdi"}, {"vpc", "nixos.vhd"},
	} {
		c := &Config{Format: tc.format}
		if got := c.Filename(); got != tc.file {
			t.Errorf("%s: %s, want %s", tc.format, got, tc.file)
		}
	}
}

func TestErrors(t *testing.T) {
	const esp = `"partitionTableType": "efi", `
	for _, tc := range []struct {
		name, json string
		want       error
	}{
		{"syntax", `{"diskSize": }`, ErrSyntax},
		{"trailing", `{} {}`, ErrSyntax},
		{"not object", `[1]`, ErrType},
		{"unknown key", `{"disksize": 3}`, ErrUnknownKey},
		{"unknown content key", `{"contents": [{"source": "/a", "target": "/b", "owner": "x"}]}`, ErrUnknownKey},
		{"unknown bootloader key", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a", "linux": "k"}], "x": 1}}`, ErrUnknownKey},
		{"duplicate key", `{"name": "a", "name": "b"}`, ErrDuplicateKey},
		{"bool type", `{"deterministic": "yes"}`, ErrType},
		{"string type", `{"fsType": 4}`, ErrType},
		{"null string", `{"name": null}`, ErrType},
		{"memSize type", `{"memSize": "1024"}`, ErrType},
		{"memSize float", `{"memSize": 1.5}`, ErrType},
		{"contents type", `{"contents": {}}`, ErrType},
		{"contents entry type", `{"contents": ["a"]}`, ErrType},
		{"additionalPaths type", `{"additionalPaths": "/nix/store/a"}`, ErrType},
		{"size type", `{"bootSize": true}`, ErrType},
		{"diskSize type", `{"diskSize": [1]}`, ErrType},
		{"bootloader type", `{"bootloader": "systemd-boot"}`, ErrType},
		{"diskSize word", `{"diskSize": "big"}`, ErrSize},
		{"diskSize suffix", `{"diskSize": "2G"}`, ErrSize},
		{"diskSize zero", `{"diskSize": 0}`, ErrSize},
		{"diskSize negative", `{"diskSize": -5}`, ErrSize},
		{"diskSize fraction", `{"diskSize": 1.5}`, ErrSize},
		{"diskSize huge", `{"diskSize": 99999999999999999999}`, ErrSize},
		{"additionalSpace negative", `{"additionalSpace": "-1M"}`, ErrSize},
		{"additionalSpace negative number", `{"additionalSpace": -1}`, ErrSize},
		{"additionalSpace lower i", `{"additionalSpace": "512i"}`, ErrSize},
		{"additionalSpace unit", `{"additionalSpace": "512Z"}`, ErrSize},
		{"additionalSpace fraction bytes", `{"additionalSpace": "1.5"}`, ErrSize},
		{"additionalSpace empty", `{"additionalSpace": ""}`, ErrSize},
		{"bootSize huge", `{"bootSize": "9E"}`, ErrSize},
		{"memSize zero", `{"memSize": 0}`, ErrSize},
		{"disk too small for legacy", `{"diskSize": 1}`, ErrSize},
		{"make-disk-image.nix disk GUID as rootGPUID", `{"rootGPUID": "97FD5997-D90B-4AA3-8D16-C1723AEA73C"}`, ErrGUID},
		{"GUID bad hex", `{"rootGPUID": "G222513B-DED1-49FA-B591-20CE86A2FE7F"}`, ErrGUID},
		{"GUID bad dash", `{"rootFSUID": "F222513B_DED1-49FA-B591-20CE86A2FE7F"}`, ErrGUID},
		{"GUID braces", `{"rootFSUID": "{F222513B-DED1-49FA-B591-20CE86A2FE7}"}`, ErrGUID},
		{"mode", `{"contents": [{"source": "/a", "target": "/b", "mode": "u+q"}]}`, ErrMode},
		{"mode octal", `{"contents": [{"source": "/a", "target": "/b", "mode": "0989"}]}`, ErrMode},
		{"mode DF", `{"contents": [{"source": "/a", "target": "/b", "mode": "DF755"}]}`, ErrMode},
		{"missing source", `{"contents": [{"target": "/b"}]}`, ErrRequired},
		{"missing target", `{"contents": [{"source": "/a"}]}`, ErrRequired},
		{"target escapes", `{"contents": [{"source": "/a", "target": "../etc"}]}`, ErrPath},
		{"target escapes deep", `{"contents": [{"source": "/a", "target": "/x/../../y"}]}`, ErrPath},
		{"additionalPath relative", `{"additionalPaths": ["nix/store/a"]}`, ErrPath},
		{"additionalPath unclean", `{"additionalPaths": ["/nix/store/a/../b"]}`, ErrPath},
		{"label", `{"label": "a\u0000b"}`, ErrLabel},
		{"nixpkgsRelease", `{"nixpkgsRelease": "24.04"}`, nixpkgs.ErrRelease},
		{"nixpkgsRelease number", `{"nixpkgsRelease": 24.05}`, ErrType},
		{"layout not in release", `{"nixpkgsRelease": "24.11", "partitionTableType": "legacy+boot"}`, nixpkgs.ErrLayout},
		{"efixbootldr not in 23.11", `{"nixpkgsRelease": "23.11", "partitionTableType": "efixbootldr"}`, nixpkgs.ErrLayout},
		{"baseName not in release", `{"nixpkgsRelease": "24.05", "baseName": "disk"}`, nixpkgs.ErrBaseName},
		{"baseName slash", `{"baseName": "a/b"}`, ErrPath},
		{"baseName dots", `{"baseName": ".."}`, ErrPath},
		{"bootSize before BOOT", `{"partitionTableType": "efixbootldr", "bootSize": "99M"}`, ErrBootSize},
		{"bootSize before BOOT, 24.05", `{"partitionTableType": "efixbootldr", "bootSize": "100M", "nixpkgsRelease": "24.05"}`, ErrBootSize},
		{"bootSize past disk", `{"partitionTableType": "legacy+boot", "diskSize": 256, "nixpkgsRelease": "25.05"}`, ErrBootSize},

		// make-disk-image.nix's assertions
		{"partitionTableType", `{"partitionTableType": "gpt"}`, ErrPartitionTableType},
		{"rootFSUID null", `{"rootFSUID": null}`, ErrRootFSUID},
		{"table with xfs", `{"fsType": "xfs", "rootFSUID": null}`, ErrTableFSType},
		{"efivars legacy", `{"touchEFIVars": true, "efiVariables": "v"}`, ErrEFIVars},
		{"efivars none", `{"partitionTableType": "none", "touchEFIVars": true, "efiVariables": "v"}`, ErrEFIVars},
		{"onlyNixStore contents", `{"onlyNixStore": true, "contents": [{"source": "/a", "target": "/b"}]}`, ErrOnlyNixStore},
		{"onlyNixStore configFile", `{"onlyNixStore": true, "configFile": "/c.nix"}`, ErrOnlyNixStore},
		{"onlyNixStore bootloader", `{"onlyNixStore": true, "installBootLoader": true}`, ErrOnlyNixStore},
		{"user without group", `{"contents": [{"source": "/a", "target": "/b", "user": "u"}]}`, ErrUserGroup},
		{"group without user", `{"contents": [{"source": "/a", "target": "/b", "group": "g", "user": null}]}`, ErrUserGroup},

		// purefs's own
		{"fsType none", `{"partitionTableType": "none", "fsType": "xfs"}`, ErrFSType},
		{"format", `{"format": "qed"}`, ErrFormat},
		{"efiVariables missing", `{"partitionTableType": "legacy+gpt", "touchEFIVars": true}`, ErrRequired},
		{"bootSize beyond disk", `{` + esp + `"diskSize": 200}`, ErrBootSize},
		{"bootSize before ESP", `{` + esp + `"bootSize": "8M"}`, ErrBootSize},
		{"bootloader type", `{` + esp + `"bootloader": {"type": "grub", "efi": "e", "entries": [{"id": "a", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader efi", `{` + esp + `"bootloader": {"type": "systemd-boot", "entries": [{"id": "a", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader no entries", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e"}}`, ErrBootloader},
		{"bootloader id", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a/b", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader dup id", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a", "linux": "k"}, {"id": "a", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader linux", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a"}]}}`, ErrBootloader},
		{"bootloader default", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "default": "b", "entries": [{"id": "a", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader timeout", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "timeout": -1, "entries": [{"id": "a", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader options", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a", "linux": "k", "options": "a\nb"}]}}`, ErrBootloader},
		{"bootloader legacy", `{"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader esp path relative", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"linux": "esp:vmlinuz"}]}}`, ErrBootloader},
		{"bootloader esp path escapes", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"linux": "esp:/../etc/shadow"}]}}`, ErrBootloader},
		{"bootloader version", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"linux": "k", "version": "a b"}]}}`, ErrBootloader},
		{"bootloader entryToken", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entryToken": "a/b", "entries": [{"linux": "k"}]}}`, ErrBootloader},
		{"systemd-boot with grub keys", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "coreImg": "c", "entries": [{"linux": "k"}]}}`, ErrBootloader},
		{"grub-bios on efi", `{` + esp + `"bootloader": {"type": "grub-bios", "entries": [{"linux": "boot:/k"}]}}`, ErrBootloader},
		{"grub-bios on none", `{"partitionTableType": "none", "bootloader": {"type": "grub-bios", "entries": [{"linux": "boot:/k"}]}}`, ErrBootloader},
		{"grub-bios esp path on legacy", `{"bootloader": {"type": "grub-bios", "entries": [{"linux": "esp:/k"}]}}`, ErrBootloader},
		{"grub-bios no entries", `{"bootloader": {"type": "grub-bios"}}`, ErrBootloader},
		{"grub-bios config and entries", `{"bootloader": {"type": "grub-bios", "config": "g.cfg", "entries": [{"linux": "boot:/k"}]}}`, ErrBootloader},
		{"grub-bios efi", `{"bootloader": {"type": "grub-bios", "efi": "e", "config": "g.cfg"}}`, ErrBootloader},
		{"grub-bios modules with coreImg", `{"bootloader": {"type": "grub-bios", "coreImg": "c", "modules": ["serial"], "config": "g.cfg"}}`, ErrBootloader},
		{"grub-bios module name", `{"bootloader": {"type": "grub-bios", "modules": ["a b"], "config": "g.cfg"}}`, ErrBootloader},
		{"grub-bios modules type", `{"bootloader": {"type": "grub-bios", "modules": "serial", "config": "g.cfg"}}`, ErrType},
		{"grub-bios unknown key", `{"bootloader": {"type": "grub-bios", "core": "c", "config": "g.cfg"}}`, ErrUnknownKey},
		{"bootloader and installBootLoader", `{` + esp + `"installBootLoader": true, "bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a", "linux": "k"}]}}`, ErrBootloader},
		{"bootloader initrd type", `{` + esp + `"bootloader": {"type": "systemd-boot", "efi": "e", "entries": [{"id": "a", "linux": "k", "initrd": 3}]}}`, ErrType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.json))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%s) = %+v, %v; want %v", tc.json, c, err, tc.want)
			}
			if strings.Count(err.Error(), "\n") > 0 {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

// Errors name the offending key.
func TestErrorNamesKey(t *testing.T) {
	for js, key := range map[string]string{
		`{"memSize": "x"}`: `"memSize"`,
		`{"contents": [{"source": "/a", "target": "/b"}, {"source": "/a", "target": "/c", "mode": 5}]}`: `"contents[1].mode"`,
		`{"contents": [{"source": "/a", "target": "/b", "bogus": 1}]}`:                                  `"contents[0].bogus"`,
		`{"zzz": 1}`:               `"zzz"`,
		`{"bootSize": "12Q"}`:      `"bootSize"`,
		`{"rootGPUID": "x"}`:       `"rootGPUID"`,
		`{"deterministic": 1}`:     "a boolean",
		`{"diskSize": "2G"}`:       `"diskSize"`,
		`{"additionalPaths": [1]}`: "array of strings",
	} {
		_, err := Parse([]byte(js))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("Parse(%s) = %v; want it to mention %s", js, err, key)
		}
	}
}

func TestChmod(t *testing.T) {
	for _, tc := range []struct {
		mode string
		perm uint32
		dir  bool
		want uint32
	}{
		{"755", 0o600, false, 0o755},
		{"0644", 0o4755, false, 0o644},
		{"D755,F644", 0o700, true, 0o755},
		{"D755,F644", 0o700, false, 0o644},
		{"u+x,go-w", 0o666, false, 0o744},
		{"+x", 0o644, false, 0o755},
		{"+w", 0o444, false, 0o644}, // umask 022 keeps group and other from w
		{"a+w", 0o444, false, 0o666},
		{"+X", 0o644, false, 0o644},
		{"+X", 0o744, false, 0o755},
		{"+X", 0o644, true, 0o755},
		{"go=", 0o777, false, 0o700},
		{"u=rw", 0o4777, false, 0o4677},
		{"u=rws", 0o777, false, 0o4677},
		{"g+s", 0o755, true, 0o2755},
		{"+t", 0o777, true, 0o1777},
		{"a-x", 0o755, false, 0o644},
		{"Fa-x", 0o755, true, 0o755},
	} {
		c, err := ParseChmod(tc.mode)
		if err != nil {
			t.Errorf("ParseChmod(%q): %v", tc.mode, err)
			continue
		}
		if got := c.Apply(tc.perm, tc.dir); got != tc.want {
			t.Errorf("%q on %#o (dir %v) = %#o, want %#o", tc.mode, tc.perm, tc.dir, got, tc.want)
		}
	}
	for _, bad := range []string{"", "u", "x+r", "u+q", "18", "07777777", "DF+x", "755,"} {
		if _, err := ParseChmod(bad); !errors.Is(err, ErrMode) {
			t.Errorf("ParseChmod(%q) = %v, want ErrMode", bad, err)
		}
	}
}

func TestLoadResolvesPaths(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.json")
	js := `{"root": "root", "configFile": "/abs/c.nix", "contents": [{"source": "files/*", "target": "/x"}]}`
	if err := os.WriteFile(p, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Root != filepath.Join(dir, "root") || c.ConfigFile != "/abs/c.nix" || c.Contents[0].Source != filepath.Join(dir, "files/*") {
		t.Errorf("paths %q %q %q", c.Root, c.ConfigFile, c.Contents[0].Source)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestEpoch(t *testing.T) {
	c := &Config{Deterministic: true}
	if s, fixed, err := c.Epoch(""); s != 1 || !fixed || err != nil {
		t.Errorf("Epoch(\"\") = %d %v %v", s, fixed, err)
	}
	if s, _, err := c.Epoch("1700000000"); s != 1700000000 || err != nil {
		t.Errorf("Epoch = %d %v", s, err)
	}
	if _, _, err := c.Epoch("yesterday"); !errors.Is(err, ErrEpoch) {
		t.Errorf("Epoch(bad) = %v", err)
	}
}

func TestCleanTarget(t *testing.T) {
	for in, want := range map[string]string{"/etc/a": "etc/a", "etc/a/": "etc/a", "/": "", "a/../b": "b", "//x//y": "x/y"} {
		if got, err := CleanTarget(in); got != want || err != nil {
			t.Errorf("CleanTarget(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"diskSize": "auto", "contents": [{"source": "/a", "target": "/b", "mode": "u+x"}]}`))
	f.Add([]byte(`{"bootSize": "1.5G", "partitionTableType": "hybrid"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("parsed config fails Validate: %v", err)
			}
		}
	})
}

func TestDefault(t *testing.T) {
	if c := Default(); c.PartitionTableType != nixpkgs.Legacy || c.Validate() != nil {
		t.Errorf("Default() = %+v", c)
	}
}

func FuzzChmod(f *testing.F) {
	for _, s := range []string{"755", "D755,F644", "u+x,go-w", "+X", "a=rwxst", "Fg-s"} {
		f.Add(s, uint32(0o644), false)
	}
	f.Fuzz(func(t *testing.T, s string, perm uint32, dir bool) {
		c, err := ParseChmod(s)
		if err != nil {
			return
		}
		if got := c.Apply(perm&0o7777, dir); got&^0o7777 != 0 {
			t.Fatalf("%q on %#o gave %#o", s, perm, got)
		}
		if c.String() != s {
			t.Fatalf("String() = %q, want %q", c.String(), s)
		}
	})
}

func ExampleParse() {
	c, err := Parse([]byte(`{"partitionTableType": "efi", "format": "qcow2", "contents": [{"source": "/srv/motd", "target": "/etc/motd", "mode": "0644"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Filename(), c.PartitionTableType.RootPartition(), c.Label, c.RootFSUID)
	// Output: nixos.qcow2 2 nixos F222513B-DED1-49FA-B591-20CE86A2FE7F
}

// TestLongLabel: a label longer than 16 bytes is cut to 16, with the
// warning mke2fs prints for it.
func TestLongLabel(t *testing.T) {
	c, err := Parse([]byte(`{"label": "a-label-longer-than-16"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Label != "a-label-longer-t" || len(c.Warnings) != 1 || c.Warnings[0] != "Warning: label too long; will be truncated to 'a-label-longer-t'" {
		t.Errorf("label %q, warnings %q", c.Label, c.Warnings)
	}
	if err := c.Validate(); err != nil || len(c.Warnings) != 1 {
		t.Errorf("validating again: %v, %q", err, c.Warnings)
	}
}

func TestReleaseKeys(t *testing.T) {
	c, err := Parse([]byte(`{"nixpkgsRelease": "25.11", "partitionTableType": "efixbootldr", "baseName": "disk", "format": "qcow2", "touchEFIVars": true, "efiVariables": "/vars"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Filename() != "disk.qcow2" || c.PartitionTableType.RootPartition() != 3 || !c.HasESP() {
		t.Errorf("%s %d", c.Filename(), c.PartitionTableType.RootPartition())
	}
	// 25.11 rounds bootSize: "256M" is 257 MiB.
	if c.BootSizeBytes() != 257*MiB || c.ReservedSpace() != 17408+257*MiB {
		t.Errorf("bootSize %d, reserved %d", c.BootSizeBytes(), c.ReservedSpace())
	}
	c, err = Parse([]byte(`{"partitionTableType": "legacy+boot"}`))
	if err != nil {
		t.Fatal(err)
	}
	// Without a release, the layouts added since 2024 follow today's file.
	if c.Filename() != "nixos.img" || c.ReservedSpace() != 257*MiB {
		t.Errorf("%s %d", c.Filename(), c.ReservedSpace())
	}
}

// TestSizeForms: additionalSpace and bootSize take the command line's
// forms too (internal/size's grammar), not only numfmt --from=iec's.
func TestSizeForms(t *testing.T) {
	for text, want := range map[string]int64{"512m": 512 * MiB, "64MiB": 64 * MiB, "1.5G": 1536 * MiB, "100M": 100 * MiB} {
		c, err := Parse([]byte(`{"additionalSpace": "` + text + `", "bootSize": "` + text + `", "partitionTableType": "efi"}`))
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if c.AdditionalSpace != want || c.BootSize != want {
			t.Errorf("%s: additionalSpace %d, bootSize %d, want %d", text, c.AdditionalSpace, c.BootSize, want)
		}
	}
}

// TestArchiveOptions: the hyperv and compressionLevel keys, with their
// formats only.
func TestArchiveOptions(t *testing.T) {
	for _, c := range []struct {
		json  string
		file  string
		level int
		want  error
	}{
		{`{"format": "vhdx", "hyperv": {"vmFileName": "nixos-24.05-x86_64-linux.vhdx"}}`, "nixos-24.05-x86_64-linux.vhdx", 0, nil},
		{`{"format": "vhdx", "baseName": "disk"}`, "disk.vhdx", 0, nil},
		{`{"format": "gce", "compressionLevel": 9}`, "nixos.raw.tar.gz", 9, nil},
		{`{"format": "raw-gzip"}`, "nixos.img.gz", 0, nil},
		{`{"format": "raw-zstd", "compressionLevel": 19}`, "nixos.img.zst", 19, nil},
		{`{"format": "raw-gzip", "compressionLevel": 10}`, "", 0, ErrArchiveOption},
		{`{"format": "qcow2", "compressionLevel": 1}`, "", 0, ErrArchiveOption},
		{`{"format": "raw", "hyperv": {}}`, "", 0, ErrArchiveOption},
		{`{"format": "vhdx", "hyperv": {"vmFileName": "../x.vhdx"}}`, "", 0, ErrArchiveOption},
		{`{"format": "vhdx", "hyperv": {"vmSize": 1}}`, "", 0, ErrUnknownKey},
	} {
		cfg, err := Parse([]byte(c.json))
		if c.want != nil {
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.json, err, c.want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		if cfg.Filename() != c.file || cfg.CompressionLevel != c.level {
			t.Errorf("%s: file %q, level %d", c.json, cfg.Filename(), cfg.CompressionLevel)
		}
	}
}
