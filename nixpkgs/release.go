package nixpkgs

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Errors of a nixpkgsRelease and of what it allows.
var (
	// ErrRelease: a nixpkgs release purefs does not know.
	ErrRelease = errors.New("nixpkgs: unknown nixpkgs release")
	// ErrLayout: a partition table type the release's make-disk-image.nix
	// does not have.
	ErrLayout = errors.New("nixpkgs: partition table type not in that release")
	// ErrBaseName: baseName with a release whose make-disk-image.nix has no
	// such argument.
	ErrBaseName = errors.New("nixpkgs: baseName not in that release")
)

// Rules are what one version of make-disk-image.nix does before anything
// is copied: its layouts, its parted and sgdisk commands and its "auto"
// sizing. Package diskimage plays the commands through package
// internal/parted and stage applies the sizing, so that purefs writes the
// bytes that version writes.
//
// The versions, from the history of nixos/lib/make-disk-image.nix in
// NixOS/nixpkgs. Each rule is pinned to the file's text at a commit that
// has it (the commit that changed it where known):
//
//   - the February 2024 file, purefs's default: NixOS/nixpkgs commit
//     9188bb5186 ("OVMF: Add test with secure boot enabled"), master
//     between 23.11 and 24.05. Layouts legacy, legacy+gpt, efi, hybrid
//     and none; "-1" for the end of the disk; "1MB 2MB" for legacy+gpt's
//     BIOS boot partition with align-check optimal 1 and 2; bootSize
//     handed to parted as given; du counts a hard-linked file once; a disk
//     size already a whole number of MiB is kept. 23.11's partitioning
//     and sizing are the same.
//   - 24.05 and 24.11: the layout efixbootldr is added by NixOS/nixpkgs
//     pull request 285401 ("nixos/systemd-boot: Add support for an
//     XBOOTLDR partition", merged March 2024), the rules otherwise
//     unchanged: the file at NixOS/nixpkgs commit
//     025640dcb7270faa6fe80089fda831b89f3824a9, and still after the
//     tree-wide nixfmt formatting of December 2024 (infinixbot/nixpkgs
//     commit 2620bf231addfb8a210afb78bb3bb5128f4d262f).
//   - 25.05 and later: baseName and the layout legacy+boot; "100%" for
//     the end of the disk, "1MiB 2MiB" for the BIOS boot partition,
//     align-check of the partitions that follow, print; bootSize becomes
//     round_to_nearest(numfmt --from=iec bootSize, 1 MiB), that is
//     (x / MiB + 1) * MiB ("256M" is 257MiB), and is handed to parted in
//     MiB; the file system size is rounded the same way to a 4096-byte
//     block and the disk size to a MiB (both grow by a whole unit when
//     already aligned); du counts every link of a hard-linked file
//     (--count-links, NixOS/nixpkgs pull request 330055, "Count hard
//     links separately when sizing virtual disks"). The file as a
//     nixpkgs fork of early 2025 holds it (loongson-community/nixpkgs
//     commit 2eb0578457838ef764d6f9956a3629b094b33d5f, before limine's
//     support was added) and as 25.11 holds it (faukah/nixpkgs commit
//     3b20077cd82fd1f099e92e2792d73e3176d4869d).
type Rules struct {
	// Release is the nixpkgs release ("24.05"), "" for the February 2024
	// file.
	Release string
	// TableTypes are the layouts the file accepts.
	TableTypes []TableType
	// RoundBootSize: bootSize is rounded up to a MiB with round_to_nearest
	// and handed to parted as "<n>MiB".
	RoundBootSize bool
	// RoundSizes: "auto" rounds the file system size to a 4096-byte block
	// and the disk size to a MiB with round_to_nearest, which adds a whole
	// unit to a size already aligned. Without it, a disk size that is not
	// a whole number of MiB is rounded up, and nothing else.
	RoundSizes bool
	// CountLinks: du --count-links, every name of a hard-linked file
	// counts.
	CountLinks bool
	// BaseName: the file takes a baseName argument (default "nixos").
	BaseName bool

	new bool // 25.05 and later: which commands
}

