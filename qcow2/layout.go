package qcow2

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Errors wrapped by everything this package returns about bad input.
var (
	ErrFormat      = errors.New("qcow2: not a qcow2 image")
	ErrCorrupt     = errors.New("qcow2: corrupt image")
	ErrUnsupported = errors.New("qcow2: unsupported feature")
	ErrOptions     = errors.New("qcow2: invalid options")
)

// Magic is the first four bytes of every qcow2 image: "QFI\xfb".
const Magic = 0x514649fb

const (
	headerV2Len = 72  // version 2 header; version 3 adds the fields after it
	headerV3Len = 104 // version 3 header without compression_type
	headerLen   = 112 // what Write emits: compression_type plus padding to 8

	defaultClusterBits = 16
	minClusterBits     = 9
	maxClusterBits     = 21
	refcountOrder      = 4 // 16-bit refcounts
	maxL1Bytes         = 32 << 20
	maxRefTableBytes   = 8 << 20

	sectorSize = 512
)

// Incompatible feature bits (header field incompatible_features).
const (
	incompatDirty        = 1 << 0
	incompatCorrupt      = 1 << 1
	incompatExternalData = 1 << 2
	incompatCompression  = 1 << 3
	incompatExtendedL2   = 1 << 4
	incompatKnown        = incompatDirty | incompatCorrupt | incompatExternalData | incompatCompression | incompatExtendedL2
)

// compression_type values.
const (
	compressionDeflate = 0
	compressionZstd    = 1
)

// L1 and L2 entry bits.
const (
	entryCopied     = 1 << 63            // refcount is exactly 1
	entryCompressed = 1 << 62            // L2: compressed cluster descriptor
	entryZero       = 1 << 0             // L2 (v3): cluster reads as zeros
	offsetMask      = 0x00fffffffffffe00 // bits 9-55: host offset
	// L1 and refcount table entries keep bits 9-55 as well (cluster aligned).
)

// Header extension types.
const (
	extEnd          = 0x00000000
	extBackingFmt   = 0xe2792aca
	extFeatureNames = 0x6803f857
	extBitmaps      = 0x23852875
	extEncryption   = 0x0537be77
	extDataFile     = 0x44415441
)

// header is the fixed part of a qcow2 header, fields named as in QEMU's
// docs/interop/qcow2.txt.
type header struct {
	version               uint32
	backingFileOffset     uint64
	backingFileSize       uint32
	clusterBits           uint32
	size                  uint64
	cryptMethod           uint32
	l1Size                uint32
	l1TableOffset         uint64
	refcountTableOffset   uint64
	refcountTableClusters uint32
	nbSnapshots           uint32
	snapshotsOffset       uint64
	incompatibleFeatures  uint64
	compatibleFeatures    uint64
	autoclearFeatures     uint64
	refcountOrder         uint32
	headerLength          uint32
	compressionType       uint8
}

// marshal encodes a version 3 header of headerLen bytes into b.
func (h *header) marshal(b []byte) {
	be := binary.BigEndian
	be.PutUint32(b[0:], Magic)                    // 0 magic
	be.PutUint32(b[4:], h.version)                // 4 version
	be.PutUint64(b[8:], h.backingFileOffset)      // 8 backing_file_offset
	be.PutUint32(b[16:], h.backingFileSize)       // 16 backing_file_size
	be.PutUint32(b[20:], h.clusterBits)           // 20 cluster_bits
	be.PutUint64(b[24:], h.size)                  // 24 size
	be.PutUint32(b[32:], h.cryptMethod)           // 32 crypt_method
	be.PutUint32(b[36:], h.l1Size)                // 36 l1_size
	be.PutUint64(b[40:], h.l1TableOffset)         // 40 l1_table_offset
	be.PutUint64(b[48:], h.refcountTableOffset)   // 48 refcount_table_offset
	be.PutUint32(b[56:], h.refcountTableClusters) // 56 refcount_table_clusters
	be.PutUint32(b[60:], h.nbSnapshots)           // 60 nb_snapshots
	be.PutUint64(b[64:], h.snapshotsOffset)       // 64 snapshots_offset
	be.PutUint64(b[72:], h.incompatibleFeatures)  // 72 incompatible_features
	be.PutUint64(b[80:], h.compatibleFeatures)    // 80 compatible_features
	be.PutUint64(b[88:], h.autoclearFeatures)     // 88 autoclear_features
	be.PutUint32(b[96:], h.refcountOrder)         // 96 refcount_order
	be.PutUint32(b[100:], h.headerLength)         // 100 header_length
	b[104] = h.compressionType                    // 104 compression_type
	clear(b[105:headerLen])                       // 105 padding to a multiple of 8
}

