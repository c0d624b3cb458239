package vhd

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/purefs/purefs/internal/uuid"
	"github.com/purefs/purefs/sparse"
)

// Options control Write. The zero value makes a dynamic disk sized as
// qemu-img would, time stamp 2000-01-01, UUID derived from the content.
type Options struct {
	// Fixed writes a fixed disk (raw data, then the footer) instead of a
	// dynamic one.
	Fixed bool
	// ForceSize keeps the source size exactly (rounded up to a sector)
	// instead of rounding it up to a CHS geometry, as qemu's force_size.
	ForceSize bool
	// RoundUp, with ForceSize, raises the size to a whole MiB (Azure's
	// rule) instead of failing with ErrNotWholeMiB for a fixed disk.
	RoundUp bool
	// Timestamp in Unix seconds; the footer counts from 2000-01-01 UTC in
	// 32 bits, so earlier times store 0 and later ones are clamped.
	Timestamp int64
	// UUID of the disk in RFC 4122 byte order; zero: derived from the
	// content.
	UUID [16]byte
}

// diskSize returns the virtual size and geometry Write uses for a source
// of srcSize bytes.
func diskSize(srcSize int64, opts Options) (size int64, cyl uint16, heads, spt uint8, err error) {
	const mib = 1 << 20
	sectors := (srcSize + sectorSize - 1) / sectorSize
	if opts.ForceSize {
		size = sectors * sectorSize
		if opts.RoundUp {
			size = (size + mib - 1) / mib * mib
		} else if opts.Fixed && size%mib != 0 {
			return 0, 0, 0, 0, fmt.Errorf("%w: %d bytes", ErrNotWholeMiB, size)
		}
		if size/sectorSize > maxSectors {
			return 0, 0, 0, 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
		}
		return size, 65535, 16, 255, nil
	}
	// Raise the sector count until the geometry covers it, as qemu does,
	// so that a CHS-sized reader never loses the disk's tail.
	want := min(sectors, maxGeometry)
	var chs int64
	for i := int64(0); want > chs; i++ {
		cyl, heads, spt = geometry(want + i)
		chs = int64(cyl) * int64(heads) * int64(spt)
	}
	if chs == maxGeometry {
		chs = sectors
		if chs > maxSectors {
			return 0, 0, 0, 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, srcSize)
		}
	}
	return chs * sectorSize, cyl, heads, spt, nil
}

// Write writes src as a complete VHD into dst, emptying it first. The source
// is read only in its data ranges; 2 MiB blocks holding only zeros are
// not allocated (dynamic) or left as holes (fixed). Same source and
// options → same bytes.
func Write(dst *os.File, src sparse.Source, opts Options) error {
	if src.Size() < 0 {
		return fmt.Errorf("%w: negative size", ErrCorrupt)
	}
	// (1) Size and geometry, then the footer fields known up front.
	size, cyl, heads, spt, err := diskSize(src.Size(), opts)
	if err != nil {
		return err
	}
	if opts.Fixed && size == 0 {
		// The footer would sit at offset 0, where qemu looks for a dynamic
		// disk's footer copy and then fails to find its header.
		return fmt.Errorf("%w: an empty fixed disk", ErrUnsupported)
	}
	// Unwritten ranges must read as zeros: start from an empty file.
	if fi, err := dst.Stat(); err != nil {
		return fmt.Errorf("vhd: %w", err)
	} else if fi.Size() != 0 {
		if err := dst.Truncate(0); err != nil {
			return fmt.Errorf("vhd: emptying the output: %w", err)
		}
	}
	ft := footer{
		dataOffset:     footerSize,
		timestamp:      vhdTime(opts.Timestamp),
		creatorVersion: creatorVersion,
		originalSize:   uint64(size),
		currentSize:    uint64(size),
		cylinders:      cyl,
		heads:          heads,
		sectors:        spt,
		diskType:       diskDynamic,
	}
	copy(ft.creatorApp[:], appQemu)
	if opts.ForceSize {
		copy(ft.creatorApp[:], appQemuForce)
	}
	copy(ft.creatorHostOS[:], hostOSWindows)
	if opts.Fixed {
		ft.dataOffset = noDataOffset
		ft.diskType = diskFixed
	}
	digest := sparse.NewContentDigest("purefs vhd", size)

	var end int64 // file size without the final footer
	if opts.Fixed {
		// (2f) Fixed: the disk's bytes in place; zero blocks stay holes.
		err = sparse.ScanBlocks(src, size, blockSize, 0, func(b *sparse.Block) error {
			digest.Add(b)
			data := b.Buf[:min(int64(len(b.Buf)), size-b.Idx*blockSize)]
			if err := sparse.WriteSparse(dst, data, b.Idx*blockSize); err != nil {
				return fmt.Errorf("vhd: writing block %d: %w", b.Idx, err)
			}
			return nil
		})
		end = size
	} else {
		end, err = writeDynamic(dst, src, size, digest)
	}
	if err != nil {
		return err
	}

	// (3) UUID, then the footer: at the end, and for dynamic disks also
	// its copy at 0.
	ft.uuid = opts.UUID
	if ft.uuid == ([16]byte{}) {
		ft.uuid = deriveUUID(digest.Sum())
	}
	fb := make([]byte, footerSize)
	ft.encode(fb)
	if !opts.Fixed {
		if _, err := dst.WriteAt(fb, 0); err != nil {
			return fmt.Errorf("vhd: writing footer copy: %w", err)
		}
	}
	if _, err := dst.WriteAt(fb, end); err != nil {
		return fmt.Errorf("vhd: writing footer: %w", err)
	}
	if err := dst.Truncate(end + footerSize); err != nil {
		return fmt.Errorf("vhd: setting file size: %w", err)
	}
	return nil
}

