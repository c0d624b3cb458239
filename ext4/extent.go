package ext4

// extent maps Len blocks of a file from logical block Logical to
// physical block Phys (Len <= MaxExtentLen).
type extent struct {
	Logical uint32
	Len     uint32
	Phys    uint64
}

// extentsPerBlock is eh_max of an extent tree block (the 4-byte tail after).
const extentsPerBlock = (BlockSize - 12 - 4) / 12

// appendExtent adds blocks [logical, logical+n) at phys, merging with the
// last extent when contiguous and splitting at MaxExtentLen.
func appendExtent(es []extent, logical uint32, phys uint64, n uint64) []extent {
	for n > 0 {
		if k := len(es); k > 0 {
			l := &es[k-1]
			if l.Logical+l.Len == logical && l.Phys+uint64(l.Len) == phys && l.Len < MaxExtentLen {
				take := min(n, uint64(MaxExtentLen-l.Len))
				l.Len += uint32(take)
				logical += uint32(take)
				phys += take
				n -= take
				continue
			}
		}
		take := min(n, MaxExtentLen)
		es = append(es, extent{logical, uint32(take), phys})
		logical += uint32(take)
		phys += take
		n -= take
	}
	return es
}

func putExtentHeader(b []byte, entries, max, depth int) {
	le.PutUint16(b[0x0:], ExtentMagic)     // 0x0 eh_magic
	le.PutUint16(b[0x2:], uint16(entries)) // 0x2 eh_entries
	le.PutUint16(b[0x4:], uint16(max))     // 0x4 eh_max
	le.PutUint16(b[0x6:], uint16(depth))   // 0x6 eh_depth
	le.PutUint32(b[0x8:], 0)               // 0x8 eh_generation
}

func putExtent(b []byte, e extent) {
	le.PutUint32(b[0x0:], e.Logical)          // 0x0 ee_block
	le.PutUint16(b[0x4:], uint16(e.Len))      // 0x4 ee_len
	le.PutUint16(b[0x6:], uint16(e.Phys>>32)) // 0x6 ee_start_hi
	le.PutUint32(b[0x8:], uint32(e.Phys))     // 0x8 ee_start_lo
}

func putExtentIdx(b []byte, logical uint32, leaf uint64) {
	le.PutUint32(b[0x0:], logical)          // 0x0 ei_block
	le.PutUint32(b[0x4:], uint32(leaf))     // 0x4 ei_leaf_lo
	le.PutUint16(b[0x8:], uint16(leaf>>32)) // 0x8 ei_leaf_hi
	le.PutUint16(b[0xA:], 0)                // 0xA ei_unused
}

// treeBlock is an extent tree block to write at Blk.
type treeBlock struct {
	Blk  uint64
	Data []byte
}

// extentTree builds the i_block of a file and, when more than four
// extents, its index and leaf blocks, placed at blocks from alloc (which
// is called once with the number needed).
func extentTree(es []extent, iseed uint32, alloc func(n uint64) ([]uint64, error)) ([60]byte, []treeBlock, error) {
	var ib [60]byte
	if len(es) <= 4 {
		putExtentHeader(ib[:], len(es), 4, 0)
		for i, e := range es {
			putExtent(ib[12+12*i:], e)
		}
		return ib, nil, nil
	}
	// Count blocks per level, bottom-up, until four entries fit the inode.
	var counts []int
	n := len(es)
	for n > 4 {
		n = (n + extentsPerBlock - 1) / extentsPerBlock
		counts = append(counts, n)
	}
	total := 0
	for _, c := range counts {
		total += c
	}
	blks, err := alloc(uint64(total))
	if err != nil {
		return ib, nil, err
	}
	var out []treeBlock
	type ref struct {
		logical uint32
		blk     uint64
	}
	var refs []ref
	next := 0
	for depth, c := range counts {
		var up []ref
		for k := 0; k < c; k++ {
			b := make([]byte, BlockSize)
			blk := blks[next]
			next++
			var first uint32
			if depth == 0 {
				part := es[k*extentsPerBlock : min((k+1)*extentsPerBlock, len(es))]
				putExtentHeader(b, len(part), extentsPerBlock, 0)
				for i, e := range part {
					putExtent(b[12+12*i:], e)
				}
				first = part[0].Logical
			} else {
				part := refs[k*extentsPerBlock : min((k+1)*extentsPerBlock, len(refs))]
				putExtentHeader(b, len(part), extentsPerBlock, depth)
				for i, r := range part {
					putExtentIdx(b[12+12*i:], r.logical, r.blk)
				}
				first = part[0].logical
			}
			tail := 12 + 12*extentsPerBlock
			le.PutUint32(b[tail:], crc32cRaw(iseed, b[:tail])) // et_checksum
			out = append(out, treeBlock{blk, b})
			up = append(up, ref{first, blk})
		}
		refs = up
	}
	putExtentHeader(ib[:], len(refs), 4, len(counts))
	for i, r := range refs {
		putExtentIdx(ib[12+12*i:], r.logical, r.blk)
	}
	return ib, out, nil
}
