package vmdk

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/zlib"
	"github.com/purefs/purefs/sparse"
)

// Reader reads the virtual disk of a VMDK hosted sparse extent. It is a
// sparse.Source, safe for concurrent use.
type Reader struct {
	r          io.ReaderAt
	fileSize   int64
	h          header
	size       int64 // virtual size in bytes
	grainBytes int64
	compressed bool
	markers    bool
	zeroGrain  bool
	gtIndex    []int32    // per grain directory entry: index into tables, -1: none
	tables     [][]uint32 // the distinct grain tables
	ranges     []sparse.Range
	desc       Descriptor
	footer     bool // the header came from a stream's footer
	bufs       sync.Pool
}

// Open reads the header (or a stream's footer), the embedded descriptor,
// the grain directory and every grain table of the sparse extent in r,
// size bytes long. Every offset and count is checked against the file
// size before it is used.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	rd := &Reader{r: r, fileSize: size}
	b := make([]byte, sectorSize)
	if size < sectorSize {
		return nil, fmt.Errorf("%w: %d-byte file", ErrNotVMDK, size)
	}
	if err := rd.readFull(b, 0, "header"); err != nil {
		return nil, err
	}
	if err := rd.h.decode(b); err != nil {
		return nil, err
	}
	h := &rd.h
	if h.gdOffset == gdAtEnd {
		if err := rd.readFooter(); err != nil {
			return nil, err
		}
	}
	if h.version < 1 || h.version > 3 {
		return nil, fmt.Errorf("%w: version %d", ErrUnsupported, h.version)
	}
	if h.capacity == 0 && h.descriptorOffset != 0 && h.gdOffset == 0 {
		return nil, fmt.Errorf("%w: a descriptor without data (its extents are other files)", ErrUnsupported)
	}
	if h.capacity > maxCapacity {
		return nil, fmt.Errorf("%w: capacity of %d sectors (more than %d)", ErrCorrupt, h.capacity, uint64(maxCapacity))
	}
	if h.grainSize == 0 || h.grainSize > maxGrainSectors || h.grainSize&(h.grainSize-1) != 0 {
		return nil, fmt.Errorf("%w: grain size of %d sectors", ErrCorrupt, h.grainSize)
	}
	if h.numGTEsPerGT == 0 || h.numGTEsPerGT > gtEntries {
		return nil, fmt.Errorf("%w: %d entries per grain table", ErrCorrupt, h.numGTEsPerGT)
	}
	rd.compressed = h.flags&flagCompressed != 0 || h.compressAlgo == compressionDeflate
	if rd.compressed && h.compressAlgo != compressionDeflate {
		return nil, fmt.Errorf("%w: compression algorithm %d", ErrUnsupported, h.compressAlgo)
	}
	rd.markers = h.flags&flagMarkers != 0
	rd.zeroGrain = h.flags&flagZeroGrain != 0
	rd.size = int64(h.capacity) * sectorSize
	rd.grainBytes = int64(h.grainSize) * sectorSize
	if err := rd.readDescriptor(); err != nil {
		return nil, err
	}
	if err := rd.readTables(); err != nil {
		return nil, err
	}
	rd.bufs.New = func() any { return &grainBuf{b: make([]byte, rd.grainBytes)} }
	return rd, nil
}

func (rd *Reader) readFull(b []byte, off int64, what string) error {
	if off < 0 || off > rd.fileSize || int64(len(b)) > rd.fileSize-off {
		return fmt.Errorf("%w: %s at byte %d (%d bytes) lies past the end of the %d-byte file", ErrCorrupt, what, off, len(b), rd.fileSize)
	}
	n, err := rd.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("vmdk: reading the %s at byte %d: %w", what, off, err)
}

