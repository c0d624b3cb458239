package ext4

import (
	"errors"
	"fmt"

	"github.com/purefs/purefs/internal/hostio"
	"github.com/purefs/purefs/sparse"
)

// copyChunk is the size of one read from a source file.
const copyChunk = 1 << 20

// fileCopy is the state of copying one regular file.
type fileCopy struct {
	wr     *writer
	ino    uint32
	queued bool   // whole blocks went to the mover, which must close src
	region int    // where the bump allocator takes the blocks from
	src    int    // the open source, or -1 for data held in memory
	tail   []byte // the partial last block when prefetched, else nil
	size   int64
	es     []extent
	nblk   uint64
}

// placeFile allocates and writes the data of a regular file: holes and
// all-zero blocks get no blocks.
func (wr *writer) placeFile(ino uint32, r *inodeRec) error {
	n := r.n
	fc := &fileCopy{wr: wr, ino: ino, src: -1, size: n.Size}
	switch {
	case n.Data != nil:
		fc.size = int64(len(n.Data))
		if err := fc.fromBytes(n.Data); err != nil {
			return err
		}
	case n.Size == 0:
	case n.Source == "":
		return fmt.Errorf("%w: %s: regular file of %d bytes without a source", ErrTree, pathOf(wr.recs, ino), n.Size)
	default:
		it, err := wr.pf.Next()
		if err != nil {
			return wr.moveErr(err)
		}
		if it == nil || it.Src != n.Source {
			return fmt.Errorf("%w: %s: prefetch out of step", ErrTree, pathOf(wr.recs, ino))
		}
		err = it.Err
		if err == nil && it.Data != nil {
			// With the source still open, blocks already read are
			// cloned where the window's file system can (canClone).
			fc.src = it.Fd
			err = fc.fromBytes(it.Data)
		} else if err == nil {
			fc.src, fc.tail = it.Fd, it.Tail
			if wr.opts.NoZeroScan {
				fc.region = cloneRegion // see cloneReserve
			}
			err = fc.fromRanges(it.Ranges)
		}
		if fc.queued {
			// The mover closes the source after its last job.
			wr.mv.Close(it.Fd)
			it.Fd = -1
		}
		wr.pf.Release(it)
		if err != nil {
			// Running out of space, a write to the window that failed
			// and a source the mover could not read (which it names)
			// are not this file's to report.
			var we *windowError
			if errors.Is(err, ErrNoSpace) || errors.Is(err, ErrSource) || errors.As(err, &we) {
				return err
			}
			return fmt.Errorf("%w: %s (from %s): %v", ErrSource, pathOf(wr.recs, ino), n.Source, err)
		}
	}
	r.size = uint64(fc.size)
	if err := wr.setExtents(ino, r, fc.es, fc.nblk); err != nil {
		return err
	}
	return nil
}

// fromBytes writes data held in memory, skipping all-zero blocks. The
// last block may be partial.
func (fc *fileCopy) fromBytes(d []byte) error {
	nb := (len(d) + BlockSize - 1) / BlockSize
	blk := func(i int) []byte { return d[i*BlockSize : min((i+1)*BlockSize, len(d))] }
	for b := 0; b < nb; {
		if sparse.IsZero(blk(b)) {
			b++
			continue
		}
		e := b + 1
		for e < nb && !sparse.IsZero(blk(e)) {
			e++
		}
		if err := fc.emit(uint64(b), d[b*BlockSize:min(e*BlockSize, len(d))], uint64(e-b)); err != nil {
			return err
		}
		b = e
	}
	return nil
}

// fromRanges copies the data ranges of the source, skipping all-zero
// blocks unless NoZeroScan.
func (fc *fileCopy) fromRanges(ranges []sparse.Range) error {
	var b0, b1 uint64 // pending block range
	flush := func() error {
		if b1 > b0 {
			return fc.blockRange(b0, b1)
		}
		return nil
	}
	for _, r := range ranges {
		s := uint64(r.Off) / BlockSize
		e := (uint64(r.End()) + BlockSize - 1) / BlockSize
		if s <= b1 && b1 > b0 {
			b1 = max(b1, e)
			continue
		}
		if err := flush(); err != nil {
			return err
		}
		b0, b1 = s, e
	}
	return flush()
}

// blockRange copies file blocks [b0, b1).
func (fc *fileCopy) blockRange(b0, b1 uint64) error {
	wr := fc.wr
	if wr.opts.NoZeroScan {
		return fc.emit(b0, nil, b1-b0)
	}
	for b := b0; b < b1; {
		buf := wr.chunk()
		k := min(b1-b, uint64(len(buf)/BlockSize))
		err := fc.scanChunk(buf[:k*BlockSize], b)
		// The chunk is reused once what bufWrite took from it is written.
		if rerr := wr.retireChunk(buf); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
		b += k
	}
	return nil
}

