package vhdx

import (
	"encoding/binary"
	"fmt"
	"os"
	"unicode/utf16"

	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/sparse"
)

// Options control Write. The zero value makes a dynamic disk as
// `qemu-img convert -O vhdx -o subformat=dynamic` does.
type Options struct {
	// Fixed writes a fixed disk (qemu's subformat=fixed): every block
	// allocated, in order.
	Fixed bool
	// BlockSize is the payload block size, a power of two from 1 MiB to
	// 256 MiB; 0 picks qemu's size for the disk.
	BlockSize int64
	// LogSize is the log's size, rounded up to a MiB; 0 means 1 MiB.
	LogSize int64
}

// Write writes src as a complete VHDX into dst, emptying it first. The
// source is read only in its data ranges; blocks holding only zeros are
// not allocated (dynamic) or left as holes (fixed). A source whose size
// is not a multiple of 512 bytes is padded with zeros. Same source and
// options → same bytes.
func Write(dst *os.File, src sparse.Source, opts Options) error {
	// (1) Geometry.
	if src.Size() < 0 {
		return fmt.Errorf("%w: negative size", ErrCorrupt)
	}
	if src.Size() > maxDiskSize {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, src.Size())
	}
	if src.Size() == 0 {
		// No BAT entries: qemu (and its BAT arithmetic) cannot open it.
		return fmt.Errorf("%w: an empty disk", ErrUnsupported)
	}
	size := roundUp(src.Size(), 512)
	g, err := newGeometry(size, opts.BlockSize, opts.LogSize)
	if err != nil {
		return err
	}
	// Unwritten ranges must read as zeros: start from an empty file.
	if err := dst.Truncate(0); err != nil {
		return fmt.Errorf("vhdx: emptying the output: %w", err)
	}

	// (2) Payload blocks, and the BAT pointing at them. A dynamic disk's
	// blocks start as PAYLOAD_BLOCK_ZERO (qemu's default); sector bitmap
	// entries stay zero (not present), as a disk without a parent has
	// none.
	bat := make([]byte, g.batLen)
	le := binary.LittleEndian
	if !opts.Fixed {
		for i := range g.blocks {
			le.PutUint64(bat[8*g.batIndex(i):], payloadZero)
		}
	} else {
		for i := range g.blocks {
			le.PutUint64(bat[8*g.batIndex(i):], uint64(g.dataOff+i*g.blockSize)|payloadFullyPresent)
		}
	}
	// The source is scanned in 1 MiB pieces, so that the holes and zero
	// MiBs of a block cost nothing; a block is allocated with its first
	// non-zero piece.
	const piece = mib
	digest := sparse.NewContentDigest("purefs vhdx", size)
	next := g.dataOff
	cur, curOff := int64(-1), int64(0) // the block being filled, and where
	err = sparse.ScanBlocks(src, size, piece, 0, func(b *sparse.Block) error {
		digest.Add(b)
		pos := b.Idx * piece
		if blk := pos / g.blockSize; blk != cur {
			cur, curOff = blk, g.dataOff+blk*g.blockSize
			if !opts.Fixed {
				curOff = next
				next += g.blockSize
				le.PutUint64(bat[8*g.batIndex(blk):], uint64(curOff)|payloadFullyPresent)
			}
		}
		data := b.Buf[:min(piece, size-pos)]
		if err := sparse.WriteSparse(dst, data, curOff+pos%g.blockSize); err != nil {
			return fmt.Errorf("vhdx: writing block %d: %w", cur, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	end := next // a dynamic disk's last block is whole, as qemu allocates it
	if opts.Fixed {
		end = g.dataOff + size
	}
	if _, err := dst.WriteAt(bat, g.batOff); err != nil {
		return fmt.Errorf("vhdx: writing the BAT: %w", err)
	}

	// (3) Metadata region: the table, then the items.
	sum := digest.Sum()
	layout := fmt.Sprintf("fixed=%v block=%d log=%d", opts.Fixed, g.blockSize, g.logLen)
	meta := make([]byte, itemsEnd)
	encodeMetaTable(meta, []metaEntry{
		{guidFileParams, itemFileParams, 8, metaIsRequired},
		{guidDiskSize, itemDiskSize, 8, metaIsRequired | metaIsVirtualDisk},
		{guidPage83, itemPage83, 16, metaIsRequired | metaIsVirtualDisk},
		{guidLogicalSS, itemLogicalSS, 4, metaIsRequired | metaIsVirtualDisk},
		{guidPhysicalSS, itemPhysicalSS, 4, metaIsRequired | metaIsVirtualDisk},
	})
	var params uint32
	if opts.Fixed {
		params = leaveBlocksAllocated
	}
	le.PutUint32(meta[itemFileParams:], uint32(g.blockSize))  // BlockSize
	le.PutUint32(meta[itemFileParams+4:], params)             // LeaveBlockAllocated, HasParent
	le.PutUint64(meta[itemDiskSize:], uint64(size))           // VirtualDiskSize
	page83 := deriveGUID("page 83", layout, sum)              // Page83Data
	copy(meta[itemPage83:], page83[:])                        //
	le.PutUint32(meta[itemLogicalSS:], uint32(g.sectorSize))  // LogicalSectorSize
	le.PutUint32(meta[itemPhysicalSS:], uint32(g.sectorSize)) // PhysicalSectorSize
	if _, err := dst.WriteAt(meta, g.metaOff); err != nil {
		return fmt.Errorf("vhdx: writing the metadata: %w", err)
	}

	// (4) Header section: file identifier, two headers, two region
	// tables.
	sec := make([]byte, region2Off+regionTableSize)
	copy(sec[fileIDOff:], sigFile) // 0x00 Signature
	for i, c := range utf16.Encode([]rune(creator)) {
		le.PutUint16(sec[fileIDOff+8+2*i:], c) // 0x08 Creator
	}
	h := header{
		fileWriteGUID: deriveGUID("file write", layout, sum),
		dataWriteGUID: deriveGUID("data write", layout, sum),
		version:       1,
		logLength:     uint32(g.logLen),
		logOffset:     uint64(g.logOff),
	}
	h.seq = 1
	h.encode(sec[header1Off:])
	h.seq = 2
	h.encode(sec[header2Off:])
	regions := []region{
		{guid: guidBAT, offset: uint64(g.batOff), length: uint32(g.batLen), required: true},
		{guid: guidMetadata, offset: uint64(g.metaOff), length: uint32(g.metaLen), required: true},
	}
	encodeRegions(sec[region1Off:], regions)
	encodeRegions(sec[region2Off:], regions)
	if err := sparse.WriteSparse(dst, sec, 0); err != nil {
		return fmt.Errorf("vhdx: writing the header section: %w", err)
	}

	// (5) File size: the data's end, at least the metadata region's.
	if err := dst.Truncate(max(end, g.metaOff+g.metaLen)); err != nil {
		return fmt.Errorf("vhdx: setting the file size: %w", err)
	}
	return nil
}

// deriveGUID is SHA-256(label, layout, digest) as a version 8 UUID,
// stored in the on-disk GUID layout.
func deriveGUID(label, layout string, digest []byte) GUID {
	return fromRFC(uuid.SHA256([]byte(label+"\x00"+layout+"\x00"), digest))
}
