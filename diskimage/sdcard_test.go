package diskimage

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/ext4"
	"github.com/purefs/purefs/internal/manifest"
	"github.com/purefs/purefs/internal/oracle"
	"github.com/purefs/purefs/nixpkgs"
	"github.com/purefs/purefs/stage"
)

// firmwareDir makes what a populateFirmwareCommands could leave in
// ./firmware: files at the top, a read-only one (copied from the store),
// and nested directories.
func firmwareDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "firmware")
	blob := make([]byte, 300<<10)
	x := uint32(1)
	for i := range blob {
		x = x*1664525 + 1013904223
		blob[i] = byte(x >> 24)
	}
	for p, data := range map[string][]byte{
		"config.txt":                []byte("[pi4]\nkernel=u-boot-rpi4.bin\nenable_gic=1\n"),
		"u-boot-rpi4.bin":           blob,
		"bcm2711-rpi-4-b.dtb":       bytes.Repeat([]byte{0xd0, 0x0d, 0xfe, 0xed}, 9000),
		"overlays/disable-bt.dtbo":  []byte("overlay"),
		"overlays/extra/readme.txt": []byte("nested\n"),
		"start4.elf":                bytes.Repeat([]byte("elf"), 1000),
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(dir, "start4.elf"), 0o444)
	return dir
}

// sdRootTree makes a root in the shape of what make-ext4-fs.nix gets: a
// Nix store with a few packages, /boot with extlinux.conf (what
// populateRootCommands puts there) and /nix-path-registration.
func sdRootTree(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootImage")
	put := func(p string, data []byte, mode os.FileMode) {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(full, mode)
	}
	x := uint32(7)
	noise := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			x = x*1664525 + 1013904223
			b[i] = byte(x >> 24)
		}
		return b
	}
	for i := range 40 {
		pkg := "nix/store/" + strconv.Itoa(1000000+i) + "abcdefghijklmnopqrstuvw-pkg-" + strconv.Itoa(i)
		put(pkg+"/bin/tool", noise(1000*i+10), 0o555)
		for j := range 12 {
			put(pkg+"/share/doc/file"+strconv.Itoa(j)+".txt", []byte(strings.Repeat("doc ", (i*j)%3000+1)), 0o444)
		}
		if err := os.Symlink("../bin/tool", filepath.Join(dir, pkg, "share", "tool-link")); err != nil {
			t.Fatal(err)
		}
	}
	put("boot/extlinux/extlinux.conf", []byte("DEFAULT nixos-default\nLABEL nixos-default\n  LINUX ../nixos/kernel\n"), 0o644)
	put("boot/nixos/kernel", noise(3<<20), 0o444)
	put("nix-path-registration", []byte("/nix/store/...\n"), 0o644)
	return dir
}

func sdConfig(root, fw string) map[string]any {
	return map[string]any{"root": root, "partitionTableType": "sd-card", "firmware": fw, "compressImage": false, "baseName": "nixos-sd"}
}

