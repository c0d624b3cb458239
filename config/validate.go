package config

import (
	"fmt"
	"path"
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
	if c.TouchEFIVars && c.PartitionTableType != nixpkgs.Hybrid && c.PartitionTableType != nixpkgs.EFI && c.PartitionTableType != nixpkgs.LegacyGPT {
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

	// (2) values
	if c.FSType != "ext4" {
		return fmt.Errorf("%w %q: purefs writes ext4 only", ErrFSType, c.FSType)
	}
	switch c.Format {
	case "raw", "qcow2", "qcow2-compressed", "vdi", "vpc", "raw-zstd":
	case "vhdx", "gce", "raw-gzip":
	default:
		return fmt.Errorf("%w: got %q", ErrFormat, c.Format)
	}
	if err := c.validateSystem(); err != nil {
		return err
	}
	if len(c.Label) > 16 {
		return fmt.Errorf("%w %q: %d bytes, an ext4 label holds at most 16", ErrLabel, c.Label, len(c.Label))
	}
	if strings.ContainsRune(c.Label, 0) {
		return fmt.Errorf("%w %q: contains NUL", ErrLabel, c.Label)
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

	// (3) layout
	if c.HasESP() && c.BootSize <= 8*MiB {
		return fmt.Errorf("%w: bootSize %q (%d bytes) must lie beyond the ESP's start at 8 MiB", ErrBootSize, c.BootSizeSpec, c.BootSize)
	}
	if c.DiskSize > 0 {
		if c.HasESP() && c.BootSize >= c.DiskSize {
			return fmt.Errorf("%w: bootSize %q (%d bytes) is beyond diskSize %d MiB", ErrBootSize, c.BootSizeSpec, c.BootSize, c.DiskSize/MiB)
		}
		if r := c.ReservedSpace(); c.DiskSize <= r {
			return fmt.Errorf("%w: diskSize %d MiB leaves no room for a root partition after %d bytes of partition layout", ErrSize, c.DiskSize/MiB, r)
		}
	}

	// (4) paths
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

	// (5) bootloader
	if b := c.Bootloader; b != nil {
		if err := b.validate(); err != nil {
			return err
		}
		if !c.HasESP() {
			return fmt.Errorf("%w: systemd-boot needs an ESP (partitionTableType efi or hybrid), not %q", ErrBootloader, c.PartitionTableType)
		}
		if c.InstallBootLoader {
			return fmt.Errorf("%w: bootloader and installBootLoader both install a bootloader; choose one", ErrBootloader)
		}
	}

	// (6) the VM of installBootLoader
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
