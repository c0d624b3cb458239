// Package ext4 writes an ext4 file system from a tree.Node into an
// io.WriterAt window, without root, loop devices or kernel help.
//
// The geometry and features are those of Debian's `mke2fs -t ext4 -b 4096`
// 1.47 for the same size: 4 KiB blocks, 256-byte inodes, the inode ratio of
// mke2fs's size class (floppy, small, default, big, huge), 64bit, flex_bg 16,
// sparse_super, 5 % reserved blocks, resize_inode with mke2fs's reserved GDT
// blocks, a jbd2 journal of mke2fs's default size (inode 8, valid and
// empty), extents, huge_file, dir_nlink, extra_isize, ext_attr, dir_index,
// filetype, large_file and metadata_csum (crc32c). Bitmaps and inode tables
// are placed where mke2fs places them, so `dumpe2fs` of an empty file system
// agrees with mke2fs's line for line apart from times and checksums.
//
// Content: regular files (holes and all-zero blocks are never allocated),
// directories (linear when they fit in one block, hashed half_md4 htrees
// otherwise, up to three index levels with large_dir), fast and slow
// symlinks, hard links, character and block devices, FIFOs and sockets,
// extended attributes in the inode and in one shared xattr block, POSIX
// ACLs converted to ext4's encoding, times with nanoseconds.
//
// Output is deterministic: inode numbers follow a depth-first walk in
// sorted name order, blocks are allocated in that order, and UUID, hash
// seed and times come from Options. With an epoch, access times are the
// modification times (as the FAT writer does), so that reading a tree
// once does not change the next image built from it. Only blocks that hold something are
// written: the window must read as zeros beforehand (a new or truncated
// file). A FileWindow over old data is rewritten in place: blocks the new
// file system writes replace the old ones, and the old data it does not
// reach is punched (or zeroed) at the end, which costs the host far less
// than freeing and allocating every block again.
//
// File data: sources are opened (with O_NOATIME where the caller may, so
// that building leaves the tree's access times alone), relative to their
// directory, and read by two prefetching goroutines while the writer
// allocates blocks in inode order. Every write of the content goes to one
// more goroutine, the mover, in order: runs of consecutive blocks as one
// pwritev of references to the data read (one copy in user space, none
// kept), and whole blocks of a FileWindow's sources through
// copy_file_range, which on XFS or btrfs clones the source's extents into
// the image. All-zero blocks are found by reading the data; blocks already
// read (of sources over 64 KiB, whose descriptors stay open for it) go
// through copy_file_range only when the window's file system clones
// (probed once with FICLONERANGE). With Options.NoZeroScan the data
// ranges (SEEK_DATA/SEEK_HOLE) of sources over 64 KiB are cloned or copied
// whole, unread, from a region of the free space of their own, so that
// everything written from memory forms one run of large writes.
//
// Geometry returns the layout for a size, Need the size and inode count a
// tree needs, Check validates a tree and options without writing. Prepare
// makes Check's checks and starts reading the sources, for a Write that
// follows once the caller has made room for the window; the tables are
// built and written while the mover finishes the content.
//
// Limits: at most 65000 links to a file (the kernel's), device numbers of
// at most 12-bit major and 20-bit minor, 16 TiB file systems and files,
// file times from 1901 to 2310-04-04 (clamped; later ones e2fsck would
// misread), an epoch from 0 to MaxEpoch.
// Not supported: block sizes other than 4096, bigalloc, meta_bg, inline
// data, encryption, casefolding, quotas.
package ext4