// unmarshal decodes the header at the start of b (at least headerV2Len
// bytes). Fields a version 2 header lacks get their version 2 meaning.
func (h *header) unmarshal(b []byte) error {
	be := binary.BigEndian
	if len(b) < headerV2Len || be.Uint32(b[0:]) != Magic {
		return ErrFormat
	}
	h.version = be.Uint32(b[4:])
	h.backingFileOffset = be.Uint64(b[8:])
	h.backingFileSize = be.Uint32(b[16:])
	h.clusterBits = be.Uint32(b[20:])
	h.size = be.Uint64(b[24:])
	h.cryptMethod = be.Uint32(b[32:])
	h.l1Size = be.Uint32(b[36:])
	h.l1TableOffset = be.Uint64(b[40:])
	h.refcountTableOffset = be.Uint64(b[48:])
	h.refcountTableClusters = be.Uint32(b[56:])
	h.nbSnapshots = be.Uint32(b[60:])
	h.snapshotsOffset = be.Uint64(b[64:])
	switch h.version {
	case 2:
		h.refcountOrder = 4
		h.headerLength = headerV2Len
		return nil
	case 3:
	default:
		return fmt.Errorf("%w: version %d", ErrUnsupported, h.version)
	}
	if len(b) < headerV3Len {
		return fmt.Errorf("%w: truncated version 3 header", ErrCorrupt)
	}
	h.incompatibleFeatures = be.Uint64(b[72:])
	h.compatibleFeatures = be.Uint64(b[80:])
	h.autoclearFeatures = be.Uint64(b[88:])
	h.refcountOrder = be.Uint32(b[96:])
	h.headerLength = be.Uint32(b[100:])
	if h.headerLength < headerV3Len {
		return fmt.Errorf("%w: header_length %d is below %d", ErrCorrupt, h.headerLength, headerV3Len)
	}
	if h.headerLength > headerV3Len {
		if len(b) <= 104 {
			return fmt.Errorf("%w: truncated header", ErrCorrupt)
		}
		h.compressionType = b[104]
	}
	return nil
}

// Detect reports whether header (the first bytes of a file) starts with the
// qcow2 magic and a version this package reads.
func Detect(header []byte) bool {
	if len(header) < 8 {
		return false
	}
	v := binary.BigEndian.Uint32(header[4:])
	return binary.BigEndian.Uint32(header) == Magic && (v == 2 || v == 3)
}

// compressedShift returns the bit at which the sector count of a compressed
// L2 entry starts: 62 - (cluster_bits - 8). Bits below it hold the host
// byte offset.
func compressedShift(clusterBits uint32) uint32 { return 62 - (clusterBits - 8) }

// compressedEntry encodes the L2 entry of compressed data of n bytes at
// host byte offset off: the offset, and the number of 512-byte sectors the
// data occupies beyond the one holding its first byte.
func compressedEntry(clusterBits uint32, off, n int64) uint64 {
	extra := uint64((off+n-1)/sectorSize - off/sectorSize)
	return entryCompressed | extra<<compressedShift(clusterBits) | uint64(off)
}

// compressedSpan decodes a compressed L2 entry into the host byte offset of
// the data and the length of the span that holds it: up to the end of its
// last sector, which is also what refcounts account for.
func compressedSpan(clusterBits uint32, e uint64) (off, n int64) {
	shift := compressedShift(clusterBits)
	off = int64(e & (1<<shift - 1))
	sectors := int64((e>>shift)&(1<<(clusterBits-8)-1)) + 1
	return off, sectors*sectorSize - off%sectorSize
}
