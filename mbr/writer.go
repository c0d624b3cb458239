package mbr

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Encode returns the 512-byte sector holding m. It checks that used
// entries do not overlap.
func (m *MBR) Encode() ([SectorSize]byte, error) {
	var b [SectorSize]byte
	if err := checkEntries(&m.Partitions, 0); err != nil {
		return b, fmt.Errorf("%w: %w", ErrLayout, err)
	}
	le := binary.LittleEndian
	copy(b[0x000:BootCodeSize], m.BootCode[:]) // 0x000 boot code
	le.PutUint32(b[0x1B8:], m.DiskSignature)   // 0x1B8 disk signature
	le.PutUint16(b[0x1BC:], m.Reserved)        // 0x1BC reserved
	for i := range m.Partitions {
		p := &m.Partitions[i]
		e := b[tableOffset+i*entrySize:]
		e[0x00] = p.Status                 // 0x00 status
		copy(e[0x01:0x04], p.CHSFirst[:])  // 0x01 CHS first
		e[0x04] = p.Type                   // 0x04 type
		copy(e[0x05:0x08], p.CHSLast[:])   // 0x05 CHS last
		le.PutUint32(e[0x08:], p.FirstLBA) // 0x08 first LBA
		le.PutUint32(e[0x0C:], p.Sectors)  // 0x0C sector count
	}
	le.PutUint16(b[0x1FE:], bootSig) // 0x1FE boot signature 55 AA
	return b, nil
}

// Write writes m to LBA 0 of w.
func (m *MBR) Write(w io.WriterAt) error {
	b, err := m.Encode()
	if err != nil {
		return err
	}
	if _, err := w.WriteAt(b[:], 0); err != nil {
		return fmt.Errorf("mbr: writing LBA 0: %w", err)
	}
	return nil
}

// Protective returns the protective MBR GNU parted writes for a GPT on a
// disk of diskSectors sectors: one entry of type 0xEE from LBA 1 to the end
// of the disk (its size capped at 0xFFFFFFFF), CHS start 0/0/2 and CHS end
// 0xFFFFFF, no disk signature, no boot code.
func Protective(diskSectors uint64) *MBR {
	m := &MBR{}
	m.Partitions[0] = Partition{
		CHSFirst: CHS{0x00, 0x02, 0x00},
		Type:     TypeGPTProtective,
		CHSLast:  CHS{0xFF, 0xFF, 0xFF},
		FirstLBA: 1,
		Sectors:  capSectors(diskSectors - 1),
	}
	return m
}

func capSectors(n uint64) uint32 {
	if n > 0xFFFFFFFF {
		return 0xFFFFFFFF
	}
	return uint32(n)
}

// NewPartition returns an entry for sectors first..first+count-1 with CHS
// fields computed for g. It fails if the range does not fit 32-bit fields.
func NewPartition(typ byte, first, count uint64, g Geometry) (Partition, error) {
	if count == 0 || first == 0 || first >= MaxSectors || count > MaxSectors-first {
		return Partition{}, fmt.Errorf("%w: sectors %d+%d do not fit an MBR entry (LBA 1 to 2^32-1)", ErrLayout, first, count)
	}
	return Partition{
		CHSFirst: ToCHS(first, g),
		Type:     typ,
		CHSLast:  ToCHS(first+count-1, g),
		FirstLBA: uint32(first),
		Sectors:  uint32(count),
	}, nil
}

// ToCHS packs the CHS address of lba for geometry g, capping cylinders at
// 1023 the way parted does (1023, heads-1, sectors).
func ToCHS(lba uint64, g Geometry) CHS {
	if g.Heads == 0 || g.Sectors == 0 {
		return CHS{}
	}
	spc := uint64(g.Heads) * uint64(g.Sectors)
	c := lba / spc
	h := lba / uint64(g.Sectors) % uint64(g.Heads)
	s := lba % uint64(g.Sectors)
	if c > 1023 {
		c, h, s = 1023, uint64(g.Heads)-1, uint64(g.Sectors)-1
	}
	return CHS{
		byte(h),                   // head
		byte(s+1) | byte(c>>8)<<6, // sector (bits 0–5), cylinder bits 8–9
		byte(c),                   // cylinder bits 0–7
	}
}

// checkEntries rejects used entries that overlap or, when diskSectors is
// not zero, lie past the end of the disk. The protective entry may extend
// past the end of a disk over 2 TiB only through its 0xFFFFFFFF cap.
func checkEntries(ps *[4]Partition, diskSectors uint64) error {
	for i := range ps {
		p := &ps[i]
		if !p.Used() {
			continue
		}
		if p.Sectors == 0 {
			return fmt.Errorf("partition %d (type %#02x) has no sectors", i+1, p.Type)
		}
		end := uint64(p.FirstLBA) + uint64(p.Sectors)
		if diskSectors != 0 && end > diskSectors && !(p.Type == TypeGPTProtective) {
			return fmt.Errorf("partition %d (LBA %d+%d) ends past the %d-sector disk", i+1, p.FirstLBA, p.Sectors, diskSectors)
		}
		if p.FirstLBA == 0 {
			return fmt.Errorf("partition %d (type %#02x) starts at LBA 0, over the MBR", i+1, p.Type)
		}
		for j := range i {
			o := &ps[j]
			if !o.Used() || o.Type == TypeGPTProtective && p.Type != TypeGPTProtective || p.Type == TypeGPTProtective && o.Type != TypeGPTProtective {
				continue
			}
			oend := uint64(o.FirstLBA) + uint64(o.Sectors)
			if uint64(p.FirstLBA) < oend && uint64(o.FirstLBA) < end {
				return fmt.Errorf("partition %d (LBA %d+%d) overlaps partition %d (LBA %d+%d)", i+1, p.FirstLBA, p.Sectors, j+1, o.FirstLBA, o.Sectors)
			}
		}
	}
	return nil
}

// SgdiskGeometry is the geometry sgdisk computes CHS fields with.
var SgdiskGeometry = Geometry{Heads: 255, Sectors: 63}

// Hybrid returns a hybrid MBR as `sgdisk -h` lays it out: the protective
// 0xEE entry first, covering LBA 1 up to the first legacy partition, then
// up to three legacy entries mirroring GPT partitions. CHS fields of the
// protective entry use g; the legacy entries keep theirs.
func Hybrid(g Geometry, legacy ...Partition) (*MBR, error) {
	if len(legacy) == 0 || len(legacy) > 3 {
		return nil, fmt.Errorf("%w: a hybrid MBR holds 1 to 3 legacy entries, not %d", ErrLayout, len(legacy))
	}
	first := uint64(MaxSectors)
	for i := range legacy {
		if !legacy[i].Used() || legacy[i].Type == TypeGPTProtective {
			return nil, fmt.Errorf("%w: hybrid entry %d has type %#02x", ErrLayout, i+1, legacy[i].Type)
		}
		first = min(first, uint64(legacy[i].FirstLBA))
	}
	if first < 2 {
		return nil, fmt.Errorf("%w: a legacy entry starts at LBA %d, leaving no room for the GPT header", ErrLayout, first)
	}
	m := &MBR{}
	m.Partitions[0] = Partition{
		CHSFirst: ToCHS(1, g),
		Type:     TypeGPTProtective,
		CHSLast:  ToCHS(first-1, g),
		FirstLBA: 1,
		Sectors:  uint32(first - 1),
	}
	copy(m.Partitions[1:], legacy)
	if err := checkEntries(&m.Partitions, 0); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLayout, err)
	}
	return m, nil
}
