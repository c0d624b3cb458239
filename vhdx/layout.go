package vhdx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Sizes and offsets of the specification (all structures little-endian).
const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
	tib = 1 << 40

	fileIDOff        = 0        // file type identifier
	header1Off       = 64 * kib // first header
	header2Off       = 128 * kib
	region1Off       = 192 * kib // first region table
	region2Off       = 256 * kib
	headerSectionEnd = 1 * mib

	headerSize      = 4 * kib  // a header's checksummed bytes
	regionTableSize = 64 * kib // a region table's checksummed bytes
	metaTableSize   = 64 * kib // the metadata table, before the items
	maxRegions      = 2047
	maxMetaEntries  = 2047

	maxDiskSize   = 64 * tib
	minBlockSize  = 1 * mib
	maxBlockSize  = 256 * mib
	defaultLog    = 1 * mib
	maxLogSize    = 1<<32 - mib // LogLength is 32 bits, whole MiB
	sectorsPerBit = 1 << 23     // sectors described by one sector-bitmap block

	// BAT entry states (bits 0-2).
	payloadNotPresent       = 0
	payloadUndefined        = 1
	payloadZero             = 2
	payloadUnmapped         = 3
	payloadUnmappedV1       = 5 // the 2012 specification's value, which qemu uses
	payloadFullyPresent     = 6
	payloadPartiallyPresent = 7

	// File parameters flags.
	leaveBlocksAllocated = 1 << 0
	hasParent            = 1 << 1

	// Metadata entry flags.
	metaIsUser        = 1 << 0
	metaIsVirtualDisk = 1 << 1
	metaIsRequired    = 1 << 2

	regionRequired = 1 << 0
)

// Signatures.
const (
	sigFile     = "vhdxfile"
	sigHeader   = "head"
	sigRegion   = "regi"
	sigMetadata = "metadata"
	sigLogEntry = "loge"
	creator     = "purefs" // file identifier creator, diagnostic only
)

// GUID is a GUID in the specification's on-disk layout: Data1 (32 bits),
// Data2 and Data3 (16 bits) little-endian, then Data4's 8 bytes.
type GUID [16]byte

// String formats g as Windows and qemu print it,
// XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX.
func (g GUID) String() string {
	le := binary.LittleEndian
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", le.Uint32(g[0:]), le.Uint16(g[4:]), le.Uint16(g[6:]), g[8:10], g[10:])
}

// guid returns the GUID spelled s (8-4-4-4-12 hex digits).
func guid(s string) GUID {
	var u [16]byte
	h := []byte{}
	for i := 0; i < len(s); i++ {
		if s[i] != '-' {
			h = append(h, s[i])
		}
	}
	for i := range u {
		var v byte
		for _, c := range h[2*i : 2*i+2] {
			switch {
			case c >= '0' && c <= '9':
				v = v<<4 | (c - '0')
			case c >= 'A' && c <= 'F':
				v = v<<4 | (c - 'A' + 10)
			default:
				panic("vhdx: bad GUID literal " + s)
			}
		}
		u[i] = v
	}
	return fromRFC(u)
}

// fromRFC stores a UUID given in RFC 9562 (big-endian) byte order in the
// on-disk GUID layout.
func fromRFC(u [16]byte) GUID {
	var g GUID
	g[0], g[1], g[2], g[3] = u[3], u[2], u[1], u[0]
	g[4], g[5] = u[5], u[4]
	g[6], g[7] = u[7], u[6]
	copy(g[8:], u[8:])
	return g
}