// The versions of make-disk-image.nix purefs reproduces.
var (
	rules2024 = Rules{
		TableTypes: []TableType{Legacy, LegacyGPT, EFI, Hybrid, None},
	}
	rules2405 = Rules{
		TableTypes: []TableType{Legacy, LegacyGPT, EFI, EFIXBootLdr, Hybrid, None},
	}
	rules2505 = Rules{
		TableTypes:    []TableType{Legacy, LegacyBoot, LegacyGPT, EFI, EFIXBootLdr, Hybrid, None},
		RoundBootSize: true,
		RoundSizes:    true,
		CountLinks:    true,
		BaseName:      true,
		new:           true,
	}
)

// Releases lists the nixpkgs releases nixpkgsRelease accepts, oldest
// first. Each names a version of make-disk-image.nix (see Rules); the
// unstable release after the last stable one is included, as nixpkgs's
// lib.trivial.release names it.
var Releases = []string{"23.11", "24.05", "24.11", "25.05", "25.11", "26.05", "26.11", "27.05"}

// Latest is the newest release's Rules.
func Latest() Rules { return ForRelease(Releases[len(Releases)-1]) }

// ForRelease returns the Rules of a release that LookupRelease accepts;
// it panics on another (a bug of the caller).
func ForRelease(name string) Rules {
	r, err := LookupRelease(name)
	if err != nil {
		panic(err)
	}
	return r
}

// LookupRelease returns the Rules of the nixpkgs release name, as
// lib.trivial.release spells it ("24.05"), or of the February 2024 file
// for "". A release purefs does not know is an ErrRelease error.
func LookupRelease(name string) (Rules, error) {
	var r Rules
	switch {
	case name == "":
		return rules2024, nil
	case !slices.Contains(Releases, name):
		return Rules{}, fmt.Errorf("%w %q: want one of %s", ErrRelease, name, strings.Join(Releases, ", "))
	case name == "23.11":
		r = rules2024
	case name < "25.05":
		r = rules2405
	default:
		r = rules2505
	}
	r.Release = name
	return r, nil
}

func (r Rules) name() string {
	if r.Release == "" {
		return "make-disk-image.nix as of February 2024"
	}
	return "make-disk-image.nix of nixpkgs " + r.Release
}

// Has reports whether r's make-disk-image.nix has the layout t.
func (r Rules) Has(t TableType) bool { return slices.Contains(r.TableTypes, t) }

// CheckTableType returns an ErrLayout error when r's file lacks t.
func (r Rules) CheckTableType(t TableType) error {
	if !r.Has(t) {
		return fmt.Errorf("%w: %s has no partitionTableType %q (it has %s)", ErrLayout, r.name(), t, joinTypes(r.TableTypes))
	}
	return nil
}

