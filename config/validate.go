package config

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/purefs/purefs/nixpkgs"
)

// Validate checks c: first make-disk-image.nix's assertions, in make-disk-image.nix's order, then
// purefs's own rules. Parse and Load call it; callers that build a Config by
// hand call it too.
func (c *Config) Validate() error {
	// (1) make-disk-image.nix's assertions
	if _, err := nixpkgs.ParseTableType(string(c.PartitionTableType)); err != nil || c.PartitionTableType == "" {
		return fmt.Errorf("%w: got %q", ErrPartitionTableType, c.PartitionTableType)
	}
	if c.FSType == "ext4" && c.Deterministic && c.RootFSUID == "" {
		return fmt.Errorf("%w (by default it is rootGPUID)", ErrRootFSUID)
	}
	if c.PartitionTableType != nixpkgs.None && c.FSType != "ext4" {
		return fmt.Errorf("%w: partitionTableType %q with fsType %q", ErrTableFSType, c.PartitionTableType, c.FSType)
	}
	if c.TouchEFIVars && c.PartitionTableType != nixpkgs.Hybrid && c.PartitionTableType != nixpkgs.EFI &&
		c.PartitionTableType != nixpkgs.EFIXBootLdr && c.PartitionTableType != nixpkgs.LegacyGPT {
		return fmt.Errorf("%w: touchEFIVars with partitionTableType %q", ErrEFIVars, c.PartitionTableType)
	}
	if c.OnlyNixStore {
		switch {
		case len(c.Contents) > 0:
			return fmt.Errorf("%w: contents has %d entries", ErrOnlyNixStore, len(c.Contents))
		case c.ConfigFile != "":
			return fmt.Errorf("%w: configFile is set", ErrOnlyNixStore)
		case c.InstallBootLoader:
			return fmt.Errorf("%w: installBootLoader is true", ErrOnlyNixStore)
		case c.Bootloader != nil:
			return fmt.Errorf("%w: bootloader is set", ErrOnlyNixStore)
		}
	}
	for i, ct := range c.Contents {
		if (ct.User == "") != (ct.Group == "") {
			return fmt.Errorf("%w: contents[%d] (target %q) has user %q and group %q", ErrUserGroup, i, ct.Target, ct.User, ct.Group)
		}
	}

	// (2) the release, and what its make-disk-image.nix has
	rel, err := nixpkgs.LookupRelease(c.NixpkgsRelease)
	if err != nil {
		return fmt.Errorf("key %q: %w", "nixpkgsRelease", err)
	}
	if c.NixpkgsRelease != "" {
		if err := rel.CheckTableType(c.PartitionTableType); err != nil && c.PartitionTableType != nixpkgs.SDCard {
			return fmt.Errorf("key %q: %w", "partitionTableType", err)
		}
		if c.BaseName != nixpkgs.DefaultBaseName && !rel.BaseName {
			return fmt.Errorf("key %q: %w: make-disk-image.nix of nixpkgs %s has no baseName argument (since 25.05)", "baseName", nixpkgs.ErrBaseName, c.NixpkgsRelease)
		}
	}

	// (3) values
	if c.FSType != "ext4" {
		return fmt.Errorf("%w %q: purefs writes ext4 only", ErrFSType, c.FSType)
	}
	switch c.Format {
	case "raw", "qcow2", "qcow2-compressed", "vdi", "vpc", "raw-zstd":
	case "vhdx", "gce", "raw-gzip":
	case "vmdk", "ova":
	default:
		return fmt.Errorf("%w: got %q", ErrFormat, c.Format)
	}
	if err := c.validateSystem(); err != nil {
		return err
	}
	if strings.ContainsRune(c.Label, 0) {
		return fmt.Errorf("%w %q: contains NUL", ErrLabel, c.Label)
	}
	if label, warning := TruncateLabel(c.Label); warning != "" {
		c.Label = label
		if !slices.Contains(c.Warnings, warning) {
			c.Warnings = append(c.Warnings, warning)
		}
	}
	if c.RootGPUID == "" {
		return fmt.Errorf("%w: rootGPUID is empty", ErrGUID)
	}
	for _, g := range []struct{ k, v string }{{"rootGPUID", c.RootGPUID}, {"rootFSUID", c.RootFSUID}} {
		if g.v != "" {
			if _, err := ParseGUID(g.v); err != nil {
				return fmt.Errorf("key %q: %w", g.k, err)
			}
		}
	}
	if c.MemSize <= 0 {
		return fmt.Errorf("%w: key %q: %d MiB, want a positive number", ErrSize, "memSize", c.MemSize)
	}
	if c.DiskSize < 0 || c.DiskSize%MiB != 0 {
		return fmt.Errorf("%w: diskSize %d bytes is not a whole, positive number of MiB", ErrSize, c.DiskSize)
	}
	if c.AdditionalSpace < 0 {
		return fmt.Errorf("%w: additionalSpace %d is negative", ErrSize, c.AdditionalSpace)
	}
	if c.BootSize < 0 {
		return fmt.Errorf("%w: bootSize %d is negative", ErrSize, c.BootSize)
	}
	if c.TouchEFIVars && c.EFIVariables == "" {
		return fmt.Errorf("%w: key %q: the file copied to efi-vars.fd is required with touchEFIVars", ErrRequired, "efiVariables")
	}

	// (4) layout
	fats := c.PartitionTableType.FATPartitions()
	if start := bootStart(c.PartitionTableType); len(fats) > 0 && c.BootSizeBytes() <= start {
		return fmt.Errorf("%w: bootSize %q (%d bytes) must lie beyond the %s partition's start at %d MiB", ErrBootSize, c.BootSizeSpec, c.BootSizeBytes(), fats[len(fats)-1].Label, start/MiB)
	}
	if c.DiskSize > 0 {
		if len(fats) > 0 && c.BootSizeBytes() >= c.DiskSize {
			return fmt.Errorf("%w: bootSize %q (%d bytes) is beyond diskSize %d MiB", ErrBootSize, c.BootSizeSpec, c.BootSizeBytes(), c.DiskSize/MiB)
		}
		if r := c.ReservedSpace(); c.DiskSize <= r {
			return fmt.Errorf("%w: diskSize %d MiB leaves no room for a root partition after %d bytes of partition layout", ErrSize, c.DiskSize/MiB, r)
		}
	}

	// (5) paths
	for i, ct := range c.Contents {
		if ct.Source == "" || ct.Target == "" {
			return fmt.Errorf("%w: contents[%d] needs source and target", ErrRequired, i)
		}
		if _, err := CleanTarget(ct.Target); err != nil {
			return fmt.Errorf("contents[%d]: %w", i, err)
		}
	}
	for i, p := range c.AdditionalPaths {
		if !path.IsAbs(p) || path.Clean(p) != p || p == "/" {
			return fmt.Errorf("%w: additionalPaths[%d] %q: want an absolute, clean store path", ErrPath, i, p)
		}
	}

	if err := c.validateSDImage(); err != nil {
		return err
	}
	if strings.ContainsAny(c.BaseName, "/\x00") || c.BaseName == "" || c.BaseName == "." || c.BaseName == ".." {
		return fmt.Errorf("%w: key %q: %q is not a file name", ErrPath, "baseName", c.BaseName)
	}

	// (6) bootloader
	if b := c.Bootloader; b != nil {
		if err := b.validate(); err != nil {
			return err
		}
		if b.Type == SystemdBoot && !c.HasESP() {
			return fmt.Errorf("%w: systemd-boot needs an ESP (partitionTableType efi, efixbootldr or hybrid), not %q", ErrBootloader, c.PartitionTableType)
		}
		if b.Type == GrubBIOS && !grubLayout(c.PartitionTableType) {
			return fmt.Errorf("%w: grub-bios needs an MBR gap or a BIOS boot partition (partitionTableType legacy, legacy+gpt, legacy+boot or hybrid), not %q", ErrBootloader, c.PartitionTableType)
		}
		for i, e := range b.Entries {
			for _, p := range append([]string{e.Linux}, e.Initrd...) {
				if strings.HasPrefix(p, ESPPrefix) && !c.HasESP() {
					return fmt.Errorf("%w: key %q: %q: partitionTableType %q has no ESP (use %s/PATH for the image's /boot)",
						ErrBootloader, fmt.Sprintf("bootloader.entries[%d]", i), p, c.PartitionTableType, BootPrefix)
				}
			}
		}
		if c.InstallBootLoader {
			return fmt.Errorf("%w: bootloader and installBootLoader both install a bootloader; choose one", ErrBootloader)
		}
	}

	// (7) the VM of installBootLoader
	if c.VM != nil && c.VM.SystemManagementMode && c.Target().GOARCH != "amd64" && c.Target().GOARCH != "386" {
		return fmt.Errorf("%w: key %q: q35 with SMM is an x86 machine, not %s", ErrVM, "vm.systemManagementMode", c.System)
	}
	return c.VM.validate(c.InstallBootLoader)
}