// readFooter replaces the header by a stream's footer: the last three
// sectors are a footer marker, the footer and an end-of-stream marker.
func (rd *Reader) readFooter() error {
	if rd.fileSize < 4*sectorSize {
		return fmt.Errorf("%w: stream of %d bytes has no room for its footer", ErrCorrupt, rd.fileSize)
	}
	end := rd.fileSize / sectorSize * sectorSize
	b := make([]byte, 3*sectorSize)
	if err := rd.readFull(b, end-3*sectorSize, "footer"); err != nil {
		return err
	}
	le := binary.LittleEndian
	fm, eos := b[:sectorSize], b[2*sectorSize:]
	if le.Uint32(fm[8:]) != 0 || le.Uint32(fm[12:]) != markerFooter ||
		le.Uint64(eos) != 0 || le.Uint32(eos[8:]) != 0 || le.Uint32(eos[12:]) != markerEOS {
		return fmt.Errorf("%w: grain directory at the end, but no footer and end-of-stream marker there", ErrCorrupt)
	}
	var f header
	if err := f.decode(b[sectorSize : 2*sectorSize]); err != nil {
		return fmt.Errorf("%w: footer: %v", ErrCorrupt, err)
	}
	if f.gdOffset == gdAtEnd {
		return fmt.Errorf("%w: the footer does not locate the grain directory", ErrCorrupt)
	}
	rd.h = f
	rd.footer = true
	return nil
}

func (rd *Reader) readDescriptor() error {
	h := &rd.h
	if h.descriptorOffset == 0 || h.descriptorSize == 0 {
		return nil
	}
	if h.descriptorOffset > uint64(rd.fileSize)/sectorSize || h.descriptorSize > uint64(rd.fileSize)/sectorSize {
		return fmt.Errorf("%w: descriptor at sector %d (%d sectors) lies past the end of the file", ErrCorrupt, h.descriptorOffset, h.descriptorSize)
	}
	n := min(int64(h.descriptorSize)*sectorSize, maxDescriptor)
	b := make([]byte, n)
	if err := rd.readFull(b, int64(h.descriptorOffset)*sectorSize, "descriptor"); err != nil {
		return err
	}
	d, err := parseDescriptor(b)
	if err != nil {
		return err
	}
	rd.desc = d
	return nil
}

