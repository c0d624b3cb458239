package ext4

import "encoding/binary"

// resizeInodeSize is the i_size mke2fs gives the resize inode: the reach
// of its double-indirect block.
const resizeInodeSize = (1024*1024 + 1024 + 12) * BlockSize

// backupGroups lists the groups after 0 holding superblock backups.
func (l *Layout) backupGroups() []uint32 {
	var out []uint32
	for g := uint32(1); g < l.Groups; g++ {
		if hasSuper(g) {
			out = append(out, g)
		}
	}
	return out
}

// writeResize writes the resize inode's blocks: the double-indirect block
// listing the primary reserved GDT blocks, and in each of those the
// block numbers of its backups (ext2fs_create_resize_inode).
func (wr *writer) writeResize() error {
	l := wr.l
	dind := make([]byte, BlockSize)
	backups := l.backupGroups()
	for off := uint32(0); off < l.ReservedGDTBlocks; off++ {
		gdtBlk := 1 + l.DescBlocks + off
		le.PutUint32(dind[4*((l.DescBlocks+off)%(BlockSize/4)):], gdtBlk)
		ind := make([]byte, BlockSize)
		for i, g := range backups {
			le.PutUint32(ind[4*i:], gdtBlk+g*BlocksPerGroup)
		}
		if err := wr.writeAt(ind, uint64(gdtBlk)); err != nil {
			return err
		}
	}
	return wr.writeAt(dind, wr.dind)
}

// resizeInode is inode 7.
func (wr *writer) resizeInode() Inode {
	l := wr.l
	n := 1 + uint64(l.ReservedGDTBlocks)*uint64(1+len(l.backupGroups()))
	ino := Inode{Mode: SIFREG | 0o600, LinksCount: 1, Size: resizeInodeSize, Blocks: n * (BlockSize / 512),
		Atime: wr.now, Ctime: wr.now, Mtime: wr.now, Crtime: wr.now}
	le.PutUint32(ino.Block[4*13:], uint32(wr.dind)) // i_block[EXT2_DIND_BLOCK]
	return ino
}

// journalGoal is get_midpoint_journal_block: the first block of the
// emptiest group near the middle of the file system.
func (wr *writer) journalGoal() uint64 {
	l := wr.l
	free := func(g uint32) uint64 {
		return l.groupBlocks(g) - wr.used.countIn(l.groupFirst(g), l.groupLast(g)+1)
	}
	group := uint32(l.Blocks / 2 / BlocksPerGroup)
	var start uint32
	if group > FlexBGSize {
		group &^= FlexBGSize - 1
		for group < l.Groups && free(group) == 0 {
			group++
		}
		if group == l.Groups {
			group = 0
		}
		start = group
	} else if group > 0 {
		start = group - 1
	}
	end := group
	if group+1 < l.Groups {
		end = group + 1
	}
	group = start
	for i := start + 1; i <= end; i++ {
		if free(i) > free(group) {
			group = i
		}
	}
	return l.groupFirst(group)
}

// placeJournal allocates the journal from its goal and writes its
// superblock; the other journal blocks stay zero.
func (wr *writer) placeJournal() error {
	jb := uint64(wr.l.JournalBlocks)
	runs, err := wr.used.firstFree(wr.journalGoal(), jb)
	if err != nil {
		return wr.noSpace()
	}
	wr.journal = runs
	b := make([]byte, BlockSize)
	be := binary.BigEndian
	be.PutUint32(b[0x0:], JBD2Magic)   // 0x0 h_magic
	be.PutUint32(b[0x4:], 4)           // 0x4 h_blocktype (superblock v2)
	be.PutUint32(b[0x8:], 0)           // 0x8 h_sequence
	be.PutUint32(b[0xC:], BlockSize)   // 0xC s_blocksize
	be.PutUint32(b[0x10:], uint32(jb)) // 0x10 s_maxlen
	be.PutUint32(b[0x14:], 1)          // 0x14 s_first
	be.PutUint32(b[0x18:], 1)          // 0x18 s_sequence
	be.PutUint32(b[0x1C:], 0)          // 0x1C s_start (empty)
	copy(b[0x30:0x40], wr.sb.UUID[:])  // 0x30 s_uuid
	be.PutUint32(b[0x40:], 1)          // 0x40 s_nr_users
	if err := wr.writeAt(b, runs[0].Start); err != nil {
		return err
	}
	r := &wr.recs[JournalIno]
	r.size = jb * BlockSize
	// mke2fs puts the journal's extent block (over 4 extents, file
	// systems from 128 GiB) just before the journal.
	wr.treeGoal = runs[0].Start - 1
	if err := wr.setExtents(JournalIno, r, runsToExtents(runs), jb); err != nil {
		return err
	}
	for i := 0; i < 15; i++ {
		wr.sb.JnlBlocks[i] = le.Uint32(r.iblock[4*i:])
	}
	size := jb * BlockSize
	wr.sb.JnlBlocks[15] = uint32(size >> 32)
	wr.sb.JnlBlocks[16] = uint32(size)
	return nil
}