// CleanTarget returns target as a clean path relative to the image's root
// ("" for the root itself), or an ErrPath error when it leaves the root
// through "..". An absolute target is taken from the root, as make-disk-image.nix's
// $root/$target does.
func CleanTarget(target string) (string, error) {
	if strings.ContainsRune(target, 0) {
		return "", fmt.Errorf("%w: target %q contains NUL", ErrPath, target)
	}
	rel := path.Clean(strings.TrimLeft(target, "/"))
	if rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%w: target %q escapes the image's root", ErrPath, target)
	}
	if rel == "." {
		rel = ""
	}
	return rel, nil
}

// bootStart is where the last FAT partition of t starts: efixbootldr's
// BOOT at 100 MiB, legacy+boot's at 1 MiB, the ESP of efi and hybrid at
// 8 MiB.
func bootStart(t nixpkgs.TableType) int64 {
	switch t {
	case nixpkgs.EFIXBootLdr:
		return 100 * MiB
	case nixpkgs.LegacyBoot:
		return MiB
	}
	return 8 * MiB
}

// LabelMax is the length of an ext4 label in bytes (s_volume_name).
const LabelMax = 16

// TruncateLabel returns an ext4 label cut to its first LabelMax bytes, as
// mke2fs 1.47 cuts a label too long for s_volume_name, and the warning
// mke2fs prints then ("Warning: label too long; will be truncated to
// 'LABEL'"); a label that fits comes back as it is, with no warning.
// `purefs build` and `purefs mkfs ext4` both apply it.
func TruncateLabel(label string) (string, string) {
	if len(label) <= LabelMax {
		return label, ""
	}
	label = label[:LabelMax]
	return label, "Warning: label too long; will be truncated to '" + label + "'"
}
