package vhd

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Constants of the VHD specification (and of qemu's use of it).
const (
	footerSize     = 512
	dynHeaderSize  = 1024
	sectorSize     = 512
	blockSize      = 2 << 20 // default block size of dynamic disks
	batOffset      = footerSize + dynHeaderSize
	batFree        = 0xffffffff
	maxReadBlock   = 256 << 20
	footerCookie   = "conectix"
	dynCookie      = "cxsparse"
	features       = 0x00000002 // Reserved bit, always set
	formatVersion  = 0x00010000
	dynVersion     = 0x00010000
	creatorVersion = 0x00050003 // qemu's
	appQemu        = "qemu"     // creator app: qemu, sized by CHS geometry
	appQemuForce   = "qem2"     // creator app: qemu with force_size, sized by Current Size
	hostOSWindows  = "Wi2k"     // creator host OS, as qemu writes it
	noDataOffset   = ^uint64(0)
	diskFixed      = 2
	diskDynamic    = 3
	diskDiff       = 4
	vhdEpoch       = 946684800 // 2000-01-01T00:00:00Z in Unix seconds

	maxGeometry = 65535 * 16 * 255 // sectors of the largest CHS geometry
	maxSectors  = 0xff000000       // 2040 GiB, the specification's limit
)

// Errors. Every error about an image's content or size wraps one of
// them; I/O errors of the reader, source or destination are wrapped as
// they come, with what was being read or written.
var (
	ErrNotVHD      = errors.New("vhd: not a VHD image")
	ErrCorrupt     = errors.New("vhd: corrupt image")
	ErrUnsupported = errors.New("vhd: unsupported image")
	ErrTooLarge    = errors.New("vhd: disk too large for VHD (at most 2040 GiB)")
	ErrNotWholeMiB = errors.New("vhd: fixed force-size disk is not a whole number of MiB (Azure rejects it; round it up with Options.RoundUp, -o round_up on the command line)")
)

// footer is the 512-byte hard disk footer (all fields big-endian).
type footer struct {
	dataOffset     uint64  // 0x10 Data Offset
	timestamp      uint32  // 0x18 Time Stamp
	creatorApp     [4]byte // 0x1c Creator Application
	creatorVersion uint32  // 0x20 Creator Version
	creatorHostOS  [4]byte // 0x24 Creator Host OS
	originalSize   uint64  // 0x28 Original Size
	currentSize    uint64  // 0x30 Current Size
	cylinders      uint16  // 0x38 Disk Geometry: cylinder
	heads          uint8   // 0x3a Disk Geometry: heads
	sectors        uint8   // 0x3b Disk Geometry: sectors per track
	diskType       uint32  // 0x3c Disk Type
	uuid           [16]byte
	savedState     uint8
}

func (f *footer) encode(b []byte) {
	clear(b[:footerSize])
	be := binary.BigEndian
	copy(b[0x00:0x08], footerCookie)                       // 0x00 Cookie
	be.PutUint32(b[0x08:], features)                       // 0x08 Features
	be.PutUint32(b[0x0c:], formatVersion)                  // 0x0c File Format Version
	be.PutUint64(b[0x10:], f.dataOffset)                   // 0x10 Data Offset
	be.PutUint32(b[0x18:], f.timestamp)                    // 0x18 Time Stamp
	copy(b[0x1c:0x20], f.creatorApp[:])                    // 0x1c Creator Application
	be.PutUint32(b[0x20:], f.creatorVersion)               // 0x20 Creator Version
	copy(b[0x24:0x28], f.creatorHostOS[:])                 // 0x24 Creator Host OS
	be.PutUint64(b[0x28:], f.originalSize)                 // 0x28 Original Size
	be.PutUint64(b[0x30:], f.currentSize)                  // 0x30 Current Size
	be.PutUint16(b[0x38:], f.cylinders)                    // 0x38 Disk Geometry: cylinder
	b[0x3a] = f.heads                                      // 0x3a Disk Geometry: heads
	b[0x3b] = f.sectors                                    // 0x3b Disk Geometry: sectors per track
	be.PutUint32(b[0x3c:], f.diskType)                     // 0x3c Disk Type
	copy(b[0x44:0x54], f.uuid[:])                          // 0x44 Unique Id
	b[0x54] = f.savedState                                 // 0x54 Saved State
	be.PutUint32(b[0x40:], checksum(b[:footerSize], 0x40)) // 0x40 Checksum
}

func (f *footer) decode(b []byte) error {
	if len(b) < footerSize || string(b[:8]) != footerCookie {
		return ErrNotVHD
	}
	be := binary.BigEndian
	if got, want := be.Uint32(b[0x40:]), checksum(b[:footerSize], 0x40); got != want {
		return fmt.Errorf("%w: footer checksum %#x, want %#x", ErrCorrupt, got, want)
	}
	f.dataOffset = be.Uint64(b[0x10:])     // 0x10 Data Offset
	f.timestamp = be.Uint32(b[0x18:])      // 0x18 Time Stamp
	copy(f.creatorApp[:], b[0x1c:])        // 0x1c Creator Application
	f.creatorVersion = be.Uint32(b[0x20:]) // 0x20 Creator Version
	copy(f.creatorHostOS[:], b[0x24:])     // 0x24 Creator Host OS
	f.originalSize = be.Uint64(b[0x28:])   // 0x28 Original Size
	f.currentSize = be.Uint64(b[0x30:])    // 0x30 Current Size
	f.cylinders = be.Uint16(b[0x38:])      // 0x38 Disk Geometry: cylinder
	f.heads = b[0x3a]                      // 0x3a Disk Geometry: heads
	f.sectors = b[0x3b]                    // 0x3b Disk Geometry: sectors per track
	f.diskType = be.Uint32(b[0x3c:])       // 0x3c Disk Type
	copy(f.uuid[:], b[0x44:])              // 0x44 Unique Id
	f.savedState = b[0x54]                 // 0x54 Saved State
	switch f.diskType {
	case diskFixed, diskDynamic:
	case diskDiff:
		return fmt.Errorf("%w: differencing disk", ErrUnsupported)
	default:
		return fmt.Errorf("%w: disk type %d", ErrCorrupt, f.diskType)
	}
	if f.savedState != 0 {
		return fmt.Errorf("%w: disk in saved state", ErrUnsupported)
	}
	return nil
}

// virtualSize is the disk size as qemu sees it: cylinders × heads ×
// sectors for creators known to size by geometry, the current size for
// Hyper-V, Disk2vhd, XenServer, XenConverter and qemu's force-size images
// ("qem2"), and the current size whenever the geometry is the maximum.
func (f *footer) virtualSize() int64 {
	chs := int64(f.cylinders) * int64(f.heads) * int64(f.sectors)
	switch string(f.creatorApp[:]) {
	case "win ", appQemuForce, "d2v ", "CTXS", "tap\x00":
		chs = maxGeometry
	}
	if chs == maxGeometry {
		return int64(f.currentSize/sectorSize) * sectorSize
	}
	return chs * sectorSize
}

// dynHeader is the 1024-byte dynamic disk header (big-endian).
type dynHeader struct {
	tableOffset     uint64 // 0x10 Table Offset
	maxTableEntries uint32 // 0x1c Max Table Entries
	blockSize       uint32 // 0x20 Block Size
}

func (d *dynHeader) encode(b []byte) {
	clear(b[:dynHeaderSize])
	be := binary.BigEndian
	copy(b[0x00:0x08], dynCookie)             // 0x00 Cookie
	be.PutUint64(b[0x08:], noDataOffset)      // 0x08 Data Offset (unused)
	be.PutUint64(b[0x10:], d.tableOffset)     // 0x10 Table Offset
	be.PutUint32(b[0x18:], dynVersion)        // 0x18 Header Version
	be.PutUint32(b[0x1c:], d.maxTableEntries) // 0x1c Max Table Entries
	be.PutUint32(b[0x20:], d.blockSize)       // 0x20 Block Size
	// 0x28 Parent Unique ID, 0x38 Parent Time Stamp, 0x40 Parent Unicode
	// Name, 0x240 Parent Locator Entries: zero (not a differencing disk).
	be.PutUint32(b[0x24:], checksum(b[:dynHeaderSize], 0x24)) // 0x24 Checksum
}

func (d *dynHeader) decode(b []byte) error {
	if len(b) < dynHeaderSize || string(b[:8]) != dynCookie {
		return fmt.Errorf("%w: no dynamic disk header", ErrCorrupt)
	}
	be := binary.BigEndian
	if got, want := be.Uint32(b[0x24:]), checksum(b[:dynHeaderSize], 0x24); got != want {
		return fmt.Errorf("%w: dynamic header checksum %#x, want %#x", ErrCorrupt, got, want)
	}
	if v := be.Uint32(b[0x18:]); v>>16 != 1 { // 0x18 Header Version
		return fmt.Errorf("%w: dynamic header version %#x", ErrUnsupported, v)
	}
	d.tableOffset = be.Uint64(b[0x10:])     // 0x10 Table Offset
	d.maxTableEntries = be.Uint32(b[0x1c:]) // 0x1c Max Table Entries
	d.blockSize = be.Uint32(b[0x20:])       // 0x20 Block Size
	if d.blockSize < sectorSize || d.blockSize > maxReadBlock || d.blockSize&(d.blockSize-1) != 0 {
		return fmt.Errorf("%w: block size %d", ErrUnsupported, d.blockSize)
	}
	return nil
}

// checksum is the one's complement of the sum of all bytes of b, the
// 4-byte checksum field at skip excluded.
func checksum(b []byte, skip int) uint32 {
	var s uint32
	for i, c := range b {
		if i >= skip && i < skip+4 {
			continue
		}
		s += uint32(c)
	}
	return ^s
}

// geometry is the CHS algorithm of the VHD specification (appendix
// "CHS Calculation") for a disk of total sectors.
func geometry(total int64) (cyl uint16, heads, spt uint8) {
	total = min(total, maxGeometry)
	var cth int64 // cylinders × heads
	if total >= 65535*16*63 {
		spt, heads = 255, 16
		cth = total / int64(spt)
	} else {
		spt = 17
		cth = total / int64(spt)
		h := max((cth+1023)/1024, 4)
		if cth >= h*1024 || h > 16 {
			spt, h = 31, 16
			cth = total / int64(spt)
		}
		if cth >= h*1024 {
			spt, h = 63, 16
			cth = total / int64(spt)
		}
		heads = uint8(h)
	}
	return uint16(cth / int64(heads)), heads, spt
}

// Detect reports whether header (a file's first bytes) starts with a VHD
// footer: the copy every dynamic disk keeps at offset 0. A fixed disk has
// its only footer at the end; see DetectFooter.
func Detect(header []byte) bool {
	return len(header) >= 8 && string(header[:8]) == footerCookie
}

// DetectFooter reports whether last512 (the last 512 bytes of a file) is
// a VHD footer with a valid checksum. A fixed VHD is otherwise a raw
// disk, so a detector must look at the end of the file; the checksum
// keeps a raw disk that merely contains the cookie from passing.
func DetectFooter(last512 []byte) bool {
	return len(last512) == footerSize && string(last512[:8]) == footerCookie &&
		binary.BigEndian.Uint32(last512[0x40:]) == checksum(last512, 0x40)
}
