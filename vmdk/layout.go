package vmdk

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Constants of the VMDK 5.0 specification (hosted sparse extents) and of
// qemu's use of it.
const (
	sectorSize = 512
	magic      = "KDMV" // 0x00 magicNumber, 0x564d444b little-endian

	// flags (0x08)
	flagNLDetect   = 1 << 0  // valid new line detection test
	flagRGD        = 1 << 1  // redundant grain directory and tables
	flagZeroGrain  = 1 << 2  // grain table entry 1 means a zeroed grain
	flagCompressed = 1 << 16 // grains are compressed
	flagMarkers    = 1 << 17 // there are markers (stream-optimized)

	compressionDeflate = 1 // compressAlgorithm: zlib (RFC 1950) streams

	gdAtEnd = ^uint64(0) // gdOffset of a stream whose grain directory is in the footer

	grainSectors = 128 // 64 KiB grains, as qemu and VMware write them
	grainSize    = grainSectors * sectorSize
	gtEntries    = 512 // numGTEsPerGT
	gtSectors    = gtEntries * 4 / sectorSize
	descOffset   = 1  // descriptorOffset, in sectors
	descSectors  = 20 // descriptorSize: qemu's 10 KiB

	// Stream marker types (the type field of a metadata marker).
	markerEOS    = 0
	markerGT     = 1
	markerGD     = 2
	markerFooter = 3

	gteZeroed = 1 // grain table entry of a zeroed grain (with flagZeroGrain)

	// Limits of the reader (a damaged or hostile header must not make it
	// allocate or loop without bound).
	maxGrainSectors = 2048    // 1 MiB grains
	maxCapacity     = 1 << 37 // sectors: 64 TiB, VMware's largest virtual disk is 62 TB
	maxDescriptor   = 1 << 20 // bytes of embedded descriptor read
	maxSparseSize   = 1 << 41 // bytes: a grain table entry (uint32 sectors) reaches 2 TiB
	toolsVersion    = "2147483647"
)

// Errors. Every error about an image's content or options wraps one of
// them; I/O errors are wrapped as they come, with what was being read or
// written.
var (
	ErrNotVMDK     = errors.New("vmdk: not a VMDK sparse extent")
	ErrCorrupt     = errors.New("vmdk: corrupt image")
	ErrUnsupported = errors.New("vmdk: unsupported image")
	ErrOptions     = errors.New("vmdk: invalid options")
	ErrTooLarge    = errors.New("vmdk: disk too large for a hosted sparse extent (at most 2 TiB)")
)

// Detect reports whether b, the start of a file, is a VMDK hosted sparse
// extent ("KDMV"), the file qemu-img and VMware write for monolithicSparse
// and streamOptimized disks.
func Detect(b []byte) bool { return len(b) >= 4 && string(b[:4]) == magic }

// DetectDescriptor reports whether b, the start of a file, is a VMDK
// text descriptor (which names its data in other files).
func DetectDescriptor(b []byte) bool {
	return len(b) >= 21 && string(b[:21]) == "# Disk DescriptorFile"
}

// header is the 512-byte SparseExtentHeader (all fields little-endian).
type header struct {
	version          uint32 // 0x04 version
	flags            uint32 // 0x08 flags
	capacity         uint64 // 0x0c capacity (sectors)
	grainSize        uint64 // 0x14 grainSize (sectors)
	descriptorOffset uint64 // 0x1c descriptorOffset (sectors)
	descriptorSize   uint64 // 0x24 descriptorSize (sectors)
	numGTEsPerGT     uint32 // 0x2c numGTEsPerGT
	rgdOffset        uint64 // 0x30 rgdOffset (sectors)
	gdOffset         uint64 // 0x38 gdOffset (sectors)
	overHead         uint64 // 0x40 overHead (sectors)
	uncleanShutdown  uint8  // 0x48 uncleanShutdown
	compressAlgo     uint16 // 0x4d compressAlgorithm
}

