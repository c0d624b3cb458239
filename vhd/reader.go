package vhd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/purefs/purefs/sparse"
)

// Reader reads the virtual disk of a fixed or dynamic VHD. It is a
// sparse.Source.
// Its methods are safe for concurrent use.
type Reader struct {
	r        io.ReaderAt
	fileSize int64
	ft       footer
	size     int64
	bs       int64    // block size (dynamic)
	bitmap   int64    // bytes of each block's sector bitmap (dynamic)
	bat      []uint32 // sector of block i's bitmap, or batFree (dynamic)
}

// Open parses the VHD in r, a file of size bytes. It takes the footer at
// the end of the file, or, if that one is damaged, the copy at offset 0
// that dynamic disks keep. Tables are read only after their extent has
// been checked against size.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	if size < footerSize {
		return nil, fmt.Errorf("%w: %d bytes is shorter than a footer", ErrNotVHD, size)
	}
	rd := &Reader{r: r, fileSize: size}
	b := make([]byte, footerSize)
	if _, err := r.ReadAt(b, size-footerSize); err != nil {
		return nil, fmt.Errorf("vhd: reading footer: %w", err)
	}
	errEnd := rd.ft.decode(b)
	if errEnd != nil {
		if _, err := r.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("vhd: reading footer copy: %w", err)
		}
		if err := rd.ft.decode(b); err != nil {
			if errors.Is(errEnd, ErrNotVHD) {
				return nil, err
			}
			return nil, errEnd
		}
		if rd.ft.diskType != diskDynamic {
			return nil, fmt.Errorf("%w: fixed disk without a footer at its end", ErrCorrupt)
		}
	}
	rd.size = rd.ft.virtualSize()
	if rd.size < 0 || rd.size > maxSectors*sectorSize*2 {
		return nil, fmt.Errorf("%w: disk size %d", ErrCorrupt, rd.size)
	}
	if rd.ft.diskType == diskFixed {
		if rd.size > size-footerSize {
			return nil, fmt.Errorf("%w: fixed disk of %d bytes in a %d-byte file", ErrCorrupt, rd.size, size)
		}
		return rd, nil
	}
	return rd, rd.openDynamic(size)
}

func (rd *Reader) openDynamic(size int64) error {
	off := rd.ft.dataOffset
	if off > uint64(size) || uint64(size)-off < dynHeaderSize {
		return fmt.Errorf("%w: dynamic header at %d outside the %d-byte file", ErrCorrupt, off, size)
	}
	b := make([]byte, dynHeaderSize)
	if _, err := rd.r.ReadAt(b, int64(off)); err != nil {
		return fmt.Errorf("vhd: reading dynamic header: %w", err)
	}
	var dh dynHeader
	if err := dh.decode(b); err != nil {
		return err
	}
	rd.bs = int64(dh.blockSize)
	rd.bitmap = (rd.bs/sectorSize/8 + sectorSize - 1) / sectorSize * sectorSize
	if n := int64(dh.maxTableEntries); n*rd.bs < rd.size {
		return fmt.Errorf("%w: %d blocks of %d bytes cannot hold a %d-byte disk", ErrCorrupt, n, rd.bs, rd.size)
	}
	batBytes := 4 * int64(dh.maxTableEntries)
	if dh.tableOffset > uint64(size) || uint64(size)-dh.tableOffset < uint64(batBytes) {
		return fmt.Errorf("%w: BAT of %d entries at %d outside the %d-byte file", ErrCorrupt, dh.maxTableEntries, dh.tableOffset, size)
	}
	raw := make([]byte, batBytes)
	if _, err := rd.r.ReadAt(raw, int64(dh.tableOffset)); err != nil {
		return fmt.Errorf("vhd: reading BAT: %w", err)
	}
	// Only the entries that cover the disk matter.
	n := (rd.size + rd.bs - 1) / rd.bs
	rd.bat = make([]uint32, n)
	for i := range rd.bat {
		v := binary.BigEndian.Uint32(raw[4*i:])
		if v != batFree && int64(v)*sectorSize+rd.bitmap >= size {
			return fmt.Errorf("%w: block %d at sector %d lies past the end of the %d-byte file", ErrCorrupt, i, v, size)
		}
		rd.bat[i] = v
	}
	return nil
}

// Size returns the virtual disk size, computed as qemu computes it.
func (rd *Reader) Size() int64 { return rd.size }

// Fixed reports whether the disk is fixed rather than dynamic.
func (rd *Reader) Fixed() bool { return rd.ft.diskType == diskFixed }

// UUID returns the footer's unique id.
func (rd *Reader) UUID() [16]byte { return rd.ft.uuid }

// Timestamp returns the footer's time stamp in Unix seconds.
func (rd *Reader) Timestamp() int64 { return int64(rd.ft.timestamp) + vhdEpoch }

// ReadAt reads the virtual disk; unallocated blocks read as zeros.
func (rd *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vhd: negative offset %d", off)
	}
	if off >= rd.size {
		return 0, io.EOF
	}
	want := len(p)
	p = p[:min(int64(len(p)), rd.size-off)]
	if rd.Fixed() {
		n, err := rd.r.ReadAt(p, off)
		if err != nil {
			return n, fmt.Errorf("vhd: reading at %d: %w", off, err)
		}
	} else {
		for n := 0; n < len(p); {
			pos := off + int64(n)
			idx, in := pos/rd.bs, pos%rd.bs
			chunk := p[n:min(int64(len(p)), int64(n)+rd.bs-in)]
			if v := rd.bat[idx]; v == batFree {
				clear(chunk)
			} else {
				m, err := rd.r.ReadAt(chunk, int64(v)*sectorSize+rd.bitmap+in)
				if err != nil {
					if !errors.Is(err, io.EOF) {
						return n + m, fmt.Errorf("vhd: reading block %d: %w", idx, err)
					}
					clear(chunk[m:]) // a truncated block reads as zeros
				}
			}
			n += len(chunk)
		}
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// DataRanges returns, for a dynamic VHD, the allocated blocks, merged and
// clipped to Size; for a fixed one, the whole disk. When the image is an
// *os.File, the parts that are holes in the file (zero pages, unwritten
// blocks) are left out.
func (rd *Reader) DataRanges() ([]sparse.Range, error) {
	m, err := sparse.NewExtentMap(rd.r, rd.fileSize)
	if err != nil {
		return nil, err
	}
	if rd.Fixed() {
		if rd.size == 0 {
			return nil, nil
		}
		return m.Add(nil, 0, 0, rd.size), nil
	}
	return m.AddBlocks(nil, int64(len(rd.bat)), rd.bs, rd.size, func(i int64) (int64, bool) {
		v := rd.bat[i]
		return int64(v)*sectorSize + rd.bitmap, v != batFree
	}), nil
}
