package diskimage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/internal/testtree"
	"github.com/purefs/purefs/nixpkgs"
	"github.com/purefs/purefs/stage"
)

// buildTree makes a staged root from the test-tree generator, with a /boot
// that goes onto the ESP and an /etc/passwd for contents' owners.
func buildTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if _, err := testtree.Generate(dir, testtree.Options{Seed: 7, Class: testtree.Tiny}); err != nil {
		t.Fatal(err)
	}
	for p, data := range map[string]string{
		"etc/passwd":                  "root:x:0:0::/root:/bin/sh\nalice:x:1000:100::/home/alice:/bin/sh\n",
		"etc/group":                   "root:x:0:\nusers:x:100:\n",
		"boot/loader/loader.conf":     "timeout 3\n",
		"boot/EFI/BOOT/BOOTX64.EFI":   strings.Repeat("MZ", 5000),
		"boot/kernels/linux-6.1.0.gz": strings.Repeat("kernel", 20000),
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeConfig(t *testing.T, cfg map[string]any) string {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t *testing.T, cfg map[string]any, out string) (*BuildPlan, error) {
	t.Helper()
	c, err := config.Load(writeConfig(t, cfg))
	if err != nil {
		return nil, err
	}
	opts := BuildOptions{OutDir: out, SourceDateEpoch: "1700000000"}
	plan, err := MakePlan(c, opts)
	if err != nil {
		return nil, err
	}
	return plan, Build(plan, opts)
}

// buildFails builds cfg and checks that it fails with an error wrapping
// want, in one line, leaving no output directory behind.
func buildFails(t *testing.T, cfg map[string]any, want error) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	_, err := build(t, cfg, out)
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	if _, serr := os.Stat(out); !os.IsNotExist(serr) {
		t.Errorf("output directory was created: %v", serr)
	}
	t.Log(err)
}

// TestBuildLayoutsAndFormats builds every partitionTableType in every
// format and checks each with the oracles: the raw image's table, ESP and
// root file system, and each container against the raw image.
func TestBuildLayoutsAndFormats(t *testing.T) {
	oracle.Need(t, "qemu-img", "e2fsck", "sgdisk", "sfdisk", "fsck.fat")
	root := buildTree(t)
	extra := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(extra, []byte("contents entry\n"), 0o644)
	for _, layout := range []string{"legacy", "legacy+gpt", "efi", "hybrid", "none"} {
		t.Run(layout, func(t *testing.T) {
			base := map[string]any{
				"root": root, "partitionTableType": layout, "bootSize": "64M", "additionalSpace": "8M",
				"contents": []any{map[string]any{"source": extra, "target": "/home/alice/notes.txt", "mode": "0600", "user": "alice", "group": "users"}},
			}
			rawDir := filepath.Join(t.TempDir(), "raw")
			plan, err := build(t, base, rawDir)
			if err != nil {
				t.Fatal(err)
			}
			img := filepath.Join(rawDir, "nixos.img")
			checkRaw(t, img, plan)
			hydra, _ := os.ReadFile(filepath.Join(rawDir, "nix-support", "hydra-build-products"))
			if string(hydra) != "file raw-image "+img+"\n" {
				t.Errorf("hydra-build-products %q", hydra)
			}
			for _, format := range []string{"qcow2", "qcow2-compressed", "vdi", "vpc"} {
				cfg := map[string]any{}
				for k, v := range base {
					cfg[k] = v
				}
				cfg["format"] = format
				out := filepath.Join(t.TempDir(), format)
				if _, err := build(t, cfg, out); err != nil {
					t.Fatalf("%s: %v", format, err)
				}
				c, _ := config.Parse([]byte(`{"format":"` + format + `"}`))
				name := filepath.Join(out, c.Filename())
				fmtName := c.ContainerFormat()
				if format != "vpc" { // qemu-img has no check for vpc
					oracle.QemuImgCheck(t, name)
				}
				oracle.QemuImgCompareAs(t, img, "raw", name, fmtName)
				info := oracle.QemuImgAs(t, name, fmtName)
				// qemu rounds a dynamic VHD up to a CHS geometry; every
				// other container keeps the raw disk's size.
				if info.VirtualSize != plan.Layout.DiskSize && (format != "vpc" || info.VirtualSize < plan.Layout.DiskSize) {
					t.Errorf("%s: virtual size %d, disk is %d", format, info.VirtualSize, plan.Layout.DiskSize)
				}
			}
		})
	}
}