// writeDynamic writes the dynamic header, the BAT and the blocks of a
// dynamic disk and returns where the footer goes.
func writeDynamic(dst *os.File, src sparse.Source, size int64, digest *sparse.ContentDigest) (int64, error) {
	// (2d) Layout: dynamic header at 512, BAT at 1536 padded to a sector,
	// blocks (bitmap sector + 2 MiB data) packed after it.
	entries := (size + blockSize - 1) / blockSize
	batBytes := (4*entries + sectorSize - 1) / sectorSize * sectorSize
	meta := make([]byte, dynHeaderSize+batBytes)
	dh := dynHeader{tableOffset: batOffset, maxTableEntries: uint32(entries), blockSize: blockSize}
	dh.encode(meta)
	bat := meta[dynHeaderSize:]
	for i := range bat {
		bat[i] = 0xff // batFree
	}
	const bitmapBytes = blockSize / sectorSize / 8 // 512: one sector
	next := int64(batOffset) + batBytes
	err := sparse.ScanBlocks(src, size, blockSize, bitmapBytes, func(b *sparse.Block) error {
		digest.Add(b)
		binary.BigEndian.PutUint32(bat[4*b.Idx:], uint32(next/sectorSize))
		for i := range bitmapBytes {
			b.Buf[i] = 0xff // every sector of the block present
		}
		if err := sparse.WriteSparse(dst, b.Buf, next); err != nil {
			return fmt.Errorf("vhd: writing block %d: %w", b.Idx, err)
		}
		next += int64(len(b.Buf))
		return nil
	})
	if err != nil {
		return 0, err
	}
	if next/sectorSize > batFree-1 {
		return 0, fmt.Errorf("%w: blocks end at %d", ErrTooLarge, next)
	}
	if _, err := dst.WriteAt(meta, footerSize); err != nil {
		return 0, fmt.Errorf("vhd: writing dynamic header and BAT: %w", err)
	}
	return next, nil
}

// vhdTime converts Unix seconds to the footer's seconds since 2000-01-01,
// clamped to the field's range.
func vhdTime(unix int64) uint32 {
	return uint32(min(max(unix-vhdEpoch, 0), 0xffffffff))
}

// deriveUUID is SHA-256("uuid", digest) as a version 8 UUID.
func deriveUUID(digest []byte) [16]byte {
	return uuid.SHA256([]byte("uuid"), digest)
}
