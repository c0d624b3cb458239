package vhdx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/purefs/purefs/sparse"
)

// Reader reads the virtual disk of a dynamic or fixed VHDX. It is a
// sparse.Source; its methods are safe for concurrent use.
type Reader struct {
	r        io.ReaderAt
	fileSize int64
	h        header
	g        geometry
	fixed    bool
	page83   GUID
	physSS   int64
	bat      []byte // the BAT's entries, 8 bytes each
}

// Open parses the VHDX in r, a file of size bytes.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	rd := &Reader{r: r, fileSize: size}
	if size < headerSectionEnd {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the 1 MiB header section", ErrNotVHDX, size)
	}
	sec := make([]byte, region2Off+regionTableSize)
	if _, err := r.ReadAt(sec, 0); err != nil {
		return nil, fmt.Errorf("vhdx: reading the header section: %w", err)
	}
	if !Detect(sec) {
		return nil, ErrNotVHDX
	}
	// (1) The current header: the valid one with the higher sequence
	// number.
	var h1, h2 header
	e1, e2 := h1.decode(sec[header1Off:]), h2.decode(sec[header2Off:])
	switch {
	case e1 != nil && e2 != nil:
		if errors.Is(e1, ErrUnsupported) {
			return nil, e1
		}
		return nil, fmt.Errorf("both headers are unusable: %w", e2)
	case e2 != nil || (e1 == nil && h1.seq > h2.seq):
		rd.h = h1
	default:
		rd.h = h2
	}
	if err := rd.checkLog(); err != nil {
		return nil, err
	}
	// (2) The first valid region table.
	rs, err := decodeRegions(sec[region1Off:])
	if err != nil {
		var err2 error
		if rs, err2 = decodeRegions(sec[region2Off:]); err2 != nil {
			return nil, err
		}
	}
	var bat, meta *region
	for i := range rs {
		switch e := &rs[i]; {
		case e.guid == guidBAT && bat == nil:
			bat = e
		case e.guid == guidMetadata && meta == nil:
			meta = e
		case e.guid == guidBAT || e.guid == guidMetadata:
			return nil, fmt.Errorf("%w: region %s appears twice", ErrCorrupt, e.guid)
		case e.required:
			return nil, fmt.Errorf("%w: required region %s", ErrUnsupported, e.guid)
		}
	}
	if bat == nil || meta == nil {
		return nil, fmt.Errorf("%w: the region table lacks the BAT or the metadata region", ErrCorrupt)
	}
	for _, e := range []*region{bat, meta} {
		if e.offset%mib != 0 || e.offset < headerSectionEnd || e.offset > uint64(size) || uint64(e.length) > uint64(size)-e.offset {
			return nil, fmt.Errorf("%w: region %s (%d bytes at %d) outside the %d-byte file or misaligned", ErrCorrupt, e.guid, e.length, e.offset, size)
		}
	}
	// (3) Metadata, then the BAT.
	if err := rd.readMetadata(meta); err != nil {
		return nil, err
	}
	if need := 8 * rd.g.entries; int64(bat.length) < need {
		return nil, fmt.Errorf("%w: a BAT of %d bytes cannot hold %d entries", ErrCorrupt, bat.length, rd.g.entries)
	}
	rd.bat = make([]byte, 8*rd.g.entries)
	if _, err := r.ReadAt(rd.bat, int64(bat.offset)); err != nil {
		return nil, fmt.Errorf("vhdx: reading the BAT: %w", err)
	}
	return rd, rd.checkBAT()
}