// TestBuildSDCard builds the sd-card layout and holds it against what
// sd-image.nix's and make-ext4-fs.nix's commands (sfdisk, mkfs.vfat
// --invariant, mmd, mcopy, mke2fs -d, resize2fs -M) make of the same
// inputs, field by field.
func TestBuildSDCard(t *testing.T) {
	oracle.Need(t, "sfdisk", "minfo", "mdir", "fsck.fat", "e2fsck", "dumpe2fs", "zstd")
	root, fw := sdRootTree(t), firmwareDir(t)
	out := filepath.Join(t.TempDir(), "out")
	plan, err := build(t, sdConfig(root, fw), out)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(out, "sd-image", "nixos-sd.img")
	l := plan.Layout
	hydra, _ := os.ReadFile(filepath.Join(out, "nix-support", "hydra-build-products"))
	if string(hydra) != "file sd-image "+img+"\n" {
		t.Errorf("hydra-build-products %q", hydra)
	}
	if sys, _ := os.ReadFile(filepath.Join(out, "nix-support", "system")); string(sys) != config.HostSystem()+"\n" {
		t.Errorf("nix-support/system %q", sys)
	}

	// The reference: the module's commands on the same inputs.
	ref := oracle.SDImage(t, oracle.SDImageInputs{
		Root: root, Firmware: fw, FirmwareOffset: 8, FirmwareSize: 30,
		FirmwareID: "0x2178694e", FirmwareName: "FIRMWARE",
		RootLabel: "NIXOS_SD", RootUUID: nixpkgs.Ext4FSUUID,
	})
	refDir := filepath.Dir(ref)

	// (1) The partition table: sfdisk's script on a disk of our size
	// writes the very same MBR.
	probe := filepath.Join(t.TempDir(), "probe.img")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Truncate(probe, l.DiskSize)
	cmd := exec.Command("sfdisk", "--no-reread", "--no-tell-kernel", probe)
	cmd.Stdin = strings.NewReader("label: dos\nlabel-id: 0x2178694e\n\nstart=8M, size=61440, type=b\nstart=38M, type=83, bootable\n")
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sfdisk: %v\n%s", err, o)
	}
	if got, want := oracle.ReadAt(t, img, 0, 512), oracle.ReadAt(t, probe, 0, 512); !bytes.Equal(got, want) {
		t.Errorf("MBR differs from sfdisk's:\n got %x\nwant %x", got[440:], want[440:])
	}
	dump := oracle.SfdiskDump(t, img)
	refDump := oracle.SfdiskDump(t, ref)
	for _, want := range []string{"label-id: 0x2178694e", "start=       16384, size=       61440, type=b", "start=       77824, size=", "type=83, bootable"} {
		if !strings.Contains(dump, want) || !strings.Contains(refDump, want) {
			t.Errorf("sfdisk --dump lacks %q:\nours:\n%s\nsd-image.nix's:\n%s", want, dump, refDump)
		}
	}

	// (2) The firmware partition: mkfs.vfat --invariant's boot sector
	// (minfo), the same files with the same times (mdir), fsck clean.
	refFAT := filepath.Join(refDir, "firmware_part.img")
	oracle.FsckFat(t, img, l.ESPOffset, l.ESPSize)
	if got, want := minfo(t, img+"@@"+strconv.FormatInt(l.ESPOffset, 10)), minfo(t, refFAT); got != want {
		t.Errorf("minfo differs:\nours:\n%s\nmkfs.vfat's:\n%s", got, want)
	}
	if got, want := mdirAll(t, img+"@@"+strconv.FormatInt(l.ESPOffset, 10)), mdirAll(t, refFAT); got != want || strings.Contains(got, "?") {
		t.Errorf("mdir differs:\nours:\n%s\nmcopy's:\n%s", got, want)
	} else {
		t.Logf("firmware files (mdir):\n%s", got)
	}
	fwOut := t.TempDir()
	oracle.Mcopy(t, img, l.ESPOffset, fwOut)
	filepath.WalkDir(fw, func(p string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			rel, _ := filepath.Rel(fw, p)
			a, _ := os.ReadFile(p)
			if b, err := os.ReadFile(filepath.Join(fwOut, rel)); err != nil || !bytes.Equal(a, b) {
				t.Errorf("firmware file %s: %v, content differs", rel, err)
			}
		}
		return nil
	})
	ourFAT := oracle.ReadAt(t, img, l.ESPOffset, l.ESPSize)
	if theirs, _ := os.ReadFile(refFAT); bytes.Equal(ourFAT, theirs) {
		t.Log("firmware partition: byte-identical to mkfs.vfat + mmd + mcopy's")
	} else {
		t.Log("firmware partition: same fields and files as mkfs.vfat + mmd + mcopy's; clusters placed in another order")
	}

	// (3) The root file system: label, UUID, clean, the tree, and its size
	// against resize2fs -M's.
	oracle.E2fsck(t, img, l.RootOffset)
	d := oracle.Dumpe2fs(t, img, l.RootOffset)
	refRoot := filepath.Join(refDir, "root-fs.img")
	rd := oracle.Dumpe2fs(t, refRoot, 0)
	for _, k := range []string{"Filesystem volume name", "Filesystem UUID"} {
		if d[k] != rd[k] {
			t.Errorf("%s: ours %q, make-ext4-fs.nix's %q", k, d[k], rd[k])
		}
	}
	if d["Filesystem volume name"] != "NIXOS_SD" || d["Filesystem UUID"] != strings.ToLower(nixpkgs.Ext4FSUUID) {
		t.Errorf("root label %q UUID %q", d["Filesystem volume name"], d["Filesystem UUID"])
	}
	num := func(m map[string]string, k string) int64 {
		v, err := strconv.ParseInt(m[k], 10, 64)
		if err != nil {
			t.Fatalf("dumpe2fs %s: %q", k, m[k])
		}
		return v
	}
	// This tree is small, so make-ext4-fs.nix's estimate is below 512
	// MiB and mke2fs makes 1 KiB blocks (its "small" type); every real
	// NixOS closure gets 4 KiB blocks, as purefs always writes. The size
	// is held against the recipe with 4 KiB blocks.
	ref4k := oracle.SDImage(t, oracle.SDImageInputs{
		Root: root, Firmware: fw, FirmwareOffset: 8, FirmwareSize: 30,
		FirmwareID: "0x2178694e", FirmwareName: "FIRMWARE",
		RootLabel: "NIXOS_SD", RootUUID: nixpkgs.Ext4FSUUID, MkfsExt4Args: "-b 4096",
	})
	rd4 := oracle.Dumpe2fs(t, filepath.Join(filepath.Dir(ref4k), "root-fs.img"), 0)
	size := func(m map[string]string, k string) int64 { return num(m, k) * num(m, "Block size") }
	ourBytes, ourFree := size(d, "Block count"), size(d, "Free blocks")
	for _, r := range []struct {
		name string
		m    map[string]string
	}{{"purefs", d}, {"make-ext4-fs.nix", rd}, {"make-ext4-fs.nix with 4 KiB blocks", rd4}} {
		t.Logf("root file system, %s: %d bytes, %d free, %s-byte blocks, %s inodes",
			r.name, size(r.m, "Block count"), size(r.m, "Free blocks"), r.m["Block size"], r.m["Inode count"])
	}
	if ourBytes != l.RootSize {
		t.Errorf("root file system of %d bytes in a partition of %d", ourBytes, l.RootSize)
	}
	// Both keep about 16 MiB beyond the least the tree needs: ours the
	// least of its own layout, resize2fs -M's minimum has slack of its
	// own (see README).
	if ourFree < nixpkgs.Ext4Slack*7/8 {
		t.Errorf("only %d bytes free, want about 16 MiB", ourFree)
	}
	if ref := size(rd4, "Block count"); ourBytes > ref+nixpkgs.Ext4Slack/8 {
		t.Errorf("root file system of %d bytes is larger than make-ext4-fs.nix's %d with the same block size", ourBytes, ref)
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
	if diff := manifest.Compare(want, got, manifest.CompareOptions{IgnoreLostFound: true, IgnoreRoot: true, IgnoreAtime: true}); len(diff) > 0 {
		t.Errorf("root file system differs from the tree:\n%s", diff)
	}

	// (4) compressImage (the module's default): sd-image/nixos.img.zst,
	// the same disk, zstd -t clean; and the build is deterministic.
	cfg := sdConfig(root, fw)
	delete(cfg, "compressImage")
	delete(cfg, "baseName")
	zout := filepath.Join(t.TempDir(), "out")
	if _, err := build(t, cfg, zout); err != nil {
		t.Fatal(err)
	}
	zimg := filepath.Join(zout, "sd-image", "nixos.img.zst")
	if r := oracle.Run("zstd", "-t", zimg); r.Code != 0 {
		t.Fatalf("zstd -t: %s", r)
	}
	if r := oracle.Run("zstd", "-d", "-q", zimg, "-o", filepath.Join(zout, "d.img")); r.Code != 0 {
		t.Fatalf("zstd -d: %s", r)
	}
	a, _ := os.ReadFile(img)
	b, _ := os.ReadFile(filepath.Join(zout, "d.img"))
	if !bytes.Equal(a, b) {
		t.Error("the .img.zst does not hold the same disk as the .img")
	}
	if hydra, _ := os.ReadFile(filepath.Join(zout, "nix-support", "hydra-build-products")); string(hydra) != "file sd-image "+zimg+"\n" {
		t.Errorf("hydra-build-products %q", hydra)
	}
	zout2 := filepath.Join(t.TempDir(), "out")
	if _, err := build(t, cfg, zout2); err != nil {
		t.Fatal(err)
	}
	z1, _ := os.ReadFile(zimg)
	z2, _ := os.ReadFile(filepath.Join(zout2, "sd-image", "nixos.img.zst"))
	if !bytes.Equal(z1, z2) {
		t.Error("two builds differ")
	}
}