// checkRaw checks a raw build: partition table, ESP, root file system and
// the root tree against the staged tree.
func checkRaw(t *testing.T, img string, plan *BuildPlan) {
	t.Helper()
	l := plan.Layout
	switch l.TableType {
	case nixpkgs.LegacyGPT, nixpkgs.EFI, nixpkgs.Hybrid:
		oracle.SgdiskVerify(t, img)
		oracle.SfdiskDump(t, img)
	case nixpkgs.Legacy:
		if d := oracle.SfdiskDump(t, img); !strings.Contains(d, "type=83") {
			t.Errorf("sfdisk --dump shows no Linux partition:\n%s", d)
		}
	}
	if l.ESPSize > 0 {
		oracle.FsckFat(t, img, l.ESPOffset, l.ESPSize)
		list := oracle.Mdir(t, img, l.ESPOffset, "::/loader")
		if !strings.Contains(list, "loader") {
			t.Errorf("ESP lacks /loader/loader.conf:\n%s", list)
		}
	}
	oracle.E2fsck(t, img, l.RootOffset)
	dump := oracle.Dumpe2fs(t, img, l.RootOffset)
	// At least as many inodes as mke2fs gives a file system of this size.
	probe := filepath.Join(t.TempDir(), "probe.img")
	os.WriteFile(probe, nil, 0o644)
	r := oracle.Run("mke2fs", "-n", "-F", "-t", "ext4", "-b", "4096", probe, strconv.FormatInt(l.RootSize/1024, 10)+"K")
	var blocks, mkeInodes int64
	if _, err := fmt.Sscanf(r.Stdout[strings.Index(r.Stdout, "Creating filesystem with"):], "Creating filesystem with %d 4k blocks and %d inodes", &blocks, &mkeInodes); err != nil {
		t.Fatalf("mke2fs -n: %v\n%s", err, r)
	}
	if got, _ := strconv.ParseInt(dump["Inode count"], 10, 64); got < mkeInodes {
		t.Errorf("root has %d inodes, mke2fs would give %d", got, mkeInodes)
	}
	if got := strings.ToUpper(dump["Filesystem UUID"]); got != "F222513B-DED1-49FA-B591-20CE86A2FE7F" {
		t.Errorf("root UUID %s, want rootFSUID", got)
	}
	mnt := oracle.Mount(t, img, l.RootOffset, "ext4")
	got, err := manifest.FromDir(mnt, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := manifest.FromTree(plan.Root, manifest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := manifest.Compare(want, got, manifest.CompareOptions{IgnoreLostFound: true, IgnoreRoot: true, IgnoreAtime: true}); len(d) > 0 {
		t.Errorf("root file system differs from the staged tree:\n%s", d)
	}
	var notes os.FileInfo
	if notes, err = os.Lstat(filepath.Join(mnt, "home/alice/notes.txt")); err != nil {
		t.Fatal(err)
	}
	if notes.Mode().Perm() != 0o600 {
		t.Errorf("contents mode %v", notes.Mode())
	}
}

// TestBuildDeterministic builds twice from copies of one tree and expects
// identical bytes in every output.
func TestBuildDeterministic(t *testing.T) {
	root := buildTree(t)
	for _, format := range []string{"raw", "qcow2-compressed", "vdi", "vpc"} {
		var images [2][]byte
		for i := range images {
			out := filepath.Join(t.TempDir(), "out")
			cfg := map[string]any{"root": root, "partitionTableType": "hybrid", "bootSize": "64M", "additionalSpace": "8M", "format": format}
			plan, err := build(t, cfg, out)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(out, plan.Config.Filename()))
			if err != nil {
				t.Fatal(err)
			}
			images[i] = b
		}
		if !bytes.Equal(images[0], images[1]) {
			t.Errorf("%s: two builds differ", format)
		}
	}
}

// TestBuildErrorsLeaveNothing checks that each bad input is one clear
// error and that the output directory stays as it was.
func TestBuildErrorsLeaveNothing(t *testing.T) {
	root := buildTree(t)
	cases := []struct {
		name string
		cfg  map[string]any
		want error
	}{
		{"disk too small", map[string]any{"root": root, "diskSize": 2}, nil},
		{"unknown owner", map[string]any{"root": root, "contents": []any{map[string]any{"source": root + "/etc/passwd", "target": "/x", "user": "nobody-here", "group": "users"}}}, nil},
		{"missing source", map[string]any{"root": root, "contents": []any{map[string]any{"source": root + "/nope", "target": "/x"}}}, nil},
		{"escaping target", map[string]any{"root": root, "contents": []any{map[string]any{"source": root + "/etc/passwd", "target": "../x"}}}, nil},
		{"symlink in /boot", map[string]any{"root": symlinkBoot(t, root), "partitionTableType": "efi"}, ErrESP},
		{"unknown nixpkgsRelease", map[string]any{"root": root, "nixpkgsRelease": "24.04"}, nixpkgs.ErrRelease},
		{"layout not in release", map[string]any{"root": root, "nixpkgsRelease": "24.11", "partitionTableType": "legacy+boot"}, nixpkgs.ErrLayout},
		{"bootSize past the disk", map[string]any{"root": root, "partitionTableType": "efixbootldr", "diskSize": 300, "bootSize": "512M"}, config.ErrBootSize},
		{"bootSize past the disk, 2024", map[string]any{"root": root, "partitionTableType": "efi", "diskSize": 300, "bootSize": "300M"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			os.MkdirAll(out, 0o755)
			os.WriteFile(filepath.Join(out, "keep"), []byte("x"), 0o644)
			_, err := build(t, c.cfg, out)
			if err == nil {
				t.Fatal("no error")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error of more than one line: %q", err)
			}
			ents, _ := os.ReadDir(out)
			if len(ents) != 1 || ents[0].Name() != "keep" {
				t.Errorf("output directory changed: %v", ents)
			}
		})
	}
}

func symlinkBoot(t *testing.T, root string) string {
	dir := filepath.Join(t.TempDir(), "root")
	os.MkdirAll(filepath.Join(dir, "boot"), 0o755)
	os.Symlink("x", filepath.Join(dir, "boot", "link"))
	return dir
}

// TestBuildRelativeOut: hydra-build-products names the image by its
// absolute path even when the output directory is given relative.
func TestBuildRelativeOut(t *testing.T) {
	root := buildTree(t)
	dir := t.TempDir()
	t.Chdir(dir)
	if _, err := build(t, map[string]any{"root": root, "partitionTableType": "none", "additionalSpace": "8M"}, "out"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out", "nix-support", "hydra-build-products"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "file raw-image " + filepath.Join(dir, "out", "nixos.img") + "\n"; string(b) != want {
		t.Errorf("hydra-build-products %q, want %q", b, want)
	}
}

// TestBuildKeepOwners: with keepOwners the root's owners reach the image;
// without, everything is root's.
func TestBuildKeepOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	root := filepath.Join(t.TempDir(), "root")
	os.MkdirAll(filepath.Join(root, "etc"), 0o755)
	os.WriteFile(filepath.Join(root, "etc", "shadow"), []byte("root:*:1::::::\n"), 0o640)
	os.Chown(filepath.Join(root, "etc", "shadow"), 0, 42)
	for _, keep := range []bool{false, true} {
		out := filepath.Join(t.TempDir(), "out")
		plan, err := build(t, map[string]any{"root": root, "partitionTableType": "none", "additionalSpace": "8M", "keepOwners": keep}, out)
		if err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(out, "nixos.img")
		oracle.E2fsck(t, img, 0)
		st := oracle.Debugfs(t, img, plan.Layout.RootOffset, "stat /etc/shadow")
		want := "Group:     0"
		if keep {
			want = "Group:    42"
		}
		if !strings.Contains(st, want) {
			t.Errorf("keepOwners %v: stat says\n%s\nwant %q", keep, st, want)
		}
	}
}