func (h *header) encode(b []byte) {
	clear(b[:sectorSize])
	le := binary.LittleEndian
	copy(b[0x00:], magic)                      // 0x00 magicNumber
	le.PutUint32(b[0x04:], h.version)          // 0x04 version
	le.PutUint32(b[0x08:], h.flags)            // 0x08 flags
	le.PutUint64(b[0x0c:], h.capacity)         // 0x0c capacity
	le.PutUint64(b[0x14:], h.grainSize)        // 0x14 grainSize
	le.PutUint64(b[0x1c:], h.descriptorOffset) // 0x1c descriptorOffset
	le.PutUint64(b[0x24:], h.descriptorSize)   // 0x24 descriptorSize
	le.PutUint32(b[0x2c:], h.numGTEsPerGT)     // 0x2c numGTEsPerGT
	le.PutUint64(b[0x30:], h.rgdOffset)        // 0x30 rgdOffset
	le.PutUint64(b[0x38:], h.gdOffset)         // 0x38 gdOffset
	le.PutUint64(b[0x40:], h.overHead)         // 0x40 overHead
	b[0x48] = h.uncleanShutdown                // 0x48 uncleanShutdown
	b[0x49] = '\n'                             // 0x49 singleEndLineChar
	b[0x4a] = ' '                              // 0x4a nonEndLineChar
	b[0x4b] = '\r'                             // 0x4b doubleEndLineChar1
	b[0x4c] = '\n'                             // 0x4c doubleEndLineChar2
	le.PutUint16(b[0x4d:], h.compressAlgo)     // 0x4d compressAlgorithm
}

func (h *header) decode(b []byte) error {
	if !Detect(b) || len(b) < sectorSize {
		return ErrNotVMDK
	}
	le := binary.LittleEndian
	h.version = le.Uint32(b[0x04:])
	h.flags = le.Uint32(b[0x08:])
	h.capacity = le.Uint64(b[0x0c:])
	h.grainSize = le.Uint64(b[0x14:])
	h.descriptorOffset = le.Uint64(b[0x1c:])
	h.descriptorSize = le.Uint64(b[0x24:])
	h.numGTEsPerGT = le.Uint32(b[0x2c:])
	h.rgdOffset = le.Uint64(b[0x30:])
	h.gdOffset = le.Uint64(b[0x38:])
	h.overHead = le.Uint64(b[0x40:])
	h.uncleanShutdown = b[0x48]
	h.compressAlgo = le.Uint16(b[0x4d:])
	return nil
}

// marker encodes a stream metadata marker sector: val (sectors of
// metadata that follow, or 0), size 0, and type.
func marker(b []byte, val uint64, typ uint32) {
	clear(b[:sectorSize])
	le := binary.LittleEndian
	le.PutUint64(b[0x00:], val) // 0x00 val (numSectors)
	le.PutUint32(b[0x08:], 0)   // 0x08 size
	le.PutUint32(b[0x0c:], typ) // 0x0c type
}

// grainMarkerLen is the size of a grain marker's fields before the
// compressed data: lba (u64) and size (u32).
const grainMarkerLen = 12

// Adapter types qemu-img accepts (-o adapter_type), the value of
// ddb.adapterType.
const (
	AdapterIDE       = "ide"
	AdapterLSILogic  = "lsilogic"
	AdapterBusLogic  = "buslogic"
	AdapterLegacyESX = "legacyESX"
)

// Subformats (qemu-img's -o subformat, the descriptor's createType).
const (
	MonolithicSparse = "monolithicSparse"
	StreamOptimized  = "streamOptimized"
)

// geometry returns the ddb.geometry values qemu writes for a disk of size
// bytes: 16 heads for IDE, 255 for the SCSI adapters (VMware's), 63
// sectors, and as many whole cylinders as fit (not capped).
func geometry(size int64, adapter string) (cylinders int64, heads int) {
	heads = 16
	if adapter != AdapterIDE {
		heads = 255
	}
	return size / (63 * int64(heads) * sectorSize), heads
}

// checkedUint32 narrows v to 32 bits, or fails naming what it is.
func checkedUint32(v int64, what string) (uint32, error) {
	if v < 0 || v > 0xffffffff {
		return 0, fmt.Errorf("%w: %s %d does not fit 32 bits", ErrTooLarge, what, v)
	}
	return uint32(v), nil
}
