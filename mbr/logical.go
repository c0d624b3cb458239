package mbr

import (
	"encoding/binary"
	"fmt"
	"io"
)

// MaxLogical bounds the extended boot record chain a reader follows.
const MaxLogical = 128

// IsExtended reports whether p is an extended partition (a container of
// logical partitions).
func (p *Partition) IsExtended() bool {
	return p.Type == TypeExtendedCHS || p.Type == TypeExtendedLBA || p.Type == TypeLinuxExtended
}

// Logical is a logical partition: its entry with FirstLBA made absolute
// (relative to the disk, not to its extended boot record).
type Logical struct {
	Partition
	EBR uint64 // LBA of the extended boot record that describes it
}

// ReadLogical follows the chain of extended boot records inside the
// extended partition ext and returns the logical partitions in chain order
// (numbered 5, 6, ... by convention). Every record must lie inside ext and
// after the previous one, which bounds the walk; a broken chain is an
// ErrCorrupt error.
func ReadLogical(r io.ReaderAt, ext Partition) ([]Logical, error) {
	le := binary.LittleEndian
	start := uint64(ext.FirstLBA)
	end := start + uint64(ext.Sectors) // exclusive
	var out []Logical
	ebr := start
	var b [SectorSize]byte
	for n := 0; ; n++ {
		if n == MaxLogical {
			return nil, fmt.Errorf("%w: more than %d logical partitions", ErrCorrupt, MaxLogical)
		}
		if _, err := r.ReadAt(b[:], int64(ebr)*SectorSize); err != nil {
			return nil, fmt.Errorf("mbr: reading the extended boot record at LBA %d: %w", ebr, err)
		}
		if le.Uint16(b[0x1FE:]) != bootSig { // 0x1FE boot signature
			return nil, fmt.Errorf("%w: no boot signature in the extended boot record at LBA %d", ErrCorrupt, ebr)
		}
		entry := func(i int) Partition {
			e := b[tableOffset+i*entrySize:]
			return Partition{
				Status:   e[0x00],             // 0x00 status
				CHSFirst: CHS(e[0x01:0x04]),   // 0x01 CHS first
				Type:     e[0x04],             // 0x04 type
				CHSLast:  CHS(e[0x05:0x08]),   // 0x05 CHS last
				FirstLBA: le.Uint32(e[0x08:]), // 0x08 first LBA, relative
				Sectors:  le.Uint32(e[0x0C:]), // 0x0C sector count
			}
		}
		p, next := entry(0), entry(1)
		if p.Used() {
			first := ebr + uint64(p.FirstLBA)
			if p.Sectors == 0 || first <= ebr || first+uint64(p.Sectors) > end {
				return nil, fmt.Errorf("%w: logical partition %d (LBA %d, %d sectors) lies outside its extended partition", ErrCorrupt, 5+len(out), first, p.Sectors)
			}
			abs := p
			abs.FirstLBA = uint32(first)
			out = append(out, Logical{Partition: abs, EBR: ebr})
		}
		if !next.Used() {
			return out, nil
		}
		if !next.IsExtended() {
			return nil, fmt.Errorf("%w: the extended boot record at LBA %d links to a partition of type %#02x", ErrCorrupt, ebr, next.Type)
		}
		nextEBR := start + uint64(next.FirstLBA)
		if nextEBR <= ebr || nextEBR >= end {
			return nil, fmt.Errorf("%w: the extended boot record at LBA %d links to LBA %d, outside or backwards", ErrCorrupt, ebr, nextEBR)
		}
		ebr = nextEBR
	}
}
