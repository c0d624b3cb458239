package ext4

// Options control Write. The zero value works: a size must be given, and
// everything else is derived.
type Options struct {
	// Size is the size of the window in bytes; the file system uses
	// floor(Size/4096) blocks.
	Size int64
	// UUID of the file system; zero: derived from the label, size and a
	// digest of the tree's metadata, never random.
	UUID [16]byte
	// HashSeed of directory hashes; zero: equal to UUID.
	HashSeed [16]byte
	// Label is the volume name, at most 16 bytes.
	Label string
	// Epoch, when HasEpoch, is the time of the file system's own fields
	// and the upper clamp of file times; the access time of every file is
	// then its (clamped) modification time, since reading the sources
	// moves theirs. Without it the file system's times are 0 and file
	// times are kept. The epoch is 0 to MaxEpoch (2310); file times are
	// stored from 1901 to 2310, those outside clamped.
	Epoch    int64
	HasEpoch bool
	// Owner, when set, owns every inode; nil keeps each node's own.
	Owner *Owner
	// Inodes is the inode count; 0: mke2fs's rule for the size, raised to
	// fit the tree.
	Inodes uint64
	// NoZeroScan trusts the data ranges (SEEK_DATA) of sources over 64 KiB
	// without reading them for all-zero blocks, so that whole ranges are
	// cloned by copy_file_range on file systems with reflinks. Holes are
	// still kept; all-zero blocks inside data ranges are then allocated.
	// Smaller files are read whole and scanned either way (without it,
	// files up to 1 MiB). The layout differs from the default one: the
	// data of the larger files comes first in the free space, the rest
	// after it.
	NoZeroScan bool
}

// Owner is a uid and gid.
type Owner struct{ UID, GID uint32 }
