package ext4

import (
	"fmt"
	"math"
)

// Layout is the geometry of a file system of a given size, computed as
// mke2fs 1.47 does for `mke2fs -t ext4 -b 4096`.
type Layout struct {
	Blocks              uint64 // s_blocks_count
	ReservedBlocks      uint64 // s_r_blocks_count (5 %)
	Groups              uint32
	InodesPerGroup      uint32
	Inodes              uint32 // s_inodes_count
	InodeBlocksPerGroup uint32
	DescBlocks          uint32 // group descriptor blocks
	ReservedGDTBlocks   uint32
	JournalBlocks       uint32
	SizeType            string // mke2fs.conf usage type: floppy, small, default, big, huge
	InodeRatio          int64
	// Overhead is s_overhead_clusters: superblocks, descriptors, reserved
	// GDT blocks, bitmaps, inode tables and the journal.
	Overhead uint64

	// Per group: where its block bitmap, inode bitmap and inode table are
	// (flex_bg puts them in the first group of each flex group).
	BlockBitmap, InodeBitmap, InodeTable []uint64
}

// MinSize is the smallest file system Geometry accepts (mke2fs refuses a
// journal below 2048 blocks).
const MinSize = 2048 * BlockSize

// Geometry returns the layout of a file system of floor(size/4096) blocks.
// opts.Inodes, when not zero, replaces mke2fs's inode-ratio rule.
func Geometry(size int64, opts Options) (*Layout, error) {
	if size < MinSize {
		return nil, fmt.Errorf("%w: %d bytes is below the minimum of %d", ErrNoSpace, size, int64(MinSize))
	}
	blocks := uint64(size / BlockSize)
	if blocks > 1<<32 {
		return nil, fmt.Errorf("%w: %d bytes is above 16 TiB", ErrSize, size)
	}
	l := &Layout{Blocks: blocks}
	l.SizeType, l.InodeRatio = sizeType(blocks)
	inodes := opts.Inodes
	if inodes == 0 {
		inodes = blocks * BlockSize / uint64(l.InodeRatio)
	}
	if inodes > math.MaxUint32 {
		return nil, fmt.Errorf("%w: %d inodes requested, at most %d", ErrTooManyInodes, inodes, uint64(math.MaxUint32))
	}
	if inodes*InodeSize >= blocks*BlockSize {
		return nil, fmt.Errorf("%w: %d inodes do not fit in %d blocks", ErrTooManyInodes, inodes, blocks)
	}
	l.ReservedBlocks = blocks * 5 / 100
	if err := l.groups(uint32(inodes)); err != nil {
		return nil, err
	}
	j := journalBlocks(l.Blocks)
	l.JournalBlocks = j
	if err := l.placeTables(); err != nil {
		return nil, err
	}
	return l, nil
}

// sizeType returns mke2fs's usage type and inode ratio for a size.
func sizeType(blocks uint64) (string, int64) {
	const meg = (1 << 20) / BlockSize
	switch {
	case blocks < 3*meg:
		return "floppy", 8192
	case blocks < 512*meg:
		return "small", 4096
	case blocks < 4*1024*1024*meg:
		return "default", 16384
	case blocks < 16*1024*1024*meg:
		return "big", 32768
	}
	return "huge", 65536
}

// journalBlocks is ext2fs_default_journal_size.
func journalBlocks(blocks uint64) uint32 {
	switch {
	case blocks < 32768:
		return 1024
	case blocks < 256*1024:
		return 4096
	case blocks < 512*1024:
		return 8192
	case blocks < 4096*1024:
		return 16384
	case blocks < 8192*1024:
		return 32768
	case blocks < 16384*1024:
		return 65536
	case blocks < 32768*1024:
		return 131072
	}
	return 262144
}

