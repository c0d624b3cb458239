package ext4

import (
	"fmt"
	"sort"
)

// dirent is one directory entry to write.
type dirent struct {
	name  string
	ino   uint32
	ftype uint8
}

func recLen(nameLen int) int { return (8 + nameLen + 3) &^ 3 }

const (
	leafRoom   = BlockSize - 12                     // a leaf block minus its checksum tail
	dxRootLim  = (BlockSize - 0x20 - 8) / 8         // dx_root entries (dx_tail excluded)
	dxNodeLim  = (BlockSize - 0x8 - 8) / 8          // dx_node entries
	emptyBlock = "\x00\x00\x00\x00\xf4\x0f\x00\x00" // inode 0, rec_len 4084
)

// putDirent writes one entry at b and returns its record length.
func putDirent(b []byte, ino uint32, rec int, name string, ftype uint8) {
	le.PutUint32(b[0x0:], ino)         // 0x0 inode
	le.PutUint16(b[0x4:], uint16(rec)) // 0x4 rec_len
	b[0x6] = uint8(len(name))          // 0x6 name_len
	b[0x7] = ftype                     // 0x7 file_type
	copy(b[0x8:], name)                // 0x8 name
}

// putLeafTail writes the checksum tail of a leaf block.
func putLeafTail(b []byte, iseed uint32) {
	t := b[BlockSize-12:]
	le.PutUint32(t[0x0:], 0)                                  // 0x0 det_reserved_zero1
	le.PutUint16(t[0x4:], 12)                                 // 0x4 det_rec_len
	t[0x6] = 0                                                // 0x6 det_reserved_zero2
	t[0x7] = FtDirCsum                                        // 0x7 det_reserved_ft
	le.PutUint32(t[0x8:], crc32cRaw(iseed, b[:BlockSize-12])) // 0x8 det_checksum
}

// linearSize is the room '.', '..' and the entries take in one block.
func linearSize(es []dirent) int {
	n := 12 + 12
	for _, e := range es {
		n += recLen(len(e.name))
	}
	return n
}

// dirBlocks builds the blocks of a directory: one linear block (padded
// with empty blocks up to minBlocks) when everything fits, an htree
// otherwise. It returns the blocks, in memory from alloc (n zero bytes),
// and whether the directory is indexed.
func dirBlocks(self, parent uint32, es []dirent, minBlocks int, hseed *[4]uint32, fsSeed uint32, alloc func(n int) []byte) ([]byte, bool, error) {
	iseed := inodeSeed(fsSeed, self)
	if linearSize(es) <= leafRoom {
		n := max(1, minBlocks)
		out := alloc(n * BlockSize)
		b := out[:BlockSize]
		putDirent(b[0:], self, 12, ".", FtDir)
		off := 12
		rest := es
		last := func(i int) bool { return i == len(rest)-1 }
		if len(es) == 0 {
			putDirent(b[off:], parent, leafRoom-off, "..", FtDir)
		} else {
			putDirent(b[off:], parent, 12, "..", FtDir)
			off += 12
			for i, e := range rest {
				r := recLen(len(e.name))
				if last(i) {
					r = leafRoom - off
				}
				putDirent(b[off:], e.ino, r, e.name, e.ftype)
				off += r
			}
		}
		putLeafTail(b, iseed)
		for i := 1; i < n; i++ {
			eb := out[i*BlockSize : (i+1)*BlockSize]
			copy(eb, emptyBlock)
			putLeafTail(eb, iseed)
		}
		return out, false, nil
	}
	return htree(self, parent, es, hseed, iseed, alloc)
}

// dxEntry is one index entry: the lowest hash of a block and the block.
type dxEntry struct{ hash, block uint32 }

// hashed is an entry with its hash.
type hashed struct {
	dirent
	hash, minor uint32
}

