package ext4

import (
	"sort"

	"github.com/purefs/purefs/tree"
)

// finish writes the inode tables, bitmaps, group descriptors and
// superblocks.
func (wr *writer) finish() error {
	l := wr.l
	if wr.largeDir {
		wr.sb.FeatureIncompat |= IncompatLargeDir
	}
	descs := make([]GroupDesc, l.Groups)
	if err := wr.writeInodeTables(descs); err != nil {
		return err
	}
	if err := wr.writeBlockBitmaps(descs); err != nil {
		return err
	}
	if err := wr.writeInodeBitmaps(descs); err != nil {
		return err
	}
	gdt := make([]byte, int(l.DescBlocks)*BlockSize)
	for g := range descs {
		d := &descs[g]
		d.BlockBitmap, d.InodeBitmap, d.InodeTable = l.BlockBitmap[g], l.InodeBitmap[g], l.InodeTable[g]
		d.Flags |= BGItableZeroed
		d.Encode(gdt[g*DescSize:], wr.seed, uint32(g))
		wr.sb.FreeBlocksCount += uint64(d.FreeBlocksCount)
		wr.sb.FreeInodesCount += d.FreeInodesCount
	}
	sbBuf := make([]byte, BlockSize)
	for g := uint32(0); g < l.Groups; g++ {
		if !hasSuper(g) {
			continue
		}
		wr.sb.BlockGroupNr = uint16(g) // only backups in the first 65536 groups are read by number
		clear(sbBuf)
		if g == 0 {
			wr.sb.Encode(sbBuf[SuperblockOff:])
		} else {
			wr.sb.Encode(sbBuf)
		}
		if err := wr.writeAt(sbBuf, l.groupFirst(g)); err != nil {
			return err
		}
		if err := wr.writeAt(gdt, l.groupFirst(g)+1); err != nil {
			return err
		}
	}
	return nil
}

// inodeOf builds inode num and its in-inode attributes.
func (wr *writer) inodeOf(num uint32) (Inode, []xentry, error) {
	now := wr.now
	switch num {
	case 1:
		return Inode{Small: true, Atime: now, Ctime: now, Mtime: now}, nil, nil
	case ResizeIno:
		return wr.resizeInode(), nil, nil
	case JournalIno:
		r := &wr.recs[num]
		return Inode{Mode: SIFREG | 0o600, LinksCount: 1, Size: r.size, Blocks: r.blocks * (BlockSize / 512),
			Flags: r.flags, Block: r.iblock, Atime: now, Ctime: now, Mtime: now, Crtime: now}, nil, nil
	case RootIno, LostFound:
	default:
		if num < FirstIno {
			return Inode{Small: true}, nil, nil
		}
	}
	r := &wr.recs[num]
	ino := Inode{LinksCount: uint16(r.links), Size: r.size, Blocks: r.blocks * (BlockSize / 512),
		Flags: r.flags, Block: r.iblock, FileACL: r.xattrB}
	n := r.n
	if n == nil { // lost+found made here
		ino.Mode = SIFDIR | 0o700
		ino.Atime, ino.Ctime, ino.Mtime, ino.Crtime = now, now, now, now
	} else {
		ino.Mode = modeType(n.Type) | uint16(n.Perm&0o7777)
		ino.UID, ino.GID = n.UID, n.GID
		ino.Atime, ino.Ctime, ino.Mtime = wr.fileTime(n.Atime), wr.fileTime(n.Ctime), wr.fileTime(n.Mtime)
		if wr.opts.HasEpoch {
			// Reading a source moves its access time: with an epoch the
			// output must not depend on earlier reads.
			ino.Atime = ino.Mtime
		}
		ino.Crtime = wr.fileTime(n.Btime)
		if n.Btime.IsZero() {
			ino.Crtime = ino.Ctime
		}
	}
	if o := wr.opts.Owner; o != nil {
		ino.UID, ino.GID = o.UID, o.GID
	}
	var in []xentry
	if n != nil && len(n.Xattrs) > 0 {
		es, err := makeXentries(pathOf(wr.recs, num), n.Xattrs)
		if err != nil {
			return ino, nil, err
		}
		in, _, _ = splitXattrs(es)
	}
	return ino, in, nil
}

func modeType(t tree.Type) uint16 {
	switch t {
	case tree.Regular:
		return SIFREG
	case tree.Dir:
		return SIFDIR
	case tree.Symlink:
		return SIFLNK
	case tree.CharDev:
		return SIFCHR
	case tree.BlockDev:
		return SIFBLK
	case tree.FIFO:
		return SIFIFO
	case tree.Socket:
		return SIFSOCK
	}
	return 0
}