func joinTypes(ts []TableType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// For returns the rules purefs applies to the layout t when no release was
// asked for: r when its file has t, else the newest release's (the
// layouts added since February 2024 follow today's make-disk-image.nix).
// With a release asked for, it is r (CheckTableType tells whether t is
// allowed).
func (r Rules) For(t TableType) Rules {
	if r.Release == "" && !r.Has(t) {
		return Latest()
	}
	return r
}

// BootSizeBytes is what the file's sizing takes bootSize for, given
// numfmt --from=iec's reading of it (bytes): the same, or with
// RoundBootSize round_to_nearest(bytes, MiB).
func (r Rules) BootSizeBytes(iec int64) int64 {
	if r.RoundBootSize {
		return RoundToNearest(iec, MiB)
	}
	return iec
}

// PartedBootSize is the bootSize location handed to parted: spec as
// given, or with RoundBootSize the rounded size in MiB ("257MiB").
func (r Rules) PartedBootSize(spec string, iec int64) string {
	if r.RoundBootSize {
		return strconv.FormatInt(RoundToNearest(iec, MiB)/MiB, 10) + "MiB"
	}
	return spec
}

// RoundToNearest is make-disk-image.nix's round_to_nearest: (x / unit + 1)
// * unit, which rounds up and adds a whole unit to an x already aligned.
func RoundToNearest(x, unit int64) int64 { return (x/unit + 1) * unit }

// Parted returns the arguments make-disk-image.nix passes to `parted
// --script $diskImage --` for the layout t (nil for none), bootSize being
// PartedBootSize's location.
func (r Rules) Parted(t TableType, bootSize string) []string {
	end, bb1, bb2 := "-1", "1MB", "2MB"
	if r.new {
		end, bb1, bb2 = "100%", "1MiB", "2MiB"
	}
	c := func(s string) []string { return strings.Fields(s) }
	var a []string
	switch t {
	case Legacy:
		a = c("mklabel msdos mkpart primary ext4 1MiB " + end)
		if r.new {
			a = append(a, "print")
		}
	case LegacyBoot:
		a = c("mklabel msdos mkpart primary fat32 1MiB " + bootSize + " set 1 boot on mkpart primary ext4 " + bootSize + " " + end + " print")
	case LegacyGPT:
		a = c("mklabel gpt mkpart no-fs " + bb1 + " " + bb2 + " set 1 bios_grub on")
		if !r.new {
			a = append(a, c("align-check optimal 1")...)
		}
		a = append(a, c("mkpart primary ext4 "+bb2+" "+end+" align-check optimal 2 print")...)
	case EFI:
		if r.new {
			a = c("mklabel gpt mkpart ESP fat32 8MiB " + bootSize + " set 1 boot on align-check optimal 1 mkpart primary ext4 " + bootSize + " " + end + " align-check optimal 2 print")
		} else {
			a = c("mklabel gpt mkpart ESP fat32 8MiB " + bootSize + " set 1 boot on mkpart primary ext4 " + bootSize + " " + end)
		}
	case EFIXBootLdr:
		if r.new {
			a = c("mklabel gpt mkpart ESP fat32 8MiB 100MiB set 1 boot on align-check optimal 1 mkpart BOOT fat32 100MiB " + bootSize + " set 2 bls_boot on align-check optimal 2 mkpart ROOT ext4 " + bootSize + " " + end + " align-check optimal 3 print")
		} else {
			a = c("mklabel gpt mkpart ESP fat32 8MiB 100MiB set 1 boot on mkpart BOOT fat32 100MiB " + bootSize + " set 2 bls_boot on mkpart ROOT ext4 " + bootSize + " " + end)
		}
	case Hybrid:
		if r.new {
			a = c("mklabel gpt mkpart ESP fat32 8MiB " + bootSize + " set 1 boot on align-check optimal 1 mkpart no-fs 0 1024KiB set 2 bios_grub on mkpart primary ext4 " + bootSize + " " + end + " align-check optimal 3 print")
		} else {
			a = c("mklabel gpt mkpart ESP fat32 8MiB " + bootSize + " set 1 boot on mkpart no-fs 0 1024KiB set 2 bios_grub on mkpart primary ext4 " + bootSize + " " + end)
		}
	}
	return a
}

// Sgdisk returns the arguments of make-disk-image.nix's sgdisk call (in a
// deterministic build) for the layout t before the image's path, or nil
// where it makes none. Its disk GUID is malformed (DiskGUID), and for
// legacy+gpt it names a partition 3 that does not exist.
func (r Rules) Sgdisk(t TableType, rootGPUID string) []string {
	g := []string{"--disk-guid=" + DiskGUID, "--partition-guid=1:" + ESPGUID}
	switch t {
	case EFI:
		return append(g, "--partition-guid=2:"+rootGPUID)
	case LegacyGPT, EFIXBootLdr, Hybrid:
		return append(g, "--partition-guid=2:"+Partition2GUID, "--partition-guid=3:"+rootGPUID)
	}
	return nil
}
