package ext4

import "fmt"

// placeTables places every group's bitmaps and inode table as mke2fs's
// ext2fs_allocate_group_table does with flex_bg, and computes Overhead.
func (l *Layout) placeTables() error {
	u := l.baseUsed()
	l.BlockBitmap = make([]uint64, l.Groups)
	l.InodeBitmap = make([]uint64, l.Groups)
	l.InodeTable = make([]uint64, l.Groups)
	for g := uint32(0); g < l.Groups; g++ {
		if err := l.placeGroup(u, g); err != nil {
			return err
		}
	}
	l.Overhead = u.count() + uint64(l.JournalBlocks)
	return nil
}

// baseUsed returns the blocks taken by superblocks, descriptors and
// reserved GDT blocks.
func (l *Layout) baseUsed() *usedSet {
	u := &usedSet{total: l.Blocks}
	for g := uint32(0); g < l.Groups; g++ {
		u.mark(l.groupFirst(g), l.superBlocks(g))
	}
	return u
}

// usedMeta returns the blocks of all fixed metadata: superblocks,
// descriptors, reserved GDT, bitmaps and inode tables.
func (l *Layout) usedMeta() *usedSet {
	u := l.baseUsed()
	for g := uint32(0); g < l.Groups; g++ {
		u.mark(l.BlockBitmap[g], 1)
		u.mark(l.InodeBitmap[g], 1)
		u.mark(l.InodeTable[g], uint64(l.InodeBlocksPerGroup))
	}
	return u
}

func (l *Layout) flexbgOffset(u *usedSet, g uint32, start uint64, remGrps uint32, elem uint64) uint64 {
	size := uint64(remGrps) * elem
	if size > BlocksPerGroup/4 {
		size = BlocksPerGroup / 4
	}
	if start != 0 && start < l.Blocks {
		if b, ok := u.getFree(start, start+size, elem); ok {
			return b
		}
	}
	first := l.groupFirst(g / FlexBGSize * FlexBGSize)
	lastBlk := l.groupLast(min(g|(FlexBGSize-1), l.Groups-1))
	if b, ok := u.getFree(first, lastBlk, size); ok {
		return b
	}
	if b, ok := u.getFree(first, lastBlk, elem); ok {
		return b
	}
	if b, ok := u.getFree(0, lastBlk, elem); ok {
		return b
	}
	return 0
}

func (l *Layout) placeGroup(u *usedSet, g uint32) error {
	groupBlk := l.groupFirst(g)
	lastGrp := min(g|(FlexBGSize-1), l.Groups-1)
	remGrps := lastGrp - g + 1
	tableOffset := uint64(FlexBGSize)
	var prev uint64
	if g%FlexBGSize != 0 {
		prev = l.BlockBitmap[g-1] + 1
	} else if lastGrp == l.Groups-1 {
		tableOffset = uint64(lastGrp & (FlexBGSize - 1))
		if tableOffset == 0 {
			tableOffset = FlexBGSize
		} else {
			tableOffset++
		}
	}
	lastBlk := l.groupLast(lastGrp)
	one := func(start uint64) (uint64, error) {
		b, ok := u.getFree(start, lastBlk, 1)
		if !ok {
			b, ok = u.getFree(groupBlk, lastBlk, 1)
		}
		if !ok {
			return 0, fmt.Errorf("%w: no room for the bitmaps of group %d", ErrNoSpace, g)
		}
		u.mark(b, 1)
		return b, nil
	}
	var err error
	start := l.flexbgOffset(u, g, prev, remGrps, 1)
	if l.BlockBitmap[g], err = one(start); err != nil {
		return err
	}
	if g%FlexBGSize != 0 {
		prev = l.InodeBitmap[g-1] + 1
	} else {
		prev = l.BlockBitmap[g] + tableOffset
	}
	start = l.flexbgOffset(u, g, prev, remGrps, 1)
	if l.InodeBitmap[g], err = one(start); err != nil {
		return err
	}
	ib := uint64(l.InodeBlocksPerGroup)
	if g%FlexBGSize != 0 {
		prev = l.InodeTable[g-1] + ib
	} else {
		prev = l.InodeBitmap[g] + tableOffset
	}
	start = l.flexbgOffset(u, g, prev, remGrps, ib)
	b, ok := u.getFree(start, lastBlk, ib)
	if !ok {
		return fmt.Errorf("%w: no room for the inode table of group %d", ErrNoSpace, g)
	}
	u.mark(b, ib)
	l.InodeTable[g] = b
	return nil
}