// writeInodeTables writes the used part of each group's inode table and
// fills the inode counts of descs.
func (wr *writer) writeInodeTables(descs []GroupDesc) error {
	l := wr.l
	last := uint32(len(wr.recs) - 1) // highest inode number in use
	ipg := l.InodesPerGroup
	buf := make([]byte, 0, 1<<20)
	var bufOff uint64
	for g := uint32(0); g < l.Groups; g++ {
		first := g*ipg + 1
		cnt := uint32(0)
		if last >= first {
			cnt = min(last-first+1, ipg)
		}
		d := &descs[g]
		d.FreeInodesCount = ipg - cnt
		d.ItableUnused = ipg - cnt
		if cnt == 0 {
			if g > 0 {
				d.Flags |= BGInodeUninit
			}
			continue
		}
		// Encode through one reused buffer, written when full: the
		// tables of consecutive groups are contiguous with flex_bg.
		for i := uint32(0); i < cnt; i++ {
			num := first + i
			ino, in, err := wr.inodeOf(num)
			if err != nil {
				return err
			}
			if wr.recs[num].isDir {
				d.UsedDirsCount++
			}
			pos := l.InodeTable[g]*BlockSize + uint64(i)*InodeSize
			if len(buf) > 0 && (bufOff+uint64(len(buf)) != pos || len(buf) == cap(buf)) {
				if err := wr.writeBytes(buf, bufOff); err != nil {
					return err
				}
				buf = buf[:0]
			}
			if len(buf) == 0 {
				bufOff = pos
			}
			buf = buf[:len(buf)+InodeSize]
			b := buf[len(buf)-InodeSize:]
			clear(b)
			encodeInodeXattrs(b, in)
			ino.Encode(b, wr.seed, num)
		}
	}
	if len(buf) > 0 {
		return wr.writeBytes(buf, bufOff)
	}
	return nil
}

// usedSpans returns every allocated block run, ascending.
func (wr *writer) usedSpans() []span {
	out := append([]span(nil), wr.used.runs...)
	out = append(out, wr.alloc.taken()...)
	sort.Slice(out, func(i, j int) bool { return out[i].Start < out[j].Start })
	return out
}

// batchWriter joins writes of consecutive blocks into one.
type batchWriter struct {
	wr    *writer
	start uint64
	buf   []byte
}

func (b *batchWriter) add(blk uint64, data []byte) error {
	if len(b.buf) > 0 && (b.start+uint64(len(b.buf)/BlockSize) != blk || len(b.buf) >= 1<<22) {
		if err := b.flush(); err != nil {
			return err
		}
	}
	if len(b.buf) == 0 {
		b.start = blk
	}
	b.buf = append(b.buf, data...)
	return nil
}

func (b *batchWriter) flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	err := b.wr.writeAt(b.buf, b.start)
	b.buf = b.buf[:0]
	return err
}

// writeBlockBitmaps counts used blocks per group and writes the bitmaps of
// groups that are not BLOCK_UNINIT.
func (wr *writer) writeBlockBitmaps(descs []GroupDesc) error {
	l := wr.l
	spans := wr.usedSpans()
	bw := &batchWriter{wr: wr}
	bm := make([]byte, BlockSize)
	k := 0
	for g := uint32(0); g < l.Groups; g++ {
		gf, gl := l.groupFirst(g), l.groupLast(g)+1
		for k < len(spans) && spans[k].end() <= gf {
			k++
		}
		var used uint64
		for j := k; j < len(spans) && spans[j].Start < gl; j++ {
			used += min(spans[j].end(), gl) - max(spans[j].Start, gf)
		}
		d := &descs[g]
		d.FreeBlocksCount = uint32(l.groupBlocks(g) - used)
		if g != l.Groups-1 && used == l.superBlocks(g) {
			d.Flags |= BGBlockUninit
			continue
		}
		clear(bm)
		for j := k; j < len(spans) && spans[j].Start < gl; j++ {
			a, b := max(spans[j].Start, gf)-gf, min(spans[j].end(), gl)-gf
			setBits(bm, a, b)
		}
		setBits(bm, gl-gf, BlocksPerGroup) // past the end of a short last group
		d.BlockBitmapCsum = crc32cRaw(wr.seed, bm)
		if err := bw.add(l.BlockBitmap[g], bm); err != nil {
			return err
		}
	}
	return bw.flush()
}

// writeInodeBitmaps writes the inode bitmaps of groups with used inodes.
func (wr *writer) writeInodeBitmaps(descs []GroupDesc) error {
	l := wr.l
	bw := &batchWriter{wr: wr}
	bm := make([]byte, BlockSize)
	for g := uint32(0); g < l.Groups; g++ {
		d := &descs[g]
		if d.Flags&BGInodeUninit != 0 {
			continue
		}
		clear(bm)
		setBits(bm, 0, uint64(l.InodesPerGroup-d.FreeInodesCount))
		setBits(bm, uint64(l.InodesPerGroup), BlockSize*8)
		d.InodeBitmapCsum = crc32cRaw(wr.seed, bm[:l.InodesPerGroup/8])
		if err := bw.add(l.InodeBitmap[g], bm); err != nil {
			return err
		}
	}
	return bw.flush()
}

// setBits sets bits [a, b) of bm.
func setBits(bm []byte, a, b uint64) {
	for ; a < b && a&7 != 0; a++ {
		bm[a>>3] |= 1 << (a & 7)
	}
	for ; a+8 <= b; a += 8 {
		bm[a>>3] = 0xFF
	}
	for ; a < b; a++ {
		bm[a>>3] |= 1 << (a & 7)
	}
}
