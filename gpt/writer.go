package gpt

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"unicode/utf16"
)

// Encoded is a table laid out for one disk: the primary header and array
// (LBA 1–33) and the backup array and header (the last 33 LBAs).
type Encoded struct {
	Primary    []byte // 33 sectors written at PrimaryLBA
	Backup     []byte // 33 sectors written at BackupLBA
	PrimaryLBA uint64 // always 1
	BackupLBA  uint64 // first LBA of the backup array
	HeaderCRC  uint32 // of the primary header
	ArrayCRC   uint32
}

// Encode lays out t for a disk of diskSectors 512-byte sectors. Entries
// must lie in the usable range, must not overlap, and may not be more than
// NumEntries; names must fit 36 UTF-16 code units.
func Encode(t *Table, diskSectors uint64) (*Encoded, error) {
	first, last, err := t.usableRange(diskSectors)
	if err != nil {
		return nil, err
	}
	if len(t.Entries) > NumEntries {
		return nil, fmt.Errorf("%w: %d entries, at most %d", ErrLayout, len(t.Entries), NumEntries)
	}
	if err := checkEntries(t.Entries, first, last); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLayout, err)
	}
	array := make([]byte, NumEntries*EntrySize)
	for i := range t.Entries {
		if err := putEntry(array[i*EntrySize:(i+1)*EntrySize], &t.Entries[i]); err != nil {
			return nil, fmt.Errorf("%w: partition %d: %w", ErrLayout, i+1, err)
		}
	}
	arrayCRC := crc32.ChecksumIEEE(array)
	lastLBA := diskSectors - 1
	backupArrayLBA := lastLBA - ArraySectors

	e := &Encoded{
		Primary:    make([]byte, (1+ArraySectors)*SectorSize),
		Backup:     make([]byte, (1+ArraySectors)*SectorSize),
		PrimaryLBA: 1,
		BackupLBA:  backupArrayLBA,
		ArrayCRC:   arrayCRC,
	}
	h := Header{
		Revision:                 revision,
		HeaderSize:               HeaderSize,
		FirstUsableLBA:           first,
		LastUsableLBA:            last,
		DiskGUID:                 t.DiskGUID,
		NumberOfPartitionEntries: NumEntries,
		SizeOfPartitionEntry:     EntrySize,
		PartitionEntryArrayCRC32: arrayCRC,
	}
	// (1) primary header at LBA 1, its array at LBA 2.
	h.MyLBA, h.AlternateLBA, h.PartitionEntryLBA = 1, lastLBA, 2
	e.HeaderCRC = putHeader(e.Primary[:SectorSize], &h)
	copy(e.Primary[SectorSize:], array)
	// (2) backup array in the 32 sectors before the last LBA, (3) backup
	// header at the last LBA.
	h.MyLBA, h.AlternateLBA, h.PartitionEntryLBA = lastLBA, 1, backupArrayLBA
	copy(e.Backup, array)
	putHeader(e.Backup[ArraySectors*SectorSize:], &h)
	return e, nil
}

// Write encodes t for a disk of diskSize bytes (a multiple of 512) and
// writes the primary and backup structures to w. It writes nothing else:
// LBA 0 (the protective MBR) is left alone.
func Write(w io.WriterAt, diskSize int64, t *Table) error {
	if diskSize < 0 || diskSize%SectorSize != 0 {
		return fmt.Errorf("%w: disk size %d is not a whole number of %d-byte sectors", ErrLayout, diskSize, SectorSize)
	}
	e, err := Encode(t, uint64(diskSize)/SectorSize)
	if err != nil {
		return err
	}
	if _, err := w.WriteAt(e.Primary, int64(e.PrimaryLBA)*SectorSize); err != nil {
		return fmt.Errorf("gpt: writing primary table: %w", err)
	}
	if _, err := w.WriteAt(e.Backup, int64(e.BackupLBA)*SectorSize); err != nil {
		return fmt.Errorf("gpt: writing backup table: %w", err)
	}
	return nil
}