// minfo returns minfo's report of the boot sector without the lines that
// name the image file and the OEM name ("mkfs.fat" or "purefs").
func minfo(t *testing.T, img string) string {
	t.Helper()
	r := oracle.Run("minfo", "-i", img, "::")
	if r.Code != 0 {
		t.Fatalf("minfo: %s", r)
	}
	var keep []string
	for _, line := range strings.Split(r.Stdout, "\n") {
		if !strings.HasPrefix(line, "filename=") && !strings.HasPrefix(line, "banner:") && !strings.Contains(line, " -i ") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// mdirAll lists every path of the FAT file system with its size and
// time, sorted (mcopy writes entries in the module's order, directories
// first, and lower-case 8.3 names with the case bits; purefs sorts and
// gives them long names: both read back as the same names).
func mdirAll(t *testing.T, img string) string {
	t.Helper()
	r := oracle.Run("mdir", "-/", "-b", "-a", "-i", img, "::/")
	if r.Code != 0 {
		t.Fatalf("mdir: %s", r)
	}
	entry := regexp.MustCompile(`(?m)^(\S+)\s+(?:\S+\s+)?(\d+|<DIR>)\s+(\d{4}-\d\d-\d\d\s+\d+:\d\d)`)
	var out []string
	for _, p := range strings.Fields(r.Stdout) {
		info := oracle.Run("mdir", "-a", "-i", img, p)
		stamp := "?"
		for _, m := range entry.FindAllStringSubmatch(info.Stdout, -1) {
			// A directory's own time is its "." entry's.
			if strings.HasSuffix(p, "/") == (m[1] == ".") {
				stamp = m[2] + " " + strings.Join(strings.Fields(m[3]), " ")
				break
			}
		}
		out = append(out, p+" "+stamp)
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// TestBuildSDCardErrors: options that do not fit are one error line each,
// and nothing is left in the output directory.
func TestBuildSDCardErrors(t *testing.T) {
	root, fw := buildTree(t), firmwareDir(t)
	withLink := firmwareDir(t)
	os.Symlink("config.txt", filepath.Join(withLink, "link.txt"))
	big := firmwareDir(t)
	if err := os.WriteFile(filepath.Join(big, "huge.bin"), bytes.Repeat([]byte{1}, 31<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) map[string]any {
		c := sdConfig(root, fw)
		c[k] = v
		return c
	}
	cases := []struct {
		name string
		cfg  map[string]any
		want error
	}{
		{"firmwareSize 0", with("firmwareSize", 0), config.ErrSDImage},
		{"firmwarePartitionOffset 0", with("firmwarePartitionOffset", 0), config.ErrSDImage},
		{"firmwarePartitionOffset beyond an MBR", with("firmwarePartitionOffset", 3<<20), config.ErrSDImage},
		{"firmwareSize beyond an MBR", with("firmwareSize", 2<<20), config.ErrSDImage},
		{"firmwarePartitionID not hex", with("firmwarePartitionID", "0xnothex"), config.ErrSDImage},
		{"firmwarePartitionID over 32 bits", with("firmwarePartitionID", "0x123456789"), config.ErrSDImage},
		{"firmwarePartitionName too long", with("firmwarePartitionName", "FIRMWARE-PARTITION"), config.ErrSDImage},
		{"format qcow2", with("format", "qcow2"), config.ErrSDImage},
		{"compressImage against format", with("format", "raw-zstd"), config.ErrSDImage},
		{"fixed diskSize", with("diskSize", 1024), config.ErrSDImage},
		{"sd-card key with efi", map[string]any{"root": root, "partitionTableType": "efi", "firmwareSize": 30}, config.ErrSDImage},
		{"firmware dir missing", with("firmware", filepath.Join(fw, "nope")), ErrFirmware},
		{"firmware not a dir", with("firmware", filepath.Join(fw, "config.txt")), ErrFirmware},
		{"firmware symlink", with("firmware", withLink), ErrFirmware},
		{"firmware larger than firmwareSize", with("firmware", big), ErrFirmware},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { buildFails(t, c.cfg, c.want) })
	}
}

// TestPlanSDCard checks the layout against sfdisk for other offsets and
// sizes, byte for byte in the MBR.
func TestPlanSDCard(t *testing.T) {
	oracle.Need(t, "sfdisk")
	for _, c := range []struct{ off, fw, root int64 }{{8, 30, 20 << 20}, {1, 1, 4096 * 4099}, {16, 256, 1 << 30}, {4, 64, 17<<20 + 512}} {
		s := &config.SDImage{FirmwarePartitionOffset: c.off, FirmwareSize: c.fw, FirmwarePartitionID: 0xdeadbeef}
		l, err := PlanSDCard(s, c.root)
		if err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(t.TempDir(), "disk.img")
		os.WriteFile(img, nil, 0o644)
		os.Truncate(img, l.DiskSize)
		cmd := exec.Command("sfdisk", "--no-reread", "--no-tell-kernel", img)
		cmd.Stdin = strings.NewReader("label: dos\nlabel-id: 0xdeadbeef\n\nstart=" + strconv.FormatInt(c.off, 10) + "M, size=" +
			strconv.FormatInt(c.fw*2048, 10) + ", type=b\nstart=" + strconv.FormatInt(c.off+c.fw, 10) + "M, type=83, bootable\n")
		if o, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sfdisk: %v\n%s", err, o)
		}
		want := oracle.ReadAt(t, img, 0, 512)
		var got bytes.Buffer
		mine := filepath.Join(t.TempDir(), "mine.img")
		f, _ := os.Create(mine)
		if err := WriteTables(f, *l); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got.Write(oracle.ReadAt(t, mine, 0, 512))
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%+v: MBR\n got %x\nwant %x", c, got.Bytes()[440:], want[440:])
		}
		if l.RootOffset != (c.off+c.fw)<<20 || l.RootSize != c.root || l.ESPOffset != c.off<<20 || l.ESPSize != c.fw<<20 {
			t.Errorf("%+v: layout %+v", c, l)
		}
	}
}

// TestFitExt4 checks that the fitted size is the least that holds the
// tree plus the free space asked for: one block less than the least does
// not hold it.
func TestFitExt4(t *testing.T) {
	src := sdRootTree(t)
	root, err := stage.Dir(src, stage.WalkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := ext4.Options{Label: "NIXOS_SD"}
	size, err := FitExt4(root, opts, nixpkgs.Ext4Slack)
	if err != nil {
		t.Fatal(err)
	}
	least := size - nixpkgs.Ext4Slack
	opts.Size = least
	if err := ext4.Check(root, opts); err != nil {
		t.Errorf("the least size %d does not hold the tree: %v", least, err)
	}
	opts.Size = least - ext4.BlockSize
	if err := ext4.Check(root, opts); !errors.Is(err, ext4.ErrNoSpace) {
		t.Errorf("one block less (%d) holds the tree too: %v", opts.Size, err)
	}
}