// readTables loads the grain directory and the grain tables it names,
// each distinct table once, and lists the data ranges.
func (rd *Reader) readTables() error {
	h := &rd.h
	span := int64(h.numGTEsPerGT) * int64(h.grainSize) // sectors one table maps
	gdEntries := (int64(h.capacity) + span - 1) / span
	if gdEntries == 0 {
		return nil
	}
	if h.gdOffset == 0 {
		return fmt.Errorf("%w: no grain directory", ErrCorrupt)
	}
	if gdEntries*4 > rd.fileSize || h.gdOffset > uint64(rd.fileSize)/sectorSize {
		return fmt.Errorf("%w: grain directory of %d entries at sector %d does not fit the %d-byte file", ErrCorrupt, gdEntries, h.gdOffset, rd.fileSize)
	}
	gd := make([]byte, gdEntries*4)
	if err := rd.readFull(gd, int64(h.gdOffset)*sectorSize, "grain directory"); err != nil {
		return err
	}
	le := binary.LittleEndian
	// Tables may not overlap: then their entries, and so the data ranges
	// and the memory they take, are bounded by the file size. Entries
	// that share one table are allowed if it maps nothing (a writer may
	// point every empty span at one zero table).
	tableBytes := int64(h.numGTEsPerGT) * 4
	type place struct{ sector, index int64 }
	var places []place
	for i := range gdEntries {
		if s := le.Uint32(gd[4*i:]); s != 0 {
			places = append(places, place{int64(s), i})
		}
	}
	slices.SortStableFunc(places, func(a, b place) int { return cmp.Compare(a.sector, b.sector) })
	rd.gtIndex = make([]int32, gdEntries)
	for i := range rd.gtIndex {
		rd.gtIndex[i] = -1
	}
	tb := make([]byte, tableBytes)
	for k := 0; k < len(places); {
		pl := places[k]
		n := 1 // entries naming this table
		for k+n < len(places) && places[k+n].sector == pl.sector {
			n++
		}
		if next := k + n; next < len(places) && (places[next].sector-pl.sector)*sectorSize < tableBytes {
			return fmt.Errorf("%w: the grain tables of directory entries %d and %d overlap", ErrCorrupt, pl.index, places[next].index)
		}
		if err := rd.readFull(tb, pl.sector*sectorSize, fmt.Sprintf("grain table %d", pl.index)); err != nil {
			return err
		}
		t := make([]uint32, h.numGTEsPerGT)
		used := false
		for j := range t {
			t[j] = le.Uint32(tb[4*j:])
			used = used || rd.allocated(t[j])
		}
		switch {
		case n > 1 && used:
			return fmt.Errorf("%w: directory entries %d and %d share a grain table", ErrCorrupt, pl.index, places[k+1].index)
		case n == 1:
			rd.gtIndex[pl.index] = int32(len(rd.tables))
			rd.tables = append(rd.tables, t)
		}
		k += n
	}
	// Data ranges, and a check that every grain starts inside the file.
	for i, k := range rd.gtIndex {
		if k < 0 {
			continue
		}
		for j, e := range rd.tables[k] {
			if !rd.allocated(e) {
				continue
			}
			g := int64(i)*int64(h.numGTEsPerGT) + int64(j)
			off := g * rd.grainBytes
			if off >= rd.size {
				break
			}
			n := min(rd.grainBytes, rd.size-off)
			stored := int64(sectorSize) // a compressed grain: at least its marker's sector
			if !rd.compressed {
				stored = n
			}
			if int64(e)*sectorSize+stored > rd.fileSize {
				return fmt.Errorf("%w: grain %d at sector %d lies past the end of the %d-byte file", ErrCorrupt, g, e, rd.fileSize)
			}
			if k := len(rd.ranges); k > 0 && rd.ranges[k-1].End() == off {
				rd.ranges[k-1].Len += n
			} else {
				rd.ranges = append(rd.ranges, sparse.Range{Off: off, Len: n})
			}
		}
	}
	return nil
}

// allocated reports whether a grain table entry points at stored data.
func (rd *Reader) allocated(e uint32) bool {
	return e != 0 && !(rd.zeroGrain && e == gteZeroed)
}

// Size returns the virtual size in bytes.
func (rd *Reader) Size() int64 { return rd.size }

// DataRanges returns the grains that hold data, merged where adjacent.
func (rd *Reader) DataRanges() ([]sparse.Range, error) { return rd.ranges, nil }

// Subformat returns the descriptor's createType, or, without one,
// StreamOptimized for a compressed extent and MonolithicSparse otherwise.
func (rd *Reader) Subformat() string {
	if t := rd.desc.Fields["createType"]; t != "" {
		return t
	}
	if rd.compressed {
		return StreamOptimized
	}
	return MonolithicSparse
}

// Version returns the header's version (1 to 3).
func (rd *Reader) Version() uint32 { return rd.h.version }

// Compressed reports whether the grains are compressed.
func (rd *Reader) Compressed() bool { return rd.compressed }

// Descriptor returns the parsed embedded descriptor (empty without one).
func (rd *Reader) Descriptor() Descriptor { return rd.desc }

// GrainSize returns the grain size in bytes.
func (rd *Reader) GrainSize() int64 { return rd.grainBytes }

type grainBuf struct {
	b   []byte
	raw []byte
	br  bytes.Reader
	zr  io.ReadCloser
}