// scanChunk reads file blocks from b into chunk and writes those that
// are not all zeros.
func (fc *fileCopy) scanChunk(chunk []byte, b uint64) error {
	if err := hostio.PreadFull(fc.src, chunk, int64(b)*BlockSize); err != nil {
		return err
	}
	k := uint64(len(chunk) / BlockSize)
	for i := uint64(0); i < k; {
		if sparse.IsZero(chunk[i*BlockSize : (i+1)*BlockSize]) {
			i++
			continue
		}
		j := i + 1
		for j < k && !sparse.IsZero(chunk[j*BlockSize:(j+1)*BlockSize]) {
			j++
		}
		if err := fc.emit(b+i, chunk[i*BlockSize:j*BlockSize], j-i); err != nil {
			return err
		}
		i = j
	}
	return nil
}

// emit allocates count blocks for file blocks from logical and writes
// them: from data when given, else straight from the source.
func (fc *fileCopy) emit(logical uint64, data []byte, count uint64) error {
	wr := fc.wr
	if logical+count > 1<<32 {
		return fmt.Errorf("%w: file larger than 16 TiB", ErrTree)
	}
	runs, ok := wr.alloc.allocIn(fc.region, count)
	if !ok {
		return wr.noSpace()
	}
	for _, r := range runs {
		n := int64(r.Len) * BlockSize
		var part []byte
		if data != nil {
			k := min(n, int64(len(data)))
			part = data[:k]
			data = data[k:]
		}
		if err := fc.write(int64(logical)*BlockSize, part, n, r.Start); err != nil {
			return err
		}
		fc.es = appendExtent(fc.es, uint32(logical), r.Start, r.Len)
		fc.nblk += r.Len
		logical += r.Len
	}
	return nil
}

// write puts n bytes of the file at offset off into the image at block
// blk: whole blocks by copy_file_range on the mover when the window is a
// file (so that reflinks can share them), the partial tail from data or a
// read.
func (fc *fileCopy) write(off int64, data []byte, n int64, blk uint64) error {
	wr := fc.wr
	n = min(n, fc.size-off) // never past the end of the file
	if n <= 0 {
		return nil
	}
	whole := n &^ (BlockSize - 1)
	if fc.src >= 0 && wr.mv != nil && wr.mv.CanCopy() && whole > 0 && (data == nil || fc.canClone(off, whole, blk)) {
		if err := wr.mv.Copy(fc.src, off, int64(blk)*BlockSize, whole, fc.ino); err != nil {
			return wr.moveErr(err)
		}
		fc.queued = true
		off += whole
		n -= whole
		blk += uint64(whole / BlockSize)
		if data != nil {
			data = data[whole:]
		}
		if n == 0 {
			return nil
		}
	}
	if data != nil {
		return wr.bufWriteIn(fc.region, data[:n], blk)
	}
	if fc.tail != nil && n == int64(len(fc.tail)) && off+n == fc.size {
		return wr.bufWriteIn(fc.region, fc.tail, blk)
	}
	for n > 0 {
		c := wr.chunk()
		k := min(n, int64(len(c)))
		p := c[:k]
		err := hostio.PreadFull(fc.src, p, off)
		if err == nil {
			err = wr.bufWriteIn(fc.region, p, blk)
		}
		if rerr := wr.retireChunk(c); err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
		off += k
		n -= k
		blk += uint64(k / BlockSize)
	}
	return nil
}

// canClone reports whether whole blocks already read for the zero scan
// should still go through copy_file_range: only where the file system
// shares extents (FICLONERANGE works), since elsewhere it would copy the
// data a second time. The first call probes with this very range.
func (fc *fileCopy) canClone(off, n int64, blk uint64) bool {
	wr := fc.wr
	if wr.clone != 0 {
		return wr.clone > 0
	}
	if err := wr.win.Clone(fc.src, off, int64(blk)*BlockSize, n); err != nil {
		wr.clone = -1
		return false
	}
	wr.clone = 1
	return true // copy_file_range of a cloned range clones again: harmless
}

// moveErr names the file of a mover's failure.
func (wr *writer) moveErr(err error) error {
	var me *hostio.MoveError
	if !errors.As(err, &me) {
		return err
	}
	if !me.Source {
		return &windowError{fmt.Errorf("ext4: %w", me.Err)}
	}
	return fmt.Errorf("%w: %s (from %s): %v", ErrSource, pathOf(wr.recs, me.Tag), wr.recs[me.Tag].n.Source, me.Err)
}

// windowError is a write to the window that failed.
type windowError struct{ err error }

func (e *windowError) Error() string { return e.err.Error() }
func (e *windowError) Unwrap() error { return e.err }