// putHeader encodes h into the first HeaderSize bytes of b (the rest of the
// sector is left zero), fills in its CRC and returns it.
func putHeader(b []byte, h *Header) uint32 {
	le := binary.LittleEndian
	copy(b[0x00:0x08], signature)                      // 0x00 Signature
	le.PutUint32(b[0x08:], h.Revision)                 // 0x08 Revision
	le.PutUint32(b[0x0C:], h.HeaderSize)               // 0x0C HeaderSize
	le.PutUint32(b[0x10:], 0)                          // 0x10 HeaderCRC32, zero while summing
	le.PutUint32(b[0x14:], 0)                          // 0x14 Reserved
	le.PutUint64(b[0x18:], h.MyLBA)                    // 0x18 MyLBA
	le.PutUint64(b[0x20:], h.AlternateLBA)             // 0x20 AlternateLBA
	le.PutUint64(b[0x28:], h.FirstUsableLBA)           // 0x28 FirstUsableLBA
	le.PutUint64(b[0x30:], h.LastUsableLBA)            // 0x30 LastUsableLBA
	h.DiskGUID.PutDisk(b[0x38:])                       // 0x38 DiskGUID
	le.PutUint64(b[0x48:], h.PartitionEntryLBA)        // 0x48 PartitionEntryLBA
	le.PutUint32(b[0x50:], h.NumberOfPartitionEntries) // 0x50 NumberOfPartitionEntries
	le.PutUint32(b[0x54:], h.SizeOfPartitionEntry)     // 0x54 SizeOfPartitionEntry
	le.PutUint32(b[0x58:], h.PartitionEntryArrayCRC32) // 0x58 PartitionEntryArrayCRC32
	crc := crc32.ChecksumIEEE(b[:HeaderSize])
	le.PutUint32(b[0x10:], crc) // 0x10 HeaderCRC32
	h.HeaderCRC32 = crc
	return crc
}

// putEntry encodes e into a 128-byte slot.
func putEntry(b []byte, e *Entry) error {
	le := binary.LittleEndian
	name := utf16.Encode([]rune(e.Name))
	if len(name) > NameLen {
		return fmt.Errorf("name %q is %d UTF-16 code units, at most %d", e.Name, len(name), NameLen)
	}
	e.Type.PutDisk(b[0x00:])             // 0x00 PartitionTypeGUID
	e.Unique.PutDisk(b[0x10:])           // 0x10 UniquePartitionGUID
	le.PutUint64(b[0x20:], e.FirstLBA)   // 0x20 StartingLBA
	le.PutUint64(b[0x28:], e.LastLBA)    // 0x28 EndingLBA
	le.PutUint64(b[0x30:], e.Attributes) // 0x30 Attributes
	for i, u := range name {
		le.PutUint16(b[0x38+2*i:], u) // 0x38 PartitionName
	}
	return nil
}

// checkEntries checks used entries for bounds and overlap.
func checkEntries(es []Entry, first, last uint64) error {
	used := make([]int, 0, len(es))
	for i := range es {
		e := &es[i]
		if !e.Used() {
			continue
		}
		if e.FirstLBA > e.LastLBA || e.FirstLBA < first || e.LastLBA > last {
			return fmt.Errorf("partition %d (LBA %d–%d) is outside the usable range %d–%d", i+1, e.FirstLBA, e.LastLBA, first, last)
		}
		used = append(used, i)
	}
	slices.SortStableFunc(used, func(a, b int) int { return cmp.Compare(es[a].FirstLBA, es[b].FirstLBA) })
	for k := 1; k < len(used); k++ {
		a, b := &es[used[k-1]], &es[used[k]]
		if b.FirstLBA <= a.LastLBA {
			i, j := min(used[k-1], used[k]), max(used[k-1], used[k])
			return fmt.Errorf("partition %d (LBA %d–%d) overlaps partition %d (LBA %d–%d)", j+1, es[j].FirstLBA, es[j].LastLBA, i+1, es[i].FirstLBA, es[i].LastLBA)
		}
	}
	return nil
}
