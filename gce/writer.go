package gce

import (
	"errors"
	"fmt"
	"io"

	"github.com/purefs/purefs/sparse"
)

// Options control Write. The zero value names the member disk.raw and
// dates it 1970-01-01.
type Options struct {
	// Name of the member; "" means disk.raw.
	Name string
	// MTime is the member's modification time in Unix seconds
	// (negative times store 0).
	MTime int64
}

// Write writes src as the tar stream of a GCE image into w: one member,
// sparse when the disk has all-zero pages. The source is read twice, in
// its data ranges only: once to find its non-zero pages, once to copy
// them.
func Write(w io.Writer, src sparse.Source, opts Options) error {
	name := opts.Name
	if name == "" {
		name = DiskName
	}
	if len(name) > 100 {
		return fmt.Errorf("gce: member name %q is longer than 100 bytes", name)
	}
	size := src.Size()
	// (1) the data regions: runs of non-zero pages, clipped to the size
	regions, err := dataRegions(src)
	if err != nil {
		return err
	}
	var stored int64
	for _, r := range regions {
		stored += r.Len
	}
	sparseFile := !(len(regions) == 1 && regions[0] == sparse.Range{Len: size}) && size > 0
	// (2) the header, and the sparse map's extension headers
	hdr := make([]byte, blockSize)
	copy(hdr[offName:], name)
	putNumber(hdr[offMode:offMode+8], 0o644)
	putNumber(hdr[offUID:offUID+8], 0)
	putNumber(hdr[offGID:offGID+8], 0)
	putNumber(hdr[offSize:offSize+12], stored)
	putNumber(hdr[offMTime:offMTime+12], max(opts.MTime, 0))
	hdr[offType] = typeReg
	copy(hdr[offMagic:], gnuMagic)
	copy(hdr[offUname:], "root")
	copy(hdr[offGname:], "root")
	var ext [][]byte
	if sparseFile {
		hdr[offType] = typeSparse
		entries := append(regions, sparse.Range{Off: size}) // GNU tar ends the map with (size, 0)
		putEntries(hdr[offSparse:], entries[:min(len(entries), headerEntries)])
		putNumber(hdr[offRealSize:offRealSize+12], size)
		for rest := entries[min(len(entries), headerEntries):]; len(rest) > 0; rest = rest[min(len(rest), extensionEntries):] {
			e := make([]byte, blockSize)
			putEntries(e, rest[:min(len(rest), extensionEntries)])
			ext = append(ext, e)
		}
		if len(ext) > 0 {
			hdr[offExtended] = 1
			for _, e := range ext[:len(ext)-1] {
				e[offExtFlag] = 1
			}
		}
	}
	sum, _ := headerChecksum(hdr)
	copy(hdr[offChksum:], fmt.Sprintf("%06o\x00 ", sum))
	cw := &countWriter{w: w}
	if _, err := cw.Write(hdr); err != nil {
		return fmt.Errorf("gce: writing the header: %w", err)
	}
	for _, e := range ext {
		if _, err := cw.Write(e); err != nil {
			return fmt.Errorf("gce: writing the sparse map: %w", err)
		}
	}
	// (3) the regions' bytes, padded to a block
	buf := make([]byte, 1<<20)
	for _, r := range regions {
		for off := r.Off; off < r.End(); {
			p := buf[:min(int64(len(buf)), r.End()-off)]
			if n, err := src.ReadAt(p, off); n < len(p) {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return fmt.Errorf("gce: reading the source at %d: %w", off+int64(n), err)
			}
			if _, err := cw.Write(p); err != nil {
				return fmt.Errorf("gce: writing the disk: %w", err)
			}
			off += int64(len(p))
		}
	}
	// (4) padding, two zero blocks, and the record's rest
	end := (cw.n+blockSize-1)/blockSize*blockSize + 2*blockSize
	end = (end + recordSize - 1) / recordSize * recordSize
	if _, err := cw.Write(make([]byte, end-cw.n)); err != nil {
		return fmt.Errorf("gce: writing the end of the archive: %w", err)
	}
	return nil
}

func putEntries(b []byte, rs []sparse.Range) {
	for i, r := range rs {
		e := b[i*entrySize:]
		putNumber(e[0:12], r.Off)
		putNumber(e[12:24], r.Len)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// dataRegions returns the runs of pages of src that hold a non-zero
// byte, the last one clipped to the size.
func dataRegions(src sparse.Source) ([]sparse.Range, error) {
	size := src.Size()
	var out []sparse.Range
	const scan = 1 << 20
	err := sparse.ScanBlocks(src, size, scan, 0, func(b *sparse.Block) error {
		base := b.Idx * scan
		for p := int64(0); p < scan && base+p < size; p += pageSize {
			if sparse.IsZero(b.Buf[p : p+pageSize]) {
				continue
			}
			off, n := base+p, min(pageSize, size-base-p)
			if k := len(out); k > 0 && out[k-1].End() == off {
				out[k-1].Len += n
			} else {
				out = append(out, sparse.Range{Off: off, Len: n})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gce: %w", err)
	}
	return out, nil
}
