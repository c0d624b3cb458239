package vdi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes and magics of the VDI 1.1 header (VirtualBox's VDIHEADER1 after
// the 64-byte pre-header text).
const (
	headerSize    = 0x200      // the header occupies the first sector
	signature     = 0xbeda107f // 0x40 u32Signature
	version11     = 0x00010001 // 0x44 u32Version: 1.1
	headerSize11  = 0x180      // 0x48 cbHeader as qemu writes it
	sectorSize    = 512
	blockSize     = 1 << 20 // default (and qemu's only) block size
	typeDynamic   = 1       // VDI_IMAGE_TYPE_NORMAL
	typeStatic    = 2       // VDI_IMAGE_TYPE_FIXED
	bmapFree      = 0xffffffff
	bmapZero      = 0xfffffffe // discarded block: reads as zeros
	maxBlocks     = 0x3fffffff // qemu's VDI_BLOCKS_IN_IMAGE_MAX
	maxReadBlock  = 256 << 20
	preHeaderText = "<<< QEMU VM Virtual Disk Image >>>\n"
	preHeaderSize = 0x40
)

// Errors. Every error about an image's content or size wraps one of
// them; I/O errors of the reader, source or destination are wrapped as
// they come, with what was being read or written.
var (
	ErrNotVDI      = errors.New("vdi: not a VDI image")
	ErrCorrupt     = errors.New("vdi: corrupt image")
	ErrUnsupported = errors.New("vdi: unsupported image")
	ErrTooLarge    = errors.New("vdi: disk too large for VDI")
)

// header is the decoded VDI 1.1 header; field names follow qemu's
// VdiHeader (VirtualBox's names in comments where they differ).
type header struct {
	imageType       uint32 // 0x4c u32Type
	imageFlags      uint32 // 0x50 fFlags
	offsetBmap      uint32 // 0x154 offBlocks
	offsetData      uint32 // 0x158 offData
	diskSize        uint64 // 0x170 cbDisk
	blockSize       uint32 // 0x178 cbBlock
	blockExtra      uint32 // 0x17c cbBlockExtra
	blocksInImage   uint32 // 0x180 cBlocks
	blocksAllocated uint32 // 0x184 cBlocksAllocated
	uuidImage       [16]byte
	uuidLastSnap    [16]byte
	uuidLink        [16]byte
	uuidParent      [16]byte
}

// encode writes h as the first sector of an image.
func (h *header) encode(b []byte) {
	clear(b[:headerSize])
	le := binary.LittleEndian
	copy(b[0x00:preHeaderSize], preHeaderText) // 0x00 szFileInfo
	le.PutUint32(b[0x40:], signature)          // 0x40 u32Signature
	le.PutUint32(b[0x44:], version11)          // 0x44 u32Version
	le.PutUint32(b[0x48:], headerSize11)       // 0x48 cbHeader
	le.PutUint32(b[0x4c:], h.imageType)        // 0x4c u32Type
	le.PutUint32(b[0x50:], h.imageFlags)       // 0x50 fFlags
	// 0x54 szComment[256]: empty
	le.PutUint32(b[0x154:], h.offsetBmap)      // 0x154 offBlocks
	le.PutUint32(b[0x158:], h.offsetData)      // 0x158 offData
	le.PutUint32(b[0x15c:], 0)                 // 0x15c LegacyGeometry.cCylinders (unset, as qemu)
	le.PutUint32(b[0x160:], 0)                 // 0x160 LegacyGeometry.cHeads
	le.PutUint32(b[0x164:], 0)                 // 0x164 LegacyGeometry.cSectors
	le.PutUint32(b[0x168:], sectorSize)        // 0x168 LegacyGeometry.cbSector
	le.PutUint32(b[0x16c:], 0)                 // 0x16c u32Dummy
	le.PutUint64(b[0x170:], h.diskSize)        // 0x170 cbDisk
	le.PutUint32(b[0x178:], h.blockSize)       // 0x178 cbBlock
	le.PutUint32(b[0x17c:], h.blockExtra)      // 0x17c cbBlockExtra
	le.PutUint32(b[0x180:], h.blocksInImage)   // 0x180 cBlocks
	le.PutUint32(b[0x184:], h.blocksAllocated) // 0x184 cBlocksAllocated
	copy(b[0x188:0x198], h.uuidImage[:])       // 0x188 uuidCreate
	copy(b[0x198:0x1a8], h.uuidLastSnap[:])    // 0x198 uuidModify
	copy(b[0x1a8:0x1b8], h.uuidLink[:])        // 0x1a8 uuidLinkage
	copy(b[0x1b8:0x1c8], h.uuidParent[:])      // 0x1b8 uuidParentModify
	// 0x1c8 LCHSGeometry and padding to 0x200: zero, as qemu writes them
}

// decode parses and checks the first sector of an image.
func (h *header) decode(b []byte) error {
	if len(b) < headerSize || !Detect(b) {
		return ErrNotVDI
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[0x44:]); v != version11 { // 0x44 u32Version
		return fmt.Errorf("%w: header version %d.%d (only 1.1 is supported)", ErrUnsupported, v>>16, v&0xffff)
	}
	if n := le.Uint32(b[0x48:]); n < headerSize11 || n > headerSize-preHeaderSize { // 0x48 cbHeader
		return fmt.Errorf("%w: header size %#x", ErrCorrupt, n)
	}
	h.imageType = le.Uint32(b[0x4c:])        // 0x4c u32Type
	h.imageFlags = le.Uint32(b[0x50:])       // 0x50 fFlags
	h.offsetBmap = le.Uint32(b[0x154:])      // 0x154 offBlocks
	h.offsetData = le.Uint32(b[0x158:])      // 0x158 offData
	secSize := le.Uint32(b[0x168:])          // 0x168 LegacyGeometry.cbSector
	h.diskSize = le.Uint64(b[0x170:])        // 0x170 cbDisk
	h.blockSize = le.Uint32(b[0x178:])       // 0x178 cbBlock
	h.blockExtra = le.Uint32(b[0x17c:])      // 0x17c cbBlockExtra
	h.blocksInImage = le.Uint32(b[0x180:])   // 0x180 cBlocks
	h.blocksAllocated = le.Uint32(b[0x184:]) // 0x184 cBlocksAllocated
	copy(h.uuidImage[:], b[0x188:])          // 0x188 uuidCreate
	copy(h.uuidLastSnap[:], b[0x198:])       // 0x198 uuidModify
	copy(h.uuidLink[:], b[0x1a8:])           // 0x1a8 uuidLinkage
	copy(h.uuidParent[:], b[0x1b8:])         // 0x1b8 uuidParentModify

	switch h.imageType {
	case typeDynamic, typeStatic:
	case 3, 4: // undo and differencing images
		return fmt.Errorf("%w: image type %d (differencing images are not supported)", ErrUnsupported, h.imageType)
	default:
		return fmt.Errorf("%w: image type %d", ErrCorrupt, h.imageType)
	}
	if secSize != sectorSize {
		return fmt.Errorf("%w: sector size %d", ErrUnsupported, secSize)
	}
	if h.blockSize < sectorSize || h.blockSize > maxReadBlock || h.blockSize&(h.blockSize-1) != 0 {
		return fmt.Errorf("%w: block size %d", ErrUnsupported, h.blockSize)
	}
	if h.blockExtra != 0 {
		return fmt.Errorf("%w: block extra data of %d bytes", ErrUnsupported, h.blockExtra)
	}
	if h.uuidLink != ([16]byte{}) {
		return fmt.Errorf("%w: linked (differencing) image", ErrUnsupported)
	}
	if h.diskSize > uint64(h.blocksInImage)*uint64(h.blockSize) {
		return fmt.Errorf("%w: disk size %d exceeds %d blocks of %d bytes", ErrCorrupt, h.diskSize, h.blocksInImage, h.blockSize)
	}
	if h.diskSize > 1<<62 {
		return fmt.Errorf("%w: disk size %d", ErrCorrupt, h.diskSize)
	}
	if h.blocksAllocated > h.blocksInImage {
		return fmt.Errorf("%w: %d blocks allocated of %d", ErrCorrupt, h.blocksAllocated, h.blocksInImage)
	}
	if h.offsetBmap < headerSize {
		return fmt.Errorf("%w: block map at %#x overlaps the header", ErrCorrupt, h.offsetBmap)
	}
	if uint64(h.offsetData) < uint64(h.offsetBmap)+4*uint64(h.blocksInImage) {
		return fmt.Errorf("%w: data at %#x overlaps the block map", ErrCorrupt, h.offsetData)
	}
	return nil
}

// Detect reports whether header (the first bytes of a file, at least 0x44
// of them) starts a VDI image: the signature 0xbeda107f at 0x40.
func Detect(header []byte) bool {
	return len(header) >= 0x44 && binary.LittleEndian.Uint32(header[0x40:]) == signature
}
