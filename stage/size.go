package stage

import (
	"errors"
	"fmt"
	"strings"

	"github.com/purefs/purefs/config"
	"github.com/purefs/purefs/nixpkgs"
	"github.com/purefs/purefs/tree"
)

// ErrTooSmall is wrapped by the error of a fixed disk size that cannot hold
// the staged tree; ErrTooLarge by sizes beyond 2^62 bytes.
var (
	ErrTooSmall = errors.New("stage: disk size too small")
	ErrTooLarge = errors.New("stage: disk size too large")
)

// BlockSize is make-disk-image.nix's ext4 block size, the unit of its sizing.
const BlockSize = 4096

// Usage is what make-disk-image.nix's "auto" sizing measures in its staging folder.
type Usage struct {
	// Blocks is `find . ! -type d -print0 | du --files0-from=-
	// --apparent-size --block-size 4096 | cut -f1 | sum_lines`: the apparent
	// size of every non-directory in 4 KiB blocks, rounded up per file,
	// hard-linked files counted once.
	Blocks int64
	// LinkBlocks is Blocks with du --count-links: every name of a
	// hard-linked file counts (make-disk-image.nix since nixpkgs 25.05;
	// NixOS/nixpkgs pull request 330055, "Count hard links separately when
	// sizing virtual disks").
	LinkBlocks int64
	// Entries is `find . | wc -l`: every name including directories and
	// the root, a hard-linked file once per name (and a name holding
	// newlines once more per newline, as wc counts lines).
	Entries int64
	// Nodes is the number of distinct inodes of the tree to write; the
	// inode count recommended by AutoSize is derived from it.
	Nodes int64
}

// Measure returns the Usage of a tree, as make-disk-image.nix's pipeline would report
// it for that tree in its staging folder.
func Measure(root *tree.Node) Usage {
	var u Usage
	blocks := map[*tree.Node]int64{}
	_ = tree.Walk(root, func(p string, n *tree.Node) error {
		u.Entries += 1 + int64(strings.Count(p, "\n"))
		if b, seen := blocks[n]; seen {
			u.LinkBlocks += b
			return nil
		}
		u.Nodes++
		var size int64
		switch n.Type {
		case tree.Dir:
			blocks[n] = 0
			return nil
		case tree.Regular:
			size = n.Size
			if n.Data != nil {
				size = int64(len(n.Data))
			}
		case tree.Symlink:
			size = int64(len(n.Target))
		}
		b := (size + BlockSize - 1) / BlockSize
		blocks[n] = b
		u.Blocks += b
		u.LinkBlocks += b
		return nil
	})
	return u
}

// SizeParams are the config values make-disk-image.nix's sizing reads.
type SizeParams struct {
	PartitionTableType nixpkgs.TableType
	BootSize           int64 // bytes, as the rules take bootSize (nixpkgs.Rules.BootSizeBytes)
	AdditionalSpace    int64 // bytes, "auto" only
	// Rules are the make-disk-image.nix version whose formula applies
	// (the zero value: the February 2024 file's).
	Rules nixpkgs.Rules
}

// ParamsFromConfig returns the SizeParams of cfg.
func ParamsFromConfig(cfg *config.Config) SizeParams {
	return SizeParams{PartitionTableType: cfg.PartitionTableType, BootSize: cfg.BootSizeBytes(),
		AdditionalSpace: cfg.AdditionalSpace, Rules: cfg.Rules()}
}

// Size is the outcome of make-disk-image.nix's sizing, field names after its shell
// variables, all in bytes, plus purefs's inode count.
type Size struct {
	Auto                    bool  // computed by AutoSize ("auto"); Report applies
	DiskUsage               int64 // (Blocks + 2*Entries) * 4096: "Closure space use"
	Fudge                   int64 // DiskUsage * 52 / 1000, the reserved blocks
	RequiredFilesystemSpace int64 // DiskUsage + Fudge
	ReservedSpace           int64 // the partition layout's share
	AdditionalSpace         int64 // additionalSpace + ReservedSpace (auto), or 0
	DiskSize                int64 // the disk image's size
	// FilesystemSpace is about what the root file system gets:
	// DiskSize - ReservedSpace.
	FilesystemSpace int64
	// Inodes is the inode count to give the root file system: one per
	// 16 KiB of FilesystemSpace (the image builder raises it further to
	// mke2fs's default for the root partition's size class), raised to the tree's
	// inodes plus half again plus 1024 when that is more, so a full closure
	// still leaves room (make-disk-image.nix passes no count and its images can run
	// out of inodes). It never exceeds FilesystemSpace/4096. Writers round
	// it up to whole block groups.
	Inodes int64
}

const limit = int64(1) << 62

