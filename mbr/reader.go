package mbr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Parse decodes the MBR in the 512-byte sector b. diskSectors, if not zero,
// is the disk's size in sectors; entries past it are rejected. Overlapping
// legacy entries are rejected (a hybrid MBR's 0xEE entry may overlap the
// legacy ones; that is what it is for).
func Parse(b []byte, diskSectors uint64) (*MBR, error) {
	if len(b) < SectorSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrNotMBR, len(b), SectorSize)
	}
	le := binary.LittleEndian
	if le.Uint16(b[0x1FE:]) != bootSig { // 0x1FE boot signature
		return nil, fmt.Errorf("%w (bytes 0x1FE–0x1FF are % x)", ErrNotMBR, b[0x1FE:0x200])
	}
	m := &MBR{
		DiskSignature: le.Uint32(b[0x1B8:]), // 0x1B8 disk signature
		Reserved:      le.Uint16(b[0x1BC:]), // 0x1BC reserved
	}
	copy(m.BootCode[:], b[:BootCodeSize]) // 0x000 boot code
	for i := range m.Partitions {
		e := b[tableOffset+i*entrySize:]
		m.Partitions[i] = Partition{
			Status:   e[0x00],             // 0x00 status
			CHSFirst: CHS(e[0x01:0x04]),   // 0x01 CHS first
			Type:     e[0x04],             // 0x04 type
			CHSLast:  CHS(e[0x05:0x08]),   // 0x05 CHS last
			FirstLBA: le.Uint32(e[0x08:]), // 0x08 first LBA
			Sectors:  le.Uint32(e[0x0C:]), // 0x0C sector count
		}
		if s := m.Partitions[i].Status; s != 0 && s != StatusActive {
			return nil, fmt.Errorf("%w: partition %d has status %#02x, want 0x00 or 0x80", ErrCorrupt, i+1, s)
		}
	}
	if err := checkEntries(&m.Partitions, diskSectors); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return m, nil
}

// Read decodes the MBR at LBA 0 of a disk of diskSize bytes.
func Read(r io.ReaderAt, diskSize int64) (*MBR, error) {
	var b [SectorSize]byte
	if _, err := r.ReadAt(b[:], 0); err != nil {
		return nil, fmt.Errorf("mbr: reading LBA 0: %w", err)
	}
	if diskSize < 0 {
		diskSize = 0
	}
	return Parse(b[:], uint64(diskSize)/SectorSize)
}

// ParseImage decodes the MBR of a disk image held in memory.
func ParseImage(img []byte) (*MBR, error) {
	return Read(bytes.NewReader(img), int64(len(img)))
}
