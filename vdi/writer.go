package vdi

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/sparse"
)

// Options control Write. The zero value makes a dynamic image with UUIDs
// derived from the content.
type Options struct {
	// Static maps every block (VirtualBox's "fixed" image); all-zero
	// blocks are still left as holes in the file.
	Static bool
	// UUID is the creation UUID (uuid_image), as stored (see the package
	// comment); zero: derived from the content.
	UUID [16]byte
	// ModUUID is the modification UUID (uuid_last_snap); zero: derived
	// from the content and UUID.
	ModUUID [16]byte
}

// Write writes src as a complete VDI image into dst, emptying it first. The
// source is read only in its data ranges; blocks that hold only zeros are
// not allocated. Same source and options → same bytes.
func Write(dst *os.File, src sparse.Source, opts Options) error {
	if src.Size() < 0 {
		return fmt.Errorf("%w: negative size", ErrCorrupt)
	}
	// (1) Layout: virtual size in whole sectors, blocks of 1 MiB, the
	// block map right after the header, padded to a sector, then data.
	size := roundUp(src.Size(), sectorSize)
	blocks := (size + blockSize - 1) / blockSize
	if blocks > maxBlocks {
		return fmt.Errorf("%w: %d bytes need %d blocks, at most %d fit", ErrTooLarge, size, blocks, maxBlocks)
	}
	bmapBytes := roundUp(4*blocks, sectorSize)
	if headerSize+bmapBytes > math.MaxUint32 {
		return fmt.Errorf("%w: a block map of %d bytes puts the data past offData's 32 bits", ErrTooLarge, bmapBytes)
	}
	// Unwritten ranges must read as zeros: start from an empty file.
	if fi, err := dst.Stat(); err != nil {
		return fmt.Errorf("vdi: %w", err)
	} else if fi.Size() != 0 {
		if err := dst.Truncate(0); err != nil {
			return fmt.Errorf("vdi: emptying the output: %w", err)
		}
	}
	h := header{
		offsetBmap:    headerSize,
		offsetData:    uint32(headerSize + bmapBytes),
		diskSize:      uint64(size),
		blockSize:     blockSize,
		blocksInImage: uint32(blocks),
		imageType:     typeDynamic,
	}
	if opts.Static {
		h.imageType = typeStatic
	}
	meta := make([]byte, headerSize+bmapBytes)
	bmap := meta[headerSize:]
	for i := range blocks {
		v := uint32(bmapFree)
		if opts.Static {
			v = uint32(i)
		}
		binary.LittleEndian.PutUint32(bmap[4*i:], v)
	}

	// (2) Data blocks, in virtual order: dynamic images pack them, static
	// ones put block i in slot i. Each block is hashed for the UUIDs.
	digest := sparse.NewContentDigest("purefs vdi", size)
	var allocated int64
	err := sparse.ScanBlocks(src, size, blockSize, 0, func(b *sparse.Block) error {
		idx := b.Idx
		slot := idx
		if !opts.Static {
			slot = allocated
			binary.LittleEndian.PutUint32(bmap[4*idx:], uint32(slot))
		}
		allocated++
		digest.Add(b)
		if err := sparse.WriteSparse(dst, b.Buf, int64(h.offsetData)+slot*blockSize); err != nil {
			return fmt.Errorf("vdi: writing block %d: %w", idx, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	end := int64(h.offsetData) + allocated*blockSize
	if opts.Static {
		allocated = blocks
		end = int64(h.offsetData) + blocks*blockSize
	}
	h.blocksAllocated = uint32(allocated)

	// (3) UUIDs from the content unless given.
	sum := digest.Sum()
	h.uuidImage = opts.UUID
	if h.uuidImage == ([16]byte{}) {
		h.uuidImage = deriveUUID("uuid_image", sum)
	}
	h.uuidLastSnap = opts.ModUUID
	if h.uuidLastSnap == ([16]byte{}) {
		h.uuidLastSnap = deriveUUID("uuid_last_snap", append(h.uuidImage[:], sum...))
	}

	// (4) Header and block map, then the file length (static images and
	// a trailing all-zero block end in a hole).
	h.encode(meta)
	if _, err := dst.WriteAt(meta, 0); err != nil {
		return fmt.Errorf("vdi: writing header: %w", err)
	}
	if err := dst.Truncate(end); err != nil {
		return fmt.Errorf("vdi: setting file size: %w", err)
	}
	return nil
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// deriveUUID returns SHA-256(label, data) as a version 8 UUID
// (internal/uuid) in RTUUID layout. The hash is read in RTUUID layout, so
// that the version nibble is the high one of byte 7 (the high byte of the
// little-endian third group).
func deriveUUID(label string, data []byte) [16]byte {
	sum := sha256.Sum256(append([]byte(label), data...))
	rfc := FromRFC4122([16]byte(sum[:16])) // the hash's bytes, read as an RTUUID
	return FromRFC4122(uuid.FromHash(rfc[:]))
}

// FromRFC4122 converts a UUID in RFC 4122 byte order (as printed, e.g. by
// uuidgen) into the RTUUID layout VDI headers store.
func FromRFC4122(u [16]byte) [16]byte {
	u[0], u[1], u[2], u[3] = u[3], u[2], u[1], u[0]
	u[4], u[5] = u[5], u[4]
	u[6], u[7] = u[7], u[6]
	return u
}
