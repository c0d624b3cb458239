package config

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/purefs/purefs/nixpkgs"
)

// Errors. Every error that Parse, Load and Validate return wraps exactly one
// of these.
var (
	ErrSyntax       = errors.New("config: invalid JSON")
	ErrUnknownKey   = errors.New("config: unknown key")
	ErrDuplicateKey = errors.New("config: duplicate key")
	ErrType         = errors.New("config: wrong type")
	ErrRequired     = errors.New("config: missing value")
	ErrSize         = errors.New("config: invalid size")
	ErrGUID         = errors.New("config: invalid GUID")
	ErrMode         = errors.New("config: invalid mode")
	ErrPath         = errors.New("config: invalid path")
	ErrLabel        = errors.New("config: invalid label")
	ErrEpoch        = errors.New("config: invalid SOURCE_DATE_EPOCH")

	// make-disk-image.nix's assertions, in its order.
	ErrPartitionTableType = errors.New("config: partitionTableType must be one of legacy, legacy+boot, legacy+gpt, efi, efixbootldr, hybrid, none, sd-card")
	ErrRootFSUID          = errors.New("config: in deterministic mode with an ext4 file system, rootFSUID must be non-null")
	ErrTableFSType        = errors.New("config: a partition table needs fsType ext4")
	ErrEFIVars            = errors.New("config: EFI variables can be used only with a partition table of type hybrid, efi, efixbootldr or legacy+gpt")
	ErrOnlyNixStore       = errors.New("config: an only-Nix-store image takes no contents, no configFile and no bootloader")
	ErrUserGroup          = errors.New("config: contents must set both user and group or neither")

	// purefs's own checks.
	ErrFSType     = errors.New("config: unsupported fsType")
	ErrFormat     = errors.New("config: format must be one of raw, qcow2, qcow2-compressed, vdi, vpc, vhdx, gce, raw-gzip, raw-zstd, vmdk, ova")
	ErrBootSize   = errors.New("config: bootSize does not fit the layout")
	ErrBootloader = errors.New("config: invalid bootloader")

	// nixpkgsRelease: an unknown release (nixpkgs.ErrRelease), a layout or
	// an argument that release's make-disk-image.nix does not have
	// (nixpkgs.ErrLayout, nixpkgs.ErrBaseName).
)

// MiB is a mebibyte.
const MiB = nixpkgs.MiB

// Config is a parsed, defaulted and validated `purefs build` configuration.
// Sizes are in bytes; the *Spec fields keep the text given (parted reads
// bootSize with its own units, so the partition planner may want it).
type Config struct {
	Root string

	// DiskSize is the fixed disk size in bytes (a whole number of MiB), or
	// 0 for "auto".
	DiskSize int64

	AdditionalSpace     int64
	AdditionalSpaceSpec string
	BootSize            int64
	BootSizeSpec        string

	Contents []Content

	PartitionTableType nixpkgs.TableType
	InstallBootLoader  bool
	TouchEFIVars       bool
	EFIVariables       string
	FSType             string
	Label              string
	ConfigFile         string // "" when null
	PostVM             string
	MemSize            int64 // MiB
	OnlyNixStore       bool
	Name               string
	Format             string
	Deterministic      bool
	RootGPUID          string // upper case, as given in make-disk-image.nix
	RootFSUID          string // "" when null
	CopyChannel        bool
	AdditionalPaths    []string
	NixpkgsCompat      bool
	// NixpkgsRelease is the nixpkgs release whose make-disk-image.nix the
	// partition layout and "auto" sizing follow ("24.05"; see
	// nixpkgs.Rules), or "" for the February 2024 file.
	NixpkgsRelease string
	// Warnings are notes for the user about values Validate changed
	// (a label truncated as mke2fs truncates it).
	Warnings []string
	// KeepOwners keeps the owners of root's files instead of making
	// everything root's, as make-disk-image.nix's images are (for trees that are not
	// NixOS systems, whose /etc/shadow and the like have other owners).
	KeepOwners bool
	// NoZeroScan writes the root file system with ext4.Options.NoZeroScan:
	// larger files' data ranges go through copy_file_range unread, so that
	// on XFS or btrfs, with the output on the same file system as the
	// sources, their blocks are shared instead of copied (and a qcow2's
	// data clusters too). All-zero blocks inside data ranges are then
	// stored, and the layout differs from the default one.
	NoZeroScan bool
	// System is the target's Nix system name (x86_64-linux,
	// aarch64-linux, riscv64-linux; default the host's): it picks the
	// removable-media path of the native systemd-boot install and the
	// machine of the installBootLoader step. See Target.
	System string
	// BaseName is the output image's name without extension (today's
	// make-disk-image.nix's baseName, default "nixos"; sd-image.nix's
	// image.baseName).
	BaseName string
	// SDImage holds sd-image.nix's options with partitionTableType
	// "sd-card"; nil otherwise.
	SDImage *SDImage
	// VMware and VirtualBox hold vmware-image.nix's and
	// virtualbox-image.nix's options for formats "vmdk" and "ova"; nil
	// otherwise (vmimage.go).
	VMware     *VMware
	VirtualBox *VirtualBox
	// HyperV holds hyperv-image.nix's vmFileName for format "vhdx";
	// CompressionLevel the level of formats gce, raw-gzip and raw-zstd (0:
	// the tool's default) (archive.go).
	HyperV           *HyperV
	CompressionLevel int

	Bootloader *Bootloader // nil: none
	VM         *VM         // the installBootLoader step's machine; nil: none
}