// TestBuildSizing: the root file system's fit is decided by the ext4
// writer, not by make-disk-image.nix's estimate: a fixed diskSize below the estimate
// that holds the tree builds; one too small fails naming a size that
// works; "auto" grows where make-disk-image.nix's formula falls short.
func TestBuildSizing(t *testing.T) {
	many := filepath.Join(t.TempDir(), "many")
	os.MkdirAll(many, 0o755)
	for i := range 5000 {
		os.WriteFile(filepath.Join(many, fmt.Sprintf("f%05d", i)), nil, 0o644)
	}
	// make-disk-image.nix estimates (2 × 5000 entries) × 4 KiB × 1.052 ≈ 41 MiB.
	if _, err := build(t, map[string]any{"root": many, "diskSize": 30}, filepath.Join(t.TempDir(), "out")); err != nil {
		t.Errorf("5000 empty files in a 30 MiB disk: %v", err)
	}

	big := filepath.Join(t.TempDir(), "big")
	os.MkdirAll(big, 0o755)
	data := make([]byte, 30<<20)
	for i := range data {
		data[i] = byte(i*7 + i>>9)
	}
	os.WriteFile(filepath.Join(big, "blob"), data, 0o644)
	out := filepath.Join(t.TempDir(), "out")
	_, err := build(t, map[string]any{"root": big, "diskSize": 20}, out)
	var mib int
	if !errors.Is(err, stage.ErrTooSmall) {
		t.Fatalf("30 MiB file in a 20 MiB disk: %v, want ErrTooSmall", err)
	}
	if _, serr := fmt.Sscanf(err.Error()[strings.Index(err.Error(), "raise diskSize to "):], "raise diskSize to %d MiB", &mib); serr != nil {
		t.Fatalf("the error names no size: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed build left %s", out)
	}
	out2 := filepath.Join(t.TempDir(), "out")
	plan, err := build(t, map[string]any{"root": big, "diskSize": mib}, out2)
	if err != nil {
		t.Fatalf("the suggested %d MiB: %v", mib, err)
	}
	oracle.E2fsck(t, filepath.Join(out2, "nixos.img"), plan.Layout.RootOffset)

	// "auto" with no additional space: make-disk-image.nix's formula is short of
	// ext4's overhead for a small tree, so the disk grows.
	out3 := filepath.Join(t.TempDir(), "out")
	plan, err = build(t, map[string]any{"root": big, "additionalSpace": "0", "partitionTableType": "efi", "bootSize": "40M"}, out3)
	if err != nil {
		t.Fatalf("auto with additionalSpace 0: %v", err)
	}
	oracle.E2fsck(t, filepath.Join(out3, "nixos.img"), plan.Layout.RootOffset)
}