// checkLog refuses a log that holds entries for the current header's log
// GUID: they would have to be replayed before the disk reads right.
func (rd *Reader) checkLog() error {
	h := &rd.h
	if h.logVersion != 0 {
		return fmt.Errorf("%w: log version %d", ErrUnsupported, h.logVersion)
	}
	if h.logGUID == (GUID{}) || h.logLength == 0 {
		return nil // no log
	}
	if h.logOffset%mib != 0 || h.logLength%mib != 0 || h.logOffset < headerSectionEnd ||
		h.logOffset > uint64(rd.fileSize) || uint64(h.logLength) > uint64(rd.fileSize)-h.logOffset {
		return fmt.Errorf("%w: log of %d bytes at %d outside the %d-byte file or misaligned", ErrCorrupt, h.logLength, h.logOffset, rd.fileSize)
	}
	// An entry starts on a 4 KiB boundary with "loge" and names the log
	// GUID; one that does is taken as live.
	b := make([]byte, 64)
	for off := int64(0); off < int64(h.logLength); off += 4 * kib {
		if _, err := rd.r.ReadAt(b, int64(h.logOffset)+off); err != nil {
			return fmt.Errorf("vhdx: reading the log: %w", err)
		}
		if string(b[0:4]) == sigLogEntry && GUID(b[0x20:0x30]) == h.logGUID {
			return fmt.Errorf("%w (entry at file offset %d)", ErrLog, int64(h.logOffset)+off)
		}
	}
	return nil
}

// readMetadata reads the metadata table and the items this package knows.
func (rd *Reader) readMetadata(meta *region) error {
	if meta.length < metaTableSize {
		return fmt.Errorf("%w: metadata region of %d bytes", ErrCorrupt, meta.length)
	}
	buf := make([]byte, meta.length)
	if _, err := rd.r.ReadAt(buf, int64(meta.offset)); err != nil {
		return fmt.Errorf("vhdx: reading the metadata region: %w", err)
	}
	es, err := decodeMetaTable(buf)
	if err != nil {
		return err
	}
	items := map[GUID][]byte{}
	for _, e := range es {
		if e.flags&metaIsUser != 0 {
			continue // user metadata: never required to read the disk
		}
		switch e.id {
		case guidFileParams, guidDiskSize, guidPage83, guidLogicalSS, guidPhysicalSS:
		case guidParentLocate:
			return ErrDifferencing
		default:
			if e.flags&metaIsRequired != 0 {
				return fmt.Errorf("%w: required metadata item %s", ErrUnsupported, e.id)
			}
			continue
		}
		if _, dup := items[e.id]; dup {
			return fmt.Errorf("%w: metadata item %s appears twice", ErrCorrupt, e.id)
		}
		if e.offset < metaTableSize || uint64(e.offset)+uint64(e.length) > uint64(meta.length) {
			return fmt.Errorf("%w: metadata item %s (%d bytes at %d) outside its %d-byte region", ErrCorrupt, e.id, e.length, e.offset, meta.length)
		}
		items[e.id] = buf[e.offset : e.offset+e.length]
	}
	le := binary.LittleEndian
	item := func(id GUID, n int, name string) ([]byte, error) {
		b, ok := items[id]
		if !ok || len(b) < n {
			return nil, fmt.Errorf("%w: no %s metadata item", ErrCorrupt, name)
		}
		return b, nil
	}
	b, err := item(guidFileParams, 8, "file parameters")
	if err != nil {
		return err
	}
	bs, flags := int64(le.Uint32(b)), le.Uint32(b[4:])
	if flags&hasParent != 0 {
		return ErrDifferencing
	}
	rd.fixed = flags&leaveBlocksAllocated != 0
	if b, err = item(guidDiskSize, 8, "virtual disk size"); err != nil {
		return err
	}
	size := le.Uint64(b)
	if b, err = item(guidLogicalSS, 4, "logical sector size"); err != nil {
		return err
	}
	lss := int64(le.Uint32(b))
	if b, err = item(guidPhysicalSS, 4, "physical sector size"); err != nil {
		return err
	}
	rd.physSS = int64(le.Uint32(b))
	if b, err = item(guidPage83, 16, "page 83 data"); err != nil {
		return err
	}
	copy(rd.page83[:], b)
	switch {
	case bs < minBlockSize || bs > maxBlockSize || bs&(bs-1) != 0:
		return fmt.Errorf("%w: block size %d", ErrCorrupt, bs)
	case lss != 512 && lss != 4096:
		return fmt.Errorf("%w: logical sector size %d", ErrCorrupt, lss)
	case rd.physSS != 512 && rd.physSS != 4096:
		return fmt.Errorf("%w: physical sector size %d", ErrCorrupt, rd.physSS)
	case size > maxDiskSize || size%uint64(lss) != 0:
		return fmt.Errorf("%w: virtual disk size %d", ErrCorrupt, size)
	}
	g := &rd.g
	g.size, g.blockSize, g.sectorSize = int64(size), bs, lss
	g.chunkRatio = sectorsPerBit * lss / bs
	g.blocks = (g.size + bs - 1) / bs
	g.entries = batEntries(g.blocks, g.chunkRatio)
	return nil
}