// htree builds a hashed directory: block 0 the dx_root, then index nodes,
// then the leaves, filled in hash order.
func htree(self, parent uint32, es []dirent, hseed *[4]uint32, iseed uint32, alloc func(n int) []byte) ([]byte, bool, error) {
	hs := make([]hashed, len(es))
	for i, e := range es {
		h, m := dirHash(e.name, hseed)
		hs[i] = hashed{e, h, m}
	}
	sort.Slice(hs, func(i, j int) bool {
		a, b := &hs[i], &hs[j]
		if a.hash != b.hash {
			return a.hash < b.hash
		}
		if a.minor != b.minor {
			return a.minor < b.minor
		}
		return a.name < b.name
	})
	// Pack leaves; starts[i] is the index of the first entry of leaf i.
	var starts []int
	used := leafRoom
	for i := range hs {
		r := recLen(len(hs[i].name))
		if used+r > leafRoom {
			starts = append(starts, i)
			used = 0
		}
		used += r
	}
	leaves := len(starts)
	// Index levels: entries of level k+1 index the blocks of level k.
	level := make([]dxEntry, leaves)
	nodes := 0
	levels := 0
	count := leaves
	for count > dxRootLim {
		n := (count + dxNodeLim - 1) / dxNodeLim
		levels++
		nodes += n
		count = n
	}
	if levels > 2 {
		return nil, false, fmt.Errorf("%w: directory %d has too many entries (%d)", ErrTree, self, len(es))
	}
	total := 1 + nodes + leaves
	out := alloc(total * BlockSize)
	firstLeaf := 1 + nodes
	// Leaves.
	for li, s := range starts {
		e := len(hs)
		if li+1 < leaves {
			e = starts[li+1]
		}
		b := out[(firstLeaf+li)*BlockSize : (firstLeaf+li+1)*BlockSize]
		off := 0
		for i := s; i < e; i++ {
			r := recLen(len(hs[i].name))
			if i == e-1 {
				r = leafRoom - off
			}
			putDirent(b[off:], hs[i].ino, r, hs[i].name, hs[i].ftype)
			off += r
		}
		putLeafTail(b, iseed)
		h := hs[s].hash
		if li > 0 && hs[s-1].hash == h {
			h |= 1 // continues the hash run of the previous leaf
		}
		level[li] = dxEntry{h, uint32(firstLeaf + li)}
	}
	// Index nodes, bottom-up; the top level's nodes follow the root.
	next := 1 + nodes // blocks are handed out downward from here
	for range levels {
		n := (len(level) + dxNodeLim - 1) / dxNodeLim
		next -= n
		up := make([]dxEntry, n)
		for k := 0; k < n; k++ {
			part := level[k*dxNodeLim : min((k+1)*dxNodeLim, len(level))]
			blk := next + k
			b := out[blk*BlockSize : (blk+1)*BlockSize]
			putDirent(b, 0, BlockSize, "", 0)
			putDxEntries(b, 0x8, dxNodeLim, part, iseed)
			up[k] = dxEntry{part[0].hash, uint32(blk)}
		}
		level = up
	}
	// Root.
	b := out[:BlockSize]
	putDirent(b[0:], self, 12, ".", FtDir)
	putDirent(b[12:], parent, BlockSize-12, "..", FtDir)
	r := b[0x18:]
	le.PutUint32(r[0x0:], 0) // 0x0 reserved_zero
	r[0x4] = HashHalfMD4     // 0x4 hash_version
	r[0x5] = 8               // 0x5 info_length
	r[0x6] = uint8(levels)   // 0x6 indirect_levels
	r[0x7] = 0               // 0x7 unused_flags
	putDxEntries(b, 0x20, dxRootLim, level, iseed)
	return out, true, nil
}

// putDxEntries writes a dx_countlimit and entries at off in an index
// block, then its dx_tail checksum.
func putDxEntries(b []byte, off, limit int, es []dxEntry, iseed uint32) {
	le.PutUint16(b[off+0x0:], uint16(limit))   // 0x0 limit
	le.PutUint16(b[off+0x2:], uint16(len(es))) // 0x2 count
	le.PutUint32(b[off+0x4:], es[0].block)     // 0x4 block (hash 0)
	for i := 1; i < len(es); i++ {
		le.PutUint32(b[off+8*i:], es[i].hash)    // dx_entry hash
		le.PutUint32(b[off+8*i+4:], es[i].block) // dx_entry block
	}
	tail := off + 8*limit
	le.PutUint32(b[tail:], 0) // dt_reserved
	c := crc32cRaw(iseed, b[:off+8*len(es)])
	c = crc32cRaw(c, b[tail:tail+4])
	c = crc32cRaw(c, []byte{0, 0, 0, 0})
	le.PutUint32(b[tail+4:], c) // dt_checksum
}