// Known GUIDs of the specification.
var (
	guidBAT          = guid("2DC27766-F623-4200-9D64-115E9BFD4A08")
	guidMetadata     = guid("8B7CA206-4790-4B9A-B8FE-575F050F886E")
	guidFileParams   = guid("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
	guidDiskSize     = guid("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
	guidPage83       = guid("BECA12AB-B2E6-4523-93EF-C309E000C746")
	guidLogicalSS    = guid("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
	guidPhysicalSS   = guid("CDA348C7-445D-4471-9CC9-E9885251C556")
	guidParentLocate = guid("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
)

// Errors. Every error about an image's content wraps one of them; I/O
// errors are wrapped as they come, with what was being read or written.
var (
	ErrNotVHDX      = errors.New("vhdx: not a VHDX image")
	ErrCorrupt      = errors.New("vhdx: corrupt image")
	ErrUnsupported  = errors.New("vhdx: unsupported image")
	ErrLog          = errors.New("vhdx: the log holds entries to replay (open the disk in Hyper-V or run `qemu-img check -r all` on it first)")
	ErrDifferencing = errors.New("vhdx: differencing disks are not supported")
	ErrTooLarge     = errors.New("vhdx: disk too large for VHDX (at most 64 TiB)")
	ErrOptions      = errors.New("vhdx: invalid options")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum is the CRC-32C of b with its 4-byte checksum field at 4 taken
// as zero, as headers and region tables store it.
func checksum(b []byte) uint32 {
	var zero [4]byte
	c := crc32.Update(0, castagnoli, b[:4])
	c = crc32.Update(c, castagnoli, zero[:])
	return crc32.Update(c, castagnoli, b[8:])
}

// header is the 4 KiB header structure.
type header struct {
	seq           uint64 // 0x08 SequenceNumber
	fileWriteGUID GUID   // 0x10 FileWriteGuid
	dataWriteGUID GUID   // 0x20 DataWriteGuid
	logGUID       GUID   // 0x30 LogGuid
	logVersion    uint16 // 0x40 LogVersion
	version       uint16 // 0x42 Version
	logLength     uint32 // 0x44 LogLength
	logOffset     uint64 // 0x48 LogOffset
}

func (h *header) encode(b []byte) {
	clear(b[:headerSize])
	le := binary.LittleEndian
	copy(b[0x00:], sigHeader)                        // 0x00 Signature
	le.PutUint64(b[0x08:], h.seq)                    // 0x08 SequenceNumber
	copy(b[0x10:0x20], h.fileWriteGUID[:])           // 0x10 FileWriteGuid
	copy(b[0x20:0x30], h.dataWriteGUID[:])           // 0x20 DataWriteGuid
	copy(b[0x30:0x40], h.logGUID[:])                 // 0x30 LogGuid
	le.PutUint16(b[0x40:], h.logVersion)             // 0x40 LogVersion
	le.PutUint16(b[0x42:], h.version)                // 0x42 Version
	le.PutUint32(b[0x44:], h.logLength)              // 0x44 LogLength
	le.PutUint64(b[0x48:], h.logOffset)              // 0x48 LogOffset
	le.PutUint32(b[0x04:], checksum(b[:headerSize])) // 0x04 Checksum
}

// decode parses a header; it fails for a bad signature or checksum.
func (h *header) decode(b []byte) error {
	le := binary.LittleEndian
	if string(b[0:4]) != sigHeader {
		return fmt.Errorf("%w: no header signature", ErrCorrupt)
	}
	if got, want := le.Uint32(b[0x04:]), checksum(b[:headerSize]); got != want {
		return fmt.Errorf("%w: header checksum %#x, want %#x", ErrCorrupt, got, want)
	}
	h.seq = le.Uint64(b[0x08:])
	copy(h.fileWriteGUID[:], b[0x10:])
	copy(h.dataWriteGUID[:], b[0x20:])
	copy(h.logGUID[:], b[0x30:])
	h.logVersion = le.Uint16(b[0x40:])
	h.version = le.Uint16(b[0x42:])
	h.logLength = le.Uint32(b[0x44:])
	h.logOffset = le.Uint64(b[0x48:])
	if h.version != 1 {
		return fmt.Errorf("%w: header version %d (want 1)", ErrUnsupported, h.version)
	}
	return nil
}

// region is a region table entry.
type region struct {
	guid     GUID   // 0x00 Guid
	offset   uint64 // 0x10 FileOffset
	length   uint32 // 0x18 Length
	required bool   // 0x1c Required (bit 0)
}

const regionEntrySize = 32

// encodeRegions writes a 64 KiB region table holding rs.
func encodeRegions(b []byte, rs []region) {
	clear(b[:regionTableSize])
	le := binary.LittleEndian
	copy(b[0x00:], sigRegion)               // 0x00 Signature
	le.PutUint32(b[0x08:], uint32(len(rs))) // 0x08 EntryCount
	for i, r := range rs {
		e := b[16+i*regionEntrySize:]
		copy(e[0x00:0x10], r.guid[:])    // 0x00 Guid
		le.PutUint64(e[0x10:], r.offset) // 0x10 FileOffset
		le.PutUint32(e[0x18:], r.length) // 0x18 Length
		if r.required {
			le.PutUint32(e[0x1c:], regionRequired) // 0x1c Required
		}
	}
	le.PutUint32(b[0x04:], checksum(b[:regionTableSize])) // 0x04 Checksum
}

// decodeRegions parses a 64 KiB region table.
func decodeRegions(b []byte) ([]region, error) {
	le := binary.LittleEndian
	if string(b[0:4]) != sigRegion {
		return nil, fmt.Errorf("%w: no region table signature", ErrCorrupt)
	}
	if got, want := le.Uint32(b[0x04:]), checksum(b[:regionTableSize]); got != want {
		return nil, fmt.Errorf("%w: region table checksum %#x, want %#x", ErrCorrupt, got, want)
	}
	n := le.Uint32(b[0x08:])
	if n > maxRegions {
		return nil, fmt.Errorf("%w: %d region table entries (at most %d)", ErrCorrupt, n, maxRegions)
	}
	rs := make([]region, n)
	for i := range rs {
		e := b[16+i*regionEntrySize:]
		copy(rs[i].guid[:], e[0x00:0x10])
		rs[i].offset = le.Uint64(e[0x10:])
		rs[i].length = le.Uint32(e[0x18:])
		rs[i].required = le.Uint32(e[0x1c:])&regionRequired != 0
	}
	return rs, nil
}

// metaEntry is a metadata table entry.
type metaEntry struct {
	id     GUID   // 0x00 ItemId
	offset uint32 // 0x10 Offset, from the metadata region's start
	length uint32 // 0x14 Length
	flags  uint32 // 0x18 IsUser, IsVirtualDisk, IsRequired (bits 0-2)
}

const metaEntrySize = 32

// encodeMetaTable writes the 64 KiB metadata table holding es.
func encodeMetaTable(b []byte, es []metaEntry) {
	clear(b[:metaTableSize])
	le := binary.LittleEndian
	copy(b[0x00:], sigMetadata)             // 0x00 Signature
	le.PutUint16(b[0x0a:], uint16(len(es))) // 0x0a EntryCount
	for i, m := range es {
		e := b[32+i*metaEntrySize:]
		copy(e[0x00:0x10], m.id[:])      // 0x00 ItemId
		le.PutUint32(e[0x10:], m.offset) // 0x10 Offset
		le.PutUint32(e[0x14:], m.length) // 0x14 Length
		le.PutUint32(e[0x18:], m.flags)  // 0x18 flags
	}
}

// decodeMetaTable parses the metadata table.
func decodeMetaTable(b []byte) ([]metaEntry, error) {
	le := binary.LittleEndian
	if string(b[0:8]) != sigMetadata {
		return nil, fmt.Errorf("%w: no metadata table signature", ErrCorrupt)
	}
	n := le.Uint16(b[0x0a:])
	if n > maxMetaEntries {
		return nil, fmt.Errorf("%w: %d metadata entries (at most %d)", ErrCorrupt, n, maxMetaEntries)
	}
	es := make([]metaEntry, n)
	for i := range es {
		e := b[32+i*metaEntrySize:]
		copy(es[i].id[:], e[0x00:0x10])
		es[i].offset = le.Uint32(e[0x10:])
		es[i].length = le.Uint32(e[0x14:])
		es[i].flags = le.Uint32(e[0x18:])
	}
	return es, nil
}

// geometry is the placement of every structure for a disk.
type geometry struct {
	size       int64 // virtual disk size, a multiple of the sector size
	blockSize  int64
	sectorSize int64 // logical sector size
	logOff     int64
	logLen     int64
	batOff     int64
	batLen     int64 // BAT region length, whole MiB
	metaOff    int64
	metaLen    int64
	dataOff    int64 // where payload blocks start
	blocks     int64 // payload blocks
	chunkRatio int64 // payload blocks per sector bitmap block
	entries    int64 // BAT entries, payload and sector bitmap
}

// batIndex is the BAT entry of payload block i: after every chunkRatio
// payload entries comes one sector bitmap entry.
func (g *geometry) batIndex(i int64) int64 { return i + i/g.chunkRatio }

// batEntries is the specification's count of BAT entries for a disk
// without a parent: the payload blocks, and a sector bitmap entry after
// each full chunk but the last.
func batEntries(blocks, chunkRatio int64) int64 {
	if blocks == 0 {
		return 0
	}
	return blocks + (blocks-1)/chunkRatio
}

// qemuBlockSize is the block size qemu-img picks for a disk.
func qemuBlockSize(size int64) int64 {
	switch {
	case size > 32*tib:
		return 64 * mib
	case size > 100*gib:
		return 32 * mib
	case size > 1*gib:
		return 16 * mib
	}
	return 8 * mib
}

// newGeometry lays out a disk of size bytes (a multiple of 512) as qemu
// does: log at 1 MiB, BAT at the next MiB past it, metadata after the
// BAT, data 5 MiB past the BAT's end.
func newGeometry(size, blockSize, logSize int64) (*geometry, error) {
	if blockSize == 0 {
		blockSize = qemuBlockSize(size)
	}
	if blockSize < minBlockSize || blockSize > maxBlockSize || blockSize&(blockSize-1) != 0 {
		return nil, fmt.Errorf("%w: block size %d (want a power of two from 1 MiB to 256 MiB)", ErrOptions, blockSize)
	}
	if logSize == 0 {
		logSize = defaultLog
	}
	logSize = roundUp(logSize, mib)
	if logSize <= 0 || logSize > maxLogSize {
		return nil, fmt.Errorf("%w: log size %d (want 1 MiB to 4095 MiB)", ErrOptions, logSize)
	}
	g := &geometry{size: size, blockSize: blockSize, sectorSize: 512, logOff: headerSectionEnd, logLen: logSize}
	g.chunkRatio = sectorsPerBit * g.sectorSize / blockSize
	g.blocks = (size + blockSize - 1) / blockSize
	g.entries = batEntries(g.blocks, g.chunkRatio)
	g.batOff = roundUp(g.logOff+g.logLen, mib)
	g.batLen = max(roundUp(8*g.entries, mib), mib)
	g.metaOff = g.batOff + g.batLen
	g.metaLen = mib
	g.dataOff = g.batOff + g.batLen + 5*mib
	return g, nil
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// Metadata items, as qemu writes them: 64 KiB into the region, packed.
const (
	itemFileParams = metaTableSize + 0  // 8 bytes: BlockSize, flags
	itemDiskSize   = metaTableSize + 8  // 8 bytes: VirtualDiskSize
	itemPage83     = metaTableSize + 16 // 16 bytes: Page83Data
	itemLogicalSS  = metaTableSize + 32 // 4 bytes: LogicalSectorSize
	itemPhysicalSS = metaTableSize + 36 // 4 bytes: PhysicalSectorSize
	itemsEnd       = metaTableSize + 40
)

// Detect reports whether header (a file's first bytes) starts with the
// VHDX file type identifier.
func Detect(header []byte) bool {
	return len(header) >= 8 && string(header[:8]) == sigFile
}
