package ext4

import (
	"fmt"

	"github.com/purefs/purefs/tree"
)

// placeDir builds directory ino's blocks, allocates and writes them.
func (wr *writer) placeDir(ino uint32, alloc func(uint64) ([]span, error)) error {
	r := &wr.recs[ino]
	minBlocks := 1
	if ino == LostFound {
		minBlocks = 4 // mke2fs makes lost+found 16 KiB
	}
	es := dirents(r.n, wr.ino, ino == RootIno)
	var aerr error // a failed write that retiring a buffer found
	data, indexed, err := dirBlocks(ino, r.parent, es, minBlocks, &wr.hseed, wr.seed, func(n int) []byte {
		b, err := wr.metaBlocks(n)
		if err != nil {
			aerr = err
			return make([]byte, n)
		}
		return b
	})
	if err != nil {
		return fmt.Errorf("%s: %w", pathOf(wr.recs, ino), err)
	}
	if aerr != nil {
		return aerr
	}
	if indexed {
		r.flags |= IndexFl
		if data[0x18+6] >= 2 {
			wr.largeDir = true
		}
	}
	n := uint64(len(data) / BlockSize)
	runs, err := alloc(n)
	if err != nil {
		return err
	}
	if err := wr.writeRuns(data, runs); err != nil {
		return err
	}
	r.size = n * BlockSize
	return wr.setExtents(ino, r, runsToExtents(runs), n)
}

// runsToExtents maps consecutive logical blocks from 0 onto runs.
func runsToExtents(runs []span) []extent {
	var es []extent
	var logical uint32
	for _, s := range runs {
		es = appendExtent(es, logical, s.Start, s.Len)
		logical += uint32(s.Len)
	}
	return es
}

// setExtents builds the inode's extent tree over es (n data blocks).
func (wr *writer) setExtents(ino uint32, r *inodeRec, es []extent, n uint64) error {
	ib, blocks, err := extentTree(es, inodeSeed(wr.seed, ino), func(k uint64) ([]uint64, error) {
		var out []uint64
		if wr.alloc == nil {
			runs, err := wr.used.firstFree(wr.treeGoal, k)
			if err != nil {
				return nil, wr.noSpace()
			}
			for _, s := range runs {
				for b := s.Start; b < s.end(); b++ {
					out = append(out, b)
				}
			}
			return out, nil
		}
		runs, ok := wr.alloc.alloc(k)
		if !ok {
			return nil, wr.noSpace()
		}
		for _, s := range runs {
			for b := s.Start; b < s.end(); b++ {
				out = append(out, b)
			}
		}
		return out, nil
	})
	if err != nil {
		return err
	}
	for _, b := range blocks {
		if err := wr.bufWrite(b.Data, b.Blk); err != nil {
			return err
		}
	}
	r.iblock = ib
	r.flags |= ExtentsFl
	r.blocks = n + uint64(len(blocks))
	return nil
}

// placeSymlink stores a short target in i_block, a long one in a block.
func (wr *writer) placeSymlink(ino uint32, r *inodeRec) error {
	t := r.n.Target
	r.size = uint64(len(t))
	if len(t) <= fastSymlinkMax {
		copy(r.iblock[:], t)
		return nil
	}
	runs, ok := wr.alloc.alloc(1)
	if !ok {
		return wr.noSpace()
	}
	b, err := wr.metaBlocks(BlockSize)
	if err != nil {
		return err
	}
	copy(b, t)
	if err := wr.bufWrite(b, runs[0].Start); err != nil {
		return err
	}
	return wr.setExtents(ino, r, runsToExtents(runs), 1)
}

// deviceBlock encodes a device number in i_block as the kernel does: the
// old 16-bit form when major and minor fit in a byte, else the new one.
func deviceBlock(n *tree.Node) [60]byte {
	var ib [60]byte
	if n.Type != tree.CharDev && n.Type != tree.BlockDev {
		return ib
	}
	ma, mi := n.Major, n.Minor
	if ma < 256 && mi < 256 {
		le.PutUint32(ib[0:], ma<<8|mi) // i_block[0]: old_encode_dev
		return ib
	}
	le.PutUint32(ib[4:], (mi&0xff)|(ma&0xfff)<<8|(mi&^0xff)<<12) // i_block[1]: new_encode_dev
	return ib
}

// placeXattrs puts the attributes that do not fit in inode ino into a
// shared xattr block.
func (wr *writer) placeXattrs(ino uint32) error {
	r := &wr.recs[ino]
	if r.n == nil || len(r.n.Xattrs) == 0 {
		return nil
	}
	es, err := makeXentries(pathOf(wr.recs, ino), r.n.Xattrs)
	if err != nil {
		return err
	}
	_, blk, ok := splitXattrs(es)
	if len(blk) == 0 && ok {
		return nil
	}
	data, ok := encodeXattrBlock(blk)
	if !ok {
		return fmt.Errorf("%w: %s: %d attributes do not fit in the inode and one block", ErrXattr, pathOf(wr.recs, ino), len(es))
	}
	key := string(data)
	x := wr.xblocks[key]
	if x == nil {
		runs, ok := wr.alloc.alloc(1)
		if !ok {
			return wr.noSpace()
		}
		x = &xblock{blk: runs[0].Start, data: data}
		wr.xblocks[key] = x
		wr.xorder = append(wr.xorder, x)
	}
	x.refs++
	r.xattrB = x.blk
	r.blocks++
	return nil
}