// groups computes group count, inodes per group and reserved GDT blocks,
// dropping a last group too small for its metadata (ext2fs_initialize).
func (l *Layout) groups(inodes uint32) error {
	for {
		l.Groups = uint32(ceilDiv(l.Blocks, BlocksPerGroup))
		l.DescBlocks = uint32(ceilDiv(uint64(l.Groups), BlockSize/DescSize))
		ipg := uint32(ceilDiv(uint64(inodes), uint64(l.Groups)))
		if ipg > BlockSize*8 {
			return fmt.Errorf("%w: %d inodes need %d per group, at most %d", ErrTooManyInodes, inodes, ipg, BlockSize*8)
		}
		for {
			ibpg := ceilDiv(uint64(ipg)*InodeSize, BlockSize)
			l.InodesPerGroup = uint32(ibpg * BlockSize / InodeSize)
			if l.InodesPerGroup < 8 {
				l.InodesPerGroup = 8
			}
			l.InodesPerGroup &^= 7
			l.InodeBlocksPerGroup = uint32(ceilDiv(uint64(l.InodesPerGroup)*InodeSize, BlockSize))
			if uint64(l.InodesPerGroup)*uint64(l.Groups) > math.MaxUint32 {
				ipg--
				continue
			}
			l.Inodes = l.InodesPerGroup * l.Groups
			if l.Inodes < FirstIno+1 {
				ipg += 8
				continue
			}
			break
		}
		l.ReservedGDTBlocks = l.reservedGDT()
		if l.ReservedGDTBlocks+l.DescBlocks > BlocksPerGroup*3/4 {
			return fmt.Errorf("%w: %d blocks need meta_bg, which purefs does not write", ErrSize, l.Blocks)
		}
		if 3+l.InodeBlocksPerGroup+l.ReservedGDTBlocks+l.DescBlocks > BlocksPerGroup {
			return fmt.Errorf("%w: %d inodes per group do not fit in a group", ErrTooManyInodes, l.InodesPerGroup)
		}
		overhead := uint64(2 + l.InodeBlocksPerGroup)
		if hasSuper(l.Groups - 1) {
			overhead += uint64(1 + l.DescBlocks + l.ReservedGDTBlocks)
		}
		rem := l.Blocks % BlocksPerGroup
		if l.Groups == 1 && rem != 0 && rem < overhead {
			return fmt.Errorf("%w: %d blocks cannot hold the metadata", ErrNoSpace, l.Blocks)
		}
		if rem != 0 && rem < overhead+50 {
			l.Blocks -= rem
			l.ReservedBlocks = l.Blocks * 5 / 100
			continue
		}
		return nil
	}
}

// reservedGDT is calc_reserved_gdt_blocks: room to grow 1024 times, or to
// 2^32 blocks, capped at one indirect block's worth.
func (l *Layout) reservedGDT() uint32 {
	maxBlocks := uint64(0xFFFFFFFF)
	if l.Blocks < maxBlocks/1024 {
		maxBlocks = l.Blocks * 1024
	}
	rsvGroups := ceilDiv(maxBlocks, BlocksPerGroup)
	rsv := ceilDiv(rsvGroups, BlockSize/DescSize) - uint64(l.DescBlocks)
	if rsv > BlockSize/4 {
		rsv = BlockSize / 4
	}
	return uint32(rsv)
}

// hasSuper reports whether group g holds a superblock backup (sparse_super:
// groups 0, 1 and powers of 3, 5 and 7).
func hasSuper(g uint32) bool {
	if g <= 1 {
		return true
	}
	if g&1 == 0 {
		return false
	}
	return isPower(g, 3) || isPower(g, 5) || isPower(g, 7)
}

func isPower(g, base uint32) bool {
	for g%base == 0 {
		g /= base
	}
	return g == 1
}

// superBlocks is the number of blocks at the start of group g taken by a
// superblock backup, descriptors and reserved GDT blocks.
func (l *Layout) superBlocks(g uint32) uint64 {
	if !hasSuper(g) {
		return 0
	}
	return uint64(1 + l.DescBlocks + l.ReservedGDTBlocks)
}

// groupFirst and groupLast are the first and last blocks of group g.
func (l *Layout) groupFirst(g uint32) uint64 { return uint64(g) * BlocksPerGroup }
func (l *Layout) groupLast(g uint32) uint64 {
	return min(uint64(g+1)*BlocksPerGroup, l.Blocks) - 1
}

// groupBlocks is the number of blocks in group g.
func (l *Layout) groupBlocks(g uint32) uint64 { return l.groupLast(g) - l.groupFirst(g) + 1 }

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }
