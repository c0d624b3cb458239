package ext4

import (
	"encoding/binary"
	"time"
)

var le = binary.LittleEndian

// On-disk constants (Documentation/filesystems/ext4, fs/ext4/ext4.h).
const (
	BlockSize      = 4096
	InodeSize      = 256
	ExtraIsize     = 32 // i_extra_isize of every inode written
	SuperblockOff  = 1024
	SuperMagic     = 0xEF53
	DescSize       = 64 // s_desc_size with 64bit
	BlocksPerGroup = BlockSize * 8
	FirstIno       = 11
	FlexBGSize     = 16
	MaxExtentLen   = 32768 // longest initialized extent
	MaxNameLen     = 255
	MaxLabelLen    = 16
	MaxSymlinkLen  = BlockSize - 1
	fastSymlinkMax = 59 // targets up to this length live in i_block

	RootIno    = 2
	ResizeIno  = 7
	JournalIno = 8
	LostFound  = 11

	// s_feature_compat
	CompatHasJournal   = 0x4
	CompatExtAttr      = 0x8
	CompatResizeInode  = 0x10
	CompatDirIndex     = 0x20
	CompatSparseSuper2 = 0x200
	CompatOrphanFile   = 0x1000
	// s_feature_incompat
	IncompatFiletype   = 0x2
	IncompatRecover    = 0x4 // needs_recovery
	IncompatExtents    = 0x40
	Incompat64bit      = 0x80
	IncompatMMP        = 0x100
	IncompatFlexBG     = 0x200
	IncompatEAInode    = 0x400
	IncompatCsumSeed   = 0x2000 // metadata_csum_seed
	IncompatLargeDir   = 0x4000
	IncompatInlineData = 0x8000
	IncompatEncrypt    = 0x10000
	IncompatCasefold   = 0x20000
	// s_feature_ro_compat
	RoCompatSparseSuper  = 0x1
	RoCompatLargeFile    = 0x2
	RoCompatHugeFile     = 0x8
	RoCompatGdtCsum      = 0x10 // uninit_bg
	RoCompatDirNlink     = 0x20
	RoCompatExtraIsize   = 0x40
	RoCompatQuota        = 0x100
	RoCompatBigalloc     = 0x200
	RoCompatMetadataCsum = 0x400
	RoCompatProject      = 0x2000
	RoCompatVerity       = 0x8000

	// bg_flags
	BGInodeUninit  = 0x1
	BGBlockUninit  = 0x2
	BGItableZeroed = 0x4

	// i_flags
	IndexFl   = 0x1000
	ExtentsFl = 0x80000

	// i_mode file types
	SIFIFO  = 0x1000
	SIFCHR  = 0x2000
	SIFDIR  = 0x4000
	SIFBLK  = 0x6000
	SIFREG  = 0x8000
	SIFLNK  = 0xA000
	SIFSOCK = 0xC000

	// directory entry file types
	FtRegFile = 1
	FtDir     = 2
	FtChrdev  = 3
	FtBlkdev  = 4
	FtFifo    = 5
	FtSock    = 6
	FtSymlink = 7
	FtDirCsum = 0xDE

	ExtentMagic = 0xF30A
	XattrMagic  = 0xEA020000
	JBD2Magic   = 0xC03B3998

	HashHalfMD4     = 1
	FlagsSignedHash = 0x1 // s_flags: directory hashes treat bytes as signed char
)

// put32x32 stores a 64-bit value split into a low and a high 32-bit field.
func put32x32(b []byte, lo, hi int, v uint64) {
	le.PutUint32(b[lo:], uint32(v))
	le.PutUint32(b[hi:], uint32(v>>32))
}

// put16x16 stores a 32-bit value split into a low and a high 16-bit field.
func put16x16(b []byte, lo, hi int, v uint32) {
	le.PutUint16(b[lo:], uint16(v))
	le.PutUint16(b[hi:], uint16(v>>16))
}

// put32x16 stores a 48-bit value split into a low 32-bit and high 16-bit field.
func put32x16(b []byte, lo, hi int, v uint64) {
	le.PutUint32(b[lo:], uint32(v))
	le.PutUint16(b[hi:], uint16(v>>32))
}

// put32x8 stores a 40-bit time stamp as a low 32-bit and a high 8-bit field
// (the superblock's s_*time / s_*time_hi pairs).
func put32x8(b []byte, lo, hi int, v int64) {
	le.PutUint32(b[lo:], uint32(v))
	b[hi] = uint8(v >> 32)
}

// Superblock holds the superblock fields purefs writes; the rest are zero.
type Superblock struct {
	InodesCount       uint32
	BlocksCount       uint64
	RBlocksCount      uint64
	FreeBlocksCount   uint64
	FreeInodesCount   uint32
	InodesPerGroup    uint32
	Time              int64 // s_mkfs_time, s_wtime, s_lastcheck
	BlockGroupNr      uint16
	FeatureCompat     uint32
	FeatureIncompat   uint32
	FeatureRoCompat   uint32
	UUID              [16]byte
	VolumeName        [16]byte
	ReservedGDTBlocks uint16
	HashSeed          [16]byte
	JnlBlocks         [17]uint32
	OverheadClusters  uint32
}

// Encode writes s into b (1024 bytes) and sets s_checksum.
func (s *Superblock) Encode(b []byte) {
	clear(b[:1024])
	le.PutUint32(b[0x0:], s.InodesCount)        // 0x0 s_inodes_count
	put32x32(b, 0x4, 0x150, s.BlocksCount)      // 0x4 s_blocks_count_lo, 0x150 s_blocks_count_hi
	put32x32(b, 0x8, 0x154, s.RBlocksCount)     // 0x8 s_r_blocks_count_lo, 0x154 s_r_blocks_count_hi
	put32x32(b, 0xC, 0x158, s.FreeBlocksCount)  // 0xC s_free_blocks_count_lo, 0x158 s_free_blocks_count_hi
	le.PutUint32(b[0x10:], s.FreeInodesCount)   // 0x10 s_free_inodes_count
	le.PutUint32(b[0x14:], 0)                   // 0x14 s_first_data_block
	le.PutUint32(b[0x18:], 2)                   // 0x18 s_log_block_size (4096)
	le.PutUint32(b[0x1C:], 2)                   // 0x1C s_log_cluster_size
	le.PutUint32(b[0x20:], BlocksPerGroup)      // 0x20 s_blocks_per_group
	le.PutUint32(b[0x24:], BlocksPerGroup)      // 0x24 s_clusters_per_group
	le.PutUint32(b[0x28:], s.InodesPerGroup)    // 0x28 s_inodes_per_group
	put32x8(b, 0x30, 0x275, s.Time)             // 0x30 s_wtime, 0x275 s_wtime_hi
	le.PutUint16(b[0x36:], 0xFFFF)              // 0x36 s_max_mnt_count (-1)
	le.PutUint16(b[0x38:], SuperMagic)          // 0x38 s_magic
	le.PutUint16(b[0x3A:], 1)                   // 0x3A s_state (clean)
	le.PutUint16(b[0x3C:], 1)                   // 0x3C s_errors (continue)
	put32x8(b, 0x40, 0x277, s.Time)             // 0x40 s_lastcheck, 0x277 s_lastcheck_hi
	le.PutUint32(b[0x4C:], 1)                   // 0x4C s_rev_level (dynamic)
	le.PutUint32(b[0x54:], FirstIno)            // 0x54 s_first_ino
	le.PutUint16(b[0x58:], InodeSize)           // 0x58 s_inode_size
	le.PutUint16(b[0x5A:], s.BlockGroupNr)      // 0x5A s_block_group_nr
	le.PutUint32(b[0x5C:], s.FeatureCompat)     // 0x5C s_feature_compat
	le.PutUint32(b[0x60:], s.FeatureIncompat)   // 0x60 s_feature_incompat
	le.PutUint32(b[0x64:], s.FeatureRoCompat)   // 0x64 s_feature_ro_compat
	copy(b[0x68:0x78], s.UUID[:])               // 0x68 s_uuid
	copy(b[0x78:0x88], s.VolumeName[:])         // 0x78 s_volume_name
	le.PutUint16(b[0xCE:], s.ReservedGDTBlocks) // 0xCE s_reserved_gdt_blocks
	le.PutUint32(b[0xE0:], JournalIno)          // 0xE0 s_journal_inum
	copy(b[0xEC:0xFC], s.HashSeed[:])           // 0xEC s_hash_seed
	b[0xFC] = HashHalfMD4                       // 0xFC s_def_hash_version
	b[0xFD] = 1                                 // 0xFD s_jnl_backup_type (EXT3_JNL_BACKUP_BLOCKS)
	le.PutUint16(b[0xFE:], DescSize)            // 0xFE s_desc_size
	le.PutUint32(b[0x100:], 0x000C)             // 0x100 s_default_mount_opts (user_xattr, acl)
	put32x8(b, 0x108, 0x276, s.Time)            // 0x108 s_mkfs_time, 0x276 s_mkfs_time_hi
	for i, v := range s.JnlBlocks {
		le.PutUint32(b[0x10C+4*i:], v) // 0x10C s_jnl_blocks
	}
	le.PutUint16(b[0x15C:], ExtraIsize)                       // 0x15C s_min_extra_isize
	le.PutUint16(b[0x15E:], ExtraIsize)                       // 0x15E s_want_extra_isize
	le.PutUint32(b[0x160:], FlagsSignedHash)                  // 0x160 s_flags
	b[0x174] = 4                                              // 0x174 s_log_groups_per_flex (16)
	b[0x175] = 1                                              // 0x175 s_checksum_type (crc32c)
	le.PutUint32(b[0x248:], s.OverheadClusters)               // 0x248 s_overhead_clusters
	le.PutUint32(b[0x3FC:], crc32cRaw(^uint32(0), b[:0x3FC])) // 0x3FC s_checksum
}

// GroupDesc is one 64-byte block group descriptor.
type GroupDesc struct {
	BlockBitmap, InodeBitmap, InodeTable uint64
	FreeBlocksCount, FreeInodesCount     uint32
	UsedDirsCount, ItableUnused          uint32
	Flags                                uint16
	BlockBitmapCsum, InodeBitmapCsum     uint32
}

// Encode writes d into b (64 bytes) with bg_checksum for group g.
func (d *GroupDesc) Encode(b []byte, seed uint32, g uint32) {
	clear(b[:DescSize])
	put32x32(b, 0x0, 0x20, d.BlockBitmap)      // 0x0 bg_block_bitmap_lo, 0x20 _hi
	put32x32(b, 0x4, 0x24, d.InodeBitmap)      // 0x4 bg_inode_bitmap_lo, 0x24 _hi
	put32x32(b, 0x8, 0x28, d.InodeTable)       // 0x8 bg_inode_table_lo, 0x28 _hi
	put16x16(b, 0xC, 0x2C, d.FreeBlocksCount)  // 0xC bg_free_blocks_count_lo, 0x2C _hi
	put16x16(b, 0xE, 0x2E, d.FreeInodesCount)  // 0xE bg_free_inodes_count_lo, 0x2E _hi
	put16x16(b, 0x10, 0x30, d.UsedDirsCount)   // 0x10 bg_used_dirs_count_lo, 0x30 _hi
	le.PutUint16(b[0x12:], d.Flags)            // 0x12 bg_flags
	put16x16(b, 0x18, 0x38, d.BlockBitmapCsum) // 0x18 bg_block_bitmap_csum_lo, 0x38 _hi
	put16x16(b, 0x1A, 0x3A, d.InodeBitmapCsum) // 0x1A bg_inode_bitmap_csum_lo, 0x3A _hi
	put16x16(b, 0x1C, 0x32, d.ItableUnused)    // 0x1C bg_itable_unused_lo, 0x32 _hi
	var gb [4]byte
	le.PutUint32(gb[:], g)
	c := crc32cRaw(crc32cRaw(seed, gb[:]), b[:DescSize])
	le.PutUint16(b[0x1E:], uint16(c)) // 0x1E bg_checksum
}

// Timestamp is a time as ext4 stores it: seconds in a 32-bit field and
// two epoch bits plus nanoseconds in the matching _extra field.
type Timestamp struct {
	Sec  int64
	Nsec uint32
}

// minTime and maxTime bound the inode times purefs writes. An inode time
// is a signed 32-bit field plus two epoch bits (multiples of 2^32) in the
// _extra field: the kernel reads -2^31 to 0x37fffffff (2446), but e2fsck
// (until 2242) takes a negative 32-bit field with both epoch bits set for
// a pre-1970 time in an older encoding and "fixes" it, so times stop at
// 0x27fffffff (2310-04-04 16:10:39 UTC).
const (
	minTime = -1 << 31
	maxTime = 0x27fffffff
)

// MaxEpoch is the largest Options.Epoch: the latest inode time purefs
// writes. The superblock's 40-bit times reach further; the epoch cannot
// be negative, since the superblock's times are unsigned.
const MaxEpoch = maxTime

// makeTimestamp converts t, clamped to the representable range; a zero
// time.Time is the epoch.
func makeTimestamp(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	s := t.Unix()
	if s < minTime {
		return Timestamp{Sec: minTime}
	}
	if s > maxTime {
		return Timestamp{Sec: maxTime, Nsec: 999999999}
	}
	return Timestamp{Sec: s, Nsec: uint32(t.Nanosecond())}
}

// putTime stores ts in the 32-bit field at off and the extra field at xoff.
func putTime(b []byte, off, xoff int, ts Timestamp) {
	le.PutUint32(b[off:], uint32(ts.Sec))
	epoch := uint32((ts.Sec-int64(int32(ts.Sec)))>>32) & 3
	le.PutUint32(b[xoff:], epoch|ts.Nsec<<2)
}

// Inode holds the fields of one on-disk inode.
type Inode struct {
	Mode                        uint16
	UID, GID                    uint32
	Size                        uint64
	Atime, Ctime, Mtime, Crtime Timestamp
	LinksCount                  uint16
	Blocks                      uint64 // in 512-byte units
	Flags                       uint32
	Block                       [60]byte // i_block: extents, fast symlink, device
	FileACL                     uint64
	Small                       bool // reserved inode without extra fields (as mke2fs writes them)
}

// Encode writes ino into b (InodeSize bytes, whose xattr area the caller
// may already have filled) and sets the checksum for inode number num.
func (ino *Inode) Encode(b []byte, seed uint32, num uint32) {
	clear(b[:128+ExtraIsize])
	le.PutUint16(b[0x0:], ino.Mode)               // 0x0 i_mode
	put16x16(b, 0x2, 0x78, ino.UID)               // 0x2 i_uid, 0x78 l_i_uid_high
	put32x32(b, 0x4, 0x6C, ino.Size)              // 0x4 i_size_lo, 0x6C i_size_high
	le.PutUint32(b[0x8:], uint32(ino.Atime.Sec))  // 0x8 i_atime
	le.PutUint32(b[0xC:], uint32(ino.Ctime.Sec))  // 0xC i_ctime
	le.PutUint32(b[0x10:], uint32(ino.Mtime.Sec)) // 0x10 i_mtime
	put16x16(b, 0x18, 0x7A, ino.GID)              // 0x18 i_gid, 0x7A l_i_gid_high
	le.PutUint16(b[0x1A:], ino.LinksCount)        // 0x1A i_links_count
	put32x16(b, 0x1C, 0x74, ino.Blocks)           // 0x1C i_blocks_lo, 0x74 l_i_blocks_high
	le.PutUint32(b[0x20:], ino.Flags)             // 0x20 i_flags
	copy(b[0x28:0x64], ino.Block[:])              // 0x28 i_block
	put32x16(b, 0x68, 0x76, ino.FileACL)          // 0x68 i_file_acl_lo, 0x76 l_i_file_acl_high
	if !ino.Small {
		le.PutUint16(b[0x80:], ExtraIsize) // 0x80 i_extra_isize
		putTime(b, 0xC, 0x84, ino.Ctime)   // 0x84 i_ctime_extra
		putTime(b, 0x10, 0x88, ino.Mtime)  // 0x88 i_mtime_extra
		putTime(b, 0x8, 0x8C, ino.Atime)   // 0x8C i_atime_extra
		putTime(b, 0x90, 0x94, ino.Crtime) // 0x90 i_crtime, 0x94 i_crtime_extra
	}
	var nb [8]byte
	le.PutUint32(nb[:4], num)
	le.PutUint32(nb[4:], 0) // i_generation
	c := crc32cRaw(seed, nb[:8])
	c = crc32cRaw(c, b[:InodeSize])
	le.PutUint16(b[0x7C:], uint16(c)) // 0x7C l_i_checksum_lo
	if !ino.Small {
		le.PutUint16(b[0x82:], uint16(c>>16)) // 0x82 i_checksum_hi
	}
}

// inodeSeed is the checksum seed of inode num (generation 0).
func inodeSeed(fsSeed, num uint32) uint32 {
	var nb [8]byte
	le.PutUint32(nb[:4], num)
	return crc32cRaw(fsSeed, nb[:])
}