// checkBAT checks every payload entry: a known state, and for present
// blocks a MiB-aligned place past the header section whose bytes of the
// disk lie inside the file.
func (rd *Reader) checkBAT() error {
	g := &rd.g
	for i := range g.blocks {
		e := binary.LittleEndian.Uint64(rd.bat[8*g.batIndex(i):])
		switch e & 7 {
		case payloadNotPresent, payloadUndefined, payloadZero, payloadUnmapped, payloadUnmappedV1:
		case payloadFullyPresent:
			off := int64(e >> 20 << 20)
			n := min(g.blockSize, g.size-i*g.blockSize)
			if off < headerSectionEnd || off > rd.fileSize-n {
				return fmt.Errorf("%w: block %d (%d bytes at %d) lies outside the %d-byte file", ErrCorrupt, i, n, off, rd.fileSize)
			}
		case payloadPartiallyPresent:
			return fmt.Errorf("%w: block %d is partially present", ErrDifferencing, i)
		default:
			return fmt.Errorf("%w: block %d has state %d", ErrCorrupt, i, e&7)
		}
	}
	return nil
}

// Size returns the virtual disk size.
func (rd *Reader) Size() int64 { return rd.g.size }

// Fixed reports whether the disk is fixed (its blocks left allocated).
func (rd *Reader) Fixed() bool { return rd.fixed }

// BlockSize returns the payload block size.
func (rd *Reader) BlockSize() int64 { return rd.g.blockSize }

// LogicalSectorSize and PhysicalSectorSize return the disk's sector
// sizes.
func (rd *Reader) LogicalSectorSize() int64  { return rd.g.sectorSize }
func (rd *Reader) PhysicalSectorSize() int64 { return rd.physSS }

// Page83 returns the disk's SCSI page 83 identifier; FileWriteGUID and
// DataWriteGUID the current header's GUIDs.
func (rd *Reader) Page83() GUID        { return rd.page83 }
func (rd *Reader) FileWriteGUID() GUID { return rd.h.fileWriteGUID }
func (rd *Reader) DataWriteGUID() GUID { return rd.h.dataWriteGUID }

// block returns where payload block i lies in the file, or -1 when it
// reads as zeros.
func (rd *Reader) block(i int64) int64 {
	e := binary.LittleEndian.Uint64(rd.bat[8*rd.g.batIndex(i):])
	if e&7 != payloadFullyPresent {
		return -1
	}
	return int64(e >> 20 << 20)
}

// ReadAt reads the virtual disk; blocks not present read as zeros.
func (rd *Reader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("vhdx: negative offset %d", off)
	}
	if off >= rd.g.size {
		return 0, io.EOF
	}
	want := len(p)
	p = p[:min(int64(len(p)), rd.g.size-off)]
	bs := rd.g.blockSize
	for n := 0; n < len(p); {
		pos := off + int64(n)
		idx, in := pos/bs, pos%bs
		chunk := p[n:min(int64(len(p)), int64(n)+bs-in)]
		if fo := rd.block(idx); fo < 0 {
			clear(chunk)
		} else if m, err := rd.r.ReadAt(chunk, fo+in); m < len(chunk) {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n + m, fmt.Errorf("vhdx: reading block %d: %w", idx, err)
		}
		n += len(chunk)
	}
	if len(p) < want {
		return len(p), io.EOF
	}
	return len(p), nil
}

// DataRanges returns the fully present blocks, merged and clipped to
// Size. When the image is an *os.File, the parts that are holes in the
// file are left out.
func (rd *Reader) DataRanges() ([]sparse.Range, error) {
	m, err := sparse.NewExtentMap(rd.r, rd.fileSize)
	if err != nil {
		return nil, err
	}
	return m.AddBlocks(nil, rd.g.blocks, rd.g.blockSize, rd.g.size, func(i int64) (int64, bool) {
		fo := rd.block(i)
		return fo, fo >= 0
	}), nil
}
