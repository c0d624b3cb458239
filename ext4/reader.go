package ext4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// The reader is a small, strict ext2/3/4 reader for tests, `purefs inspect`,
// `purefs diff` and fuzzing. It reads what mke2fs and purefs write: extents
// and indirect block maps, linear and hashed directories, in-inode and block
// xattrs. It refuses what it does not know (inline data, meta_bg, encryption)
// with ErrUnsupported. Every count and offset read from the image is checked
// against the image size before it is used, so a hostile image yields an
// error, not a panic or a huge allocation.

// Reader errors.
var (
	ErrNotExt4      = errors.New("ext4: not an ext2/3/4 file system")
	ErrCorrupt      = errors.New("ext4: corrupt file system")
	ErrUnsupported  = errors.New("ext4: unsupported feature")
	ErrNotFound     = errors.New("ext4: no such file or directory")
	ErrNotDirectory = errors.New("ext4: not a directory")
)

// FS is an ext2/3/4 file system opened for reading.
type FS struct {
	r          io.ReaderAt
	size       int64
	Info       FSInfo
	SuperBytes []byte // the 1024-byte superblock as on disk
	blockSize  int64
	descSize   int64
	groups     []rdGroup
}

// FSInfo holds the superblock fields that inspect and diff show.
type FSInfo struct {
	UUID             [16]byte
	Label            string
	HashSeed         [16]byte
	DefHashVersion   uint8
	Flags            uint32 // s_flags (signed/unsigned directory hash)
	FeatureCompat    uint32
	FeatureIncompat  uint32
	FeatureRoCompat  uint32
	BlockSize        int64
	BlocksCount      uint64
	FreeBlocks       uint64
	ReservedBlocks   uint64
	InodesCount      uint32
	FreeInodes       uint32
	InodeSize        uint16
	BlocksPerGroup   uint32
	InodesPerGroup   uint32
	FirstDataBlock   uint32
	ReservedGDT      uint16
	LogGroupsPerFlex uint8
	JournalInode     uint32
	Mtime, Wtime     int64
	MkfsTime         int64
	Lastcheck        int64
	State            uint16
	FirstIno         uint32
	ChecksumType     uint8
}

type rdGroup struct {
	blockBitmap, inodeBitmap, inodeTable uint64
	freeBlocks, freeInodes, usedDirs     uint32
	flags                                uint16
}

// rdIncompatKnown are the incompat features the reader can read.
const rdIncompatKnown = IncompatFiletype | IncompatRecover | IncompatExtents |
	Incompat64bit | IncompatMMP | IncompatFlexBG | IncompatCsumSeed | IncompatLargeDir

// Feature is one ext4 feature flag and its name as mke2fs and dumpe2fs
// spell it.
type Feature struct {
	Mask uint32
	Name string
}

// Features of s_feature_compat, s_feature_incompat and
// s_feature_ro_compat, in dumpe2fs's order.
var (
	CompatFeatures = []Feature{{CompatHasJournal, "has_journal"}, {CompatExtAttr, "ext_attr"},
		{CompatResizeInode, "resize_inode"}, {CompatDirIndex, "dir_index"},
		{CompatSparseSuper2, "sparse_super2"}, {CompatOrphanFile, "orphan_file"}}
	IncompatFeatures = []Feature{{IncompatFiletype, "filetype"}, {IncompatRecover, "needs_recovery"},
		{IncompatExtents, "extent"}, {Incompat64bit, "64bit"}, {IncompatMMP, "mmp"},
		{IncompatFlexBG, "flex_bg"}, {IncompatEAInode, "ea_inode"}, {IncompatCsumSeed, "metadata_csum_seed"},
		{IncompatLargeDir, "large_dir"}, {IncompatInlineData, "inline_data"}, {IncompatEncrypt, "encrypt"},
		{IncompatCasefold, "casefold"}}
	RoCompatFeatures = []Feature{{RoCompatSparseSuper, "sparse_super"}, {RoCompatLargeFile, "large_file"},
		{RoCompatHugeFile, "huge_file"}, {RoCompatGdtCsum, "uninit_bg"}, {RoCompatDirNlink, "dir_nlink"},
		{RoCompatExtraIsize, "extra_isize"}, {RoCompatQuota, "quota"}, {RoCompatBigalloc, "bigalloc"},
		{RoCompatMetadataCsum, "metadata_csum"}, {RoCompatProject, "project"}, {RoCompatVerity, "verity"}}
)