// AutoSize computes diskSize "auto" exactly as make-disk-image.nix does.
func AutoSize(u Usage, p SizeParams) (Size, error) {
	s, err := required(u, p)
	if err != nil {
		return Size{}, err
	}
	if p.AdditionalSpace < 0 || p.AdditionalSpace > limit {
		return Size{}, fmt.Errorf("%w: additionalSpace %d", ErrTooLarge, p.AdditionalSpace)
	}
	s.AdditionalSpace = p.AdditionalSpace + s.ReservedSpace
	disk := s.RequiredFilesystemSpace + s.AdditionalSpace
	switch {
	case p.Rules.RoundSizes:
		disk = nixpkgs.RoundToNearest(disk, config.MiB) // a whole MiB more when aligned
	case disk%config.MiB != 0:
		disk = (disk/config.MiB + 1) * config.MiB
	}
	if disk > limit {
		return Size{}, fmt.Errorf("%w: %d bytes", ErrTooLarge, disk)
	}
	s.DiskSize = disk
	s.Auto = true
	s.finish(u)
	return s, nil
}

// SizeFor sizes the disk for cfg: AutoSize when its diskSize is "auto",
// FixedSize otherwise.
func SizeFor(cfg *config.Config, u Usage) (Size, error) {
	if cfg.AutoSize() {
		return AutoSize(u, ParamsFromConfig(cfg))
	}
	return FixedSize(cfg.DiskSize, u, ParamsFromConfig(cfg))
}

// FixedSize returns the figures of a fixed diskSize (bytes). A disk that
// cannot hold the partition layout's reserved space is an ErrTooSmall
// error; whether the tree fits the root file system is the file-system
// writer's to say (make-disk-image.nix's estimate is neither an upper nor a lower
// bound of what ext4 needs).
func FixedSize(diskSize int64, u Usage, p SizeParams) (Size, error) {
	s, err := required(u, p)
	if err != nil {
		return Size{}, err
	}
	if diskSize <= s.ReservedSpace {
		return Size{}, fmt.Errorf("%w: diskSize is %d MiB, but the %s layout reserves %d bytes outside the root file system; raise diskSize or use \"auto\"",
			ErrTooSmall, diskSize/config.MiB, p.PartitionTableType, s.ReservedSpace)
	}
	s.DiskSize = diskSize
	s.finish(u)
	return s, nil
}

func required(u Usage, p SizeParams) (Size, error) {
	if u.Blocks < 0 || u.Entries < 0 || u.Blocks > limit/BlockSize/2 || u.Entries > limit/BlockSize/4 {
		return Size{}, fmt.Errorf("%w: %d blocks and %d entries", ErrTooLarge, u.Blocks, u.Entries)
	}
	if p.BootSize < 0 || p.BootSize > limit {
		return Size{}, fmt.Errorf("%w: bootSize %d", ErrTooLarge, p.BootSize)
	}
	var s Size
	s.ReservedSpace = nixpkgs.ReservedSpace(p.PartitionTableType, p.BootSize)
	blocks := u.Blocks
	if p.Rules.CountLinks {
		blocks = u.LinkBlocks
	}
	if blocks > limit/BlockSize/2 {
		return Size{}, fmt.Errorf("%w: %d blocks", ErrTooLarge, blocks)
	}
	s.DiskUsage = (blocks + 2*u.Entries) * BlockSize
	s.Fudge = s.DiskUsage * 52 / 1000
	s.RequiredFilesystemSpace = s.DiskUsage + s.Fudge
	if p.Rules.RoundSizes {
		s.RequiredFilesystemSpace = nixpkgs.RoundToNearest(s.RequiredFilesystemSpace, BlockSize)
	}
	return s, nil
}

func (s *Size) finish(u Usage) {
	s.FilesystemSpace = max(s.DiskSize-s.ReservedSpace, 0)
	s.Inodes = RecommendedInodes(u.Nodes, s.FilesystemSpace)
}

// RecommendedInodes is Size.Inodes for a tree of nodes inodes and a file
// system of fsBytes.
func RecommendedInodes(nodes, fsBytes int64) int64 {
	n := fsBytes / 16384
	const firstIno = 11 // inodes 1..10 are reserved, lost+found is 11
	if want := nodes + firstIno + (nodes+firstIno)/2 + 1024; want > n {
		n = want
	}
	return min(n, max(fsBytes/BlockSize, firstIno+nodes))
}

// Report is make-disk-image.nix's "Automatic disk size..." text, byte for byte.
func (s Size) Report() string {
	return fmt.Sprintf("Automatic disk size...\n"+
		"  Closure space use: %d bytes\n"+
		"  fudge: %d bytes\n"+
		"  Filesystem size needed: %d bytes\n"+
		"  Additional space: %d bytes\n"+
		"  Disk image size: %d bytes\n",
		s.DiskUsage, s.Fudge, s.RequiredFilesystemSpace, s.AdditionalSpace, s.DiskSize)
}