// ReadAt reads the virtual disk; holes and unallocated grains read as
// zeros. It returns io.EOF when p reaches past the end of the disk.
func (rd *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vmdk: negative offset %d", off)
	}
	if off >= rd.size {
		return 0, io.EOF
	}
	n := 0
	want := min(int64(len(p)), rd.size-off)
	for int64(n) < want {
		pos := off + int64(n)
		g := pos / rd.grainBytes
		in := pos % rd.grainBytes
		k := int(min(rd.grainBytes-in, want-int64(n)))
		if err := rd.readGrain(p[n:n+k], g, in); err != nil {
			return n, err
		}
		n += k
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// entry returns grain g's table entry (0: unallocated).
func (rd *Reader) entry(g int64) uint32 {
	per := int64(rd.h.numGTEsPerGT)
	i := g / per
	if i >= int64(len(rd.gtIndex)) || rd.gtIndex[i] < 0 {
		return 0
	}
	return rd.tables[rd.gtIndex[i]][g%per]
}

// readGrain fills p with grain g's bytes from in.
func (rd *Reader) readGrain(p []byte, g, in int64) error {
	e := rd.entry(g)
	if !rd.allocated(e) {
		clear(p)
		return nil
	}
	at := int64(e) * sectorSize
	if !rd.compressed {
		n, err := rd.r.ReadAt(p, at+in)
		if n == len(p) {
			return nil
		}
		if err == nil || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: grain %d at byte %d is cut short by the end of the file", ErrCorrupt, g, at)
		}
		return fmt.Errorf("vmdk: reading grain %d at byte %d: %w", g, at, err)
	}
	gb := rd.bufs.Get().(*grainBuf)
	defer rd.bufs.Put(gb)
	need := min(rd.grainBytes, rd.size-g*rd.grainBytes) // bytes of the grain inside the disk
	if err := rd.inflate(gb, g, at, need); err != nil {
		return err
	}
	copy(p, gb.b[in:])
	return nil
}

// inflate decompresses grain g, stored at byte at, into gb.b.
func (rd *Reader) inflate(gb *grainBuf, g, at, need int64) error {
	var data []byte
	if rd.markers {
		var m [grainMarkerLen]byte
		if err := rd.readFull(m[:], at, fmt.Sprintf("marker of grain %d", g)); err != nil {
			return err
		}
		lba := binary.LittleEndian.Uint64(m[:])
		size := int64(binary.LittleEndian.Uint32(m[8:]))
		if lba != uint64(g*rd.grainBytes/sectorSize) {
			return fmt.Errorf("%w: the marker of grain %d at byte %d names sector %d", ErrCorrupt, g, at, lba)
		}
		if size == 0 || size > 2*rd.grainBytes {
			return fmt.Errorf("%w: grain %d at byte %d has %d compressed bytes", ErrCorrupt, g, at, size)
		}
		if cap(gb.raw) < int(size) {
			gb.raw = make([]byte, size)
		}
		data = gb.raw[:size]
		if err := rd.readFull(data, at+grainMarkerLen, fmt.Sprintf("grain %d", g)); err != nil {
			return err
		}
	} else {
		// No marker: the stream runs to its own end, at most two grains.
		size := min(2*rd.grainBytes, rd.fileSize-at)
		if cap(gb.raw) < int(size) {
			gb.raw = make([]byte, size)
		}
		data = gb.raw[:size]
		if err := rd.readFull(data, at, fmt.Sprintf("grain %d", g)); err != nil {
			return err
		}
	}
	gb.br.Reset(data)
	var err error
	if gb.zr == nil {
		gb.zr, err = zlib.NewReader(&gb.br)
	} else {
		err = gb.zr.(zlib.Resetter).Reset(&gb.br, nil)
	}
	if err != nil {
		return fmt.Errorf("%w: grain %d at byte %d: %v", ErrCorrupt, g, at, err)
	}
	n, err := io.ReadFull(gb.zr, gb.b)
	if int64(n) < need {
		if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = fmt.Errorf("expands to %d bytes, not %d", n, need)
		}
		return fmt.Errorf("%w: grain %d at byte %d: %v", ErrCorrupt, g, at, err)
	}
	clear(gb.b[n:])
	return nil
}