// Content is one entry of make-disk-image.nix's contents list.
type Content struct {
	// Source is a host path; when it contains '*' it is a glob pattern
	// whose matches are each copied into Target.
	Source string
	// Target is the path in the image (absolute or relative to its root).
	Target string
	// Mode is an rsync --chmod value applied to everything copied; nil
	// keeps the sources' modes.
	Mode *Chmod
	// User and Group are names or numeric ids set recursively on Target;
	// both empty or both set.
	User, Group string
}

// AutoSize reports whether the disk size is computed ("auto").
func (c *Config) AutoSize() bool { return c.DiskSize == 0 }

// ContainerFormat is the qemu-img output format: "qcow2" for
// "qcow2-compressed", else Format.
func (c *Config) ContainerFormat() string {
	if c.Format == "qcow2-compressed" {
		return "qcow2"
	}
	return c.Format
}

// Filename is the image's name in the output directory, as make-disk-image.nix names
// it: ${baseName}.img, .qcow2, .vdi, .vhd, .vhdx (baseName "nixos" by
// default); the archive formats as nixpkgs' image modules name them.
func (c *Config) Filename() string {
	base := c.BaseName
	if base == "" {
		base = nixpkgs.DefaultBaseName
	}
	if c.SDImage != nil {
		return c.SDImage.filename(base, c.Format)
	}
	switch f := c.ContainerFormat(); f {
	case "raw":
		return base + ".img"
	case "vpc":
		return base + ".vhd"
	case "gce": // google-compute-image.nix's image.extension
		return base + ".raw.tar.gz"
	case "raw-gzip": // linode-image.nix, digital-ocean-image.nix (gzip)
		return base + ".img.gz"
	case "raw-zstd": // sd-image.nix's compressImage
		return base + ".img.zst"
	case "vmdk", "ova": // vmware-image.nix's, virtualbox-image.nix's vmFileName
		return c.vmImageFilename(base, f)
	case "vhdx": // hyperv-image.nix's vmFileName
		if c.HyperV != nil && c.HyperV.VMFileName != "" {
			return c.HyperV.VMFileName
		}
		return base + ".vhdx"
	default:
		return base + "." + f
	}
}

// Rules are the make-disk-image.nix rules the layout and "auto" sizing
// follow: NixpkgsRelease's for the partition table type (nixpkgs.Rules.For).
// Validate has checked NixpkgsRelease.
func (c *Config) Rules() nixpkgs.Rules {
	r, err := nixpkgs.LookupRelease(c.NixpkgsRelease)
	if err != nil {
		r, _ = nixpkgs.LookupRelease("")
	}
	return r.For(c.PartitionTableType)
}

// BootSizeBytes is bootSize as the rules' sizing takes it: numfmt's
// reading, rounded up to a whole MiB plus one by releases since 25.05.
func (c *Config) BootSizeBytes() int64 { return c.Rules().BootSizeBytes(c.BootSize) }

// HydraFormat is the format word of the hydra-build-products line
// ("file FORMAT-image PATH"): make-disk-image.nix's format after qcow2-compressed
// became qcow2.
// sd-image.nix's line is "file sd-image PATH": "sd".
func (c *Config) HydraFormat() string {
	if c.SDImage != nil {
		return "sd"
	}
	return c.ContainerFormat()
}

// HasESP reports whether the layout has an EFI system partition.
func (c *Config) HasESP() bool { return c.PartitionTableType.HasESP() }

// ReservedSpace is the disk space outside the root file system that "auto"
// sizing adds for the partition layout (nixpkgs.ReservedSpace).
func (c *Config) ReservedSpace() int64 {
	return nixpkgs.ReservedSpace(c.PartitionTableType, c.BootSizeBytes())
}

// Epoch returns the time stamp of a deterministic build: sourceDateEpoch
// (the value of $SOURCE_DATE_EPOCH, a non-negative integer) if not empty,
// else 1. fixed is false when Deterministic is off; the returned seconds are
// still what new entries (created directories, configuration.nix) get.
func (c *Config) Epoch(sourceDateEpoch string) (sec int64, fixed bool, err error) {
	sec = 1
	if sourceDateEpoch != "" {
		v, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
		if err != nil || v < 0 {
			return 0, false, fmt.Errorf("%w %q: want a non-negative integer", ErrEpoch, sourceDateEpoch)
		}
		sec = v
	}
	return sec, c.Deterministic, nil
}

// Default returns the configuration of an empty JSON object: every default
// of make-disk-image.nix (installBootLoader false) and an empty root.
func Default() *Config {
	c, err := Parse([]byte(`{}`))
	if err != nil {
		panic("config: defaults do not validate: " + err.Error()) // a bug in this package
	}
	return c
}
