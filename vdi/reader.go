package vdi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/purefs/purefs/sparse"
)

// Reader reads the virtual disk of a VDI image. It is a sparse.Source.
// Its methods are safe for concurrent use.
type Reader struct {
	r        io.ReaderAt
	fileSize int64
	h        header
	bmap     []uint32 // file offset of block i = offsetData + bmap[i]*blockSize
}

// Open parses the VDI image in r, a file of size bytes. The block map is
// read only after its extent has been checked against size.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	if size < headerSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a header", ErrNotVDI, size)
	}
	b := make([]byte, headerSize)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("vdi: reading header: %w", err)
	}
	rd := &Reader{r: r, fileSize: size}
	if err := rd.h.decode(b); err != nil {
		return nil, err
	}
	h := &rd.h
	bmapEnd := int64(h.offsetBmap) + 4*int64(h.blocksInImage)
	if bmapEnd > size {
		return nil, fmt.Errorf("%w: block map of %d entries at %#x runs past the end of the %d-byte file", ErrCorrupt, h.blocksInImage, h.offsetBmap, size)
	}
	raw := make([]byte, 4*int64(h.blocksInImage))
	if _, err := r.ReadAt(raw, int64(h.offsetBmap)); err != nil {
		return nil, fmt.Errorf("vdi: reading block map: %w", err)
	}
	rd.bmap = make([]uint32, h.blocksInImage)
	for i := range rd.bmap {
		v := binary.LittleEndian.Uint32(raw[4*i:])
		if v != bmapFree && v != bmapZero {
			if v >= h.blocksInImage {
				return nil, fmt.Errorf("%w: block %d maps to slot %d of %d", ErrCorrupt, i, v, h.blocksInImage)
			}
			if off := int64(h.offsetData) + int64(v)*int64(h.blockSize); off >= size {
				return nil, fmt.Errorf("%w: block %d at %d lies past the end of the %d-byte file", ErrCorrupt, i, off, size)
			}
		}
		rd.bmap[i] = v
	}
	return rd, nil
}

// Size returns the virtual disk size.
func (rd *Reader) Size() int64 { return int64(rd.h.diskSize) }

// Static reports whether the image is static (VirtualBox's "fixed").
func (rd *Reader) Static() bool { return rd.h.imageType == typeStatic }

// UUID returns the creation UUID as stored; ModUUID the modification UUID.
func (rd *Reader) UUID() [16]byte    { return rd.h.uuidImage }
func (rd *Reader) ModUUID() [16]byte { return rd.h.uuidLastSnap }

// ReadAt reads the virtual disk; unallocated blocks read as zeros.
func (rd *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vdi: negative offset %d", off)
	}
	size := rd.Size()
	if off >= size {
		return 0, io.EOF
	}
	want := len(p)
	p = p[:min(int64(len(p)), size-off)]
	bs := int64(rd.h.blockSize)
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		idx, in := pos/bs, pos%bs
		chunk := p[n:min(int64(len(p)), int64(n)+bs-in)]
		v := rd.bmap[idx]
		if v == bmapFree || v == bmapZero {
			clear(chunk)
		} else {
			m, err := rd.r.ReadAt(chunk, int64(rd.h.offsetData)+int64(v)*bs+in)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					return n + m, fmt.Errorf("vdi: reading block %d: %w", idx, err)
				}
				clear(chunk[m:]) // a truncated last block reads as zeros
			}
		}
		n += len(chunk)
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}

// DataRanges returns the allocated blocks, merged and clipped to Size.
// When the image is an *os.File, the parts of blocks that are holes in
// the file (zero pages, a static image's unwritten blocks) are left out.
func (rd *Reader) DataRanges() ([]sparse.Range, error) {
	m, err := sparse.NewExtentMap(rd.r, rd.fileSize)
	if err != nil {
		return nil, err
	}
	bs := int64(rd.h.blockSize)
	return m.AddBlocks(nil, int64(len(rd.bmap)), bs, rd.Size(), func(i int64) (int64, bool) {
		v := rd.bmap[i]
		return int64(rd.h.offsetData) + int64(v)*bs, v != bmapFree && v != bmapZero
	}), nil
}