// Open reads the superblock and group descriptors of the file system in r
// (size bytes long).
func Open(r io.ReaderAt, size int64) (*FS, error) {
	if size < 2048 {
		return nil, fmt.Errorf("%w: %d bytes is too small", ErrNotExt4, size)
	}
	sb := make([]byte, 1024)
	if _, err := r.ReadAt(sb, 1024); err != nil {
		return nil, fmt.Errorf("ext4: reading superblock: %w", err)
	}
	le := binary.LittleEndian
	if le.Uint16(sb[0x38:]) != SuperMagic { // 0x38 s_magic
		return nil, ErrNotExt4
	}
	fs := &FS{r: r, size: size, SuperBytes: sb}
	in := &fs.Info
	logBlock := le.Uint32(sb[0x18:]) // 0x18 s_log_block_size
	if logBlock > 6 {
		return nil, fmt.Errorf("%w: s_log_block_size %d", ErrCorrupt, logBlock)
	}
	fs.blockSize = 1024 << logBlock
	in.BlockSize = fs.blockSize
	in.InodesCount = le.Uint32(sb[0x0:])                              // 0x0 s_inodes_count
	in.BlocksCount = uint64(le.Uint32(sb[0x4:]))                      // 0x4 s_blocks_count_lo
	in.ReservedBlocks = uint64(le.Uint32(sb[0x8:]))                   // 0x8 s_r_blocks_count_lo
	in.FreeBlocks = uint64(le.Uint32(sb[0xC:]))                       // 0xC s_free_blocks_count_lo
	in.FreeInodes = le.Uint32(sb[0x10:])                              // 0x10 s_free_inodes_count
	in.FirstDataBlock = le.Uint32(sb[0x14:])                          // 0x14 s_first_data_block
	in.BlocksPerGroup = le.Uint32(sb[0x20:])                          // 0x20 s_blocks_per_group
	in.InodesPerGroup = le.Uint32(sb[0x28:])                          // 0x28 s_inodes_per_group
	in.Mtime = int64(le.Uint32(sb[0x2C:])) | int64(sb[0x274])<<32     // 0x2C s_mtime, 0x274 s_mtime_hi
	in.Wtime = int64(le.Uint32(sb[0x30:])) | int64(sb[0x275])<<32     // 0x30 s_wtime, 0x275 s_wtime_hi
	in.State = le.Uint16(sb[0x3A:])                                   // 0x3A s_state
	in.Lastcheck = int64(le.Uint32(sb[0x40:])) | int64(sb[0x277])<<32 // 0x40 s_lastcheck, 0x277 s_lastcheck_hi
	rev := le.Uint32(sb[0x4C:])                                       // 0x4C s_rev_level
	in.FirstIno = 11
	in.InodeSize = 128
	if rev >= 1 {
		in.FirstIno = le.Uint32(sb[0x54:])        // 0x54 s_first_ino
		in.InodeSize = le.Uint16(sb[0x58:])       // 0x58 s_inode_size
		in.FeatureCompat = le.Uint32(sb[0x5C:])   // 0x5C s_feature_compat
		in.FeatureIncompat = le.Uint32(sb[0x60:]) // 0x60 s_feature_incompat
		in.FeatureRoCompat = le.Uint32(sb[0x64:]) // 0x64 s_feature_ro_compat
	}
	copy(in.UUID[:], sb[0x68:0x78])                                   // 0x68 s_uuid
	in.Label = cString(sb[0x78:0x88])                                 // 0x78 s_volume_name
	in.ReservedGDT = le.Uint16(sb[0xCE:])                             // 0xCE s_reserved_gdt_blocks
	in.JournalInode = le.Uint32(sb[0xE0:])                            // 0xE0 s_journal_inum
	copy(in.HashSeed[:], sb[0xEC:0xFC])                               // 0xEC s_hash_seed
	in.DefHashVersion = sb[0xFC]                                      // 0xFC s_def_hash_version
	in.MkfsTime = int64(le.Uint32(sb[0x108:])) | int64(sb[0x276])<<32 // 0x108 s_mkfs_time, 0x276 s_mkfs_time_hi
	in.Flags = le.Uint32(sb[0x160:])                                  // 0x160 s_flags
	in.LogGroupsPerFlex = sb[0x174]                                   // 0x174 s_log_groups_per_flex
	in.ChecksumType = sb[0x175]                                       // 0x175 s_checksum_type
	fs.descSize = 32
	if in.FeatureIncompat&Incompat64bit != 0 {
		in.BlocksCount |= uint64(le.Uint32(sb[0x150:])) << 32    // 0x150 s_blocks_count_hi
		in.ReservedBlocks |= uint64(le.Uint32(sb[0x154:])) << 32 // 0x154 s_r_blocks_count_hi
		in.FreeBlocks |= uint64(le.Uint32(sb[0x158:])) << 32     // 0x158 s_free_blocks_count_hi
		fs.descSize = int64(le.Uint16(sb[0xFE:]))                // 0xFE s_desc_size
		if fs.descSize < 32 || fs.descSize > 1024 || fs.descSize&(fs.descSize-1) != 0 {
			return nil, fmt.Errorf("%w: s_desc_size %d", ErrCorrupt, fs.descSize)
		}
	}
	if inc := in.FeatureIncompat &^ rdIncompatKnown; inc != 0 {
		return nil, fmt.Errorf("%w: incompatible features %#x", ErrUnsupported, inc)
	}
	// Clusters of several blocks change what a bitmap bit and
	// s_blocks_per_group count.
	if in.FeatureRoCompat&RoCompatBigalloc != 0 {
		return nil, fmt.Errorf("%w: bigalloc", ErrUnsupported)
	}
	if in.InodeSize < 128 || int64(in.InodeSize) > fs.blockSize || in.InodeSize&(in.InodeSize-1) != 0 {
		return nil, fmt.Errorf("%w: s_inode_size %d", ErrCorrupt, in.InodeSize)
	}
	if in.BlocksPerGroup == 0 || int64(in.BlocksPerGroup) > 8*fs.blockSize ||
		in.InodesPerGroup == 0 || int64(in.InodesPerGroup) > 8*fs.blockSize {
		return nil, fmt.Errorf("%w: %d blocks and %d inodes per group", ErrCorrupt, in.BlocksPerGroup, in.InodesPerGroup)
	}
	if in.BlocksCount == 0 || in.BlocksCount > uint64(size/fs.blockSize) {
		return nil, fmt.Errorf("%w: %d blocks do not fit in %d bytes", ErrCorrupt, in.BlocksCount, size)
	}
	if uint64(in.FirstDataBlock) >= in.BlocksCount {
		return nil, fmt.Errorf("%w: s_first_data_block %d", ErrCorrupt, in.FirstDataBlock)
	}
	ngroups := (in.BlocksCount - uint64(in.FirstDataBlock) + uint64(in.BlocksPerGroup) - 1) / uint64(in.BlocksPerGroup)
	if uint64(in.InodesCount) != ngroups*uint64(in.InodesPerGroup) {
		return nil, fmt.Errorf("%w: %d inodes is not %d groups of %d", ErrCorrupt, in.InodesCount, ngroups, in.InodesPerGroup)
	}
	if err := fs.readGroups(int(ngroups)); err != nil {
		return nil, err
	}
	return fs, nil
}

