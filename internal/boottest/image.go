package boottest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The functions in this file make test images with the standard tools
// (sgdisk, mkfs.vfat, mcopy, mkfs.ext4, debugfs). They are the one place
// to switch to purefs's own writers once those exist.

// Owner sets the owner of one path in an ext4 root (mkfs.ext4 -d copies
// the source's owners, which an unprivileged test cannot set).
type Owner struct {
	Path     string // absolute, inside the file system
	UID, GID int
}

// EFIImage describes a GPT disk with an ESP (partition 1, FAT) and an ext4
// root (partition 2), like make-disk-image.nix's "efi" layout; with Hybrid, like make-disk-image.nix's "hybrid" layout: the ESP from 8 MiB, a BIOS boot partition 2 in
// the first MiB and the root as partition 3.
type EFIImage struct {
	Hybrid  bool
	ESPDir  string // tree copied to the ESP
	RootDir string // tree copied to the root
	Owners  []Owner
	ESPMiB  int64 // default 64
	RootMiB int64 // default 64
}

// MakeEFIImage writes img (a sparse raw file).
func MakeEFIImage(ctx context.Context, img string, s EFIImage) error {
	if s.ESPMiB == 0 {
		s.ESPMiB = 64
	}
	if s.RootMiB == 0 {
		s.RootMiB = 64
	}
	const mib = 1 << 20
	espOff := int64(1 * mib)
	if s.Hybrid {
		espOff = 8 * mib
	}
	rootOff := espOff + s.ESPMiB*mib
	total := rootOff + s.RootMiB*mib + 1*mib // room for the backup GPT
	if err := os.Truncate(img, 0); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("boottest: %w", err)
	}
	f, err := os.Create(img)
	if err != nil {
		return fmt.Errorf("boottest: %w", err)
	}
	err = f.Truncate(total)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boottest: %w", err)
	}
	rootPart := "2"
	gpt := []string{"sgdisk", "-o", "-a", "1",
		"-n", fmt.Sprintf("1:%d:+%dM", espOff/512, s.ESPMiB), "-t", "1:EF00", "-c", "1:ESP",
		"-U", "97FD5997-D90B-4AA3-8D16-C1723AEA73C1",
		"-u", "1:1C06F03B-704E-4657-B9CD-681A087A2FDC"}
	if s.Hybrid {
		rootPart = "3"
		gpt = append(gpt, "-n", "2:34:2047", "-t", "2:EF02", "-c", "2:no-fs",
			"-u", "2:970C694F-AFD0-4B99-B750-CDB7A329AB6F")
	}
	gpt = append(gpt,
		"-n", fmt.Sprintf("%s:%d:+%dM", rootPart, rootOff/512, s.RootMiB), "-t", rootPart+":8300", "-c", rootPart+":root",
		"-u", rootPart+":F222513B-DED1-49FA-B591-20CE86A2FE7F",
		img)
	steps := [][]string{
		gpt,
		{"mkfs.vfat", "--invariant", "-n", "ESP", "-i", "2178694E",
			"--offset=" + strconv.FormatInt(espOff/512, 10), img, strconv.FormatInt(s.ESPMiB*1024, 10)},
	}
	if s.ESPDir != "" {
		ents, err := os.ReadDir(s.ESPDir)
		if err != nil {
			return fmt.Errorf("boottest: %w", err)
		}
		cp := []string{"mcopy", "-s", "-m", "-i", img + "@@" + strconv.FormatInt(espOff, 10)}
		for _, e := range ents {
			cp = append(cp, filepath.Join(s.ESPDir, e.Name()))
		}
		if len(ents) > 0 {
			steps = append(steps, append(cp, "::/"))
		}
	}
	steps = append(steps, []string{"mkfs.ext4", "-q", "-F", "-L", "nixos",
		"-U", "44444444-4444-4444-8888-888888888888",
		"-d", s.RootDir, "-E", "offset=" + strconv.FormatInt(rootOff, 10),
		img, strconv.FormatInt(s.RootMiB, 10) + "M"})
	for _, st := range steps {
		if _, err := run(ctx, "", st[0], st[1:]...); err != nil {
			return err
		}
	}
	return setOwners(ctx, img+"?offset="+strconv.FormatInt(rootOff, 10), s.Owners)
}

// MakeExt4 writes a bare ext4 file system of sizeMiB holding root to img.
func MakeExt4(ctx context.Context, img, root string, sizeMiB int64, owners []Owner) error {
	os.Remove(img)
	if _, err := run(ctx, "", "mkfs.ext4", "-q", "-F", "-d", root, img, strconv.FormatInt(sizeMiB, 10)+"M"); err != nil {
		return err
	}
	return setOwners(ctx, img, owners)
}

// setOwners sets owners with debugfs; dev may carry "?offset=N".
func setOwners(ctx context.Context, dev string, owners []Owner) error {
	if len(owners) == 0 {
		return nil
	}
	o := append([]Owner(nil), owners...)
	sort.Slice(o, func(i, j int) bool { return o[i].Path < o[j].Path })
	var b strings.Builder
	for _, w := range o {
		if strings.ContainsAny(w.Path, " \n\"") {
			return fmt.Errorf("boottest: owner path %q: spaces and quotes unsupported", w.Path)
		}
		fmt.Fprintf(&b, "sif %s uid %d\nsif %s gid %d\n", w.Path, w.UID, w.Path, w.GID)
	}
	f, err := os.CreateTemp("", "purefs-debugfs-")
	if err != nil {
		return fmt.Errorf("boottest: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boottest: %w", err)
	}
	out, err := run(ctx, "", "debugfs", "-w", "-f", f.Name(), dev)
	if err != nil {
		return err
	}
	// debugfs reports bad paths on stdout/stderr but exits 0.
	if strings.Contains(out, "not found") {
		return fmt.Errorf("boottest: debugfs: %s", out)
	}
	return nil
}

// LegacyImage describes an MBR disk with one bootable ext4 partition,
// like make-disk-image.nix's "legacy" layout.
type LegacyImage struct {
	RootDir string
	Owners  []Owner
	RootMiB int64    // default 128
	Ext4    []string // extra mkfs.ext4 arguments, e.g. "-O", "^64bit"
}

// MakeLegacyImage writes img (a sparse raw file); the root starts at 1 MiB.
func MakeLegacyImage(ctx context.Context, img string, s LegacyImage) error {
	if s.RootMiB == 0 {
		s.RootMiB = 128
	}
	const rootOff = 1 << 20
	os.Remove(img)
	f, err := os.Create(img)
	if err != nil {
		return fmt.Errorf("boottest: %w", err)
	}
	err = f.Truncate(rootOff + s.RootMiB<<20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("boottest: %w", err)
	}
	cmd := exec.CommandContext(ctx, "sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", img)
	cmd.Stdin = strings.NewReader("label: dos\nlabel-id: 0x2178694e\nstart=2048, type=83, bootable\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("boottest: sfdisk: %w\n%s", err, out)
	}
	args := append([]string{"-q", "-F", "-L", "nixos", "-U", "44444444-4444-4444-8888-888888888888"}, s.Ext4...)
	args = append(args, "-d", s.RootDir, "-E", "offset="+strconv.Itoa(rootOff), img, strconv.FormatInt(s.RootMiB, 10)+"M")
	if _, err := run(ctx, "", "mkfs.ext4", args...); err != nil {
		return err
	}
	return setOwners(ctx, img+"?offset="+strconv.Itoa(rootOff), s.Owners)
}