// TestBuildPostVMFailureRestores: a failing postVM leaves the output
// directory exactly as it was, previous outputs included, and removes
// what postVM made.
func TestBuildPostVMFailureRestores(t *testing.T) {
	root := buildTree(t)
	out := filepath.Join(t.TempDir(), "out")
	cfg := map[string]any{"root": root, "partitionTableType": "none", "additionalSpace": "8M"}
	if _, err := build(t, cfg, out); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(out, "nixos.img")
	want, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	listing := func() string {
		var names []string
		filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
			names = append(names, strings.TrimPrefix(p, out))
			return nil
		})
		return strings.Join(names, " ")
	}
	before := listing()
	cfg["additionalSpace"] = "16M" // a different image
	cfg["postVM"] = `test "$diskImage" = "$out/nixos.img"; touch "$out/marker"; mkdir "$out/dir"; exit 3`
	if _, err := build(t, cfg, out); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("postVM failure: %v", err)
	}
	if got := listing(); got != before {
		t.Errorf("output directory %q, was %q", got, before)
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, want) {
		t.Error("the previous nixos.img was not restored")
	}
}

// TestBuildNoZeroScanOnXFS: with noZeroScan, and the root tree and the
// output on one XFS with reflinks, the raw image and the qcow2 share the
// larger files' blocks with the sources instead of copying them; both
// pass the oracles, and a rebuild gives the same bytes.
func TestBuildNoZeroScanOnXFS(t *testing.T) {
	oracle.Need(t, "qemu-img", "e2fsck")
	mnt := oracle.MountXFS(t)
	root := filepath.Join(mnt, "root")
	for p, data := range map[string]string{
		"etc/passwd":        "root:x:0:0::/root:/bin/sh\n",
		"etc/group":         "root:x:0:\n",
		"usr/lib/big.so":    strings.Repeat("0123456789abcdef", 200000) + "tail",
		"usr/lib/medium.so": strings.Repeat("medium ", 20000),
		"usr/share/small":   "small\n",
	} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var images [][]byte
	for i, format := range []string{"raw", "qcow2", "qcow2"} {
		out := filepath.Join(mnt, fmt.Sprintf("out-%d", i))
		plan, err := build(t, map[string]any{"root": root, "partitionTableType": "efi", "additionalSpace": "16M",
			"format": format, "noZeroScan": true}, out)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := config.Parse([]byte(`{"format":"` + format + `"}`))
		name := filepath.Join(out, c.Filename())
		if !oracle.SharedExtents(t, name) {
			t.Errorf("%s: no extents shared with the sources", format)
		}
		if format == "raw" {
			oracle.E2fsck(t, name, plan.Layout.RootOffset)
			oracle.SgdiskVerify(t, name)
			if got := oracle.Debugfs(t, name, plan.Layout.RootOffset, "cat /usr/lib/big.so"); !strings.Contains(got, "cdef0123456789abcdeftail") {
				t.Errorf("big.so in the image lacks its tail: %d bytes", len(got))
			}
			images = append(images, nil)
			continue
		}
		oracle.QemuImgCheck(t, name)
		oracle.QemuImgCompareAs(t, filepath.Join(mnt, "out-0", "nixos.img"), "raw", name, "qcow2")
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, b)
	}
	if !bytes.Equal(images[1], images[2]) {
		t.Error("two qcow2 builds differ")
	}
}