func (fs *FS) readGroups(n int) error {
	le := binary.LittleEndian
	gdtBytes := int64(n) * fs.descSize
	off := (int64(fs.Info.FirstDataBlock) + 1) * fs.blockSize
	if off+gdtBytes > fs.size {
		return fmt.Errorf("%w: group descriptors beyond the end", ErrCorrupt)
	}
	b := make([]byte, gdtBytes)
	if _, err := fs.r.ReadAt(b, off); err != nil {
		return fmt.Errorf("ext4: reading group descriptors: %w", err)
	}
	fs.groups = make([]rdGroup, n)
	wide := fs.descSize >= 64
	for i := range fs.groups {
		d := b[int64(i)*fs.descSize:]
		g := &fs.groups[i]
		g.blockBitmap = uint64(le.Uint32(d[0x0:])) // 0x0 bg_block_bitmap_lo
		g.inodeBitmap = uint64(le.Uint32(d[0x4:])) // 0x4 bg_inode_bitmap_lo
		g.inodeTable = uint64(le.Uint32(d[0x8:]))  // 0x8 bg_inode_table_lo
		g.freeBlocks = uint32(le.Uint16(d[0xC:]))  // 0xC bg_free_blocks_count_lo
		g.freeInodes = uint32(le.Uint16(d[0xE:]))  // 0xE bg_free_inodes_count_lo
		g.usedDirs = uint32(le.Uint16(d[0x10:]))   // 0x10 bg_used_dirs_count_lo
		g.flags = le.Uint16(d[0x12:])              // 0x12 bg_flags
		if wide {
			g.blockBitmap |= uint64(le.Uint32(d[0x20:])) << 32 // 0x20 bg_block_bitmap_hi
			g.inodeBitmap |= uint64(le.Uint32(d[0x24:])) << 32 // 0x24 bg_inode_bitmap_hi
			g.inodeTable |= uint64(le.Uint32(d[0x28:])) << 32  // 0x28 bg_inode_table_hi
			g.freeBlocks |= uint32(le.Uint16(d[0x2C:])) << 16  // 0x2C bg_free_blocks_count_hi
			g.freeInodes |= uint32(le.Uint16(d[0x2E:])) << 16  // 0x2E bg_free_inodes_count_hi
			g.usedDirs |= uint32(le.Uint16(d[0x30:])) << 16    // 0x30 bg_used_dirs_count_hi
		}
		itBlocks := (uint64(fs.Info.InodesPerGroup)*uint64(fs.Info.InodeSize) + uint64(fs.blockSize) - 1) / uint64(fs.blockSize)
		if g.inodeTable == 0 || g.inodeTable+itBlocks > fs.Info.BlocksCount {
			return fmt.Errorf("%w: group %d inode table at block %d", ErrCorrupt, i, g.inodeTable)
		}
	}
	return nil
}

// Groups returns the number of block groups.
func (fs *FS) Groups() int { return len(fs.groups) }

// BlockSize returns the block size in bytes.
func (fs *FS) BlockSize() int64 { return fs.blockSize }

// readBlock reads block n (which must lie inside the file system).
func (fs *FS) readBlock(n uint64, buf []byte) error {
	if n == 0 || n >= fs.Info.BlocksCount {
		return fmt.Errorf("%w: block %d out of range", ErrCorrupt, n)
	}
	if _, err := fs.r.ReadAt(buf[:fs.blockSize], int64(n)*fs.blockSize); err != nil {
		return fmt.Errorf("ext4: reading block %d: %w", n, err)
	}
	return nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
